//! Help-desk pages: sign-in search, one sign-in (decision, trace, what the user saw) and
//! "what if".
//!
//! A sign-in's page decides its logged request again (`gardien.request` of the record: the
//! exact request that was decided) with the core's evaluator, against the policy version
//! that decided it and as of its own time: the same [`DecisionReport`] the CLI's `explain`
//! and the denial page are built from. "What if" changes that request (device state,
//! location, client app, methods) and decides it again the same way.

use super::page::{e, html, layout, refusal, t, te, url};
use super::{ConsoleRole, Session, lang};
use crate::denial::{Disclosure, Lang};
use crate::state::{AppState, Live};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use gardien_core::eval::PolicyResult;
use gardien_core::model::enums::{AuthMethod, ClientAppType};
use gardien_core::report::{DecisionReport, TracePolicy};
use gardien_core::{CompiledTenant, Decision, SignIn};
use gardien_store::SignInFilter;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::Arc;

/// Most rows a search shows.
const ROWS: usize = 100;

/// The search form's fields (all optional; empty means "any").
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    app: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    correlation_id: String,
}

/// An instant from the form: `datetime-local` (`2026-12-07T10:20`, read as UTC), RFC 3339 or
/// Unix milliseconds.
fn form_time(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.len() == 16 && t.as_bytes().get(10) == Some(&b'T') {
        return crate::routes::signins::parse_time(&format!("{t}:00Z"));
    }
    crate::routes::signins::parse_time(t)
}

/// The store filter of a search, or the message key of the field that is wrong. Users are
/// found by id, user principal name or (for the directory's users) exactly as written;
/// applications by app id or service principal display name (case-insensitive), through
/// the directory in force.
fn filter(q: &SearchQuery, live: &Live) -> Result<SignInFilter, &'static str> {
    let directory = &live.tenant.tenant.directory;
    let some = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned);
    let user = some(&q.user).map(|u| {
        directory
            .users
            .iter()
            .find(|d| {
                d.user_principal_name.eq_ignore_ascii_case(&u) || d.id.eq_ignore_ascii_case(&u)
            })
            .map_or(u, |d| d.id.to_string())
    });
    let app = some(&q.app).map(|a| {
        directory
            .service_principals
            .iter()
            .find(|sp| sp.display_name.eq_ignore_ascii_case(&a))
            .and_then(|sp| sp.app_id.as_ref().map(|id| id.to_string()))
            .unwrap_or(a)
    });
    let decision = match q.result.as_str() {
        "" => None,
        d @ ("allow" | "challenge" | "deny") => Some(d.to_owned()),
        _ => return Err("search-bad-result"),
    };
    let error_code = match some(&q.error_code) {
        None => None,
        Some(c) => Some(
            c.trim_start_matches("AADSTS")
                .parse::<u32>()
                .map_err(|_| "search-bad-code")?,
        ),
    };
    let time = |v: &str| match some(v) {
        None => Ok(None),
        Some(t) => form_time(&t).map(Some).ok_or("search-bad-time"),
    };
    Ok(SignInFilter {
        user,
        app,
        decision,
        error_code,
        from_ms: time(&q.from)?,
        to_ms: time(&q.to)?,
        correlation_id: some(&q.correlation_id),
        limit: Some(ROWS),
    })
}

fn text<'a>(record: &'a Value, pointer: &str) -> &'a str {
    record
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn decision_badge(lang: Lang, decision: &str) -> String {
    let class = match decision {
        "allow" => "allow",
        "challenge" => "challenge",
        _ => "deny",
    };
    format!(
        "<span class=\"badge {class}\">{}</span>",
        te(lang, &format!("decision-{class}"))
    )
}

fn field(id: &str, label: &str, value: &str, kind: &str, extra: &str) -> String {
    format!(
        "<div class=\"field\"><label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{id}\" type=\"{kind}\" value=\"{}\"{extra}></div>",
        e(value)
    )
}

/// `GET /console/signins`: the search form and the newest matching sign-ins.
pub async fn search(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let session = match super::signed_in(&state, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let lang = lang(&headers);
    let q = query.ok().map(|Query(q)| q).unwrap_or_default();
    let mut body = String::new();
    let _ = write!(
        body,
        "<form class=\"card search\" method=\"get\" action=\"/console/signins\" role=\"search\">\
<div class=\"grid\">{user}{app}\
<div class=\"field\"><label for=\"result\">{result}</label><select id=\"result\" name=\"result\">",
        user = field("user", &te(lang, "search-user"), &q.user, "text", ""),
        app = field("app", &te(lang, "search-app"), &q.app, "text", ""),
        result = te(lang, "search-result"),
    );
    for (value, key) in [
        ("", "search-any"),
        ("allow", "decision-allow"),
        ("challenge", "decision-challenge"),
        ("deny", "decision-deny"),
    ] {
        let _ = write!(
            body,
            "<option value=\"{value}\"{}>{}</option>",
            if q.result == value { " selected" } else { "" },
            te(lang, key)
        );
    }
    let _ = write!(
        body,
        "</select></div>{code}{from}{to}{corr}</div><button type=\"submit\">{search}</button></form>",
        code = field(
            "errorCode",
            &te(lang, "search-code"),
            &q.error_code,
            "text",
            " inputmode=\"numeric\""
        ),
        from = field(
            "from",
            &te(lang, "search-from"),
            &q.from,
            "datetime-local",
            ""
        ),
        to = field("to", &te(lang, "search-to"), &q.to, "datetime-local", ""),
        corr = field(
            "correlationId",
            &te(lang, "search-correlation"),
            &q.correlation_id,
            "text",
            " spellcheck=\"false\""
        ),
        search = te(lang, "search-submit"),
    );
    let live = state.live.load_full();
    let records = match filter(&q, &live) {
        Err(key) => {
            let _ = write!(
                body,
                "<p class=\"notice error\" role=\"alert\">{}</p>",
                te(lang, key)
            );
            return html(
                StatusCode::BAD_REQUEST,
                layout(lang, Some(&session), t(lang, "search-title"), &body),
            );
        }
        Ok(f) => match state.store.log().query(&f).await {
            Ok(r) => r,
            Err(err) => {
                tracing::error!(error = %err, "console: sign-in search failed");
                return refusal(
                    lang,
                    Some(&session),
                    StatusCode::SERVICE_UNAVAILABLE,
                    "error-store",
                );
            }
        },
    };
    if records.is_empty() {
        let _ = write!(body, "<p class=\"notice\">{}</p>", te(lang, "search-none"));
    } else {
        let _ = write!(
            body,
            "<div class=\"table\"><table><caption>{caption}</caption><thead><tr>\
<th scope=\"col\">{time}</th><th scope=\"col\">{user}</th><th scope=\"col\">{app}</th>\
<th scope=\"col\">{result}</th><th scope=\"col\">{code}</th><th scope=\"col\">{corr}</th></tr></thead><tbody>",
            caption = e(&t(lang, "search-caption").replace("{ $n }", &records.len().to_string())),
            time = te(lang, "col-time"),
            user = te(lang, "search-user"),
            app = te(lang, "search-app"),
            result = te(lang, "search-result"),
            code = te(lang, "search-code"),
            corr = te(lang, "search-correlation"),
        );
        for r in &records {
            let corr = text(r, "/correlationId");
            let user_id = text(r, "/userId");
            let user = Some(text(r, "/userPrincipalName"))
                .filter(|u| !u.is_empty())
                .or_else(|| {
                    live.tenant
                        .tenant
                        .directory
                        .users
                        .iter()
                        .find(|u| u.id.eq_ignore_ascii_case(user_id))
                        .map(|u| u.user_principal_name.as_str())
                })
                .unwrap_or(user_id);
            let app = Some(text(r, "/appDisplayName"))
                .filter(|a| !a.is_empty())
                .unwrap_or(text(r, "/appId"));
            let code = r
                .pointer("/status/errorCode")
                .and_then(Value::as_u64)
                .filter(|c| *c != 0)
                .map(|c| c.to_string())
                .unwrap_or_default();
            let _ = write!(
                body,
                "<tr><td class=\"time\">{time}</td><td>{user}</td><td>{app}</td><td>{badge}</td><td>{code}</td>\
<td><a href=\"/console/signins/{href}\"><code>{corr}</code></a></td></tr>",
                time = e(text(r, "/createdDateTime")),
                user = e(user),
                app = e(app),
                badge = decision_badge(lang, text(r, "/gardien/decision")),
                code = e(&code),
                href = url(corr),
                corr = e(corr),
            );
        }
        body.push_str("</tbody></table></div>");
    }
    html(
        StatusCode::OK,
        layout(lang, Some(&session), t(lang, "search-title"), &body),
    )
}

/// The tenant a sign-in was decided with: the one in force, or an older stored version.
enum TenantOf {
    Live(Arc<Live>),
    Stored(Box<CompiledTenant>),
}

impl TenantOf {
    fn get(&self) -> &CompiledTenant {
        match self {
            TenantOf::Live(l) => &l.tenant,
            TenantOf::Stored(t) => t,
        }
    }
}

/// A logged sign-in, decided again.
struct Decided {
    record: Value,
    request: Value,
    version: i64,
    report: DecisionReport,
    /// The user's principal name: the record's, else the directory's.
    upn: String,
}

/// Why a sign-in's page cannot be shown (message keys).
async fn load(state: &AppState, id: &str) -> Result<(Value, TenantOf, i64), &'static str> {
    let filter = SignInFilter {
        correlation_id: Some(id.to_owned()),
        limit: Some(1),
        ..SignInFilter::default()
    };
    let record = match state.store.log().query(&filter).await {
        Ok(records) => records.into_iter().next().ok_or("error-no-signin")?,
        Err(err) => {
            tracing::error!(error = %err, "console: sign-in log unavailable");
            return Err("error-store");
        }
    };
    let version = record
        .pointer("/gardien/policyVersion")
        .and_then(Value::as_i64)
        .ok_or("error-not-replayable")?;
    let live = state.live.load_full();
    let tenant = if live.version == version {
        TenantOf::Live(live)
    } else {
        let stored = state
            .store
            .version(version)
            .await
            .map_err(|_| "error-store")?
            .ok_or("error-not-replayable")?;
        let compiled =
            crate::snapshot::compile(&format!("store:version {version}"), &stored.snapshot)
                .map_err(|_| "error-not-replayable")?;
        TenantOf::Stored(Box::new(compiled))
    };
    Ok((record, tenant, version))
}

/// Decides `request` as of the record's time with `tenant`: the full report.
fn decide(
    record: Value,
    request: Value,
    tenant: TenantOf,
    version: i64,
) -> Result<Decided, &'static str> {
    let mut signin =
        SignIn::from_value_in("logged request", &request, &tenant.get().tenant.directory)
            .map_err(|_| "error-not-replayable")?;
    signin.at = record
        .pointer("/gardien/evaluatedAt")
        .or_else(|| record.get("createdDateTime"))
        .and_then(Value::as_str)
        .and_then(gardien_core::time::parse_rfc3339);
    let evaluation = tenant.get().evaluate(&signin);
    let report = DecisionReport::new(tenant.get(), &signin, &evaluation);
    let user_id = text(&record, "/userId");
    let upn = Some(text(&record, "/userPrincipalName"))
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            tenant
                .get()
                .tenant
                .directory
                .users
                .iter()
                .find(|u| u.id.eq_ignore_ascii_case(user_id))
                .map(|u| u.user_principal_name.clone())
        })
        .unwrap_or_default();
    Ok(Decided {
        record,
        request,
        version,
        report,
        upn,
    })
}

/// `GET /console/signins/{id}`: a sign-in's decision, trace, explanation, and what-if form.
pub async fn detail(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let session = match super::signed_in(&state, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let lang = lang(&headers);
    let started = std::time::Instant::now();
    let decided = match load(&state, &id)
        .await
        .and_then(|(record, tenant, version)| {
            let request = record
                .pointer("/gardien/request")
                .cloned()
                .ok_or("error-not-replayable")?;
            decide(record, request, tenant, version)
        }) {
        Ok(d) => d,
        Err(key) => {
            let status = if key == "error-no-signin" {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            return refusal(lang, Some(&session), status, key);
        }
    };
    let disclosure = disclosure_for(&state, &session);
    let mut body = summary(lang, &decided);
    body.push_str(&user_saw(
        lang,
        &decided.report,
        state.config.page.support.as_deref(),
        false,
    ));
    body.push_str(&policies(lang, &decided, disclosure));
    body.push_str(&what_if_form(lang, &session, &id, &decided.request));
    tracing::debug!(
        correlation_id = %id,
        elapsed_us = started.elapsed().as_micros() as u64,
        "console: sign-in page"
    );
    let title = format!("{} {}", t(lang, "signin-title"), id);
    html(StatusCode::OK, layout(lang, Some(&session), &title, &body))
}

/// What a session sees of the policy internals.
fn disclosure_for(state: &AppState, session: &Session) -> Disclosure {
    match session.role {
        ConsoleRole::Admin => Disclosure::Full,
        ConsoleRole::Reader => state.config.console.reader_disclosure,
    }
}

fn summary(lang: Lang, d: &Decided) -> String {
    let r = &d.record;
    let logged = text(r, "/gardien/decision");
    let mut out = String::from("<section aria-labelledby=\"h-summary\" class=\"card\">");
    let _ = write!(
        out,
        "<h2 id=\"h-summary\">{}</h2><dl class=\"facts\">",
        te(lang, "signin-summary")
    );
    let mut row = |k: &str, v: String| {
        let _ = write!(out, "<dt>{}</dt><dd>{v}</dd>", te(lang, k));
    };
    row("signin-decision", decision_badge(lang, logged));
    if let Some(code) = r
        .pointer("/status/errorCode")
        .and_then(Value::as_u64)
        .filter(|c| *c != 0)
    {
        row("search-code", format!("<code>AADSTS{code}</code>"));
    }
    let required: Vec<&str> = d
        .report
        .required_controls
        .iter()
        .map(|c| c.as_str())
        .collect();
    if !required.is_empty() {
        row("signin-required", e(&required.join(", ")));
    }
    row("col-time", e(text(r, "/createdDateTime")));
    let user = d.upn.as_str();
    row(
        "search-user",
        format!("{} <code>{}</code>", e(user), e(text(r, "/userId"))),
    );
    row(
        "search-app",
        format!(
            "{} <code>{}</code>",
            e(text(r, "/appDisplayName")),
            e(text(r, "/appId"))
        ),
    );
    row("signin-ip", e(text(r, "/ipAddress")));
    row("signin-location", e(text(r, "/location/countryOrRegion")));
    row("signin-client", e(text(r, "/clientAppUsed")));
    let device = r.get("deviceDetail");
    let compliant = device
        .and_then(|d| d.get("isCompliant"))
        .and_then(Value::as_bool);
    row(
        "signin-device",
        e(&format!(
            "{} · {} · {}",
            device
                .and_then(|d| d.get("operatingSystem"))
                .and_then(Value::as_str)
                .unwrap_or(""),
            match compliant {
                Some(true) => t(lang, "device-compliant"),
                _ => t(lang, "device-not-compliant"),
            },
            device
                .and_then(|d| d.get("trustType"))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .unwrap_or(t(lang, "device-unregistered")),
        )),
    );
    row(
        "search-correlation",
        format!("<code>{}</code>", e(text(r, "/correlationId"))),
    );
    row("signin-version", e(&d.version.to_string()));
    out.push_str("</dl>");
    if d.report.decision.as_str() != logged && !logged.is_empty() {
        let _ = write!(
            out,
            "<p class=\"notice error\" role=\"status\">{}</p>",
            e(&t(lang, "signin-mismatch").replace("{ $now }", d.report.decision.as_str()))
        );
    }
    out.push_str("</section>");
    out
}

/// The explanation the user saw on the denial page (or, for a what-if, would see): the
/// cause, temporary or not, the steps.
fn user_saw(lang: Lang, report: &DecisionReport, support: Option<&str>, what_if: bool) -> String {
    use crate::denial::messages::msg;
    let (heading, allowed) = if what_if {
        ("whatif-user-would-see", "whatif-allowed")
    } else {
        ("signin-user-saw", "signin-allowed")
    };
    let mut out = String::from("<section aria-labelledby=\"h-saw\" class=\"card\">");
    let _ = write!(out, "<h2 id=\"h-saw\">{}</h2>", te(lang, heading));
    let Some(x) = &report.explanation else {
        let _ = write!(out, "<p>{}</p></section>", te(lang, allowed));
        return out;
    };
    let cat = crate::denial::category_name(x.category);
    let _ = write!(
        out,
        "<p><strong>{}</strong> <span class=\"muted\">({})</span></p><p>{}</p><p>{}</p><ol>",
        e(msg(lang, &format!("category-{cat}-title"))),
        e(cat),
        e(msg(lang, &format!("category-{cat}-text"))),
        te(
            lang,
            if x.temporary {
                "signin-temporary"
            } else {
                "signin-structural"
            }
        ),
    );
    for a in &x.user_actions {
        let name = crate::denial::action_name(*a);
        let text = match (name, support) {
            ("contactSupport", Some(s)) => crate::denial::messages::fill(
                msg(lang, "action-contactSupport-with"),
                &[("support", s)],
            ),
            _ => msg(lang, &format!("action-{name}")).to_owned(),
        };
        let _ = write!(out, "<li data-action=\"{}\">{}</li>", e(name), e(&text));
    }
    out.push_str("</ol></section>");
    out
}

fn result_class(r: PolicyResult) -> &'static str {
    match r {
        PolicyResult::Failure => "deny",
        PolicyResult::Success => "allow",
        _ => "muted",
    }
}

/// Each policy: whether it applied and why, its result, its grant; at the disclosure level.
fn policies(lang: Lang, d: &Decided, disclosure: Disclosure) -> String {
    let report = &d.report;
    let mut out = String::from("<section aria-labelledby=\"h-policies\" class=\"card\">");
    let _ = write!(
        out,
        "<h2 id=\"h-policies\">{}</h2>",
        te(lang, "signin-policies")
    );
    if disclosure == Disclosure::Minimal {
        let _ = write!(out, "<p class=\"muted\">{}</p>", te(lang, "signin-minimal"));
    }
    out.push_str("<ol class=\"policies\">");
    for (n, trace) in report.trace.iter().enumerate() {
        let applied = report
            .applied_conditional_access_policies
            .get(trace.index)
            .filter(|a| a.id == trace.policy_id);
        let result = applied.map(|a| a.result);
        policy(&mut out, lang, n + 1, trace, result, disclosure);
    }
    out.push_str("</ol></section>");
    out
}

fn policy(
    out: &mut String,
    lang: Lang,
    n: usize,
    trace: &TracePolicy,
    result: Option<PolicyResult>,
    disclosure: Disclosure,
) {
    let name = match disclosure {
        Disclosure::Full => format!(
            "{} <code class=\"muted\">{}</code>",
            e(&trace.display_name),
            e(&trace.policy_id)
        ),
        _ => e(&t(lang, "signin-policy-n").replace("{ $n }", &n.to_string())),
    };
    let applies = te(
        lang,
        if trace.applies {
            "signin-applies"
        } else {
            "signin-not-applies"
        },
    );
    let (rclass, rtext) = result.map_or(("muted", String::new()), |r| {
        (result_class(r), e(r.as_str()))
    });
    let _ = write!(
        out,
        "<li class=\"policy\" data-policy=\"{n}\"><p><strong>{name}</strong> · {applies} · <span class=\"badge {rclass}\">{rtext}</span></p>",
    );
    if disclosure == Disclosure::Minimal {
        out.push_str("</li>");
        return;
    }
    out.push_str("<ul class=\"conditions\">");
    for c in &trace.conditions {
        let cname = c.condition.what_if_reason().0;
        let outcome = format!("{}", c.result);
        let _ = write!(
            out,
            "<li><span class=\"cond\">{label}</span> <span class=\"outcome {outcome_class}\">{outcome_text}</span>",
            label = te(lang, &format!("cond-{cname}")),
            outcome_class = e(&outcome),
            outcome_text = te(lang, &format!("outcome-{outcome}")),
        );
        if disclosure == Disclosure::Full && !c.detail.is_empty() {
            let _ = write!(out, " — {}", e(&c.detail));
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
    let grant = trace.grant.to_string();
    if !grant.is_empty() {
        let _ = write!(
            out,
            "<p><span class=\"cond\">{}</span> <code>{}</code>",
            te(lang, "signin-grant"),
            e(&grant)
        );
        if disclosure == Disclosure::Full && !trace.grant_detail.is_empty() {
            let _ = write!(out, " — {}", e(&trace.grant_detail));
        }
        out.push_str("</p>");
    }
    out.push_str("</li>");
}

/// The device state a request describes: `unregistered`, `registered` or `compliant`.
fn device_state(request: &Value) -> &'static str {
    match request.pointer("/signInConditions/deviceInfo") {
        None | Some(Value::Null) => "unregistered",
        Some(d) if d.get("isCompliant").and_then(Value::as_bool) == Some(true) => "compliant",
        Some(_) => "registered",
    }
}

/// The what-if form, prefilled from `request`.
fn what_if_form(lang: Lang, session: &Session, id: &str, request: &Value) -> String {
    let mut out = String::from("<section aria-labelledby=\"h-whatif\" class=\"card\">");
    let _ = write!(
        out,
        "<h2 id=\"h-whatif\">{}</h2><p class=\"muted\">{}</p>\
<form method=\"post\" action=\"/console/signins/{}/whatif\">\
<input type=\"hidden\" name=\"csrf\" value=\"{}\"><div class=\"grid\">\
<div class=\"field\"><label for=\"device\">{}</label><select id=\"device\" name=\"device\">",
        te(lang, "whatif-title"),
        te(lang, "whatif-hint"),
        url(id),
        e(&session.csrf),
        te(lang, "signin-device"),
    );
    let state = device_state(request);
    for (value, key) in [
        ("unregistered", "device-unregistered"),
        ("registered", "device-not-compliant"),
        ("compliant", "device-compliant"),
    ] {
        let _ = write!(
            out,
            "<option value=\"{value}\"{}>{}</option>",
            if state == value { " selected" } else { "" },
            te(lang, key)
        );
    }
    let cond = |k: &str| {
        request
            .pointer(&format!("/signInConditions/{k}"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let _ = write!(
        out,
        "</select></div>{ip}{country}<div class=\"field\"><label for=\"clientApp\">{client}</label><select id=\"clientApp\" name=\"clientApp\">",
        ip = field(
            "ip",
            &te(lang, "signin-ip"),
            &cond("ipAddress"),
            "text",
            " spellcheck=\"false\""
        ),
        country = field(
            "country",
            &te(lang, "whatif-country"),
            &cond("country"),
            "text",
            " maxlength=\"2\" autocomplete=\"off\""
        ),
        client = te(lang, "signin-client"),
    );
    let client = cond("clientAppType");
    for c in ClientAppType::ALL {
        let _ = write!(
            out,
            "<option value=\"{v}\"{sel}>{label}</option>",
            v = c.as_str(),
            sel = if client.eq_ignore_ascii_case(c.as_str()) {
                " selected"
            } else {
                ""
            },
            label = te(lang, &format!("client-{}", c.as_str())),
        );
    }
    out.push_str("</select></div></div>");
    let done: Vec<String> = request
        .pointer("/session/authenticationMethods")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let _ = write!(
        out,
        "<fieldset><legend>{}</legend><div class=\"checks\">",
        te(lang, "whatif-methods")
    );
    for m in AuthMethod::ALL {
        let name = m.as_str();
        let _ = write!(
            out,
            "<div class=\"check\"><input type=\"checkbox\" id=\"m-{name}\" name=\"method\" value=\"{name}\"{checked}><label for=\"m-{name}\">{name}</label></div>",
            checked = if done.contains(&name.to_ascii_lowercase()) {
                " checked"
            } else {
                ""
            },
        );
    }
    let _ = write!(
        out,
        "</div></fieldset><button type=\"submit\">{}</button></form></section>",
        te(lang, "whatif-submit")
    );
    out
}

/// Applies the what-if form to a logged request. `Err` names the message of the field that
/// is wrong.
fn changed_request(request: &Value, form: &[(String, String)]) -> Result<Value, &'static str> {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
    };
    let mut r = request.clone();
    let conditions = r
        .as_object_mut()
        .map(|o| {
            o.entry("signInConditions")
                .or_insert_with(|| json!({}))
                .clone()
        })
        .unwrap_or_else(|| json!({}));
    let mut c = match conditions {
        Value::Object(o) => o,
        _ => serde_json::Map::new(),
    };
    match get("device").as_deref() {
        Some("unregistered") => {
            c.remove("deviceInfo");
        }
        Some(state @ ("registered" | "compliant")) => {
            let mut device = match c.remove("deviceInfo") {
                Some(Value::Object(d)) => d,
                _ => serde_json::Map::new(),
            };
            device.insert("isCompliant".into(), json!(state == "compliant"));
            device
                .entry("trustType")
                .or_insert_with(|| json!("Workplace"));
            c.insert("deviceInfo".into(), Value::Object(device));
        }
        None => {}
        Some(_) => return Err("whatif-bad-device"),
    }
    match get("ip").as_deref() {
        None | Some("") => {
            c.remove("ipAddress");
        }
        Some(ip) => {
            ip.parse::<std::net::IpAddr>()
                .map_err(|_| "whatif-bad-ip")?;
            c.insert("ipAddress".into(), json!(ip));
        }
    }
    match get("country").as_deref() {
        None | Some("") => {
            c.remove("country");
        }
        Some(cc) if cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_alphabetic()) => {
            c.insert("country".into(), json!(cc.to_ascii_uppercase()));
        }
        Some(_) => return Err("whatif-bad-country"),
    }
    if let Some(app) = get("clientApp") {
        let parsed = ClientAppType::parse(&app).ok_or("whatif-bad-client")?;
        c.insert("clientAppType".into(), json!(parsed.as_str()));
    }
    let mut methods = Vec::new();
    for (k, v) in form {
        if k == "method" {
            let m = AuthMethod::parse(v).ok_or("whatif-bad-method")?;
            methods.push(json!(m.as_str()));
        }
    }
    if let Some(o) = r.as_object_mut() {
        o.insert("signInConditions".into(), Value::Object(c));
        let session = o.entry("session").or_insert_with(|| json!({}));
        if let Some(s) = session.as_object_mut() {
            s.insert("authenticationMethods".into(), Value::Array(methods));
        }
    }
    Ok(r)
}

/// `POST /console/signins/{id}/whatif`: the logged sign-in with the form's changes, decided
/// again by the core, next to what was decided.
pub async fn what_if(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let session = match super::signed_in(&state, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let form = form.ok().map(|Form(f)| f).unwrap_or_default();
    let csrf = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if let Err(r) = super::check_post(&session, &headers, csrf) {
        return *r;
    }
    let lang = lang(&headers);
    let (record, tenant, version) = match load(&state, &id).await {
        Ok(x) => x,
        Err(key) => return refusal(lang, Some(&session), StatusCode::NOT_FOUND, key),
    };
    let Some(logged) = record.pointer("/gardien/request").cloned() else {
        return refusal(
            lang,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "error-not-replayable",
        );
    };
    let changed = match changed_request(&logged, &form) {
        Ok(r) => r,
        Err(key) => return refusal(lang, Some(&session), StatusCode::BAD_REQUEST, key),
    };
    let decided = match decide(record, changed, tenant, version) {
        Ok(d) => d,
        Err(key) => return refusal(lang, Some(&session), StatusCode::BAD_REQUEST, key),
    };
    let before = text(&decided.record, "/gardien/decision").to_owned();
    let after = decided.report.decision;
    let mut body = format!(
        "<section aria-labelledby=\"h-outcome\" class=\"card\"><h2 id=\"h-outcome\">{}</h2>\
<p class=\"outcome-line\">{} → {}{}</p><p><a href=\"/console/signins/{}\">{}</a></p></section>",
        te(lang, "whatif-outcome"),
        decision_badge(lang, &before),
        decision_badge(lang, after.as_str()),
        decided
            .report
            .error_code
            .filter(|_| after == Decision::Deny)
            .map(|c| format!(" <code>AADSTS{c}</code>"))
            .unwrap_or_default(),
        url(&id),
        te(lang, "whatif-back"),
    );
    let disclosure = disclosure_for(&state, &session);
    body.push_str(&user_saw(
        lang,
        &decided.report,
        state.config.page.support.as_deref(),
        true,
    ));
    body.push_str(&policies(lang, &decided, disclosure));
    body.push_str(&what_if_form(lang, &session, &id, &decided.request));
    tracing::info!(actor = %session.actor, correlation_id = %id, decision = after.as_str(), "console: what-if");
    let title = format!("{} {}", t(lang, "whatif-title"), id);
    html(StatusCode::OK, layout(lang, Some(&session), &title, &body))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn request() -> Value {
        json!({
            "signInIdentity": {"userId": "u"},
            "signInContext": {"includeApplications": ["a"]},
            "signInConditions": {"clientAppType": "browser", "ipAddress": "198.51.100.20",
                "deviceInfo": {"isCompliant": false, "trustType": "Workplace"}},
            "session": {"authenticationMethods": ["password"]}
        })
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn what_if_changes_only_what_the_form_says() {
        let r = changed_request(
            &request(),
            &form(&[
                ("device", "compliant"),
                ("ip", "198.51.100.20"),
                ("country", "fr"),
                ("clientApp", "mobileAppsAndDesktopClients"),
                ("method", "password"),
                ("method", "fido2"),
            ]),
        )
        .unwrap();
        assert_eq!(r["signInConditions"]["deviceInfo"]["isCompliant"], true);
        assert_eq!(
            r["signInConditions"]["deviceInfo"]["trustType"],
            "Workplace"
        );
        assert_eq!(r["signInConditions"]["country"], "FR");
        assert_eq!(
            r["signInConditions"]["clientAppType"],
            "mobileAppsAndDesktopClients"
        );
        assert_eq!(
            r["session"]["authenticationMethods"],
            json!(["password", "fido2"])
        );
        assert_eq!(r["signInIdentity"], request()["signInIdentity"]);
        let r = changed_request(&request(), &form(&[("device", "unregistered")])).unwrap();
        assert!(r["signInConditions"].get("deviceInfo").is_none());
        assert_eq!(device_state(&r), "unregistered");
        assert_eq!(device_state(&request()), "registered");
    }

    #[test]
    fn what_if_refuses_bad_fields() {
        for (k, v, key) in [
            ("ip", "not-an-ip", "whatif-bad-ip"),
            ("country", "FRA", "whatif-bad-country"),
            ("clientApp", "telnet", "whatif-bad-client"),
            ("method", "carrierPigeon", "whatif-bad-method"),
            ("device", "jailbroken", "whatif-bad-device"),
        ] {
            assert_eq!(changed_request(&request(), &form(&[(k, v)])), Err(key));
        }
    }

    #[test]
    fn policies_are_shown_at_the_disclosure_level() {
        use gardien_core::eval::Condition;
        use gardien_core::eval::input::Outcome;
        use gardien_core::model::policy::PolicyState;
        use gardien_core::report::{Grant, TraceCondition};
        let trace = TracePolicy {
            index: 0,
            policy_id: "ca04-id".into(),
            display_name: "CA04 <Payroll>".into(),
            state: PolicyState::Enabled,
            applies: true,
            conditions: vec![TraceCondition {
                condition: Condition::Location,
                result: Outcome::Satisfied,
                detail: "in `HQ egress`".into(),
            }],
            grant: Grant(None),
            grant_detail: String::new(),
        };
        let render = |d: Disclosure| {
            let mut out = String::new();
            policy(
                &mut out,
                Lang::En,
                3,
                &trace,
                Some(PolicyResult::Failure),
                d,
            );
            out
        };
        let minimal = render(Disclosure::Minimal);
        assert!(minimal.contains("Policy 3") && minimal.contains("failure"));
        for hidden in ["CA04", "ca04-id", "Location", "HQ egress"] {
            assert!(!minimal.contains(hidden), "minimal shows `{hidden}`");
        }
        let detailed = render(Disclosure::Detailed);
        assert!(detailed.contains("Policy 3") && detailed.contains("Location"));
        for hidden in ["CA04", "ca04-id", "HQ egress"] {
            assert!(!detailed.contains(hidden), "detailed shows `{hidden}`");
        }
        let full = render(Disclosure::Full);
        assert!(full.contains("CA04 &lt;Payroll&gt;") && full.contains("ca04-id"));
        assert!(full.contains("in `HQ egress`"));
    }

    #[test]
    fn form_times_are_utc() {
        assert_eq!(form_time("1970-01-01T00:01"), Some(60_000));
        assert_eq!(form_time("1970-01-01T00:01:00Z"), Some(60_000));
        assert_eq!(form_time("yesterday"), None);
    }
}

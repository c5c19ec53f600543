//! One sign-in: decided again, its trace and what the user saw.

use super::what_if::what_if_form;
use super::{decision_badge, text};
use crate::console::page::{e, html, refusal, t, te};
use crate::console::{ConsoleRole, Session, lang};
use crate::denial::{Disclosure, Lang};
use crate::state::{AppState, Live};
use axum::extract::{Path, State};
use axum::response::Response;
use gardien_core::eval::PolicyResult;
use gardien_core::report::{DecisionReport, TracePolicy};
use gardien_core::{CompiledTenant, SignIn};
use gardien_store::SignInFilter;
use http::{HeaderMap, StatusCode};
use serde_json::Value;
use std::fmt::Write as _;
use std::sync::Arc;

/// The tenant a sign-in was decided with: the one in force, or an older stored version.
pub(super) enum TenantOf {
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
pub(super) struct Decided {
    pub(super) record: Value,
    pub(super) request: Value,
    pub(super) version: i64,
    pub(super) report: DecisionReport,
    /// The user's principal name: the record's, else the directory's.
    pub(super) upn: String,
}

/// Why a sign-in's page cannot be shown (message keys).
pub(super) async fn load(
    state: &AppState,
    id: &str,
) -> Result<(Value, TenantOf, i64), &'static str> {
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
pub(super) fn decide(
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
    let session = match crate::console::signed_in(&state, &headers) {
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
    let body = summary(lang, &decided);
    let page = decision_page(&state, lang, &session, &id, &decided, false, body);
    tracing::debug!(
        correlation_id = %id,
        elapsed_us = started.elapsed().as_micros() as u64,
        "console: sign-in page"
    );
    page
}

/// A sign-in's page (or, `what_if`, a what-if's) from its first section (`body`) on: what
/// the user saw (or would see), every policy at the session's disclosure, and the what-if
/// form, titled with the correlation id.
pub(super) fn decision_page(
    state: &AppState,
    lang: Lang,
    session: &Session,
    id: &str,
    decided: &Decided,
    what_if: bool,
    mut body: String,
) -> Response {
    body.push_str(&user_saw(
        lang,
        &decided.report,
        state.config.page.support.as_deref(),
        what_if,
    ));
    body.push_str(&policies(lang, decided, disclosure_for(state, session)));
    body.push_str(&what_if_form(lang, session, id, &decided.request));
    let title = if what_if {
        "whatif-title"
    } else {
        "signin-title"
    };
    let title = format!("{} {}", t(lang, title), id);
    html(
        StatusCode::OK,
        crate::console::tenant::layout_for(state, lang, session, &title, &body),
    )
}

/// What a session sees of the policy internals.
fn disclosure_for(state: &AppState, session: &Session) -> Disclosure {
    match session.role {
        ConsoleRole::Admin => Disclosure::Full,
        ConsoleRole::Reader => state.config.console.reader_disclosure,
    }
}

pub(super) fn summary(lang: Lang, d: &Decided) -> String {
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
    if disclosure == Disclosure::Full {
        // Whoever sees every word here may also read the policy pages.
        let _ = write!(
            out,
            "<p><a href=\"/console/policies\">{}</a></p>",
            te(lang, "signin-policy-words")
        );
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

pub(super) fn policy(
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

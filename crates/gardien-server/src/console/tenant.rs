//! Pages about the policy set in force: every policy in plain words, the persona ×
//! application coverage matrix, the lint findings, the coverage gaps, the named locations and
//! the device registry. Read-only.
//!
//! Nothing here describes a condition by itself: the words and the matrix are
//! `gardien doc`'s ([`gardien_analysis::doc::describe`]), the findings `gardien lint`'s, the
//! gaps `gardien gaps`'s, and a device's compliance the server's own check (the one its
//! decisions use). The analyses run once per policy version, off the async workers, and are
//! kept until the version in force changes ([`Analyses`]).
//!
//! Who: admins; readers too when `[console] reader_disclosure = "full"` (they already see
//! every policy name, id and condition word on a sign-in's trace), else a 403 page.

use super::page::{e, html, layout_nav, refusal, t, te};
use super::{ConsoleRole, Session, lang};
use crate::denial::{Disclosure, Lang};
use crate::state::{AppState, Live};
use axum::extract::{Query, State};
use axum::response::Response;
use gardien_analysis::doc::{CellKind, DocOptions, TenantDoc, describe, state_words};
use gardien_analysis::gaps::{AnalysisError, GapKind, GapsReport, find_gaps};
use gardien_analysis::lint::{LintOptions, LintReport, Severity, lint};
use gardien_core::model::location::LocationKind;
use gardien_core::model::policy::{LocationToken, PolicyState};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use std::fmt::Write as _;
use std::sync::Arc;

/// Rows shown at most on the gap and device pages (the count of the rest is said).
const MAX_ROWS: usize = 500;

/// IP ranges listed per named location (the count of the rest is said).
const MAX_RANGES: usize = 8;

/// The analyses of the policy set in force, each computed at most once per version (the
/// first page that needs one waits for it; the others wait for that one).
#[derive(Default)]
pub struct Analyses {
    doc: PerVersion<TenantDoc>,
    lint: PerVersion<LintReport>,
    gaps: PerVersion<Result<GapsReport, AnalysisError>>,
}

impl std::fmt::Debug for Analyses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyses").finish_non_exhaustive()
    }
}

struct PerVersion<T>(tokio::sync::Mutex<Option<(i64, Arc<T>)>>);

impl<T> Default for PerVersion<T> {
    fn default() -> Self {
        PerVersion(tokio::sync::Mutex::new(None))
    }
}

impl<T: Send + Sync + 'static> PerVersion<T> {
    /// The value for `live`'s version: kept, or computed now on a blocking thread. `None`
    /// when the computation panicked.
    async fn get(&self, live: Arc<Live>, compute: fn(&Live) -> T) -> Option<Arc<T>> {
        let mut slot = self.0.lock().await;
        if let Some((version, value)) = &*slot
            && *version == live.version
        {
            return Some(value.clone());
        }
        let version = live.version;
        let value = Arc::new(
            tokio::task::spawn_blocking(move || compute(&live))
                .await
                .ok()?,
        );
        *slot = Some((version, value.clone()));
        Some(value)
    }
}

fn compute_doc(live: &Live) -> TenantDoc {
    // The lint summary is the lint page's; location classes bounded as `gardien doc`'s
    // default.
    describe(
        &live.tenant.tenant,
        DocOptions {
            no_lint: true,
            ..DocOptions::default()
        },
    )
}

fn compute_lint(live: &Live) -> LintReport {
    lint(
        &live.tenant,
        &LintOptions {
            now: Some(crate::clock::now_ms().div_euclid(1000)),
            tenant_name: format!("store:version {}", live.version),
            ..LintOptions::default()
        },
    )
}

fn compute_gaps(live: &Live) -> Result<GapsReport, AnalysisError> {
    find_gaps(&live.tenant.tenant)
}

/// Whether a session may see these pages: admins, and readers at `full` disclosure.
pub fn may_see(state: &AppState, session: &Session) -> bool {
    session.role == ConsoleRole::Admin || state.config.console.reader_disclosure == Disclosure::Full
}

/// A page of the console for `session`, with the links to the policy pages when it may see
/// them ([`may_see`]).
pub fn layout_for(
    state: &AppState,
    lang: Lang,
    session: &Session,
    title: &str,
    body: &str,
) -> String {
    layout_nav(lang, Some(session), may_see(state, session), title, body)
}

/// The session, or the answer instead: the login redirect, or a 403 page.
fn viewer(state: &AppState, headers: &HeaderMap) -> Result<Session, Box<Response>> {
    let s = super::signed_in(state, headers)?;
    if may_see(state, &s) {
        Ok(s)
    } else {
        Err(Box::new(refusal(
            lang(headers),
            Some(&s),
            StatusCode::FORBIDDEN,
            "error-admin-only",
        )))
    }
}

fn page(lang: Lang, session: &Session, title: &str, body: &str) -> Response {
    html(
        StatusCode::OK,
        layout_nav(lang, Some(session), true, title, body),
    )
}

fn failed(lang: Lang, session: &Session) -> Response {
    refusal(
        lang,
        Some(session),
        StatusCode::INTERNAL_SERVER_ERROR,
        "error-internal",
    )
}

/// A message with `{ $name }` placeholders filled (values are escaped with the rest).
fn fill(lang: Lang, key: &str, values: &[(&str, String)]) -> String {
    let mut text = t(lang, key).to_owned();
    for (name, value) in values {
        text = text.replace(&format!("{{ ${name} }}"), value);
    }
    e(&text)
}

fn version_line(lang: Lang, version: i64) -> String {
    format!(
        "<p class=\"muted\">{}</p>",
        fill(lang, "tenant-version", &[("version", version.to_string())])
    )
}

fn state_badge(lang: Lang, s: PolicyState) -> String {
    match s {
        PolicyState::Enabled => String::new(),
        PolicyState::ReportOnly => format!(
            " <span class=\"badge challenge\">{}</span>",
            te(lang, "policies-report-only")
        ),
        PolicyState::Disabled => format!(
            " <span class=\"badge muted\">{}</span>",
            te(lang, "policies-disabled")
        ),
    }
}

/// The anchor of policy `i` on the policies page.
fn policy_link(i: usize, name: &str) -> String {
    format!("<a href=\"/console/policies#p-{i}\">{}</a>", e(name))
}

/// `GET /console/policies`: every policy in plain words (`gardien doc`'s).
pub async fn policies(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let session = match viewer(&state, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let lang = lang(&headers);
    let live = state.live.load_full();
    let version = live.version;
    let Some(doc) = state.console.analyses.doc.get(live, compute_doc).await else {
        return failed(lang, &session);
    };
    let (enabled, report_only, disabled) = doc.counts;
    let mut body = version_line(lang, version);
    let _ = write!(
        body,
        "<p>{}</p><p class=\"muted\">{}</p>",
        fill(
            lang,
            "policies-counts",
            &[
                ("total", doc.policies.len().to_string()),
                ("enabled", enabled.to_string()),
                ("reportOnly", report_only.to_string()),
                ("disabled", disabled.to_string()),
            ]
        ),
        te(lang, "policies-lead"),
    );
    notes(&mut body, lang, &doc.notes);
    if doc.policies.is_empty() {
        let _ = write!(body, "<p>{}</p>", te(lang, "policies-none"));
    }
    for (i, p) in doc.policies.iter().enumerate() {
        let _ = write!(
            body,
            "<section class=\"card\" id=\"p-{i}\" aria-labelledby=\"h-p-{i}\"><h2 id=\"h-p-{i}\">{name}{badge}</h2><dl class=\"facts\">\
<dt>{id_label}</dt><dd><code>{id}</code></dd><dt>{state_label}</dt><dd>{state}</dd><dt>{applies}</dt><dd>",
            name = e(&p.name),
            badge = state_badge(lang, p.state),
            id_label = te(lang, "policies-id"),
            id = e(&p.id),
            state_label = te(lang, "policies-state"),
            state = e(state_words(p.state)),
            applies = te(lang, "policies-applies"),
        );
        if p.scope.is_empty() {
            body.push_str(&te(lang, "policies-every-signin"));
        } else {
            body.push_str("<ul class=\"conditions\">");
            for (dimension, words) in &p.scope {
                let _ = write!(
                    body,
                    "<li><span class=\"cond\">{}</span>: {}</li>",
                    e(dimension),
                    e(words)
                );
            }
            body.push_str("</ul>");
        }
        let _ = write!(
            body,
            "</dd><dt>{}</dt><dd><code>{}</code></dd>",
            te(lang, "policies-requires"),
            e(&p.grant)
        );
        if !p.session.is_empty() {
            let _ = write!(
                body,
                "<dt>{}</dt><dd><code>{}</code></dd>",
                te(lang, "policies-session"),
                e(&p.session.join(", "))
            );
        }
        body.push_str("</dl></section>");
    }
    page(lang, &session, t(lang, "policies-title"), &body)
}

fn notes(body: &mut String, lang: Lang, notes: &[String]) {
    for n in notes {
        let _ = write!(
            body,
            "<p class=\"notice\">{} {}</p>",
            te(lang, "tenant-approximation"),
            e(n)
        );
    }
}

/// Which location class's matrix to show.
#[derive(Debug, Deserialize)]
pub struct CoverageQuery {
    place: Option<usize>,
}

/// `GET /console/coverage?place=`: the persona × application matrix (`gardien doc`'s), one
/// location class at a time; cells where report-only policies apply name them.
pub async fn coverage(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<CoverageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let session = match viewer(&state, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let lang = lang(&headers);
    let live = state.live.load_full();
    let version = live.version;
    let Some(doc) = state.console.analyses.doc.get(live, compute_doc).await else {
        return failed(lang, &session);
    };
    let place = match query {
        Ok(Query(q)) => q.place.unwrap_or(0),
        Err(_) => usize::MAX,
    };
    let Some(matrix) = doc
        .matrices
        .get(place)
        .or_else(|| doc.matrices.first().filter(|_| place == 0))
    else {
        if doc.matrices.is_empty() {
            let mut body = version_line(lang, version);
            let _ = write!(body, "<p>{}</p>", te(lang, "coverage-none"));
            return page(lang, &session, t(lang, "coverage-title"), &body);
        }
        return refusal(
            lang,
            Some(&session),
            StatusCode::NOT_FOUND,
            "error-no-place",
        );
    };
    let mut body = version_line(lang, version);
    let _ = write!(body, "<p>{}</p>", te(lang, "coverage-lead"));
    notes(&mut body, lang, &doc.notes);
    let _ = write!(
        body,
        "<nav aria-label=\"{}\" class=\"card\"><h2>{}</h2><ul class=\"places\">",
        te(lang, "coverage-places"),
        te(lang, "coverage-places"),
    );
    for (i, m) in doc.matrices.iter().enumerate() {
        let current = if i == place {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            body,
            "<li><a href=\"/console/coverage?place={i}\"{current}>{}</a></li>",
            e(&m.place)
        );
    }
    body.push_str("</ul></nav>");
    body.push_str("<ul class=\"legend\">");
    for kind in CellKind::ALL {
        let _ = write!(
            body,
            "<li><span class=\"cell k-{}\">{}</span></li>",
            kind.as_str(),
            te(lang, &format!("coverage-kind-{}", kind.as_str()))
        );
    }
    let _ = write!(
        body,
        "<li><span class=\"ro\">{}</span> {}</li></ul>",
        te(lang, "coverage-ro"),
        te(lang, "coverage-ro-means")
    );
    if doc.more != (0, 0) {
        let _ = write!(
            body,
            "<p class=\"muted\">{}</p>",
            fill(
                lang,
                "coverage-more",
                &[
                    ("rows", doc.personas.len().to_string()),
                    ("columns", doc.apps.len().to_string()),
                    ("moreRows", doc.more.0.to_string()),
                    ("moreColumns", doc.more.1.to_string()),
                ]
            )
        );
    }
    let _ = write!(
        body,
        "<div class=\"table\" role=\"region\" aria-labelledby=\"matrix-caption\" tabindex=\"0\"><table class=\"matrix\">\
<caption id=\"matrix-caption\">{caption}</caption><thead><tr><th scope=\"col\">{corner}</th>",
        caption = fill(lang, "coverage-caption", &[("place", matrix.place.clone())]),
        corner = te(lang, "coverage-corner"),
    );
    for app in &doc.apps {
        let _ = write!(body, "<th scope=\"col\">{}</th>", e(app));
    }
    body.push_str("</tr></thead><tbody>");
    for (row, persona) in matrix.rows.iter().zip(&doc.personas) {
        let _ = write!(body, "<tr><th scope=\"row\">{}</th>", e(persona));
        for cell in row {
            let _ = write!(
                body,
                "<td class=\"cell k-{}\">{}",
                cell.kind.as_str(),
                e(&cell.text)
            );
            if !cell.report_only.is_empty() {
                let names: Vec<String> = cell
                    .report_only
                    .iter()
                    .filter_map(|i| doc.policies.get(*i).map(|p| policy_link(*i, &p.name)))
                    .collect();
                let _ = write!(
                    body,
                    " <span class=\"ro\">{}</span> {}",
                    te(lang, "coverage-ro"),
                    names.join(", ")
                );
            }
            body.push_str("</td>");
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table></div>");
    page(lang, &session, t(lang, "coverage-title"), &body)
}

fn severity_badge(lang: Lang, s: Severity) -> String {
    let class = match s {
        Severity::Error => "deny",
        Severity::Warning => "challenge",
        Severity::Info => "muted",
    };
    format!(
        "<span class=\"badge {class}\">{}</span>",
        te(lang, &format!("lint-{}", s.as_str()))
    )
}

/// `GET /console/lint`: `gardien lint`'s findings on the policy set in force.
pub async fn lint_page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let session = match viewer(&state, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let lang = lang(&headers);
    let live = state.live.load_full();
    let version = live.version;
    let policies = live.tenant.tenant.policies.clone();
    let Some(report) = state.console.analyses.lint.get(live, compute_lint).await else {
        return failed(lang, &session);
    };
    let s = &report.summary;
    let mut body = version_line(lang, version);
    let _ = write!(
        body,
        "<p>{}</p>",
        fill(
            lang,
            "lint-counts",
            &[
                ("errors", s.errors.to_string()),
                ("warnings", s.warnings.to_string()),
                ("infos", s.infos.to_string()),
            ]
        )
    );
    for skipped in &s.skipped {
        let _ = write!(
            body,
            "<p class=\"notice\">{} <code>{}</code>: {}</p>",
            te(lang, "lint-skipped"),
            e(&skipped.codes.join(", ")),
            e(&skipped.reason)
        );
    }
    if report.findings.is_empty() {
        let _ = write!(body, "<p>{}</p>", te(lang, "lint-none"));
        return page(lang, &session, t(lang, "lint-title"), &body);
    }
    let _ = write!(
        body,
        "<div class=\"table\" role=\"region\" aria-labelledby=\"lint-caption\" tabindex=\"0\"><table><caption id=\"lint-caption\">{}</caption>\
<thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        te(lang, "lint-caption"),
        te(lang, "lint-severity"),
        te(lang, "lint-rule"),
        te(lang, "lint-policy"),
        te(lang, "lint-finding"),
        te(lang, "lint-where"),
    );
    for f in &report.findings {
        let policy = match &f.policy {
            Some(p) => {
                let name = if p.display_name.is_empty() {
                    &p.id
                } else {
                    &p.display_name
                };
                match policies.iter().position(|q| q.id == p.id) {
                    Some(i) => policy_link(i, name),
                    None => e(name),
                }
            }
            None => te(lang, "lint-tenant"),
        };
        let _ = write!(
            body,
            "<tr><td>{severity}</td><td><a href=\"{url}\"><code>{code}</code></a> {name}</td><td>{policy}</td>\
<td><p>{message}</p><p class=\"muted\">{help}</p></td><td><code>{file}{pointer}</code></td></tr>",
            severity = severity_badge(lang, f.severity),
            url = e(&f.url),
            code = e(f.code),
            name = e(f.name),
            message = e(&f.message),
            help = e(&f.help),
            file = e(&f.file),
            pointer = e(&f.pointer),
        );
    }
    body.push_str("</tbody></table></div>");
    page(lang, &session, t(lang, "lint-title"), &body)
}

/// `GET /console/gaps`: `gardien gaps`'s coverage gaps of the policy set in force, most
/// exposed first.
pub async fn gaps(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let session = match viewer(&state, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let lang = lang(&headers);
    let live = state.live.load_full();
    let version = live.version;
    let Some(result) = state.console.analyses.gaps.get(live, compute_gaps).await else {
        return failed(lang, &session);
    };
    let mut body = version_line(lang, version);
    let report = match &*result {
        Ok(r) => r,
        Err(err) => {
            let _ = write!(
                body,
                "<p class=\"notice error\" role=\"status\">{} {}</p>",
                te(lang, "gaps-failed"),
                e(&err.to_string())
            );
            return page(lang, &session, t(lang, "gaps-title"), &body);
        }
    };
    let s = &report.summary;
    let _ = write!(
        body,
        "<p>{}</p><p class=\"muted\">{}</p>",
        fill(
            lang,
            "gaps-counts",
            &[
                ("gaps", s.gaps.to_string()),
                ("reachable", s.attacker_reachable_gaps.to_string()),
                ("classes", s.total_classes.to_string()),
                ("noControl", s.no_control_classes.to_string()),
                ("noStrong", s.no_strong_control_classes.to_string()),
            ]
        ),
        te(lang, "gaps-lead"),
    );
    if !report.approximations.is_empty() {
        let _ = write!(
            body,
            "<details class=\"card\"><summary>{}</summary><ul>",
            te(lang, "gaps-approximations")
        );
        for a in &report.approximations {
            let _ = write!(body, "<li>{}</li>", e(a));
        }
        body.push_str("</ul></details>");
    }
    if report.gaps.is_empty() {
        let _ = write!(body, "<p>{}</p>", te(lang, "gaps-none"));
        return page(lang, &session, t(lang, "gaps-title"), &body);
    }
    if report.gaps.len() > MAX_ROWS {
        let _ = write!(
            body,
            "<p class=\"muted\">{}</p>",
            fill(
                lang,
                "tenant-first-rows",
                &[
                    ("shown", MAX_ROWS.to_string()),
                    ("total", report.gaps.len().to_string())
                ]
            )
        );
    }
    let _ = write!(
        body,
        "<div class=\"table\" role=\"region\" aria-labelledby=\"gaps-caption\" tabindex=\"0\"><table><caption id=\"gaps-caption\">{}</caption>\
<thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        te(lang, "gaps-caption"),
        te(lang, "gaps-rank"),
        te(lang, "gaps-kind"),
        te(lang, "gaps-exposure"),
        te(lang, "gaps-attacker"),
        te(lang, "gaps-box"),
        te(lang, "gaps-example"),
    );
    for g in report.gaps.iter().take(MAX_ROWS) {
        let kind = match g.kind {
            GapKind::NoControl => ("deny", "gaps-no-control"),
            GapKind::NoStrongControl => ("challenge", "gaps-no-strong-control"),
        };
        let decided = &g.outcome;
        let mut outcome = decided.decision.clone();
        if !decided.required_controls.is_empty() {
            let _ = write!(outcome, " ({})", decided.required_controls.join(", "));
        }
        let _ = write!(
            body,
            "<tr><td>{rank}</td><td><span class=\"badge {class}\">{kind}</span></td><td>{exposure:.1}</td><td>{attacker}</td>\
<td>{summary}</td><td><p>{example}</p><p class=\"muted\">{decided_label} <code>{outcome}</code></p></td></tr>",
            rank = g.rank,
            class = kind.0,
            kind = te(lang, kind.1),
            exposure = g.exposure,
            attacker = te(
                lang,
                if g.attacker_reachable {
                    "tenant-yes"
                } else {
                    "tenant-no"
                }
            ),
            summary = e(&g.summary),
            example = e(&g.representative.description),
            decided_label = te(lang, "gaps-decided"),
            outcome = e(&outcome),
        );
    }
    body.push_str("</tbody></table></div>");
    page(lang, &session, t(lang, "gaps-title"), &body)
}

/// `GET /console/locations`: the named locations (`gardien doc`'s words), their ranges or
/// countries, and the policies that name them.
pub async fn locations(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let session = match viewer(&state, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let lang = lang(&headers);
    let live = state.live.load_full();
    let version = live.version;
    let tenant = &live.tenant.tenant;
    let mut body = version_line(lang, version);
    if tenant.named_locations.is_empty() {
        let _ = write!(body, "<p>{}</p>", te(lang, "locations-none"));
        return page(lang, &session, t(lang, "locations-title"), &body);
    }
    let _ = write!(
        body,
        "<div class=\"table\" role=\"region\" aria-labelledby=\"locations-caption\" tabindex=\"0\"><table><caption id=\"locations-caption\">{}</caption>\
<thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        fill(
            lang,
            "locations-caption",
            &[("count", tenant.named_locations.len().to_string())]
        ),
        te(lang, "locations-name"),
        te(lang, "locations-what"),
        te(lang, "locations-trusted"),
        te(lang, "locations-ranges"),
        te(lang, "locations-used-by"),
    );
    let words = gardien_analysis::doc::location_words(tenant);
    for (l, w) in tenant.named_locations.iter().zip(&words) {
        let ranges = match &l.kind {
            LocationKind::Ip { ranges, .. } => {
                let mut out: Vec<String> = ranges
                    .iter()
                    .take(MAX_RANGES)
                    .map(|r| format!("<code>{}</code>", e(&r.to_string())))
                    .collect();
                if ranges.len() > MAX_RANGES {
                    out.push(fill(
                        lang,
                        "locations-more-ranges",
                        &[("more", (ranges.len() - MAX_RANGES).to_string())],
                    ));
                }
                out.join(" ")
            }
            _ => String::new(),
        };
        let mut used = Vec::new();
        for (i, p) in tenant.policies.iter().enumerate() {
            let Some(c) = &p.conditions.locations else {
                continue;
            };
            let names = |tokens: &[LocationToken]| {
                tokens.iter().any(|t| match t {
                    LocationToken::Id(id) => **id == *l.id,
                    LocationToken::AllTrusted => l.is_trusted(),
                    LocationToken::All => false,
                })
            };
            let key = if names(&c.exclude) {
                "locations-excluded-by"
            } else if names(&c.include) {
                "locations-included-by"
            } else {
                continue;
            };
            let name = if p.display_name.is_empty() {
                &p.id
            } else {
                &p.display_name
            };
            used.push(format!(
                "<li>{} <span class=\"muted\">({})</span></li>",
                policy_link(i, name),
                te(lang, key)
            ));
        }
        let _ = write!(
            body,
            "<tr><td>{name} <code class=\"muted\">{id}</code></td><td>{what}</td><td>{trusted}</td><td>{ranges}</td><td>{used}</td></tr>",
            name = e(&w.name),
            id = e(&l.id),
            what = e(&w.what),
            trusted = te(lang, if w.trusted { "tenant-yes" } else { "tenant-no" }),
            used = if used.is_empty() {
                te(lang, "locations-unused")
            } else {
                format!("<ul class=\"conditions\">{}</ul>", used.concat())
            },
        );
    }
    body.push_str("</tbody></table></div>");
    page(lang, &session, t(lang, "locations-title"), &body)
}

/// `GET /console/devices`: the device registry in force, each device's compliance as the
/// server computes it for decisions (and why not).
pub async fn devices(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let session = match viewer(&state, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let lang = lang(&headers);
    let signals = state.signals.load_full();
    let registry = &signals.devices;
    let mut body = format!(
        "<p>{}</p><p class=\"muted\">{}</p>",
        fill(
            lang,
            "devices-count",
            &[("count", registry.len().to_string())]
        ),
        te(lang, "devices-lead"),
    );
    if registry.is_empty() {
        return page(lang, &session, t(lang, "devices-title"), &body);
    }
    if registry.len() > MAX_ROWS {
        let _ = write!(
            body,
            "<p class=\"muted\">{}</p>",
            fill(
                lang,
                "tenant-first-rows",
                &[
                    ("shown", MAX_ROWS.to_string()),
                    ("total", registry.len().to_string())
                ]
            )
        );
    }
    let _ = write!(
        body,
        "<div class=\"table\" role=\"region\" aria-labelledby=\"devices-caption\" tabindex=\"0\"><table><caption id=\"devices-caption\">{}</caption>\
<thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        te(lang, "devices-caption"),
        te(lang, "devices-name"),
        te(lang, "devices-os"),
        te(lang, "devices-join"),
        te(lang, "devices-ownership"),
        te(lang, "devices-compliance"),
    );
    for d in registry.iter().take(MAX_ROWS) {
        let info = &d.info;
        let failures = signals.compliance.check(d);
        let compliance = if failures.is_empty() {
            format!(
                "<span class=\"badge allow\">{}</span>",
                te(lang, "devices-compliant")
            )
        } else {
            let mut out = format!(
                "<span class=\"badge deny\">{}</span><ul class=\"conditions\">",
                te(lang, "devices-not-compliant")
            );
            for f in &failures {
                let _ = write!(out, "<li>{}</li>", e(&f.to_string()));
            }
            out.push_str("</ul>");
            out
        };
        let join = match info.trust_type.as_deref() {
            Some(t) if t.eq_ignore_ascii_case("AzureAD") => "devices-joined",
            Some(t) if t.eq_ignore_ascii_case("ServerAD") => "devices-hybrid",
            Some(t) if t.eq_ignore_ascii_case("Workplace") => "devices-registered",
            _ => "tenant-unknown",
        };
        let opt = |v: &Option<Box<str>>| v.as_deref().map(e).unwrap_or_default();
        let _ = write!(
            body,
            "<tr><td>{name} <code class=\"muted\">{id}</code></td><td>{os} {version} <span class=\"muted\">({platform})</span></td>\
<td>{join}</td><td>{ownership}</td><td>{compliance}</td></tr>",
            name = opt(&info.display_name),
            id = opt(&info.device_id),
            os = opt(&info.operating_system),
            version = opt(&info.operating_system_version),
            platform = e(d.platform.as_str()),
            join = te(lang, join),
            ownership = opt(&info.device_ownership),
        );
    }
    body.push_str("</tbody></table></div>");
    page(lang, &session, t(lang, "devices-title"), &body)
}

/// Links to the pages of this module, for the navigation (query-free paths).
pub const PAGES: [(&str, &str); 6] = [
    ("/console/policies", "nav-policies"),
    ("/console/coverage", "nav-coverage"),
    ("/console/lint", "nav-lint"),
    ("/console/gaps", "nav-gaps"),
    ("/console/locations", "nav-locations"),
    ("/console/devices", "nav-devices"),
];

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RUNS: AtomicUsize = AtomicUsize::new(0);

    fn count(live: &Live) -> i64 {
        RUNS.fetch_add(1, Ordering::SeqCst);
        live.version
    }

    fn live(version: i64) -> Arc<Live> {
        let snapshot = serde_json::json!({"policies": []});
        Arc::new(Live {
            version,
            tenant: crate::snapshot::compile("t", &snapshot).unwrap(),
            snapshot,
            applied: crate::signin_record::AppliedCache::default(),
            records: crate::signin_record::RecordCache::default(),
        })
    }

    #[tokio::test]
    async fn an_analysis_runs_once_per_version() {
        let cache = PerVersion::<i64>::default();
        let v1 = live(1);
        assert_eq!(*cache.get(v1.clone(), count).await.unwrap(), 1);
        assert_eq!(*cache.get(v1, count).await.unwrap(), 1);
        assert_eq!(RUNS.load(Ordering::SeqCst), 1, "kept for the same version");
        assert_eq!(*cache.get(live(2), count).await.unwrap(), 2);
        assert_eq!(
            RUNS.load(Ordering::SeqCst),
            2,
            "computed again for a new one"
        );
    }

    #[test]
    fn messages_are_filled_then_escaped() {
        assert_eq!(
            fill(
                Lang::En,
                "coverage-caption",
                &[("place", "<b>HQ</b>".to_owned())]
            ),
            "Sign-ins from &lt;b&gt;HQ&lt;/b&gt;"
        );
        assert_eq!(
            policy_link(3, "CA04 <x>"),
            "<a href=\"/console/policies#p-3\">CA04 &lt;x&gt;</a>"
        );
    }
}

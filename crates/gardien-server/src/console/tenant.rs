//! Pages about the policy set in force: every policy in plain words, the persona ×
//! application coverage matrix, the lint findings, the coverage gaps, the named locations and
//! the device registry. Read-only.
//!
//! Nothing here describes a condition by itself: the words and the matrix are
//! `gardien doc`'s ([`gardien_analysis::doc::describe`]), the findings `gardien lint`'s, the
//! gaps `gardien gaps`'s, and a device's compliance the server's own check (the one its
//! decisions use). The analyses are computed ahead, when a version comes into force, on a
//! thread of their own ([`super::analyses`]); until they are ready the pages say so.
//!
//! Who: admins; readers too when `[console] reader_disclosure = "full"` (they already see
//! every policy name, id and condition word on a sign-in's trace), else a 403 page.

use super::analyses::{Analyses, Gaps, Outcome, Results, View};
use super::page::{e, html, layout_nav, refreshing, refusal, t, te};
use super::{ConsoleRole, Session, lang};
use crate::denial::{Disclosure, Lang};
use crate::state::{AppState, Live};
use axum::extract::{FromRequestParts, Query, State};
use axum::response::Response;
use gardien_analysis::doc::{CellKind, state_words};
use gardien_analysis::gaps::GapKind;
use gardien_analysis::lint::Severity;
use gardien_core::model::location::LocationKind;
use gardien_core::model::policy::{LocationToken, PolicyState};
use http::request::Parts;
use http::{StatusCode, Uri};
use serde::Deserialize;
use std::fmt::Write as _;
use std::sync::Arc;

/// Rows shown at most on the gap and device pages (the count of the rest is said).
const MAX_ROWS: usize = 500;

/// IP ranges listed per named location (the count of the rest is said).
const MAX_RANGES: usize = 8;

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

/// What every policy page starts from, extracted before its handler runs: the viewer (an
/// admin, or a reader when [`may_see`]; else the login redirect or a 403 page answers
/// instead), the language, the policy set in force, and the page's address.
pub struct PolicyPage {
    session: Session,
    lang: Lang,
    live: Arc<Live>,
    uri: Uri,
}

impl FromRequestParts<Arc<AppState>> for PolicyPage {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<PolicyPage, Response> {
        let session = super::signed_in(state, &parts.headers).map_err(|r| *r)?;
        let lang = lang(&parts.headers);
        if !may_see(state, &session) {
            return Err(refusal(
                lang,
                Some(&session),
                StatusCode::FORBIDDEN,
                "error-admin-only",
            ));
        }
        Ok(PolicyPage {
            session,
            lang,
            live: state.live.load_full(),
            uri: parts.uri.clone(),
        })
    }
}

impl PolicyPage {
    /// The start of a page's body: the version of the policy set it describes.
    fn version_line(&self) -> String {
        format!(
            "<p class=\"muted\">{}</p>",
            fill(
                self.lang,
                "tenant-version",
                &[("version", self.live.version.to_string())]
            )
        )
    }

    /// The page titled by message `title`.
    fn page(&self, title: &str, body: &str) -> Response {
        html(
            StatusCode::OK,
            layout_nav(
                self.lang,
                Some(&self.session),
                true,
                t(self.lang, title),
                body,
            ),
        )
    }

    /// One analysis of the policy set in force (`pick` chooses which), or the page to answer
    /// instead: "being computed", or the failure. Never waits for the analysis
    /// ([`super::analyses`]). The "being computed" page links to itself, and reloads itself
    /// (`<meta http-equiv="refresh">`, no script) only when asked to with `?auto=1` (with a
    /// link to stop): a page that refreshes itself unasked fails WCAG 2.2.1 (timing
    /// adjustable).
    fn analysis<T>(
        &self,
        analyses: &Analyses,
        title: &str,
        pick: fn(&Results) -> &Outcome<T>,
    ) -> Result<Arc<T>, Box<Response>> {
        let lang = self.lang;
        let since = match analyses.view(&self.live, pick) {
            View::Ready(v) => return Ok(v),
            View::Failed => {
                let mut body = self.version_line();
                let _ = write!(
                    body,
                    "<p class=\"notice error\" role=\"status\">{}</p>",
                    te(lang, "analysis-failed")
                );
                let mut page = self.page(title, &body);
                *page.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                return Err(Box::new(page));
            }
            View::Computing { since } => since,
        };
        let mut body = self.version_line();
        let status = match since {
            Some(d) => fill(
                lang,
                "analysis-running",
                &[("seconds", d.as_secs().to_string())],
            ),
            None => te(lang, "analysis-queued"),
        };
        // The page's own address, with and without `auto=1`.
        let path = self.uri.path();
        let others: Vec<&str> = self
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("auto="))
            .collect();
        let auto = self
            .uri
            .query()
            .is_some_and(|q| q.split('&').any(|p| p == "auto=1"));
        let plain = if others.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", others.join("&"))
        };
        let with_auto = if others.is_empty() {
            format!("{path}?auto=1")
        } else {
            format!("{plain}&auto=1")
        };
        let _ = write!(
            body,
            "<p class=\"notice\" role=\"status\" id=\"analysis-computing\">{status}</p><p><a href=\"{again}\">{again_label}</a></p><p>",
            again = e(if auto { &with_auto } else { &plain }),
            again_label = te(lang, "analysis-reload-now"),
        );
        if auto {
            let _ = write!(
                body,
                "{} <a href=\"{}\">{}</a>",
                fill(
                    lang,
                    "analysis-reloading",
                    &[("seconds", RELOAD_SECONDS.to_string())]
                ),
                e(&plain),
                te(lang, "analysis-reload-stop"),
            );
        } else {
            let _ = write!(
                body,
                "<a href=\"{}\">{}</a>",
                e(&with_auto),
                fill(
                    lang,
                    "analysis-reload-auto",
                    &[("seconds", RELOAD_SECONDS.to_string())]
                ),
            );
        }
        body.push_str("</p>");
        let page = layout_nav(lang, Some(&self.session), true, t(lang, title), &body);
        Err(Box::new(html(
            StatusCode::OK,
            if auto {
                refreshing(&page, RELOAD_SECONDS)
            } else {
                page
            },
        )))
    }
}

/// Seconds between reloads of a page whose analysis is being computed, when the admin asked
/// for them (`?auto=1`).
const RELOAD_SECONDS: u32 = 5;

/// A message with `{ $name }` placeholders filled (values are escaped with the rest).
fn fill(lang: Lang, key: &str, values: &[(&str, String)]) -> String {
    let mut text = t(lang, key).to_owned();
    for (name, value) in values {
        text = text.replace(&format!("{{ ${name} }}"), value);
    }
    e(&text)
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

/// A policy's display name, or its id when it has none.
fn name_or_id<'a>(display_name: &'a str, id: &'a str) -> &'a str {
    if display_name.is_empty() {
        id
    } else {
        display_name
    }
}

/// Opens a table in a scrollable, labelled region: `caption` is HTML (escaped by the
/// caller), `columns` the message keys of the column headers. The caller writes the rows
/// and closes with `</tbody></table></div>`.
fn table_start(body: &mut String, lang: Lang, id: &str, caption: &str, columns: &[&str]) {
    let _ = write!(
        body,
        "<div class=\"table\" role=\"region\" aria-labelledby=\"{id}-caption\" tabindex=\"0\"><table><caption id=\"{id}-caption\">{caption}</caption><thead><tr>"
    );
    for key in columns {
        let _ = write!(body, "<th scope=\"col\">{}</th>", te(lang, key));
    }
    body.push_str("</tr></thead><tbody>");
}

/// Says that only the first [`MAX_ROWS`] of `total` rows are shown, when there are more.
fn first_rows(body: &mut String, lang: Lang, total: usize) {
    if total > MAX_ROWS {
        let _ = write!(
            body,
            "<p class=\"muted\">{}</p>",
            fill(
                lang,
                "tenant-first-rows",
                &[
                    ("shown", MAX_ROWS.to_string()),
                    ("total", total.to_string())
                ]
            )
        );
    }
}

/// The anchor of policy `i` on the policies page.
fn policy_link(i: usize, name: &str) -> String {
    format!("<a href=\"/console/policies#p-{i}\">{}</a>", e(name))
}

/// `GET /console/policies`: every policy in plain words (`gardien doc`'s).
pub async fn policies(State(state): State<Arc<AppState>>, ctx: PolicyPage) -> Response {
    let lang = ctx.lang;
    let doc = match ctx.analysis(&state.console.analyses, "policies-title", |r| &r.doc) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let (enabled, report_only, disabled) = doc.counts;
    let mut body = ctx.version_line();
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
    ctx.page("policies-title", &body)
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
    ctx: PolicyPage,
    query: Result<Query<CoverageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = ctx.lang;
    let doc = match ctx.analysis(&state.console.analyses, "coverage-title", |r| &r.doc) {
        Ok(d) => d,
        Err(r) => return *r,
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
            let mut body = ctx.version_line();
            let _ = write!(body, "<p>{}</p>", te(lang, "coverage-none"));
            return ctx.page("coverage-title", &body);
        }
        return refusal(
            lang,
            Some(&ctx.session),
            StatusCode::NOT_FOUND,
            "error-no-place",
        );
    };
    let mut body = ctx.version_line();
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
    ctx.page("coverage-title", &body)
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
pub async fn lint_page(State(state): State<Arc<AppState>>, ctx: PolicyPage) -> Response {
    let lang = ctx.lang;
    let policies = &ctx.live.tenant.tenant.policies;
    let report = match ctx.analysis(&state.console.analyses, "lint-title", |r| &r.lint) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let s = &report.summary;
    let mut body = ctx.version_line();
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
        return ctx.page("lint-title", &body);
    }
    table_start(
        &mut body,
        lang,
        "lint",
        &te(lang, "lint-caption"),
        &[
            "lint-severity",
            "lint-rule",
            "lint-policy",
            "lint-finding",
            "lint-where",
        ],
    );
    for f in &report.findings {
        let policy = match &f.policy {
            Some(p) => {
                let name = name_or_id(&p.display_name, &p.id);
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
    ctx.page("lint-title", &body)
}

/// What the gaps page says when the exact analysis was refused: why, what is shown instead
/// (locations approximated, the broadest users × applications first) or why nothing is, and
/// the command line that gives the same report.
fn bounded_notice(body: &mut String, state: &AppState, lang: Lang, gaps: &Gaps) {
    let Some(refused) = &gaps.exact_refused else {
        return;
    };
    let _ = write!(
        body,
        "<section class=\"card\" aria-labelledby=\"h-bounded\"><h2 id=\"h-bounded\">{}</h2><p>{}</p>",
        te(lang, "gaps-bounded-title"),
        fill(
            lang,
            "gaps-exact-refused",
            &[("reason", refused.to_string())]
        ),
    );
    match &gaps.report {
        Ok(report) => {
            let _ = write!(body, "<p>{}</p>", te(lang, "gaps-approximate"));
            if let Some(p) = &report.summary.partial {
                let _ = write!(
                    body,
                    "<p class=\"notice\" role=\"status\">{}</p>",
                    fill(
                        lang,
                        "gaps-partial",
                        &[
                            ("combinations", p.combinations.to_string()),
                            ("limit", p.limit.to_string()),
                            ("walked", p.pairs_walked.to_string()),
                            ("total", p.pairs_total.to_string()),
                        ]
                    )
                );
            }
        }
        Err(err) => {
            let _ = write!(
                body,
                "<p class=\"notice error\" role=\"status\">{}</p>",
                fill(lang, "gaps-refused", &[("reason", err.to_string())]),
            );
        }
    }
    let base = state
        .config
        .console
        .public_url
        .as_deref()
        .unwrap_or("https://gardien.example")
        .trim_end_matches('/');
    let mut command = format!(
        "curl -H \"Authorization: Bearer $GARDIEN_ADMIN_TOKEN\" {base}/v1/admin/tenant -o tenant.json\ngardien gaps --tenant tenant.json"
    );
    if gaps.options.ip_bound.is_some() {
        command.push_str(" --approximate-locations");
    }
    if gaps.options.partial {
        command.push_str(" --partial");
    }
    let _ = write!(
        body,
        "<p>{}</p><pre><code>{}</code></pre></section>",
        te(lang, "gaps-cli"),
        e(&command)
    );
}

/// `GET /console/gaps`: `gardien gaps`'s coverage gaps of the policy set in force, most
/// exposed first.
pub async fn gaps(State(state): State<Arc<AppState>>, ctx: PolicyPage) -> Response {
    let lang = ctx.lang;
    let result = match ctx.analysis(&state.console.analyses, "gaps-title", |r| &r.gaps) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let mut body = ctx.version_line();
    bounded_notice(&mut body, &state, lang, &result);
    let report = match &result.report {
        Ok(r) => r,
        Err(err) => {
            if result.exact_refused.is_none() {
                let _ = write!(
                    body,
                    "<p class=\"notice error\" role=\"status\">{} {}</p>",
                    te(lang, "gaps-failed"),
                    e(&err.to_string())
                );
            }
            return ctx.page("gaps-title", &body);
        }
    };
    let s = &report.summary;
    let _ = write!(
        body,
        "<p>{}</p><p class=\"muted\">{}</p>",
        fill(
            lang,
            if s.partial.is_some() {
                "gaps-counts-partial"
            } else {
                "gaps-counts"
            },
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
        return ctx.page("gaps-title", &body);
    }
    first_rows(&mut body, lang, report.gaps.len());
    table_start(
        &mut body,
        lang,
        "gaps",
        &te(lang, "gaps-caption"),
        &[
            "gaps-rank",
            "gaps-kind",
            "gaps-exposure",
            "gaps-attacker",
            "gaps-box",
            "gaps-example",
        ],
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
    ctx.page("gaps-title", &body)
}

/// `GET /console/locations`: the named locations (`gardien doc`'s words), their ranges or
/// countries, and the policies that name them.
pub async fn locations(ctx: PolicyPage) -> Response {
    let lang = ctx.lang;
    let tenant = &ctx.live.tenant.tenant;
    let mut body = ctx.version_line();
    if tenant.named_locations.is_empty() {
        let _ = write!(body, "<p>{}</p>", te(lang, "locations-none"));
        return ctx.page("locations-title", &body);
    }
    table_start(
        &mut body,
        lang,
        "locations",
        &fill(
            lang,
            "locations-caption",
            &[("count", tenant.named_locations.len().to_string())],
        ),
        &[
            "locations-name",
            "locations-what",
            "locations-trusted",
            "locations-ranges",
            "locations-used-by",
        ],
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
            let name = name_or_id(&p.display_name, &p.id);
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
    ctx.page("locations-title", &body)
}

/// `GET /console/devices`: the device registry in force, each device's compliance as the
/// server computes it for decisions (and why not).
pub async fn devices(State(state): State<Arc<AppState>>, ctx: PolicyPage) -> Response {
    let lang = ctx.lang;
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
        return ctx.page("devices-title", &body);
    }
    first_rows(&mut body, lang, registry.len());
    table_start(
        &mut body,
        lang,
        "devices",
        &te(lang, "devices-caption"),
        &[
            "devices-name",
            "devices-os",
            "devices-join",
            "devices-ownership",
            "devices-compliance",
        ],
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
    ctx.page("devices-title", &body)
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
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::*;
    fn admin() -> Session {
        Session {
            actor: "token:admin".to_owned(),
            name: None,
            role: ConsoleRole::Admin,
            csrf: "c".to_owned(),
            exp: u64::MAX,
            sid: "s".to_owned(),
        }
    }

    async fn body(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[tokio::test]
    async fn a_page_whose_analysis_is_not_ready_says_so_and_reloads_only_when_asked() {
        let analyses = Analyses::held_for_tests();
        let snapshot = serde_json::json!({"policies": []});
        let live = Arc::new(Live {
            version: 12,
            tenant: crate::snapshot::compile("t", &snapshot).unwrap(),
            snapshot,
            applied: crate::signin_record::AppliedCache::default(),
            records: crate::signin_record::RecordCache::default(),
            evaluations: Default::default(),
        });
        for (uri, refresh, again, other) in [
            (
                "/console/coverage?place=2",
                false,
                "/console/coverage?place=2",
                "<a href=\"/console/coverage?place=2&amp;auto=1\">Check again automatically every 5 seconds</a>",
            ),
            (
                "/console/coverage?place=2&auto=1",
                true,
                "/console/coverage?place=2&amp;auto=1",
                "reloads itself every 5 seconds until the analysis is ready. <a href=\"/console/coverage?place=2\">Stop reloading</a>",
            ),
            (
                "/console/lint?auto=1",
                true,
                "/console/lint?auto=1",
                "<a href=\"/console/lint\">Stop reloading</a>",
            ),
        ] {
            let ctx = PolicyPage {
                session: admin(),
                lang: Lang::En,
                live: live.clone(),
                uri: uri.parse().unwrap(),
            };
            let Err(r) = ctx.analysis(&analyses, "lint-title", |r| &r.lint) else {
                panic!("not computed yet");
            };
            assert_eq!(r.status(), StatusCode::OK);
            let page = body(*r).await;
            assert!(page.contains("Policy set in force: version 12."), "{page}");
            assert!(page.contains("id=\"analysis-computing\""));
            assert!(page.contains("is queued"), "{page}");
            assert_eq!(
                page.contains("<head><meta http-equiv=\"refresh\" content=\"5\">"),
                refresh,
                "{uri}"
            );
            assert!(
                page.contains(&format!("<a href=\"{again}\">Check again</a>")),
                "{page}"
            );
            assert!(page.contains(other), "{page}");
        }
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

//! `gardien doc`: documentation of a tenant for change boards and audits, as Markdown or as
//! one self-contained HTML file.
//!
//! Everything is derived with the analysis machinery, never by reading names:
//! * each policy "in plain words" is the set of classes of the coverage partition
//!   ([`crate::gaps`]) its conditions hold for, per dimension, in the partition's own words
//!   (the words of `gaps` and `diff`), and its controls in the renderers' words;
//! * the persona × application matrix decides one sign-in per cell with the core (password
//!   only, browser, the first named-location class);
//! * the lint summary is [`crate::lint::lint`]'s.
//!
//! The output is deterministic (no clock, sorted as the tenant is): diffable in git.

use std::fmt::Write as _;

use gardien_core::eval::grant::Control;
use gardien_core::model::location::LocationKind;
use gardien_core::model::policy::{GrantOperator, Policy, PolicyState};
use gardien_core::model::tenant::Tenant;
use gardien_core::{CompiledTenant, Decision, Verdict};

use crate::gaps::partition::{Class, SessionLevel, Sets, Universe, base_signin};
use crate::lint::{LintOptions, Severity, lint};

/// A policy's grant controls, one name per control (`mfa`, `compliantDevice`,
/// `authenticationStrength`, `termsOfUse`) joined by the operator: `mfa OR compliantDevice`.
pub fn grant_words(p: &Policy) -> String {
    let Some(g) = &p.grant else {
        return "none (session controls only)".to_owned();
    };
    let mut names: Vec<String> = g.built_in.iter().map(|b| b.as_str().to_owned()).collect();
    if g.authentication_strength.is_some() {
        names.push("authenticationStrength".to_owned());
    }
    if !g.terms_of_use.is_empty() {
        names.push("termsOfUse".to_owned());
    }
    names.extend(
        g.custom_factors
            .iter()
            .map(|c| format!("customControl `{c}`")),
    );
    if names.is_empty() {
        return "none".to_owned();
    }
    let op = match g.operator {
        GrantOperator::And => " AND ",
        GrantOperator::Or => " OR ",
    };
    names.join(op)
}

/// A policy's session controls, named as its `sessionControls` members (the names the
/// decision's `sessionControls` uses), in the same camelCase as the grant controls.
pub fn session_words(p: &Policy) -> Vec<String> {
    p.session.members().into_iter().map(str::to_owned).collect()
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// GitHub-flavoured Markdown.
    Markdown,
    /// One HTML file, styles and chart inline.
    Html,
}

/// One cell of the persona × application matrix: the core's decision of a password-only
/// browser sign-in of the row's persona to the column's application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// `block`, `mfa`, `compliantDevice OR mfa`, `allow`, `no policy`.
    pub text: String,
    /// What kind of answer it is.
    pub kind: CellKind,
    /// Report-only policies that apply to the sign-in (indexes in the tenant's order): they
    /// decide nothing, but would if enabled.
    pub report_only: Vec<usize>,
}

/// What a cell of the matrix asks, in five kinds (the chart's colours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CellKind {
    /// Blocked.
    Block,
    /// MFA or an authentication strength.
    Strong,
    /// Another control (device, terms of use, ...).
    Other,
    /// Allowed; an enabled policy applies (session controls only).
    AllowedByPolicy,
    /// Allowed; no enabled policy applies.
    NoPolicy,
}

impl CellKind {
    /// Every kind, in the chart's order.
    pub const ALL: [CellKind; 5] = [
        CellKind::Block,
        CellKind::Strong,
        CellKind::Other,
        CellKind::AllowedByPolicy,
        CellKind::NoPolicy,
    ];
    /// The kind in words (the chart's legend).
    pub fn label(self) -> &'static str {
        match self {
            CellKind::Block => "blocked",
            CellKind::Strong => "MFA or authentication strength",
            CellKind::Other => "other control (device, terms of use, ...)",
            CellKind::AllowedByPolicy => "allowed, a policy applies (session controls only)",
            CellKind::NoPolicy => "allowed, no enabled policy applies",
        }
    }
    /// A stable short name: `block`, `strong`, `other`, `allowed`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            CellKind::Block => "block",
            CellKind::Strong => "strong",
            CellKind::Other => "other",
            CellKind::AllowedByPolicy => "allowed",
            CellKind::NoPolicy => "none",
        }
    }
    fn colour(self) -> &'static str {
        match self {
            CellKind::Block => "#b91c1c",
            CellKind::Strong => "#15803d",
            CellKind::Other => "#0e7490",
            CellKind::AllowedByPolicy => "#ca8a04",
            CellKind::NoPolicy => "#9ca3af",
        }
    }
}

fn cell(v: &Verdict) -> Cell {
    let names: Vec<&str> = v.required.iter().map(Control::as_str).collect();
    let report_only: Vec<usize> = v.report_only_applied.iter().collect();
    let (text, kind) = match v.decision {
        Decision::Deny if v.required.contains(Control::Block) => {
            ("block".to_owned(), CellKind::Block)
        }
        Decision::Deny | Decision::Challenge => {
            let strong = v.required.contains(Control::Mfa)
                || v.required.contains(Control::AuthenticationStrength);
            (
                if names.is_empty() {
                    v.decision.as_str().to_owned()
                } else {
                    names.join(", ")
                },
                if strong {
                    CellKind::Strong
                } else {
                    CellKind::Other
                },
            )
        }
        Decision::Allow if v.applied.is_empty() => ("no policy".to_owned(), CellKind::NoPolicy),
        Decision::Allow => ("allow".to_owned(), CellKind::AllowedByPolicy),
    };
    Cell {
        text,
        kind,
        report_only,
    }
}

/// Classes listed per dimension of a policy; the rest are counted.
const MAX_LISTED: usize = 8;

/// The classes whose set (tenant 0) contains policy `i`, in words; `None` when all do. When
/// most do, the others are listed ("all but ..."); long lists are cut with a count.
fn holding<V>(classes: &[Class<V>], sets: &[Sets], i: usize) -> Option<Vec<String>> {
    let (hit, miss): (Vec<_>, Vec<_>) = classes
        .iter()
        .zip(sets)
        .partition(|(_, s)| s[0].contains(i));
    if miss.is_empty() {
        return None;
    }
    let list = |v: &[(&Class<V>, &Sets)]| -> Vec<String> {
        let mut out: Vec<String> = v
            .iter()
            .take(MAX_LISTED)
            .map(|(c, _)| c.label.clone())
            .collect();
        if v.len() > MAX_LISTED {
            out.push(format!("(+{} more classes)", v.len() - MAX_LISTED));
        }
        out
    };
    if hit.len() > miss.len() && !hit.is_empty() {
        let mut out = vec![format!("all {} classes but:", classes.len())];
        out.extend(list(&miss));
        return Some(out);
    }
    Some(list(&hit))
}

/// Labels of the classes of a paired dimension (`a * nb + b`) where some pairing holds.
fn holding_pairs<A, B>(
    a: &[Class<A>],
    b: &[Class<B>],
    sets: &[Sets],
    i: usize,
) -> (Option<Vec<String>>, Option<Vec<String>>) {
    let nb = b.len();
    let holds = |x: usize, y: usize| sets.get(x * nb + y).is_some_and(|s| s[0].contains(i));
    let on_a: Vec<String> = a
        .iter()
        .enumerate()
        .filter(|(x, _)| (0..nb).any(|y| holds(*x, y)))
        .map(|(_, c)| c.label.clone())
        .collect();
    let on_b: Vec<String> = b
        .iter()
        .enumerate()
        .filter(|(y, _)| (0..a.len()).any(|x| holds(x, *y)))
        .map(|(_, c)| c.label.clone())
        .collect();
    (
        (on_a.len() != a.len()).then_some(on_a),
        (on_b.len() != b.len()).then_some(on_b),
    )
}

/// Location classes are bounded when the named IP ranges can have more boundaries than this
/// (two per range; see [`DocOptions::exact_locations`]).
pub const DEFAULT_IP_BOUND: usize = 4096;

/// How much work a document may take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DocOptions {
    /// Enumerate every boundary of every named IP range for the location classes, however
    /// many (exact, but tens of seconds on tenants with hundreds of thousands of ranges). By
    /// default, above [`DEFAULT_IP_BOUND`] boundaries one address per IP named location
    /// stands for its ranges, and the document says so.
    pub exact_locations: bool,
    /// Leave out the lint summary (`gardien doc --no-lint`): on very large tenants lint is
    /// most of the time a document takes.
    pub no_lint: bool,
}

/// The documentation of a tenant, with the default [`DocOptions`].
pub fn document(tenant: &Tenant, title: &str, format: Format) -> String {
    document_with(tenant, title, format, DocOptions::default())
}

/// The documentation of a tenant.
pub fn document_with(tenant: &Tenant, title: &str, format: Format, options: DocOptions) -> String {
    let d = describe(tenant, options);
    match format {
        Format::Markdown => d.markdown(title),
        Format::Html => d.html(title),
    }
}

/// The tenant described for people (what `gardien doc` prints and the console shows): built
/// once by [`describe`], rendered by [`document_with`] or by another front end.
pub fn describe(tenant: &Tenant, options: DocOptions) -> TenantDoc {
    // Described as if every policy were enabled (a disabled policy is still described);
    // decided as the tenant is.
    let mut all_on = tenant.clone();
    for p in &mut all_on.policies {
        p.state = PolicyState::Enabled;
    }
    let bound = (!options.exact_locations).then_some(DEFAULT_IP_BOUND);
    let u = Universe::build(&[&all_on, tenant], false, bound);
    TenantDoc::build(tenant, &u, options)
}

/// One policy in plain words: the classes of the coverage partition its conditions hold for,
/// per dimension (the words of `gaps` and `diff`), and its controls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWords {
    /// Display name (the id when it has none).
    pub name: String,
    /// Policy id.
    pub id: String,
    /// Enabled, report-only or disabled.
    pub state: PolicyState,
    /// Per dimension (`users`, `applications`, `platforms`, `client apps`, `locations`,
    /// `devices`, `sign-in risk`, `user risk`, `insider risk`, `authentication flows`), the
    /// classes it applies to, when not every class; empty: every sign-in of every class.
    pub scope: Vec<(&'static str, String)>,
    /// The grant controls ([`grant_words`]).
    pub grant: String,
    /// The session controls ([`session_words`]).
    pub session: Vec<String>,
}

/// A policy state in words: `enabled`, `report-only`, `disabled`.
pub fn state_words(s: PolicyState) -> &'static str {
    match s {
        PolicyState::Enabled => "enabled",
        PolicyState::ReportOnly => "report-only",
        PolicyState::Disabled => "disabled",
    }
}

/// A named location in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationWords {
    /// Display name.
    pub name: String,
    /// What it matches: `3 IP ranges`, `countries FR, DE`, ...
    pub what: String,
    /// Whether it is trusted.
    pub trusted: bool,
}

/// Every named location in words, in the tenant's order.
pub fn location_words(tenant: &Tenant) -> Vec<LocationWords> {
    tenant
        .named_locations
        .iter()
        .map(|l| {
            let (what, trusted) = match &l.kind {
                LocationKind::Ip { ranges, trusted } => {
                    (format!("{} IP ranges", ranges.len()), *trusted)
                }
                LocationKind::Country {
                    countries,
                    include_unknown,
                    gps,
                } => {
                    let mut c: Vec<String> = countries
                        .iter()
                        .map(|c| String::from_utf8_lossy(c).into_owned())
                        .collect();
                    c.sort();
                    let mut w = format!("countries {}", c.join(", "));
                    if *include_unknown {
                        w.push_str(", and unknown countries");
                    }
                    if *gps {
                        w.push_str(" (by Authenticator GPS)");
                    }
                    (w, false)
                }
                LocationKind::CompliantNetwork => {
                    ("Global Secure Access compliant network".to_owned(), false)
                }
            };
            LocationWords {
                name: l.display_name.clone(),
                what,
                trusted,
            }
        })
        .collect()
}

/// One persona × application matrix: every row a persona class ([`TenantDoc::personas`]),
/// every column an application class ([`TenantDoc::apps`]), from one location class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    /// The location class the sign-ins come from, in the partition's words.
    pub place: String,
    /// Rows of cells.
    pub rows: Vec<Vec<Cell>>,
}

/// A tenant described: [`describe`]'s result.
#[derive(Debug, Clone)]
pub struct TenantDoc {
    /// Enabled, report-only and disabled policies.
    pub counts: (usize, usize, usize),
    /// Every policy in plain words, in the tenant's order.
    pub policies: Vec<PolicyWords>,
    /// Every named location.
    pub locations: Vec<LocationWords>,
    /// The persona classes of the matrices' rows (the first ones).
    pub personas: Vec<String>,
    /// The application classes of the matrices' columns (the first ones).
    pub apps: Vec<String>,
    /// One matrix per location class (the first ones; the first is the attacker's: an
    /// address in no named location).
    pub matrices: Vec<Matrix>,
    /// Persona and application classes left out of the matrices.
    pub more: (usize, usize),
    /// `None` when not run (`no_lint`).
    pub lint: Option<LintSummary>,
    /// Users and groups in the directory.
    pub directory: (usize, usize),
    /// What is approximate in this document (a bounded location dimension).
    pub notes: Vec<String>,
}

/// Errors, warnings, infos, and findings per rule (`GA201 policy-never-applies`, count).
pub type LintSummary = (usize, usize, usize, Vec<(String, usize)>);

const NO_MATCH: &str = "no class of the partition (never)";

/// Location classes with a matrix of their own.
const MAX_PLACES: usize = 4;

/// Persona rows and application columns of a matrix (the first classes: the partition lists
/// the most telling first).
const MAX_ROWS: usize = 40;
const MAX_COLUMNS: usize = 24;

impl TenantDoc {
    fn build(tenant: &Tenant, u: &Universe, options: DocOptions) -> TenantDoc {
        let words = |v: Option<Vec<String>>| match v {
            None => None,
            Some(v) if v.is_empty() => Some(NO_MATCH.to_owned()),
            // "all 6 classes but: a; b", not "but:; a; b".
            Some(v) => Some(match v.split_first() {
                Some((head, rest)) if head.ends_with(':') => {
                    format!("{head} {}", rest.join("; "))
                }
                _ => v.join("; "),
            }),
        };
        let policies = tenant
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut scope: Vec<(&'static str, String)> = Vec::new();
                let mut push = |dim: &'static str, v: Option<Vec<String>>| {
                    if let Some(w) = words(v) {
                        scope.push((dim, w));
                    }
                };
                push("users", holding(&u.users, &u.user_sets, i));
                push("applications", holding(&u.targets, &u.target_sets, i));
                let (platforms, clients) =
                    holding_pairs(&u.platforms, &u.clients, &u.platform_client_sets, i);
                push("platforms", platforms);
                push("client apps", clients);
                push("locations", holding(&u.locations, &u.location_sets, i));
                let (devices, _) = holding_pairs(&u.devices, &u.clients, &u.device_client_sets, i);
                push("devices", devices);
                push(
                    "sign-in risk",
                    holding(&u.sign_in_risks, &u.sign_in_risk_sets, i),
                );
                push("user risk", holding(&u.user_risks, &u.user_risk_sets, i));
                push(
                    "insider risk",
                    holding(&u.insider_risks, &u.insider_risk_sets, i),
                );
                push("authentication flows", holding(&u.flows, &u.flow_sets, i));
                PolicyWords {
                    name: if p.display_name.is_empty() {
                        p.id.clone()
                    } else {
                        p.display_name.clone()
                    },
                    id: p.id.clone(),
                    state: p.state,
                    scope,
                    grant: grant_words(p),
                    session: session_words(p),
                }
            })
            .collect();
        let locations = location_words(tenant);
        // The matrix: decided by the tenant as it is (u.tenants[1]).
        let apps: Vec<usize> = (0..u.targets.len())
            .filter(|a| {
                matches!(
                    u.targets.get(*a).map(|t| &t.value),
                    Some(gardien_core::signin::Target::Applications(_))
                )
            })
            .take(MAX_COLUMNS)
            .collect();
        // One matrix per location class (the first MAX_PLACES): the first is the
        // attacker's (an address in no named location).
        let mut matrices = Vec::new();
        if let Some(real) = u.tenants.get(1) {
            for place in u.locations.iter().take(MAX_PLACES) {
                let mut matrix = Vec::new();
                for persona in u.users.iter().take(MAX_ROWS) {
                    let row = apps
                        .iter()
                        .filter_map(|a| u.targets.get(*a))
                        .map(|t| {
                            let s = base_signin(
                                &persona.value,
                                &t.value,
                                &place.value,
                                SessionLevel::Password,
                            );
                            cell(&real.decide(&s))
                        })
                        .collect();
                    matrix.push(row);
                }
                matrices.push(Matrix {
                    place: place.label.clone(),
                    rows: matrix,
                });
            }
        }
        // The tenant as it is: the partition's tenants also hold its hypothetical users.
        let report = (!options.no_lint).then(|| {
            // The partition's tenants have the same named locations: their IP index is reused.
            let compiled = match u.tenants.first() {
                Some(like) => CompiledTenant::compile_like(tenant.clone(), like),
                None => CompiledTenant::compile(tenant.clone()),
            };
            lint(&compiled, &LintOptions::default())
        });
        let lint_summary = report.map(|r| {
            {
                // Findings come sorted by severity then code: keep that order.
                let mut seen: Vec<(String, usize)> = Vec::new();
                for f in &r.findings {
                    let key = format!("{} {}", f.code, f.name);
                    match seen.iter_mut().find(|(c, _)| *c == key) {
                        Some(e) => e.1 += 1,
                        None => seen.push((key, 1)),
                    }
                }
                let n = |s: Severity| r.findings.iter().filter(|f| f.severity == s).count();
                (
                    n(Severity::Error),
                    n(Severity::Warning),
                    n(Severity::Info),
                    seen,
                )
            }
        });
        let count = |s: PolicyState| tenant.policies.iter().filter(|p| p.state == s).count();
        TenantDoc {
            counts: (
                count(PolicyState::Enabled),
                count(PolicyState::ReportOnly),
                count(PolicyState::Disabled),
            ),
            policies,
            locations,
            personas: u
                .users
                .iter()
                .take(MAX_ROWS)
                .map(|c| c.label.clone())
                .collect(),
            more: (
                u.users.len().saturating_sub(MAX_ROWS),
                u.targets
                    .iter()
                    .filter(|t| matches!(t.value, gardien_core::signin::Target::Applications(_)))
                    .count()
                    .saturating_sub(MAX_COLUMNS),
            ),
            apps: apps
                .iter()
                .filter_map(|a| u.targets.get(*a))
                .map(|c| c.label.clone())
                .collect(),
            matrices,
            lint: lint_summary,
            directory: (tenant.directory.users.len(), tenant.directory.groups.len()),
            notes: u.location_bound.iter().cloned().collect(),
        }
    }

    /// Per persona, the cells of every matrix by kind.
    fn tally(&self) -> Vec<[usize; 5]> {
        let mut out = vec![[0usize; 5]; self.personas.len()];
        for m in &self.matrices {
            for (t, row) in out.iter_mut().zip(&m.rows) {
                for c in row {
                    if let Some(n) = t.get_mut(c.kind as usize) {
                        *n += 1;
                    }
                }
            }
        }
        out
    }

    #[cfg(test)]
    fn first_matrix(&self) -> &[Vec<Cell>] {
        self.matrices.first().map_or(&[], |m| m.rows.as_slice())
    }

    fn overview(&self) -> Vec<String> {
        let (e, r, d) = self.counts;
        let mut lines = vec![
            format!(
                "{} policies: {e} enabled, {r} report-only, {d} disabled",
                self.policies.len()
            ),
            format!("{} named locations", self.locations.len()),
            format!(
                "directory: {} users, {} groups",
                self.directory.0, self.directory.1
            ),
            format!(
                "{} persona classes × {} application classes (the classes the policies distinguish){}",
                self.personas.len() + self.more.0,
                self.apps.len() + self.more.1,
                if self.more == (0, 0) {
                    String::new()
                } else {
                    format!(
                        "; the matrices show the first {} × {}",
                        self.personas.len(),
                        self.apps.len()
                    )
                }
            ),
            match &self.lint {
                Some((e, w, i, _)) => format!("lint: {e} errors, {w} warnings, {i} info"),
                None => "lint: not run (`--no-lint`)".to_owned(),
            },
        ];
        lines.extend(self.notes.iter().map(|n| {
            format!(
                "approximation: {n} (`gardien doc --exact-locations` enumerates every boundary)"
            )
        }));
        lines
    }

    /// The coverage chart: per persona, a stacked bar of its application cells by kind.
    fn svg(&self) -> String {
        let (bar_w, row_h, label_w) = (420usize, 22usize, 260usize);
        let tally = self.tally();
        let height = 30 + row_h * tally.len() + 24 * CellKind::ALL.len();
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"Coverage by persona\" font-family=\"sans-serif\" font-size=\"12\">\n",
            label_w + bar_w + 20
        );
        let _ = writeln!(
            s,
            "<text x=\"0\" y=\"16\" font-weight=\"bold\">Password-only sign-in, by persona: what each application asks</text>"
        );
        for (r, (t, name)) in tally.iter().zip(&self.personas).enumerate() {
            let y = 26 + r * row_h;
            let total: usize = t.iter().sum::<usize>().max(1);
            let short: String = name.chars().take(40).collect();
            let _ = writeln!(
                s,
                "<text x=\"0\" y=\"{}\">{}</text>",
                y + 14,
                escape(&short)
            );
            let mut x = label_w;
            for (k, n) in CellKind::ALL.iter().zip(t) {
                let w = bar_w * n / total;
                if w > 0 {
                    let _ = writeln!(
                        s,
                        "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"{}\"><title>{}: {n}</title></rect>",
                        row_h - 4,
                        k.colour(),
                        k.label()
                    );
                }
                x += w;
            }
        }
        let legend_y = 30 + row_h * tally.len();
        for (i, k) in CellKind::ALL.iter().enumerate() {
            let y = legend_y + 24 * i;
            let _ = writeln!(
                s,
                "<rect x=\"0\" y=\"{y}\" width=\"14\" height=\"14\" fill=\"{}\"/><text x=\"20\" y=\"{}\">{}</text>",
                k.colour(),
                y + 12,
                escape(k.label())
            );
        }
        s.push_str("</svg>\n");
        s
    }

    fn markdown(&self, title: &str) -> String {
        let mut out = format!("# Conditional Access: {}\n\n## Overview\n\n", md(title));
        for line in self.overview() {
            let _ = writeln!(out, "- {line}");
        }
        out.push_str("\n## Coverage\n\n");
        let tally = self.tally();
        out.push_str("| persona |");
        for k in CellKind::ALL {
            let _ = write!(out, " {} |", k.label());
        }
        out.push_str("\n|---|");
        for _ in CellKind::ALL {
            out.push_str("---|");
        }
        out.push('\n');
        for (t, p) in tally.iter().zip(&self.personas) {
            let _ = write!(out, "| {} |", md(p));
            for n in t {
                let _ = write!(out, " {n} |");
            }
            out.push('\n');
        }
        out.push_str("\n## Persona × application\n\nA password-only sign-in in a browser, decided by the tenant as it is, from each location class.\n");
        for Matrix {
            place,
            rows: matrix,
        } in &self.matrices
        {
            let _ = write!(out, "\n### From {}\n\n", md(place));
            out.push_str("| persona \\ application |");
            for a in &self.apps {
                let _ = write!(out, " {} |", md(a));
            }
            out.push_str("\n|---|");
            for _ in &self.apps {
                out.push_str("---|");
            }
            out.push('\n');
            for (row, p) in matrix.iter().zip(&self.personas) {
                let _ = write!(out, "| {} |", md(p));
                for c in row {
                    let _ = write!(out, " {} |", md(&c.text));
                }
                out.push('\n');
            }
        }
        out.push_str("\n## Policies\n\n");
        for p in &self.policies {
            let mark = match p.state {
                PolicyState::Enabled => String::new(),
                s => format!(" **[{}]**", state_words(s)),
            };
            let _ = writeln!(out, "### {}{mark}\n", md(&p.name));
            let _ = writeln!(out, "- id: `{}`", p.id);
            if p.scope.is_empty() {
                out.push_str("- applies to: every sign-in of every class\n");
            } else {
                out.push_str("- applies to:\n");
                for (dim, w) in &p.scope {
                    let _ = writeln!(out, "  - {dim}: {}", md(w));
                }
            }
            let _ = writeln!(out, "- requires: {}", md(&p.grant));
            if !p.session.is_empty() {
                let _ = writeln!(out, "- session: {}", p.session.join(", "));
            }
            out.push('\n');
        }
        out.push_str("## Named locations\n\n");
        if self.locations.is_empty() {
            out.push_str("None.\n");
        } else {
            out.push_str("| name | what | trusted |\n|---|---|---|\n");
            for LocationWords {
                name: n,
                what: w,
                trusted: t,
            } in &self.locations
            {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    md(n),
                    md(w),
                    if *t { "yes" } else { "no" }
                );
            }
        }
        out.push_str("\n## Lint\n\n");
        match &self.lint {
            None => out.push_str("Not run (`--no-lint`).\n"),
            Some((.., by_rule)) if by_rule.is_empty() => out.push_str("No findings.\n"),
            Some((.., by_rule)) => {
                for (code, n) in by_rule {
                    let _ = writeln!(out, "- {code}: {n}");
                }
            }
        }
        out
    }

    fn html(&self, title: &str) -> String {
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Conditional Access: {t}</title>\n<style>\nbody{{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#111}}\ntable{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}\n.k0{{background:#fee2e2}}.k1{{background:#dcfce7}}.k2{{background:#cffafe}}.k3{{background:#fef9c3}}.k4{{background:#f3f4f6}}\n.state{{font-size:.8em;padding:2px 6px;border-radius:4px;background:#fde68a}}\n</style>\n</head>\n<body>\n<h1>Conditional Access: {t}</h1>\n<h2>Overview</h2>\n<ul>\n",
            t = escape(title)
        );
        for line in self.overview() {
            let _ = writeln!(out, "<li>{}</li>", escape(&line));
        }
        out.push_str("</ul>\n<h2>Coverage</h2>\n");
        out.push_str(&self.svg());
        out.push_str("<h2>Persona × application</h2>\n<p>A password-only sign-in in a browser, decided by the tenant as it is, from each location class.</p>\n");
        for Matrix {
            place,
            rows: matrix,
        } in &self.matrices
        {
            let _ = write!(
                out,
                "<h3>From {}</h3>\n<table>\n<tr><th>persona \\ application</th>",
                escape(place)
            );
            for a in &self.apps {
                let _ = write!(out, "<th>{}</th>", escape(a));
            }
            out.push_str("</tr>\n");
            for (row, p) in matrix.iter().zip(&self.personas) {
                let _ = write!(out, "<tr><th>{}</th>", escape(p));
                for c in row {
                    let _ = write!(
                        out,
                        "<td class=\"k{}\">{}</td>",
                        c.kind as usize,
                        escape(&c.text)
                    );
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</table>\n");
        }
        out.push_str("<h2>Policies</h2>\n");
        for p in &self.policies {
            let mark = match p.state {
                PolicyState::Enabled => String::new(),
                s => format!(" <span class=\"state\">{}</span>", state_words(s)),
            };
            let _ = writeln!(out, "<h3>{}{mark}</h3>\n<ul>", escape(&p.name));
            let _ = writeln!(out, "<li>id: <code>{}</code></li>", escape(&p.id));
            if p.scope.is_empty() {
                out.push_str("<li>applies to: every sign-in of every class</li>\n");
            } else {
                out.push_str("<li>applies to:<ul>\n");
                for (dim, w) in &p.scope {
                    let _ = writeln!(out, "<li>{dim}: {}</li>", escape(w));
                }
                out.push_str("</ul></li>\n");
            }
            let _ = writeln!(out, "<li>requires: {}</li>", escape(&p.grant));
            if !p.session.is_empty() {
                let _ = writeln!(out, "<li>session: {}</li>", escape(&p.session.join(", ")));
            }
            out.push_str("</ul>\n");
        }
        out.push_str("<h2>Named locations</h2>\n");
        if self.locations.is_empty() {
            out.push_str("<p>None.</p>\n");
        } else {
            out.push_str("<table>\n<tr><th>name</th><th>what</th><th>trusted</th></tr>\n");
            for LocationWords {
                name: n,
                what: w,
                trusted: t,
            } in &self.locations
            {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(n),
                    escape(w),
                    if *t { "yes" } else { "no" }
                );
            }
            out.push_str("</table>\n");
        }
        out.push_str("<h2>Lint</h2>\n<ul>\n");
        match &self.lint {
            None => out.push_str("<li>Not run (<code>--no-lint</code>).</li>\n"),
            Some((.., by_rule)) if by_rule.is_empty() => {
                out.push_str("<li>No findings.</li>\n");
            }
            Some((.., by_rule)) => {
                for (code, n) in by_rule {
                    let _ = writeln!(out, "<li>{}: {n}</li>", escape(code));
                }
            }
        }
        out.push_str("</ul>\n</body>\n</html>\n");
        out
    }
}

/// HTML (and SVG) text escaping.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Markdown table-cell escaping (pipes, newlines).
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
#[allow(clippy::panic, reason = "test failures report through panics")]
mod tests {
    use super::*;

    fn demo() -> Tenant {
        let dir =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo/tenant");
        let read = |name: &str| {
            gardien_core::SourceFile::new(
                name.to_owned(),
                std::fs::read(dir.join(name)).unwrap_or_default(),
            )
        };
        let mut policy_files: Vec<gardien_core::SourceFile> = (1..=6)
            .map(|i| read(&format!("policies/ca0{i}.json")))
            .collect();
        // CA06 report-only, to see it marked.
        if let Some(f) = policy_files.get_mut(5) {
            let text = String::from_utf8_lossy(&f.bytes)
                .replace("\"enabled\"", "\"enabledForReportingButNotEnforced\"");
            f.bytes = text.into_bytes();
        }
        let source = gardien_core::TenantSource {
            policy_files,
            location_files: vec![read("namedLocations.json")],
            directory: Some(read("directory.json")),
            ..Default::default()
        };
        Tenant::load(&source).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Above 2048 ranges the location classes are bounded and the overview says so; with
    /// `exact_locations` they are not.
    #[test]
    fn many_ranges_bound_the_location_classes_unless_exact() {
        let ranges: Vec<serde_json::Value> = (0..2100u32)
            .map(|i| {
                serde_json::json!({"@odata.type": "#microsoft.graph.iPv4CidrRange",
                                   "cidrAddress": format!("10.{}.{}.0/24", i / 256, i % 256)})
            })
            .collect();
        let tenant = serde_json::json!({
            "policies": [{"id": "p1", "displayName": "Block outside the offices", "state": "enabled",
                "conditions": {"users": {"includeUsers": ["All"], "excludeGroups": ["bg"]},
                               "applications": {"includeApplications": ["All"]},
                               "clientAppTypes": ["all"],
                               "locations": {"includeLocations": ["All"], "excludeLocations": ["offices"]}},
                "grantControls": {"operator": "OR", "builtInControls": ["block"]}}],
            "namedLocations": [
                {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "offices",
                 "displayName": "Offices", "isTrusted": false, "ipRanges": ranges[..1050]},
                {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "shops",
                 "displayName": "Shops", "isTrusted": false, "ipRanges": ranges[1050..]}]});
        let source = gardien_core::TenantSource {
            combined: Some(gardien_core::SourceFile::new("t.json", tenant.to_string())),
            ..Default::default()
        };
        let t = Tenant::load(&source).unwrap_or_else(|e| panic!("{e}"));
        let bounded = document(&t, "t", Format::Markdown);
        assert!(
            bounded.contains("- approximation: locations: the tenant has 2100 named IP ranges"),
            "{bounded}"
        );
        // Still decided: the offices and the rest of the world are told apart.
        assert!(bounded.contains("Offices"), "{bounded}");
        let exact = document_with(
            &t,
            "t",
            Format::Markdown,
            DocOptions {
                exact_locations: true,
                ..DocOptions::default()
            },
        );
        assert!(!exact.contains("approximation:"), "{exact}");
        let quick = document_with(
            &t,
            "t",
            Format::Markdown,
            DocOptions {
                no_lint: true,
                ..DocOptions::default()
            },
        );
        assert!(quick.contains("- lint: not run (`--no-lint`)"), "{quick}");
        assert!(bounded.contains("- lint: 0 errors"), "{bounded}");
    }

    #[test]
    fn markdown_documents_every_policy_with_the_partition_words() {
        let t = demo();
        let a = document(&t, "demo", Format::Markdown);
        assert_eq!(a, document(&t, "demo", Format::Markdown), "deterministic");
        for p in &t.policies {
            assert!(a.contains(&format!("### {}", p.display_name)), "{a}");
        }
        assert!(
            a.contains("CA06 Require MFA outside trusted networks **[report-only]**"),
            "{a}"
        );
        assert!(a.contains("- requires: block"), "{a}");
        assert!(a.contains("- requires: mfa"), "{a}");
        assert!(
            a.contains("## Named locations") && a.contains("HQ egress"),
            "{a}"
        );
        assert!(a.contains("## Persona × application"), "{a}");
        assert!(a.contains("## Lint"), "{a}");
        // CA02 is about client apps: its scope names them, not every class.
        let ca02 = a
            .split("### CA02")
            .nth(1)
            .and_then(|s| s.split("### ").next())
            .unwrap_or_default();
        assert!(ca02.contains("client apps:"), "{ca02}");
        assert!(!ca02.contains("locations:"), "{ca02}");
        // CA01 excludes the break-glass group: every user class but that one.
        assert!(
            a.contains("  - users: all 6 classes but: a member of group"),
            "{a}"
        );
    }

    #[test]
    fn html_is_one_file_with_an_svg_chart() {
        let t = demo();
        let h = document(&t, "demo <tenant>", Format::Html);
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(h.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(h.contains("demo &lt;tenant&gt;"));
        assert!(!h.contains("<script"), "no script");
        assert!(
            !h.contains("http://") || h.matches("http://").count() == 1,
            "no external resource"
        );
        assert!(h.contains("<span class=\"state\">report-only</span>"));
        assert_eq!(h, document(&t, "demo <tenant>", Format::Html));
    }

    #[test]
    fn the_matrix_is_decided_by_the_core() {
        let t = demo();
        let mut all_on = t.clone();
        for p in &mut all_on.policies {
            p.state = PolicyState::Enabled;
        }
        let u = Universe::build(&[&all_on, &t], false, Some(DEFAULT_IP_BOUND));
        let d = TenantDoc::build(&t, &u, DocOptions::default());
        let m = d.first_matrix();
        assert_eq!(m.len(), d.personas.len());
        assert!(m.iter().all(|r| r.len() == d.apps.len()));
        // Every cell is the core's decision of its sign-in (from outside the EU: CA01 blocks
        // all but the break-glass members).
        let (Some(real), Some(place)) = (u.tenants.get(1), u.locations.first()) else {
            panic!("no tenant or location")
        };
        let apps: Vec<&Class<gardien_core::signin::Target>> = u
            .targets
            .iter()
            .filter(|t| matches!(t.value, gardien_core::signin::Target::Applications(_)))
            .collect();
        for (row, persona) in m.iter().zip(&u.users) {
            for (c, t) in row.iter().zip(&apps) {
                let s = base_signin(
                    &persona.value,
                    &t.value,
                    &place.value,
                    SessionLevel::Password,
                );
                assert_eq!(*c, cell(&real.decide(&s)));
            }
        }
        assert!(m.iter().flatten().any(|c| c.kind == CellKind::Block));
        assert!(m.iter().flatten().any(|c| c.kind == CellKind::NoPolicy));
        // CA06 is report-only in this tenant: it decides nothing, and the cells it would
        // apply to say so.
        assert!(
            m.iter().flatten().any(|c| c.report_only == vec![5]),
            "{m:?}"
        );
        assert!(
            m.iter()
                .flatten()
                .all(|c| c.report_only.iter().all(|i| *i == 5))
        );
    }
}

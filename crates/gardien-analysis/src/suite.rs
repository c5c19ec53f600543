//! Declarative policy test suites: named sign-ins and what the tenant must decide for them.
//!
//! A suite is a TOML file (`gardien test`, docs/test-suites.md): a tenant path relative to the
//! suite, and `[[scenario]]` tables, each with a request (the `evaluate` request shape, inline
//! or in a JSON file) and an `expect` table (decision, error code, policies applying, required
//! controls, explanation category, ...). Each scenario is evaluated by the core
//! ([`CompiledTenant::evaluate`]) and its [`DecisionReport`] compared with the expectations;
//! a failure shows what was expected, what came, and which policies applied and why.

pub mod file;
pub mod junit;

use gardien_core::eval::input::Outcome;
use gardien_core::report::DecisionReport;
use gardien_core::{CompiledTenant, SignIn};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

pub use file::{Expect, PolicyRef, RequestSource, Scenario, Suite, SuiteError};

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The expectation (`decision`, `errorCode`, `policies`, ...).
    pub what: &'static str,
    /// What was expected, in words.
    pub expected: String,
    /// What came, in words.
    pub actual: String,
}

/// The result of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Every expectation held.
    Passed,
    /// At least one expectation did not hold.
    Failed(Vec<Mismatch>),
    /// The scenario could not run (unreadable request, unknown policy name).
    Error(String),
}

/// A scenario and its result.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioResult {
    /// The scenario's name.
    pub name: String,
    /// Line of its `[[scenario]]` table.
    pub line: usize,
    /// Passed, failed or error.
    pub status: Status,
    /// The decision, when the scenario ran.
    pub report: Option<DecisionReport>,
    /// Time taken, in seconds.
    pub seconds: f64,
}

/// A suite and the results of its scenarios.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteReport {
    /// The suite file, as named by the caller.
    pub file: String,
    /// The suite's name.
    pub name: String,
    /// The tenant, as a path.
    pub tenant: String,
    /// Why the suite could not run at all (unreadable file, invalid tenant).
    pub error: Option<String>,
    /// The scenarios, in file order.
    pub scenarios: Vec<ScenarioResult>,
    /// Time taken, in seconds.
    pub seconds: f64,
}

impl SuiteReport {
    /// A suite that could not run.
    pub fn not_run(file: &str, error: impl Into<String>) -> SuiteReport {
        SuiteReport {
            file: file.to_owned(),
            name: Path::new(file)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| file.to_owned()),
            tenant: String::new(),
            error: Some(error.into()),
            scenarios: Vec::new(),
            seconds: 0.0,
        }
    }

    /// Scenarios that passed.
    pub fn passed(&self) -> usize {
        self.count(|s| matches!(s, Status::Passed))
    }

    /// Scenarios that failed.
    pub fn failed(&self) -> usize {
        self.count(|s| matches!(s, Status::Failed(_)))
    }

    /// Scenarios that could not run, plus one when the whole suite could not.
    pub fn errors(&self) -> usize {
        self.count(|s| matches!(s, Status::Error(_))) + usize::from(self.error.is_some())
    }

    fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.scenarios.iter().filter(|s| f(&s.status)).count()
    }
}

fn policy_label(tenant: &CompiledTenant, index: usize) -> String {
    tenant
        .tenant
        .policies
        .get(index)
        .map(|p| {
            if p.display_name.is_empty() {
                p.id.clone()
            } else {
                p.display_name.clone()
            }
        })
        .unwrap_or_default()
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        format!("[{}]", items.join(", "))
    }
}

/// The index of the policy a reference names: its id (any case), else its display name.
fn resolve(tenant: &CompiledTenant, r: &PolicyRef) -> Result<usize, String> {
    let policies = &tenant.tenant.policies;
    let name = r.name.trim();
    if let Some(i) = policies
        .iter()
        .position(|p| p.id.eq_ignore_ascii_case(name))
    {
        return Ok(i);
    }
    let named: Vec<usize> = policies
        .iter()
        .enumerate()
        .filter(|(_, p)| p.display_name == name)
        .map(|(i, _)| i)
        .collect();
    match named.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "line {}: no policy with id or display name `{name}` in the tenant",
            r.line
        )),
        many => Err(format!(
            "line {}: {} policies are named `{name}`; name it by its id",
            r.line,
            many.len()
        )),
    }
}

fn resolve_all(tenant: &CompiledTenant, refs: &[PolicyRef]) -> Result<Vec<usize>, String> {
    refs.iter().map(|r| resolve(tenant, r)).collect()
}

fn sign_in(
    suite: &Suite,
    scenario: &Scenario,
    directory: &gardien_core::model::directory::Directory,
    read: &mut dyn FnMut(&Path) -> std::io::Result<Vec<u8>>,
) -> Result<SignIn, String> {
    match &scenario.request {
        RequestSource::File(path) => {
            let bytes = read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            SignIn::parse_in(&path.display().to_string(), &bytes, directory)
                .map_err(|e| e.to_string())
        }
        RequestSource::Inline(value) => {
            let label = format!("{}:{} (inline request)", suite.file, scenario.line);
            SignIn::from_value_in(&label, value, directory).map_err(|e| e.to_string())
        }
    }
}

/// The explanation's category or `none`, and its user actions, as written in reports.
fn explanation_names(report: &DecisionReport) -> (String, Vec<String>) {
    let name = |v: serde_json::Result<serde_json::Value>| {
        v.ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    match &report.explanation {
        None => ("none".to_owned(), Vec::new()),
        Some(e) => (
            name(serde_json::to_value(e.category)),
            e.user_actions
                .iter()
                .map(|a| name(serde_json::to_value(a)))
                .collect(),
        ),
    }
}

/// Compares one expectation set with a decision.
fn check(
    tenant: &CompiledTenant,
    expect: &Expect,
    report: &DecisionReport,
    applied: &[usize],
    report_only: &[usize],
) -> Result<Vec<Mismatch>, String> {
    let mut out = Vec::new();
    if let Some(set) = &expect.decision_in
        && !set.contains(&report.decision)
    {
        out.push(Mismatch {
            what: "decisionIn",
            expected: format!(
                "one of {}",
                set.iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            actual: report.decision.as_str().to_owned(),
        });
    }
    let mut differ = |what: &'static str, expected: String, actual: String| {
        if expected != actual {
            out.push(Mismatch {
                what,
                expected,
                actual,
            });
        }
    };
    if let Some(d) = expect.decision {
        differ(
            "decision",
            d.as_str().to_owned(),
            report.decision.as_str().to_owned(),
        );
    }
    if let Some(code) = expect.error_code {
        differ(
            "errorCode",
            code.to_string(),
            report
                .error_code
                .map_or_else(|| "none".to_owned(), |c| c.to_string()),
        );
    }
    if let Some(status) = &expect.conditional_access_status {
        differ(
            "conditionalAccessStatus",
            status.clone(),
            report.conditional_access_status.as_str().to_owned(),
        );
    }
    if let Some(controls) = &expect.required_controls {
        let mut want = controls.clone();
        want.sort();
        let required: Vec<String> = report
            .required_controls
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect();
        let mut got = required.clone();
        got.sort();
        if want != got {
            differ("requiredControls", list(controls), list(&required));
        }
    }
    let labels = |set: &[usize]| -> Vec<String> {
        let mut v = set.to_vec();
        v.sort_unstable();
        v.dedup();
        v.iter().map(|i| policy_label(tenant, *i)).collect()
    };
    if let Some(refs) = &expect.policies {
        let want = resolve_all(tenant, refs)?;
        differ("policies", list(&labels(&want)), list(&labels(applied)));
    }
    let include = resolve_all(tenant, &expect.policies_include)?;
    let missing: Vec<usize> = include
        .iter()
        .copied()
        .filter(|i| !applied.contains(i))
        .collect();
    if !missing.is_empty() {
        differ(
            "policiesInclude",
            format!("{} to apply", list(&labels(&include))),
            format!(
                "{} did not; applying: {}",
                list(&labels(&missing)),
                list(&labels(applied))
            ),
        );
    }
    let exclude = resolve_all(tenant, &expect.policies_exclude)?;
    let present: Vec<usize> = exclude
        .iter()
        .copied()
        .filter(|i| applied.contains(i))
        .collect();
    if !present.is_empty() {
        differ(
            "policiesExclude",
            format!("{} not to apply", list(&labels(&exclude))),
            format!("{} applied", list(&labels(&present))),
        );
    }
    if let Some(refs) = &expect.report_only {
        let want = resolve_all(tenant, refs)?;
        differ(
            "reportOnly",
            list(&labels(&want)),
            list(&labels(report_only)),
        );
    }
    let (category, actions) = explanation_names(report);
    if let Some(c) = &expect.category {
        differ("category", c.clone(), category);
    }
    if let Some(t) = expect.temporary {
        differ(
            "temporary",
            t.to_string(),
            report
                .explanation
                .as_ref()
                .map_or_else(|| "none".to_owned(), |e| e.temporary.to_string()),
        );
    }
    if let Some(a) = &expect.user_actions {
        differ("userActions", list(a), list(&actions));
    }
    Ok(out)
}

/// Runs every scenario of a suite against its (already loaded) tenant; `read` reads the
/// request files.
pub fn run(
    suite: &Suite,
    tenant: &CompiledTenant,
    read: &mut dyn FnMut(&Path) -> std::io::Result<Vec<u8>>,
) -> SuiteReport {
    let started = Instant::now();
    let scenarios = suite
        .scenarios
        .iter()
        .map(|scenario| {
            let t0 = Instant::now();
            let (status, report) = match sign_in(suite, scenario, &tenant.tenant.directory, read) {
                Err(e) => (Status::Error(e), None),
                Ok(signin) => {
                    let evaluation = tenant.evaluate(&signin);
                    let report = DecisionReport::new(tenant, &signin, &evaluation);
                    let v = &evaluation.verdict;
                    let applied: Vec<usize> = v.applied.iter().collect();
                    let report_only: Vec<usize> = v.report_only_applied.iter().collect();
                    let status =
                        match check(tenant, &scenario.expect, &report, &applied, &report_only) {
                            Err(e) => Status::Error(e),
                            Ok(m) if m.is_empty() => Status::Passed,
                            Ok(m) => Status::Failed(m),
                        };
                    (status, Some(report))
                }
            };
            ScenarioResult {
                name: scenario.name.clone(),
                line: scenario.line,
                status,
                report,
                seconds: t0.elapsed().as_secs_f64(),
            }
        })
        .collect();
    SuiteReport {
        file: suite.file.clone(),
        name: suite.name.clone(),
        tenant: suite.tenant.display().to_string(),
        error: None,
        scenarios,
        seconds: started.elapsed().as_secs_f64(),
    }
}

impl ScenarioResult {
    /// One line: the first mismatch, or the error.
    pub fn headline(&self) -> String {
        match &self.status {
            Status::Passed => "passed".to_owned(),
            Status::Failed(m) => m
                .first()
                .map(|m| format!("{}: expected {}, got {}", m.what, m.expected, m.actual))
                .unwrap_or_default(),
            Status::Error(e) => e.lines().next().unwrap_or_default().to_owned(),
        }
    }

    /// What was expected, what came, and which policies applied and why (empty when passed).
    pub fn failure_text(&self) -> String {
        let mut out = String::new();
        match &self.status {
            Status::Passed => return out,
            Status::Error(e) => {
                let _ = writeln!(out, "cannot run: {e}");
                return out;
            }
            Status::Failed(mismatches) => {
                for m in mismatches {
                    let _ = writeln!(out, "{}: expected {}", m.what, m.expected);
                    let _ = writeln!(
                        out,
                        "{:width$}  got      {}",
                        "",
                        m.actual,
                        width = m.what.len()
                    );
                }
            }
        }
        if let Some(r) = &self.report {
            out.push_str(&what_came(r));
        }
        out
    }
}

/// The decision, its explanation and the policies behind it, from the core's report.
fn what_came(r: &DecisionReport) -> String {
    let mut out = String::new();
    let _ = write!(out, "what came: {}", r.decision);
    if let Some(code) = r.error_code {
        let _ = write!(out, " (AADSTS{code})");
    }
    if !r.required_controls.is_empty() {
        let controls: Vec<&str> = r.required_controls.iter().map(|c| c.as_str()).collect();
        let _ = write!(out, ", required controls: {}", controls.join(", "));
    }
    let _ = writeln!(
        out,
        ", conditional access status: {}",
        r.conditional_access_status
    );
    if let Some(e) = &r.explanation {
        let (category, actions) = explanation_names(r);
        let _ = writeln!(
            out,
            "  cause: {category} ({}); the user can: {}",
            if e.temporary {
                "temporary"
            } else {
                "structural"
            },
            actions.join(", ")
        );
    }
    let pairs = || r.applied_conditional_access_policies.iter().zip(&r.trace);
    if pairs().any(|(_, t)| t.applies) {
        let _ = writeln!(out, "  policies that applied:");
    } else {
        let _ = writeln!(out, "  no policy applied");
    }
    for (p, t) in pairs().filter(|(_, t)| t.applies) {
        let _ = writeln!(out, "    {:<21} {}", p.result, p.display_name);
        for c in &t.conditions {
            let _ = writeln!(out, "        {}: {}", c.condition, c.detail);
        }
        if t.grant.0.is_some() {
            let _ = writeln!(out, "        grant: {} ({})", t.grant, t.grant_detail);
        }
    }
    let others: Vec<_> = pairs().filter(|(_, t)| !t.applies).collect();
    if !others.is_empty() {
        let _ = writeln!(out, "  policies that did not apply:");
    }
    for (p, t) in others {
        let why = t
            .conditions
            .iter()
            .find(|c| c.result != Outcome::Satisfied)
            .map(|c| format!("{} ({}): {}", c.condition, c.result, c.detail))
            .unwrap_or_else(|| p.result.to_string());
        let _ = writeln!(out, "    {:<21} {} — {why}", p.result, p.display_name);
    }
    out
}

//! `gardien lint`: rules with stable codes over a loaded tenant.
//!
//! Every rule is in [`registry::RULES`] (code, kebab-case name, severity, documentation);
//! `docs/lint.md` documents them all. [`lint`] runs them and returns one [`LintReport`]; the
//! command line renders it as text, JSON or SARIF. Rules that need to know whether a policy
//! applies to some sign-in build that sign-in and ask the evaluator (`lint/probe.rs` builds
//! the sign-ins): there is no second implementation of any condition here.
//!
//! # JSON format
//!
//! ```json
//! {"findings": [{"code": "GA201", "name": "policy-never-applies", "severity": "warning",
//!                "message": "…", "help": "…", "file": "policies/x.json",
//!                "pointer": "/conditions/applications/includeApplications",
//!                "policy": {"id": "…", "displayName": "…"}, "url": "docs/lint.md#ga201"}],
//!  "summary": {"errors": 0, "warnings": 1, "infos": 0, "total": 1, "policies": 12,
//!              "skipped": [{"codes": ["GA004", "GA101"], "reason": "…"}]}}
//! ```

pub mod registry;

pub(crate) mod probe;
mod rules;
mod search;
pub mod waivers;

use gardien_core::CompiledTenant;
use serde::Serialize;

pub use gardien_core::time::parse_rfc3339 as parse_timestamp;
pub use registry::{RULES, Rule, RuleStatus, Severity, rule};

/// Settings of a lint run. Lint reads no clock: pass `now` for age-based rules.
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// The current time, Unix seconds; age-based rules (GA303) are skipped without it.
    pub now: Option<i64>,
    /// Report-only policies older than this many days are reported (GA303).
    pub report_only_max_age_days: u32,
    /// The tenant as the user named it: the `file` of findings about the whole tenant.
    pub tenant_name: String,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            now: None,
            report_only_max_age_days: 90,
            tenant_name: String::new(),
        }
    }
}

/// The policy a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRef {
    /// Policy id.
    pub id: String,
    /// Display name.
    pub display_name: String,
}

/// One problem found by a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Rule code (`GA201`).
    pub code: &'static str,
    /// Rule name (`policy-never-applies`).
    pub name: &'static str,
    /// Severity.
    pub severity: Severity,
    /// What is wrong, one line.
    pub message: String,
    /// What to do about it.
    pub help: String,
    /// File the finding is in (the tenant itself for tenant-wide findings).
    pub file: String,
    /// RFC 6901 pointer inside the file (`""` for the whole file or tenant).
    pub pointer: String,
    /// The policy concerned, if any.
    pub policy: Option<PolicyRef>,
    /// Documentation of the rule.
    pub url: String,
    /// Tenant order of the policy (tenant-wide findings last), for stable sorting.
    #[serde(skip)]
    pub(crate) order: usize,
}

/// Rules that did not run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Codes of the rules.
    pub codes: Vec<&'static str>,
    /// Why they did not run.
    pub reason: String,
}

/// Counts of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Findings of severity error.
    pub errors: usize,
    /// Findings of severity warning.
    pub warnings: usize,
    /// Findings of severity info.
    pub infos: usize,
    /// All findings.
    pub total: usize,
    /// Policies in the tenant.
    pub policies: usize,
    /// Rules that did not run.
    pub skipped: Vec<Skipped>,
}

/// The result of a lint run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LintReport {
    /// Findings, most severe first, then by code and tenant order.
    pub findings: Vec<Finding>,
    /// Counts and skipped rules.
    pub summary: Summary,
}

impl LintReport {
    /// Whether any finding is at least as severe as `threshold` (the CI exit status).
    pub fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }
}

/// What rules share while they run: the tenant, the probes and the findings so far.
pub(crate) struct Context<'t> {
    /// The tenant as loaded.
    pub tenant: &'t CompiledTenant,
    /// Probe tenant, subjects and places.
    pub probe: probe::Probe<'t>,
    /// Options.
    pub options: &'t LintOptions,
    /// Findings so far.
    pub findings: Vec<Finding>,
    /// Rules that did not run.
    pub skipped: Vec<Skipped>,
}

impl Context<'_> {
    /// Records a finding of rule `code` about policy `policy` (tenant order) at
    /// `pointer_suffix` inside the policy, or about the whole tenant.
    pub fn report(
        &mut self,
        code: &'static str,
        policy: Option<usize>,
        pointer_suffix: &str,
        message: String,
        help: Option<String>,
    ) {
        let Some(rule) = registry::rule(code).filter(|r| r.status == RuleStatus::Stable) else {
            return;
        };
        let p = policy.and_then(|i| self.tenant.tenant.policies.get(i));
        let (file, pointer) = match p {
            Some(p) => (p.file.clone(), format!("{}{pointer_suffix}", p.pointer)),
            None => (self.options.tenant_name.clone(), String::new()),
        };
        self.findings.push(Finding {
            code: rule.code,
            name: rule.name,
            severity: rule.severity,
            message,
            help: help.unwrap_or_else(|| rule.fix.to_owned()),
            file,
            pointer,
            policy: p.map(|p| PolicyRef {
                id: p.id.clone(),
                display_name: p.display_name.clone(),
            }),
            url: rule.url(),
            order: policy.unwrap_or(usize::MAX),
        });
    }

    /// How a policy is named in messages: `` `displayName` `` (or its id).
    pub fn policy_name(&self, index: usize) -> String {
        match self.tenant.tenant.policies.get(index) {
            Some(p) if !p.display_name.is_empty() => format!("`{}`", p.display_name),
            Some(p) => format!("`{}`", p.id),
            None => format!("#{index}"),
        }
    }
}

/// Runs every stable rule over a tenant.
pub fn lint(tenant: &CompiledTenant, options: &LintOptions) -> LintReport {
    let mut cx = Context {
        tenant,
        probe: probe::Probe::new(tenant),
        options,
        findings: Vec::new(),
        skipped: Vec::new(),
    };
    rules::run_all(&mut cx);
    let mut findings = cx.findings;
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.code.cmp(b.code))
            .then(a.order.cmp(&b.order))
            .then(a.pointer.cmp(&b.pointer))
    });
    findings.dedup();
    // Rules skipped for the same reason are listed together.
    let mut skipped: Vec<Skipped> = Vec::new();
    for s in cx.skipped {
        match skipped.iter_mut().find(|k| k.reason == s.reason) {
            Some(k) => k.codes.extend(s.codes),
            None => skipped.push(s),
        }
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let summary = Summary {
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        infos: count(Severity::Info),
        total: findings.len(),
        policies: tenant.tenant.policies.len(),
        skipped,
    };
    LintReport { findings, summary }
}

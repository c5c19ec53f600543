//! Text for people: decisions, what-if tables, lint and replay reports. Renderers format;
//! they never recompute or filter.

use gardien_core::eval::input::Outcome;
use gardien_core::report::{DecisionReport, WhatIfReport};
use gardien_core::{CompiledTenant, SignIn};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use gardien_analysis::lint::waivers::Waived;
use gardien_analysis::lint::{Finding, LintReport, Severity};
use gardien_analysis::replay::{Change, ChangeSummary, Count, ReplayReport};

use super::lines::LineIndex;

/// Cuts a name into lines of at most `width` characters, at spaces when it can (a word
/// longer than the width is cut): names are wrapped, never truncated.
pub fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in s.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = line.chars().count();
            let sep = usize::from(used > 0);
            if used + sep + word.len() <= width {
                if sep == 1 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            let rest = word.split_off(width);
            lines.push(word.iter().collect());
            word = rest;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Whether to colour stdout: a terminal, and `NO_COLOR` unset or empty (no-color.org).
pub fn colour() -> bool {
    colour_for(
        std::env::var_os("NO_COLOR").as_deref(),
        std::io::stdout().is_terminal(),
    )
}

/// [`colour`] from the value of `NO_COLOR` and whether stdout is a terminal.
pub fn colour_for(no_color: Option<&std::ffi::OsStr>, terminal: bool) -> bool {
    no_color.is_none_or(|v| v.is_empty()) && terminal
}

/// `text` in an ANSI colour (31 red, 32 green, 33 yellow, 2 dim) when `on`.
pub fn paint(text: &str, code: u8, on: bool) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn decision_colour(decision: gardien_core::Decision) -> u8 {
    match decision {
        gardien_core::Decision::Allow => 32,
        gardien_core::Decision::Challenge => 33,
        gardien_core::Decision::Deny => 31,
    }
}

pub use gardien_analysis::doc::{grant_words, session_words};

/// The what-if table: policy, applies?, reasons, and the controls of applying policies.
/// `at` is the evaluation instant, for the notes on retired or retiring controls.
pub fn whatif_table(tenant: &CompiledTenant, report: &WhatIfReport, signin: &SignIn) -> String {
    let at = signin.at;
    let traces = report.traces(tenant, signin);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<48}  {:<8}  {:<10}  REASONS",
        "POLICY", "APPLIES", "STATE"
    );
    for (e, trace) in report.entries.iter().zip(&traces) {
        let Some(p) = tenant.tenant.policies.get(e.index) else {
            continue;
        };
        let state = match p.state {
            gardien_core::model::policy::PolicyState::Enabled => "enabled",
            gardien_core::model::policy::PolicyState::Disabled => "disabled",
            gardien_core::model::policy::PolicyState::ReportOnly => "reportOnly",
        };
        let name = if p.display_name.is_empty() {
            p.id.as_str()
        } else {
            p.display_name.as_str()
        };
        let lines = wrap(name, 48);
        let _ = writeln!(
            out,
            "{:<48}  {:<8}  {:<10}  {}",
            lines.first().map_or("", String::as_str),
            if e.policy_applies { "yes" } else { "no" },
            state,
            e.analysis_reasons
        );
        for more in lines.iter().skip(1) {
            let _ = writeln!(out, "{more}");
        }
        if e.policy_applies {
            let session = session_words(p);
            let _ = writeln!(out, "{:<48}    grant: {}", "", grant_words(p));
            for note in gardien_core::dated::control_notes(p, at) {
                let _ = writeln!(out, "{:<48}    note: {note}", "");
            }
            if !session.is_empty() {
                let _ = writeln!(out, "{:<48}    session: {}", "", session.join(", "));
            }
        } else {
            for c in trace
                .conditions
                .iter()
                .filter(|c| c.result != Outcome::Satisfied)
            {
                let _ = writeln!(
                    out,
                    "{:<48}    {} ({}): {}",
                    "", c.condition, c.result, c.detail
                );
            }
        }
    }
    let applying = report.entries.iter().filter(|e| e.policy_applies).count();
    let _ = writeln!(
        out,
        "\n{applying} of {} policies apply",
        report.entries.len()
    );
    out
}

/// The decision as text: outcome, code, controls, explanation, then each applying policy.
pub fn decision_text(r: &DecisionReport) -> String {
    decision_text_in(None, r, false)
}

/// [`decision_text`] with the tenant, for each applying policy's grant controls with their
/// operator (`requires: mfa AND compliantDevice`) and session controls; `colour` paints the
/// decision.
pub fn decision_text_in(
    tenant: Option<&CompiledTenant>,
    r: &DecisionReport,
    colour: bool,
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "decision: {}",
        paint(r.decision.as_str(), decision_colour(r.decision), colour)
    );
    if let Some(code) = r.error_code {
        let _ = write!(out, " (AADSTS{code})");
    }
    let _ = writeln!(out);
    if !r.required_controls.is_empty() {
        let controls: Vec<&str> = r.required_controls.iter().map(|c| c.as_str()).collect();
        let _ = writeln!(out, "required controls: {}", controls.join(", "));
    }
    let _ = writeln!(
        out,
        "conditional access status: {}",
        r.conditional_access_status
    );
    if let Some(session) = r.session_controls.as_object().filter(|o| !o.is_empty()) {
        let parts: Vec<String> = session
            .iter()
            .filter(|(_, v)| !v.is_null() && **v != serde_json::Value::Bool(false))
            .map(|(k, v)| match v {
                serde_json::Value::Bool(true) => k.clone(),
                other => format!("{k} {other}"),
            })
            .collect();
        if !parts.is_empty() {
            let _ = writeln!(out, "session controls: {}", parts.join(", "));
        }
    }
    if let Some(e) = &r.explanation {
        let actions: Vec<String> = e
            .user_actions
            .iter()
            .map(|a| {
                serde_json::to_value(a)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        let category = serde_json::to_value(e.category)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "cause: {category} ({})",
            if e.temporary {
                "temporary"
            } else {
                "structural"
            }
        );
        let _ = writeln!(out, "what the user can do: {}", actions.join(", "));
        let _ = writeln!(out, "admin details: {}", e.admin_details);
    }
    let _ = writeln!(out, "\npolicies:");
    for (p, t) in r.applied_conditional_access_policies.iter().zip(&r.trace) {
        let _ = writeln!(out, "  {:<22} {}", p.result, p.display_name);
        if t.applies {
            for c in &t.conditions {
                let _ = writeln!(out, "      {}: {}", c.condition, c.detail);
            }
            let policy = tenant.and_then(|c| c.tenant.policies.iter().find(|q| q.id == p.id));
            if let Some(q) = policy {
                let _ = writeln!(out, "      requires: {}", grant_words(q));
                let session = session_words(q);
                if !session.is_empty() {
                    let _ = writeln!(out, "      session: {}", session.join(", "));
                }
            }
            if t.grant.0.is_some() {
                let _ = writeln!(out, "      grant: {} {}", t.grant, t.grant_detail);
            }
        } else if let Some(c) = t.conditions.iter().find(|c| c.result != Outcome::Satisfied) {
            let _ = writeln!(out, "      {} ({}): {}", c.condition, c.result, c.detail);
        }
    }
    out
}

/// How many entries of each "by policy / user / app" list the text report shows.
const TOP: usize = 10;

/// Waived findings and expired or unused waivers, after the report.
pub fn lint_waived(w: &Waived, out: &mut String) {
    if !w.waived.is_empty() {
        let _ = writeln!(out, "\n── waived ({}) ──", w.waived.len());
        for f in &w.waived {
            let _ = writeln!(
                out,
                "{}[{}] {}{}: {}",
                f.finding.severity.as_str(),
                f.finding.code,
                f.finding.file,
                if f.finding.pointer.is_empty() {
                    String::new()
                } else {
                    format!(": {}", f.finding.pointer)
                },
                f.finding.message
            );
            let _ = writeln!(
                out,
                "  waived until {}: {} ({})",
                f.expires, f.reason, f.waiver
            );
        }
    }
    for e in &w.expired_waivers {
        let _ = writeln!(
            out,
            "error: waiver {} for {} expired on {} (\"{}\"): it waives nothing; renew or remove it",
            e.source, e.rule, e.expires, e.reason
        );
    }
    for u in &w.unused_waivers {
        let _ = writeln!(
            out,
            "note: waiver {} for {} matches no finding; remove it",
            u.source, u.rule
        );
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A lint report: findings grouped by severity, then a summary.
pub fn lint(report: &LintReport, lines: &mut LineIndex) -> String {
    let mut out = String::new();
    for (severity, title) in [
        (Severity::Error, "errors"),
        (Severity::Warning, "warnings"),
        (Severity::Info, "info"),
    ] {
        let group: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(out, "── {title} ({}) ──", group.len());
        for f in group {
            let mut place = f.file.clone();
            if let Some(line) = lines.line(&f.file, &f.pointer) {
                let _ = write!(place, ":{line}");
            }
            if !f.pointer.is_empty() {
                let _ = write!(place, ": {}", f.pointer);
                // A finding about a member the policy lacks names where it belongs.
                if lines.absent(&f.file, &f.pointer) {
                    place.push_str(" (absent)");
                }
            }
            let _ = writeln!(
                out,
                "{}[{}] {place}: {}",
                f.severity.as_str(),
                f.code,
                f.message
            );
            let _ = writeln!(out, "  help: {}", f.help);
            let _ = writeln!(out, "  rule: {} ({})", f.name, f.url);
        }
        out.push('\n');
    }
    let s = &report.summary;
    if s.total == 0 {
        let _ = writeln!(
            out,
            "no findings in {}",
            count(s.policies, "policy", "policies")
        );
    } else {
        let _ = writeln!(
            out,
            "{} in {}: {}, {}, {} info",
            count(s.total, "finding", "findings"),
            count(s.policies, "policy", "policies"),
            count(s.errors, "error", "errors"),
            count(s.warnings, "warning", "warnings"),
            s.infos
        );
    }
    for skipped in &s.skipped {
        let _ = writeln!(
            out,
            "skipped {}: {}",
            skipped.codes.join(", "),
            skipped.reason
        );
    }
    out
}

fn counts(out: &mut String, label: &str, list: &[Count]) {
    for (i, c) in list.iter().take(TOP).enumerate() {
        let name = if c.display_name == c.id {
            c.id.clone()
        } else {
            format!("{} ({})", c.display_name, c.id)
        };
        let _ = writeln!(
            out,
            "  {:<10} {:>8}  {name}",
            if i == 0 { label } else { "" },
            c.count
        );
    }
    if list.len() > TOP {
        let rest: u64 = list.iter().skip(TOP).map(|c| c.count).sum();
        let _ = writeln!(out, "  {:<10} {rest:>8}  ({} more)", "", list.len() - TOP);
    }
}

fn group(out: &mut String, change: Change, g: &ChangeSummary) {
    if g.count == 0 {
        return;
    }
    let _ = writeln!(out, "\n{}: {}", change.label(), g.count);
    let by_policy = if change == Change::DecidingPolicyMoved {
        "now by"
    } else {
        "by policy"
    };
    counts(out, by_policy, &g.by_policy);
    counts(out, "moved", &g.by_move);
    counts(out, "by user", &g.by_user);
    counts(out, "by app", &g.by_app);
}

/// A replay report.
pub fn replay(
    r: &ReplayReport,
    tenant: &Path,
    baseline: Option<&Path>,
    logs: &[PathBuf],
) -> String {
    let mut out = String::new();
    let against = match baseline {
        Some(b) => format!("compared with the baseline tenant {}", b.display()),
        None => "compared with the logged outcomes".to_owned(),
    };
    let _ = writeln!(
        out,
        "replay of {} log file{} against {} ({against})\n",
        logs.len(),
        if logs.len() == 1 { "" } else { "s" },
        tenant.display()
    );
    let t = &r.totals;
    let _ = writeln!(out, "  records   {:>8}", t.records);
    let _ = writeln!(
        out,
        "  replayed  {:>8}  exact from gardien's request: {}, rebuilt with assumptions: {}",
        t.replayed, t.exact, t.with_assumptions
    );
    let skipped: Vec<String> = r
        .skipped
        .iter()
        .map(|s| format!("{} {}", s.reason, s.count))
        .collect();
    let _ = writeln!(
        out,
        "  skipped   {:>8}{}",
        t.skipped,
        if skipped.is_empty() {
            String::new()
        } else {
            format!("  {}", skipped.join(", "))
        }
    );
    let _ = writeln!(out, "\nchanges");
    for c in Change::ALL {
        let n = r.changes.get(c).map_or(r.changes.unchanged, |g| g.count);
        let _ = writeln!(out, "  {:<22} {n:>8}", c.label());
    }
    for c in Change::ALL {
        if let Some(g) = r.changes.get(c) {
            group(&mut out, c, g);
        }
    }
    if !r.skipped.is_empty() {
        let _ = writeln!(out, "\nskipped records (first {} of each reason)", 5);
        for s in &r.skipped {
            let _ = writeln!(out, "  {} ({})", s.reason, s.count);
            for e in &s.examples {
                let _ = writeln!(out, "      {e}");
            }
        }
    }
    if !r.assumptions.is_empty() {
        let _ = writeln!(
            out,
            "\nassumptions ({} records rebuilt from Graph members, not from gardien's request)",
            t.with_assumptions
        );
        for a in &r.assumptions {
            let _ = writeln!(out, "  {:<22} {:>8}  {}", a.assumption, a.count, a.meaning);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_wrap_at_spaces_and_are_never_cut() {
        let name =
            "CA012-Require-Compliant-Device AllApps AnyPlatform for every internal member user";
        let lines = wrap(name, 32);
        assert!(lines.iter().all(|l| l.chars().count() <= 32), "{lines:?}");
        assert_eq!(lines.join(" "), name);
        assert_eq!(wrap("short", 48), ["short"]);
        // A word longer than the width is split, not dropped.
        let long = "x".repeat(70);
        assert_eq!(wrap(&long, 48).concat(), long);
    }

    #[test]
    #[allow(clippy::panic, reason = "test failures report through panics")]
    fn grant_operator_and_session_controls_are_spelled_out() {
        let tenant = serde_json::json!({"policies": [{
            "id": "p1", "displayName": "Both", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]},
                           "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]},
            "sessionControls": {"signInFrequency": {"value": 4, "type": "hours", "isEnabled": true}}
        }, {
            "id": "p2", "displayName": "Either", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]},
                           "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]}
        }]});
        let source = gardien_core::TenantSource {
            combined: Some(gardien_core::SourceFile::new(
                "t.json",
                tenant.to_string().into_bytes(),
            )),
            ..gardien_core::TenantSource::default()
        };
        let t = gardien_core::Tenant::load(&source).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(grant_words(&t.policies[0]), "mfa AND compliantDevice");
        assert_eq!(grant_words(&t.policies[1]), "mfa OR compliantDevice");
        assert_eq!(session_words(&t.policies[0]), ["signInFrequency"]);
        let mut browser = t.policies[0].clone();
        browser.session.persistent_browser = t.policies[0].session.persistent_browser.or(Some(
            gardien_core::model::policy::PersistentBrowserMode::Never,
        ));
        // The policy's `sessionControls` member, as the decision's `sessionControls` names it.
        assert_eq!(
            session_words(&browser),
            ["signInFrequency", "persistentBrowser"]
        );
    }

    /// Colour on a terminal only, and never when `NO_COLOR` has a value (no-color.org).
    #[test]
    fn colour_on_a_terminal_unless_no_color() {
        use std::ffi::OsStr;
        assert!(colour_for(None, true));
        assert!(colour_for(Some(OsStr::new("")), true));
        assert!(!colour_for(Some(OsStr::new("1")), true));
        assert!(!colour_for(None, false));
    }

    #[test]
    fn paint_only_when_asked() {
        assert_eq!(paint("deny", 31, false), "deny");
        assert_eq!(paint("deny", 31, true), "\x1b[31mdeny\x1b[0m");
    }
}

//! Human renderers over the reports. They format; they never recompute or filter.

use gardien_core::eval::input::Outcome;
use gardien_core::report::{DecisionReport, WhatIfReport};
use gardien_core::{CompiledTenant, SignIn};
use std::fmt::Write as _;
use std::io::IsTerminal;

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
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
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
    }

    #[test]
    fn paint_only_when_asked() {
        assert_eq!(paint("deny", 31, false), "deny");
        assert_eq!(paint("deny", 31, true), "\x1b[31mdeny\x1b[0m");
    }
}

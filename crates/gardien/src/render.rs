//! Human renderers over the reports. They format; they never recompute or filter.

use gardien_core::eval::input::Outcome;
use gardien_core::report::{DecisionReport, WhatIfReport};
use gardien_core::{CompiledTenant, SignIn};
use std::fmt::Write as _;

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

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
        let _ = writeln!(
            out,
            "{:<48}  {:<8}  {:<10}  {}",
            truncate(name, 48),
            if e.policy_applies { "yes" } else { "no" },
            state,
            e.analysis_reasons
        );
        if e.policy_applies {
            let grant = gardien_core::report::grant_control_names(p);
            let session = p.session.names();
            let grant = if grant.is_empty() {
                "none".to_owned()
            } else {
                grant.join(", ")
            };
            let _ = writeln!(out, "{:<48}    grant: {grant}", "");
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
    let mut out = String::new();
    let _ = write!(out, "decision: {}", r.decision);
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
            if t.grant.0.is_some() {
                let _ = writeln!(out, "      grant: {} {}", t.grant, t.grant_detail);
            }
        } else if let Some(c) = t.conditions.iter().find(|c| c.result != Outcome::Satisfied) {
            let _ = writeln!(out, "      {} ({}): {}", c.condition, c.result, c.detail);
        }
    }
    out
}

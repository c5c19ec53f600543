//! `gardien test` for people: each suite's scenarios with their status and why they failed,
//! then the totals. JUnit XML is `gardien_analysis::suite::junit`'s.

use gardien_analysis::suite::{Status, SuiteReport};
use std::fmt::Write as _;

fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}\n")).collect()
}

/// The results of one suite: each scenario with its status and why it failed.
pub fn text(r: &SuiteReport) -> String {
    let mut out = String::new();
    if let Some(e) = &r.error {
        let _ = writeln!(out, "{}: cannot run", r.file);
        out.push_str(&indent(e, "  "));
        return out;
    }
    let _ = writeln!(
        out,
        "{} — {} (tenant {}), {} scenario{}",
        r.file,
        r.name,
        r.tenant,
        r.scenarios.len(),
        if r.scenarios.len() == 1 { "" } else { "s" }
    );
    for s in &r.scenarios {
        let tag = match s.status {
            Status::Passed => "ok   ",
            Status::Failed(_) => "FAIL ",
            Status::Error(_) => "ERROR",
        };
        let _ = writeln!(out, "  {tag} {} (line {})", s.name, s.line);
        out.push_str(&indent(&s.failure_text(), "          "));
    }
    out
}

/// The totals line over every suite run.
pub fn totals(reports: &[SuiteReport]) -> String {
    let total: usize = reports.iter().map(|r| r.scenarios.len()).sum();
    let passed: usize = reports.iter().map(SuiteReport::passed).sum();
    let failed: usize = reports.iter().map(SuiteReport::failed).sum();
    let errors: usize = reports.iter().map(SuiteReport::errors).sum();
    format!(
        "{total} scenario{} in {} suite{}: {passed} passed, {failed} failed, {errors} error{}\n",
        if total == 1 { "" } else { "s" },
        reports.len(),
        if reports.len() == 1 { "" } else { "s" },
        if errors == 1 { "" } else { "s" },
    )
}

//! `gardien test`: declarative policy test suites (TOML), with JUnit XML for CI.
//!
//! Exit 0 when every scenario passes, 2 when one fails, 1 when a suite or a scenario cannot
//! run (unreadable suite, invalid tenant, unreadable request, unknown policy name). Results
//! go to stdout; the JUnit file is written whatever the outcome.

use anyhow::{Context, Result};
use gardien_analysis::suite::junit::junit;
use gardien_analysis::suite::{self, Status, Suite, SuiteReport};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::tenant_fs::{self, Loaded};
use crate::{Exit, print_out};

/// Loads and runs one suite file, against `tenant` when given (else the suite's own).
fn run_one(path: &Path, tenant: Option<&Path>) -> SuiteReport {
    let file = path.display().to_string();
    let text = match gardien_server::files::read_text(path, gardien_server::files::DEFAULT_LIMIT) {
        Ok(t) => t,
        Err(e) => return SuiteReport::not_run(&file, e.to_string()),
    };
    let dir = path.parent().unwrap_or_else(|| Path::new(""));
    let suite = match Suite::parse(&file, &text, dir) {
        Ok(mut s) => {
            if let Some(t) = tenant {
                s.tenant = t.to_path_buf();
            }
            s
        }
        Err(e) => {
            // Rendered like every other diagnostic: the suite's line shown.
            let mut d = gardien_core::Diagnostic::new(&e.file, "", &e.reason);
            d.position = e.line.map(|l| {
                let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                (at(l), at(e.column.unwrap_or(1)))
            });
            let rendered =
                crate::diagnostics::human(&d, &mut crate::diagnostics::Sources::default());
            return SuiteReport::not_run(&file, rendered.trim_end());
        }
    };
    let tenant = match tenant_fs::load(&suite.tenant) {
        Ok(Loaded::Tenant(t)) => {
            for w in &t.tenant.warnings {
                eprintln!("{}", crate::diagnostics::short(w));
            }
            t
        }
        Ok(Loaded::Invalid(e)) => {
            return SuiteReport::not_run(
                &file,
                format!("invalid tenant `{}`:\n{e}", suite.tenant.display()),
            );
        }
        Err(e) => {
            return SuiteReport::not_run(&file, format!("{file}: tenant: {e:#}"));
        }
    };
    suite::run(&suite, &tenant, &mut |p| {
        gardien_server::files::read_regular(p, gardien_server::files::DEFAULT_LIMIT)
            .map_err(std::io::Error::other)
    })
}

fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}\n")).collect()
}

/// The results of one suite, for people.
fn render(r: &SuiteReport) -> String {
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

/// Runs the suites; writes JUnit XML when asked.
pub fn run(suites: &[PathBuf], junit_path: Option<&Path>, tenant: Option<&Path>) -> Result<Exit> {
    let mut reports = Vec::with_capacity(suites.len());
    let mut out = String::new();
    for path in suites {
        let report = run_one(path, tenant);
        out.push_str(&render(&report));
        out.push('\n');
        reports.push(report);
    }
    let total: usize = reports.iter().map(|r| r.scenarios.len()).sum();
    let passed: usize = reports.iter().map(SuiteReport::passed).sum();
    let failed: usize = reports.iter().map(SuiteReport::failed).sum();
    let errors: usize = reports.iter().map(SuiteReport::errors).sum();
    let _ = writeln!(
        out,
        "{total} scenario{} in {} suite{}: {passed} passed, {failed} failed, {errors} error{}",
        if total == 1 { "" } else { "s" },
        reports.len(),
        if reports.len() == 1 { "" } else { "s" },
        if errors == 1 { "" } else { "s" },
    );
    print_out(&out)?;
    if let Some(path) = junit_path {
        std::fs::write(path, junit(&reports))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(if errors > 0 {
        Exit::Failure
    } else if failed > 0 {
        Exit::Deny
    } else {
        Exit::Ok
    })
}

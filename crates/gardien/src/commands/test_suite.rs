//! `gardien test`: declarative policy test suites (TOML), with JUnit XML for CI.
//!
//! Exit 0 when every scenario passes, 2 when one fails, 1 when a suite or a scenario cannot
//! run (unreadable suite, invalid tenant, unreadable request, unknown policy name). Results
//! go to stdout; the JUnit file is written whatever the outcome.

use anyhow::{Context, Result};
use gardien_analysis::suite::junit::junit;
use gardien_analysis::suite::{self, Suite, SuiteReport};
use std::path::{Path, PathBuf};

use crate::render;
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

/// Runs the suites; writes JUnit XML when asked.
pub fn run(suites: &[PathBuf], junit_path: Option<&Path>, tenant: Option<&Path>) -> Result<Exit> {
    let mut reports = Vec::with_capacity(suites.len());
    let mut out = String::new();
    for path in suites {
        let report = run_one(path, tenant);
        out.push_str(&render::suite::text(&report));
        out.push('\n');
        reports.push(report);
    }
    out.push_str(&render::suite::totals(&reports));
    let failed: usize = reports.iter().map(SuiteReport::failed).sum();
    let errors: usize = reports.iter().map(SuiteReport::errors).sum();
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

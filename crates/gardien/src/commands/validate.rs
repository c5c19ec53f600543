//! `gardien validate`: every problem in a tenant, every warning, and what directory data is
//! missing.
//!
//! Exit status: 0 when the tenant loads (warnings are printed, and fail only with
//! `--strict`), 1 when it does not or when `--strict` finds a warning.

use anyhow::{Result, bail};
use gardien_core::{Diagnostic, Severity};
use serde_json::Value;
use std::path::Path;

use crate::diagnostics::{self, Sources};
use crate::render;
use crate::tenant_fs::{self, Loaded};
use crate::{Exit, print_out};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Diagnostics for people on stderr, a summary on stdout.
    Text,
    /// One JSON document on stdout.
    Json,
    /// SARIF 2.1.0 on stdout.
    Sarif,
}

impl Format {
    /// Parses `text`, `json` or `sarif`.
    pub fn parse(text: &str) -> Result<Format> {
        Ok(match text.to_ascii_lowercase().as_str() {
            "text" => Format::Text,
            "json" => Format::Json,
            "sarif" => Format::Sarif,
            other => bail!("unknown format `{other}`; expected `text`, `json` or `sarif`"),
        })
    }
}

/// Loads the tenant and reports; see the module documentation for the exit status.
pub fn run(tenant: &Path, format: Format, strict: bool) -> Result<Exit> {
    let mut sources = Sources::default();
    let name = tenant.display().to_string();
    match tenant_fs::load(tenant)? {
        Loaded::Tenant(t) => {
            let t = &t.tenant;
            let missing = t.missing_directory();
            let mut diagnostics: Vec<Diagnostic> = t.warnings.clone();
            diagnostics.extend(missing.diagnostic(&name));
            diagnostics::locate(&mut diagnostics, &mut sources);
            let warnings = diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Warning)
                .count();
            let notes = diagnostics.len() - warnings;
            let fails = strict && warnings > 0;
            match format {
                Format::Json => {
                    let of = |s: Severity| -> Vec<Value> {
                        diagnostics
                            .iter()
                            .filter(|d| d.severity == s)
                            .map(diagnostics::to_json)
                            .collect()
                    };
                    print_out(&format!(
                        "{}\n",
                        render::validate::json_valid(
                            t,
                            &missing,
                            !fails,
                            strict,
                            of(Severity::Warning),
                            of(Severity::Note)
                        )
                    ))?;
                }
                Format::Sarif => print_out(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&diagnostics::sarif(&diagnostics))?
                ))?,
                Format::Text => {
                    for d in &diagnostics {
                        eprint!("{}", diagnostics::human(d, &mut sources));
                    }
                    print_out(&render::validate::text(t, &missing, warnings, notes, fails))?;
                }
            }
            Ok(if fails { Exit::Failure } else { Exit::Ok })
        }
        Loaded::Invalid(errors) => {
            let mut all: Vec<Diagnostic> = errors.errors.clone();
            all.extend(errors.warnings.iter().cloned());
            diagnostics::locate(&mut all, &mut sources);
            match format {
                Format::Json => {
                    let of = |s: Severity| -> Vec<Value> {
                        all.iter()
                            .filter(|d| d.severity == s)
                            .map(diagnostics::to_json)
                            .collect()
                    };
                    print_out(&format!(
                        "{}\n",
                        render::validate::json_invalid(
                            strict,
                            of(Severity::Error),
                            of(Severity::Warning),
                            of(Severity::Note)
                        )
                    ))?;
                }
                Format::Sarif => print_out(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&diagnostics::sarif(&all))?
                ))?,
                Format::Text => {
                    for d in &all {
                        eprint!("{}", diagnostics::human(d, &mut sources));
                    }
                    eprint!("{}", render::validate::problems(errors.errors.len()));
                }
            }
            Ok(Exit::Failure)
        }
    }
}

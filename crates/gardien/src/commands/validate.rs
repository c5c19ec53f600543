//! `gardien validate`: every problem in a tenant, every warning, and what directory data is
//! missing.
//!
//! Exit status: 0 when the tenant loads (warnings are printed, and fail only with
//! `--strict`), 1 when it does not or when `--strict` finds a warning.

use anyhow::{Result, bail};
use gardien_core::model::tenant::MissingDirectory;
use gardien_core::{Diagnostic, Severity};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;

use crate::diagnostics::{self, Sources};
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

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn missing_json(m: &MissingDirectory) -> Value {
    json!({
        "users": m.users, "groups": m.groups, "roles": m.roles,
        "policies": m.policies.iter().map(|(id, name)| json!({"id": id, "displayName": name})).collect::<Vec<_>>(),
    })
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
                        json!({"valid": !fails, "strict": strict,
                               "policies": t.policies.len(), "namedLocations": t.named_locations.len(),
                               "users": t.directory.users.len(), "groups": t.directory.groups.len(),
                               "servicePrincipals": t.directory.service_principals.len(),
                               "errors": [], "warnings": of(Severity::Warning), "notes": of(Severity::Note),
                               "missingDirectory": missing_json(&missing)})
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
                    let mut out = format!(
                        "ok: {} policies, {} named locations, {} users, {} groups",
                        t.policies.len(),
                        t.named_locations.len(),
                        t.directory.users.len(),
                        t.directory.groups.len()
                    );
                    if warnings + notes > 0 {
                        let _ = write!(
                            out,
                            "; {}, {}",
                            count(warnings, "warning", "warnings"),
                            count(notes, "note", "notes")
                        );
                    }
                    out.push('\n');
                    if !missing.is_empty() {
                        let _ = writeln!(
                            out,
                            "missing directory data: {} of {} policies reference {}, {}, {} that directory.json does not define:",
                            missing.policies.len(),
                            t.policies.len(),
                            count(missing.users.len(), "user", "users"),
                            count(missing.groups.len(), "group", "groups"),
                            count(missing.roles.len(), "role", "roles"),
                        );
                        for (id, display_name) in &missing.policies {
                            let _ = writeln!(
                                out,
                                "  {}",
                                if display_name.is_empty() {
                                    id
                                } else {
                                    display_name
                                }
                            );
                        }
                    }
                    if fails {
                        let _ = writeln!(
                            out,
                            "--strict: {} found",
                            count(warnings, "warning", "warnings")
                        );
                    }
                    print_out(&out)?;
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
                        json!({"valid": false, "strict": strict, "errors": of(Severity::Error),
                               "warnings": of(Severity::Warning), "notes": of(Severity::Note)})
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
                    eprintln!(
                        "{} found",
                        count(errors.errors.len(), "problem", "problems")
                    );
                }
            }
            Ok(Exit::Failure)
        }
    }
}

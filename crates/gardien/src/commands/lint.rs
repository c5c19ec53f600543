//! `gardien lint`: lint rules over a tenant, as text, JSON or SARIF 2.1.0.
//!
//! Exit status: 0 when no finding is at or above `--fail-on` (default `warning`), 2 when some
//! are or when loading the tenant gave warnings (members Graph does not define: shown first,
//! with their did-you-mean, unless `--fail-on none`), 1 when the tenant cannot be loaded or an option is invalid (message on stderr,
//! nothing on stdout).

use anyhow::{Result, anyhow, bail};
use gardien_analysis::lint::waivers;
use gardien_analysis::lint::{LintOptions, Severity, lint};
use std::fmt::Write as _;
use std::path::Path;

use crate::render::lines::LineIndex;
use crate::render::{sarif, text};
use crate::tenant_fs;
use crate::{Exit, print_out};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Sarif,
}

/// Runs the command.
pub fn run(
    tenant: &Path,
    format: &str,
    fail_on: &str,
    waiver_file: Option<&Path>,
    now: i64,
) -> Result<Exit> {
    let format = match format.to_ascii_lowercase().as_str() {
        "text" => Format::Text,
        "json" => Format::Json,
        "sarif" => Format::Sarif,
        other => bail!("unknown format `{other}`; expected `text`, `json` or `sarif`"),
    };
    let threshold = if fail_on.eq_ignore_ascii_case("none") {
        None
    } else {
        Some(Severity::parse(fail_on).ok_or_else(|| {
            anyhow!("unknown severity `{fail_on}` for --fail-on; expected `error`, `warning`, `info` or `none`")
        })?)
    };
    let waiver_list = match waiver_file {
        Some(path) => {
            let bytes = tenant_fs::read_input(path)?;
            let name = path.display().to_string();
            let text =
                gardien_core::json::decode_text(&name, &bytes).map_err(|e| anyhow!("{e}"))?;
            waivers::parse(&name, &text)?
        }
        None => Vec::new(),
    };
    let tenant_data = tenant_fs::load_quiet(tenant)?;
    // Load warnings (unknown members) fail lint like findings do; notes are shown only.
    let mut load = tenant_data.warnings.clone();
    let mut sources = crate::diagnostics::Sources::default();
    crate::diagnostics::locate(&mut load, &mut sources);
    let load_fails = load
        .iter()
        .any(|d| d.severity == gardien_core::Severity::Warning);
    let compiled = gardien_core::CompiledTenant::compile(tenant_data);
    let options = LintOptions {
        now: Some(now),
        tenant_name: tenant.display().to_string(),
        ..LintOptions::default()
    };
    let full = waivers::apply(lint(&compiled, &options), &waiver_list, now);
    let report = &full.report;
    let mut lines = LineIndex::default();
    let out = match format {
        Format::Text => {
            let mut out = String::new();
            if !load.is_empty() {
                let _ = writeln!(out, "── load warnings and notes ({}) ──", load.len());
                for d in &load {
                    out.push_str(&crate::diagnostics::human(d, &mut sources));
                }
                out.push('\n');
            }
            out.push_str(&text::lint(report, &mut lines));
            text::lint_waived(&full, &mut out);
            out
        }
        Format::Json => {
            let mut value = if waiver_file.is_some() {
                serde_json::to_value(&full)?
            } else {
                serde_json::to_value(report)?
            };
            value["diagnostics"] = load.iter().map(crate::diagnostics::to_json).collect();
            format!("{}\n", serde_json::to_string_pretty(&value)?)
        }
        Format::Sarif => {
            let mut doc = sarif::lint(report, &load, &mut lines);
            sarif::lint_suppressed(&mut doc, &full, &mut lines);
            format!("{}\n", serde_json::to_string_pretty(&doc)?)
        }
    };
    print_out(&out)?;
    Ok(match threshold {
        Some(t) if full.fails(t) || load_fails => Exit::Deny,
        _ => Exit::Ok,
    })
}

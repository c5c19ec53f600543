//! `gardien lint`: lint rules over a tenant, as text, JSON or SARIF 2.1.0.
//!
//! Exit status: 0 when no finding is at or above `--fail-on` (default `warning`), 2 when some
//! are or when loading the tenant gave warnings (members Graph does not define: shown first,
//! with their did-you-mean, unless `--fail-on none`), 1 when the tenant cannot be loaded or an option is invalid (message on stderr,
//! nothing on stdout).

use anyhow::{Result, anyhow, bail};
use gardien_analysis::lint::waivers::{self, Waived};
use gardien_analysis::lint::{Finding, LintOptions, LintReport, RULES, Severity, lint};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

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
            out.push_str(&text(report, &mut lines));
            waived_text(&full, &mut out);
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
            let mut doc = sarif(report, &load, &mut lines);
            add_suppressed(&mut doc, &full, &mut lines);
            format!("{}\n", serde_json::to_string_pretty(&doc)?)
        }
    };
    print_out(&out)?;
    Ok(match threshold {
        Some(t) if full.fails(t) || load_fails => Exit::Deny,
        _ => Exit::Ok,
    })
}

/// Waived findings and expired or unused waivers, after the report.
fn waived_text(w: &Waived, out: &mut String) {
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

/// Waived findings as SARIF results with an accepted external suppression (justification:
/// the waiver's reason).
fn add_suppressed(doc: &mut Value, w: &Waived, lines: &mut LineIndex) {
    if w.waived.is_empty() {
        return;
    }
    let findings: Vec<Finding> = w.waived.iter().map(|f| f.finding.clone()).collect();
    let suppressed = LintReport {
        findings,
        summary: w.report.summary.clone(),
    };
    let extra = sarif(&suppressed, &[], lines);
    let Some(results) = extra["runs"][0]["results"].as_array() else {
        return;
    };
    let mut results = results.clone();
    for (r, f) in results.iter_mut().zip(&w.waived) {
        r["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": format!("{} (until {}; {})", f.reason, f.expires, f.waiver),
        }]);
    }
    if let Some(list) = doc["runs"][0]["results"].as_array_mut() {
        list.extend(results);
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Readable report: findings grouped by severity, then a summary.
fn text(report: &LintReport, lines: &mut LineIndex) -> String {
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

use crate::diagnostics::uri;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// SARIF 2.1.0: one run, the registry as the driver's rules, one result per finding.
fn sarif(report: &LintReport, load: &[gardien_core::Diagnostic], lines: &mut LineIndex) -> Value {
    let mut rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.rationale},
                "help": {"text": r.fix},
                "helpUri": format!("https://github.com/gardien-ca/gardien/blob/main/{}", r.url()),
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {"needsDirectory": r.needs_directory, "since": r.since},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut physical = json!({"artifactLocation": {"uri": uri(&f.file)}});
            if let Some(line) = lines.line(&f.file, &f.pointer) {
                physical["region"] = json!({"startLine": line});
            }
            let mut location = json!({"physicalLocation": physical});
            if let Some(p) = &f.policy {
                location["logicalLocations"] = json!([{
                    "name": if p.display_name.is_empty() { &p.id } else { &p.display_name },
                    "fullyQualifiedName": format!("conditionalAccessPolicy/{}", p.id),
                    "kind": "object",
                }]);
            }
            let mut result = json!({
                "ruleId": f.code,
                "ruleIndex": RULES.iter().position(|r| r.code == f.code),
                "level": level(f.severity),
                "message": {"text": format!("{} ({})", f.message, f.help)},
                "locations": [location],
                "properties": {"pointer": f.pointer, "name": f.name},
            });
            if let Some(p) = &f.policy {
                result["properties"]["policyId"] = json!(p.id);
            }
            result
        })
        .collect();
    // Load diagnostics: gardien's GV codes follow the lint rules.
    let offset = rules.len();
    rules.extend(crate::diagnostics::sarif_rules());
    let results: Vec<Value> = load
        .iter()
        .map(|d| crate::diagnostics::sarif_result(d, offset))
        .chain(results)
        .collect();
    crate::diagnostics::sarif_log(json!(rules), results)
}

/// Files read once to turn JSON pointers into line numbers.
#[derive(Default)]
struct LineIndex {
    texts: HashMap<String, Option<String>>,
    values: HashMap<String, Option<Value>>,
}

impl LineIndex {
    /// Whether `pointer` names nothing in `file` (a member the finding says is missing).
    fn absent(&mut self, file: &str, pointer: &str) -> bool {
        let value = self
            .values
            .entry(file.to_owned())
            .or_insert_with(|| {
                let bytes = crate::tenant_fs::read_input(std::path::Path::new(file)).ok()?;
                let text = gardien_core::json::decode_text(file, &bytes).ok()?;
                serde_json::from_str(&text).ok()
            })
            .as_ref();
        value.is_some_and(|v| v.pointer(pointer).is_none())
    }

    /// 1-based line of the member at `pointer` (or of its deepest existing parent) in `file`.
    fn line(&mut self, file: &str, pointer: &str) -> Option<usize> {
        let text = self
            .texts
            .entry(file.to_owned())
            .or_insert_with(|| {
                let bytes = crate::tenant_fs::read_input(std::path::Path::new(file)).ok()?;
                gardien_core::json::decode_text(file, &bytes).ok()
            })
            .as_deref()?;
        gardien_core::json::position(text, pointer).and_then(|(line, _)| usize::try_from(line).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_escaped() {
        assert_eq!(uri("a b/ç.json"), "a%20b/%C3%A7.json");
        assert_eq!(uri("/tmp/x.json"), "file:///tmp/x.json");
        assert_eq!(uri("policies\\x.json"), "policies/x.json");
    }
}

//! SARIF 2.1.0 for CI code-scanning: lint findings (and load diagnostics) with their rules,
//! waived findings as suppressed results. The log envelope is `diagnostics::sarif_log`.

use gardien_analysis::lint::waivers::Waived;
use gardien_analysis::lint::{Finding, LintReport, RULES, Severity};
use serde_json::{Value, json};

use super::lines::LineIndex;
use crate::diagnostics::uri;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A lint report as SARIF 2.1.0: one run, the registry as the driver's rules, one result per
/// finding, the load diagnostics first.
pub fn lint(
    report: &LintReport,
    load: &[gardien_core::Diagnostic],
    lines: &mut LineIndex,
) -> Value {
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

/// Waived findings as SARIF results with an accepted external suppression (justification:
/// the waiver's reason).
pub fn lint_suppressed(doc: &mut Value, w: &Waived, lines: &mut LineIndex) {
    if w.waived.is_empty() {
        return;
    }
    let findings: Vec<Finding> = w.waived.iter().map(|f| f.finding.clone()).collect();
    let suppressed = LintReport {
        findings,
        summary: w.report.summary.clone(),
    };
    let extra = lint(&suppressed, &[], lines);
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

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn uris_are_escaped() {
        assert_eq!(uri("a b/ç.json"), "a%20b/%C3%A7.json");
        assert_eq!(uri("/tmp/x.json"), "file:///tmp/x.json");
        assert_eq!(uri("policies\\x.json"), "policies/x.json");
    }
}

//! Rendering gardien's [`Diagnostic`]s: for people (rustc style, the offending source line
//! shown), as JSON, and as SARIF 2.1.0 results. Used by `validate`, `lint`, `evaluate`,
//! `whatif`, `explain`, `test` and `replay`.

use gardien_core::error::{CODES, CodeInfo};
use gardien_core::{Diagnostic, Severity};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::fmt::Write as _;

/// An error already rendered for people: printed as is, without the `error: ` prefix.
#[derive(Debug)]
pub struct Rendered(pub String);

impl std::fmt::Display for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.trim_end())
    }
}

impl std::error::Error for Rendered {}

/// Source texts read once (decoded like the loaders do) to show lines.
#[derive(Default)]
pub struct Sources {
    texts: HashMap<String, Option<String>>,
}

impl Sources {
    /// The decoded text of `file`, when it can be read.
    pub fn text(&mut self, file: &str) -> Option<&str> {
        self.texts
            .entry(file.to_owned())
            .or_insert_with(|| {
                let bytes = crate::tenant_fs::read_input(std::path::Path::new(file)).ok()?;
                gardien_core::json::decode_text(file, &bytes).ok()
            })
            .as_deref()
    }

    /// 1-based line and column of `pointer` in `file` (for diagnostics that lack them).
    pub fn position(&mut self, file: &str, pointer: &str) -> Option<(u32, u32)> {
        gardien_core::json::position(self.text(file)?, pointer)
    }
}

fn policy_label(d: &Diagnostic) -> Option<String> {
    d.policy.as_ref().map(|p| {
        let (id, name) = p.as_ref();
        if name.is_empty() {
            format!("policy `{id}`")
        } else if id.is_empty() {
            format!("policy `{name}`")
        } else {
            format!("policy `{name}` ({id})")
        }
    })
}

/// Width of the token that starts at `column` of `line`: a JSON string (quotes included), a
/// bare word, or one character.
fn token_width(line: &str, column: u32) -> usize {
    let start = usize::try_from(column.saturating_sub(1)).unwrap_or(0);
    let mut chars = line.chars().skip(start);
    match chars.next() {
        Some('"') => {}
        // A bare word (a TOML key, a JSON literal).
        Some(c) if c.is_alphanumeric() || c == '_' => {
            return 1 + chars
                .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '-'))
                .count();
        }
        _ => return 1,
    }
    let mut width = 1;
    let mut escaped = false;
    for c in chars {
        width += 1;
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return width,
            _ => escaped = false,
        }
    }
    1
}

/// One diagnostic for people, rustc style:
///
/// ```text
/// warning[GV004]: unknown member `includeUser` of conditionalAccessUsers
///   --> policies/mfa.json:7:9 (/conditions/users/includeUser)
///    |
///  7 |         "includeUser": ["All"]
///    |         ^^^^^^^^^^^^^
///    = policy `Require MFA` (p1)
///    = help: did you mean `includeUsers`?
/// ```
pub fn human(d: &Diagnostic, sources: &mut Sources) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}[{}]: {}", d.severity.as_str(), d.code, d.reason);
    let position = d.position.or_else(|| sources.position(&d.file, &d.pointer));
    let mut place = d.file.clone();
    if let Some((line, column)) = position {
        let _ = write!(place, ":{line}:{column}");
    }
    if !d.pointer.is_empty() {
        let _ = write!(place, " ({})", d.pointer);
    }
    let _ = writeln!(out, "  --> {place}");
    // A diagnostic about a whole file shows no line.
    let line_text = position
        .filter(|_| !d.pointer.is_empty() || d.position.is_some())
        .and_then(|(line, column)| {
            let text = sources.text(&d.file)?;
            gardien_core::json::line_text(text, line).map(|t| (line, column, t.to_owned()))
        });
    let gutter = line_text
        .as_ref()
        .map_or(1, |(line, _, _)| line.to_string().len());
    let pad = " ".repeat(gutter);
    if let Some((line, column, text)) = &line_text {
        // Long lines (minified JSON) are cut around the column.
        let start = usize::try_from(column.saturating_sub(1)).unwrap_or(0);
        let (shown, offset) = if text.chars().count() > 160 {
            let from = start.saturating_sub(40);
            (text.chars().skip(from).take(120).collect::<String>(), from)
        } else {
            (text.clone(), 0)
        };
        let width = token_width(text, *column);
        let _ = writeln!(out, " {pad} |");
        let _ = writeln!(out, " {line} | {shown}");
        let _ = writeln!(
            out,
            " {pad} | {}{}",
            " ".repeat(start - offset),
            "^".repeat(width)
        );
    }
    if let Some(policy) = policy_label(d) {
        let _ = writeln!(out, " {pad} = {policy}");
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, " {pad} = help: {help}");
    }
    out
}

/// One line per diagnostic (`warning[GV004]: file:7:9: /pointer: reason (help)`), for stderr
/// next to a command's result.
pub fn short(d: &Diagnostic) -> String {
    let mut out = format!("{}[{}]: {}", d.severity.as_str(), d.code, d.file);
    if let Some((line, column)) = d.position {
        let _ = write!(out, ":{line}:{column}");
    }
    if !d.pointer.is_empty() {
        let _ = write!(out, ": {}", d.pointer);
    }
    if let Some(policy) = policy_label(d) {
        let _ = write!(out, ": {policy}");
    }
    let _ = write!(out, ": {}", d.reason);
    if let Some(help) = &d.help {
        let _ = write!(out, " ({help})");
    }
    out
}

/// The JSON form of a diagnostic.
pub fn to_json(d: &Diagnostic) -> Value {
    let info = d.code.info();
    json!({
        "code": d.code.as_str(),
        "name": info.name,
        "severity": d.severity.as_str(),
        "file": d.file,
        "pointer": d.pointer,
        "line": d.position.map(|p| p.0),
        "column": d.position.map(|p| p.1),
        "policy": d.policy.as_ref().map(|p| json!({"id": p.0, "displayName": p.1})),
        "message": d.reason,
        "help": d.help,
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// The SARIF rule of a diagnostic code.
pub fn sarif_rule(info: &CodeInfo) -> Value {
    use gardien_core::error::Code;
    let default = match info.code {
        Code::UnknownMember | Code::MissingDirectoryData => Severity::Warning,
        Code::Converted | Code::SkippedFile => Severity::Note,
        _ => Severity::Error,
    };
    json!({
        "defaultConfiguration": {"level": level(default)},
        "id": info.code.as_str(),
        "name": info.name,
        "shortDescription": {"text": info.summary},
        "helpUri": format!(
            "https://github.com/gardien-ca/gardien/blob/main/docs/diagnostics.md#{}",
            info.code.as_str().to_ascii_lowercase()
        ),
    })
}

/// Every diagnostic code as SARIF rules.
pub fn sarif_rules() -> Vec<Value> {
    CODES.iter().map(sarif_rule).collect()
}

/// A file path as a SARIF artifact URI (relative reference, or `file:` URI when absolute).
pub fn uri(path: &str) -> String {
    let slashed = path.replace('\\', "/");
    let mut out = String::new();
    for b in slashed.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:!$&'()*+,;=@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    if slashed.starts_with('/') {
        format!("file://{out}")
    } else if slashed.as_bytes().get(1) == Some(&b':') {
        format!("file:///{out}")
    } else {
        out
    }
}

/// One SARIF result; `rule_offset` is the index of the first GV rule in the run's rules.
pub fn sarif_result(d: &Diagnostic, rule_offset: usize) -> Value {
    let mut physical = json!({"artifactLocation": {"uri": uri(&d.file)}});
    if let Some((line, column)) = d.position {
        physical["region"] = json!({"startLine": line, "startColumn": column});
    }
    let mut location = json!({"physicalLocation": physical});
    if let Some(p) = &d.policy {
        location["logicalLocations"] = json!([{
            "name": if p.1.is_empty() { &p.0 } else { &p.1 },
            "fullyQualifiedName": format!("conditionalAccessPolicy/{}", p.0),
            "kind": "object",
        }]);
    }
    let message = match &d.help {
        Some(help) => format!("{} ({help})", d.reason),
        None => d.reason.clone(),
    };
    json!({
        "ruleId": d.code.as_str(),
        "ruleIndex": rule_offset + d.code as usize,
        "level": level(d.severity),
        "message": {"text": message},
        "locations": [location],
        "properties": {"pointer": d.pointer},
    })
}

/// A whole SARIF 2.1.0 log of diagnostics.
pub fn sarif(diagnostics: &[Diagnostic]) -> Value {
    sarif_log(
        json!(sarif_rules()),
        diagnostics.iter().map(|d| sarif_result(d, 0)).collect(),
    )
}

/// A SARIF 2.1.0 log of one gardien run: its rules and results (`validate` and `lint`).
pub fn sarif_log(rules: Value, results: Vec<Value>) -> Value {
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "gardien",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/gardien-ca/gardien",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

/// Fills missing positions from the files on disk.
pub fn locate(diagnostics: &mut [Diagnostic], sources: &mut Sources) {
    for d in diagnostics
        .iter_mut()
        .filter(|d| d.position.is_none() && !d.pointer.is_empty())
    {
        d.position = sources.position(&d.file, &d.pointer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gardien_core::error::UNKNOWN_MEMBER;

    #[test]
    fn human_shows_the_line_and_underlines_the_member() {
        let dir = std::env::temp_dir().join(format!("gardien-diag-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("p.json");
        let _ = std::fs::write(
            &file,
            "{\n  \"conditions\": {\n    \"users\": {\"includeUser\": [\"All\"]}\n  }\n}\n",
        );
        let name = file.display().to_string();
        let d = Diagnostic::new(
            &name,
            "/conditions/users/includeUser",
            "unknown member `includeUser` of conditionalAccessUsers",
        )
        .with_code(UNKNOWN_MEMBER)
        .with_severity(Severity::Warning)
        .with_help("did you mean `includeUsers`?")
        .in_policy("p1", "Require MFA");
        let text = human(&d, &mut Sources::default());
        let _ = std::fs::remove_dir_all(&dir);
        let expected = format!(
            "warning[GV004]: unknown member `includeUser` of conditionalAccessUsers\n  --> {name}:3:15 (/conditions/users/includeUser)\n   |\n 3 |     \"users\": {{\"includeUser\": [\"All\"]}}\n   |               ^^^^^^^^^^^^^\n   = policy `Require MFA` (p1)\n   = help: did you mean `includeUsers`?\n"
        );
        assert_eq!(text, expected);
        let j = to_json(&d);
        assert_eq!(j["code"], "GV004");
        assert_eq!(j["name"], "unknown-member");
        let s = sarif(std::slice::from_ref(&d));
        assert_eq!(s["runs"][0]["results"][0]["ruleId"], "GV004");
        assert_eq!(
            s["runs"][0]["tool"]["driver"]["rules"][3]["id"], "GV004",
            "ruleIndex points at the rule"
        );
        assert_eq!(s["runs"][0]["results"][0]["ruleIndex"], 3);
    }
}

//! `gardien validate` for people (a summary line, the policies that reference directory
//! entries `directory.json` lacks) and as one JSON document. Diagnostics themselves are
//! rendered by `crate::diagnostics` (text, JSON members, SARIF).

use gardien_core::model::tenant::{MissingDirectory, Tenant};
use serde_json::{Value, json};
use std::fmt::Write as _;

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn missing_json(m: &MissingDirectory) -> Value {
    json!({
        "users": m.users, "groups": m.groups, "roles": m.roles,
        "policies": m.policies.iter().map(|(id, name)| json!({"id": id, "displayName": name})).collect::<Vec<_>>(),
    })
}

/// The summary of a tenant that loads: counts, warnings and notes, missing directory data,
/// and the `--strict` verdict when it fails.
pub fn text(
    t: &Tenant,
    missing: &MissingDirectory,
    warnings: usize,
    notes: usize,
    fails: bool,
) -> String {
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
    out
}

/// `N problems found` (stderr) for a tenant that does not load.
pub fn problems(n: usize) -> String {
    format!("{} found\n", count(n, "problem", "problems"))
}

/// The JSON document of a tenant that loads.
pub fn json_valid(
    t: &Tenant,
    missing: &MissingDirectory,
    valid: bool,
    strict: bool,
    warnings: Vec<Value>,
    notes: Vec<Value>,
) -> Value {
    json!({"valid": valid, "strict": strict,
           "policies": t.policies.len(), "namedLocations": t.named_locations.len(),
           "users": t.directory.users.len(), "groups": t.directory.groups.len(),
           "servicePrincipals": t.directory.service_principals.len(),
           "errors": [], "warnings": warnings, "notes": notes,
           "missingDirectory": missing_json(missing)})
}

/// The JSON document of a tenant that does not load.
pub fn json_invalid(
    strict: bool,
    errors: Vec<Value>,
    warnings: Vec<Value>,
    notes: Vec<Value>,
) -> Value {
    json!({"valid": false, "strict": strict, "errors": errors,
           "warnings": warnings, "notes": notes})
}

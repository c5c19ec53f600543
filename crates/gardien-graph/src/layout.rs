//! The tenant layout written from a tenant snapshot (`gardien export`): the same files, the
//! same form and the same atomic replacement as a pull, so that `gardien apply` reads back
//! exactly what was exported and a git diff of two exports is the change.
//!
//! | snapshot member | file |
//! | --- | --- |
//! | `policies[]` | `policies/<id>.json` (id in lower case), one pretty-printed policy each |
//! | `namedLocations[]` | `namedLocations.json`, a Graph collection `{"value":[...]}` sorted by id |
//! | `directory` | `directory.json` |
//! | `crossTenantAccess` (when present) | `crossTenantAccess.json` |

use crate::error::PullError;
use crate::output::{Staging, pretty};
use crate::pull::{sort_by_key, usable_id};
use serde_json::{Value, json};
use std::path::Path;

/// Counts of what [`write_tenant`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayoutSummary {
    /// Policy files.
    pub policies: usize,
    /// Named locations in `namedLocations.json`.
    pub named_locations: usize,
    /// Whether `crossTenantAccess.json` was written.
    pub cross_tenant_access: bool,
}

fn bad(what: &str, reason: String) -> PullError {
    PullError::Response {
        what: what.to_owned(),
        reason,
    }
}

/// Writes a tenant snapshot `{"policies":[...], "namedLocations":[...], "directory":{...},
/// "crossTenantAccess":{...}}` as the tenant layout at `out`. The folder is filled next to
/// `out` and renamed into place at the end: a failure leaves a previous folder untouched,
/// and a folder that is not a tenant layout is never replaced.
///
/// Every policy needs an id usable as a file name (letters, digits, dashes; what Graph
/// generates); two policies with the same id (compared case-insensitively, as ids are) are
/// refused, since one file would overwrite the other.
pub fn write_tenant(out: &Path, tenant: &Value) -> Result<LayoutSummary, PullError> {
    let list = |key: &str| -> Result<Vec<Value>, PullError> {
        match tenant.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.clone()),
            Some(_) => Err(bad("tenant", format!("`{key}` is not an array"))),
        }
    };
    let policies = list("policies")?;
    let mut locations = list("namedLocations")?;
    sort_by_key(&mut locations, "id");
    let mut seen = std::collections::HashSet::new();
    for (i, policy) in policies.iter().enumerate() {
        let id = policy.get("id").and_then(Value::as_str).unwrap_or("");
        if !usable_id(id) {
            return Err(bad(
                "policies",
                format!(
                    "/policies/{i}: id `{}` cannot be a file name (letters, digits and dashes, at most 64)",
                    id.escape_default()
                ),
            ));
        }
        if !seen.insert(id.to_ascii_lowercase()) {
            return Err(bad(
                "policies",
                format!("/policies/{i}: a second policy with id `{id}`"),
            ));
        }
    }
    let staging = Staging::new(out)?;
    for policy in &policies {
        // Lower case, as a pull names the files (ids compare case-insensitively).
        let id = policy
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        staging.write(&format!("policies/{id}.json"), &pretty(policy))?;
    }
    staging.write(
        "namedLocations.json",
        &pretty(&json!({ "value": locations })),
    )?;
    let directory = tenant.get("directory").cloned().unwrap_or(json!({}));
    staging.write("directory.json", &pretty(&directory))?;
    let cross = tenant.get("crossTenantAccess").filter(|v| !v.is_null());
    if let Some(cross) = cross {
        staging.write("crossTenantAccess.json", &pretty(cross))?;
    }
    staging.commit()?;
    Ok(LayoutSummary {
        policies: policies.len(),
        named_locations: locations.len(),
        cross_tenant_access: cross.is_some(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!(
            "gardien-layout-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        let _ = std::fs::remove_dir_all(&p);
        p
    }

    #[test]
    fn writes_the_pull_layout_sorted_and_pretty() {
        let dir = tmp("write");
        let out = dir.join("tenant");
        let tenant = json!({
            "policies": [{"id": "b", "displayName": "B"}, {"id": "a", "displayName": "A"}],
            "namedLocations": [{"id": "z"}, {"id": "y"}],
            "directory": {"users": []},
            "crossTenantAccess": {"default": {}}
        });
        let s = write_tenant(&out, &tenant).unwrap();
        assert_eq!(s.policies, 2);
        assert_eq!(s.named_locations, 2);
        assert!(s.cross_tenant_access);
        let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
        assert_eq!(
            read("policies/a.json"),
            "{\n  \"id\": \"a\",\n  \"displayName\": \"A\"\n}\n"
        );
        let locations: Value = serde_json::from_str(&read("namedLocations.json")).unwrap();
        assert_eq!(locations, json!({"value": [{"id": "y"}, {"id": "z"}]}));
        assert_eq!(read("crossTenantAccess.json"), "{\n  \"default\": {}\n}\n");
        // A second export without cross-tenant settings replaces the folder whole.
        let s = write_tenant(&out, &json!({"policies": [], "directory": {}})).unwrap();
        assert!(!s.cross_tenant_access);
        assert!(!out.join("crossTenantAccess.json").exists());
        assert!(!out.join("policies/a.json").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_ids_that_are_no_file_names_and_duplicates() {
        let dir = tmp("bad");
        let out = dir.join("tenant");
        let e = write_tenant(&out, &json!({"policies": [{"id": "../x"}]})).unwrap_err();
        assert!(e.to_string().contains("/policies/0"), "{e}");
        let e = write_tenant(&out, &json!({"policies": [{"id": "A"}, {"id": "a"}]})).unwrap_err();
        assert!(e.to_string().contains("second policy"), "{e}");
        assert!(!out.exists(), "nothing written");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

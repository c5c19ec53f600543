//! The tenant as the server stores it: one JSON snapshot per version,
//! `{"policies":[...], "namedLocations":[...], "directory":{...}}` (plus `crossTenantAccess`
//! when the tenant has one) — the single-file tenant
//! format the core reads, with every policy and location as the admin wrote it (Graph JSON).
//! A snapshot is only ever stored after the core accepted it.

use gardien_core::{CompiledTenant, LoadErrors, SourceFile, Tenant, TenantSource};
use serde_json::{Map, Value, json};

/// The snapshot of a tenant with nothing in it.
pub fn empty() -> Value {
    json!({"policies": [], "namedLocations": [], "directory": {}})
}

/// Items of a file holding one object, a bare array, or a Graph collection `{"value":[...]}`.
fn items(value: Value) -> Vec<Value> {
    match value {
        Value::Array(a) => a,
        Value::Object(mut o) => match o.remove("value") {
            Some(Value::Array(a)) => a,
            Some(other) => {
                o.insert("value".into(), other);
                vec![Value::Object(o)]
            }
            None => vec![Value::Object(o)],
        },
        other => vec![other],
    }
}

/// Builds the snapshot of a tenant read from files, after the core validated it (so every
/// error names the file and JSON path the admin wrote).
///
/// Files are decoded as the core decodes them (UTF-8 or UTF-16), PowerShell SDK output is
/// stored converted to Graph JSON, and the authentication strengths of an export folder go to
/// the directory. The tenant's warnings (members Graph does not define) are logged.
pub fn from_source(source: &TenantSource) -> Result<Value, LoadErrors> {
    let tenant = Tenant::load(source)?;
    for w in &tenant.warnings {
        tracing::warn!(code = %w.code, "tenant: {w}");
    }
    let parse = |f: &SourceFile| {
        let value = gardien_core::json::decode_text(&f.name, &f.bytes)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .unwrap_or(Value::Null);
        if gardien_core::model::powershell::is_pascal_case(&value) {
            gardien_core::model::powershell::convert(&value)
        } else {
            value
        }
    };
    let mut policies = Vec::new();
    let mut locations = Vec::new();
    let mut directory = Value::Object(Map::new());
    let mut cross_tenant = Value::Null;
    if let Some(file) = &source.combined {
        match parse(file) {
            Value::Object(mut o) if o.contains_key("policies") => {
                policies.extend(items(o.remove("policies").unwrap_or(Value::Null)));
                if let Some(l) = o.remove("namedLocations") {
                    locations.extend(items(l));
                }
                if let Some(d) = o.remove("directory") {
                    directory = d;
                }
                if let Some(c) = o.remove("crossTenantAccess") {
                    cross_tenant = c;
                }
            }
            other => policies.extend(items(other)),
        }
    }
    for f in &source.policy_files {
        policies.extend(items(parse(f)));
    }
    for f in &source.location_files {
        locations.extend(items(parse(f)));
    }
    if let Some(f) = &source.directory {
        directory = parse(f);
    }
    if let Some(f) = &source.cross_tenant_access {
        cross_tenant = parse(f);
    }
    let strengths: Vec<Value> = source
        .strength_files
        .iter()
        .flat_map(|f| items(parse(f)))
        .collect();
    if !strengths.is_empty()
        && let Some(d) = directory.as_object_mut()
    {
        let list = d
            .entry("authenticationStrengthPolicies")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(list) = list.as_array_mut() {
            list.extend(strengths);
        }
    }
    let mut snapshot =
        json!({"policies": policies, "namedLocations": locations, "directory": directory});
    // Only when there is one: snapshots without it stay byte-identical to earlier versions.
    if !cross_tenant.is_null() {
        snapshot["crossTenantAccess"] = cross_tenant;
    }
    Ok(snapshot)
}

/// Compiles a snapshot; `name` is the file name errors carry.
pub fn compile(name: &str, snapshot: &Value) -> Result<CompiledTenant, LoadErrors> {
    let bytes = serde_json::to_vec(snapshot).unwrap_or_default();
    let source = TenantSource {
        combined: Some(SourceFile::new(name, bytes)),
        ..TenantSource::default()
    };
    Tenant::load(&source).map(CompiledTenant::compile)
}

/// The array member `key` of a snapshot (`policies` or `namedLocations`).
pub fn list<'a>(snapshot: &'a Value, key: &str) -> &'a [Value] {
    snapshot
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn id_of(v: &Value) -> Option<&str> {
    v.get("id").and_then(Value::as_str)
}

fn name_of(v: &Value) -> &str {
    v.get("displayName").and_then(Value::as_str).unwrap_or("")
}

/// What changed between two snapshots, by object: added, removed or modified policies and
/// named locations, and whether the directory changed. Stored with each version.
pub fn diff(old: &Value, new: &Value) -> Value {
    let mut changes = Vec::new();
    for (key, kind) in [("policies", "policy"), ("namedLocations", "namedLocation")] {
        let (a, b) = (list(old, key), list(new, key));
        for item in b {
            let id = id_of(item).unwrap_or("");
            match a.iter().find(|x| id_of(x) == Some(id)) {
                None => changes.push(json!({"kind": kind, "id": id, "displayName": name_of(item), "change": "added"})),
                Some(prev) if prev != item => changes.push(json!({"kind": kind, "id": id, "displayName": name_of(item), "change": "modified"})),
                Some(_) => {}
            }
        }
        for item in a {
            let id = id_of(item).unwrap_or("");
            if !b.iter().any(|x| id_of(x) == Some(id)) {
                changes.push(json!({"kind": kind, "id": id, "displayName": name_of(item), "change": "removed"}));
            }
        }
    }
    if old.get("directory") != new.get("directory") {
        changes.push(json!({"kind": "directory", "change": "modified"}));
    }
    json!({ "changes": changes })
}

/// A one-line summary of a diff (`2 policies modified, 1 named location added`).
pub fn summary(diff: &Value) -> String {
    let changes = diff
        .get("changes")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    if changes.is_empty() {
        return "no change".to_owned();
    }
    let mut parts: Vec<String> = Vec::new();
    for kind in ["policy", "namedLocation", "directory"] {
        for change in ["added", "modified", "removed"] {
            let n = changes
                .iter()
                .filter(|c| c["kind"] == kind && c["change"] == change)
                .count();
            if n > 0 {
                let noun = match (kind, n) {
                    ("policy", 1) => "policy",
                    ("policy", _) => "policies",
                    ("namedLocation", 1) => "named location",
                    ("namedLocation", _) => "named locations",
                    _ => "directory",
                };
                parts.push(if kind == "directory" {
                    format!("directory {change}")
                } else {
                    format!("{n} {noun} {change}")
                });
            }
        }
    }
    parts.join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn policy(id: &str, state: &str) -> Value {
        json!({"id": id, "displayName": format!("P {id}"), "state": state,
               "conditions": {"users": {"includeUsers": ["All"]},
                              "applications": {"includeApplications": ["All"]},
                              "clientAppTypes": ["all"]},
               "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})
    }

    #[test]
    fn empty_snapshot_compiles() {
        let t = compile("empty", &empty()).unwrap();
        assert!(t.tenant.policies.is_empty());
    }

    #[test]
    fn from_source_flattens_collections_and_keeps_raw_json() {
        let source = TenantSource {
            policy_files: vec![
                SourceFile::new(
                    "a.json",
                    serde_json::to_vec(&json!({"value": [policy("p1", "enabled")]})).unwrap(),
                ),
                SourceFile::new(
                    "b.json",
                    serde_json::to_vec(&policy("p2", "disabled")).unwrap(),
                ),
            ],
            ..TenantSource::default()
        };
        let snap = from_source(&source).unwrap();
        assert_eq!(list(&snap, "policies").len(), 2);
        assert_eq!(list(&snap, "policies")[1]["id"], "p2");
        let compiled = compile("snap", &snap).unwrap();
        assert_eq!(compiled.tenant.policies.len(), 2);
    }

    #[test]
    fn from_source_reads_utf16_and_export_strengths() {
        let policy = json!({"id": "p1", "displayName": "p1", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                           "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "authenticationStrength": {"id": "s1"}}});
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in policy.to_string().encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        let source = TenantSource {
            policy_files: vec![SourceFile::new("ConditionalAccess/p1.json", utf16)],
            strength_files: vec![SourceFile::new(
                "AuthenticationStrengths/s1.json",
                serde_json::to_vec(
                    &json!({"id": "s1", "displayName": "FIDO", "allowedCombinations": ["fido2"]}),
                )
                .unwrap(),
            )],
            ..Default::default()
        };
        let snapshot = from_source(&source).unwrap();
        assert_eq!(snapshot["policies"][0]["id"], "p1");
        assert_eq!(
            snapshot["directory"]["authenticationStrengthPolicies"][0]["id"],
            "s1"
        );
        // The snapshot loads on its own.
        assert!(compile("snapshot", &snapshot).is_ok());
    }

    #[test]
    fn from_source_reports_core_errors_with_the_file() {
        let source = TenantSource {
            policy_files: vec![SourceFile::new(
                "bad.json",
                br#"{"id":"x","state":"on"}"#.to_vec(),
            )],
            ..TenantSource::default()
        };
        let err = from_source(&source).unwrap_err().to_string();
        assert!(err.contains("bad.json"), "{err}");
    }

    #[test]
    fn diff_lists_each_change() {
        let a = json!({"policies": [policy("p1", "enabled"), policy("p2", "enabled")], "namedLocations": [], "directory": {}});
        let b = json!({"policies": [policy("p1", "disabled"), policy("p3", "enabled")], "namedLocations": [], "directory": {"users": []}});
        let d = diff(&a, &b);
        let changes = d["changes"].as_array().unwrap();
        assert_eq!(changes.len(), 4, "{d}");
        assert_eq!(
            summary(&d),
            "1 policy added, 1 policy modified, 1 policy removed, directory modified"
        );
        assert_eq!(summary(&diff(&a, &a)), "no change");
    }
}

//! The Microsoft Graph PowerShell SDK's `ConvertTo-Json` output, converted to Graph JSON.
//!
//! The SDK serialises its .NET objects: member names in PascalCase (`DisplayName`,
//! `Conditions.Users.IncludeUsers`), dates as `/Date(milliseconds)/`, `AdditionalProperties`
//! bags, and "not set" written as an object whose members are all null. Values keep Graph's
//! spelling. [`convert`] undoes each of these so that the policy reads like a Graph export.

use serde_json::{Map, Value};

/// Whether `value` (a policy, an array of them or a collection) is PascalCase PowerShell
/// output: its first object has `Conditions`, `DisplayName` or `GrantControls` and no
/// camelCase `conditions`.
pub fn is_pascal_case(value: &Value) -> bool {
    let first = match value {
        Value::Array(items) => items.first(),
        Value::Object(o) => match o.get("value").or_else(|| o.get("Value")) {
            Some(Value::Array(items)) => items.first(),
            _ => Some(value),
        },
        _ => None,
    };
    first.and_then(Value::as_object).is_some_and(|o| {
        !o.contains_key("conditions")
            && (o.contains_key("Conditions")
                || o.contains_key("DisplayName")
                || o.contains_key("GrantControls"))
    })
}

/// The Graph JSON of PowerShell SDK output (see the module documentation).
pub fn convert(value: &Value) -> Value {
    convert_at(value, 0)
}

fn convert_at(value: &Value, depth: usize) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| convert_at(v, depth)).collect()),
        Value::String(s) => dotnet_date(s).map_or_else(|| value.clone(), Value::String),
        Value::Object(members) => {
            let mut out = Map::new();
            for (key, v) in members {
                if key == "AdditionalProperties" {
                    // Members the SDK did not model: already Graph-named.
                    if let Value::Object(extra) = v {
                        for (k, x) in extra {
                            out.insert(k.clone(), x.clone());
                        }
                    }
                    continue;
                }
                out.insert(camel(key), convert_at(v, depth + 1));
            }
            // "Not set" is an object of nulls in SDK output; a policy itself stays an object.
            let all_null = !out.is_empty()
                && out
                    .iter()
                    .filter(|(k, _)| !k.contains('@'))
                    .all(|(_, v)| v.is_null());
            if depth >= 1 && all_null {
                Value::Null
            } else {
                Value::Object(out)
            }
        }
        other => other.clone(),
    }
}

/// The pointer into the original SDK output of `pointer`, a pointer into [`convert`]'s result,
/// so that diagnostics name members as the file spells them (`/0/SessionControls/...`).
/// Where the conversion has no counterpart (an object of nulls became `null`), the deepest
/// member that exists in the original is returned.
pub fn original_pointer(original: &Value, pointer: &str) -> String {
    let mut out = String::new();
    let mut node = original;
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        let step: Option<(Vec<String>, &Value)> = match node {
            Value::Array(items) => segment
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i).map(|v| (vec![segment.clone()], v))),
            Value::Object(members) => members
                .iter()
                .find(|(k, _)| k.as_str() != "AdditionalProperties" && camel(k) == segment)
                .map(|(k, v)| (vec![k.clone()], v))
                .or_else(|| {
                    members
                        .get("AdditionalProperties")
                        .and_then(|extra| extra.get(&segment))
                        .map(|v| (vec!["AdditionalProperties".to_owned(), segment.clone()], v))
                }),
            _ => None,
        };
        let Some((keys, next)) = step else { break };
        for key in keys {
            out.push('/');
            out.push_str(&key.replace('~', "~0").replace('/', "~1"));
        }
        node = next;
    }
    out
}

/// `DisplayName` → `displayName`, `AuthenticationStrength@odata.context` →
/// `authenticationStrength@odata.context`; annotations and camelCase names are kept.
fn camel(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(c) if c.is_ascii_uppercase() => {
            let mut out = String::with_capacity(key.len());
            out.push(c.to_ascii_lowercase());
            out.push_str(chars.as_str());
            out
        }
        _ => key.to_owned(),
    }
}

/// `/Date(1618315427741)/` → `2021-04-13T12:03:47Z`.
fn dotnet_date(s: &str) -> Option<String> {
    let inner = s.strip_prefix("/Date(")?.strip_suffix(")/")?;
    let digits = inner.split(['+', '-']).next().filter(|d| !d.is_empty())?;
    let millis: i64 = digits.parse().ok()?;
    Some(crate::time::format_rfc3339(millis.div_euclid(1000)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_map_back_to_the_sdk_spelling() {
        let ps = json!([{
            "DisplayName": "x",
            "SessionControls": {"SignInFrequency": {"Value": 0, "Type": "days"}},
            "Conditions": {"Devices": {"DeviceFilter": null}},
            "AdditionalProperties": {"x@odata.type": "t"}
        }]);
        let pointer = |p: &str| original_pointer(&ps, p);
        assert_eq!(
            pointer("/0/sessionControls/signInFrequency/value"),
            "/0/SessionControls/SignInFrequency/Value"
        );
        assert_eq!(
            pointer("/0/x@odata.type"),
            "/0/AdditionalProperties/x@odata.type"
        );
        // `Devices` (all null) became `null`: the deepest existing member is named.
        assert_eq!(
            pointer("/0/conditions/devices/deviceFilter/rule"),
            "/0/Conditions/Devices/DeviceFilter"
        );
        assert_eq!(pointer(""), "");
        assert_eq!(pointer("/7/displayName"), "");
        for p in [
            "/0/sessionControls/signInFrequency/value",
            "/0/conditions/devices/deviceFilter/rule",
        ] {
            assert!(ps.pointer(&pointer(p)).is_some(), "{p}");
        }
    }

    /// Found by the `tenant_load` fuzz target: an error in converted SDK output pointed at the
    /// camelCase member, which is not in the file.
    #[test]
    fn load_errors_in_sdk_output_point_into_the_file() {
        use crate::{SourceFile, Tenant, TenantSource};
        let ps = json!([{
            "Id": "p1", "DisplayName": "short sessions", "State": "enabled",
            "Conditions": {"Users": {"IncludeUsers": ["All"]},
                           "Applications": {"IncludeApplications": ["All"]},
                           "ClientAppTypes": ["all"]},
            "SessionControls": {"SignInFrequency": {"IsEnabled": true, "Type": "days",
                                "FrequencyInterval": "timeBased", "Value": 0}}
        }]);
        let source = TenantSource {
            policy_files: vec![SourceFile::new("p.json", ps.to_string().into_bytes())],
            ..Default::default()
        };
        let errors = Tenant::load(&source)
            .err()
            .map(|e| e.errors)
            .unwrap_or_default();
        assert!(
            !errors.is_empty(),
            "a sign-in frequency of 0 must be refused"
        );
        let e = &errors[0];
        assert_eq!(e.pointer, "/0/SessionControls/SignInFrequency/Value", "{e}");
        assert!(ps.pointer(&e.pointer).is_some());
    }

    #[test]
    fn converts_names_dates_and_null_objects() {
        let ps = json!([{
            "Id": "p1", "DisplayName": "x", "State": "enabled",
            "CreatedDateTime": "/Date(1618315427741)/",
            "Conditions": {"Users": {"IncludeUsers": ["All"], "IncludeGuestsOrExternalUsers": {"ExternalTenants": null, "GuestOrExternalUserTypes": null}},
                           "Applications": {"IncludeApplications": ["All"], "ApplicationFilter": {"Mode": null, "Rule": null}},
                           "ClientAppTypes": ["all"]},
            "GrantControls": {"Operator": "OR", "BuiltInControls": ["mfa"],
                              "AuthenticationStrength": {"Id": null, "AllowedCombinations": null},
                              "AuthenticationStrength@odata.context": "x"},
            "AdditionalProperties": {}
        }]);
        assert!(is_pascal_case(&ps));
        let g = convert(&ps);
        assert!(!is_pascal_case(&g));
        assert_eq!(g[0]["createdDateTime"], json!("2021-04-13T12:03:47Z"));
        assert_eq!(g[0]["conditions"]["users"]["includeUsers"], json!(["All"]));
        assert_eq!(
            g[0]["conditions"]["users"]["includeGuestsOrExternalUsers"],
            Value::Null
        );
        assert_eq!(
            g[0]["conditions"]["applications"]["applicationFilter"],
            Value::Null
        );
        assert_eq!(g[0]["grantControls"]["authenticationStrength"], Value::Null);
        assert_eq!(g[0]["grantControls"]["builtInControls"], json!(["mfa"]));
        assert!(g[0].get("AdditionalProperties").is_none());
    }

    #[test]
    fn epoch_dates() {
        assert_eq!(
            dotnet_date("/Date(0)/").as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        assert_eq!(
            dotnet_date("/Date(951782400000)/").as_deref(),
            Some("2000-02-29T00:00:00Z")
        );
        assert_eq!(dotnet_date("2021-01-01"), None);
    }
}

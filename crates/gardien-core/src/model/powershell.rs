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

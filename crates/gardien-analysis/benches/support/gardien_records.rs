//! Sign-in records as `gardien serve` logs them, for the replay bench and the
//! `replay_distinct` example (which include this file with `#[path]`).

use gardien_core::{CompiledTenant, Decision, Verdict};
use serde_json::{Value, json};

/// A record's `status.errorCode`: 0 allowed, 50074 challenged, the verdict's code denied.
pub fn status_code(v: &Verdict) -> u32 {
    match v.decision {
        Decision::Allow => 0,
        Decision::Challenge => 50074,
        Decision::Deny => v.error_code.unwrap_or(53003),
    }
}

/// `appliedConditionalAccessPolicies` with only the enforced policies that applied.
pub fn compact_applied(tenant: &CompiledTenant, v: &Verdict) -> Value {
    let list: Vec<Value> = v
        .applied
        .iter()
        .filter_map(|i| tenant.tenant.policies.get(i).map(|p| (i, p)))
        .map(|(i, p)| {
            json!({"id": p.id, "displayName": p.display_name,
                   "result": if Some(i) == v.deciding_policy { "failure" } else { "success" },
                   "enforcedGrantControls": [], "enforcedSessionControls": []})
        })
        .collect();
    Value::Array(list)
}

/// Sign-in `i` as `gardien serve` logs it (JSON line), with its per-policy array.
pub fn gardien_record(i: usize, request: &Value, v: &Verdict, applied: Value) -> String {
    json!({
        "id": format!("{i:08x}-0000-4000-8000-000000000000"),
        "createdDateTime": "2026-11-20T08:00:00.000Z",
        "userId": request["signInIdentity"]["userId"],
        "appId": request["signInContext"]["includeApplications"][0],
        "appDisplayName": "App",
        "correlationId": format!("{i:08x}-0000-4000-8000-000000000000"),
        "status": {"errorCode": status_code(v)},
        "conditionalAccessStatus": if v.decision != Decision::Allow { "failure" } else if v.applied.is_empty() { "notApplied" } else { "success" },
        "appliedConditionalAccessPolicies": applied,
        "gardien": {"decision": v.decision.as_str(), "requiredControls": [], "request": request},
    })
    .to_string()
        + "\n"
}

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! `gardien explain` end to end on the demo tenant: the smallest user and admin changes
//! that would allow a denied or challenged sign-in.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn explain(request: &str) -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO_BIN_EXE_gardien"))
        .args(["explain", "--json", "--tenant"])
        .arg(root.join("examples/demo/tenant"))
        .arg("--request")
        .arg(root.join("examples/demo/requests").join(request))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn paths(v: &Value) -> Vec<Vec<String>> {
    v["userPaths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

#[test]
fn admin_needing_mfa_completes_mfa_or_is_excluded() {
    let v = explain("admin-needs-mfa.json");
    assert_eq!(v["decision"], "challenge");
    assert!(paths(&v).contains(&vec!["completeMfa".to_owned()]), "{v}");
    assert_eq!(v["adminPaths"][0]["changes"][0]["kind"], "excludeUser");
    assert_eq!(
        v["adminPaths"][0]["changes"][0]["policyId"],
        "ca03-0000-4000-8000-000000000000"
    );
}

#[test]
fn laptop_abroad_needs_two_changes() {
    let v = explain("laptop-abroad.json");
    assert_eq!(v["decision"], "deny");
    let p = paths(&v);
    assert!(!p.is_empty());
    // Abroad on a VPN in a browser on payroll: location and device/app both block, so no
    // single change is enough (the unregistered laptop must be registered before it can be
    // made compliant: that path takes three changes).
    assert!(p.iter().all(|set| set.len() >= 2), "{p:?}");
    assert!(
        p.contains(&vec![
            "registerDevice".to_owned(),
            "makeDeviceCompliant".to_owned(),
            "disconnectVpn".to_owned()
        ]),
        "{p:?}"
    );
    assert!(
        p.contains(&vec![
            "disconnectVpn".to_owned(),
            "useDesktopApp".to_owned()
        ]),
        "{p:?}"
    );
    assert!(
        v["adminPaths"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["changes"].as_array().unwrap().len() == 2)
    );
}

#[test]
fn allowed_sign_in_needs_nothing() {
    let v = explain("desktop-app-allowed.json");
    assert_eq!(v["decision"], "allow");
    assert!(paths(&v).is_empty());
}

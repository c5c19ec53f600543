#![allow(clippy::panic, reason = "test failures report through panics")]

//! End-to-end tests of `gardien signin` and `gardien evaluate --http-request`: a saved HTTP
//! request behind a proxy becomes a sign-in (client IP through trusted proxies, GeoIP,
//! User-Agent, device registry and compliance) that the core then decides.

mod support;

use support::{cli::gardien, repo_root};

use serde_json::Value;
use std::path::PathBuf;

fn path(rel: &str) -> String {
    repo_root().join(rel).display().to_string()
}

fn geoip_corpus() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/corpus/geoip");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: corpus folder {} absent", dir.display());
        None
    }
}

const PAYROLL: &str = "c0ffee00-0000-4000-8000-000000000100";

fn proxy_args() -> Vec<String> {
    [
        "--headers",
        &path("examples/demo/signals/laptop-via-proxy.txt"),
        "--peer",
        "10.0.0.5",
        "--trusted-proxy",
        "10.0.0.0/24",
        "--user-header",
        "x-forwarded-user",
        "--app",
        PAYROLL,
        "--device-header",
        "x-client-cert-sha256",
        "--devices",
        &path("examples/demo/signals/devices.json"),
        "--compliance",
        &path("examples/demo/signals/compliance.json"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn signin(extra: &[&str]) -> (i32, Value, String) {
    let mut args: Vec<String> = vec!["signin".into()];
    args.extend(proxy_args());
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("--json".into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = gardien(&refs);
    (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}

#[test]
fn signin_through_a_trusted_proxy_feeds_evaluate() {
    let (code, body, err) = signin(&[]);
    assert_eq!(code, 0, "{err}");
    let c = &body["signInConditions"];
    assert_eq!(
        c["ipAddress"], "81.2.69.160",
        "rightmost untrusted hop, not 6.6.6.6"
    );
    assert_eq!(c["devicePlatform"], "windows");
    assert_eq!(c["clientAppType"], "browser");
    assert_eq!(c["deviceInfo"]["displayName"], "LAPTOP-ALICE");
    assert_eq!(
        c["deviceInfo"]["isCompliant"], false,
        "10.0.19044 < 10.0.19045"
    );
    assert_eq!(c["deviceInfo"]["extensionAttribute1"], "finance");
    assert_eq!(
        body["signInIdentity"]["userId"],
        "a1a1a1a1-0000-4000-8000-000000000001"
    );
    // The body is a valid evaluate request: the demo tenant blocks the outdated Windows.
    let tmp = std::env::temp_dir().join(format!("gardien-signin-{}.json", std::process::id()));
    std::fs::write(&tmp, body.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let tenant = path("examples/demo/tenant");
    let request = tmp.display().to_string();
    let (code, out, err) = gardien(&[
        "evaluate",
        "--tenant",
        &tenant,
        "--request",
        &request,
        "--json",
    ]);
    let _ = std::fs::remove_file(&tmp);
    assert_eq!(code, 2, "{out}{err}");
    // The same request evaluated directly from the HTTP head gives the same decision.
    let mut args: Vec<String> = vec![
        "evaluate".into(),
        "--tenant".into(),
        tenant,
        "--json".into(),
        "--http-request".into(),
    ];
    args.extend(proxy_args().into_iter().skip(1));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code2, out2, err2) = gardien(&refs);
    assert_eq!(code2, 2, "{err2}");
    let a: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    let b: Value = serde_json::from_str(&out2).unwrap_or(Value::Null);
    assert_eq!(a["errorCode"], b["errorCode"]);
    assert_eq!(
        a["appliedConditionalAccessPolicies"],
        b["appliedConditionalAccessPolicies"]
    );
}

#[test]
fn headers_from_an_untrusted_peer_count_for_nothing() {
    let headers = path("examples/demo/signals/laptop-via-proxy.txt");
    let (code, _, err) = gardien(&[
        "signin",
        "--headers",
        &headers,
        "--peer",
        "203.0.113.9",
        "--user-header",
        "x-forwarded-user",
        "--app",
        PAYROLL,
    ]);
    assert_eq!(code, 1, "the user header of an untrusted peer is ignored");
    assert!(err.contains("no user"), "{err}");
    let (code, out, err) = gardien(&[
        "signin",
        "--headers",
        &headers,
        "--peer",
        "203.0.113.9",
        "--user",
        "u1",
        "--app",
        PAYROLL,
        "--device-header",
        "x-client-cert-sha256",
        "--devices",
        &path("examples/demo/signals/devices.json"),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let body: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    assert_eq!(body["signInConditions"]["ipAddress"], "203.0.113.9");
    assert!(
        body["signInConditions"].get("deviceInfo").is_none(),
        "a device header from an untrusted peer is ignored: unregistered"
    );
}

#[test]
fn geoip_country_anonymous_network_and_risk() {
    let Some(dir) = geoip_corpus() else { return };
    let city = dir.join("GeoIP2-City-Test.mmdb").display().to_string();
    let anonymous = dir
        .join("GeoIP2-Anonymous-IP-Test.mmdb")
        .display()
        .to_string();
    let (code, body, err) = signin(&["--geoip", &city, "--geoip-anonymous", &anonymous]);
    assert_eq!(code, 0, "{err}");
    let c = &body["signInConditions"];
    assert_eq!(c["country"], "GB");
    assert_eq!(
        c["signInRiskLevel"], "high",
        "81.2.69.0/24 is a Tor exit in the test db"
    );
    assert_eq!(body["session"]["anonymousNetwork"], true);
    // Human output says where each value came from.
    let mut args: Vec<String> = vec!["signin".into()];
    args.extend(proxy_args());
    args.extend(["--geoip".to_owned(), city]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, text, _) = gardien(&refs);
    assert!(
        text.contains("client IP 81.2.69.160 (forwarding header"),
        "{text}"
    );
    assert!(text.contains("country GB (GeoIP)"), "{text}");
    assert!(
        text.contains("OS version 10.0.19044 is below the minimum 10.0.19045"),
        "{text}"
    );
}

#[test]
fn broken_inputs_exit_1_and_say_which_file() {
    if let Some(dir) = geoip_corpus() {
        let broken = dir
            .join("GeoIP2-City-Test-Invalid-Node-Count.mmdb")
            .display()
            .to_string();
        let (code, out, err) = signin(&["--geoip", &broken]);
        assert_eq!(code, 1);
        assert!(out.is_null());
        assert!(
            err.contains("GeoIP2-City-Test-Invalid-Node-Count.mmdb"),
            "{err}"
        );
    }
    let (code, _, err) = gardien(&[
        "signin",
        "--headers",
        "/nonexistent/req.txt",
        "--user",
        "u",
        "--app",
        "a",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/req.txt"), "{err}");
    let (code, _, err) = gardien(&["evaluate", "--tenant", "x"]);
    assert_eq!(
        code, 1,
        "usage errors exit 1, not clap's 2 (which means deny): {err}"
    );
    let (code, _, err) = signin(&["--trusted-proxy", "10.0.0.0/33"]);
    assert_eq!(code, 1);
    assert!(err.contains("10.0.0.0/33"), "{err}");
}

//! One sign-in log contract: the server writes (`gardien_server::signin_record::build`) and
//! replay reads (`gardien_analysis::replay::rebuild`) one record type,
//! `gardien_core::signin_log::Record`. Properties: rebuild(write(s)) = s for the exact
//! request gardien keeps; the Graph members alone (an Entra export has only those) give back
//! the client app, address, country, platform and device state through the shared
//! vocabularies (`gardien_core::signin_log`); and the record has one JSON rendering: the text
//! read back and written again is the very text the server logged.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use gardien_analysis::replay::rebuild;
use gardien_core::model::enums::DevicePlatform;
use gardien_core::signin_log::{Element, Record};
use gardien_core::{CompiledTenant, Decision, SignIn, SourceFile, Tenant, TenantSource};
use gardien_server::denial::DeviceSummary;
use gardien_server::signin_record::{self, DenialParts, RecordParts};
use gardien_signals::Derived;
use gardien_signals::client_ip::{ClientIp, IpSource};
use gardien_signals::os_version::OsVersion;
use proptest::prelude::*;
use serde_json::{Value, json};

fn tenant() -> CompiledTenant {
    let policies = json!({"policies": [
        {"id": "mfa", "displayName": "MFA", "state": "enabled",
         "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                        "clientAppTypes": ["browser"]},
         "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}},
        {"id": "legacy", "displayName": "Legacy", "state": "enabled",
         "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                        "clientAppTypes": ["exchangeActiveSync", "other"]},
         "grantControls": {"operator": "OR", "builtInControls": ["block"]}}
    ]});
    let source = TenantSource {
        combined: Some(SourceFile::new(
            "t.json",
            serde_json::to_vec(&policies).unwrap(),
        )),
        ..TenantSource::default()
    };
    CompiledTenant::compile(Tenant::load(&source).unwrap())
}

prop_compose! {
    fn request()(
        user in 0u8..4,
        client in prop::option::of(prop::sample::select(vec!["browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "other"])),
        platform in prop::option::of(prop::sample::select(vec!["windows", "macOS", "iOS", "android", "linux"])),
        device in prop::option::of((prop::sample::select(vec!["AzureAD", "ServerAD", "Workplace"]), any::<bool>(), 0u16..30)),
        ip in prop::option::of(any::<[u8; 4]>()),
        country in prop::option::of(prop::sample::select(vec!["FR", "US", "DE", "JP"])),
        risk in prop::option::of(prop::sample::select(vec!["none", "low", "medium", "high"])),
        mfa in any::<bool>(),
    ) -> Value {
        let mut c = serde_json::Map::new();
        if let Some(x) = client { c.insert("clientAppType".into(), json!(x)); }
        if let Some(x) = platform { c.insert("devicePlatform".into(), json!(x)); }
        if let Some((trust, compliant, n)) = device {
            c.insert("deviceInfo".into(), json!({"deviceId": format!("dev-{n}"), "trustType": trust,
                                                "isCompliant": compliant}));
        }
        if let Some(a) = ip {
            c.insert("ipAddress".into(), json!(format!("{}.{}.{}.{}", a[0].max(1), a[1], a[2], a[3])));
        }
        if let Some(x) = country { c.insert("country".into(), json!(x)); }
        if let Some(x) = risk { c.insert("signInRiskLevel".into(), json!(x)); }
        let mut r = json!({
            "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": format!("user-{user}")},
            "signInContext": {"@odata.type": "#microsoft.graph.applicationContext",
                              "includeApplications": ["00000003-0000-0ff1-ce00-000000000000"]},
            "signInConditions": c,
        });
        if mfa {
            r["session"] = json!({"authenticationMethods": ["password", "microsoftAuthenticatorPush"]});
        }
        r
    }
}

/// What the server derives besides the sign-in, as a Graph evaluate request gives it.
fn derived(s: &SignIn) -> Derived {
    Derived {
        client_ip: ClientIp {
            address: s.ip_address,
            source: IpSource::Given,
        },
        peer_trusted: false,
        user_source: "given".to_owned(),
        place: None,
        anonymous: None,
        geoip_errors: Vec::new(),
        user_agent: false,
        platform: s.device_platform.unwrap_or(DevicePlatform::Unknown),
        os_version: None::<OsVersion>,
        client_app_type: s
            .client_app_type
            .unwrap_or(gardien_core::model::enums::ClientAppType::Browser),
        device_identifier: None,
        device_registered: s.device.is_some(),
        compliance_failures: Vec::new(),
        risk: None,
    }
}

/// write(s): the record text the server logs for `s` decided by `tenant`.
fn write(tenant: &CompiledTenant, s: &SignIn, created_ms: i64) -> (String, Decision, Option<u32>) {
    let evaluation = tenant.evaluate(s);
    let verdict = evaluation.verdict;
    let device = DeviceSummary {
        registered: s.device.is_some(),
        compliant: s.device.as_ref().and_then(|d| d.is_compliant),
        trust_type: None,
        platform: "windows".to_owned(),
        os_version: Some("10.0.19045".to_owned()),
        client_app: "browser".to_owned(),
    };
    let text = signin_record::build(
        s,
        &derived(s),
        &RecordParts {
            correlation_id: "00000000-0000-0000-0000-000000000001",
            created_ms,
            user_principal_name: Some("alice@contoso.com"),
            user_display_name: None,
            app_display_name: "SharePoint",
            user_agent: Some("Mozilla/5.0 \"quoted\" \u{7f}"),
            verdict: &verdict,
            applied: signin_record::Applied::Records(gardien_core::report::AppliedPoliciesJson {
                tenant,
                evaluation: &evaluation,
            }),
            mfa_done: false,
            policy_version: 1,
            denial: (verdict.decision != Decision::Allow).then_some(DenialParts {
                key_sha256: "ab12",
                device: &device,
            }),
        },
    );
    let code = (verdict.decision == Decision::Deny)
        .then_some(verdict.error_code)
        .flatten();
    (text, verdict.decision, code)
}

fn read(text: &str) -> rebuild::Rebuilt {
    let element: Element<'_> = serde_json::from_str(text).unwrap();
    rebuild::rebuild(&element).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn rebuild_of_write_is_the_sign_in(req in request(), secs in 1_600_000_000i64..1_900_000_000) {
        let tenant = tenant();
        let mut s = SignIn::from_value("request.json", &req).unwrap();
        s.at = Some(secs);
        let (text, decision, code) = write(&tenant, &s, secs * 1000);
        let r = read(&text);
        prop_assert!(r.exact);
        prop_assert_eq!(&r.signin, &s);
        let logged = r.logged.unwrap();
        prop_assert_eq!(logged.decision, decision);
        prop_assert_eq!(logged.error_code, code);
    }

    #[test]
    fn graph_members_alone_give_back_what_they_carry(req in request()) {
        let tenant = tenant();
        let s = SignIn::from_value("request.json", &req).unwrap();
        let (text, decision, code) = write(&tenant, &s, 1_700_000_000_000);
        let mut record: Value = serde_json::from_str(&text).unwrap();
        record.as_object_mut().unwrap().remove("gardien");
        let r = read(&record.to_string());
        prop_assert!(!r.exact);
        if s.client_app_type.is_some() {
            prop_assert_eq!(r.signin.client_app_type, s.client_app_type);
        }
        prop_assert_eq!(r.signin.ip_address, s.ip_address);
        prop_assert_eq!(r.signin.country, s.country);
        prop_assert_eq!(r.signin.device_platform, Some(derived(&s).platform));
        match (&s.device, &r.signin.device) {
            (None, None) => {}
            (Some(a), Some(b)) => {
                prop_assert_eq!(&a.trust_type, &b.trust_type);
                prop_assert_eq!(a.is_compliant.unwrap_or(false), b.is_compliant.unwrap_or(false));
                prop_assert_eq!(&a.device_id, &b.device_id);
            }
            (a, b) => prop_assert!(false, "device {:?} rebuilt as {:?}", a, b),
        }
        let logged = r.logged.unwrap();
        prop_assert_eq!(logged.decision, decision);
        prop_assert_eq!(logged.error_code, code);
    }

    #[test]
    fn the_record_has_one_rendering(req in request(), secs in 1_600_000_000i64..1_900_000_000) {
        let tenant = tenant();
        let mut s = SignIn::from_value("request.json", &req).unwrap();
        s.at = Some(secs - 3600);
        let (text, _, _) = write(&tenant, &s, secs * 1000);
        let Element::Record(record) = serde_json::from_str::<Element<'_>>(&text).unwrap() else {
            panic!("not a record: {text}");
        };
        prop_assert_eq!(serde_json::to_string(&record).unwrap(), text);
    }
}

/// The members a Graph reader expects are where Graph puts them, with the test's own model
/// of the record (not the producing type).
#[test]
fn written_record_has_the_graph_shape() {
    let tenant = tenant();
    let req = json!({
        "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": "user-1"},
        "signInContext": {"@odata.type": "#microsoft.graph.applicationContext",
                          "includeApplications": ["00000003-0000-0ff1-ce00-000000000000"]},
        "signInConditions": {"clientAppType": "exchangeActiveSync", "country": "FR",
                             "ipAddress": "203.0.113.9"},
    });
    let s = SignIn::from_value("request.json", &req).unwrap();
    let (text, decision, _) = write(&tenant, &s, 1_700_000_000_000);
    assert_eq!(decision, Decision::Deny);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["createdDateTime"], "2023-11-14T22:13:20.000Z");
    assert_eq!(v["userId"], "user-1");
    assert_eq!(v["userDisplayName"], Value::Null);
    assert_eq!(v["clientAppUsed"], "Exchange ActiveSync");
    assert_eq!(v["ipAddress"], "203.0.113.9");
    assert_eq!(v["status"]["errorCode"], 53003);
    assert_eq!(v["status"]["additionalDetails"], "AADSTS53003");
    assert_eq!(v["location"]["countryOrRegion"], "FR");
    assert_eq!(v["conditionalAccessStatus"], "failure");
    assert_eq!(v["riskEventTypes_v2"], json!([]));
    let legacy = &v["appliedConditionalAccessPolicies"][1];
    assert_eq!(legacy["id"], "legacy");
    assert_eq!(legacy["result"], "failure");
    assert_eq!(legacy["enforcedGrantControls"], json!(["Block"]));
    assert_eq!(v["gardien"]["decision"], "deny");
    assert_eq!(v["gardien"]["policyVersion"], 1);
    assert_eq!(v["gardien"]["denial"]["keySha256"], "ab12");
    assert_eq!(v["gardien"]["denial"]["device"]["platform"], "windows");
    assert!(v["gardien"]["request"]["signInIdentity"].is_object());
    assert!(v["gardien"].get("evaluatedAt").is_none(), "{text}");
    // Read with the one type: every member the server wrote is there.
    let Element::Record(r) = serde_json::from_str::<Element<'_>>(&text).unwrap() else {
        panic!("not a record");
    };
    let r: &Record<'_> = &r;
    let entries: Vec<_> = r.applied_policies.entries().collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].result, Some("failure"));
    assert!(r.gardien.get().and_then(|g| g.denial.get()).is_some());
}

//! Structure-aware tenants: policies, named locations and a directory built from a small
//! vocabulary (so that ids refer to each other and most policies are valid), then sign-ins
//! built the same way.
//!
//! Checks, for a tenant that loads: it compiles; for every sign-in the fast decision
//! (`decide`, with its memo of candidate policies) equals the recorded evaluation's verdict
//! (`evaluate`, `evaluate_outcomes`) and what-if lists every policy;
//! and report-only and disabled policies never change the decision: the same tenant without
//! them decides the same (decision, error code, required controls). A tenant that does not
//! load gives errors that name their file, say why and point inside it.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use gardien_core::{CompiledTenant, SignIn, SourceFile, Tenant, TenantSource};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

const USERS: [&str; 5] = ["u0", "u1", "u2", "g-guest", "nobody"];
const GROUPS: [&str; 4] = ["g0", "g1", "g2", "g3"];
const ROLES: [&str; 2] = [
    "62e90394-69f5-4237-9190-012177145e10",
    "194ae4cb-b126-40b2-bd5b-6091b380977d",
];
const APPS: [&str; 6] = [
    "All",
    "Office365",
    "MicrosoftAdminPortals",
    "app-a",
    "00000002-0000-0ff1-ce00-000000000000",
    "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
];
const CLIENT_APPS: [&str; 6] = [
    "all",
    "browser",
    "mobileAppsAndDesktopClients",
    "exchangeActiveSync",
    "other",
    "easSupported",
];
const PLATFORMS: [&str; 8] = [
    "all",
    "android",
    "iOS",
    "windows",
    "windowsPhone",
    "macOS",
    "linux",
    "unknownFutureValue",
];
const LOCATIONS: [&str; 5] = [
    "All",
    "AllTrusted",
    "loc-ip",
    "loc-country",
    "00000000-0000-0000-0000-000000000000",
];
const RISKS: [&str; 4] = ["none", "low", "medium", "high"];
const CONTROLS: [&str; 6] = [
    "block",
    "mfa",
    "compliantDevice",
    "domainJoinedDevice",
    "approvedApplication",
    "compliantApplication",
];
const RULES: [&str; 4] = [
    "device.isCompliant -eq True",
    "device.trustType -ne \"ServerAD\" -or device.displayName -startsWith \"kiosk\"",
    "-not (device.extensionAttribute1 -eq \"SAW\")",
    "device.operatingSystemVersion -in [\"10.0.19045\", \"10.0.22631\"]",
];
const IPS: [&str; 5] = [
    "10.1.2.3",
    "203.0.113.5",
    "::ffff:10.1.0.9",
    "2001:db8::1",
    "198.51.100.1",
];
const COUNTRIES: [&str; 3] = ["FR", "US", "DE"];
const METHODS: [&str; 4] = ["password", "microsoftAuthenticatorPush", "fido2", "sms"];

fn pick<const N: usize>(list: &[&'static str; N], i: u8) -> &'static str {
    list[usize::from(i) % N]
}

fn picks<const N: usize>(list: &[&'static str; N], items: &[u8]) -> Vec<&'static str> {
    items.iter().take(4).map(|i| pick(list, *i)).collect()
}

#[derive(Arbitrary, Debug)]
struct PolicyInput {
    state: u8,
    include_users: Vec<u8>,
    exclude_users: Vec<u8>,
    include_groups: Vec<u8>,
    exclude_groups: Vec<u8>,
    include_roles: Vec<u8>,
    include_apps: Vec<u8>,
    exclude_apps: Vec<u8>,
    client_apps: Vec<u8>,
    platforms: Option<(Vec<u8>, Vec<u8>)>,
    locations: Option<(Vec<u8>, Vec<u8>)>,
    device_filter: Option<(bool, u8)>,
    sign_in_risk: Vec<u8>,
    user_risk: Vec<u8>,
    controls: Vec<u8>,
    and: bool,
    sign_in_frequency: Option<u8>,
}

impl PolicyInput {
    fn to_json(&self, i: usize) -> Value {
        let mut users = json!({
            "includeUsers": self.include_users.iter().take(3).map(|u| if *u % 7 == 0 { "All" } else { pick(&USERS, *u) }).collect::<Vec<_>>(),
            "excludeUsers": picks(&USERS, &self.exclude_users),
            "includeGroups": picks(&GROUPS, &self.include_groups),
            "excludeGroups": picks(&GROUPS, &self.exclude_groups),
            "includeRoles": picks(&ROLES, &self.include_roles),
        });
        if self.include_users.is_empty()
            && self.include_groups.is_empty()
            && self.include_roles.is_empty()
        {
            users["includeUsers"] = json!(["All"]);
        }
        let mut conditions = json!({
            "users": users,
            "applications": {"includeApplications": if self.include_apps.is_empty() { vec!["All"] } else { picks(&APPS, &self.include_apps) },
                              "excludeApplications": picks(&APPS, &self.exclude_apps).into_iter().filter(|a| *a != "All").collect::<Vec<_>>()},
            "clientAppTypes": if self.client_apps.is_empty() { vec!["all"] } else { picks(&CLIENT_APPS, &self.client_apps) },
            "signInRiskLevels": picks(&RISKS, &self.sign_in_risk),
            "userRiskLevels": picks(&RISKS, &self.user_risk),
        });
        if let Some((include, exclude)) = &self.platforms {
            conditions["platforms"] = json!({"includePlatforms": picks(&PLATFORMS, include),
                                             "excludePlatforms": picks(&PLATFORMS, exclude).into_iter().filter(|p| *p != "all").collect::<Vec<_>>()});
        }
        if let Some((include, exclude)) = &self.locations {
            conditions["locations"] = json!({"includeLocations": picks(&LOCATIONS, include),
                                             "excludeLocations": picks(&LOCATIONS, exclude).into_iter().filter(|l| *l != "All").collect::<Vec<_>>()});
        }
        if let Some((include, rule)) = self.device_filter {
            conditions["devices"] = json!({"deviceFilter": {"mode": if include { "include" } else { "exclude" }, "rule": pick(&RULES, rule)}});
        }
        let mut controls = picks(&CONTROLS, &self.controls);
        if controls.contains(&"block") {
            controls = vec!["block"];
        }
        if controls.is_empty() && self.sign_in_frequency.is_none() {
            controls = vec!["mfa"];
        }
        let mut policy = json!({
            "id": format!("p{i}"),
            "displayName": format!("P{i}"),
            "state": pick(&["enabled", "disabled", "enabledForReportingButNotEnforced"], self.state),
            "conditions": conditions,
            "grantControls": {"operator": if self.and { "AND" } else { "OR" }, "builtInControls": controls},
        });
        if let Some(hours) = self.sign_in_frequency {
            policy["sessionControls"] = json!({"signInFrequency": {"isEnabled": true, "type": "hours", "value": 1 + hours % 23, "frequencyInterval": "timeBased"}});
        }
        policy
    }
}

#[derive(Arbitrary, Debug)]
struct SignInInput {
    user: u8,
    app: u8,
    client_app: Option<u8>,
    platform: Option<u8>,
    ip: Option<u8>,
    country: Option<u8>,
    sign_in_risk: Option<u8>,
    user_risk: Option<u8>,
    device: Option<(bool, bool, u8)>,
    methods: Vec<u8>,
    approved_app: bool,
}

impl SignInInput {
    fn to_json(&self) -> Value {
        let mut conditions = json!({});
        if let Some(c) = self.client_app {
            conditions["clientAppType"] = json!(pick(&CLIENT_APPS, c));
        }
        if let Some(p) = self.platform {
            conditions["devicePlatform"] = json!(pick(&PLATFORMS, p).replace("all", "unknown"));
        }
        if let Some(i) = self.ip {
            conditions["ipAddress"] = json!(pick(&IPS, i));
        }
        if let Some(c) = self.country {
            conditions["country"] = json!(pick(&COUNTRIES, c));
        }
        if let Some(r) = self.sign_in_risk {
            conditions["signInRiskLevel"] = json!(pick(&RISKS, r));
        }
        if let Some(r) = self.user_risk {
            conditions["userRiskLevel"] = json!(pick(&RISKS, r));
        }
        if let Some((compliant, hybrid, name)) = self.device {
            conditions["deviceInfo"] = json!({
                "isCompliant": compliant,
                "trustType": if hybrid { "ServerAD" } else { "AzureAD" },
                "displayName": pick(&["kiosk-1", "laptop", "SAW-7"], name),
                "operatingSystemVersion": pick(&["10.0.19045", "10.0.17763"], name),
                "extensionAttribute1": "SAW",
            });
        }
        let app = pick(&APPS, self.app);
        json!({
            "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": pick(&USERS, self.user)},
            "signInContext": {"@odata.type": "#microsoft.graph.applicationContext",
                              "includeApplications": [if app == "Office365" || app == "MicrosoftAdminPortals" { "app-b" } else { app }]},
            "signInConditions": conditions,
            "session": {"authenticationMethods": picks(&METHODS, &self.methods), "approvedClientApp": self.approved_app},
        })
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    policies: Vec<PolicyInput>,
    trusted_ip_location: bool,
    signins: Vec<SignInInput>,
}

fn directory() -> Value {
    json!({
        "users": [
            {"id": "u0", "memberOf": ["g0"]},
            {"id": "u1", "memberOf": ["g1"], "roles": [ROLES[0]]},
            {"id": "u2", "memberOf": ["g3"]},
            {"id": "g-guest", "userType": "Guest", "memberOf": ["g2"]},
        ],
        "groups": [{"id": "g0", "memberOf": ["g1"]}, {"id": "g1"}, {"id": "g2", "memberOf": ["g0"]}, {"id": "g3", "memberOf": ["g3"]}],
        "mfaTrustedIps": ["198.51.100.0/24"],
    })
}

fn load(policies: &[Value], trusted: bool) -> Result<CompiledTenant, ()> {
    let locations = json!([
        {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "loc-ip", "displayName": "HQ",
         "isTrusted": trusted, "ipRanges": [{"cidrAddress": "10.1.0.0/16"}, {"cidrAddress": "2001:db8::/32"}]},
        {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "loc-country", "displayName": "EU",
         "countriesAndRegions": ["FR", "DE"], "includeUnknownCountriesAndRegions": false},
    ]);
    let tenant =
        json!({"policies": policies, "namedLocations": locations, "directory": directory()});
    let text = tenant.to_string();
    let source = TenantSource {
        combined: Some(SourceFile::new("tenant.json", text.as_bytes())),
        ..Default::default()
    };
    match Tenant::load(&source) {
        Ok(t) => Ok(CompiledTenant::compile(t)),
        Err(errors) => {
            for e in &errors.errors {
                assert_eq!(e.file, "tenant.json", "{e}");
                assert!(!e.reason.is_empty(), "{e:?}");
                assert!(
                    tenant.pointer(&e.pointer).is_some(),
                    "pointer `{}` is not in the tenant: {e}",
                    e.pointer
                );
            }
            Err(())
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let policies: Vec<Value> = input
        .policies
        .iter()
        .take(16)
        .enumerate()
        .map(|(i, p)| p.to_json(i))
        .collect();
    let Ok(tenant) = load(&policies, input.trusted_ip_location) else {
        return;
    };
    let enforced: Vec<Value> = policies
        .iter()
        .filter(|p| p["state"] == "enabled")
        .cloned()
        .collect();
    let Ok(enforced) = load(&enforced, input.trusted_ip_location) else {
        panic!("the enabled policies of a tenant that loads do not load");
    };
    for s in input.signins.iter().take(8) {
        let request = s.to_json();
        let signin = match SignIn::from_value("request.json", &request) {
            Ok(signin) => signin,
            Err(e) => panic!("generated request {request} does not parse: {e}"),
        };
        let evaluation = tenant.evaluate(&signin);
        assert_eq!(
            tenant.decide(&signin),
            evaluation.verdict,
            "decide and evaluate disagree on {request}"
        );
        assert_eq!(
            tenant.evaluate_outcomes(&signin).verdict,
            evaluation.verdict
        );
        assert_eq!(tenant.what_if(&signin).len(), policies.len());
        let v = evaluation.verdict;
        let w = enforced.decide(&signin);
        assert_eq!(
            (v.decision, v.error_code, v.required),
            (w.decision, w.error_code, w.required),
            "report-only or disabled policies changed the decision on {request}"
        );
    }
});

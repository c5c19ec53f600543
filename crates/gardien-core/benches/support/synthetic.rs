//! A generated tenant at the size docs/design.md's speed targets name: 200 policies, 195 IP named
//! locations of 2000 ranges each (390,000 ranges, IPv4 and IPv6), 2000 users in 300 nested
//! groups, and a realistic mix of sign-in requests. Deterministic (seeded xorshift), written
//! as the Graph JSON an admin would export so that loading is measured too.
//!
//! Shared by `benches/decision.rs` and `tests/synthetic_tenant.rs` (which keeps this
//! generator honest: the tenant must load, and every request must parse), and by the
//! side-by-side comparison with Cedar and regorus in `bench/engines/`, which uses
//! [`generate_sized`]: the same generator at another policy count, with varied device
//! filters and richer devices and sessions ([`Shape`]). [`generate`] is unchanged by it.
#![allow(
    dead_code,
    reason = "shared by a bench and a test through #[path]; each uses part of it"
)]

use gardien_core::ids::{
    OFFICE365_APPS, ROLE_NAMES, STRENGTH_MFA, STRENGTH_PASSWORDLESS, STRENGTH_PHISHING_RESISTANT,
};
use gardien_core::network::{Cidr, parse_cidr};
use gardien_core::{SourceFile, TenantSource};
use serde_json::{Value, json};

/// Sizes of the generated tenant.
pub const POLICIES: usize = 200;
/// Named locations (the Entra maximum).
pub const LOCATIONS: usize = 195;
/// Ranges per named location (the Entra maximum).
pub const RANGES_PER_LOCATION: usize = 2000;
/// Users in the directory.
pub const USERS: usize = 2000;
/// Groups in the directory.
pub const GROUPS: usize = 300;
/// Resource applications.
pub const APPS: usize = 40;

/// Small deterministic PRNG (xorshift64*), so the tenant is the same on every machine.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    /// Next 64 random bits.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// Between 1 and `most` distinct indices below `n`.
    pub fn some(&mut self, most: usize, n: usize) -> Vec<usize> {
        let k = 1 + self.below(most);
        let mut out: Vec<usize> = Vec::with_capacity(k);
        while out.len() < k.min(n) {
            let i = self.below(n);
            if !out.contains(&i) {
                out.push(i);
            }
        }
        out
    }
}

fn guid(kind: u32, i: usize) -> String {
    format!("{kind:08x}-0000-4000-8000-{i:012x}")
}
fn user_id(i: usize) -> String {
    guid(0x5e5e_0001, i)
}
fn group_id(i: usize) -> String {
    guid(0x6a6a_0002, i)
}
fn app_id(i: usize) -> String {
    guid(0xa9a9_0003, i)
}
fn location_id(i: usize) -> String {
    guid(0x10c0_0004, i)
}

const COUNTRIES: &[&str] = &[
    "FR", "DE", "US", "GB", "BR", "IN", "CN", "JP", "NL", "ES", "IT", "CA", "AU", "RU", "NG", "ZA",
];
const PLATFORMS: &[&str] = &[
    "android",
    "iOS",
    "windows",
    "macOS",
    "linux",
    "windowsPhone",
];
const CLIENT_TYPES: &[&str] = &[
    "browser",
    "browser",
    "browser",
    "mobileAppsAndDesktopClients",
    "mobileAppsAndDesktopClients",
    "exchangeActiveSync",
    "other",
];
const RISK: &[&str] = &["none", "none", "none", "none", "low", "medium", "high"];
const METHODS: &[&[&str]] = &[
    &["password"],
    &["password", "microsoftAuthenticatorPush"],
    &["password", "sms"],
    &["windowsHelloForBusiness"],
    &["fido2"],
];

/// A generated tenant: the files as `gardien` would read them, plus request bodies.
pub struct Synthetic {
    /// Policies, named locations and directory.
    pub source: TenantSource,
    /// What If request bodies (docs/design.md request contract).
    pub requests: Vec<Value>,
}

/// One random range: IPv4 /16–/32 (three in four) or IPv6 /32–/64.
fn random_range(rng: &mut Rng) -> (String, bool) {
    if rng.chance(75) {
        let prefix = 16 + rng.below(17) as u32;
        let addr = (rng.next() as u32) & (u32::MAX.checked_shl(32 - prefix).unwrap_or(0));
        (format!("{}/{prefix}", std::net::Ipv4Addr::from(addr)), true)
    } else {
        let prefix = 32 + rng.below(33) as u32;
        let high = ((0x2001_0db8_u128) << 96) | ((rng.next() as u128) << 32);
        let addr = high & (u128::MAX << (128 - prefix));
        (
            format!("{}/{prefix}", std::net::Ipv6Addr::from(addr)),
            false,
        )
    }
}

/// 195 × 2000 ranges with prefix lengths uniform over /9–/32 (IPv4, seven in ten) and
/// /9–/128 (IPv6) anywhere in the space: the worst case for the interval index, where broad
/// ranges overlap heavily and nearly every interval carries its own set of locations.
pub fn uniform_ranges(seed: u64) -> Vec<(Cidr, u8)> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(LOCATIONS * RANGES_PER_LOCATION);
    for location in 0..LOCATIONS {
        for _ in 0..RANGES_PER_LOCATION {
            let text = if rng.chance(70) {
                format!(
                    "{}/{}",
                    std::net::Ipv4Addr::from(rng.next() as u32),
                    9 + rng.below(24)
                )
            } else {
                let address = (u128::from(rng.next()) << 64) | u128::from(rng.next());
                format!(
                    "{}/{}",
                    std::net::Ipv6Addr::from(address),
                    9 + rng.below(120)
                )
            };
            if let Ok(cidr) = parse_cidr(&text) {
                out.push((cidr, location as u8));
            }
        }
    }
    out
}

/// An address inside `cidr` (for requests that come from a named location).
fn address_in(cidr: &str, rng: &mut Rng) -> String {
    let Some((addr, prefix)) = cidr.split_once('/') else {
        return cidr.to_owned();
    };
    let prefix: u32 = prefix.parse().unwrap_or(32);
    if let Ok(v4) = addr.parse::<std::net::Ipv4Addr>() {
        let host = (rng.next() as u32) & u32::MAX.checked_shr(prefix).unwrap_or(0);
        std::net::Ipv4Addr::from(u32::from(v4) | host).to_string()
    } else if let Ok(v6) = addr.parse::<std::net::Ipv6Addr>() {
        let host = (rng.next() as u128) & u128::MAX.checked_shr(prefix).unwrap_or(0);
        std::net::Ipv6Addr::from(u128::from(v6) | host).to_string()
    } else {
        addr.to_owned()
    }
}

/// What a generated tenant looks like beyond its seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Number of policies.
    pub policies: usize,
    /// Device filters drawn from [`VARIED_DEVICE_RULES`] (every operator, `-not`, nesting)
    /// in three policies in ten, a break-glass group (one user in ten) excluded by half of
    /// the policies that have an exclusion, and requests whose devices carry more properties (some
    /// missing, mixed case) and whose sessions sometimes hold an approved client app, an app
    /// protection policy or a changed password. Off, the generator draws exactly what
    /// [`generate`] always drew.
    pub varied: bool,
}

impl Shape {
    /// The shape of [`generate`]: 200 policies, one device filter rule.
    pub const DEFAULT: Shape = Shape {
        policies: POLICIES,
        varied: false,
    };
}

/// The device filter rule of [`generate`] (include or exclude mode).
pub const DEFAULT_DEVICE_RULE: &str = "device.trustType -eq \"ServerAD\" -or (device.isCompliant -eq True -and device.operatingSystem -startsWith \"Windows\")";

/// Device filter rules of the varied shape: every comparison operator, `-not`, nesting,
/// null comparisons, literals in another case than the devices' values.
pub const VARIED_DEVICE_RULES: &[&str] = &[
    DEFAULT_DEVICE_RULE,
    "device.manufacturer -in [\"Microsoft\", \"dell\", \"Lenovo\"] -and device.deviceOwnership -eq \"Company\"",
    "device.model -contains \"surface\" -or device.displayName -startsWith \"KIOSK\"",
    "device.operatingSystem -ne \"Android\" -and device.trustType -ne \"Workplace\"",
    "device.displayName -contains \"-ADM-\" -or (device.manufacturer -eq \"Apple\" -and device.isCompliant -ne True)",
    "-not (device.operatingSystemVersion -startsWith \"10.0.1\") -and device.model -notContains \"iPhone\"",
    "device.displayName -endsWith \"-042\" -or device.manufacturer -notIn [\"Apple\", \"Samsung\"]",
    "device.model -notStartsWith \"Galaxy\" -and (device.deviceOwnership -eq null -or device.operatingSystemVersion -notEndsWith \".0\")",
    "device.isCompliant -eq False -or (device.trustType -ne \"azuread\" -and device.operatingSystem -in [\"windows\", \"MacMDM\"])",
];

/// Builds the tenant and `requests` sign-in requests from `seed` ([`Shape::DEFAULT`]).
pub fn generate(seed: u64, requests: usize) -> Synthetic {
    generate_shaped(seed, requests, Shape::DEFAULT)
}

/// The same generator at `policies` policies, varied device filters and richer requests
/// (`Shape { policies, varied: true }`): the tenant of the Cedar / regorus comparison.
pub fn generate_sized(seed: u64, policies: usize, requests: usize) -> Synthetic {
    generate_shaped(
        seed,
        requests,
        Shape {
            policies,
            varied: true,
        },
    )
}

/// Builds a tenant of the given shape and `requests` sign-in requests from `seed`.
pub fn generate_shaped(seed: u64, requests: usize, shape: Shape) -> Synthetic {
    let mut rng = Rng::new(seed);
    let roles: Vec<&str> = ROLE_NAMES.iter().map(|(id, _)| *id).take(12).collect();

    // Directory: groups nest into a forest (each group under an earlier one, one in three).
    let groups: Vec<Value> = (0..GROUPS)
        .map(|g| {
            let parents: Vec<String> = if g > 0 && rng.chance(33) {
                vec![group_id(rng.below(g))]
            } else {
                Vec::new()
            };
            json!({"id": group_id(g), "displayName": format!("Group {g}"), "memberOf": parents})
        })
        .collect();
    let users: Vec<Value> = (0..USERS)
        .map(|u| {
            let mut member_of: Vec<String> =
                rng.some(4, GROUPS).into_iter().map(group_id).collect();
            // Varied shape: one user in ten is in the break-glass group (group 0), which half
            // of the policies with an exclusion exclude.
            if shape.varied && rng.chance(10) && !member_of.contains(&group_id(0)) {
                member_of.push(group_id(0));
            }
            let guest = rng.chance(5);
            let mut user = json!({
                "id": user_id(u),
                "userPrincipalName": format!("user{u}@contoso.example"),
                "userType": if guest { "Guest" } else { "Member" },
                "memberOf": member_of,
            });
            if rng.chance(2) {
                user["roles"] = json!([rng.pick(&roles)]);
            }
            user
        })
        .collect();
    let service_principals: Vec<Value> = (0..APPS)
        .map(|a| {
            json!({"id": guid(0x5b5b_0005, a), "appId": app_id(a), "displayName": format!("App {a}")})
        })
        .collect();
    let directory =
        json!({"users": users, "groups": groups, "servicePrincipals": service_principals});

    // Named locations: 195 IP locations of 2000 ranges, one in ten trusted.
    let mut location_ranges: Vec<Vec<String>> = Vec::with_capacity(LOCATIONS);
    let locations: Vec<Value> = (0..LOCATIONS)
        .map(|l| {
            let mut ranges = Vec::with_capacity(RANGES_PER_LOCATION);
            let mut cidrs = Vec::with_capacity(RANGES_PER_LOCATION);
            for _ in 0..RANGES_PER_LOCATION {
                let (cidr, v4) = random_range(&mut rng);
                let kind = if v4 {
                    "#microsoft.graph.iPv4CidrRange"
                } else {
                    "#microsoft.graph.iPv6CidrRange"
                };
                ranges.push(json!({"@odata.type": kind, "cidrAddress": cidr}));
                cidrs.push(cidr);
            }
            location_ranges.push(cidrs);
            json!({
                "@odata.type": "#microsoft.graph.ipNamedLocation",
                "id": location_id(l),
                "displayName": format!("Site {l}"),
                "isTrusted": l % 10 == 0,
                "ipRanges": ranges,
            })
        })
        .collect();

    // Policies.
    let policy_files: Vec<SourceFile> = (0..shape.policies)
        .map(|p| {
            let policy = random_policy(&mut rng, p, &roles, shape.varied);
            SourceFile::new(
                format!("policies/p{p:03}.json"),
                serde_json::to_vec(&policy).unwrap_or_default(),
            )
        })
        .collect();

    let requests = (0..requests)
        .map(|_| random_request(&mut rng, &location_ranges, shape.varied))
        .collect();

    Synthetic {
        source: TenantSource {
            policy_files,
            location_files: vec![SourceFile::new(
                "namedLocations.json",
                serde_json::to_vec(&json!({"value": locations})).unwrap_or_default(),
            )],
            directory: Some(SourceFile::new(
                "directory.json",
                serde_json::to_vec(&directory).unwrap_or_default(),
            )),
            ..Default::default()
        },
        requests,
    }
}

fn random_policy(rng: &mut Rng, p: usize, roles: &[&str], varied: bool) -> Value {
    let state = match rng.below(20) {
        0 => "disabled",
        1..=3 => "enabledForReportingButNotEnforced",
        _ => "enabled",
    };
    // Most policies in a large tenant are scoped to groups, a few to everyone.
    let mut users = match rng.below(20) {
        0..=2 => json!({"includeUsers": ["All"]}),
        3..=12 => {
            json!({"includeGroups": rng.some(5, GROUPS).into_iter().map(group_id).collect::<Vec<_>>()})
        }
        13..=15 => {
            json!({"includeUsers": rng.some(10, USERS).into_iter().map(user_id).collect::<Vec<_>>()})
        }
        16..=17 => json!({"includeRoles": [rng.pick(roles), rng.pick(roles)]}),
        _ => json!({"includeGuestsOrExternalUsers": {
            "guestOrExternalUserTypes": "b2bCollaborationGuest,b2bCollaborationMember",
            "externalTenants": {"membershipKind": "all"}
        }}),
    };
    if rng.chance(60) {
        let excluded = group_id(rng.below(GROUPS));
        users["excludeGroups"] = if varied && p.is_multiple_of(2) && excluded != group_id(0) {
            json!([excluded, group_id(0)])
        } else {
            json!([excluded])
        };
    }
    let applications = match rng.below(10) {
        0..=1 => json!({"includeApplications": ["All"]}),
        2..=3 => json!({"includeApplications": ["Office365"]}),
        4..=8 => {
            json!({"includeApplications": rng.some(5, APPS).into_iter().map(app_id).collect::<Vec<_>>()})
        }
        _ => {
            json!({"includeApplications": ["All"], "excludeApplications": [app_id(rng.below(APPS))]})
        }
    };
    let mut conditions = json!({
        "users": users,
        "applications": applications,
        "clientAppTypes": match rng.below(6) {
            0..=2 => json!(["all"]),
            3 | 4 => json!(["browser", "mobileAppsAndDesktopClients"]),
            _ => json!(["exchangeActiveSync", "other"]),
        },
    });
    if rng.chance(25) {
        conditions["platforms"] = if rng.chance(50) {
            json!({"includePlatforms": [rng.pick(PLATFORMS), rng.pick(PLATFORMS)]})
        } else {
            json!({"includePlatforms": ["all"], "excludePlatforms": ["windows", "macOS"]})
        };
    }
    if rng.chance(60) {
        let picked: Vec<String> = rng
            .some(3, LOCATIONS)
            .into_iter()
            .map(location_id)
            .collect();
        conditions["locations"] = match rng.below(3) {
            0 => json!({"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}),
            1 => json!({"includeLocations": ["All"], "excludeLocations": picked}),
            _ => json!({"includeLocations": picked}),
        };
    }
    if rng.chance(if varied { 30 } else { 10 }) {
        let mode = if rng.chance(50) { "include" } else { "exclude" };
        let rule = if varied {
            *rng.pick(VARIED_DEVICE_RULES)
        } else {
            DEFAULT_DEVICE_RULE
        };
        conditions["devices"] = json!({"deviceFilter": {"mode": mode, "rule": rule}});
    }
    if rng.chance(10) {
        conditions["signInRiskLevels"] = json!(["high", "medium"]);
    }
    // The classic risky-user remediation: password change, which Entra allows only with
    // users, applications and user-risk conditions.
    let user_risk = rng.chance(5);
    if user_risk {
        conditions = json!({
            "users": conditions["users"].take(),
            "applications": {"includeApplications": ["All"]},
            "userRiskLevels": ["high"],
        });
    }
    let grant = if user_risk {
        json!({"operator": "AND", "builtInControls": ["mfa", "passwordChange"]})
    } else {
        match rng.below(20) {
            // Blocks are narrow: legacy clients, or a scoped population.
            0..=1 => {
                conditions["clientAppTypes"] = json!(["exchangeActiveSync", "other"]);
                json!({"operator": "OR", "builtInControls": ["block"]})
            }
            2 => json!({"operator": "OR", "builtInControls": ["block"]}),
            3..=10 => json!({"operator": "OR", "builtInControls": ["mfa"]}),
            11..=12 => {
                json!({"operator": "OR", "builtInControls": ["compliantDevice", "domainJoinedDevice"]})
            }
            13 => json!({"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]}),
            14 => {
                json!({"operator": "OR", "builtInControls": ["approvedApplication", "compliantApplication"]})
            }
            _ => json!({"operator": "OR", "builtInControls": [], "authenticationStrength": {
                "id": rng.pick(&[STRENGTH_MFA, STRENGTH_MFA, STRENGTH_PASSWORDLESS, STRENGTH_PHISHING_RESISTANT])
            }}),
        }
    };
    let mut policy = json!({
        "id": guid(0xca00_0006, p),
        "displayName": format!("CA{p:03} generated"),
        "state": state,
        "conditions": conditions,
        "grantControls": grant,
    });
    if rng.chance(20) {
        policy["sessionControls"] = json!({
            "signInFrequency": {"isEnabled": true, "type": "hours", "value": 1 + rng.below(24), "frequencyInterval": "timeBased"}
        });
    }
    policy
}

fn random_request(rng: &mut Rng, location_ranges: &[Vec<String>], varied: bool) -> Value {
    let app = if rng.chance(30) {
        (*rng.pick(OFFICE365_APPS)).to_owned()
    } else {
        app_id(rng.below(APPS))
    };
    let ip = match rng.below(10) {
        // From a named location (the office, a VPN egress).
        0..=4 => {
            let ranges = rng.pick(location_ranges);
            let cidr = rng.pick(ranges).clone();
            address_in(&cidr, rng)
        }
        // Anywhere on the IPv4 internet.
        5..=8 => std::net::Ipv4Addr::from(rng.next() as u32).to_string(),
        _ => std::net::Ipv6Addr::from((0x2a00_u128 << 112) | rng.next() as u128).to_string(),
    };
    let mut conditions = json!({
        "clientAppType": rng.pick(CLIENT_TYPES),
        "devicePlatform": rng.pick(PLATFORMS),
        "ipAddress": ip,
        "country": rng.pick(COUNTRIES),
        "signInRiskLevel": rng.pick(RISK),
        "userRiskLevel": rng.pick(RISK),
    });
    if rng.chance(60) {
        conditions["deviceInfo"] = json!({
            "isCompliant": rng.chance(60),
            "trustType": *rng.pick(&["AzureAD", "ServerAD", "Workplace"]),
            "operatingSystem": *rng.pick(&["Windows", "iOS", "Android", "MacMDM"]),
        });
        if varied {
            vary_device(rng, &mut conditions["deviceInfo"]);
        }
    }
    let mut request = json!({
        "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": user_id(rng.below(USERS))},
        "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [app]},
        "signInConditions": conditions,
        "session": {"authenticationMethods": rng.pick(METHODS)},
    });
    if varied {
        for (flag, percent) in [
            ("approvedClientApp", 20),
            ("appProtectionPolicy", 20),
            ("passwordChanged", 10),
        ] {
            if rng.chance(percent) {
                request["session"][flag] = json!(true);
            }
        }
    }
    request
}

/// More device properties for the varied shape: each present four times in five, values in
/// several cases; sometimes the compliance state or trust type is unknown (null).
fn vary_device(rng: &mut Rng, device: &mut Value) {
    let properties: [(&str, &[&str]); 5] = [
        (
            "manufacturer",
            &["Microsoft", "DELL", "Lenovo", "Apple", "samsung"],
        ),
        (
            "model",
            &[
                "Surface Laptop 5",
                "Latitude 7440",
                "ThinkPad X1",
                "iPhone 15",
                "Galaxy S23",
            ],
        ),
        (
            "displayName",
            &["KIOSK-042", "ws-adm-17", "LAPTOP-ABC", "kiosk-7", "iPhone"],
        ),
        ("ownership", &["Company", "Personal", "company"]),
        (
            "operatingSystemVersion",
            &["10.0.19045", "10.0.22631", "17.4", "14.0", "6.1.7601"],
        ),
    ];
    for (name, values) in properties {
        if rng.chance(80) {
            device[name] = json!(*rng.pick(values));
        }
    }
    if rng.chance(15) {
        device["operatingSystem"] = json!(*rng.pick(&["windows", "WINDOWS", "ios"]));
    }
    if let Some(object) = device.as_object_mut() {
        if rng.chance(10) {
            object.remove("isCompliant");
        }
        if rng.chance(10) {
            object.remove("trustType");
        }
    }
}

//! Random tenants and sign-in requests (proptest strategies) for the differential test.
//!
//! Everything is Graph JSON over a small universe of ids, so that generated policies often
//! name the generated users, groups, applications and locations, and requests often fall
//! inside (and outside) the generated conditions:
//!
//! * a directory of six users (members, guests, external kinds, home tenants, roles) in five
//!   groups whose nesting is random (cycles included), three service principals with custom
//!   security attributes, a custom authentication strength, MFA trusted IPs, the
//!   `office365AppIds` extension and the baseline-scopes mode;
//! * four named locations, each an IP location (overlapping IPv4 / IPv6 ranges, host bits
//!   set, trusted or not) or a country location (client IP or GPS lookup, unknown countries
//!   included or not);
//! * one to eight policies, valid by construction (the loader's write-time rules are
//!   respected), covering every condition family, grant controls under AND / OR,
//!   authentication strengths, terms of use, custom controls, block, password change, user
//!   actions, authentication contexts, workload identities and session controls; ids are
//!   sometimes upper-cased (ids compare case-insensitively);
//! * requests from users or service principals, for applications, user actions or
//!   authentication contexts, where every signal is optional (what-if must then say
//!   `notEnoughInformation`), with a random device and session.

use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};
use serde_json::{Value, json};

pub const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
pub const SECURITY_ADMIN: &str = "194ae4cb-b126-40b2-bd5b-6091b380977d";
pub const EXCHANGE_ONLINE: &str = "00000002-0000-0ff1-ce00-000000000000";
pub const SHAREPOINT_ONLINE: &str = "00000003-0000-0ff1-ce00-000000000000";
pub const AZURE_PORTAL: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
pub const AZURE_AD_GRAPH: &str = "00000002-0000-0000-c000-000000000000";
pub const MFA_TRUSTED_IPS: &str = "00000000-0000-0000-0000-000000000000";
pub const COMPLIANT_NETWORK: &str = "3d46dbda-8382-466a-856d-eb00cbc6b910";
pub const CUSTOM_STRENGTH: &str = "0000abab-0000-4000-8000-000000000001";
const INTUNE: &str = "0000000a-0000-0000-c000-000000000000";

pub fn user(i: usize) -> String {
    format!("0000aaaa-0000-4000-8000-{i:012}")
}
pub fn group(i: usize) -> String {
    format!("0000bbbb-0000-4000-8000-{i:012}")
}
pub fn app(i: usize) -> String {
    format!("0000cccc-0000-4000-8000-{i:012}")
}
pub fn location(i: usize) -> String {
    format!("0000dddd-0000-4000-8000-{i:012}")
}
pub fn service_principal(i: usize) -> String {
    format!("0000eeee-0000-4000-8000-{i:012}")
}
pub fn home_tenant(i: usize) -> String {
    format!("0000ffff-0000-4000-8000-{i:012}")
}
/// Agent identities 0 and 1 are in the directory (0 derives from the blueprint), 2 is not;
/// 3 is the blueprint principal.
pub fn agent(i: usize) -> String {
    format!("0000a9e0-0000-4000-8000-{i:012}")
}
/// The blueprint's app id, and the agent identities' app ids.
pub fn agent_app(i: usize) -> String {
    format!("0000a9ee-0000-4000-8000-{i:012}")
}
/// The agent's user account (in the directory).
pub fn agent_user() -> String {
    user(10)
}
const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
const TOKEN_EXCHANGE: &str = "fb60f99c-7a34-4190-8149-302f77469936";
fn terms(i: usize) -> String {
    format!("0000abcd-0000-4000-8000-{i:012}")
}

const USERS: usize = 6;
const GROUPS: usize = 5;
const LOCATIONS: usize = 4;
const KINDS: &[&str] = &[
    "internalGuest",
    "b2bCollaborationGuest",
    "b2bCollaborationMember",
    "b2bDirectConnectUser",
    "otherExternalUser",
    "serviceProvider",
];

/// Ids as written in a request: sometimes upper case.
fn cased(id: String, upper: bool) -> String {
    if upper { id.to_uppercase() } else { id }
}

/// Upper-cases every GUID in a policy (ids compare case-insensitively,
/// docs/reference/entra-semantics.md §1.15).
fn upper_ids(v: &mut Value) {
    match v {
        Value::String(s) => {
            let guid = s.len() == 36
                && s.chars().filter(|c| *c == '-').count() == 4
                && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit());
            if guid {
                *s = s.to_uppercase();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(upper_ids),
        Value::Object(o) => o.values_mut().for_each(upper_ids),
        _ => {}
    }
}

fn indices(max: usize, len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<usize>> {
    subsequence((0..max).collect::<Vec<_>>(), len)
}

fn some_of(
    items: &'static [&'static str],
    len: std::ops::Range<usize>,
) -> BoxedStrategy<Vec<String>> {
    subsequence(items.to_vec(), len)
        .prop_map(|v| v.into_iter().map(str::to_owned).collect())
        .boxed()
}

// ---------------------------------------------------------------------------------------
// Tenant.
// ---------------------------------------------------------------------------------------

fn directory_user(i: usize) -> impl Strategy<Value = Value> {
    (
        prop::bool::weighted(0.3),
        prop::option::weighted(0.3, select(KINDS)),
        prop::option::weighted(0.4, 1..3usize),
        indices(GROUPS, 0..3),
        some_of(&[GLOBAL_ADMIN, SECURITY_ADMIN], 0..2),
    )
        .prop_map(move |(guest, kind, home, groups, roles)| {
            let mut u = json!({
                "id": user(i),
                "userPrincipalName": format!("user{i}@contoso.com"),
                "userType": if guest { "Guest" } else { "Member" },
                "memberOf": groups.iter().map(|g| group(*g)).collect::<Vec<_>>(),
                "roles": roles,
            });
            if let Some(k) = kind {
                u["externalUserType"] = json!(k);
            }
            if let Some(h) = home {
                u["homeTenantId"] = json!(home_tenant(h));
            }
            u
        })
}

fn directory() -> impl Strategy<Value = Value> {
    (
        (0..USERS).map(directory_user).collect::<Vec<_>>(),
        prop::collection::vec(prop::collection::vec(0..GROUPS, 0..3), GROUPS),
        some_of(&["10.1.0.0/16", "203.0.113.0/24", "198.51.100.128/25"], 0..3),
        any::<bool>(),
        select(vec![
            None,
            Some("enforced"),
            Some("legacy"),
            Some("rollout"),
            Some("customTarget"),
        ]),
        select(vec![
            vec!["fido2", "password,sms"],
            vec!["windowsHelloForBusiness"],
            vec!["password,microsoftAuthenticatorPush", "temporaryAccessPassOneTime"],
        ]),
    )
        .prop_map(|(users, parents, trusted_ips, office_ext, baseline, combos)| {
            let groups: Vec<Value> = parents
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    json!({"id": group(i), "displayName": format!("Group {i}"),
                           "memberOf": p.iter().map(|g| group(*g)).collect::<Vec<_>>()})
                })
                .collect();
            let mut users = users;
            users.push(json!({"@odata.type": "#microsoft.graph.agentUser", "id": agent_user(),
                              "userPrincipalName": "agent@contoso.com", "identityParentId": agent(0),
                              "memberOf": [group(0)]}));
            let mut d = json!({
                "users": users,
                "groups": groups,
                "servicePrincipals": [
                    {"id": service_principal(0), "appId": app(0), "displayName": "Payroll",
                     "customSecurityAttributes": {"Eng": {"Tier": "gold"}}},
                    {"id": service_principal(1), "appId": app(1), "displayName": "Wiki",
                     "customSecurityAttributes": {"Eng": {"Tier": "Silver", "Owner": "Finance"}}},
                    {"id": service_principal(2), "appId": app(2), "displayName": "Batch"},
                    {"@odata.type": "#microsoft.graph.agentIdentity", "id": agent(0), "appId": agent_app(0),
                     "displayName": "Agent 0", "agentIdentityBlueprintId": agent_app(9),
                     "customSecurityAttributes": {"Eng": {"Tier": "gold"}}},
                    {"@odata.type": "#microsoft.graph.agentIdentity", "id": agent(1), "appId": agent_app(1),
                     "displayName": "Agent 1", "customSecurityAttributes": {"Eng": {"Tier": "silver"}}},
                    {"@odata.type": "#microsoft.graph.agentIdentityBlueprintPrincipal", "id": agent(3),
                     "appId": agent_app(9), "displayName": "Blueprint"},
                ],
                "authenticationStrengthPolicies": [
                    {"id": CUSTOM_STRENGTH, "displayName": "Custom", "allowedCombinations": combos}
                ],
                "mfaTrustedIps": trusted_ips,
            });
            if office_ext {
                d["office365AppIds"] = json!([app(1)]);
            }
            if let Some(mode) = baseline {
                d["baselineScopesMode"] = json!(mode);
                if mode == "customTarget" {
                    // An application policies name, so that exclusions of it are generated.
                    d["baselineScopesTarget"] = json!(app(2));
                }
            }
            d
        })
}

const RANGES: &[&str] = &[
    "10.1.0.0/16",
    "10.1.2.0/24",
    "10.1.2.3/32",
    "10.1.2.77/24",
    "192.0.2.0/24",
    "198.51.100.0/25",
    "203.0.113.0/24",
    "2001:db8::/32",
    "2001:db8:1::/48",
];

fn named_location(i: usize) -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (prop::collection::vec(select(RANGES), 1..3), any::<bool>()).prop_map(move |(ranges, trusted)| {
            let ranges: Vec<Value> = ranges
                .iter()
                .map(|r| {
                    let kind = if r.contains(':') { "iPv6CidrRange" } else { "iPv4CidrRange" };
                    json!({"@odata.type": format!("#microsoft.graph.{kind}"), "cidrAddress": r})
                })
                .collect();
            json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "id": location(i),
                   "displayName": format!("IP {i}"), "isTrusted": trusted, "ipRanges": ranges})
        }),
        2 => (
            some_of(&["FR", "de", "US", "BR"], 1..3),
            any::<bool>(),
            select(vec![None, Some("clientIpAddress"), Some("authenticatorAppGps")]),
        )
            .prop_map(move |(countries, unknown, lookup)| {
                let mut l = json!({"@odata.type": "#microsoft.graph.countryNamedLocation",
                    "id": location(i), "displayName": format!("Countries {i}"),
                    "countriesAndRegions": countries, "includeUnknownCountriesAndRegions": unknown});
                if let Some(m) = lookup {
                    l["countryLookupMethod"] = json!(m);
                }
                l
            }),
    ]
}

/// A tenant document `{"policies", "namedLocations", "directory"}`.
/// The evaluation instant: none (the latest behaviour), or either side of a dated change.
pub fn instant() -> impl Strategy<Value = Option<i64>> {
    use crate::evaluator::BASELINE_ROLLOUT;
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(BASELINE_ROLLOUT - 1)),
        1 => Just(Some(BASELINE_ROLLOUT)),
    ]
}

pub fn tenant() -> impl Strategy<Value = Value> {
    (
        directory(),
        (0..LOCATIONS).map(named_location).collect::<Vec<_>>(),
        prop::collection::vec(policy(), 1..=8),
        prop::option::weighted(0.6, cross_tenant_access()),
    )
        .prop_map(|(directory, locations, mut policies, cross)| {
            for (i, p) in policies.iter_mut().enumerate() {
                p["id"] = json!(format!("p{i}"));
                p["displayName"] = json!(format!("Policy {i}"));
            }
            let mut t =
                json!({"policies": policies, "namedLocations": locations, "directory": directory});
            if let Some(c) = cross {
                t["crossTenantAccess"] = c;
            }
            t
        })
}

/// An inbound trust object: each member true, false or left out.
fn inbound_trust() -> impl Strategy<Value = Value> {
    prop::collection::vec(prop::option::of(any::<bool>()), 3).prop_map(|flags| {
        let mut o = serde_json::Map::new();
        for (key, flag) in [
            "isMfaAccepted",
            "isCompliantDeviceAccepted",
            "isHybridAzureADJoinedDeviceAccepted",
        ]
        .iter()
        .zip(flags)
        {
            if let Some(f) = flag {
                o.insert((*key).to_owned(), json!(f));
            }
        }
        Value::Object(o)
    })
}

/// `crossTenantAccess`: a default and partner entries for some home tenants, each with its
/// own inbound trust or inheriting the default's (null).
fn cross_tenant_access() -> impl Strategy<Value = Value> {
    (
        inbound_trust(),
        prop::collection::vec(
            (
                0..4usize,
                prop::option::weighted(0.7, inbound_trust()),
                any::<bool>(),
            ),
            0..3,
        ),
    )
        .prop_map(|(default, partners)| {
            let mut seen = Vec::new();
            let partners: Vec<Value> = partners
                .into_iter()
                .filter(|(h, _, _)| {
                    let fresh = !seen.contains(h);
                    seen.push(*h);
                    fresh
                })
                .map(|(h, trust, upper)| {
                    json!({"tenantId": cased(home_tenant(h), upper),
                           "inboundTrust": trust.unwrap_or(Value::Null)})
                })
                .collect();
            json!({"default": {"inboundTrust": default}, "partners": partners})
        })
}

// ---------------------------------------------------------------------------------------
// Policies.
// ---------------------------------------------------------------------------------------

fn guests_condition() -> impl Strategy<Value = Value> {
    (
        some_of(KINDS, 1..4),
        select(vec![None, Some(vec![]), Some(vec![1usize]), Some(vec![1, 2])]),
        any::<bool>(),
    )
        .prop_map(|(kinds, tenants, spaces)| {
            let sep = if spaces { ", " } else { "," };
            let mut g = json!({"guestOrExternalUserTypes": kinds.join(sep)});
            match tenants {
                None => {}
                Some(list) if list.is_empty() => {
                    g["externalTenants"] = json!({
                        "@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants",
                        "membershipKind": "all"});
                }
                Some(list) => {
                    g["externalTenants"] = json!({
                        "@odata.type": "#microsoft.graph.conditionalAccessEnumeratedExternalTenants",
                        "membershipKind": "enumerated",
                        "members": list.iter().map(|t| home_tenant(*t)).collect::<Vec<_>>()});
                }
            }
            g
        })
}

/// User assignments of a user policy (docs/reference/entra-semantics.md §1.4).
fn users_condition() -> impl Strategy<Value = Value> {
    let ids =
        |v: Vec<usize>, f: fn(usize) -> String| -> Vec<String> { v.into_iter().map(f).collect() };
    let include = prop_oneof![
        10 => Just(json!({"includeUsers": ["All"]})),
        2 => indices(USERS + 1, 1..3).prop_map(move |u| json!({"includeUsers": ids(u, user)})),
        2 => indices(GROUPS, 1..3).prop_map(move |g| json!({"includeGroups": ids(g, group)})),
        1 => some_of(&[GLOBAL_ADMIN, SECURITY_ADMIN], 1..3).prop_map(|r| json!({"includeRoles": r})),
        1 => Just(json!({"includeUsers": ["GuestsOrExternalUsers"]})),
        2 => guests_condition().prop_map(|g| json!({"includeGuestsOrExternalUsers": g})),
        1 => Just(json!({"includeUsers": ["None"]})),
        1 => (indices(USERS, 1..2), indices(GROUPS, 1..2))
            .prop_map(move |(u, g)| json!({"includeUsers": ids(u, user), "includeGroups": ids(g, group)})),
    ];
    (
        include,
        prop::option::weighted(0.2, indices(USERS + 1, 1..3)),
        prop::option::weighted(0.2, indices(GROUPS, 1..2)),
        prop::option::weighted(0.08, Just(json!([SECURITY_ADMIN]))),
        prop::option::weighted(0.08, Just(json!(["GuestsOrExternalUsers"]))),
        prop::option::weighted(0.1, guests_condition()),
    )
        .prop_map(
            |(mut u, ex_users, ex_groups, ex_roles, ex_guest_token, ex_guests)| {
                let mut exclude_users: Vec<Value> = Vec::new();
                if let Some(list) = ex_users {
                    exclude_users.extend(list.into_iter().map(|i| json!(user(i))));
                }
                if let Some(Value::Array(t)) = ex_guest_token {
                    exclude_users.extend(t);
                }
                if !exclude_users.is_empty() {
                    u["excludeUsers"] = Value::Array(exclude_users);
                }
                if let Some(g) = ex_groups {
                    u["excludeGroups"] = json!(g.into_iter().map(group).collect::<Vec<_>>());
                }
                if let Some(r) = ex_roles {
                    u["excludeRoles"] = r;
                }
                if let Some(g) = ex_guests {
                    u["excludeGuestsOrExternalUsers"] = g;
                }
                u
            },
        )
}

const APP_FILTERS: &[&str] = &[
    "CustomSecurityAttribute.Eng_Tier -eq \"Gold\"",
    "CustomSecurityAttribute.Eng_Tier -ne \"gold\"",
    "CustomSecurityAttribute.Eng_Owner -contains \"fin\" -or CustomSecurityAttribute.Eng_Tier -in [\"silver\", \"bronze\"]",
    "customsecurityattribute.eng_tier -startsWith \"G\" -and CustomSecurityAttribute.Eng_Owner -notContains \"x\"",
];

/// The application ids policies and requests pick from: custom apps (with and without a
/// service principal), Office 365 members, an admin portal, Azure AD Graph.
fn app_pool() -> BoxedStrategy<String> {
    select(vec![
        app(0),
        app(1),
        app(2),
        app(3),
        EXCHANGE_ONLINE.to_owned(),
        SHAREPOINT_ONLINE.to_owned(),
        AZURE_PORTAL.to_owned(),
        AZURE_AD_GRAPH.to_owned(),
        agent_app(1),
        GRAPH.to_owned(),
        TOKEN_EXCHANGE.to_owned(),
    ])
    .boxed()
}

/// Target resources (docs/reference/entra-semantics.md §1.3): `applications` of a policy that
/// targets apps.
fn applications_condition() -> impl Strategy<Value = Value> {
    let include = prop_oneof![
        10 => Just(vec![json!("All")]),
        2 => Just(vec![json!("Office365")]),
        1 => Just(vec![json!("MicrosoftAdminPortals")]),
        3 => prop::collection::vec(app_pool(), 1..3).prop_map(|a| a.into_iter().map(Value::from).collect()),
        1 => Just(vec![json!("None")]),
        1 => Just(vec![]),
    ];
    let exclude = prop_oneof![
        8 => Just(vec![]),
        2 => prop::collection::vec(app_pool(), 1..3).prop_map(|a| a.into_iter().map(Value::from).collect()),
        1 => Just(vec![json!("Office365")]),
        1 => Just(vec![json!("MicrosoftAdminPortals")]),
    ];
    let filter = prop::option::weighted(
        0.2,
        (select(APP_FILTERS), any::<bool>())
            .prop_map(|(rule, include)| json!({"mode": if include { "include" } else { "exclude" }, "rule": rule})),
    );
    (include, exclude, filter).prop_map(|(include, exclude, filter)| {
        let include = if include.is_empty() && filter.is_none() {
            vec![json!("All")]
        } else {
            include
        };
        let mut a = json!({"includeApplications": include, "excludeApplications": exclude,
                           "includeUserActions": [], "includeAuthenticationContextClassReferences": []});
        if let Some(f) = filter {
            a["applicationFilter"] = f;
        }
        a
    })
}

fn platforms_condition() -> impl Strategy<Value = Value> {
    const ALL: &[&str] = &[
        "android",
        "iOS",
        "windows",
        "windowsPhone",
        "macOS",
        "linux",
    ];
    prop_oneof![
        (some_of(ALL, 0..3))
            .prop_map(|ex| json!({"includePlatforms": ["all"], "excludePlatforms": ex})),
        (some_of(ALL, 1..4), some_of(ALL, 0..2))
            .prop_map(|(inc, ex)| json!({"includePlatforms": inc, "excludePlatforms": ex})),
    ]
}

fn locations_condition() -> impl Strategy<Value = Value> {
    let ids = |v: Vec<usize>| -> Vec<Value> { v.into_iter().map(|i| json!(location(i))).collect() };
    let some = move || {
        prop_oneof![
            4 => indices(LOCATIONS, 1..3).prop_map(ids),
            1 => Just(vec![json!(MFA_TRUSTED_IPS)]),
            1 => Just(vec![json!(COMPLIANT_NETWORK)]),
        ]
    };
    prop_oneof![
        3 => prop_oneof![Just(vec![json!("AllTrusted")]), some()]
            .prop_map(|ex| json!({"includeLocations": ["All"], "excludeLocations": ex})),
        2 => some().prop_map(|inc| json!({"includeLocations": inc})),
        1 => Just(json!({"includeLocations": ["AllTrusted"]})),
        1 => (some(), some()).prop_map(|(inc, ex)| json!({"includeLocations": inc, "excludeLocations": ex})),
        1 => some().prop_map(|ex| json!({"includeLocations": ["AllTrusted"], "excludeLocations": ex})),
    ]
}

/// One device-filter comparison: property, operators the spec allows for it, values.
struct Leaf {
    property: &'static str,
    operators: &'static [&'static str],
    values: &'static [&'static str],
}

const LEAVES: &[Leaf] = &[
    Leaf {
        property: "trustType",
        operators: &["-eq", "-ne"],
        values: &[
            "\"AzureAD\"",
            "\"ServerAD\"",
            "\"Workplace\"",
            "\"serverad\"",
        ],
    },
    Leaf {
        property: "isCompliant",
        operators: &["-eq", "-ne"],
        values: &["True", "False", "\"True\"", "\"false\""],
    },
    Leaf {
        property: "operatingSystem",
        operators: &[
            "-eq",
            "-ne",
            "-startsWith",
            "-notStartsWith",
            "-endsWith",
            "-notEndsWith",
            "-contains",
            "-notContains",
        ],
        values: &["\"Windows\"", "\"iOS\"", "\"win\"", "\"OS\"", "\"android\""],
    },
    Leaf {
        property: "operatingSystem",
        operators: &["-in", "-notIn"],
        values: &["[\"Windows\", \"iOS\"]", "[\"android\"]"],
    },
    Leaf {
        property: "operatingSystemVersion",
        operators: &["-startsWith", "-eq", "-notStartsWith"],
        values: &["\"10.\"", "\"10.0.19045\"", "\"17\""],
    },
    Leaf {
        property: "displayName",
        operators: &["-contains", "-startsWith", "-endsWith", "-notContains"],
        values: &["\"LAPTOP\"", "\"-7\"", "\"iphone\""],
    },
    Leaf {
        property: "deviceOwnership",
        operators: &["-eq", "-ne"],
        values: &["\"Company\"", "\"Personal\""],
    },
    Leaf {
        property: "model",
        operators: &["-in", "-notIn"],
        values: &["[\"Surface Pro\", \"iPhone 15\"]", "[\"pixel\"]"],
    },
    Leaf {
        property: "manufacturer",
        operators: &["-eq", "-startsWith"],
        values: &["\"Microsoft\"", "\"apple\""],
    },
    Leaf {
        property: "mdmAppId",
        operators: &["-eq", "-ne", "-in", "-notIn"],
        values: &["\"0000000a-0000-0000-c000-000000000000\""],
    },
    Leaf {
        property: "deviceId",
        operators: &["-eq", "-ne"],
        values: &["\"device-1\"", "\"DEVICE-2\""],
    },
    Leaf {
        property: "profileType",
        operators: &["-eq", "-ne"],
        values: &["\"RegisteredDevice\"", "\"SecureVM\""],
    },
    Leaf {
        property: "systemLabels",
        operators: &["-contains", "-notContains"],
        values: &["\"M365Managed\"", "\"azureresource\"", "\"M365\""],
    },
    Leaf {
        property: "physicalIds",
        operators: &["-contains", "-notContains"],
        values: &["\"[ZTDId]:abc\"", "\"[ztdid]:ABC\""],
    },
    Leaf {
        property: "extensionAttribute1",
        operators: &["-eq", "-ne", "-startsWith", "-notStartsWith"],
        values: &["\"SAW\"", "\"saw\""],
    },
    Leaf {
        property: "extensionAttribute1",
        operators: &["-eq", "-ne"],
        values: &["null"],
    },
    Leaf {
        property: "extensionAttribute2",
        operators: &["-contains", "-endsWith"],
        values: &["\"fin\"", "\"ANCE\""],
    },
    Leaf {
        property: "enrollmentProfileName",
        operators: &["-eq", "-ne", "-in"],
        values: &["\"Autopilot\""],
    },
];

fn leaf() -> impl Strategy<Value = String> {
    (0..LEAVES.len(), any::<Index>(), any::<Index>(), 0..3usize).prop_map(|(l, op, value, case)| {
        let leaf = &LEAVES[l];
        let mut op = leaf.operators[op.index(leaf.operators.len())];
        let mut value = leaf.values[value.index(leaf.values.len())].to_owned();
        if op == "-in" || op == "-notIn" {
            if !value.starts_with('[') {
                value = format!("[{value}]");
            }
        } else if value.starts_with('[') {
            op = "-in";
        }
        let property = match case {
            0 => leaf.property.to_owned(),
            1 => leaf.property.to_lowercase(),
            _ => {
                let mut c = leaf.property.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            }
        };
        format!("device.{property} {op} {value}")
    })
}

/// A device filter rule (docs/reference/entra-semantics.md §3.8) of up to three levels, mixing
/// `-and` / `and`, `-or` / `or`, `-not` and parentheses, sometimes relying on precedence.
fn device_rule() -> impl Strategy<Value = String> {
    leaf().prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            4 => (inner.clone(), inner.clone(), select(vec!["-and", "-or", "and", "or"]), any::<bool>())
                .prop_map(|(a, b, op, parens)| if parens {
                    format!("({a}) {op} ({b})")
                } else {
                    format!("{a} {op} {b}")
                }),
            1 => inner.prop_map(|a| format!("-not ({a})")),
        ]
    })
}

fn devices_condition() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (device_rule(), any::<bool>()).prop_map(|(rule, include)| json!({"devices": {"deviceFilter": {
            "mode": if include { "include" } else { "exclude" }, "rule": rule}}})),
        1 => some_of(&["Compliant", "DomainJoined"], 1..3)
            .prop_map(|ex| json!({"devices": {"includeDevices": ["All"], "excludeDevices": ex}})),
        1 => some_of(&["Compliant", "DomainJoined"], 1..3)
            .prop_map(|ex| json!({"deviceStates": {"includeStates": ["All"], "excludeStates": ex}})),
    ]
}

fn risk_levels() -> BoxedStrategy<Vec<String>> {
    some_of(&["low", "medium", "high", "none"], 1..4)
}

fn grant_controls() -> impl Strategy<Value = Value> {
    let built = (
        any::<bool>(),
        some_of(
            &[
                "mfa",
                "compliantDevice",
                "domainJoinedDevice",
                "approvedApplication",
                "compliantApplication",
            ],
            0..3,
        ),
        prop::option::weighted(
            0.25,
            select(vec![
                "00000000-0000-0000-0000-000000000002",
                "00000000-0000-0000-0000-000000000003",
                "00000000-0000-0000-0000-000000000004",
                CUSTOM_STRENGTH,
            ]),
        ),
        prop::option::weighted(0.15, indices(2, 1..3)),
        prop::bool::weighted(0.08),
        any::<bool>(),
    )
        .prop_map(
            |(and, mut built_in, strength, tou, custom, lower_operator)| {
                let operator = match (and, lower_operator) {
                    (true, false) => "AND",
                    (true, true) => "and",
                    (false, false) => "OR",
                    (false, true) => "or",
                };
                if built_in.is_empty() && strength.is_none() && tou.is_none() && !custom {
                    built_in.push("mfa".to_owned());
                }
                // `mfa` and an authentication strength cannot be combined
                // (docs/reference/entra-semantics.md §1.12).
                let strength = if built_in.iter().any(|b| b == "mfa") {
                    None
                } else {
                    strength
                };
                let mut g = json!({"operator": operator, "builtInControls": built_in,
                               "customAuthenticationFactors": [], "termsOfUse": []});
                if let Some(s) = strength {
                    g["authenticationStrength"] = json!({"id": s});
                }
                if let Some(t) = tou {
                    g["termsOfUse"] = json!(t.into_iter().map(terms).collect::<Vec<_>>());
                }
                if custom {
                    g["customAuthenticationFactors"] = json!(["custom-control-1"]);
                }
                g
            },
        );
    prop_oneof![
        3 => Just(json!({"operator": "OR", "builtInControls": ["block"]})),
        1 => Just(json!({"operator": "OR", "builtInControls": []})),
        1 => Just(Value::Null),
        8 => built,
    ]
}

/// Session controls; `persistentBrowser` is dropped later from policies that do not target
/// all resources (it requires them).
fn session_controls() -> impl Strategy<Value = Value> {
    (
        prop::option::weighted(
            0.4,
            prop_oneof![
                (1..48u32, any::<bool>()).prop_map(|(h, secondary)| json!({"isEnabled": true, "type": "hours", "value": h,
                    "frequencyInterval": "timeBased",
                    "authenticationType": if secondary { "secondaryAuthentication" } else { "primaryAndSecondaryAuthentication" }})),
                (1..4u32).prop_map(|d| json!({"isEnabled": true, "type": "days", "value": d, "frequencyInterval": "timeBased"})),
                Just(json!({"isEnabled": true, "frequencyInterval": "everyTime",
                    "authenticationType": "primaryAndSecondaryAuthentication"})),
                Just(json!({"isEnabled": false, "type": "hours", "value": 1})),
            ],
        ),
        prop::option::weighted(0.2, select(vec!["always", "never"])),
        prop::option::weighted(0.2, any::<bool>()),
        prop::option::weighted(0.2, select(vec!["mcasConfigured", "monitorOnly", "blockDownloads"])),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
        prop::option::weighted(0.1, select(vec!["disabled", "strictEnforcement", "strictLocation"])),
    )
        .prop_map(|(sif, persistent, aer, cas, drd, sss, cae)| {
            let mut s = json!({});
            if let Some(f) = sif {
                s["signInFrequency"] = f;
            }
            if let Some(mode) = persistent {
                s["persistentBrowser"] = json!({"isEnabled": true, "mode": mode});
            }
            if let Some(enabled) = aer {
                s["applicationEnforcedRestrictions"] = json!({"isEnabled": enabled});
            }
            if let Some(t) = cas {
                s["cloudAppSecurity"] = json!({"isEnabled": true, "cloudAppSecurityType": t});
            }
            if drd {
                s["disableResilienceDefaults"] = json!(true);
            }
            if sss {
                s["secureSignInSession"] = json!({"isEnabled": true});
            }
            if let Some(mode) = cae {
                s["continuousAccessEvaluation"] = json!({"mode": mode});
            }
            s
        })
}

fn state() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        6 => Just("enabled"),
        2 => Just("enabledForReportingButNotEnforced"),
        1 => Just("disabled"),
    ]
}

/// What a user policy targets: applications (mostly), a user action, or auth contexts.
#[derive(Debug, Clone)]
enum TargetKind {
    Apps(Value),
    UserAction(&'static str),
    AuthContexts(Vec<String>),
}

fn target() -> impl Strategy<Value = TargetKind> {
    prop_oneof![
        12 => applications_condition().prop_map(TargetKind::Apps),
        1 => select(vec!["urn:user:registersecurityinfo", "urn:user:registerdevice"]).prop_map(TargetKind::UserAction),
        1 => some_of(&["c1", "C2", "c3"], 1..3).prop_map(TargetKind::AuthContexts),
    ]
}

/// Optional conditions of a user policy: client apps, platforms, locations, devices, risks,
/// insider risk, authentication flows.
fn optional_conditions() -> impl Strategy<Value = Vec<(String, Value)>> {
    (
        prop::option::weighted(
            0.4,
            prop_oneof![
                Just(vec!["all".to_owned()]),
                some_of(
                    &[
                        "browser",
                        "mobileAppsAndDesktopClients",
                        "exchangeActiveSync",
                        "easSupported",
                        "other"
                    ],
                    1..3
                ),
            ],
        ),
        prop::option::weighted(0.25, platforms_condition()),
        prop::option::weighted(0.25, locations_condition()),
        prop::option::weighted(0.25, devices_condition()),
        prop::option::weighted(0.15, risk_levels()),
        prop::option::weighted(0.15, risk_levels()),
        prop::option::weighted(0.1, some_of(&["minor", "moderate", "elevated"], 1..3)),
        prop::option::weighted(
            0.1,
            some_of(&["deviceCodeFlow", "authenticationTransfer"], 1..3),
        ),
    )
        .prop_map(
            |(clients, platforms, locations, devices, sign_in, user_risk, insider, flows)| {
                let mut out = Vec::new();
                if let Some(c) = clients {
                    out.push(("clientAppTypes".to_owned(), json!(c)));
                }
                if let Some(p) = platforms {
                    out.push(("platforms".to_owned(), p));
                }
                if let Some(l) = locations {
                    out.push(("locations".to_owned(), l));
                }
                if let Some(Value::Object(d)) = devices {
                    out.extend(d);
                }
                if let Some(r) = sign_in {
                    out.push(("signInRiskLevels".to_owned(), json!(r)));
                }
                if let Some(r) = user_risk {
                    out.push(("userRiskLevels".to_owned(), json!(r)));
                }
                if let Some(i) = insider {
                    out.push(("insiderRiskLevels".to_owned(), json!(i.join(","))));
                }
                if let Some(f) = flows {
                    out.push((
                        "authenticationFlows".to_owned(),
                        json!({"transferMethods": f.join(",")}),
                    ));
                }
                out
            },
        )
}

fn user_policy() -> impl Strategy<Value = Value> {
    (
        prop::bool::weighted(0.2),
        state(),
        users_condition(),
        target(),
        optional_conditions(),
        grant_controls(),
        prop::option::weighted(0.35, session_controls()),
    )
        .prop_map(|(upper, mut state, users, target, optional, mut grant, session)| {
            let applications = match &target {
                TargetKind::Apps(a) => a.clone(),
                TargetKind::UserAction(action) => {
                    // User-action policies cannot be report-only; registering devices
                    // allows only MFA or an authentication strength
                    // (docs/reference/entra-semantics.md §1.3).
                    if state == "enabledForReportingButNotEnforced" {
                        state = "enabled";
                    }
                    if *action == "urn:user:registerdevice" {
                        grant = json!({"operator": "OR", "builtInControls": ["mfa"]});
                    }
                    json!({"includeApplications": [], "includeUserActions": [action]})
                }
                TargetKind::AuthContexts(c) => {
                    json!({"includeApplications": [], "includeAuthenticationContextClassReferences": c})
                }
            };
            let all_apps = applications["includeApplications"]
                .as_array()
                .is_some_and(|l| l.contains(&json!("All")));
            let mut conditions = json!({"users": users, "applications": applications,
                                        "clientAppTypes": ["all"]});
            for (k, v) in optional {
                conditions[k] = v;
            }
            let mut p = json!({"state": state, "conditions": conditions, "grantControls": grant});
            if let Some(mut s) = session {
                if !all_apps && let Some(o) = s.as_object_mut() {
                    // A persistent browser session requires all resources
                    // (docs/reference/entra-semantics.md §3.3.3).
                    o.remove("persistentBrowser");
                }
                p["sessionControls"] = s;
            }
            if upper {
                upper_ids(&mut p["conditions"]);
                upper_ids(&mut p["grantControls"]);
            }
            p
        })
}

/// The password-change template (docs/reference/entra-semantics.md §1.12): AND of MFA (or a
/// strength) and password change, user risk, all resources without exclusions, nothing else.
fn password_change_policy() -> impl Strategy<Value = Value> {
    (state(), users_condition(), risk_levels(), any::<bool>()).prop_map(
        |(state, users, risk, strength)| {
            let grant = if strength {
                json!({"operator": "AND", "builtInControls": ["passwordChange"],
                       "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000002"}})
            } else {
                json!({"operator": "AND", "builtInControls": ["mfa", "passwordChange"]})
            };
            json!({"state": state,
                   "conditions": {"users": users, "applications": {"includeApplications": ["All"]},
                                  "clientAppTypes": ["all"], "userRiskLevels": risk},
                   "grantControls": grant})
        },
    )
}

/// A workload-identity policy (docs/reference/entra-semantics.md §1.5): `includeUsers: ["None"]`,
/// service principals, block only.
fn workload_policy() -> impl Strategy<Value = Value> {
    (
        state(),
        prop_oneof![
            Just(vec![json!("ServicePrincipalsInMyTenant")]),
            indices(4, 1..3).prop_map(|s| s.into_iter().map(|i| json!(service_principal(i))).collect()),
            Just(vec![]),
        ],
        prop::option::weighted(0.3, indices(4, 1..2)),
        prop::option::weighted(0.3, (select(APP_FILTERS), any::<bool>())),
        prop::option::weighted(0.3, locations_condition()),
        prop::option::weighted(0.3, risk_levels()),
        prop::bool::weighted(0.7),
    )
        .prop_map(|(state, include, exclude, filter, locations, risk, all_apps)| {
            let mut ca = json!({"includeServicePrincipals": include, "excludeServicePrincipals": []});
            if let Some(ex) = exclude {
                ca["excludeServicePrincipals"] = json!(ex.into_iter().map(service_principal).collect::<Vec<_>>());
            }
            let filter = match (filter, include_is_empty(&ca)) {
                (None, true) => Some((APP_FILTERS[0], true)),
                (f, _) => f,
            };
            if let Some((rule, include)) = filter {
                ca["servicePrincipalFilter"] = json!({"mode": if include { "include" } else { "exclude" }, "rule": rule});
            }
            let apps = if all_apps { json!(["All"]) } else { json!([app(0), app(1)]) };
            let mut conditions = json!({"users": {"includeUsers": ["None"]}, "clientApplications": ca,
                                        "applications": {"includeApplications": apps}, "clientAppTypes": ["all"]});
            if let Some(l) = locations {
                conditions["locations"] = l;
            }
            if let Some(r) = risk {
                conditions["servicePrincipalRiskLevels"] = json!(r);
            }
            json!({"state": state,
                   "conditions": conditions, "grantControls": {"operator": "OR", "builtInControls": ["block"]}})
        })
}

/// A policy for agent identities (block only) or for agents' user accounts (Microsoft Learn,
/// "Target agent identities in Microsoft Entra Conditional Access policies").
fn agent_policy() -> impl Strategy<Value = Value> {
    let agent_ids = || {
        select(vec![
            agent(0),
            agent(1),
            agent(2),
            agent_app(0),
            agent_app(9),
        ])
    };
    (
        state(),
        prop_oneof![
            Just(vec!["All".to_owned()]),
            prop::collection::vec(agent_ids(), 1..3),
            Just(vec![]),
        ],
        prop::collection::vec(agent_ids(), 0..2),
        prop::option::weighted(0.3, (select(APP_FILTERS), any::<bool>())),
        prop::option::weighted(0.4, select(vec!["high", "medium,high", "low"])),
        select(vec![json!(["All"]), json!(["AllAgentIdResources"]), json!([app(0), agent_app(1)])]),
        prop::bool::weighted(0.35),
        select(vec!["block", "compliantDevice", "mfa"]),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(state, include, exclude, filter, risk, apps, for_users, control, user_id)| {
                let mut conditions = if for_users {
                    let include = if user_id { agent_user() } else { "AllAgentIdUsers".to_owned() };
                    json!({"users": {"includeUsers": [include],
                                     "excludeUsers": if exclude.is_empty() { json!([]) } else { json!([agent_user()]) }},
                           "applications": {"includeApplications": ["All"]}})
                } else {
                    let mut ca = json!({"includeAgentIdServicePrincipals": include,
                                        "excludeAgentIdServicePrincipals": exclude});
                    let filter = match (filter, ca["includeAgentIdServicePrincipals"].as_array().is_none_or(Vec::is_empty)) {
                        (None, true) => Some((APP_FILTERS[0], true)),
                        (f, _) => f,
                    };
                    if let Some((rule, include)) = filter {
                        ca["agentIdServicePrincipalFilter"] =
                            json!({"mode": if include { "include" } else { "exclude" }, "rule": rule});
                    }
                    json!({"users": {"includeUsers": ["None"]}, "clientApplications": ca,
                           "applications": {"includeApplications": apps}})
                };
                if let Some(r) = risk {
                    conditions["agentIdRiskLevels"] = json!(r);
                }
                let control = if for_users { control } else { "block" };
                json!({"state": state, "conditions": conditions,
                       "grantControls": {"operator": "OR", "builtInControls": [control]}})
            },
        )
}

fn include_is_empty(ca: &Value) -> bool {
    ca["includeServicePrincipals"]
        .as_array()
        .is_none_or(Vec::is_empty)
}

/// One policy (without id and display name).
pub fn policy() -> impl Strategy<Value = Value> {
    prop_oneof![
        16 => user_policy().boxed(),
        1 => password_change_policy().boxed(),
        2 => workload_policy().boxed(),
        2 => agent_policy().boxed(),
    ]
}

// ---------------------------------------------------------------------------------------
// Requests.
// ---------------------------------------------------------------------------------------

fn device() -> impl Strategy<Value = Option<Value>> {
    let opt = |items: Vec<&'static str>| prop::option::weighted(0.6, select(items));
    prop::option::weighted(
        0.7,
        (
            (
                opt(vec!["device-1", "device-2"]),
                opt(vec!["LAPTOP-42", "laptop-7", "iPhone of Bob"]),
                opt(vec!["Company", "Personal", "company"]),
                any::<bool>(),
                prop::option::weighted(0.8, any::<bool>()),
                opt(vec!["AzureAD", "ServerAD", "Workplace", "serverad"]),
                opt(vec!["Windows", "iOS", "Android", "windows"]),
                opt(vec!["10.0.19045", "17.2"]),
            ),
            (
                opt(vec!["Surface Pro", "iPhone 15", "Pixel"]),
                opt(vec!["Microsoft", "Apple"]),
                prop::option::weighted(0.3, Just(INTUNE)),
                opt(vec!["RegisteredDevice", "SecureVM"]),
                some_of(&["M365Managed", "AzureResource", "MultiUser"], 0..2),
                some_of(&["[ZTDId]:abc", "[OrderId]:1"], 0..2),
                opt(vec!["SAW", "saw-02", "other"]),
                opt(vec!["Finance", "engineering"]),
                opt(vec!["Autopilot", "autopilot"]),
            ),
        )
            .prop_map(|(a, b)| {
                let (id, name, owner, graph_owner_key, compliant, trust, os, version) = a;
                let (model, maker, mdm, profile, labels, physical, ext1, ext2, enrollment) = b;
                let mut d = serde_json::Map::new();
                let mut put = |k: &str, v: Option<&str>| {
                    if let Some(v) = v {
                        d.insert(k.to_owned(), json!(v));
                    }
                };
                put("deviceId", id);
                put("displayName", name);
                put(
                    if graph_owner_key {
                        "ownership"
                    } else {
                        "deviceOwnership"
                    },
                    owner,
                );
                put("trustType", trust);
                put("operatingSystem", os);
                put("operatingSystemVersion", version);
                put("model", model);
                put("manufacturer", maker);
                put("mdmAppId", mdm);
                put("profileType", profile);
                put("extensionAttribute1", ext1);
                put("extensionAttribute2", ext2);
                put("enrollmentProfileName", enrollment);
                if let Some(c) = compliant {
                    d.insert("isCompliant".to_owned(), json!(c));
                }
                if !labels.is_empty() {
                    d.insert("systemLabels".to_owned(), json!(labels));
                }
                if !physical.is_empty() {
                    d.insert("physicalIds".to_owned(), json!(physical));
                }
                Value::Object(d)
            }),
    )
}

const IPS: &[&str] = &[
    "10.1.2.3",
    "10.1.2.200",
    "10.1.9.9",
    "::ffff:10.1.2.3",
    "192.0.2.200",
    "198.51.100.7",
    "198.51.100.200",
    "203.0.113.9",
    "2001:db8::5",
    "2001:db8:1::7",
    "8.8.8.8",
];

const METHODS: &[&str] = &[
    "password",
    "password,sms",
    "microsoftAuthenticatorPush",
    "fido2",
    "windowsHelloForBusiness",
    "deviceBasedPush",
    "email",
    "federatedSingleFactor",
    "softwareOath",
    "temporaryAccessPassOneTime",
    "x509CertificateSingleFactor",
    "x509CertificateMultiFactor",
];

const SECONDS: &[u64] = &[0, 180, 299, 301, 900, 3601, 7 * 3600, 30 * 3600, 100 * 3600];

fn subject() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => (
            0..USERS + 2,
            prop::option::weighted(0.25, select(KINDS)),
            prop::option::weighted(0.3, 1..4usize),
            prop::bool::weighted(0.2),
        )
            .prop_map(|(u, kind, tenant, upper)| {
                let mut s = json!({"@odata.type": "#microsoft.graph.userSignIn", "userId": cased(user(u), upper)});
                if let Some(k) = kind {
                    s["externalUserType"] = json!(k);
                }
                if let Some(t) = tenant {
                    s["externalTenantId"] = json!(home_tenant(t));
                }
                s
            }),
        2 => (0..4usize).prop_map(|i| json!({"@odata.type": "#microsoft.graph.servicePrincipalSignIn",
                                              "servicePrincipalId": service_principal(i)})),
        2 => (0..4usize).prop_map(|i| json!({"@odata.type": "#microsoft.graph.agentSignIn",
                                              "agentServicePrincipalId": agent(i)})),
        1 => Just(json!({"@odata.type": "#microsoft.graph.userSignIn", "userId": agent_user()})),
    ]
}

fn context() -> impl Strategy<Value = Value> {
    prop_oneof![
        12 => prop::collection::vec(app_pool(), 1..3)
            .prop_map(|apps| json!({"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": apps})),
        1 => select(vec!["registerSecurityInformation", "registerOrJoinDevices"])
            .prop_map(|a| json!({"@odata.type": "#microsoft.graph.userActionContext", "userAction": a})),
        1 => select(vec!["c1", "c2", "C3", "c9"])
            .prop_map(|c| json!({"@odata.type": "#microsoft.graph.authContext", "authenticationContextValue": c})),
    ]
}

fn conditions() -> impl Strategy<Value = Value> {
    let level = || prop::option::weighted(0.7, select(vec!["none", "low", "medium", "high"]));
    (
        prop::option::weighted(
            0.8,
            select(vec![
                "browser",
                "mobileAppsAndDesktopClients",
                "exchangeActiveSync",
                "other",
            ]),
        ),
        prop::option::weighted(
            0.75,
            select(vec![
                "android",
                "iOS",
                "windows",
                "windowsPhone",
                "macOS",
                "linux",
                "unknownFutureValue",
            ]),
        ),
        prop::option::weighted(0.75, select(IPS)),
        prop::option::weighted(0.65, select(vec!["FR", "fr", "DE", "US", "BR", "JP"])),
        (level(), level(), level()),
        prop::option::weighted(0.5, select(vec!["none", "minor", "moderate", "elevated"])),
        prop::option::weighted(
            0.4,
            select(vec!["none", "deviceCodeFlow", "authenticationTransfer"]),
        ),
        device(),
    )
        .prop_map(
            |(
                client,
                platform,
                ip,
                country,
                (sign_in, user_risk, sp_risk),
                insider,
                flow,
                device,
            )| {
                let mut c = serde_json::Map::new();
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        c.insert(k.to_owned(), v);
                    }
                };
                put("clientAppType", client.map(Value::from));
                put("devicePlatform", platform.map(Value::from));
                put("ipAddress", ip.map(Value::from));
                put("country", country.map(Value::from));
                put("signInRiskLevel", sign_in.map(Value::from));
                put("userRiskLevel", user_risk.map(Value::from));
                put("servicePrincipalRiskLevel", sp_risk.map(Value::from));
                put("insiderRiskLevel", insider.map(Value::from));
                put(
                    "authenticationFlow",
                    flow.map(|f| json!({"transferMethod": f})),
                );
                put("deviceInfo", device);
                Value::Object(c)
            },
        )
}

fn session() -> impl Strategy<Value = Value> {
    (
        (
            prop::collection::vec(select(METHODS), 0..3),
            indices(2, 0..3),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.25),
            prop::bool::weighted(0.25),
        ),
        (
            prop::option::weighted(
                0.25,
                select(vec!["none", "deviceCodeFlow", "authenticationTransfer"]),
            ),
            prop::option::weighted(0.4, select(SECONDS)),
            prop::option::weighted(0.4, select(SECONDS)),
            prop_oneof![
                6 => Just(None),
                2 => Just(Some(vec!["openid", "profile", "User.Read"])),
                2 => Just(Some(vec!["openid", "profile"])),
                1 => Just(Some(vec!["openid", "Mail.Read"])),
            ],
            prop::option::weighted(0.3, select(vec!["FR", "US", "de"])),
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.2),
        ),
        (
            prop::option::weighted(0.35, prop::collection::vec(select(METHODS), 1..3)),
            prop::bool::weighted(0.3),
        ),
    )
        .prop_map(
            |((methods, tou, password, approved, app_protection), rest, (home, confidential))| {
                let (original, since_auth, since_mfa, scopes, gps, compliant_network, refresh) =
                    rest;
                let mut s = json!({
                    "authenticationMethods": methods,
                    "acceptedTermsOfUse": tou.into_iter().map(terms).collect::<Vec<_>>(),
                    "passwordChanged": password,
                    "approvedClientApp": approved,
                    "appProtectionPolicy": app_protection,
                    "compliantNetwork": compliant_network,
                    "refresh": refresh,
                });
                if let Some(o) = original {
                    s["originalTransferMethod"] = json!(o);
                }
                if let Some(a) = since_auth {
                    s["secondsSinceAuthentication"] = json!(a);
                }
                if let Some(m) = since_mfa {
                    s["secondsSinceMfa"] = json!(m);
                }
                if let Some(sc) = scopes {
                    s["requestedScopes"] = json!(sc);
                }
                if let Some(g) = gps {
                    s["gpsCountry"] = json!(g);
                }
                if let Some(h) = home {
                    s["homeTenantAuthenticationMethods"] = json!(h);
                }
                if confidential {
                    s["confidentialClient"] = json!(true);
                }
                s
            },
        )
}

/// An evaluate request (v1.0 names) with gardien's `session`.
pub fn request() -> impl Strategy<Value = Value> {
    (
        subject(),
        context(),
        conditions(),
        session(),
        prop::bool::weighted(0.1),
        prop::option::weighted(0.4, select(vec!["low", "medium", "high"])),
    )
        .prop_map(
            |(identity, context, conditions, session, applied_only, agent_risk)| {
                let mut conditions = conditions;
                if let Some(level) = agent_risk {
                    conditions["agentIdRiskLevel"] = json!(level);
                }
                let mut r = json!({"signInIdentity": identity, "signInContext": context,
                               "signInConditions": conditions, "session": session});
                if applied_only {
                    r["appliedPoliciesOnly"] = json!(true);
                }
                r
            },
        )
}

//! Tenants for the fake Graph, each with the gardien tenant folder an administrator would have
//! written by hand for it (full directory, direct memberships and nesting, roles as assigned):
//! the pulled folder must decide every request the same way.
//!
//! - [`demo`]: the bundled demo tenant (`examples/demo/tenant`) turned into Graph's shapes.
//! - [`generated`]: a synthetic tenant of any size: nested groups, roles assigned directly,
//!   through a role-assignable group and at an administrative-unit scope (which must not
//!   count), guests, policies on users, groups, roles, apps, locations and platforms.

use super::fake_graph::{FakeAssignment, FakeGroup, FakeUser, Model};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

pub const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
pub const SECURITY_ADMIN: &str = "194ae4cb-b126-40b2-bd5b-6091b380977d";
pub const EXCHANGE_ADMIN: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
pub const HELPDESK_ADMIN: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";
const ROLES: [&str; 4] = [GLOBAL_ADMIN, SECURITY_ADMIN, EXCHANGE_ADMIN, HELPDESK_ADMIN];
pub const TRUSTED_LOCATION: &str = "e1000000-0000-4000-8000-000000000000";
pub const CUSTOM_STRENGTH: &str = "5a000000-0000-4000-8000-000000000001";
pub const DELETED_USER: &str = "dead0000-0000-4000-8000-000000000000";

pub fn user_id(i: usize) -> String {
    format!("a0000000-0000-4000-8000-{i:012x}")
}
pub fn group_id(i: usize) -> String {
    format!("b0000000-0000-4000-8000-{i:012x}")
}
pub fn app_id(i: usize) -> String {
    format!("a9900000-0000-4000-8000-{i:012x}")
}
fn sp_id(i: usize) -> String {
    format!("50000000-0000-4000-8000-{i:012x}")
}

fn write(path: &Path, v: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

/// Sizes of a generated tenant.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub policies: usize,
    pub users: usize,
    pub groups: usize,
    pub service_principals: usize,
}

/// The demo tenant as Graph would serve it, plus users no policy needs.
pub fn demo(root: &Path) -> Model {
    let dir = root.join("examples/demo/tenant");
    let mut files: Vec<_> = std::fs::read_dir(dir.join("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let policies: Vec<Value> = files
        .iter()
        .map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap())
        .collect();
    let locations: Value =
        serde_json::from_slice(&std::fs::read(dir.join("namedLocations.json")).unwrap()).unwrap();
    let d: Value =
        serde_json::from_slice(&std::fs::read(dir.join("directory.json")).unwrap()).unwrap();
    let mut model = Model {
        policies,
        named_locations: locations["value"].as_array().unwrap().clone(),
        service_principals: d["servicePrincipals"].as_array().unwrap().clone(),
        cross_default: json!({"id": "default", "inboundTrust": {"isMfaAccepted": false,
            "isCompliantDeviceAccepted": false, "isHybridAzureADJoinedDeviceAccepted": false}}),
        ..Model::default()
    };
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for u in d["users"].as_array().unwrap() {
        let id = u["id"].as_str().unwrap().to_owned();
        model.users.push(FakeUser {
            id: id.clone(),
            upn: u["userPrincipalName"].as_str().unwrap().to_owned(),
            user_type: if u["userType"] == "Guest" {
                "Guest"
            } else {
                "Member"
            },
        });
        for g in u["memberOf"].as_array().into_iter().flatten() {
            members
                .entry(g.as_str().unwrap().to_owned())
                .or_default()
                .push(id.clone());
        }
        for r in u["roles"].as_array().into_iter().flatten() {
            model.assignments.push(FakeAssignment {
                role: r.as_str().unwrap().to_owned(),
                principal: id.clone(),
                scope: "/".into(),
            });
        }
    }
    for g in d["groups"].as_array().unwrap() {
        for parent in g["memberOf"].as_array().into_iter().flatten() {
            members
                .entry(parent.as_str().unwrap().to_owned())
                .or_default()
                .push(g["id"].as_str().unwrap().to_owned());
        }
    }
    for g in d["groups"].as_array().unwrap() {
        let id = g["id"].as_str().unwrap().to_owned();
        model.groups.push(FakeGroup {
            display_name: g["displayName"].as_str().unwrap().to_owned(),
            members: members.remove(&id).unwrap_or_default(),
            id,
        });
    }
    // Users no policy needs: they must not be pulled.
    for i in 0..50 {
        model.users.push(FakeUser {
            id: user_id(900_000 + i),
            upn: format!("bystander{i}@contoso.example"),
            user_type: "Member",
        });
    }
    model
}

/// Direct groups of user `i`.
pub fn user_groups(i: usize, groups: usize) -> [usize; 2] {
    [i % groups, (i * 31 + 7) % groups]
}

/// The parent of group `g` (a tree over the first 200 groups).
pub fn parent(g: usize) -> Option<usize> {
    (1..200).contains(&g).then(|| (g - 1) / 4)
}

/// The role-assignable group holding Security Administrator (the last group).
pub fn admin_group(size: Size) -> usize {
    size.groups - 1
}

/// Members of the role-assignable admin group.
pub fn admin_group_members() -> std::ops::Range<usize> {
    100..110
}

/// The user with Helpdesk Administrator at an administrative-unit scope only.
pub const SCOPED_ADMIN: usize = 200;
/// The break-glass account every `All users` policy excludes.
pub const BREAK_GLASS: usize = 5;

fn policy(k: usize, size: Size) -> Value {
    let (u, g) = (size.users, size.groups);
    let users = match k % 5 {
        0 => json!({"includeUsers": ["All"], "excludeUsers": [user_id(BREAK_GLASS), DELETED_USER],
                     "excludeGroups": [group_id((k * 17 + 3) % g)]}),
        1 => json!({"includeGroups": [group_id((k * 53) % 400.min(g))]}),
        2 => json!({"includeRoles": [ROLES[(k / 5) % 4]]}),
        3 => json!({"includeGroups": [group_id((k * 13) % g), group_id((k * 29) % g)],
                     "excludeRoles": [GLOBAL_ADMIN]}),
        _ => {
            json!({"includeUsers": [user_id((k * 97) % u)], "includeGroups": [group_id((k * 7) % 50.min(g))]})
        }
    };
    let apps = size.service_principals.clamp(1, 10);
    let applications = match k % 3 {
        0 => json!({"includeApplications": ["All"]}),
        1 => json!({"includeApplications": [app_id(k % apps)]}),
        _ => {
            json!({"includeApplications": ["All"], "excludeApplications": [app_id((k + 1) % apps)]})
        }
    };
    let mut conditions =
        json!({"users": users, "applications": applications, "clientAppTypes": ["all"]});
    if k.is_multiple_of(4) {
        conditions["locations"] =
            json!({"includeLocations": ["All"], "excludeLocations": [TRUSTED_LOCATION]});
    }
    if k % 6 == 1 {
        conditions["platforms"] = json!({"includeDevicePlatforms": ["iOS", "android"]});
    }
    let grant = if k % 11 == 5 {
        json!({"operator": "OR", "builtInControls": [], "authenticationStrength": {"id": CUSTOM_STRENGTH}})
    } else {
        match (k / 5) % 3 {
            0 => json!({"operator": "OR", "builtInControls": ["mfa"]}),
            1 => json!({"operator": "OR", "builtInControls": ["compliantDevice"]}),
            _ => json!({"operator": "OR", "builtInControls": ["block"]}),
        }
    };
    let state = match k % 10 {
        9 => "disabled",
        8 => "enabledForReportingButNotEnforced",
        _ => "enabled",
    };
    json!({
        "id": format!("c0000000-0000-4000-8000-{k:012x}"),
        "displayName": format!("CA{k:03} generated"),
        "state": state,
        "conditions": conditions,
        "grantControls": grant,
    })
}

/// A synthetic tenant of `size`.
pub fn generated(size: Size) -> Model {
    let mut model = Model::default();
    for i in 0..size.users {
        model.users.push(FakeUser {
            id: user_id(i),
            upn: format!("user{i}@contoso.example"),
            user_type: if i % 50 == 49 { "Guest" } else { "Member" },
        });
    }
    let mut groups: Vec<FakeGroup> = (0..size.groups)
        .map(|g| FakeGroup {
            id: group_id(g),
            display_name: format!("Group {g}"),
            members: Vec::new(),
        })
        .collect();
    for i in 0..size.users {
        let mut direct = user_groups(i, size.groups).to_vec();
        direct.dedup();
        for g in direct {
            groups[g].members.push(user_id(i));
        }
    }
    for g in 0..size.groups {
        if let Some(p) = parent(g) {
            groups[p].members.push(group_id(g));
        }
    }
    let admins = admin_group(size);
    groups[admins].display_name = "Tier-0 admins (role-assignable)".into();
    groups[admins].members = admin_group_members().map(user_id).collect();
    model.groups = groups;
    model.assignments = (0..20)
        .map(|i| FakeAssignment {
            role: GLOBAL_ADMIN.into(),
            principal: user_id(i * 7),
            scope: "/".into(),
        })
        .chain([
            FakeAssignment {
                role: SECURITY_ADMIN.into(),
                principal: group_id(admins),
                scope: "/".into(),
            },
            FakeAssignment {
                role: HELPDESK_ADMIN.into(),
                principal: user_id(SCOPED_ADMIN),
                scope: "/administrativeUnits/a0000000-0000-4000-8000-00000000a001".into(),
            },
            FakeAssignment {
                role: GLOBAL_ADMIN.into(),
                principal: sp_id(0),
                scope: "/".into(),
            },
        ])
        .collect();
    model.service_principals = (0..size.service_principals)
        .map(|i| json!({"id": sp_id(i), "appId": app_id(i), "displayName": format!("App {i}")}))
        .collect();
    model.policies = (0..size.policies).map(|k| policy(k, size)).collect();
    // Beta returns one member v1.0 lacks on every third policy.
    for p in model.policies.iter().step_by(3) {
        model.beta_extra.insert(
            p["id"].as_str().unwrap().to_owned(),
            json!({"partialEnablementStrategy": null}),
        );
    }
    model.named_locations = vec![
        json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "id": TRUSTED_LOCATION,
               "displayName": "HQ", "isTrusted": true,
               "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"}]}),
        json!({"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "e1000000-0000-4000-8000-000000000001",
               "displayName": "EU", "countriesAndRegions": ["FR", "DE"], "includeUnknownCountriesAndRegions": false}),
    ];
    model.auth_strengths = vec![
        json!({"id": "00000000-0000-0000-0000-000000000002", "displayName": "Multifactor authentication",
               "policyType": "builtIn", "allowedCombinations": ["password,sms", "fido2"]}),
        json!({"id": CUSTOM_STRENGTH, "displayName": "FIDO2 only", "policyType": "custom",
               "allowedCombinations": ["fido2"]}),
    ];
    model.cross_default = json!({"id": "default", "inboundTrust": {"isMfaAccepted": true,
        "isCompliantDeviceAccepted": false, "isHybridAzureADJoinedDeviceAccepted": false}});
    model.cross_partners = vec![
        json!({"tenantId": "f0000000-0000-4000-8000-000000000002", "inboundTrust": {"isMfaAccepted": true}}),
        json!({"tenantId": "f0000000-0000-4000-8000-000000000001", "inboundTrust": null}),
    ];
    model.devices = vec![
        json!({"id": "d1", "deviceId": "d0000000-0000-4000-8000-000000000002", "displayName": "PHONE",
               "operatingSystem": "iOS", "operatingSystemVersion": "17.5", "trustType": "Workplace"}),
        json!({"id": "d0", "deviceId": "d0000000-0000-4000-8000-000000000001", "displayName": "LAPTOP",
               "operatingSystem": "Windows", "operatingSystemVersion": "10.0.22631", "trustType": "AzureAD"}),
    ];
    model.signins = (0..6)
        .map(|i| {
            json!({"id": format!("5191{i:04}-0000-4000-8000-000000000000"),
                   "createdDateTime": format!("2026-12-0{}T08:00:00Z", i + 1),
                   "userId": user_id(i), "appId": app_id(0), "ipAddress": "198.51.100.7",
                   "clientAppUsed": "Browser", "conditionalAccessStatus": "success"})
        })
        .collect();
    model
}

/// The folder an administrator would write by hand for a generated tenant: every user with
/// direct groups, groups with parents, roles as assigned tenant-wide (directly or through the
/// role-assignable group).
pub fn hand_built(model: &Model, dir: &Path) {
    for p in &model.policies {
        write(
            &dir.join(format!("policies/{}.json", p["id"].as_str().unwrap())),
            p,
        );
    }
    write(
        &dir.join("namedLocations.json"),
        &json!({"value": model.named_locations}),
    );
    let mut member_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for g in &model.groups {
        for m in &g.members {
            member_of.entry(m).or_default().push(&g.id);
        }
    }
    let mut roles: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in model.assignments.iter().filter(|a| a.scope == "/") {
        match model.groups.iter().find(|g| g.id == a.principal) {
            Some(g) => {
                for m in &g.members {
                    roles.entry(m).or_default().push(&a.role);
                }
            }
            None => roles.entry(&a.principal).or_default().push(&a.role),
        }
    }
    let users: Vec<Value> = model
        .users
        .iter()
        .map(|u| {
            json!({"id": u.id, "userPrincipalName": u.upn, "userType": u.user_type,
                   "memberOf": member_of.get(u.id.as_str()).cloned().unwrap_or_default(),
                   "roles": roles.get(u.id.as_str()).cloned().unwrap_or_default()})
        })
        .collect();
    let groups: Vec<Value> = model
        .groups
        .iter()
        .map(|g| {
            json!({"id": g.id, "displayName": g.display_name,
                   "memberOf": member_of.get(g.id.as_str()).cloned().unwrap_or_default()})
        })
        .collect();
    let strengths: Vec<Value> = model
        .auth_strengths
        .iter()
        .filter(|s| s["policyType"] == "custom")
        .map(|s| json!({"id": s["id"], "displayName": s["displayName"], "allowedCombinations": s["allowedCombinations"]}))
        .collect();
    write(
        &dir.join("directory.json"),
        &json!({"users": users, "groups": groups, "servicePrincipals": model.service_principals,
                "authenticationStrengthPolicies": strengths}),
    );
    // The cross-tenant access policy decides external users' MFA and device claims.
    write(
        &dir.join("crossTenantAccess.json"),
        &json!({"default": model.cross_default, "partners": model.cross_partners}),
    );
}

/// A Graph evaluate request body.
pub fn request(user: &str, app: &str, ip: &str, platform: &str, methods: &[&str]) -> Value {
    json!({
        "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": user},
        "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [app]},
        "signInConditions": {"clientAppType": "browser", "devicePlatform": platform, "ipAddress": ip, "country": "FR"},
        "session": {"authenticationMethods": methods},
    })
}

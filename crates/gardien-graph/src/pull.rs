//! What a pull reads, in order, and how it becomes the tenant layout.
//!
//! | file | Graph (least-privileged permission) |
//! | --- | --- |
//! | `policies/<id>.json` | `/v1.0/identity/conditionalAccess/policies`, plus members only beta has from `/beta/…` (Policy.Read.All) |
//! | `namedLocations.json` | `/v1.0/identity/conditionalAccess/namedLocations` (Policy.Read.All) |
//! | `directory.json` `authenticationStrengthPolicies` | `/v1.0/policies/authenticationStrengthPolicies`, custom ones (Policy.Read.All) |
//! | `directory.json` `groups`, `users[].memberOf` | `/v1.0/groups/{id}` and `/transitiveMembers` of each group the policies name (GroupMember.Read.All, User.Read.All) |
//! | `directory.json` `users[].roles` | `/v1.0/roleManagement/directory/roleAssignments` of each role the policies name, tenant-wide, to users and role-assignable groups (RoleManagement.Read.Directory) |
//! | `directory.json` `users` named directly | `/v1.0/users/{id}` (User.Read.All) |
//! | `directory.json` guests, when a policy targets guests or external users | `/v1.0/users?$filter=userType eq 'Guest'` (User.Read.All) |
//! | `directory.json` `servicePrincipals` | `/v1.0/servicePrincipals` (Application.Read.All) |
//! | `crossTenantAccess.json` | `/v1.0/policies/crossTenantAccessPolicy/default` and `/partners` (Policy.Read.All) |
//! | `devices.json` (`--devices`) | `/v1.0/devices` (Device.Read.All) |
//! | `signIns.jsonl` (`--signins`) | `/beta/auditLogs/signIns` (v1.0 with `--no-beta`) (AuditLog.Read.All) |
//!
//! Only the directory the policies can depend on is written: a user's `memberOf` lists the
//! referenced groups the user is a member of, directly or through nesting (already flattened,
//! so groups carry no `memberOf`), and `roles` the referenced roles the user holds actively and
//! tenant-wide, directly or through a role-assignable group. Every other user matches a policy
//! exactly as a user absent from the directory would (by id and `All`) — except guests: when a
//! policy includes or excludes guests or external users, every guest (`userType` `Guest`) is
//! listed, since a guest the directory does not list would be decided as a member.

use crate::client::{GraphClient, Progress};
use crate::error::PullError;
use crate::output::{Staging, pretty};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

const POLICY_READ: &str = "Policy.Read.All";
const MEMBERS_READ: &str = "GroupMember.Read.All and User.Read.All";
const USERS_READ: &str = "User.Read.All";
const ROLES_READ: &str = "RoleManagement.Read.Directory";
const APPS_READ: &str = "Application.Read.All";
const DEVICES_READ: &str = "Device.Read.All";
const SIGNINS_READ: &str = "AuditLog.Read.All";

/// Largest page Graph serves for directory objects.
const PAGE: u32 = 999;

/// What to pull besides the tenant itself.
#[derive(Debug, Clone, Default)]
pub struct PullScope {
    /// Skip the beta endpoint (national clouds without beta).
    pub no_beta: bool,
    /// Also write `devices.json`.
    pub devices: bool,
    /// Also write `signIns.jsonl` with the sign-ins created at or after this RFC 3339 instant.
    pub signins_since: Option<String>,
}

/// Counts of what was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullSummary {
    /// Policies.
    pub policies: usize,
    /// Named locations.
    pub named_locations: usize,
    /// Users in `directory.json`.
    pub users: usize,
    /// Groups in `directory.json`.
    pub groups: usize,
    /// Service principals.
    pub service_principals: usize,
    /// Devices (with `--devices`).
    pub devices: usize,
    /// Sign-ins (with `--signins`).
    pub signins: usize,
}

/// A user as the directory needs it.
#[derive(Default)]
struct UserEntry {
    upn: Option<String>,
    user_type: Option<String>,
    groups: BTreeSet<Arc<str>>,
    roles: BTreeSet<Arc<str>>,
}

/// A set of shared ids, serialised as a JSON array of strings.
struct Ids<'a>(&'a BTreeSet<Arc<str>>);

impl Serialize for Ids<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|id| &**id))
    }
}

/// One user of `directory.json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserOut<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_principal_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    member_of: Option<Ids<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<Ids<'a>>,
}

/// The users, sorted by id, serialised straight from the map (no copy of 100k users).
struct UsersOut<'a>(&'a BTreeMap<String, UserEntry>);

impl Serialize for UsersOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|(id, u)| UserOut {
            id,
            user_principal_name: u.upn.as_deref(),
            user_type: u.user_type.as_deref(),
            member_of: (!u.groups.is_empty()).then_some(Ids(&u.groups)),
            roles: (!u.roles.is_empty()).then_some(Ids(&u.roles)),
        }))
    }
}

/// `directory.json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DirectoryOut<'a> {
    users: UsersOut<'a>,
    groups: &'a [Value],
    service_principals: &'a [Value],
    authentication_strength_policies: &'a [Value],
}

/// Ids the policies reference.
#[derive(Default, Debug)]
struct References {
    users: BTreeSet<String>,
    groups: BTreeSet<String>,
    roles: BTreeSet<String>,
    /// Some policy includes or excludes guests or external users.
    guests: bool,
}

/// An id Graph could have: letters, digits and dashes (it goes into a URL path).
/// `n pages` / `1 page`.
fn pages(n: usize) -> String {
    if n == 1 {
        "1 page".to_owned()
    } else {
        format!("{n} pages")
    }
}

pub(crate) fn usable_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn references(policies: &[Value]) -> References {
    let mut refs = References::default();
    for p in policies {
        let Some(users) = p.pointer("/conditions/users") else {
            continue;
        };
        refs.guests |= [
            "includeGuestsOrExternalUsers",
            "excludeGuestsOrExternalUsers",
        ]
        .iter()
        .any(|k| users.get(k).is_some_and(|v| !v.is_null()))
            || ["includeUsers", "excludeUsers"].iter().any(|k| {
                users
                    .get(k)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .any(|id| id.eq_ignore_ascii_case("GuestsOrExternalUsers"))
            });
        for (keys, set) in [
            (["includeUsers", "excludeUsers"], &mut refs.users),
            (["includeGroups", "excludeGroups"], &mut refs.groups),
            (["includeRoles", "excludeRoles"], &mut refs.roles),
        ] {
            for key in keys {
                for id in users
                    .get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    let special = ["All", "None", "GuestsOrExternalUsers"]
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(id));
                    if !special {
                        set.insert(id.to_ascii_lowercase());
                    }
                }
            }
        }
    }
    refs
}

/// Adds to `target` the members of `extra` it lacks, at every object level (beta members that
/// v1.0 does not have; v1.0 wins where both have a member).
fn merge_missing(target: &mut Value, extra: &Value) {
    if let (Value::Object(t), Value::Object(e)) = (target, extra) {
        for (k, v) in e {
            match t.get_mut(k) {
                Some(tv) => merge_missing(tv, v),
                None => {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

/// `id` of a Graph object, lowercased.
fn object_id(v: &Value) -> String {
    v.get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase()
}

pub(crate) fn sort_by_key(items: &mut [Value], key: &str) {
    items.sort_by(|a, b| {
        let ka = a.get(key).and_then(Value::as_str).unwrap_or_default();
        let kb = b.get(key).and_then(Value::as_str).unwrap_or_default();
        ka.to_ascii_lowercase()
            .cmp(&kb.to_ascii_lowercase())
            .then_with(|| a.to_string().cmp(&b.to_string()))
    });
}

/// Removes collection-level annotations from an object (`@odata.context`).
fn without_context(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.remove("@odata.context");
    }
    v
}

/// Groups read at the same time (Graph's guidance: a few concurrent requests per app).
const CONCURRENCY: usize = 4;
/// Groups whose members are held in memory at once before being merged.
const BATCH: usize = 16;

/// A user member of a group, as `transitiveMembers` lists it.
struct Member {
    id: String,
    upn: Option<String>,
    user_type: Option<String>,
}

/// The group (when `with_group`; `Value::Null` otherwise) and its transitive user members;
/// `None` when the group does not exist.
type GroupRead = Option<(Value, Vec<Member>)>;

fn fetch_one(
    graph: &GraphClient<'_>,
    what: &str,
    group: &str,
    with_group: bool,
) -> Result<GroupRead, PullError> {
    let head = if with_group {
        let url = graph.url(&format!("/v1.0/groups/{group}?$select=id,displayName"));
        match graph.get(what, MEMBERS_READ, &url)? {
            Some(g) => g,
            None => return Ok(None),
        }
    } else {
        Value::Null
    };
    let path = format!(
        "/v1.0/groups/{group}/transitiveMembers?$select=id,userPrincipalName,userType&$top={PAGE}"
    );
    let mut members = Vec::new();
    graph.each_page(what, MEMBERS_READ, &path, |page| {
        for m in page {
            let is_user = m
                .get("@odata.type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("#microsoft.graph.user"));
            let id = object_id(&m);
            if is_user && !id.is_empty() {
                members.push(Member {
                    id,
                    upn: str_field(&m, "userPrincipalName"),
                    user_type: str_field(&m, "userType"),
                });
            }
        }
        Ok(())
    })?;
    Ok(Some((head, members)))
}

/// [`fetch_one`] for each group, [`CONCURRENCY`] at a time; results in the order of `groups`.
/// The first failure stops the other readers and is returned.
fn fetch_members(
    graph: &GraphClient<'_>,
    what: &str,
    groups: &[String],
    with_group: bool,
) -> Result<Vec<GroupRead>, PullError> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let slots: Vec<Mutex<Option<Result<GroupRead, PullError>>>> =
        groups.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENCY.min(groups.len()) {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(group) = groups.get(i) else { break };
                    let read = fetch_one(graph, what, group, with_group);
                    if read.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    if let Some(Ok(mut slot)) = slots.get(i).map(Mutex::lock) {
                        *slot = Some(read);
                    }
                }
            });
        }
    });
    let reads: Vec<Option<Result<GroupRead, PullError>>> = slots
        .into_iter()
        .map(|s| s.into_inner().ok().flatten())
        .collect();
    let mut out = Vec::with_capacity(reads.len());
    let mut first_error = None;
    for read in reads {
        match read {
            Some(Ok(r)) => out.push(r),
            Some(Err(e)) => {
                first_error.get_or_insert(e);
            }
            None => {}
        }
    }
    match first_error {
        Some(e) => Err(e),
        None if out.len() == groups.len() => Ok(out),
        None => Err(PullError::Response {
            what: what.to_owned(),
            reason: "a group reader stopped without a result".to_owned(),
        }),
    }
}

struct Puller<'c, 'p> {
    graph: &'c GraphClient<'p>,
    users: BTreeMap<String, UserEntry>,
}

impl Puller<'_, '_> {
    fn done(&self, name: &str, summary: String) {
        self.graph.report(Progress::Collection {
            name: name.to_owned(),
            summary,
        });
    }

    fn note(&self, text: String) {
        self.graph.report(Progress::Note(text));
    }

    fn policies(&self, scope: &PullScope) -> Result<Vec<Value>, PullError> {
        let path = "/identity/conditionalAccess/policies";
        let (mut policies, n_pages) =
            self.graph
                .collection("policies", POLICY_READ, &format!("/v1.0{path}"))?;
        let mut added = 0;
        if !scope.no_beta {
            let (beta, _) =
                self.graph
                    .collection("policies (beta)", POLICY_READ, &format!("/beta{path}"))?;
            let beta: BTreeMap<String, Value> =
                beta.into_iter().map(|p| (object_id(&p), p)).collect();
            for p in &mut policies {
                if let Some(b) = beta.get(&object_id(p)) {
                    let before = p.to_string().len();
                    merge_missing(p, b);
                    added += usize::from(p.to_string().len() != before);
                }
            }
        }
        for p in &mut policies {
            p.sort_all_objects();
        }
        sort_by_key(&mut policies, "id");
        let beta = if scope.no_beta {
            "beta skipped".to_owned()
        } else {
            format!("beta members added to {added}")
        };
        self.done(
            "policies",
            format!("{} ({}, {beta})", policies.len(), pages(n_pages)),
        );
        Ok(policies)
    }

    fn named_locations(&self) -> Result<Vec<Value>, PullError> {
        let (mut locations, n_pages) = self.graph.collection(
            "namedLocations",
            POLICY_READ,
            "/v1.0/identity/conditionalAccess/namedLocations",
        )?;
        for l in &mut locations {
            l.sort_all_objects();
        }
        sort_by_key(&mut locations, "id");
        self.done(
            "namedLocations",
            format!("{} ({})", locations.len(), pages(n_pages)),
        );
        Ok(locations)
    }

    fn authentication_strengths(&self) -> Result<Vec<Value>, PullError> {
        let (all, n_pages) = self.graph.collection(
            "authenticationStrengthPolicies",
            POLICY_READ,
            "/v1.0/policies/authenticationStrengthPolicies",
        )?;
        let total = all.len();
        let mut custom: Vec<Value> = all
            .into_iter()
            .filter(|s| !s.get("policyType").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("builtIn")))
            .map(|s| {
                json!({
                    "id": object_id(&s),
                    "displayName": s.get("displayName").cloned().unwrap_or(Value::Null),
                    "allowedCombinations": s.get("allowedCombinations").cloned().unwrap_or_else(|| json!([])),
                })
            })
            .collect();
        sort_by_key(&mut custom, "id");
        self.done(
            "authenticationStrengthPolicies",
            format!(
                "{} custom of {total} ({}; the built-in ones are built in)",
                custom.len(),
                pages(n_pages)
            ),
        );
        Ok(custom)
    }

    fn user(&mut self, id: &str) -> &mut UserEntry {
        self.users.entry(id.to_ascii_lowercase()).or_default()
    }

    /// Adds the members of a group to the users, each getting `shared` through `pick`.
    fn add_members(
        &mut self,
        members: Vec<Member>,
        shared: &Arc<str>,
        pick: fn(&mut UserEntry) -> &mut BTreeSet<Arc<str>>,
    ) -> usize {
        let count = members.len();
        for m in members {
            let entry = self.users.entry(m.id).or_default();
            if entry.upn.is_none() {
                entry.upn = m.upn;
            }
            if entry.user_type.is_none() {
                entry.user_type = m.user_type;
            }
            pick(entry).insert(shared.clone());
        }
        count
    }

    /// The referenced groups and their transitive user members.
    fn groups(&mut self, refs: &References) -> Result<Vec<Value>, PullError> {
        let mut groups = Vec::new();
        let (ids, mut missing): (Vec<String>, Vec<String>) =
            refs.groups.iter().cloned().partition(|id| usable_id(id));
        let mut memberships = 0;
        for batch in ids.chunks(BATCH) {
            let fetched = fetch_members(self.graph, "groups", batch, true)?;
            for (id, found) in batch.iter().zip(fetched) {
                let Some((group, members)) = found else {
                    missing.push(id.clone());
                    continue;
                };
                let shared: Arc<str> = Arc::from(id.as_str());
                memberships += self.add_members(members, &shared, |u| &mut u.groups);
                groups.push(json!({
                    "id": id,
                    "displayName": group.get("displayName").cloned().unwrap_or(Value::Null),
                }));
            }
        }
        self.done(
            "groups",
            format!(
                "{} referenced, {} found, {memberships} transitive user memberships",
                refs.groups.len(),
                groups.len()
            ),
        );
        if !missing.is_empty() {
            missing.sort();
            self.note(format!(
                "groups the policies name that Graph does not have (deleted?): {}",
                missing.join(", ")
            ));
        }
        Ok(groups)
    }

    /// Active, tenant-wide holders of the referenced roles.
    fn roles(&mut self, refs: &References) -> Result<(), PullError> {
        let (mut direct, mut via_groups, mut scoped) = (0, 0, 0);
        // (role-assignable group, role) pairs, read after the assignments.
        let mut role_groups: Vec<(String, Arc<str>)> = Vec::new();
        for role in &refs.roles {
            if !usable_id(role) {
                continue;
            }
            let shared: Arc<str> = Arc::from(role.as_str());
            let path = format!(
                "/v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId%20eq%20%27{role}%27&$expand=principal"
            );
            let (assignments, _) = self.graph.collection("roles", ROLES_READ, &path)?;
            for a in assignments {
                let scope = a
                    .get("directoryScopeId")
                    .and_then(Value::as_str)
                    .unwrap_or("/");
                if scope != "/" {
                    // Administrative-unit or resource scopes do not count for Conditional Access.
                    scoped += 1;
                    continue;
                }
                let Some(principal) = a.get("principal").filter(|p| p.is_object()) else {
                    return Err(PullError::Response {
                        what: "roles".to_owned(),
                        reason: "a role assignment without its `principal`".to_owned(),
                    });
                };
                let kind = principal
                    .get("@odata.type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let id = object_id(principal);
                match kind.as_str() {
                    "#microsoft.graph.user" if !id.is_empty() => {
                        direct += 1;
                        let upn = str_field(principal, "userPrincipalName");
                        let user_type = str_field(principal, "userType");
                        let entry = self.user(&id);
                        entry.roles.insert(shared.clone());
                        if entry.upn.is_none() {
                            entry.upn = upn;
                        }
                        if entry.user_type.is_none() {
                            entry.user_type = user_type;
                        }
                    }
                    "#microsoft.graph.group" if usable_id(&id) => {
                        role_groups.push((id, shared.clone()));
                    }
                    // Service principals hold roles too; user conditions never match them.
                    _ => {}
                }
            }
        }
        for batch in role_groups.chunks(BATCH) {
            let ids: Vec<String> = batch.iter().map(|(g, _)| g.clone()).collect();
            let fetched = fetch_members(self.graph, "roles", &ids, false)?;
            for ((_, role), found) in batch.iter().zip(fetched) {
                if let Some((_, members)) = found {
                    via_groups += self.add_members(members, role, |u| &mut u.roles);
                }
            }
        }
        self.done(
            "roleAssignments",
            format!(
                "{} roles referenced: {direct} direct, {via_groups} through groups, {scoped} scoped assignments left out",
                refs.roles.len()
            ),
        );
        Ok(())
    }

    /// Users the policies name directly that no group or role brought in.
    fn named_users(&mut self, refs: &References) -> Result<(), PullError> {
        let mut missing = Vec::new();
        let mut fetched = 0;
        for id in &refs.users {
            if self.users.contains_key(id) {
                continue;
            }
            if !usable_id(id) {
                missing.push(id.clone());
                continue;
            }
            let url = self.graph.url(&format!(
                "/v1.0/users/{id}?$select=id,userPrincipalName,userType"
            ));
            match self.graph.get("users", USERS_READ, &url)? {
                Some(u) => {
                    fetched += 1;
                    let entry = self.user(id);
                    entry.upn = str_field(&u, "userPrincipalName");
                    entry.user_type = str_field(&u, "userType");
                }
                None => missing.push(id.clone()),
            }
        }
        self.done(
            "users",
            format!(
                "{} named by policies ({fetched} read one by one), {} in the directory",
                refs.users.len(),
                self.users.len()
            ),
        );
        if !missing.is_empty() {
            self.note(format!(
                "users the policies name that Graph does not have (deleted?): {}",
                missing.join(", ")
            ));
        }
        Ok(())
    }

    /// Every guest, when a policy targets guests or external users: a guest missing from
    /// `directory.json` would be decided as a member, and guest policies would not apply.
    fn guests(&mut self, refs: &References) -> Result<(), PullError> {
        if !refs.guests {
            return Ok(());
        }
        let mut guests = Vec::new();
        let (_, n_pages) = self.graph.each_page(
            "guests",
            USERS_READ,
            &format!(
                "/v1.0/users?$filter=userType%20eq%20'Guest'&$select=id,userPrincipalName,userType&$top={PAGE}"
            ),
            |page| {
                for u in page {
                    let id = object_id(&u);
                    if !id.is_empty() {
                        guests.push((id, str_field(&u, "userPrincipalName")));
                    }
                }
                Ok(())
            },
        )?;
        let count = guests.len();
        for (id, upn) in guests {
            let entry = self.user(&id);
            if entry.upn.is_none() {
                entry.upn = upn;
            }
            entry.user_type = Some("Guest".to_owned());
        }
        self.done(
            "guests",
            format!(
                "{count} (a policy targets guests or external users; {})",
                pages(n_pages)
            ),
        );
        Ok(())
    }

    fn service_principals(&self) -> Result<Vec<Value>, PullError> {
        let mut sps = BTreeMap::new();
        let (count, n_pages) = self.graph.each_page(
            "servicePrincipals",
            APPS_READ,
            &format!("/v1.0/servicePrincipals?$select=id,appId,displayName&$top={PAGE}"),
            |page| {
                for sp in page {
                    let id = object_id(&sp);
                    if id.is_empty() {
                        continue;
                    }
                    sps.insert(
                        id.clone(),
                        json!({
                            "id": id,
                            "appId": sp.get("appId").and_then(Value::as_str).map(str::to_ascii_lowercase),
                            "displayName": sp.get("displayName").cloned().unwrap_or(Value::Null),
                        }),
                    );
                }
                Ok(())
            },
        )?;
        self.done("servicePrincipals", format!("{count} ({})", pages(n_pages)));
        Ok(sps.into_values().collect())
    }

    fn cross_tenant_access(&self) -> Result<Value, PullError> {
        let url = self
            .graph
            .url("/v1.0/policies/crossTenantAccessPolicy/default");
        let mut default = self
            .graph
            .get("crossTenantAccessPolicy", POLICY_READ, &url)?
            .map(without_context)
            .unwrap_or_else(|| json!({}));
        default.sort_all_objects();
        let (mut partners, _) = self.graph.collection(
            "crossTenantAccessPolicy",
            POLICY_READ,
            "/v1.0/policies/crossTenantAccessPolicy/partners",
        )?;
        for p in &mut partners {
            p.sort_all_objects();
        }
        sort_by_key(&mut partners, "tenantId");
        self.done(
            "crossTenantAccessPolicy",
            format!("default + {} partners", partners.len()),
        );
        Ok(json!({"default": default, "partners": partners}))
    }

    fn devices(&self) -> Result<Vec<Value>, PullError> {
        let (mut devices, n_pages) = self.graph.collection(
            "devices",
            DEVICES_READ,
            &format!(
                "/v1.0/devices?$select=id,deviceId,displayName,operatingSystem,operatingSystemVersion,trustType,isCompliant,isManaged,manufacturer,model,profileType,extensionAttributes&$top={PAGE}"
            ),
        )?;
        for d in &mut devices {
            d.sort_all_objects();
        }
        sort_by_key(&mut devices, "deviceId");
        self.done("devices", format!("{} ({})", devices.len(), pages(n_pages)));
        Ok(devices)
    }

    /// Streams sign-ins to `signIns.jsonl`, in Graph's order (newest first). From beta unless
    /// `--no-beta`: only beta records carry what replay rebuilds a sign-in from
    /// (`authenticationDetails`, `authenticationRequirement`, `userType`, `homeTenantId`...).
    fn signins(&self, staging: &Staging, since: &str, beta: bool) -> Result<usize, PullError> {
        let version = if beta { "beta" } else { "v1.0" };
        let (file, path) = staging.create("signIns.jsonl")?;
        let mut out = std::io::BufWriter::new(file);
        let io = |e: std::io::Error| PullError::Output {
            path: path.clone(),
            reason: e.to_string(),
        };
        let (count, n_pages) = self.graph.each_page(
            "signIns",
            SIGNINS_READ,
            &format!(
                "/{version}/auditLogs/signIns?$filter=createdDateTime%20ge%20{since}&$top=1000"
            ),
            |page| {
                for s in page {
                    serde_json::to_writer(&mut out, &s)
                        .map_err(|e| io(std::io::Error::other(e)))?;
                    out.write_all(b"\n").map_err(io)?;
                }
                Ok(())
            },
        )?;
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        self.done(
            "signIns",
            format!("{count} since {since} ({})", pages(n_pages)),
        );
        Ok(count)
    }

    /// Writes `directory.json` straight from the collected users.
    fn write_directory(
        &self,
        staging: &Staging,
        groups: &[Value],
        sps: &[Value],
        strengths: &[Value],
    ) -> Result<(), PullError> {
        let (file, path) = staging.create("directory.json")?;
        let io = |e: std::io::Error| PullError::Output {
            path: path.clone(),
            reason: e.to_string(),
        };
        let mut out = std::io::BufWriter::new(file);
        let directory = DirectoryOut {
            users: UsersOut(&self.users),
            groups,
            service_principals: sps,
            authentication_strength_policies: strengths,
        };
        serde_json::to_writer_pretty(&mut out, &directory)
            .map_err(|e| io(std::io::Error::other(e)))?;
        out.write_all(b"\n").map_err(io)?;
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)
    }
}

/// Reads the tenant behind `graph` and writes it to `out` (replacing a previous pull only when
/// everything was read and written).
pub fn pull(
    graph: &GraphClient<'_>,
    out: &Path,
    scope: &PullScope,
) -> Result<PullSummary, PullError> {
    let staging = Staging::new(out)?;
    let mut p = Puller {
        graph,
        users: BTreeMap::new(),
    };
    let mut summary = PullSummary::default();

    let policies = p.policies(scope)?;
    let refs = references(&policies);
    for policy in &policies {
        let id = object_id(policy);
        if !usable_id(&id) {
            return Err(PullError::Response {
                what: "policies".to_owned(),
                reason: format!("policy id `{id}` cannot be a file name"),
            });
        }
        staging.write(&format!("policies/{id}.json"), &pretty(policy))?;
    }
    summary.policies = policies.len();
    drop(policies);

    let locations = p.named_locations()?;
    summary.named_locations = locations.len();
    staging.write("namedLocations.json", &pretty(&json!({"value": locations})))?;

    let strengths = p.authentication_strengths()?;
    let groups = p.groups(&refs)?;
    p.roles(&refs)?;
    p.named_users(&refs)?;
    p.guests(&refs)?;
    let sps = p.service_principals()?;
    summary.users = p.users.len();
    summary.groups = groups.len();
    summary.service_principals = sps.len();
    p.write_directory(&staging, &groups, &sps, &strengths)?;
    p.users.clear();

    let cross = p.cross_tenant_access()?;
    staging.write("crossTenantAccess.json", &pretty(&cross))?;

    if scope.devices {
        let devices = p.devices()?;
        summary.devices = devices.len();
        staging.write("devices.json", &pretty(&json!({"value": devices})))?;
    }
    if let Some(since) = &scope.signins_since {
        summary.signins = p.signins(&staging, since, !scope.no_beta)?;
    }
    staging.commit()?;
    Ok(summary)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn beta_adds_only_what_v1_lacks() {
        let mut v1 = json!({"id": "p", "state": "enabled", "conditions": {"users": {"includeUsers": ["All"]}, "clientApplications": null}});
        let beta = json!({"id": "p", "state": "disabled", "conditions": {"users": {"includeUsers": ["x"], "excludeUsers": []},
                          "clientApplications": {"includeServicePrincipals": ["s"]}, "insiderRiskLevels": "minor"}});
        merge_missing(&mut v1, &beta);
        assert_eq!(
            v1,
            json!({"id": "p", "state": "enabled", "conditions": {"users": {"includeUsers": ["All"], "excludeUsers": []},
                   "clientApplications": null, "insiderRiskLevels": "minor"}})
        );
    }

    #[test]
    fn references_skip_keywords_and_lowercase_ids() {
        let p = json!({"conditions": {"users": {
            "includeUsers": ["All", "GuestsOrExternalUsers", "AAA-1"], "excludeUsers": ["none", "b"],
            "includeGroups": ["G1"], "excludeGroups": ["g2"], "includeRoles": ["R"], "excludeRoles": []}}});
        let r = references(&[p, json!({"id": "no-conditions"})]);
        assert_eq!(r.users.into_iter().collect::<Vec<_>>(), ["aaa-1", "b"]);
        assert_eq!(r.groups.into_iter().collect::<Vec<_>>(), ["g1", "g2"]);
        assert_eq!(r.roles.into_iter().collect::<Vec<_>>(), ["r"]);
        assert!(
            r.guests,
            "the legacy GuestsOrExternalUsers token targets guests"
        );
    }

    #[test]
    fn guests_are_listed_only_when_a_policy_targets_them() {
        let users = |u: serde_json::Value| json!({"conditions": {"users": u}});
        let no_guests =
            users(json!({"includeUsers": ["All"], "includeGuestsOrExternalUsers": null}));
        assert!(!references(std::slice::from_ref(&no_guests)).guests);
        for targeted in [
            users(
                json!({"includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest"}}),
            ),
            users(
                json!({"includeUsers": ["All"], "excludeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "internalGuest"}}),
            ),
            users(json!({"excludeUsers": ["guestsorexternalusers"]})),
        ] {
            assert!(
                references(&[no_guests.clone(), targeted.clone()]).guests,
                "{targeted}"
            );
        }
    }

    #[test]
    fn ids_that_would_change_a_url_are_not_requested() {
        assert!(usable_id("62e90394-69f5-4237-9190-012177145e10"));
        for bad in ["", "../users", "a?b", "a b", "a%2f", &"a".repeat(65)] {
            assert!(!usable_id(bad), "{bad}");
        }
    }
}

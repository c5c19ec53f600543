//! User candidates: membership signatures over every principal the policies reference.
//!
//! The principals ("atoms") are the user ids, groups, roles and guest or external kinds (with
//! the home tenants the policies list) named in any `include*`/`exclude*` member. Candidates:
//! a member user no policy names; each guest kind (from each listed tenant and from a tenant
//! no policy lists); each named user; every directory user (deduplicated by its memberships
//! of referenced principals); a hypothetical member of each referenced group and holder of
//! each referenced role; and, for every policy, a hypothetical user who is both included
//! (by one of its include principals) and excluded (by one of its exclude principals).
//! Hypothetical users that need group or role memberships are added to the directory of the
//! compiled tenants, so that the core resolves them like any other user.

use std::collections::{BTreeMap, BTreeSet};

use gardien_core::compile::CompiledTenant;
use gardien_core::ids::role_name;
use gardien_core::model::directory::DirectoryUser;
use gardien_core::model::enums::ExternalUserType;
use gardien_core::model::policy::Principals;
use gardien_core::model::tenant::Tenant;
use gardien_core::signin::Subject;
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Value, json};

use super::Candidate;

/// A user signing in: the request's subject, and the directory entry it needs when it is
/// hypothetical (memberships no real user of the directory has).
#[derive(Debug, Clone)]
pub(crate) struct Persona {
    /// The request's `signInIdentity`.
    pub subject: Subject,
    /// Directory entry added to the analysed tenants (hypothetical users only).
    pub entry: Option<DirectoryUser>,
}

impl Persona {
    /// The directory entry as `directory.json` spells it, to reproduce the evaluation.
    pub(crate) fn entry_json(&self) -> Option<Value> {
        let e = self.entry.as_ref()?;
        let mut v = json!({
            "id": e.id,
            "userPrincipalName": e.user_principal_name,
            "userType": if e.is_guest { "Guest" } else { "Member" },
            "memberOf": e.member_of,
            "roles": e.roles,
        });
        if let Some(k) = e.external_user_type {
            v["externalUserType"] = json!(k.as_str());
        }
        if let Some(t) = &e.home_tenant_id {
            v["homeTenantId"] = json!(t);
        }
        Some(v)
    }
}

/// A principal a policy can name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Atom {
    User(Box<str>),
    Group(Box<str>),
    Role(Box<str>),
    /// A guest or external kind, from a home tenant (`None`: a tenant no policy lists).
    Kind(ExternalUserType, Option<Box<str>>),
}

/// Home tenant used for external users from a tenant no policy lists.
const UNLISTED_TENANT: &str = "e7e7e7e7-6761-7073-8000-000000000000";

fn atoms(p: &Principals, out: &mut Vec<Atom>) {
    out.extend(p.users.iter().map(|u| Atom::User(u.clone())));
    out.extend(p.groups.iter().map(|g| Atom::Group(g.clone())));
    out.extend(p.roles.iter().map(|r| Atom::Role(r.clone())));
    if p.guests_or_external {
        out.extend(ExternalUserType::ALL.iter().map(|k| Atom::Kind(*k, None)));
    }
    if let Some(g) = &p.guests {
        for k in ExternalUserType::ALL {
            if !g.types.contains(k.index()) {
                continue;
            }
            out.push(Atom::Kind(*k, None));
            if *k != ExternalUserType::InternalGuest
                && let Some(list) = &g.tenants
            {
                out.extend(list.iter().map(|t| Atom::Kind(*k, Some(t.clone()))));
            }
        }
    }
}

/// What the user dimension needs before the tenants are compiled.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Hypothetical directory users to add to every tenant.
    pub entries: Vec<DirectoryUser>,
    /// Hypothetical candidates listed before the directory's users.
    before: Vec<Candidate<Persona>>,
    /// Hypothetical candidates listed after them.
    after: Vec<Candidate<Persona>>,
    /// Referenced user ids, groups, roles and home tenants.
    users: FxHashSet<Box<str>>,
    groups: FxHashSet<Box<str>>,
    roles: FxHashSet<Box<str>>,
    tenants: FxHashSet<Box<str>>,
    /// What is approximate about users.
    pub approximations: Vec<String>,
}

impl Plan {
    /// The persona every other dimension is varied with: a member user no policy names.
    pub(crate) fn neutral(&self) -> Persona {
        self.before
            .first()
            .map(|c| c.value.clone())
            .unwrap_or_else(|| Persona {
                subject: Subject::User {
                    id: synthetic_id(0),
                    external_tenant_id: None,
                    external_user_type: None,
                },
                entry: None,
            })
    }
}

fn synthetic_id(n: usize) -> Box<str> {
    format!("00000000-6761-7073-8000-{n:012x}").into_boxed_str()
}

struct Namer<'a> {
    sources: &'a [&'a Tenant],
}

impl Namer<'_> {
    fn group(&self, id: &str) -> String {
        self.sources
            .iter()
            .flat_map(|t| t.directory.groups.iter())
            .find(|g| g.id.as_ref() == id && !g.display_name.is_empty())
            .map(|g| format!("`{}`", g.display_name))
            .unwrap_or_else(|| format!("`{id}`"))
    }

    fn user(&self, id: &str) -> String {
        self.sources
            .iter()
            .flat_map(|t| t.directory.users.iter())
            .find(|u| u.id.as_ref() == id && !u.user_principal_name.is_empty())
            .map(|u| format!("`{}`", u.user_principal_name))
            .unwrap_or_else(|| format!("`{id}`"))
    }

    fn atom(&self, a: &Atom) -> String {
        match a {
            Atom::User(id) => format!("user {} (named by a policy)", self.user(id)),
            Atom::Group(g) => format!("a member of group {}", self.group(g)),
            Atom::Role(r) => format!("a holder of role `{}`", role_name(r)),
            Atom::Kind(ExternalUserType::InternalGuest, _) => {
                "an internal guest (`internalGuest`)".to_owned()
            }
            Atom::Kind(k, None) => format!(
                "a guest or external user of kind `{}` from a tenant no policy lists",
                k.as_str()
            ),
            Atom::Kind(k, Some(t)) => format!(
                "a guest or external user of kind `{}` from tenant `{t}`",
                k.as_str()
            ),
        }
    }

    fn weight(a: &Atom) -> u32 {
        match a {
            Atom::Kind(..) => 60,
            Atom::Role(_) => 40,
            Atom::Group(_) => 30,
            Atom::User(_) => 10,
        }
    }
}

/// Builds the hypothetical users from the policies of every tenant.
pub(crate) fn plan(sources: &[&Tenant]) -> Plan {
    let namer = Namer { sources };
    let directory_ids: FxHashSet<Box<str>> = sources
        .iter()
        .flat_map(|t| t.directory.users.iter().map(|u| u.id.clone()))
        .collect();
    // Atoms per policy, and every atom.
    let mut all: BTreeSet<Atom> = BTreeSet::new();
    let mut pairs: BTreeSet<(Atom, Atom)> = BTreeSet::new();
    for p in sources.iter().flat_map(|t| t.policies.iter()) {
        let Some(u) = &p.conditions.users else {
            continue;
        };
        let (mut inc, mut exc) = (Vec::new(), Vec::new());
        atoms(&u.include, &mut inc);
        atoms(&u.exclude, &mut exc);
        all.extend(inc.iter().cloned());
        all.extend(exc.iter().cloned());
        for i in &inc {
            for e in &exc {
                let pair = if i < e {
                    (i.clone(), e.clone())
                } else {
                    (e.clone(), i.clone())
                };
                if pair.0 != pair.1 {
                    pairs.insert(pair);
                }
            }
        }
    }
    // Every kind, from an unlisted tenant, is always a candidate ("All" includes guests).
    for k in ExternalUserType::ALL {
        all.insert(Atom::Kind(*k, None));
    }
    let mut plan = Plan {
        entries: Vec::new(),
        before: Vec::new(),
        after: Vec::new(),
        users: FxHashSet::default(),
        groups: FxHashSet::default(),
        roles: FxHashSet::default(),
        tenants: FxHashSet::default(),
        approximations: vec![
            "users: hypothetical users hold at most two referenced principals (one of a \
             policy's include principals with one of its exclude principals); directory users \
             are taken with their exact memberships"
                .to_owned(),
        ],
    };
    for a in &all {
        match a {
            Atom::User(id) => {
                plan.users.insert(id.clone());
            }
            Atom::Group(g) => {
                plan.groups.insert(g.clone());
            }
            Atom::Role(r) => {
                plan.roles.insert(r.clone());
            }
            Atom::Kind(_, Some(t)) => {
                plan.tenants.insert(t.clone());
            }
            Atom::Kind(_, None) => {}
        }
    }
    let mut next = 1usize;
    let mut fresh = || loop {
        let id = synthetic_id(next);
        next += 1;
        if !directory_ids.contains(&id) && !plan.users.contains(&id) {
            return id;
        }
    };
    let neutral_id = synthetic_id(0);
    plan.before.push(Candidate::new(
        Persona {
            subject: Subject::User {
                id: neutral_id,
                external_tenant_id: None,
                external_user_type: None,
            },
            entry: None,
        },
        "a member user no policy names",
        true,
        100,
    ));
    let mut entries = Vec::new();
    let mut build = |set: &[&Atom]| -> Option<Candidate<Persona>> {
        let user = set.iter().find_map(|a| match a {
            Atom::User(id) => Some(id.clone()),
            _ => None,
        });
        let kind = set.iter().find_map(|a| match a {
            Atom::Kind(k, t) => Some((*k, t.clone())),
            _ => None,
        });
        let groups: Vec<Box<str>> = set
            .iter()
            .filter_map(|a| match a {
                Atom::Group(g) => Some(g.clone()),
                _ => None,
            })
            .collect();
        let roles: Vec<Box<str>> = set
            .iter()
            .filter_map(|a| match a {
                Atom::Role(r) => Some(r.clone()),
                _ => None,
            })
            .collect();
        let users = set.iter().filter(|a| matches!(a, Atom::User(_))).count();
        let kinds = set.iter().filter(|a| matches!(a, Atom::Kind(..))).count();
        if users > 1 || kinds > 1 {
            return None;
        }
        // A user matched by id cannot also be given memberships (they would apply to the
        // same id everywhere); a directory user keeps its real memberships.
        if let Some(id) = &user
            && (!groups.is_empty() || !roles.is_empty() || directory_ids.contains(id))
        {
            return None;
        }
        let home = |k: ExternalUserType, t: Option<Box<str>>| {
            (k != ExternalUserType::InternalGuest)
                .then(|| t.unwrap_or_else(|| UNLISTED_TENANT.into()))
        };
        let label = set
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let text = namer.atom(a);
                if i == 0 { text } else { format!("also {text}") }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let weight = set.iter().map(|a| Namer::weight(a)).min().unwrap_or(10);
        let weight = if set.len() > 1 {
            weight.min(20)
        } else {
            weight
        };
        if groups.is_empty() && roles.is_empty() {
            let (external_user_type, external_tenant_id) = match kind {
                Some((k, t)) => (Some(k), home(k, t)),
                None => (None, None),
            };
            return Some(Candidate::new(
                Persona {
                    subject: Subject::User {
                        id: user.unwrap_or_else(&mut fresh),
                        external_tenant_id,
                        external_user_type,
                    },
                    entry: None,
                },
                label,
                true,
                weight,
            ));
        }
        let id = fresh();
        let (external_user_type, home_tenant_id) = match kind {
            Some((k, t)) => (Some(k), home(k, t)),
            None => (None, None),
        };
        let entry = DirectoryUser {
            id: id.clone(),
            user_principal_name: format!("{id}@hypothetical.invalid"),
            display_name: None,
            is_guest: external_user_type
                .is_some_and(|k| k != ExternalUserType::B2bCollaborationMember),
            external_user_type,
            home_tenant_id,
            member_of: groups,
            roles,
        };
        entries.push(entry.clone());
        Some(Candidate::new(
            Persona {
                subject: Subject::User {
                    id,
                    external_tenant_id: None,
                    external_user_type: None,
                },
                entry: Some(entry),
            },
            format!("{label} (hypothetical)"),
            true,
            weight,
        ))
    };
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for a in all.iter().filter(|a| matches!(a, Atom::Kind(..))) {
        before.extend(build(&[a]));
    }
    for a in all.iter().filter(|a| matches!(a, Atom::User(_))) {
        before.extend(build(&[a]));
    }
    for a in all
        .iter()
        .filter(|a| matches!(a, Atom::Group(_) | Atom::Role(_)))
    {
        after.extend(build(&[a]));
    }
    for (a, b) in &pairs {
        after.extend(build(&[a, b]));
    }
    plan.before.extend(before);
    plan.after = after;
    plan.entries = entries;
    plan
}

/// Every user candidate, in order: hypothetical users that need no directory entry, then the
/// directory's users (one per distinct membership of referenced principals), then the
/// hypothetical members of groups and roles.
pub(crate) fn candidates(plan: &Plan, tenants: &[CompiledTenant]) -> Vec<Candidate<Persona>> {
    let synthetic: FxHashSet<&str> = plan.entries.iter().map(|e| e.id.as_ref()).collect();
    // Structural key of a directory user in one tenant.
    type Key = (
        Option<Box<str>>,
        Vec<u32>,
        Vec<Box<str>>,
        Option<ExternalUserType>,
        Option<Box<str>>,
    );
    let key_in = |t: &CompiledTenant, id: &str| -> Option<Key> {
        let compiled = t.user_index.get(id)?;
        let user = t.tenant.directory.users.get(compiled.index)?;
        let referenced: FxHashSet<u32> = plan
            .groups
            .iter()
            .filter_map(|g| t.group_index.get(g).copied())
            .collect();
        Some((
            plan.users.contains(id).then(|| user.id.clone()),
            compiled
                .groups
                .iter()
                .copied()
                .filter(|g| referenced.contains(g))
                .collect(),
            {
                let mut r: Vec<Box<str>> = user
                    .roles
                    .iter()
                    .filter(|r| plan.roles.contains(*r))
                    .cloned()
                    .collect();
                r.sort();
                r
            },
            compiled.kind,
            user.home_tenant_id
                .clone()
                .filter(|h| plan.tenants.contains(h)),
        ))
    };
    let mut ids: Vec<Box<str>> = Vec::new();
    let mut seen: FxHashSet<Box<str>> = FxHashSet::default();
    for t in tenants {
        for u in &t.tenant.directory.users {
            if !synthetic.contains(u.id.as_ref()) && seen.insert(u.id.clone()) {
                ids.push(u.id.clone());
            }
        }
    }
    let mut groups: BTreeMap<usize, (Box<str>, usize)> = BTreeMap::new();
    let mut by_key: FxHashMap<Vec<Option<Key>>, usize> = FxHashMap::default();
    for id in &ids {
        let key: Vec<Option<Key>> = tenants.iter().map(|t| key_in(t, id)).collect();
        let next = by_key.len();
        let slot = *by_key.entry(key).or_insert(next);
        groups
            .entry(slot)
            .and_modify(|(_, n)| *n += 1)
            .or_insert((id.clone(), 1));
    }
    let upn = |id: &str| -> String {
        tenants
            .iter()
            .flat_map(|t| t.tenant.directory.users.iter())
            .find(|u| u.id.as_ref() == id)
            .map(|u| {
                if u.user_principal_name.is_empty() {
                    format!("`{id}`")
                } else {
                    format!("`{}`", u.user_principal_name)
                }
            })
            .unwrap_or_else(|| format!("`{id}`"))
    };
    let real = groups.into_values().map(|(id, n)| {
        let label = if n > 1 {
            format!(
                "directory user {} and {} more with the same memberships",
                upn(&id),
                n - 1
            )
        } else {
            format!("directory user {}", upn(&id))
        };
        let mut c = Candidate::new(
            Persona {
                subject: Subject::User {
                    id,
                    external_tenant_id: None,
                    external_user_type: None,
                },
                entry: None,
            },
            label,
            true,
            10,
        );
        c.real_users = n;
        c
    });
    plan.before
        .iter()
        .cloned()
        .chain(real)
        .chain(plan.after.iter().cloned())
        .collect()
}

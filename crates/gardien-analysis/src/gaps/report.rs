//! Report pieces shared by `gaps` and `diff`: classes, scopes, representatives, decisions.

use gardien_core::Verdict;
use gardien_core::compile::CompiledTenant;
use serde::Serialize;
use serde_json::Value;

use super::partition::{Class, DIMENSIONS, INNER, Scope, Tuple, Universe};

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One class of one dimension, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassInfo {
    /// Short id used by scopes (`u0`, `a3`, `l1`, ...).
    pub id: String,
    /// The class in words.
    pub label: String,
    /// The values merged into the class (the first ones; the first is the representative).
    pub members: Vec<String>,
    /// Number of values merged.
    pub member_count: usize,
    /// Whether the class's representative is a value an attacker can present.
    pub attacker_controlled: bool,
    /// Directory users in the class (users only).
    #[serde(skip_serializing_if = "is_zero")]
    pub directory_users: usize,
    /// For a hypothetical user: the `directory.json` entry that reproduces it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory_user: Option<Value>,
}

/// Every class of every dimension.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dimensions {
    /// Users.
    pub users: Vec<ClassInfo>,
    /// Applications, user actions and authentication contexts.
    pub applications: Vec<ClassInfo>,
    /// Device platforms.
    pub platforms: Vec<ClassInfo>,
    /// Client app types.
    pub client_app_types: Vec<ClassInfo>,
    /// Network locations.
    pub locations: Vec<ClassInfo>,
    /// Devices.
    pub devices: Vec<ClassInfo>,
    /// Sign-in risk levels.
    pub sign_in_risk: Vec<ClassInfo>,
    /// User risk levels.
    pub user_risk: Vec<ClassInfo>,
    /// Insider risk levels.
    pub insider_risk: Vec<ClassInfo>,
    /// Authentication flows.
    pub authentication_flows: Vec<ClassInfo>,
    /// Sessions (authentication methods already done).
    pub sessions: Vec<ClassInfo>,
}

/// Number of candidate values and of classes of one dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DimensionCount {
    /// Dimension name (as in [`Dimensions`]).
    pub dimension: String,
    /// Candidate values considered.
    pub candidates: usize,
    /// Equivalence classes.
    pub classes: usize,
}

/// The classes a group of sign-ins spans, by class id, per dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassScope {
    /// User classes.
    pub users: Vec<String>,
    /// Application classes.
    pub applications: Vec<String>,
    /// Platform classes.
    pub platforms: Vec<String>,
    /// Client app type classes.
    pub client_app_types: Vec<String>,
    /// Location classes.
    pub locations: Vec<String>,
    /// Device classes.
    pub devices: Vec<String>,
    /// Sign-in risk classes.
    pub sign_in_risk: Vec<String>,
    /// User risk classes.
    pub user_risk: Vec<String>,
    /// Insider risk classes.
    pub insider_risk: Vec<String>,
    /// Authentication flow classes.
    pub authentication_flows: Vec<String>,
    /// Session classes.
    pub sessions: Vec<String>,
}

/// A decision as the core made it for a representative sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionSummary {
    /// `allow`, `challenge` or `deny`.
    pub decision: String,
    /// AADSTS code when denied.
    pub error_code: Option<u32>,
    /// Pending (challenge) or failing (deny) controls, canonical order.
    pub required_controls: Vec<String>,
    /// Enabled policies that apply, by display name.
    pub applied_policies: Vec<String>,
    /// Report-only policies that would apply, by display name.
    pub report_only_policies: Vec<String>,
}

impl DecisionSummary {
    /// From a verdict of the core.
    pub(crate) fn of(tenant: &CompiledTenant, v: &Verdict) -> DecisionSummary {
        let names = |set: &gardien_core::eval::PolicySet| -> Vec<String> {
            set.iter()
                .filter_map(|i| tenant.tenant.policies.get(i))
                .map(|p| {
                    if p.display_name.is_empty() {
                        p.id.clone()
                    } else {
                        p.display_name.clone()
                    }
                })
                .collect()
        };
        DecisionSummary {
            decision: v.decision.as_str().to_owned(),
            error_code: v.error_code,
            required_controls: v.required.iter().map(|c| c.as_str().to_owned()).collect(),
            applied_policies: names(&v.applied),
            report_only_policies: names(&v.report_only_applied),
        }
    }

    /// One line: `deny 53003 (block)`, `challenge (mfa)`, `allow`.
    pub fn short(&self) -> String {
        let mut s = self.decision.clone();
        if let Some(c) = self.error_code {
            s.push_str(&format!(" {c}"));
        }
        if !self.required_controls.is_empty() {
            s.push_str(&format!(" ({})", self.required_controls.join(", ")));
        }
        s
    }
}

/// One sign-in that stands for a group, ready to reproduce with `gardien evaluate`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Representative {
    /// The sign-in in words.
    pub description: String,
    /// The `gardien evaluate --request` body.
    pub request: Value,
    /// For a hypothetical user: the entry to add to `directory.json` before evaluating.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory_user: Option<Value>,
}

const PREFIXES: [&str; 11] = ["u", "a", "p", "c", "l", "d", "sr", "ur", "ir", "f", "s"];

fn infos<V>(
    prefix: &str,
    classes: &[Class<V>],
    entry: impl Fn(&V) -> Option<Value>,
) -> Vec<ClassInfo> {
    classes
        .iter()
        .enumerate()
        .map(|(i, c)| ClassInfo {
            id: format!("{prefix}{i}"),
            label: c.label.clone(),
            members: c.members.clone(),
            member_count: c.member_count,
            attacker_controlled: c.attacker,
            directory_users: c.real_users,
            directory_user: entry(&c.value),
        })
        .collect()
}

/// The reported classes of a universe.
pub(crate) fn dimensions(u: &Universe) -> Dimensions {
    Dimensions {
        users: infos(PREFIXES[0], &u.users, |p| p.entry_json()),
        applications: infos(PREFIXES[1], &u.targets, |_| None),
        platforms: infos(PREFIXES[2], &u.platforms, |_| None),
        client_app_types: infos(PREFIXES[3], &u.clients, |_| None),
        locations: infos(PREFIXES[4], &u.locations, |_| None),
        devices: infos(PREFIXES[5], &u.devices, |_| None),
        sign_in_risk: infos(PREFIXES[6], &u.sign_in_risks, |_| None),
        user_risk: infos(PREFIXES[7], &u.user_risks, |_| None),
        insider_risk: infos(PREFIXES[8], &u.insider_risks, |_| None),
        authentication_flows: infos(PREFIXES[9], &u.flows, |_| None),
        sessions: infos(PREFIXES[10], &u.sessions, |_| None),
    }
}

/// Candidate and class counts per dimension.
pub(crate) fn counts(u: &Universe) -> Vec<DimensionCount> {
    let classes = u.class_counts();
    DIMENSIONS
        .iter()
        .zip(u.candidates.iter().zip(classes.iter()))
        .map(|(d, (c, k))| DimensionCount {
            dimension: (*d).to_owned(),
            candidates: *c,
            classes: *k,
        })
        .collect()
}

/// A scope's class ids.
pub(crate) fn class_scope(users: &[u32], targets: &[u32], scope: &Scope) -> ClassScope {
    let ids = |prefix: &str, list: &[u16]| -> Vec<String> {
        list.iter().map(|i| format!("{prefix}{i}")).collect()
    };
    ClassScope {
        users: users.iter().map(|i| format!("u{i}")).collect(),
        applications: targets.iter().map(|i| format!("a{i}")).collect(),
        platforms: ids(PREFIXES[2], &scope[0]),
        client_app_types: ids(PREFIXES[3], &scope[1]),
        locations: ids(PREFIXES[4], &scope[2]),
        devices: ids(PREFIXES[5], &scope[3]),
        sign_in_risk: ids(PREFIXES[6], &scope[4]),
        user_risk: ids(PREFIXES[7], &scope[5]),
        insider_risk: ids(PREFIXES[8], &scope[6]),
        authentication_flows: ids(PREFIXES[9], &scope[7]),
        sessions: ids(PREFIXES[10], &scope[8]),
    }
}

/// Number of elementary classes in users × targets × scope.
pub(crate) fn scope_size(users: &[u32], targets: &[u32], scope: &Scope) -> u64 {
    scope.iter().map(|d| d.len() as u64).fold(
        (users.len() as u64).saturating_mul(targets.len() as u64),
        u64::saturating_mul,
    )
}

fn labels_of<V>(classes: &[Class<V>], picked: &[u16]) -> String {
    let shown: Vec<&str> = picked
        .iter()
        .take(3)
        .filter_map(|i| classes.get(usize::from(*i)))
        .map(|c| c.label.as_str())
        .collect();
    if picked.len() > 3 {
        format!("{} (+{} more classes)", shown.join("; "), picked.len() - 3)
    } else {
        shown.join("; ")
    }
}

/// The scope in words: `dimension: classes`, "any" dimensions left out (and said so).
pub(crate) fn describe_scope(
    u: &Universe,
    users: &[u32],
    targets: &[u32],
    scope: &Scope,
) -> String {
    let list = |v: &[u32], f: &dyn Fn(usize) -> Option<String>| -> String {
        let shown: Vec<String> = v.iter().take(3).filter_map(|i| f(*i as usize)).collect();
        if v.len() > 3 {
            format!("{} (+{} more classes)", shown.join("; "), v.len() - 3)
        } else {
            shown.join("; ")
        }
    };
    let mut parts = vec![
        format!(
            "users: {}",
            list(users, &|i| u.users.get(i).map(|c| c.label.clone()))
        ),
        format!(
            "targets: {}",
            list(targets, &|i| u.targets.get(i).map(|c| c.label.clone()))
        ),
    ];
    let radix = u.radix();
    let names = [
        "platform",
        "client app type",
        "location",
        "device",
        "sign-in risk",
        "user risk",
        "insider risk",
        "authentication flow",
        "session",
    ];
    let mut any = Vec::new();
    for (d, name) in names.iter().enumerate() {
        let picked = &scope[d];
        if picked.len() == radix.size(d) {
            if radix.size(d) > 1 {
                any.push(*name);
            }
            continue;
        }
        let text = match d {
            0 => labels_of(&u.platforms, picked),
            1 => labels_of(&u.clients, picked),
            2 => labels_of(&u.locations, picked),
            3 => labels_of(&u.devices, picked),
            4 => labels_of(&u.sign_in_risks, picked),
            5 => labels_of(&u.user_risks, picked),
            6 => labels_of(&u.insider_risks, picked),
            7 => labels_of(&u.flows, picked),
            _ => labels_of(&u.sessions, picked),
        };
        parts.push(format!("{name}: {text}"));
    }
    if !any.is_empty() {
        parts.push(format!("any {}", any.join(", ")));
    }
    parts.join(" · ")
}

/// The preferred tuple of a scope: for each dimension, its first attacker-controlled class,
/// else its first class.
pub(crate) fn preferred_tuple(u: &Universe, scope: &Scope) -> Tuple {
    let pick = |picked: &[u16], attacker: &dyn Fn(usize) -> bool| -> u16 {
        picked
            .iter()
            .copied()
            .find(|i| attacker(usize::from(*i)))
            .or_else(|| picked.first().copied())
            .unwrap_or(0)
    };
    let mut t = [0u16; INNER];
    t[0] = pick(&scope[0], &|i| {
        u.platforms.get(i).is_some_and(|c| c.attacker)
    });
    t[1] = pick(&scope[1], &|i| u.clients.get(i).is_some_and(|c| c.attacker));
    t[2] = pick(&scope[2], &|i| {
        u.locations.get(i).is_some_and(|c| c.attacker)
    });
    t[3] = pick(&scope[3], &|i| u.devices.get(i).is_some_and(|c| c.attacker));
    t[4] = pick(&scope[4], &|i| {
        u.sign_in_risks.get(i).is_some_and(|c| c.attacker)
    });
    t[5] = pick(&scope[5], &|i| {
        u.user_risks.get(i).is_some_and(|c| c.attacker)
    });
    t[6] = pick(&scope[6], &|i| {
        u.insider_risks.get(i).is_some_and(|c| c.attacker)
    });
    t[7] = pick(&scope[7], &|i| u.flows.get(i).is_some_and(|c| c.attacker));
    t[8] = pick(&scope[8], &|i| {
        u.sessions.get(i).is_some_and(|c| c.attacker)
    });
    t
}

/// The class with the largest weight (ties: the first).
pub(crate) fn broadest<V>(classes: &[Class<V>], picked: &[u32]) -> u32 {
    let mut best: Option<(u32, u32)> = None;
    for i in picked {
        let w = classes.get(*i as usize).map(|c| c.weight).unwrap_or(0);
        if best.is_none_or(|(bw, _)| w > bw) {
            best = Some((w, *i));
        }
    }
    best.map(|(_, i)| i).unwrap_or(0)
}

fn first_member<V>(classes: &[Class<V>], i: u16) -> String {
    classes
        .get(usize::from(i))
        .and_then(|c| c.members.first().cloned())
        .unwrap_or_default()
}

/// The representative sign-in of (user, target, tuple), in words and as a request.
pub(crate) fn representative(
    u: &Universe,
    user: u32,
    target: u32,
    t: &Tuple,
) -> Option<(Representative, gardien_core::SignIn)> {
    let signin = u.signin(user as usize, target as usize, t)?;
    let persona = &u.users.get(user as usize)?.value;
    let user_text = u
        .users
        .get(user as usize)
        .and_then(|c| c.members.first().cloned())
        .unwrap_or_default();
    let target_text = u
        .targets
        .get(target as usize)
        .and_then(|c| c.members.first().cloned())
        .unwrap_or_default();
    let mut description = format!(
        "{user_text} → {target_text}; platform {}, client app type {}; {}; {}; sign-in risk {}, user risk {}",
        first_member(&u.platforms, t[0]),
        first_member(&u.clients, t[1]),
        first_member(&u.locations, t[2]),
        first_member(&u.devices, t[3]),
        first_member(&u.sign_in_risks, t[4]),
        first_member(&u.user_risks, t[5]),
    );
    if u.insider_risks.len() > 1 {
        description.push_str(&format!(
            ", insider risk {}",
            first_member(&u.insider_risks, t[6])
        ));
    }
    if u.flows.len() > 1 {
        description.push_str(&format!("; {}", first_member(&u.flows, t[7])));
    }
    description.push_str(&format!("; {}", first_member(&u.sessions, t[8])));
    Some((
        Representative {
            description,
            request: signin.to_request_json(),
            directory_user: persona.entry_json(),
        },
        signin,
    ))
}

//! Users, groups, roles and guests (docs/reference/entra-semantics.md §1.4, §3.2 item 2), and
//! workload identities (§1.5).

use crate::eval::input::{Input, Outcome, UserView};
use crate::eval::trace::Tracer;
use crate::model::enums::ExternalUserType;
use crate::model::policy::{
    ClientApplicationsCondition, FilterMode, GuestsOrExternalUsers, Policy, Principals,
};

/// Why a principal set matched the user, for traces.
fn matches_principals<T: Tracer>(
    p: &Principals,
    groups: &[u32],
    user: &UserView<'_>,
    input: &Input<'_>,
    side: &str,
    t: &mut T,
) -> bool {
    if p.all {
        t.note(|| format!("{side} `All` users"));
        return true;
    }
    if p.users.iter().any(|u| u.as_ref() == user.id) {
        t.note(|| format!("{side} user `{}` by id", user.id));
        return true;
    }
    if p.guests_or_external && user.kind.is_some() {
        t.note(|| {
            format!(
                "{side} `GuestsOrExternalUsers`: user is {}",
                user.kind.map(|k| k.as_str()).unwrap_or("")
            )
        });
        return true;
    }
    if let Some(g) = groups.iter().find(|g| user.groups.binary_search(g).is_ok()) {
        t.note(|| format!("{side} through group {}", group_path(input, user, *g)));
        return true;
    }
    if let Some(r) = p.roles.iter().find(|r| user.roles.contains(r)) {
        t.note(|| {
            format!(
                "{side} through directory role `{}`",
                crate::ids::role_name(r)
            )
        });
        return true;
    }
    if let Some(g) = &p.guests
        && guests_match(g, user)
    {
        t.note(|| {
            format!(
                "{side} as guest or external user of kind `{}`",
                user.kind.map(|k| k.as_str()).unwrap_or("")
            )
        });
        return true;
    }
    false
}

/// `include/excludeGuestsOrExternalUsers`: kind selected and, for external kinds, home tenant.
fn guests_match(g: &GuestsOrExternalUsers, user: &UserView<'_>) -> bool {
    let Some(kind) = user.kind else { return false };
    if !g.types.contains(kind.index()) {
        return false;
    }
    match &g.tenants {
        None => true,
        // Internal guests have no external tenant, so tenants cannot constrain them [INF].
        Some(_) if kind == ExternalUserType::InternalGuest => true,
        Some(list) => user
            .home_tenant
            .is_some_and(|h| list.iter().any(|t| t.as_ref() == h)),
    }
}

/// The membership chain from the user to group `target`, e.g. `` `A` → `B` `` (nested).
fn group_path(input: &Input<'_>, user: &UserView<'_>, target: u32) -> String {
    let tenant = input.tenant;
    let name = |dense: u32| -> String {
        let id = tenant
            .group_index
            .iter()
            .find(|(_, v)| **v == dense)
            .map(|(k, _)| k.as_ref())
            .unwrap_or("?");
        tenant
            .tenant
            .directory
            .groups
            .iter()
            .find(|g| g.id.as_ref() == id)
            .map(|g| {
                if g.display_name.is_empty() {
                    format!("`{id}`")
                } else {
                    format!("`{}`", g.display_name)
                }
            })
            .unwrap_or_else(|| format!("`{id}`"))
    };
    let Some(dir_user) = user
        .directory
        .and_then(|d| tenant.tenant.directory.users.get(d.index))
    else {
        return name(target);
    };
    // Breadth-first search from the user's direct groups up through parents.
    let parents = |dense: u32| -> Vec<u32> {
        let id = tenant
            .group_index
            .iter()
            .find(|(_, v)| **v == dense)
            .map(|(k, _)| k.clone());
        id.and_then(|id| tenant.tenant.directory.groups.iter().find(|g| g.id == id))
            .map(|g| {
                g.member_of
                    .iter()
                    .filter_map(|p| tenant.group_index.get(p).copied())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut queue: std::collections::VecDeque<Vec<u32>> = dir_user
        .member_of
        .iter()
        .filter_map(|g| tenant.group_index.get(g).map(|d| vec![*d]))
        .collect();
    let mut seen = std::collections::HashSet::new();
    while let Some(path) = queue.pop_front() {
        let Some(&last) = path.last() else { continue };
        if last == target {
            return path
                .iter()
                .map(|g| name(*g))
                .collect::<Vec<_>>()
                .join(" → ");
        }
        if seen.insert(last) {
            for p in parents(last) {
                let mut next = path.clone();
                next.push(p);
                queue.push_back(next);
            }
        }
    }
    name(target)
}

/// The user condition of a policy for a user sign-in.
pub(crate) fn check_users<T: Tracer>(
    policy: &Policy,
    index: usize,
    user: &UserView<'_>,
    input: &Input<'_>,
    t: &mut T,
) -> Outcome {
    let Some(cond) = &policy.conditions.users else {
        t.note(|| "the policy targets workload identities, not users".to_owned());
        return Outcome::NotSatisfied;
    };
    let Some(compiled) = input.tenant.policies.get(index) else {
        return Outcome::NotSatisfied;
    };
    if !matches_principals(
        &cond.include,
        &compiled.include_groups,
        user,
        input,
        "included:",
        t,
    ) {
        t.note(|| format!("user `{}` is not included", user.id));
        return Outcome::NotSatisfied;
    }
    if matches_principals(
        &cond.exclude,
        &compiled.exclude_groups,
        user,
        input,
        "excluded:",
        t,
    ) {
        return Outcome::NotSatisfied;
    }
    Outcome::Satisfied
}

/// The workload-identity condition of a policy for a service-principal sign-in.
pub(crate) fn check_workload<T: Tracer>(
    policy: &Policy,
    sp: (&str, Option<usize>),
    input: &Input<'_>,
    t: &mut T,
) -> Outcome {
    let Some(cond) = &policy.conditions.client_applications else {
        t.note(|| "the policy targets users, not workload identities".to_owned());
        return Outcome::NotSatisfied;
    };
    let (id, dir_index) = sp;
    let attrs = dir_index.and_then(|i| input.tenant.tenant.directory.service_principals.get(i));
    let filter_matches = |mode: FilterMode, c: &ClientApplicationsCondition| {
        c.filter.as_ref().is_some_and(|f| {
            f.mode == mode
                && attrs.is_some_and(|a| {
                    f.rule.matches(|name| {
                        a.attributes
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(name))
                            .map(|(_, v)| v.as_str())
                    })
                })
        })
    };
    let included = (cond.include_all_in_tenant && dir_index.is_some())
        || cond.include.iter().any(|x| x.as_ref() == id)
        || filter_matches(FilterMode::Include, cond);
    if !included {
        t.note(|| {
            if cond.include_all_in_tenant && dir_index.is_none() {
                format!(
                    "service principal `{id}` is not a service principal of this tenant's directory"
                )
            } else {
                format!("service principal `{id}` is not included")
            }
        });
        return Outcome::NotSatisfied;
    }
    if cond.exclude.iter().any(|x| x.as_ref() == id) || filter_matches(FilterMode::Exclude, cond) {
        t.note(|| format!("service principal `{id}` is excluded"));
        return Outcome::NotSatisfied;
    }
    t.note(|| format!("service principal `{id}` is in scope"));
    Outcome::Satisfied
}

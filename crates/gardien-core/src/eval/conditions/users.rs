//! Users, groups, roles and guests (docs/reference/entra-semantics.md §1.4, §3.2 item 2), and
//! workload identities (§1.5).

use crate::eval::input::{Input, Outcome, UserView};
use crate::eval::trace::Tracer;
use crate::model::enums::ExternalUserType;
use crate::model::policy::{
    ClientApplicationsCondition, FilterMode, GuestsOrExternalUsers, Policy, Principals,
    UserCondition,
};

/// Every member of `small` is in `big`.
fn subset(small: &[Box<str>], big: &[Box<str>]) -> bool {
    small.iter().all(|x| big.contains(x))
}

/// Every guest `inner` selects is selected by `outer` (or by `outer_any`, the legacy
/// any-guest token): kinds among `outer`'s, tenants among `outer`'s.
fn guests_cover(
    outer: Option<&GuestsOrExternalUsers>,
    outer_any: bool,
    inner: Option<&GuestsOrExternalUsers>,
) -> bool {
    let Some(p) = inner else { return true };
    if outer_any {
        return true;
    }
    let Some(q) = outer else { return false };
    p.types.0 & !q.types.0 == 0
        && match (&q.tenants, &p.tenants) {
            (None, _) => true,
            (Some(qt), Some(pt)) => subset(pt, qt),
            (Some(_), None) => false,
        }
}

/// Whether every user that the principal set `inner` lists is listed by `outer` too (one
/// side of a user condition). Structural: a group is compared by id (nested membership is
/// not followed), so `false` may only mean "not obviously".
pub fn principals_cover(outer: &Principals, inner: &Principals) -> bool {
    // `All` users does not cover agents' user accounts; only `AllAgentIdUsers` does.
    if inner.all_agent_users && !outer.all_agent_users {
        return false;
    }
    if outer.all {
        return true;
    }
    !inner.all
        && subset(&inner.users, &outer.users)
        && subset(&inner.groups, &outer.groups)
        && subset(&inner.roles, &outer.roles)
        && (!inner.guests_or_external || outer.guests_or_external)
        && guests_cover(
            outer.guests.as_ref(),
            outer.guests_or_external,
            inner.guests.as_ref(),
        )
}

/// Whether every user that the user condition `inner` selects is selected by `outer` too:
/// `outer` includes whoever `inner` includes and excludes only whom `inner` excludes.
/// `None` (no user condition: a policy for workload identities) selects no user.
pub fn users_contain(outer: Option<&UserCondition>, inner: Option<&UserCondition>) -> bool {
    match (outer, inner) {
        (_, None) => true,
        (Some(q), Some(p)) => {
            principals_cover(&q.include, &p.include) && principals_cover(&p.exclude, &q.exclude)
        }
        (None, Some(p)) => p.include.is_empty(),
    }
}

/// Whether every service principal that the workload-identity condition `inner` selects is
/// selected by `outer` too. `None` (a policy for users) selects no service principal; a
/// custom-security-attribute filter on either side is never compared (conservative).
pub fn workload_identities_contain(
    outer: Option<&ClientApplicationsCondition>,
    inner: Option<&ClientApplicationsCondition>,
) -> bool {
    match (outer, inner) {
        (_, None) => true,
        (Some(q), Some(p)) if q.filter.is_none() && p.filter.is_none() => {
            let include = (q.include_all_in_tenant
                && (p.include_all_in_tenant || p.include.is_empty()))
                || (!p.include_all_in_tenant && subset(&p.include, &q.include));
            include && subset(&q.exclude, &p.exclude)
        }
        _ => false,
    }
}

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

#[cfg(test)]
mod tests {
    use super::{users_contain, workload_identities_contain};
    use crate::model::enums::{EnumSet, ExternalUserType};
    use crate::model::policy::{
        ClientApplicationsCondition, GuestsOrExternalUsers, Principals, UserCondition,
    };

    fn ids(xs: &[&str]) -> Vec<Box<str>> {
        xs.iter().map(|x| Box::from(*x)).collect()
    }

    fn users(include: Principals, exclude_groups: &[&str]) -> UserCondition {
        UserCondition {
            include,
            exclude: Principals {
                groups: ids(exclude_groups),
                ..Default::default()
            },
        }
    }

    fn all() -> Principals {
        Principals {
            all: true,
            ..Default::default()
        }
    }

    fn groups(g: &[&str]) -> Principals {
        Principals {
            groups: ids(g),
            ..Default::default()
        }
    }

    #[test]
    fn containment_of_users() {
        let all_but_bg = users(all(), &["bg"]);
        let finance_but_bg = users(groups(&["finance"]), &["bg"]);
        let finance = users(groups(&["finance"]), &[]);
        assert!(users_contain(Some(&all_but_bg), Some(&finance_but_bg)));
        // The outer policy excludes `bg`, the inner one does not.
        assert!(!users_contain(Some(&all_but_bg), Some(&finance)));
        assert!(!users_contain(Some(&finance_but_bg), Some(&all_but_bg)));
        assert!(users_contain(Some(&finance), Some(&finance_but_bg)));
        // No user condition selects no user.
        assert!(!users_contain(None, Some(&finance)));
        assert!(users_contain(Some(&finance), None));
        assert!(users_contain(None, Some(&UserCondition::default())));
    }

    #[test]
    fn containment_of_guests() {
        let kinds = |ks: &[ExternalUserType]| {
            let mut s = EnumSet::default();
            for k in ks {
                s.insert(k.index());
            }
            s
        };
        let guests = |ks: &[ExternalUserType], tenants: Option<&[&str]>| {
            users(
                Principals {
                    guests: Some(GuestsOrExternalUsers {
                        types: kinds(ks),
                        tenants: tenants.map(ids),
                    }),
                    ..Default::default()
                },
                &[],
            )
        };
        let b2b = guests(&[ExternalUserType::B2bCollaborationGuest], None);
        let b2b_one_tenant = guests(&[ExternalUserType::B2bCollaborationGuest], Some(&["t1"]));
        let legacy_any = users(
            Principals {
                guests_or_external: true,
                ..Default::default()
            },
            &[],
        );
        assert!(users_contain(Some(&b2b), Some(&b2b_one_tenant)));
        assert!(!users_contain(Some(&b2b_one_tenant), Some(&b2b)));
        assert!(users_contain(Some(&legacy_any), Some(&b2b)));
        assert!(!users_contain(Some(&b2b), Some(&legacy_any)));
    }

    #[test]
    fn containment_of_workload_identities() {
        let tenant = ClientApplicationsCondition {
            include_all_in_tenant: true,
            ..Default::default()
        };
        let one = ClientApplicationsCondition {
            include: ids(&["sp1"]),
            ..Default::default()
        };
        assert!(workload_identities_contain(None, None));
        assert!(workload_identities_contain(Some(&one), Some(&one)));
        assert!(workload_identities_contain(Some(&tenant), Some(&tenant)));
        assert!(!workload_identities_contain(Some(&one), Some(&tenant)));
        // Listed ids may be outside the tenant: `ServicePrincipalsInMyTenant` does not
        // obviously contain them.
        assert!(!workload_identities_contain(Some(&tenant), Some(&one)));
        assert!(workload_identities_contain(Some(&one), None));
        assert!(!workload_identities_contain(None, Some(&one)));
    }
}

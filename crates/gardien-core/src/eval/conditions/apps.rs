//! Target resources, user actions and authentication contexts (docs/reference/entra-semantics.md
//! §1.3, §3.2 item 3).

use crate::eval::input::{Input, Outcome};
use crate::eval::trace::Tracer;
use crate::model::policy::{AppSet, ApplicationCondition, FilterMode, Policy};
use crate::signin::Target;

fn in_set(set: &AppSet, app: &str, input: &Input<'_>) -> Option<&'static str> {
    if set.all {
        return Some("`All` resources");
    }
    if set.apps.iter().any(|a| a.as_ref() == app) {
        return Some("by application id");
    }
    if set.office365 && input.tenant.office365.contains(app) {
        return Some("as part of `Office365`");
    }
    if set.admin_portals && input.tenant.admin_portals.contains(app) {
        return Some("as part of `MicrosoftAdminPortals`");
    }
    if set.all_agent_resources && input.tenant.agent_resources.contains(app) {
        return Some("as an agent resource (`AllAgentIdResources`)");
    }
    None
}

fn filter_matches(
    cond: &ApplicationCondition,
    mode: FilterMode,
    app: &str,
    input: &Input<'_>,
) -> bool {
    cond.filter.as_ref().is_some_and(|f| {
        f.mode == mode
            && input
                .tenant
                .tenant
                .directory
                .service_principals
                .iter()
                .find(|s| s.app_id.as_deref() == Some(app))
                .is_some_and(|sp| {
                    f.rule.matches(|name| {
                        sp.attributes
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(name))
                            .map(|(_, v)| v.as_str())
                    })
                })
    })
}

fn has_exclusions(a: &ApplicationCondition) -> bool {
    !a.exclude.apps.is_empty()
        || a.exclude.office365
        || a.exclude.admin_portals
        || a.filter
            .as_ref()
            .is_some_and(|f| f.mode == FilterMode::Exclude)
}

/// Every member of `small` is in `big`.
fn subset(small: &[Box<str>], big: &[Box<str>]) -> bool {
    small.iter().all(|x| big.contains(x))
}

/// Whether every request that the target condition `inner` selects is selected by `outer`
/// too: resources (include covers, exclusions among `inner`'s), user actions and
/// authentication contexts. Structural and conservative (`false` may only mean "not
/// obviously"): `outer` with an application filter or a target gardien does not model never
/// contains anything; `inner` with an include-mode filter is contained only by `All`.
///
/// `baseline_exemption` says whether requests for baseline scopes only can be exempt from
/// `All`-resources policies with exclusions (the legacy mode, [`check_target`]): `outer` of
/// that shape then contains `inner` only if `inner` is of that shape too.
pub fn applications_contain(
    outer: &ApplicationCondition,
    inner: &ApplicationCondition,
    baseline_exemption: bool,
) -> bool {
    let (q, p) = (outer, inner);
    if !q.unmodelled.is_empty() || !p.unmodelled.is_empty() || q.filter.is_some() {
        return false;
    }
    if p.filter
        .as_ref()
        .is_some_and(|f| f.mode == FilterMode::Include)
        && !q.include.all
    {
        return false;
    }
    let include = q.include.all
        || (!p.include.all
            && (!p.include.office365 || q.include.office365)
            && (!p.include.admin_portals || q.include.admin_portals)
            && subset(&p.include.apps, &q.include.apps));
    // An application `outer` excludes is harmless when `inner` excludes it too, or when
    // `inner` only lists applications and not that one.
    let only_listed = !p.include.all && !p.include.office365 && !p.include.admin_portals;
    let exclude = (!q.exclude.office365 || p.exclude.office365)
        && (!q.exclude.admin_portals || p.exclude.admin_portals)
        && q.exclude
            .apps
            .iter()
            .all(|x| p.exclude.apps.contains(x) || (only_listed && !p.include.apps.contains(x)));
    let baseline = !(baseline_exemption && q.include.all && has_exclusions(q))
        || (p.include.all && has_exclusions(p));
    include
        && exclude
        && baseline
        && p.user_actions.iter().all(|a| q.user_actions.contains(a))
        && subset(&p.auth_contexts, &q.auth_contexts)
}

/// The target-resource condition of a policy.
pub(crate) fn check_target<T: Tracer>(policy: &Policy, input: &Input<'_>, t: &mut T) -> Outcome {
    let a = &policy.conditions.applications;
    match &input.signin.target {
        Target::Applications(_) => {
            if input.baseline_exempt && a.include.all && has_exclusions(a) {
                t.note(|| "the request asks only for baseline scopes, which `All`-resources policies with exclusions exempt (legacy mode)".to_owned());
                return Outcome::NotSatisfied;
            }
            let mut matched = false;
            input.audiences.any(|app| {
                let Some(how) = in_set(&a.include, app, input).or_else(|| {
                    filter_matches(a, FilterMode::Include, app, input)
                        .then_some("through the application filter")
                }) else {
                    t.note(|| format!("resource `{app}` is not included"));
                    return false;
                };
                if let Some(why) = in_set(&a.exclude, app, input) {
                    t.note(|| format!("resource `{app}` is included {how} but excluded {why}"));
                    return false;
                }
                if filter_matches(a, FilterMode::Exclude, app, input) {
                    t.note(|| format!("resource `{app}` is excluded by the application filter"));
                    return false;
                }
                t.note(|| format!("resource `{app}` is included {how}"));
                matched = true;
                true
            });
            Outcome::of(matched)
        }
        Target::UserAction(action) => {
            let ok = a.user_actions.contains(action);
            t.note(|| {
                if ok {
                    format!("user action `{}` is targeted", action.urn())
                } else {
                    format!("user action `{}` is not targeted", action.urn())
                }
            });
            Outcome::of(ok)
        }
        Target::AuthContext(ctx) => {
            let ok = a.auth_contexts.iter().any(|c| c == ctx);
            t.note(|| {
                if ok {
                    format!("authentication context `{ctx}` is targeted")
                } else {
                    format!("authentication context `{ctx}` is not targeted")
                }
            });
            Outcome::of(ok)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::applications_contain;
    use crate::model::policy::{AppSet, ApplicationCondition, UserAction};

    fn apps(include: AppSet, exclude: &[&str]) -> ApplicationCondition {
        ApplicationCondition {
            include,
            exclude: AppSet {
                apps: exclude.iter().map(|a| Box::from(*a)).collect(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn all() -> AppSet {
        AppSet {
            all: true,
            ..Default::default()
        }
    }

    fn listed(ids: &[&str]) -> AppSet {
        AppSet {
            apps: ids.iter().map(|a| Box::from(*a)).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn containment_of_resources() {
        let everything = apps(all(), &[]);
        let two = apps(listed(&["a", "b"]), &[]);
        let one = apps(listed(&["a"]), &[]);
        assert!(applications_contain(&everything, &two, false));
        assert!(applications_contain(&two, &one, false));
        assert!(!applications_contain(&one, &two, false));
        assert!(!applications_contain(&two, &everything, false));
        // The outer exclusions must be excluded by the inner one too.
        let all_but_a = apps(all(), &["a"]);
        let all_but_a_b = apps(all(), &["a", "b"]);
        assert!(applications_contain(&all_but_a, &all_but_a_b, false));
        assert!(!applications_contain(&all_but_a_b, &all_but_a, false));
        // `one` lists `a`, which `all_but_a` excludes.
        assert!(!applications_contain(&all_but_a, &one, false));
        // Office365 is not a list of ids: it contains only Office365.
        let o365 = apps(
            AppSet {
                office365: true,
                ..Default::default()
            },
            &[],
        );
        assert!(!applications_contain(&two, &o365, false));
        assert!(applications_contain(&o365, &o365, false));
    }

    #[test]
    fn baseline_exemption_and_user_actions() {
        // `All` with exclusions exempts baseline-scope requests in legacy mode: it no longer
        // contains a policy listing applications, but still one of the same shape.
        let all_but_a = apps(all(), &["a"]);
        let b = apps(listed(&["b"]), &[]);
        assert!(applications_contain(&all_but_a, &b, false));
        assert!(!applications_contain(&all_but_a, &b, true));
        assert!(applications_contain(&all_but_a, &all_but_a, true));

        let register = ApplicationCondition {
            user_actions: vec![UserAction::RegisterSecurityInformation],
            ..Default::default()
        };
        assert!(applications_contain(&register, &register, false));
        assert!(!applications_contain(&b, &register, false));
    }
}

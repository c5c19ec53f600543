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

//! `GA302` admin-without-mfa: administrators can sign in with a password alone.

use gardien_core::eval::grant::Control;
use gardien_core::eval::input::Outcome;
use gardien_core::eval::{Condition, Decision};
use gardien_core::model::enums::{BuiltInControl, ClientAppType, DevicePlatform};
use gardien_core::signin::Target;

use crate::lint::Context;
use crate::lint::probe::{
    ADMIN_TARGETS, EXCHANGE_ONLINE, FAVOURABLE_PLATFORMS, MODERN_CLIENTS, PROBE_APP, Probe, Shape,
    enabled, is_privileged, password_session,
};
use crate::lint::registry::ADMIN_WITHOUT_MFA;
use crate::lint::rules::list;

/// Whether a verdict makes a password-only administrator do MFA (or stops them).
fn protects(v: &gardien_core::Verdict) -> bool {
    match v.decision {
        Decision::Deny => true,
        Decision::Challenge => {
            v.required.contains(Control::Mfa)
                || v.required.contains(Control::AuthenticationStrength)
        }
        Decision::Allow => false,
    }
}

/// GA302: every administrator, on every admin tool and a few resources, from every named
/// location, with a password alone and no registered device, must be challenged for MFA.
pub(super) fn check(cx: &mut Context<'_>) {
    let probe = &cx.probe;
    let dir = &cx.tenant.tenant.directory;
    let real: Vec<(Box<str>, String)> = dir
        .users
        .iter()
        .filter_map(|u| {
            let roles: Vec<&str> = u
                .roles
                .iter()
                .filter(|r| is_privileged(r))
                .map(|r| &**r)
                .collect();
            (!roles.is_empty()).then(|| {
                let who = if u.user_principal_name.is_empty() {
                    &*u.id
                } else {
                    &u.user_principal_name
                };
                (
                    u.id.clone(),
                    format!(
                        "`{who}` ({})",
                        roles
                            .iter()
                            .map(|r| Probe::role_label(r))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
        })
        .collect();
    // Emergency-access accounts are excluded from every access-control policy on purpose
    // (Microsoft's guidance): an administrator in scope of no enabled policy with grant
    // controls, although some enabled policy with grant controls targets all users or one of
    // their roles, is one of them and is not reported. Session-only policies (sign-in
    // frequency, persistent browser...) do not count: they may include such accounts
    // without granting or blocking anything.
    let live: Vec<usize> = enabled(cx.tenant)
        .into_iter()
        .filter(|&i| {
            cx.tenant
                .tenant
                .policies
                .get(i)
                .is_some_and(|p| p.grant.as_ref().is_some_and(|g| !g.is_empty()))
        })
        .collect();
    let emergency = |id: &str| {
        let user = dir.users.iter().find(|u| &*u.id == id);
        let targeted = live.iter().any(|&i| {
            cx.tenant.tenant.policies.get(i).is_some_and(|p| {
                p.conditions.users.as_ref().is_some_and(|c| {
                    c.include.all
                        || user.is_some_and(|u| u.roles.iter().any(|r| c.include.roles.contains(r)))
                })
            })
        });
        let s = probe.user_signin(
            id,
            Target::Applications(vec![PROBE_APP.into()]),
            Shape {
                platform: DevicePlatform::Windows,
                client: ClientAppType::Browser,
            },
            &probe.base,
            password_session(),
        );
        let eval = probe.evaluate(&s);
        let in_scope = live.iter().any(|&i| {
            eval.policies.get(i).is_some_and(|r| {
                r.conditions
                    .iter()
                    .any(|c| c.condition == Condition::Users && c.outcome == Outcome::Satisfied)
            })
        });
        targeted && !in_scope
    };
    let real: Vec<(Box<str>, String)> = real.into_iter().filter(|(id, _)| !emergency(id)).collect();
    let synthetic = real.is_empty()
        && !dir
            .users
            .iter()
            .any(|u| u.roles.iter().any(|r| is_privileged(r)));
    let admins: Vec<(Box<str>, String)> = if synthetic {
        probe
            .role_users
            .iter()
            .filter(|(r, _)| is_privileged(r))
            .map(|(r, u)| (u.clone(), Probe::role_label(r)))
            .collect()
    } else {
        real
    };
    let mut targets: Vec<(&str, &str)> = ADMIN_TARGETS.to_vec();
    targets.push((EXCHANGE_ONLINE, "Exchange Online"));
    targets.push((PROBE_APP, "an application no policy names"));
    let mut uncovered: Vec<(String, String)> = Vec::new();
    for (user, label) in &admins {
        let witness = targets.iter().find_map(|(app, app_label)| {
            FAVOURABLE_PLATFORMS.iter().find_map(|&platform| {
                MODERN_CLIENTS.iter().find_map(|&client| {
                    let shape = Shape { platform, client };
                    // Decided once but for the place; each place runs its location conditions.
                    let s = probe.user_signin(
                        user,
                        Target::Applications(vec![(*app).into()]),
                        shape,
                        &probe.base,
                        password_session(),
                    );
                    let unplaced = probe.tenant.unplaced(&s);
                    probe.reps.iter().find_map(|place| {
                        (!protects(&unplaced.decide(place.whereabouts()))).then(|| {
                            format!(
                                "signing in to {app_label} {}, {},",
                                shape.label(),
                                place.label
                            )
                        })
                    })
                })
            })
        });
        if let Some(w) = witness {
            uncovered.push((label.clone(), w));
        }
    }
    let Some((first, witness)) = uncovered.first() else {
        return;
    };
    let who = match (synthetic, uncovered.len() == admins.len()) {
        (true, true) => format!(
            "no enabled policy requires MFA of any of the {} privileged roles",
            admins.len()
        ),
        (true, false) => format!(
            "{} of the {} privileged roles are not covered ({})",
            uncovered.len(),
            admins.len(),
            uncovered
                .iter()
                .map(|(l, _)| l.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (false, _) => format!(
            "{} of {} administrators in directory.json are not covered ({})",
            uncovered.len(),
            admins.len(),
            uncovered
                .iter()
                .map(|(l, _)| l.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let subject = if synthetic {
        format!("a user in no group holding only {first}")
    } else {
        first.clone()
    };
    let mut message = format!(
        "administrators can sign in with a password alone: {who}; e.g. {subject} {witness} is allowed without MFA"
    );
    if synthetic {
        let grouped: Vec<String> = enabled(cx.tenant)
            .into_iter()
            .filter_map(|i| cx.tenant.tenant.policies.get(i))
            .filter(|p| {
                p.grant.as_ref().is_some_and(|g| {
                    g.built_in.contains(&BuiltInControl::Mfa) || g.authentication_strength.is_some()
                }) && p
                    .conditions
                    .users
                    .as_ref()
                    .is_some_and(|u| !u.include.groups.is_empty())
            })
            .map(|p| {
                if p.display_name.is_empty() {
                    p.id.clone()
                } else {
                    p.display_name.clone()
                }
            })
            .collect();
        if !grouped.is_empty() {
            let shown = list(grouped.iter().take(3));
            let more = grouped.len().saturating_sub(3);
            message.push_str(&format!(
                " (no administrator is listed in directory.json, so {} polic{} requiring MFA of groups ({shown}{}) cannot be credited: administrators may be members)",
                grouped.len(),
                if grouped.len() == 1 { "y" } else { "ies" },
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ));
        }
    }
    cx.report(ADMIN_WITHOUT_MFA, None, "", message, None);
}

#[cfg(test)]
mod tests {
    use crate::lint::probe::testing::{codes, grant, policy, tenant, users};
    use crate::lint::{LintOptions, lint};
    use serde_json::json;

    #[test]
    fn ga302_admins_need_mfa_everywhere() {
        let ga_only = policy(
            "mfa-ga",
            json!({"users": {"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"], "excludeGroups": ["bg"]}}),
            grant("mfa"),
        );
        let t = tenant(vec![ga_only.clone()], json!([]), None);
        let r = lint(&t, &LintOptions::default());
        let f = r.findings.iter().find(|f| f.code == "GA302");
        assert!(
            f.is_some_and(|f| f
                .message
                .contains("13 of the 14 privileged roles are not covered")
                && f.message.contains("`Exchange Administrator`")
                && !f.message.contains("`Global Administrator`")),
            "{r:?}"
        );
        // With a directory, only real administrators are checked.
        let dir = json!({"users": [{"id": "bob", "userPrincipalName": "bob@x", "roles": ["62e90394-69f5-4237-9190-012177145e10"]}]});
        let t = tenant(vec![ga_only.clone()], json!([]), Some(dir));
        assert_eq!(
            codes(&lint(&t, &LintOptions::default()), "GA302"),
            Vec::<&str>::new()
        );
        // An emergency-access account, excluded from every policy, is not reported; an
        // administrator outside the MFA policy's scope is.
        let mfa_members = policy(
            "mfa-members",
            json!({"users": {"includeGroups": ["staff"], "excludeGroups": ["bg"]}}),
            grant("mfa"),
        );
        let block_legacy = policy(
            "block-legacy",
            json!({"users": users(), "clientAppTypes": ["exchangeActiveSync", "other"]}),
            grant("block"),
        );
        let ga = "62e90394-69f5-4237-9190-012177145e10";
        let dir = json!({"users": [
            {"id": "bg-1", "userPrincipalName": "bg-1@x", "memberOf": ["bg"], "roles": [ga]},
            {"id": "carol", "userPrincipalName": "carol@x", "memberOf": ["staff"], "roles": [ga]}]});
        let t = tenant(
            vec![mfa_members.clone(), block_legacy.clone()],
            json!([]),
            Some(dir),
        );
        assert_eq!(
            codes(&lint(&t, &LintOptions::default()), "GA302"),
            Vec::<&str>::new()
        );
        let dir = json!({"users": [
            {"id": "bg-1", "userPrincipalName": "bg-1@x", "memberOf": ["bg"], "roles": [ga]},
            {"id": "dave", "userPrincipalName": "dave@x", "roles": [ga]}]});
        let t = tenant(
            vec![mfa_members.clone(), block_legacy.clone()],
            json!([]),
            Some(dir),
        );
        let r = lint(&t, &LintOptions::default());
        let f = r.findings.iter().find(|f| f.code == "GA302");
        assert!(
            f.is_some_and(
                |f| f.message.contains("1 of 1 administrators") && f.message.contains("`dave@x`")
            ),
            "{r:?}"
        );
        // A session-only policy that includes the emergency-access account (sign-in
        // frequency for everyone) does not make it look like an unprotected administrator.
        let mut frequency = policy(
            "frequency",
            json!({"users": {"includeUsers": ["All"]}}),
            json!(null),
        );
        if let Some(o) = frequency.as_object_mut() {
            o.remove("grantControls");
            o.insert(
                "sessionControls".into(),
                json!({"signInFrequency": {"value": 4, "type": "hours", "isEnabled": true}}),
            );
        }
        let dir = json!({"users": [
            {"id": "bg-1", "userPrincipalName": "bg-1@x", "memberOf": ["bg"], "roles": [ga]},
            {"id": "carol", "userPrincipalName": "carol@x", "memberOf": ["staff"], "roles": [ga]}]});
        let t = tenant(
            vec![mfa_members.clone(), block_legacy.clone(), frequency],
            json!([]),
            Some(dir),
        );
        let r = lint(&t, &LintOptions::default());
        assert_eq!(codes(&r, "GA302"), Vec::<&str>::new(), "{r:?}");
        // Skipping MFA on a trusted network is reported.
        let hq = json!([{"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "hq", "displayName": "HQ",
                         "isTrusted": true, "ipRanges": [{"cidrAddress": "198.51.100.0/24"}]}]);
        let outside = policy(
            "mfa-outside",
            json!({"users": users(), "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}),
            grant("mfa"),
        );
        let t = tenant(vec![outside], hq, None);
        let r = lint(&t, &LintOptions::default());
        assert!(
            r.findings
                .iter()
                .any(|f| f.code == "GA302" && f.message.contains("`198.51.100.0` (in `HQ`)")),
            "{r:?}"
        );
    }
}

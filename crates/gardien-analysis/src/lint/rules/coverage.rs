//! GA3xx: coverage and hygiene: legacy authentication, administrators without MFA,
//! report-only policies left for long, country locations and unknown countries.

use gardien_core::eval::Decision;
use gardien_core::eval::grant::Control;
use gardien_core::eval::input::Outcome;
use gardien_core::eval::{Condition, Evaluation};
use gardien_core::model::enums::{BuiltInControl, ClientAppType, DevicePlatform, ExternalUserType};
use gardien_core::model::location::LocationKind;
use gardien_core::model::policy::{ClientAppTypeToken, LocationToken, PolicyState};
use gardien_core::signin::Target;

use super::super::probe::{
    ADMIN_TARGETS, EXCHANGE_ONLINE, FAVOURABLE_PLATFORMS, MODERN_CLIENTS, PROBE_APP, Place, Probe,
    Shape, enabled, guest_id, is_privileged, password_session,
};
use super::super::registry::{
    ADMIN_WITHOUT_MFA, LEGACY_AUTH_ALLOWED, STALE_REPORT_ONLY, UNKNOWN_COUNTRY_BLOCKED,
    UNKNOWN_COUNTRY_NOT_BLOCKED,
};
use super::super::{Context, Skipped, parse_timestamp};
use super::{list, raw_index};

pub(super) fn run(cx: &mut Context<'_>) {
    legacy_authentication(cx);
    admins_without_mfa(cx);
    stale_report_only(cx);
    unknown_countries(cx);
}

/// GA301: a legacy sign-in to Exchange Online, for a member and for a guest, on every
/// platform and from every named location, must be denied.
fn legacy_authentication(cx: &mut Context<'_>) {
    let probe = &cx.probe;
    let guest = guest_id(ExternalUserType::B2bCollaborationGuest, None);
    let subjects: [(&str, &str); 2] = [
        (&probe.member, "a member with no group or role"),
        (&guest, "a B2B guest"),
    ];
    let mut allowed = Vec::new();
    for (client, label) in [
        (ClientAppType::ExchangeActiveSync, "Exchange ActiveSync"),
        (
            ClientAppType::Other,
            "other legacy clients (IMAP, POP, SMTP AUTH...)",
        ),
    ] {
        let witness = subjects.iter().find_map(|(user, who)| {
            DevicePlatform::ALL.iter().find_map(|&platform| {
                probe.reps.iter().find_map(|place| {
                    let s = probe.user_signin(
                        user,
                        Target::Applications(vec![EXCHANGE_ONLINE.into()]),
                        Shape { platform, client },
                        place,
                        password_session(),
                    );
                    (probe.tenant.decide(&s).decision != Decision::Deny).then(|| {
                        format!(
                            "{label}: {who} signing in to Exchange Online {}, {}, is allowed",
                            Shape { platform, client }.label(),
                            place.label
                        )
                    })
                })
            })
        });
        allowed.extend(witness);
    }
    if allowed.is_empty() {
        return;
    }
    let dormant: Vec<String> = cx
        .tenant
        .tenant
        .policies
        .iter()
        .filter(|p| {
            p.state != PolicyState::Enabled
                && p.grant.as_ref().is_some_and(|g| g.is_block())
                && p.conditions.client_app_types.iter().any(|t| {
                    matches!(
                        t,
                        ClientAppTypeToken::Type(
                            ClientAppType::ExchangeActiveSync | ClientAppType::Other
                        ) | ClientAppTypeToken::EasSupported
                    )
                })
        })
        .map(|p| {
            format!(
                "`{}` ({})",
                if p.display_name.is_empty() {
                    &p.id
                } else {
                    &p.display_name
                },
                if p.state == PolicyState::Disabled {
                    "disabled"
                } else {
                    "report-only"
                }
            )
        })
        .collect();
    let help = (!dormant.is_empty()).then(|| {
        format!(
            "{} would block legacy clients but {} not enabled; enable it, or create a policy blocking the `exchangeActiveSync` and `other` client app types for all users",
            dormant.join(", "),
            if dormant.len() > 1 { "are" } else { "is" }
        )
    });
    cx.report(
        LEGACY_AUTH_ALLOWED,
        None,
        "",
        format!(
            "legacy authentication is not blocked for all users: {}",
            allowed.join("; ")
        ),
        help,
    );
}

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
fn admins_without_mfa(cx: &mut Context<'_>) {
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
                    probe.reps.iter().find_map(|place| {
                        let s = probe.user_signin(
                            user,
                            Target::Applications(vec![(*app).into()]),
                            shape,
                            place,
                            password_session(),
                        );
                        (!protects(&probe.tenant.decide(&s))).then(|| {
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

/// GA303: report-only policies older than the allowed age.
fn stale_report_only(cx: &mut Context<'_>) {
    let Some(now) = cx.options.now else {
        cx.skipped.push(Skipped {
            codes: vec![STALE_REPORT_ONLY],
            reason: "no current time was given".to_owned(),
        });
        return;
    };
    let max = i64::from(cx.options.report_only_max_age_days);
    let mut found = Vec::new();
    for (i, p) in cx.tenant.tenant.policies.iter().enumerate() {
        if p.state != PolicyState::ReportOnly {
            continue;
        }
        let stamp = ["modifiedDateTime", "createdDateTime"]
            .iter()
            .find_map(|k| {
                let text = p.raw.get(*k)?.as_str()?;
                Some((text.to_owned(), parse_timestamp(text)?))
            });
        let Some((text, at)) = stamp else { continue };
        let days = (now - at).div_euclid(86_400);
        if days > max {
            let date = text.get(..10).unwrap_or(&text).to_owned();
            found.push((i, date, days));
        }
    }
    for (i, date, days) in found {
        let name = cx.policy_name(i);
        cx.report(
            STALE_REPORT_ONLY,
            Some(i),
            "/state",
            format!(
                "policy {name} has been report-only since {date} ({days} days, more than {max})"
            ),
            None,
        );
    }
}

fn location_outcome(eval: &Evaluation, index: usize) -> Option<Outcome> {
    eval.policies.get(index).and_then(|r| {
        r.conditions
            .iter()
            .find(|c| c.condition == Condition::Location)
            .map(|c| c.outcome)
    })
}

/// GA304 / GA305: country locations without unknown countries in blocks.
fn unknown_countries(cx: &mut Context<'_>) {
    let tenant = cx.tenant;
    let probe = &cx.probe;
    let mut found = Vec::new();
    for (i, p) in tenant.tenant.policies.iter().enumerate() {
        let blocks = p.grant.as_ref().is_some_and(|g| g.is_block());
        let Some(l) = &p.conditions.locations else {
            continue;
        };
        if p.state == PolicyState::Disabled || !blocks {
            continue;
        }
        for (key, tokens, code) in [
            ("excludeLocations", &l.exclude, UNKNOWN_COUNTRY_BLOCKED),
            ("includeLocations", &l.include, UNKNOWN_COUNTRY_NOT_BLOCKED),
        ] {
            for t in tokens {
                let LocationToken::Id(id) = t else { continue };
                let Some(loc) = tenant.tenant.named_locations.iter().find(|x| x.id == *id) else {
                    continue;
                };
                let LocationKind::Country {
                    countries,
                    include_unknown: false,
                    gps: false,
                } = &loc.kind
                else {
                    continue;
                };
                let Some(listed) = countries.first() else {
                    continue;
                };
                let at = |country: Option<[u8; 2]>| {
                    let place = Place {
                        country,
                        ..probe.base.clone()
                    };
                    let s = probe.user_signin(
                        &probe.member,
                        Target::Applications(vec![PROBE_APP.into()]),
                        Shape {
                            platform: DevicePlatform::Windows,
                            client: ClientAppType::Browser,
                        },
                        &place,
                        Default::default(),
                    );
                    location_outcome(&probe.evaluate(&s), i)
                };
                let (unknown, inside) = (at(None), at(Some(*listed)));
                let hit = if code == UNKNOWN_COUNTRY_BLOCKED {
                    unknown == Some(Outcome::Satisfied) && inside == Some(Outcome::NotSatisfied)
                } else {
                    unknown == Some(Outcome::NotSatisfied) && inside == Some(Outcome::Satisfied)
                };
                if hit {
                    let index = raw_index(&p.raw, &["conditions", "locations", key], id)
                        .map(|n| format!("/{n}"))
                        .unwrap_or_default();
                    let name = if loc.display_name.is_empty() {
                        loc.id.to_string()
                    } else {
                        loc.display_name.clone()
                    };
                    found.push((code, i, format!("/conditions/locations/{key}{index}"), name));
                }
            }
        }
    }
    for (code, i, pointer, location) in found {
        let name = cx.policy_name(i);
        let message = if code == UNKNOWN_COUNTRY_BLOCKED {
            format!(
                "policy {name} also blocks sign-ins from addresses that map to no country: the location it exempts, `{location}`, does not include unknown countries and regions"
            )
        } else {
            format!(
                "policy {name} blocks `{location}` but lets sign-ins from addresses that map to no country through: the location does not include unknown countries and regions"
            )
        };
        cx.report(code, Some(i), &pointer, message, None);
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::probe::testing::{grant, policy, tenant};
    use crate::lint::{LintOptions, lint, parse_timestamp};
    use serde_json::json;

    fn codes(r: &crate::lint::LintReport, prefix: &str) -> Vec<&'static str> {
        r.findings
            .iter()
            .filter(|f| f.code.starts_with(prefix))
            .map(|f| f.code)
            .collect()
    }

    fn users() -> serde_json::Value {
        json!({"includeUsers": ["All"], "excludeGroups": ["bg"]})
    }

    #[test]
    fn ga301_legacy_allowed_unless_blocked_for_everyone() {
        let mfa_in_browser = policy(
            "mfa-browser",
            json!({"users": users(), "clientAppTypes": ["browser", "mobileAppsAndDesktopClients"]}),
            grant("mfa"),
        );
        let t = tenant(vec![mfa_in_browser.clone()], json!([]), None);
        let r = lint(&t, &LintOptions::default());
        let f = r.findings.iter().find(|f| f.code == "GA301");
        assert!(
            f.is_some_and(|f| f.message.contains("Exchange ActiveSync")
                && f.message.contains("other legacy")
                && f.policy.is_none()),
            "{r:?}"
        );
        let mut dormant = policy(
            "block-legacy",
            json!({"users": users(), "clientAppTypes": ["exchangeActiveSync", "other"]}),
            grant("block"),
        );
        dormant["state"] = json!("disabled");
        let t = tenant(
            vec![mfa_in_browser.clone(), dormant.clone()],
            json!([]),
            None,
        );
        let r = lint(&t, &LintOptions::default());
        assert!(
            r.findings
                .iter()
                .any(|f| f.code == "GA301" && f.help.contains("`block-legacy` (disabled)"))
        );
        dormant["state"] = json!("enabled");
        let t = tenant(vec![mfa_in_browser, dormant], json!([]), None);
        assert_eq!(
            codes(&lint(&t, &LintOptions::default()), "GA301"),
            Vec::<&str>::new()
        );
        // MFA for everyone, all client types, also stops legacy clients (they cannot do MFA).
        let mfa_all = policy("mfa-all", json!({"users": users()}), grant("mfa"));
        let t = tenant(vec![mfa_all], json!([]), None);
        assert_eq!(
            codes(&lint(&t, &LintOptions::default()), "GA301"),
            Vec::<&str>::new()
        );
    }

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

    #[test]
    fn ga303_stale_report_only() {
        let mut p = policy("old", json!({"users": users()}), grant("mfa"));
        p["state"] = json!("enabledForReportingButNotEnforced");
        p["createdDateTime"] = json!("2024-01-01T00:00:00Z");
        p["modifiedDateTime"] = json!("2024-03-01T00:00:00Z");
        let t = tenant(vec![p], json!([]), None);
        let at = |now: &str| LintOptions {
            now: parse_timestamp(now),
            ..LintOptions::default()
        };
        let r = lint(&t, &at("2024-06-01"));
        assert!(
            r.findings
                .iter()
                .any(|f| f.code == "GA303" && f.message.contains("since 2024-03-01 (92 days")),
            "{r:?}"
        );
        assert_eq!(
            codes(&lint(&t, &at("2024-05-01")), "GA303"),
            Vec::<&str>::new()
        );
        let r = lint(&t, &LintOptions::default());
        assert!(r.summary.skipped.iter().any(|s| s.codes == vec!["GA303"]));
    }

    #[test]
    fn ga304_ga305_unknown_countries() {
        let locations = |unknown: bool| {
            json!([
                {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "ok", "displayName": "Allowed",
                 "countriesAndRegions": ["FR"], "includeUnknownCountriesAndRegions": unknown},
                {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "bad", "displayName": "Blocked",
                 "countriesAndRegions": ["KP"], "includeUnknownCountriesAndRegions": unknown}])
        };
        let allow_list = policy(
            "allow-list",
            json!({"users": users(), "locations": {"includeLocations": ["All"], "excludeLocations": ["ok"]}}),
            grant("block"),
        );
        let deny_list = policy(
            "deny-list",
            json!({"users": users(), "locations": {"includeLocations": ["bad"]}}),
            grant("block"),
        );
        let mfa_outside = policy(
            "mfa-outside",
            json!({"users": users(), "locations": {"includeLocations": ["All"], "excludeLocations": ["ok"]}}),
            grant("mfa"),
        );
        let all = vec![allow_list, deny_list, mfa_outside];
        let t = tenant(all.clone(), locations(false), None);
        let r = lint(&t, &LintOptions::default());
        let got: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.code == "GA304" || f.code == "GA305")
            .map(|f| (f.code, f.pointer.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "GA304",
                    "/policies/0/conditions/locations/excludeLocations/0"
                ),
                (
                    "GA305",
                    "/policies/1/conditions/locations/includeLocations/0"
                ),
            ]
        );
        let t = tenant(all, locations(true), None);
        let r = lint(&t, &LintOptions::default());
        assert!(
            r.findings
                .iter()
                .all(|f| f.code != "GA304" && f.code != "GA305"),
            "{r:?}"
        );
    }
}

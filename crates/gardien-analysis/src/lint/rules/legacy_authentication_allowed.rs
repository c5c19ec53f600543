//! `GA301` legacy-authentication-allowed: legacy authentication (Exchange ActiveSync or other
//! legacy clients) is not blocked for all users.

use gardien_core::eval::Decision;
use gardien_core::model::enums::{ClientAppType, DevicePlatform, ExternalUserType};
use gardien_core::model::policy::{ClientAppTypeToken, PolicyState};
use gardien_core::signin::Target;

use crate::lint::Context;
use crate::lint::probe::{EXCHANGE_ONLINE, Shape, guest_id, password_session};
use crate::lint::registry::LEGACY_AUTH_ALLOWED;

/// GA301: a legacy sign-in to Exchange Online, for a member and for a guest, on every
/// platform and from every named location, must be denied.
pub(super) fn check(cx: &mut Context<'_>) {
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

#[cfg(test)]
mod tests {
    use crate::lint::probe::testing::{codes, grant, policy, tenant, users};
    use crate::lint::{LintOptions, lint};
    use serde_json::json;

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
}

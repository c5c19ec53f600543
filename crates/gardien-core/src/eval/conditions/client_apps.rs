//! Client app types (docs/reference/entra-semantics.md §1.6, §3.2 item 4).

use crate::eval::input::{Input, Mode, Outcome};
use crate::eval::trace::Tracer;
use crate::model::enums::{ClientAppType, DevicePlatform};
use crate::model::policy::ClientAppTypeToken;

/// Platforms on which Exchange ActiveSync is "supported" (`easSupported`).
fn eas_supported(platform: Option<DevicePlatform>) -> bool {
    matches!(
        platform,
        Some(
            DevicePlatform::Android
                | DevicePlatform::IOS
                | DevicePlatform::Windows
                | DevicePlatform::WindowsPhone
        )
    )
}

/// Whether one `clientAppTypes` token selects a sign-in of this client type and platform.
fn token_selects(
    token: ClientAppTypeToken,
    client: ClientAppType,
    platform: Option<DevicePlatform>,
) -> bool {
    match token {
        ClientAppTypeToken::All => true,
        ClientAppTypeToken::Type(x) => x == client,
        ClientAppTypeToken::EasSupported => {
            client == ClientAppType::ExchangeActiveSync && eas_supported(platform)
        }
    }
}

/// Whether a policy's `clientAppTypes` select a sign-in (empty list = `all`).
fn selects(
    tokens: &[ClientAppTypeToken],
    client: ClientAppType,
    platform: Option<DevicePlatform>,
) -> bool {
    tokens.is_empty() || tokens.iter().any(|t| token_selects(*t, client, platform))
}

/// Whether every sign-in that the client app types `inner` select is selected by `outer` too
/// (an empty list is `all`). Exact: client type and platform (which `easSupported` reads)
/// are enumerated and each decided by the same rule as [`check_client_apps`].
pub fn client_apps_contain(outer: &[ClientAppTypeToken], inner: &[ClientAppTypeToken]) -> bool {
    let platforms = DevicePlatform::ALL.iter().map(|p| Some(*p)).chain([None]);
    platforms.into_iter().all(|platform| {
        ClientAppType::ALL
            .iter()
            .all(|&c| !selects(inner, c, platform) || selects(outer, c, platform))
    })
}

/// Whether the client app type is in a policy's `clientAppTypes` (empty list = `all`).
pub(crate) fn check_client_apps<T: Tracer>(
    tokens: &[ClientAppTypeToken],
    input: &Input<'_>,
    t: &mut T,
) -> Outcome {
    if tokens.is_empty() {
        return Outcome::Satisfied;
    }
    let Some(client) = input.client_app_type else {
        return match input.mode {
            Mode::WhatIf => {
                t.note(|| "the request gives no client app type".to_owned());
                Outcome::Unknown
            }
            Mode::Enforce => {
                t.note(|| {
                    "client app type unknown: the condition is treated as met (fail closed)"
                        .to_owned()
                });
                Outcome::Satisfied
            }
        };
    };
    // `easSupported` needs the platform too: without one (what-if) it cannot be decided.
    let mut undecided = false;
    let hit = tokens.iter().any(|tok| {
        undecided |= *tok == ClientAppTypeToken::EasSupported
            && client == ClientAppType::ExchangeActiveSync
            && input.platform.is_none();
        token_selects(*tok, client, input.platform)
    });
    if !hit && undecided {
        t.note(|| {
            "`easSupported` depends on the device platform, which the request does not give"
                .to_owned()
        });
        return Outcome::Unknown;
    }
    t.note(|| {
        format!(
            "client app type `{client}` is {}selected",
            if hit { "" } else { "not " }
        )
    });
    Outcome::of(hit)
}

#[cfg(test)]
mod tests {
    use super::client_apps_contain;
    use crate::eval::Condition;
    use crate::model::enums::ClientAppType;
    use crate::model::policy::ClientAppTypeToken;

    #[test]
    fn containment_of_client_app_types() {
        use ClientAppTypeToken::{All, EasSupported, Type};
        let legacy = [
            Type(ClientAppType::ExchangeActiveSync),
            Type(ClientAppType::Other),
        ];
        let other = [Type(ClientAppType::Other)];
        assert!(client_apps_contain(&legacy, &other));
        assert!(!client_apps_contain(&other, &legacy));
        // Empty is `all`.
        assert!(client_apps_contain(&[], &legacy));
        assert!(client_apps_contain(&[All], &[]));
        assert!(!client_apps_contain(&legacy, &[]));
        // `easSupported` is EAS on some platforms: EAS contains it, not the reverse.
        assert!(client_apps_contain(&legacy, &[EasSupported]));
        assert!(!client_apps_contain(&[EasSupported], &legacy));
        assert!(!client_apps_contain(&other, &[EasSupported]));
        assert!(client_apps_contain(&[EasSupported], &[EasSupported]));
    }
    use crate::eval::input::Outcome;

    use serde_json::{Value, json};

    /// What-if outcome of the client-app condition of an `easSupported` policy.
    fn client_outcome(conditions: Value) -> Option<Outcome> {
        let tenant = json!({"policies": [{"id": "p", "displayName": "p", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]},
                           "applications": {"includeApplications": ["All"]},
                           "clientAppTypes": ["easSupported"]},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}}]});
        let tenant = crate::testing::compile(&tenant)?;
        let signin = crate::testing::signin(conditions, Value::Null)?;
        let records = tenant.what_if(&signin);
        records
            .first()?
            .conditions
            .iter()
            .find(|c| c.condition == Condition::ClientApps)
            .map(|c| c.outcome)
    }

    /// Found by the differential test against the reference evaluator: what-if with an
    /// Exchange ActiveSync client and no platform said `notSatisfied` for `easSupported`,
    /// which depends on the platform (docs/reference/entra-semantics.md §1.6, §3.5:
    /// `notEnoughInformation`).
    #[test]
    fn r7_eas_supported_without_a_platform_is_undecidable_in_what_if() {
        let eas = json!({"clientAppType": "exchangeActiveSync"});
        assert_eq!(client_outcome(eas), Some(Outcome::Unknown));
        let on_ios = json!({"clientAppType": "exchangeActiveSync", "devicePlatform": "iOS"});
        assert_eq!(client_outcome(on_ios), Some(Outcome::Satisfied));
        let on_mac = json!({"clientAppType": "exchangeActiveSync", "devicePlatform": "macOS"});
        assert_eq!(client_outcome(on_mac), Some(Outcome::NotSatisfied));
        // Another client type decides without a platform.
        assert_eq!(
            client_outcome(json!({"clientAppType": "browser"})),
            Some(Outcome::NotSatisfied)
        );
    }
}

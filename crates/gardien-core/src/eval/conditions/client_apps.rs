//! Client app types (spec §1.6, §3.2 item 4).

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
    let hit = tokens.iter().any(|tok| match tok {
        ClientAppTypeToken::All => true,
        ClientAppTypeToken::Type(x) => *x == client,
        ClientAppTypeToken::EasSupported => {
            client == ClientAppType::ExchangeActiveSync && eas_supported(input.platform)
        }
    });
    t.note(|| {
        format!(
            "client app type `{client}` is {}selected",
            if hit { "" } else { "not " }
        )
    });
    Outcome::of(hit)
}

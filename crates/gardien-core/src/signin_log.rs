//! The Graph `signIn` record, defined once: its type ([`record::Record`], written by
//! `gardien serve`, read by replay and by the denial page of another replica) and its
//! vocabularies, what gardien writes to its sign-in log and what replay reads back, from
//! gardien's own log or from an Entra export. Writers and readers of the same member live
//! side by side here, and the round trip (read(write(x)) = x) is tested in both directions.
//!
//! - client app: `clientAppUsed` ([`client_app_used`] ↔ [`client_app`]);
//! - operating system: `deviceDetail.operatingSystem` ([`operating_system`] ↔ [`platform`],
//!   [`os_version`]);
//! - trust type: `deviceDetail.trustType` ([`trust_type`]);
//! - status: `status.errorCode` ↔ decision ([`status_code`] ↔ [`logged_decision`]),
//!   `status.failureReason` ([`failure_reason`]);
//! - methods: `authenticationDetails[].authenticationMethod` ([`method`]).

pub mod record;

pub use record::{Element, Record};

use crate::eval::{Decision, Verdict};
use crate::model::enums::{AuthMethod, ClientAppType, DevicePlatform};

/// Graph's `clientAppUsed` string for a client app type.
pub fn client_app_used(t: Option<ClientAppType>) -> &'static str {
    match t {
        Some(ClientAppType::Browser) => "Browser",
        Some(ClientAppType::MobileAppsAndDesktopClients) => "Mobile Apps and Desktop clients",
        Some(ClientAppType::ExchangeActiveSync) => "Exchange ActiveSync",
        _ => "Other clients",
    }
}

/// `clientAppUsed` → client app type; `None` for a name gardien does not know.
pub fn client_app(name: &str) -> Option<ClientAppType> {
    const LEGACY: &[&str] = &[
        "Other clients",
        "IMAP4",
        "IMAP",
        "POP3",
        "POP",
        "SMTP",
        "Authenticated SMTP",
        "MAPI Over HTTP",
        "MAPI",
        "Exchange Web Services",
        "AutoDiscover",
        "Exchange Online PowerShell",
        "Exchange Remote PowerShell",
        "Offline Address Book",
        "Outlook Anywhere (RPC over HTTP)",
        "Outlook Service",
        "Reporting Web Services",
        "Universal Outlook",
        "Other",
    ];
    if name.eq_ignore_ascii_case("Browser") {
        return Some(ClientAppType::Browser);
    }
    if name.eq_ignore_ascii_case("Mobile Apps and Desktop clients")
        || name.eq_ignore_ascii_case("Mobile apps and desktop clients")
    {
        return Some(ClientAppType::MobileAppsAndDesktopClients);
    }
    if name.eq_ignore_ascii_case("Exchange ActiveSync") {
        return Some(ClientAppType::ExchangeActiveSync);
    }
    if LEGACY.iter().any(|l| l.eq_ignore_ascii_case(name)) {
        return Some(ClientAppType::Other);
    }
    ClientAppType::parse(name)
}

/// `deviceDetail.operatingSystem` as gardien writes it: the platform's Graph name, then the
/// version when known (`windows 10.0.19045`); [`platform`] and [`os_version`] read it back.
pub fn operating_system(platform: DevicePlatform, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{} {v}", platform.as_str()),
        None => platform.as_str().to_owned(),
    }
}

/// `deviceDetail.operatingSystem` (`Windows 10`, `Ios 17.1`, `MacOs`, ...) → platform;
/// `None` for a name gardien does not know.
pub fn platform(os: &str) -> Option<DevicePlatform> {
    const TABLE: &[(&str, DevicePlatform)] = &[
        ("windows phone", DevicePlatform::WindowsPhone),
        ("windowsphone", DevicePlatform::WindowsPhone),
        ("windows mobile", DevicePlatform::WindowsPhone),
        ("windows", DevicePlatform::Windows),
        ("ipados", DevicePlatform::IOS),
        ("iphone", DevicePlatform::IOS),
        ("ipad", DevicePlatform::IOS),
        ("ios", DevicePlatform::IOS),
        ("android", DevicePlatform::Android),
        ("macos", DevicePlatform::MacOS),
        ("mac os", DevicePlatform::MacOS),
        ("macintosh", DevicePlatform::MacOS),
        ("os x", DevicePlatform::MacOS),
        ("osx", DevicePlatform::MacOS),
        ("linux", DevicePlatform::Linux),
        ("ubuntu", DevicePlatform::Linux),
        ("chrome os", DevicePlatform::Unknown),
        ("chromeos", DevicePlatform::Unknown),
        ("unknown", DevicePlatform::Unknown),
    ];
    let os = os.trim();
    TABLE
        .iter()
        .find(|(prefix, _)| starts_with_ci(os, prefix))
        .map(|(_, p)| *p)
}

/// The dotted version at the end of an operating system string (`Ios 17.1.2` → `17.1.2`).
pub fn os_version(os: &str) -> Option<&str> {
    os.split_whitespace()
        .last()
        .filter(|v| v.contains('.') && v.starts_with(|c: char| c.is_ascii_digit()))
}

/// `deviceDetail.trustType` in its Graph or portal spelling → Graph spelling.
pub fn trust_type(t: &str) -> Option<&'static str> {
    let t = t.trim();
    let has = |needle: &str| {
        t.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    if t.eq_ignore_ascii_case("ServerAD") || has("hybrid") {
        Some("ServerAD")
    } else if t.eq_ignore_ascii_case("Workplace") || has("registered") {
        Some("Workplace")
    } else if t.eq_ignore_ascii_case("AzureAD") || has("joined") {
        Some("AzureAD")
    } else {
        None
    }
}

/// `status.errorCode` of a decision: the AADSTS code of a deny, 50074 for a pending MFA or
/// other interactive control (Entra's "strong authentication required" interrupt), 0 allowed.
pub fn status_code(verdict: &Verdict) -> u32 {
    match verdict.decision {
        Decision::Allow => 0,
        Decision::Deny => verdict.error_code.unwrap_or(53003),
        Decision::Challenge => 50074,
    }
}

/// `status.errorCode` → decision: 0 allowed; Conditional Access blocks (53xxx, 530xxx,
/// 50005, 50131) denied; CA interrupts (MFA, registration, password change, terms of use /
/// external challenge, expired MFA or sign-in frequency) challenged; anything else is not a
/// CA outcome.
pub fn logged_decision(code: i64) -> Option<Decision> {
    match code {
        0 => Some(Decision::Allow),
        53000..=53999 | 530000..=530999 | 50005 | 50131 => Some(Decision::Deny),
        50072 | 50074 | 50076 | 50078 | 50079 | 50142 | 50158 | 70043 => Some(Decision::Challenge),
        _ => None,
    }
}

/// `status.failureReason` of a decision, as Entra words it.
pub fn failure_reason(verdict: &Verdict) -> &'static str {
    match (verdict.decision, verdict.error_code) {
        (Decision::Allow, _) => "Other.",
        (Decision::Challenge, _) => {
            "Strong authentication is required and the user did not pass the challenge yet."
        }
        (Decision::Deny, Some(53000)) => {
            "Device is not in required device state: compliant. Conditional Access policy requires a compliant device, and the device is not compliant."
        }
        (Decision::Deny, Some(53001)) => "Device is not in required device state: domain joined.",
        (Decision::Deny, Some(53002)) => "Application used is not an approved application.",
        (Decision::Deny, Some(53009)) => {
            "Application used is not an approved application or has no app protection policy."
        }
        (Decision::Deny, _) => "Access has been blocked by Conditional Access policies.",
    }
}

/// What an `authenticationDetails[].authenticationMethod` display name stands for.
pub enum Method {
    /// A known method.
    Known(AuthMethod),
    /// Known, but its strength depends on tenant configuration (assumed).
    Assumed(AuthMethod),
    /// "Previously satisfied": a claim from an earlier sign-in.
    Previously,
    /// Not recognised.
    Unknown,
}

/// What an `authenticationMethod` display name stands for.
pub fn method(name: &str) -> Method {
    let has = |needle: &str| {
        name.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    if has("previously satisfied") {
        Method::Previously
    } else if has("passwordless") || has("phone sign-in") {
        Method::Known(AuthMethod::DeviceBasedPush)
    } else if has("temporary access pass") {
        Method::Known(AuthMethod::TemporaryAccessPassOneTime)
    } else if has("password") || has("pass-through") {
        Method::Known(AuthMethod::Password)
    } else if has("notification") || has("push") {
        Method::Known(AuthMethod::MicrosoftAuthenticatorPush)
    } else if has("hardware oath") {
        Method::Known(AuthMethod::HardwareOath)
    } else if has("verification code") || has("oath") {
        Method::Known(AuthMethod::SoftwareOath)
    } else if has("text message") || has("sms") {
        Method::Known(AuthMethod::Sms)
    } else if has("phone call") || has("voice") {
        Method::Known(AuthMethod::Voice)
    } else if has("fido") || has("passkey") || has("security key") {
        Method::Known(AuthMethod::Fido2)
    } else if has("windows hello") {
        Method::Known(AuthMethod::WindowsHelloForBusiness)
    } else if has("email") {
        Method::Known(AuthMethod::Email)
    } else if has("certificate") || has("x.509") || has("x509") {
        Method::Assumed(AuthMethod::X509CertificateSingleFactor)
    } else if has("federated") {
        Method::Assumed(if has("multi") || has("mfa") {
            AuthMethod::FederatedMultiFactor
        } else {
            AuthMethod::FederatedSingleFactor
        })
    } else {
        Method::Unknown
    }
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::grant::Controls;
    use crate::eval::{PolicySet, session::MergedSession};

    #[test]
    fn client_apps_round_trip() {
        for c in ClientAppType::ALL {
            let written = client_app_used(Some(*c));
            assert_eq!(client_app(written), Some(*c), "{written}");
        }
    }

    #[test]
    fn operating_systems_round_trip() {
        for p in DevicePlatform::ALL {
            for v in [None, Some("10.0.19045"), Some("17.1.2")] {
                let written = operating_system(*p, v);
                assert_eq!(platform(&written), Some(*p), "{written}");
                assert_eq!(os_version(&written), v, "{written}");
            }
        }
    }

    #[test]
    fn statuses_round_trip() {
        let verdict = |decision, error_code| Verdict {
            decision,
            error_code,
            required: Controls::default(),
            deciding_policy: None,
            applied: PolicySet::default(),
            report_only_applied: PolicySet::default(),
            session: MergedSession::default(),
        };
        for (d, code) in [
            (Decision::Allow, None),
            (Decision::Challenge, None),
            (Decision::Deny, Some(53003)),
            (Decision::Deny, Some(53000)),
            (Decision::Deny, Some(530036)),
            (Decision::Deny, Some(53010)),
        ] {
            let written = status_code(&verdict(d, code));
            assert_eq!(logged_decision(i64::from(written)), Some(d), "{written}");
        }
    }

    #[test]
    fn trust_types_round_trip() {
        for t in ["AzureAD", "ServerAD", "Workplace"] {
            assert_eq!(trust_type(t), Some(t));
        }
        assert_eq!(
            trust_type("Microsoft Entra hybrid joined"),
            Some("ServerAD")
        );
    }
}

//! Mapping of `amr` values (RFC 8176, plus a few common Microsoft Entra values) to gardien's
//! authentication methods.

use gardien_core::model::enums::{AuthMethod, AuthMethods};

/// Biometric `amr` values; together with `hwk` they denote a platform authenticator.
const BIOMETRICS: &[&str] = &["face", "fpt", "iris", "retina"];

/// Maps `amr` values to the closest Microsoft Entra authentication methods.
///
/// Values are compared case-insensitively; unknown values are ignored.
///
/// | `amr`                         | method                                               |
/// |-------------------------------|------------------------------------------------------|
/// | `pwd`                         | `password`                                           |
/// | `wia`                         | `password` (Kerberos from the Windows sign-in)        |
/// | `otp`                         | `softwareOath`                                       |
/// | `swk`                         | `microsoftAuthenticatorPush` (key held by a phone app)|
/// | `rsa` (Entra)                 | `microsoftAuthenticatorPush` (Authenticator RSA key) |
/// | `hwk`                         | `fido2`                                              |
/// | `hwk` + `face`/`fpt`/`iris`/`retina` | `windowsHelloForBusiness` (platform authenticator with biometric unlock) |
/// | `fido`                        | `fido2`                                              |
/// | `sms`                         | `sms`                                                |
/// | `tel`                         | `voice`                                              |
/// | `sc`                          | `x509CertificateMultiFactor` (smart card + PIN)      |
/// | `x509`                        | `x509CertificateSingleFactor`                        |
/// | `mfa`, `ngcmfa` (Entra)       | `federatedMultiFactor` (satisfies MFA on its own)    |
/// | `fed` (Entra)                 | `federatedSingleFactor`                              |
///
/// Ignored: `kba`, `pin`, `user`, `pop`, `geo`, `mca`, `rba`, `vbm`, `wiaormfa`, a biometric
/// without `hwk`, and anything else.
pub fn methods_from_amr<'a>(values: impl IntoIterator<Item = &'a str>) -> AuthMethods {
    let values: Vec<String> = values
        .into_iter()
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect();
    let has = |name: &str| values.iter().any(|v| v == name);
    let biometric = BIOMETRICS.iter().any(|b| has(b));
    let mut methods = AuthMethods::default();
    for value in &values {
        let method = match value.as_str() {
            "pwd" | "wia" => AuthMethod::Password,
            "otp" => AuthMethod::SoftwareOath,
            "swk" | "rsa" => AuthMethod::MicrosoftAuthenticatorPush,
            "hwk" if biometric => AuthMethod::WindowsHelloForBusiness,
            "hwk" | "fido" => AuthMethod::Fido2,
            "sms" => AuthMethod::Sms,
            "tel" => AuthMethod::Voice,
            "sc" => AuthMethod::X509CertificateMultiFactor,
            "x509" => AuthMethod::X509CertificateSingleFactor,
            "mfa" | "ngcmfa" => AuthMethod::FederatedMultiFactor,
            "fed" => AuthMethod::FederatedSingleFactor,
            _ => continue,
        };
        methods.insert(method);
    }
    methods
}

#[cfg(test)]
mod tests {
    use super::*;
    use AuthMethod as M;

    fn map(values: &[&str]) -> AuthMethods {
        methods_from_amr(values.iter().copied())
    }

    #[test]
    fn table() {
        let cases: &[(&[&str], &[AuthMethod])] = &[
            (&["pwd"], &[M::Password]),
            (&["wia"], &[M::Password]),
            (&["otp"], &[M::SoftwareOath]),
            (&["swk"], &[M::MicrosoftAuthenticatorPush]),
            (&["rsa"], &[M::MicrosoftAuthenticatorPush]),
            (&["hwk"], &[M::Fido2]),
            (&["fido"], &[M::Fido2]),
            (&["hwk", "face"], &[M::WindowsHelloForBusiness]),
            (&["fpt", "hwk"], &[M::WindowsHelloForBusiness]),
            (&["hwk", "iris", "user"], &[M::WindowsHelloForBusiness]),
            (&["sms"], &[M::Sms]),
            (&["tel"], &[M::Voice]),
            (&["sc"], &[M::X509CertificateMultiFactor]),
            (&["x509"], &[M::X509CertificateSingleFactor]),
            (&["mfa"], &[M::FederatedMultiFactor]),
            (&["ngcmfa"], &[M::FederatedMultiFactor]),
            (&["fed"], &[M::FederatedSingleFactor]),
            (&["pwd", "otp"], &[M::Password, M::SoftwareOath]),
            (&[" PWD ", "Mfa"], &[M::Password, M::FederatedMultiFactor]),
            (&["face"], &[]),
            (
                &["kba", "pin", "user", "pop", "geo", "mca", "rba", "vbm"],
                &[],
            ),
            (&["wiaormfa", "none", "", "something"], &[]),
        ];
        for (amr, expected) in cases {
            assert_eq!(map(amr), AuthMethods::of(expected), "{amr:?}");
        }
    }

    #[test]
    fn mfa_values_satisfy_the_builtin_mfa_strength() {
        let strengths = gardien_core::compile::builtin_strengths();
        let mfa = strengths
            .iter()
            .find(|s| s.display_name == "Multifactor authentication");
        assert!(mfa.is_some());
        if let Some(mfa) = mfa {
            for amr in [
                &["mfa"][..],
                &["pwd", "otp"],
                &["pwd", "sms"],
                &["pwd", "tel"],
                &["pwd", "swk"],
                &["hwk"],
                &["hwk", "fpt"],
                &["sc"],
            ] {
                assert!(mfa.satisfied_by(map(amr)), "{amr:?}");
            }
            for amr in [&["pwd"][..], &["otp"], &["x509"], &["fed"], &["kba", "pwd"]] {
                assert!(!mfa.satisfied_by(map(amr)), "{amr:?}");
            }
        }
    }
}

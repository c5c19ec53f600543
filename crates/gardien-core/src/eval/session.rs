//! Merging the session controls of every enforced applying policy
//! (docs/reference/entra-semantics.md §3.3.3).
//!
//! Microsoft does not document conflict resolution; gardien's rules, chosen so that the
//! strictest setting always wins, are:
//! - `signInFrequency`: `everyTime` beats any period; otherwise the shortest period (days
//!   are converted to hours); `secondaryAuthentication` only if every contributing policy
//!   says so.
//! - `persistentBrowser`: `never` beats `always`.
//! - `applicationEnforcedRestrictions`, `secureSignInSession`, `disableResilienceDefaults`:
//!   on if any policy turns them on.
//! - `cloudAppSecurity`: `blockDownloads` > `monitorOnly` > `mcasConfigured`.
//! - `continuousAccessEvaluation`: `strictEnforcement`/`strictLocation` beat `disabled`.

use serde_json::{Map, Value, json};

use crate::model::policy::{PersistentBrowserMode, SessionControls, SignInFrequency};

pub use crate::model::policy::CaeMode;

/// The session controls in force after a sign-in: the same type as one policy's controls,
/// merged across policies. `Copy`, so the hot path returns it without allocating.
pub type MergedSession = SessionControls;

fn stricter_frequency(a: SignInFrequency, b: SignInFrequency) -> SignInFrequency {
    match (a, b) {
        (SignInFrequency::EveryTime, _) | (_, SignInFrequency::EveryTime) => {
            SignInFrequency::EveryTime
        }
        (
            SignInFrequency::Hours {
                hours: ha,
                secondary_only: sa,
            },
            SignInFrequency::Hours {
                hours: hb,
                secondary_only: sb,
            },
        ) => SignInFrequency::Hours {
            hours: ha.min(hb),
            secondary_only: sa && sb,
        },
    }
}

impl SessionControls {
    /// Merges the session controls of several policies.
    pub fn merge<'a>(controls: impl Iterator<Item = &'a SessionControls>) -> SessionControls {
        let mut m = SessionControls::default();
        for c in controls {
            m.application_enforced_restrictions |= c.application_enforced_restrictions;
            m.disable_resilience_defaults |= c.disable_resilience_defaults;
            m.secure_sign_in_session |= c.secure_sign_in_session;
            m.cloud_app_security = m.cloud_app_security.max(c.cloud_app_security);
            m.sign_in_frequency = match (m.sign_in_frequency, c.sign_in_frequency) {
                (Some(a), Some(b)) => Some(stricter_frequency(a, b)),
                (a, b) => a.or(b),
            };
            m.persistent_browser = match (m.persistent_browser, c.persistent_browser) {
                (Some(PersistentBrowserMode::Never), _)
                | (_, Some(PersistentBrowserMode::Never)) => Some(PersistentBrowserMode::Never),
                (a, b) => a.or(b),
            };
            m.continuous_access_evaluation = m
                .continuous_access_evaluation
                .max(c.continuous_access_evaluation);
        }
        m
    }

    /// Graph `conditionalAccessSessionControls` JSON of the merged controls (only those in
    /// force; `{}` when none).
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        if self.application_enforced_restrictions {
            o.insert(
                "applicationEnforcedRestrictions".into(),
                json!({"isEnabled": true}),
            );
        }
        if let Some(t) = self.cloud_app_security {
            o.insert(
                "cloudAppSecurity".into(),
                json!({"isEnabled": true, "cloudAppSecurityType": t.as_str()}),
            );
        }
        match self.sign_in_frequency {
            Some(SignInFrequency::EveryTime) => {
                o.insert(
                    "signInFrequency".into(),
                    json!({"isEnabled": true, "type": null, "value": null, "frequencyInterval": "everyTime", "authenticationType": "primaryAndSecondaryAuthentication"}),
                );
            }
            Some(SignInFrequency::Hours {
                hours,
                secondary_only,
            }) => {
                let (unit, value) = if hours % 24 == 0 {
                    ("days", hours / 24)
                } else {
                    ("hours", hours)
                };
                o.insert(
                    "signInFrequency".into(),
                    json!({"isEnabled": true, "type": unit, "value": value, "frequencyInterval": "timeBased",
                           "authenticationType": if secondary_only { "secondaryAuthentication" } else { "primaryAndSecondaryAuthentication" }}),
                );
            }
            None => {}
        }
        if let Some(mode) = self.persistent_browser {
            let mode = match mode {
                PersistentBrowserMode::Always => "always",
                PersistentBrowserMode::Never => "never",
            };
            o.insert(
                "persistentBrowser".into(),
                json!({"isEnabled": true, "mode": mode}),
            );
        }
        if self.disable_resilience_defaults {
            o.insert("disableResilienceDefaults".into(), Value::Bool(true));
        }
        if self.secure_sign_in_session {
            o.insert("secureSignInSession".into(), json!({"isEnabled": true}));
        }
        if let Some(mode) = self.continuous_access_evaluation {
            o.insert(
                "continuousAccessEvaluation".into(),
                json!({"mode": mode.as_str()}),
            );
        }
        Value::Object(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::policy::CloudAppSecurityType;

    #[test]
    fn strictest_session_settings_win() {
        let a = SessionControls {
            sign_in_frequency: Some(SignInFrequency::Hours {
                hours: 48,
                secondary_only: true,
            }),
            persistent_browser: Some(PersistentBrowserMode::Always),
            cloud_app_security: Some(CloudAppSecurityType::MonitorOnly),
            ..Default::default()
        };
        let b = SessionControls {
            sign_in_frequency: Some(SignInFrequency::Hours {
                hours: 12,
                secondary_only: false,
            }),
            persistent_browser: Some(PersistentBrowserMode::Never),
            cloud_app_security: Some(CloudAppSecurityType::BlockDownloads),
            application_enforced_restrictions: true,
            ..Default::default()
        };
        let m = SessionControls::merge([&a, &b].into_iter());
        assert_eq!(
            m.sign_in_frequency,
            Some(SignInFrequency::Hours {
                hours: 12,
                secondary_only: false
            })
        );
        assert_eq!(m.persistent_browser, Some(PersistentBrowserMode::Never));
        assert_eq!(
            m.cloud_app_security,
            Some(CloudAppSecurityType::BlockDownloads)
        );
        assert!(m.application_enforced_restrictions);
        let every = SessionControls {
            sign_in_frequency: Some(SignInFrequency::EveryTime),
            ..Default::default()
        };
        let m = SessionControls::merge([&b, &every].into_iter());
        assert_eq!(m.sign_in_frequency, Some(SignInFrequency::EveryTime));
        assert_eq!(
            m.to_json()["signInFrequency"]["frequencyInterval"],
            "everyTime"
        );
    }
}

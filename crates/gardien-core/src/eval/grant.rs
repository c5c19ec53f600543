//! The grant phase: per-policy control state (docs/reference/entra-semantics.md §3.3.1) and the
//! sign-in frequency check.

use crate::dated::DatedChange;
use crate::eval::input::Input;
use crate::eval::trace::Tracer;
use crate::model::enums::{BuiltInControl, ClientAppType};
use crate::model::policy::{GrantOperator, Policy, SignInFrequency};

/// A grant or session requirement, in Entra's canonical challenge order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Control {
    /// Reauthentication required by sign-in frequency.
    SignInFrequency,
    /// Multifactor authentication.
    Mfa,
    /// Authentication strength (sits with MFA).
    AuthenticationStrength,
    /// Compliant device.
    CompliantDevice,
    /// Hybrid joined device.
    DomainJoinedDevice,
    /// Approved client app.
    ApprovedApplication,
    /// App protection policy.
    CompliantApplication,
    /// Password change.
    PasswordChange,
    /// Microsoft-managed user-risk remediation.
    RiskRemediation,
    /// Terms of use.
    TermsOfUse,
    /// Custom controls.
    CustomAuthenticationFactor,
    /// Block access.
    Block,
}

impl Control {
    /// Every control in canonical order.
    pub const ALL: [Control; 12] = [
        Control::SignInFrequency,
        Control::Mfa,
        Control::AuthenticationStrength,
        Control::CompliantDevice,
        Control::DomainJoinedDevice,
        Control::ApprovedApplication,
        Control::CompliantApplication,
        Control::PasswordChange,
        Control::RiskRemediation,
        Control::TermsOfUse,
        Control::CustomAuthenticationFactor,
        Control::Block,
    ];

    /// Name in `requiredControls` (Graph grant-control spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Control::SignInFrequency => "signInFrequency",
            Control::Mfa => "mfa",
            Control::AuthenticationStrength => "authenticationStrength",
            Control::CompliantDevice => "compliantDevice",
            Control::DomainJoinedDevice => "domainJoinedDevice",
            Control::ApprovedApplication => "approvedApplication",
            Control::CompliantApplication => "compliantApplication",
            Control::PasswordChange => "passwordChange",
            Control::RiskRemediation => "riskRemediation",
            Control::TermsOfUse => "termsOfUse",
            Control::CustomAuthenticationFactor => "customAuthenticationFactors",
            Control::Block => "block",
        }
    }

    /// Name in the sign-in log's `enforcedGrantControls`.
    pub fn log_name(self) -> &'static str {
        match self {
            Control::SignInFrequency => "SignInFrequency",
            Control::Mfa => "Mfa",
            Control::AuthenticationStrength => "RequireAuthenticationStrength",
            Control::CompliantDevice => "RequireCompliantDevice",
            Control::DomainJoinedDevice => "RequireDomainJoinedDevice",
            Control::ApprovedApplication => "RequireApprovedApp",
            Control::CompliantApplication => "RequireCompliantApp",
            Control::PasswordChange => "RequirePasswordChange",
            Control::RiskRemediation => "RiskRemediation",
            Control::TermsOfUse => "TermsOfUse",
            Control::CustomAuthenticationFactor => "CustomControl",
            Control::Block => "Block",
        }
    }

    fn of(c: BuiltInControl) -> Control {
        match c {
            BuiltInControl::Block => Control::Block,
            BuiltInControl::Mfa => Control::Mfa,
            BuiltInControl::CompliantDevice => Control::CompliantDevice,
            BuiltInControl::DomainJoinedDevice => Control::DomainJoinedDevice,
            BuiltInControl::ApprovedApplication => Control::ApprovedApplication,
            BuiltInControl::CompliantApplication => Control::CompliantApplication,
            BuiltInControl::PasswordChange => Control::PasswordChange,
            BuiltInControl::RiskRemediation => Control::RiskRemediation,
        }
    }
}

/// A set of controls (bit per [`Control`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Controls(pub u16);

impl Controls {
    /// Adds a control.
    pub fn insert(&mut self, c: Control) {
        self.0 |= 1 << c as u8;
    }
    /// Whether a control is present.
    pub fn contains(self, c: Control) -> bool {
        self.0 & (1 << c as u8) != 0
    }
    /// Whether empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Union.
    pub fn union(self, other: Controls) -> Controls {
        Controls(self.0 | other.0)
    }
    /// Controls in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Control> {
        Control::ALL.into_iter().filter(move |c| self.contains(*c))
    }
    /// The first control in canonical order.
    pub fn first(self) -> Option<Control> {
        self.iter().next()
    }
}

/// Outcome of a policy's grant (and sign-in frequency) requirements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantState {
    /// Nothing more is needed.
    Satisfied,
    /// The policy blocks.
    Block,
    /// Requirements that cannot be met in this sign-in (device state, legacy client).
    Fail(Controls),
    /// Requirements the user can meet interactively.
    Interrupt(Controls),
}

/// State of one control for this sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ControlState {
    Satisfied,
    Interactive,
    Cannot,
}

fn control_state<T: Tracer>(
    control: Control,
    policy_index: usize,
    policy: &Policy,
    input: &Input<'_>,
    t: &mut T,
) -> ControlState {
    let s = input.signin;
    let legacy = s.client_app_type.is_some_and(ClientAppType::is_legacy);
    let other = s.client_app_type == Some(ClientAppType::Other);
    let device = input.device();
    let interactive = |t: &mut T, what: &dyn Fn() -> String| {
        if legacy {
            t.note(|| {
                format!(
                    "{} not done, and a legacy authentication client cannot perform it",
                    what()
                )
            });
            ControlState::Cannot
        } else {
            t.note(|| format!("{} not done yet", what()));
            ControlState::Interactive
        }
    };
    match control {
        Control::Block => ControlState::Cannot,
        Control::Mfa => {
            let mfa = input
                .tenant
                .strengths
                .first()
                .is_some_and(|m| m.satisfied_by(s.session.methods));
            if mfa && !other {
                t.note(|| "multifactor authentication already done".to_owned());
                ControlState::Satisfied
            } else {
                interactive(t, &|| "multifactor authentication".to_owned())
            }
        }
        Control::AuthenticationStrength => {
            let strength = input
                .tenant
                .policies
                .get(policy_index)
                .and_then(|p| p.strength)
                .and_then(|i| input.tenant.strengths.get(i));
            match strength {
                Some(st) if st.satisfied_by(s.session.methods) && !other => {
                    t.note(|| {
                        format!(
                            "authentication strength `{}` satisfied by the session's methods",
                            st.display_name
                        )
                    });
                    ControlState::Satisfied
                }
                Some(st) => interactive(t, &|| {
                    format!("authentication strength `{}`", st.display_name)
                }),
                None => ControlState::Cannot,
            }
        }
        Control::CompliantDevice => {
            if device.is_some_and(|d| d.is_compliant == Some(true)) {
                t.note(|| "the device is compliant".to_owned());
                ControlState::Satisfied
            } else {
                t.note(|| {
                    if device.is_some() {
                        "the device is not compliant".to_owned()
                    } else {
                        "the device is not registered, so it cannot be compliant".to_owned()
                    }
                });
                ControlState::Cannot
            }
        }
        Control::DomainJoinedDevice => {
            if device.is_some_and(|d| d.is_hybrid_joined()) {
                t.note(|| "the device is hybrid joined".to_owned());
                ControlState::Satisfied
            } else {
                t.note(|| "the device is not Microsoft Entra hybrid joined".to_owned());
                ControlState::Cannot
            }
        }
        Control::ApprovedApplication => {
            let read_only = DatedChange::ApprovedClientAppReadOnly;
            if read_only.in_force(s.at) {
                t.note(|| {
                    format!(
                        "approved client app: read-only {}, still enforced",
                        read_only.when_text(s.at)
                    )
                });
            }
            if s.session.approved_client_app && !legacy {
                ControlState::Satisfied
            } else {
                t.note(|| "the client is not an approved client app".to_owned());
                ControlState::Cannot
            }
        }
        Control::CompliantApplication => {
            if s.session.app_protection_policy && !legacy {
                ControlState::Satisfied
            } else {
                t.note(|| "the client app has no app protection policy".to_owned());
                ControlState::Cannot
            }
        }
        Control::PasswordChange | Control::RiskRemediation => {
            if s.session.password_changed && !legacy {
                ControlState::Satisfied
            } else {
                interactive(t, &|| "secure password change".to_owned())
            }
        }
        Control::TermsOfUse => {
            let all = policy.grant.as_ref().is_some_and(|g| {
                g.terms_of_use
                    .iter()
                    .all(|tou| s.session.accepted_terms_of_use.contains(tou))
            });
            if all && !legacy {
                ControlState::Satisfied
            } else {
                interactive(t, &|| "terms of use acceptance".to_owned())
            }
        }
        Control::CustomAuthenticationFactor => interactive(t, &|| "custom control".to_owned()),
        Control::SignInFrequency => ControlState::Satisfied,
    }
}

/// The grant state of an applying policy (docs/reference/entra-semantics.md §3.3.1), then its
/// sign-in frequency.
pub(crate) fn grant_state<T: Tracer>(
    policy_index: usize,
    policy: &Policy,
    input: &Input<'_>,
    t: &mut T,
) -> GrantState {
    let state = match &policy.grant {
        None => GrantState::Satisfied,
        Some(g) if g.is_empty() => GrantState::Satisfied,
        Some(g) if g.is_block() => {
            t.note(|| "the policy blocks access".to_owned());
            GrantState::Block
        }
        Some(g) => {
            // Requirements in the policy's configured order.
            let reqs = g
                .built_in
                .iter()
                .map(|c| Control::of(*c))
                .chain(
                    g.authentication_strength
                        .is_some()
                        .then_some(Control::AuthenticationStrength),
                )
                .chain((!g.terms_of_use.is_empty()).then_some(Control::TermsOfUse))
                .chain(
                    (!g.custom_factors.is_empty()).then_some(Control::CustomAuthenticationFactor),
                );
            let mut satisfied = false;
            let mut interactive = Controls::default();
            let mut first_interactive = None;
            let mut cannot = Controls::default();
            let mut unmet = Controls::default();
            for c in reqs {
                match control_state(c, policy_index, policy, input, t) {
                    ControlState::Satisfied => satisfied = true,
                    ControlState::Interactive => {
                        interactive.insert(c);
                        unmet.insert(c);
                        first_interactive.get_or_insert(c);
                    }
                    ControlState::Cannot => {
                        cannot.insert(c);
                        unmet.insert(c);
                    }
                }
            }
            match g.operator {
                GrantOperator::Or if satisfied => GrantState::Satisfied,
                GrantOperator::Or => match first_interactive {
                    Some(c) => {
                        let mut one = Controls::default();
                        one.insert(c);
                        GrantState::Interrupt(one)
                    }
                    None => GrantState::Fail(cannot),
                },
                GrantOperator::And if unmet.is_empty() => GrantState::Satisfied,
                GrantOperator::And if cannot.is_empty() => GrantState::Interrupt(interactive),
                GrantOperator::And => GrantState::Fail(cannot),
            }
        }
    };
    match state {
        GrantState::Satisfied | GrantState::Interrupt(_) => {
            if sign_in_frequency_due(policy, input, t) {
                let mut due = Controls::default();
                due.insert(Control::SignInFrequency);
                if let GrantState::Interrupt(c) = state {
                    return GrantState::Interrupt(c.union(due));
                }
                return GrantState::Interrupt(due);
            }
            state
        }
        other => other,
    }
}

/// Whether the policy's sign-in frequency asks for a new authentication. Unknown ages mean a
/// fresh interactive sign-in (nothing to re-prompt) [gardien decision].
fn sign_in_frequency_due<T: Tracer>(policy: &Policy, input: &Input<'_>, t: &mut T) -> bool {
    let Some(sif) = policy.session.sign_in_frequency else {
        return false;
    };
    let session = &input.signin.session;
    match sif {
        SignInFrequency::EveryTime => {
            // Full reauthentication (docs/reference/entra-semantics.md §1.13): the older of the
            // primary authentication and the MFA must be within the tolerance.
            let age = session
                .seconds_since_authentication
                .max(session.seconds_since_mfa);
            let due = age.is_some_and(|a| a > 300);
            t.note(|| match age {
                Some(a) if due => format!("sign-in frequency `everyTime`: last authentication {a} s ago, beyond the 5-minute tolerance"),
                Some(a) => format!("sign-in frequency `everyTime`: last authentication {a} s ago, within the 5-minute tolerance"),
                None => "sign-in frequency `everyTime`: fresh sign-in".to_owned(),
            });
            due
        }
        SignInFrequency::Hours {
            hours,
            secondary_only,
        } => {
            let age = if secondary_only {
                session.seconds_since_mfa
            } else {
                session
                    .seconds_since_authentication
                    .max(session.seconds_since_mfa)
            };
            let limit = u64::from(hours) * 3600;
            let due = age.is_some_and(|a| a > limit);
            if due {
                t.note(|| format!("sign-in frequency {hours} h exceeded"));
            }
            due
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::eval::Decision;

    use serde_json::{Value, json};

    /// The decision of an `everyTime` sign-in-frequency policy for a session.
    fn every_time(session: Value) -> Option<Decision> {
        let tenant = json!({"policies": [{"id": "p", "displayName": "p", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]},
                           "applications": {"includeApplications": ["All"]}},
            "sessionControls": {"signInFrequency": {"isEnabled": true,
                "frequencyInterval": "everyTime",
                "authenticationType": "primaryAndSecondaryAuthentication"}}}]});
        let tenant = crate::testing::compile(&tenant)?;
        let signin = crate::testing::signin(json!({"clientAppType": "browser"}), session)?;
        Some(tenant.decide(&signin).decision)
    }

    /// Found by the differential test against the reference evaluator: `everyTime` looked
    /// only at the MFA age, so a fresh MFA on a primary authentication older than five
    /// minutes passed, although `everyTime` forces full reauthentication
    /// (docs/reference/entra-semantics.md §1.13).
    #[test]
    fn r7_every_time_needs_both_factors_within_the_tolerance() {
        let stale_primary = json!({"secondsSinceAuthentication": 301, "secondsSinceMfa": 0});
        assert_eq!(every_time(stale_primary), Some(Decision::Challenge));
        let fresh = json!({"secondsSinceAuthentication": 240, "secondsSinceMfa": 180});
        assert_eq!(every_time(fresh), Some(Decision::Allow));
        // T24: only the MFA age known.
        assert_eq!(
            every_time(json!({"secondsSinceMfa": 180})),
            Some(Decision::Allow)
        );
        assert_eq!(
            every_time(json!({"secondsSinceMfa": 900})),
            Some(Decision::Challenge)
        );
    }
}

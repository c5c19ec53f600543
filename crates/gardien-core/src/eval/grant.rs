//! The grant phase: per-policy control state (docs/reference/entra-semantics.md §3.3.1) and the
//! sign-in frequency check.

use crate::dated::DatedChange;
use crate::eval::input::Input;
use crate::eval::trace::Tracer;
use crate::model::enums::{AuthMethod, AuthMethods, BuiltInControl, ClientAppType};
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
    /// Controls in canonical order (a control's bit is its place in [`Control::ALL`], so
    /// ascending bits are the canonical order).
    pub fn iter(self) -> impl Iterator<Item = Control> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(c) = Control::ALL.get(i) {
                    return Some(*c);
                }
            }
            None
        })
    }
    /// The first control in canonical order.
    pub fn first(self) -> Option<Control> {
        Control::ALL.get(self.0.trailing_zeros() as usize).copied()
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

/// What a policy's grant controls ask, in the form the grant phase reads: resolved once at
/// compile time ([`crate::compile::CompiledPolicy::grant`]) so that deciding reads a few
/// bytes beside the policy's other compiled data instead of the policy's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantPlan {
    /// The policy blocks (`block` among its built-in controls).
    pub block: bool,
    /// `AND` / `OR`.
    pub operator: GrantOperator,
    /// The controls required, in the policy's order (built-in controls, then the
    /// authentication strength, terms of use, custom controls), each once; empty when the
    /// grant requires nothing.
    order: [Option<Control>; Control::ALL.len()],
    /// The policy's sign-in frequency session control.
    pub sign_in_frequency: Option<SignInFrequency>,
}

impl Default for GrantPlan {
    /// Nothing required.
    fn default() -> Self {
        GrantPlan {
            block: false,
            operator: GrantOperator::And,
            order: [None; Control::ALL.len()],
            sign_in_frequency: None,
        }
    }
}

impl GrantPlan {
    /// The plan of a policy.
    pub fn of(policy: &Policy) -> GrantPlan {
        let mut plan = GrantPlan {
            sign_in_frequency: policy.session.sign_in_frequency,
            ..GrantPlan::default()
        };
        let Some(g) = &policy.grant else {
            return plan;
        };
        plan.block = g.is_block();
        plan.operator = g.operator;
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
            .chain((!g.custom_factors.is_empty()).then_some(Control::CustomAuthenticationFactor));
        let mut seen = Controls::default();
        let mut slots = plan.order.iter_mut();
        for c in reqs {
            if !seen.contains(c)
                && let Some(slot) = slots.next()
            {
                seen.insert(c);
                *slot = Some(c);
            }
        }
        plan
    }

    /// The controls required, in the policy's order.
    pub fn controls(&self) -> impl Iterator<Item = Control> + '_ {
        self.order.iter().map_while(|c| *c)
    }

    /// Whether the grant requires nothing.
    pub fn is_empty(&self) -> bool {
        self.order[0].is_none()
    }
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
    let interactive = |t: &mut T, what: &dyn Fn() -> String| interactive(legacy, t, what);
    // Agents (docs/semantics.md "Agent identities"): an agent identity has no remediation,
    // block is its only control; an agent's user account can only run on a compliant
    // device. Every other control cannot be met (fail closed: never a challenge nobody
    // can answer).
    if let Some(agent) = input.agent {
        let supported = match agent.kind {
            crate::eval::input::AgentKind::User => control == Control::CompliantDevice,
            _ => false,
        };
        if !supported && control != Control::Block {
            t.note(|| {
                format!(
                    "{} cannot be met by {}: there is no remediation for agents",
                    control.as_str(),
                    match agent.kind {
                        crate::eval::input::AgentKind::User => "an agent's user account",
                        _ => "an agent identity",
                    }
                )
            });
            return ControlState::Cannot;
        }
    }
    // External users (docs/reference/entra-semantics.md §3.3.1, last bullet): approved client app, app protection and
    // password change are not supported for them; a B2B direct connect user can do nothing
    // interactive in this tenant (terms of use, custom controls).
    if let Some(ext) = input.external {
        let unsupported = match control {
            Control::ApprovedApplication
            | Control::CompliantApplication
            | Control::PasswordChange
            | Control::RiskRemediation => Some("external users"),
            Control::TermsOfUse | Control::CustomAuthenticationFactor if ext.direct_connect => {
                Some("B2B direct connect users")
            }
            _ => None,
        };
        if let Some(who) = unsupported {
            t.note(|| {
                format!(
                    "{} is not supported for {who}: it cannot be met",
                    control.as_str()
                )
            });
            return ControlState::Cannot;
        }
    }
    match control {
        Control::Block => ControlState::Cannot,
        Control::Mfa => match input.tenant.strengths.first() {
            Some(mfa) => methods_state(input, 0, |m| mfa.satisfied_by(m), t, &|| {
                "multifactor authentication".to_owned()
            }),
            None => ControlState::Cannot,
        },
        Control::AuthenticationStrength => {
            let strength = input
                .tenant
                .policies
                .get(policy_index)
                .and_then(|p| p.strength)
                .and_then(|i| Some((i, input.tenant.strengths.get(i)?)));
            match strength {
                Some((i, st)) => methods_state(input, i, |m| st.satisfied_by(m), t, &|| {
                    format!("authentication strength `{}`", st.display_name)
                }),
                None => ControlState::Cannot,
            }
        }
        Control::CompliantDevice | Control::DomainJoinedDevice => device_state(control, input, t),
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

/// Methods an external user can complete in this (the resource) tenant for MFA and
/// authentication strengths (Learn's "Authentication strength MFA methods for external
/// users", Table 1, "Resource tenant" column), plus the first factors that come with them.
const RESOURCE_TENANT_METHODS: AuthMethods = AuthMethods(
    1 << AuthMethod::Sms as u32
        | 1 << AuthMethod::Voice as u32
        | 1 << AuthMethod::MicrosoftAuthenticatorPush as u32
        | 1 << AuthMethod::SoftwareOath as u32
        | FIRST_FACTORS.0,
);

/// First factors: done in the home tenant for an external user, they stand beside the
/// second factor done here.
const FIRST_FACTORS: AuthMethods = AuthMethods(
    1 << AuthMethod::Password as u32
        | 1 << AuthMethod::FederatedSingleFactor as u32
        | 1 << AuthMethod::X509CertificateSingleFactor as u32
        | 1 << AuthMethod::Email as u32,
);

/// State of an MFA-like control (MFA, authentication strength) whose methods `ok` accepts.
///
/// Members and local guests: the session's methods. External users: when inbound trust
/// accepts MFA from their home tenant, Entra looks for the home tenant's MFA claim and sends
/// the user home to do it, so only the home tenant's methods count; otherwise MFA is done
/// here, with the methods the resource tenant offers external users (and the home tenant's
/// first factor beside them). Unmet: a challenge (here, or in the home tenant), except for a
/// B2B direct connect user without MFA trust, who cannot do MFA here and is blocked.
///
/// `strength` is the index of the strength `ok` checks in the tenant's strengths: whether
/// the session's own methods satisfy it is remembered for the rest of the evaluation
/// ([`Input::session_satisfies`]).
fn methods_state<T: Tracer>(
    input: &Input<'_>,
    strength: usize,
    ok: impl Fn(AuthMethods) -> bool,
    t: &mut T,
    what: &dyn Fn() -> String,
) -> ControlState {
    let s = input.signin;
    let other = s.client_app_type == Some(ClientAppType::Other);
    let legacy = s.client_app_type.is_some_and(ClientAppType::is_legacy);
    let Some(ext) = input.external else {
        if !other && input.session_satisfies(strength, || ok(s.session.methods)) {
            t.note(|| format!("{} satisfied by the session's methods", what()));
            return ControlState::Satisfied;
        }
        return interactive(legacy, t, what);
    };
    if !other {
        if ext.trust.mfa {
            if ok(s.session.home_methods) {
                t.note(|| {
                    format!(
                        "{} satisfied in the user's home tenant (inbound trust accepts its MFA)",
                        what()
                    )
                });
                return ControlState::Satisfied;
            }
        } else {
            let here = AuthMethods(
                s.session.methods.0 & RESOURCE_TENANT_METHODS.0
                    | s.session.home_methods.0 & FIRST_FACTORS.0,
            );
            if !ext.direct_connect && ok(here) {
                t.note(|| format!("{} satisfied in this tenant", what()));
                return ControlState::Satisfied;
            }
        }
    }
    if !ext.trust.mfa && !ext.direct_connect && !legacy && !ok(RESOURCE_TENANT_METHODS) {
        t.note(|| {
            format!(
                "{} cannot be met: no method this tenant offers external users (SMS, voice, Authenticator push, software OATH) satisfies it, and inbound trust does not accept MFA from the home tenant",
                what()
            )
        });
        return ControlState::Cannot;
    }
    if legacy {
        return interactive(legacy, t, what);
    }
    if ext.trust.mfa {
        t.note(|| {
            format!(
                "{} not done yet: to be completed in the user's home tenant (inbound trust accepts its MFA)",
                what()
            )
        });
        ControlState::Interactive
    } else if ext.direct_connect {
        t.note(|| {
            format!(
                "{} not done, and a B2B direct connect user cannot perform it in this tenant: inbound trust does not accept MFA from their home tenant",
                what()
            )
        });
        ControlState::Cannot
    } else {
        t.note(|| {
            format!(
                "{} not done yet: home-tenant MFA does not count (inbound trust does not accept it), so it must be done in this tenant",
                what()
            )
        });
        ControlState::Interactive
    }
}

/// An interactive control not met yet: a challenge, or impossible for a legacy client.
fn interactive<T: Tracer>(legacy: bool, t: &mut T, what: &dyn Fn() -> String) -> ControlState {
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
}

/// State of a device control (compliant, hybrid joined). The device-code flow and
/// authentication transfer carry no device state; an external user's device claim comes
/// from their home tenant and counts only with the matching inbound trust.
fn device_state<T: Tracer>(control: Control, input: &Input<'_>, t: &mut T) -> ControlState {
    let compliant = control == Control::CompliantDevice;
    let claim = if compliant {
        "compliant"
    } else {
        "hybrid joined"
    };
    if input.transferred {
        t.note(|| {
            format!(
                "the device-code flow or an authentication transfer carries no device state, so the device cannot be shown {claim}"
            )
        });
        return ControlState::Cannot;
    }
    if let Some(ext) = input.external {
        let trusted = if compliant {
            ext.trust.compliant_device
        } else {
            ext.trust.hybrid_joined_device
        };
        if !trusted {
            t.note(|| {
                format!(
                    "inbound trust does not accept {claim}-device claims from the user's home tenant, and an external user's device cannot be managed here"
                )
            });
            return ControlState::Cannot;
        }
    }
    let device = input.device();
    let met = device.is_some_and(|d| {
        if compliant {
            d.is_compliant == Some(true)
        } else {
            d.is_hybrid_joined()
        }
    });
    let home = if input.external.is_some() {
        " (home tenant's claim, trusted)"
    } else {
        ""
    };
    if met {
        t.note(|| format!("the device is {claim}{home}"));
        ControlState::Satisfied
    } else {
        t.note(|| match device {
            None if compliant => {
                "the device is not registered, so it cannot be compliant".to_owned()
            }
            _ if compliant => format!("the device is not compliant{home}"),
            _ => format!("the device is not Microsoft Entra hybrid joined{home}"),
        });
        ControlState::Cannot
    }
}

/// The grant state of an applying policy (docs/reference/entra-semantics.md §3.3.1), then its sign-in frequency.
pub(crate) fn grant_state<T: Tracer>(
    policy_index: usize,
    policy: &Policy,
    input: &Input<'_>,
    t: &mut T,
) -> GrantState {
    let own;
    let plan = match input.tenant.policies.get(policy_index) {
        Some(c) => &c.grant,
        None => {
            own = GrantPlan::of(policy);
            &own
        }
    };
    let state = if plan.is_empty() {
        GrantState::Satisfied
    } else if plan.block {
        t.note(|| "the policy blocks access".to_owned());
        GrantState::Block
    } else {
        let mut satisfied = false;
        let mut interactive = Controls::default();
        let mut first_interactive = None;
        let mut cannot = Controls::default();
        let mut unmet = Controls::default();
        for c in plan.controls() {
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
        match plan.operator {
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
    };
    match state {
        GrantState::Satisfied | GrantState::Interrupt(_) => {
            if sign_in_frequency_due(plan.sign_in_frequency, input, t) {
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
fn sign_in_frequency_due<T: Tracer>(
    sif: Option<SignInFrequency>,
    input: &Input<'_>,
    t: &mut T,
) -> bool {
    let Some(sif) = sif else {
        return false;
    };
    if input.external.is_some_and(|e| e.direct_connect) {
        t.note(|| "sign-in frequency is not supported for B2B direct connect users".to_owned());
        return false;
    }
    if input.agent.is_some() {
        t.note(|| "sign-in frequency does not apply to agents (no interactive sign-in)".to_owned());
        return false;
    }
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

    /// The compiled grant plan lists each required control once, in the policy's order
    /// (built-in controls, then strength, terms of use, custom controls).
    #[test]
    fn grant_plans_keep_the_policy_order() -> Result<(), String> {
        use super::{Control, GrantPlan};
        let policy = |grant: Value| {
            json!({"policies": [{"id": "p", "displayName": "p", "state": "enabledForReportingButNotEnforced",
                "conditions": {"users": {"includeUsers": ["All"]},
                               "applications": {"includeApplications": ["All"]}},
                "grantControls": grant}]})
        };
        let plan = |grant: Value| -> Result<(GrantPlan, bool), String> {
            let source = crate::TenantSource {
                combined: Some(crate::SourceFile::new("t.json", policy(grant).to_string())),
                ..Default::default()
            };
            let tenant = crate::Tenant::load(&source).map_err(|e| e.to_string())?;
            let tenant = crate::CompiledTenant::compile(tenant);
            let compiled = tenant.policies.first().ok_or("policy")?;
            Ok((compiled.grant, compiled.report_only))
        };
        let (p, report_only) = plan(json!({"operator": "OR",
            "builtInControls": ["compliantDevice", "mfa", "compliantDevice"],
            "termsOfUse": ["tou-1"]}))?;
        assert!(report_only && !p.block && !p.is_empty());
        assert_eq!(
            p.controls().collect::<Vec<_>>(),
            [Control::CompliantDevice, Control::Mfa, Control::TermsOfUse]
        );
        let (p, _) = plan(json!({"operator": "OR", "builtInControls": ["block"]}))?;
        assert!(p.block);
        let (p, _) = plan(json!({"operator": "AND", "builtInControls": []}))?;
        assert!(p.is_empty() && !p.block);
        Ok(())
    }

    /// Controls iterate in canonical order, whatever bits are set, and the first is the
    /// lowest; an empty set has none.
    #[test]
    fn controls_iterate_in_canonical_order() {
        use super::{Control, Controls};
        for bits in 0u16..(1 << Control::ALL.len()) {
            let set = Controls(bits);
            let listed: Vec<Control> = set.iter().collect();
            let expected: Vec<Control> = Control::ALL
                .into_iter()
                .filter(|c| set.contains(*c))
                .collect();
            assert_eq!(listed, expected);
            assert_eq!(set.first(), expected.first().copied());
        }
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

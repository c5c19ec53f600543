//! Explanations for users and admins, derived from the evaluation trace (never per policy).
//!
//! The category is the one cause a user should act on, read from the deciding policy's
//! narrowing conditions or its unmet control. User actions are counterfactuals: each
//! candidate change to the sign-in is evaluated with the same evaluator, and only actions
//! that really improve the outcome are listed (plus `contactSupport`, always last).

use serde::Serialize;

use crate::compile::CompiledTenant;
use crate::device::DeviceInfo;
use crate::eval::grant::Control;
use crate::eval::input::{Input, Mode, Outcome};
use crate::eval::{Condition, Decision, Evaluation, PolicyRecord, Verdict};
use crate::filter::DeviceProperty;
use crate::model::enums::{AuthMethod, AuthMethods, ClientAppType, DevicePlatform, RiskLevel};
use crate::model::location::LocationKind;
use crate::signin::SignIn;

/// The cause a user should act on (fixed vocabulary, docs/design.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Category {
    /// The device is not registered.
    DeviceNotRegistered,
    /// The device is not compliant.
    DeviceNotCompliant,
    /// The device is not hybrid joined.
    DeviceNotHybridJoined,
    /// The operating system version is below what is required.
    OsVersionTooLow,
    /// A device filter excludes or targets this device.
    Device,
    /// Network location.
    Location,
    /// VPN, Tor or proxy.
    AnonymousNetwork,
    /// Device platform.
    Platform,
    /// Browser vs app vs legacy protocol.
    ClientApp,
    /// Approved client app required.
    ApprovedApp,
    /// App protection policy required.
    AppProtection,
    /// Sign-in, user or insider risk.
    Risk,
    /// Device code flow or authentication transfer.
    AuthenticationFlow,
    /// Nothing the user can change.
    Blocked,
    /// MFA required.
    MfaRequired,
    /// A stronger authentication method is required.
    AuthenticationStrength,
    /// Terms of use must be accepted.
    TermsOfUse,
    /// The password must be changed.
    PasswordChange,
}

impl Category {
    /// Whether the cause can pass by itself or by moving.
    pub fn is_temporary(self) -> bool {
        matches!(
            self,
            Category::Risk | Category::Location | Category::AnonymousNetwork
        )
    }
}

/// Something a user can do (fixed vocabulary). The declaration order is the effort order
/// explanations list actions in: fix this device (register, make compliant, update), use
/// another device, change where you connect from (leave the VPN, move), change the client
/// (desktop app, browser, approved app, modern client), authenticate more (MFA, a stronger
/// method, a new password, the terms of use), wait, and last contact support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum UserAction {
    /// Register the device.
    RegisterDevice,
    /// Make the device compliant.
    MakeDeviceCompliant,
    /// Update the operating system.
    UpdateOs,
    /// Use another (managed) device.
    UseAnotherDevice,
    /// Disconnect from the VPN / proxy.
    DisconnectVpn,
    /// Sign in from an allowed location.
    SignInFromAllowedLocation,
    /// Use the desktop or mobile app instead of the browser.
    UseDesktopApp,
    /// Use the browser instead of the app.
    UseBrowser,
    /// Use an approved client app.
    UseApprovedApp,
    /// Use a modern-authentication client.
    UseModernClient,
    /// Complete MFA.
    CompleteMfa,
    /// Complete MFA in your own organisation (an external user whose home tenant's MFA this
    /// tenant trusts: the MFA is done there).
    CompleteMfaInHomeOrganization,
    /// Use a stronger authentication method.
    UseStrongerMethod,
    /// Change the password.
    ChangePassword,
    /// Accept the terms of use.
    AcceptTermsOfUse,
    /// Wait and try again.
    WaitAndRetry,
    /// Contact support with the troubleshooting details.
    ContactSupport,
}

/// The explanation of a deny or challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// The cause to act on.
    pub category: Category,
    /// Whether it is likely to pass by itself or by moving.
    pub temporary: bool,
    /// Actions that would change the outcome, then `contactSupport`.
    pub user_actions: Vec<UserAction>,
    /// The minimal sets of actions that together let the sign-in through (single actions
    /// are sets of one), smallest first.
    pub user_action_sets: Vec<Vec<UserAction>>,
    /// Whether the search for the actions stopped at its budget (many explanations at once,
    /// or a sign-in with very many candidate changes): the actions are those found until
    /// then. Serialized only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// Policy and condition details, for administrators only.
    pub admin_details: String,
}

fn record_of(evaluation: &Evaluation, index: usize) -> Option<&PolicyRecord> {
    evaluation.policies.iter().find(|r| r.index == index)
}

/// Which device property a filter rule is mostly about.
fn device_category(tenant: &CompiledTenant, policy: usize, signin: &SignIn) -> Category {
    let Some(p) = tenant.tenant.policies.get(policy) else {
        return Category::Device;
    };
    if let Some(f) = &p.conditions.device_filter {
        if f.rule.references(DeviceProperty::OperatingSystemVersion) {
            return Category::OsVersionTooLow;
        }
        if signin.device.is_none() && f.rule.references(DeviceProperty::TrustType) {
            return Category::DeviceNotRegistered;
        }
        if f.rule.references(DeviceProperty::IsCompliant) {
            return if signin.device.is_none() {
                Category::DeviceNotRegistered
            } else {
                Category::DeviceNotCompliant
            };
        }
        if f.rule.references(DeviceProperty::TrustType) {
            return Category::DeviceNotHybridJoined;
        }
    }
    if let Some(s) = &p.conditions.device_states {
        if s.exclude_compliant {
            return if signin.device.is_none() {
                Category::DeviceNotRegistered
            } else {
                Category::DeviceNotCompliant
            };
        }
        return Category::DeviceNotHybridJoined;
    }
    Category::Device
}

fn category(tenant: &CompiledTenant, evaluation: &Evaluation, signin: &SignIn) -> Category {
    let v = &evaluation.verdict;
    let Some(deciding) = v.deciding_policy else {
        return Category::Blocked;
    };
    if v.decision == Decision::Deny && v.required.contains(Control::Block) {
        // A block: the narrowing conditions of the policy say what the user could change.
        let Some(record) = record_of(evaluation, deciding) else {
            return Category::Blocked;
        };
        let narrowing = |c: Condition| {
            record
                .conditions
                .iter()
                .any(|r| r.condition == c && r.outcome == Outcome::Satisfied)
        };
        if narrowing(Condition::Location) {
            return if signin.session.anonymous_network {
                Category::AnonymousNetwork
            } else {
                Category::Location
            };
        }
        if narrowing(Condition::SignInRisk)
            || narrowing(Condition::UserRisk)
            || narrowing(Condition::InsiderRisk)
            || narrowing(Condition::AgentIdRisk)
        {
            return if signin.session.anonymous_network {
                Category::AnonymousNetwork
            } else {
                Category::Risk
            };
        }
        if narrowing(Condition::Devices) {
            return device_category(tenant, deciding, signin);
        }
        if narrowing(Condition::ClientApps) {
            return Category::ClientApp;
        }
        if narrowing(Condition::DevicePlatform) {
            return Category::Platform;
        }
        if narrowing(Condition::AuthenticationFlow) {
            return Category::AuthenticationFlow;
        }
        return Category::Blocked;
    }
    let legacy = signin.client_app_type.is_some_and(ClientAppType::is_legacy);
    let input = Input::resolve(tenant, signin, Mode::Enforce);
    let first = v.required.first();
    if v.decision == Decision::Deny {
        let device_control = matches!(
            first,
            Some(Control::CompliantDevice | Control::DomainJoinedDevice)
        );
        if device_control && input.transferred {
            return Category::AuthenticationFlow;
        }
        // Agents have no remediation: a control other than an agent user's compliant device
        // is structural (docs/semantics.md "Agent identities").
        if crate::eval::conditions::agents::is_agent(&input)
            && first != Some(Control::CompliantDevice)
        {
            return Category::Blocked;
        }
        if let Some(ext) = input.external {
            // Structural: no device this user can bring is trusted here, or MFA cannot be
            // done here at all (B2B direct connect without MFA trust).
            let trusted = match first {
                Some(Control::CompliantDevice) => ext.trust.compliant_device,
                Some(Control::DomainJoinedDevice) => ext.trust.hybrid_joined_device,
                // A deny on MFA for a modern client only comes from the external-user rules
                // (direct connect without MFA trust, a strength no method offered here meets).
                Some(Control::Mfa | Control::AuthenticationStrength) => legacy,
                Some(
                    Control::ApprovedApplication
                    | Control::CompliantApplication
                    | Control::PasswordChange
                    | Control::RiskRemediation,
                ) => false,
                _ => true,
            };
            if !trusted {
                return Category::Blocked;
            }
        }
    }
    match first {
        Some(Control::CompliantDevice) => {
            if signin.device.is_none() {
                Category::DeviceNotRegistered
            } else {
                Category::DeviceNotCompliant
            }
        }
        Some(Control::DomainJoinedDevice) => Category::DeviceNotHybridJoined,
        Some(Control::ApprovedApplication) => Category::ApprovedApp,
        Some(Control::CompliantApplication) => Category::AppProtection,
        _ if legacy && v.decision == Decision::Deny => Category::ClientApp,
        Some(Control::SignInFrequency | Control::Mfa) => Category::MfaRequired,
        Some(Control::AuthenticationStrength) => Category::AuthenticationStrength,
        Some(Control::PasswordChange | Control::RiskRemediation) => Category::PasswordChange,
        Some(Control::TermsOfUse) => Category::TermsOfUse,
        Some(Control::CustomAuthenticationFactor) => Category::MfaRequired,
        Some(Control::Block) | None => Category::Blocked,
    }
}

/// Whether `after` is a real improvement over `before`: a better decision, or the same
/// denial no longer coming from the policy that decided it (the cause was removed, another
/// policy now stands in the way).
fn improves(before: &Verdict, after: &Verdict) -> bool {
    match (before.decision, after.decision) {
        (Decision::Deny, Decision::Challenge | Decision::Allow) => true,
        (Decision::Deny, Decision::Deny) => after.deciding_policy != before.deciding_policy,
        (Decision::Challenge, Decision::Allow) => true,
        (Decision::Challenge, Decision::Challenge) => {
            after.required.0 & !before.required.0 == 0 && after.required != before.required
        }
        _ => false,
    }
}

fn registered(d: Option<&DeviceInfo>) -> DeviceInfo {
    let mut d = d.cloned().unwrap_or_default();
    if d.trust_type.is_none() {
        d.trust_type = Some("Workplace".into());
    }
    if d.is_compliant.is_none() {
        d.is_compliant = Some(false);
    }
    d
}

fn legacy_client(s: &SignIn) -> bool {
    s.client_app_type.is_some_and(ClientAppType::is_legacy)
}

/// Most named locations tried as "sign in from an allowed location".
const MAX_PLACES: usize = 32;

/// Every change a user could make, each with the sign-ins it could lead to (one per
/// realistic variant: each managed platform, each allowed place...). The explanation keeps
/// the actions whose variants improve the outcome; `gardien explain` chains them to find the
/// smallest sets that reach an allow.
pub fn user_change_candidates(
    tenant: &CompiledTenant,
    s: &SignIn,
) -> Vec<(UserAction, Vec<SignIn>)> {
    changes(tenant, s, &|_| true)
        .into_iter()
        .map(|(action, variants)| {
            let signins = variants
                .iter()
                .map(|change| {
                    let mut c = s.clone();
                    change(&mut c);
                    c
                })
                .collect();
            (action, signins)
        })
        .collect()
}

/// One variant of a user change: applied to a copy of the sign-in it was made for (the
/// search applies it to one scratch sign-in and undoes it with [`restore`]).
type Change<'a> = std::rc::Rc<dyn Fn(&mut SignIn) + 'a>;

fn change<'a>(f: impl Fn(&mut SignIn) + 'a) -> Change<'a> {
    std::rc::Rc::new(f)
}

/// Undoes any [`changes`] variant applied to `scratch`, a copy of `original`: puts back
/// every field a change may set (and only those, so nothing else is copied).
fn restore(scratch: &mut SignIn, original: &SignIn) {
    scratch.client_app_type = original.client_app_type;
    scratch.device_platform = original.device_platform;
    scratch.ip_address = original.ip_address;
    scratch.country = original.country;
    if scratch.device != original.device {
        scratch.device.clone_from(&original.device);
    }
    scratch.sign_in_risk = original.sign_in_risk;
    scratch.user_risk = original.user_risk;
    scratch.insider_risk = original.insider_risk;
    let (s, o) = (&mut scratch.session, &original.session);
    s.methods = o.methods;
    s.home_methods = o.home_methods;
    if s.accepted_terms_of_use != o.accepted_terms_of_use {
        s.accepted_terms_of_use.clone_from(&o.accepted_terms_of_use);
    }
    s.password_changed = o.password_changed;
    s.approved_client_app = o.approved_client_app;
    s.app_protection_policy = o.app_protection_policy;
    s.seconds_since_authentication = o.seconds_since_authentication;
    s.seconds_since_mfa = o.seconds_since_mfa;
    s.anonymous_network = o.anonymous_network;
}

/// The candidates of [`user_change_candidates`] as changes to `s`, only for the actions
/// `wanted` accepts (the search asks only for actions that can still make a minimal set).
/// Every field a change sets must be put back by [`restore`].
fn changes<'a>(
    tenant: &'a CompiledTenant,
    s: &'a SignIn,
    wanted: &dyn Fn(UserAction) -> bool,
) -> Vec<(UserAction, Vec<Change<'a>>)> {
    let mut out: Vec<(UserAction, Vec<Change<'a>>)> = Vec::new();
    if s.device.is_none() && wanted(UserAction::RegisterDevice) {
        out.push((
            UserAction::RegisterDevice,
            vec![change(|c| c.device = Some(registered(None)))],
        ));
    }
    // Only a registered (enrolled) device can be made compliant: for an unregistered one,
    // the search finds "register, then make compliant" as one combined step.
    if s.device.is_some() && wanted(UserAction::MakeDeviceCompliant) {
        out.push((
            UserAction::MakeDeviceCompliant,
            vec![change(|c| {
                let mut d = registered(c.device.as_ref());
                d.is_compliant = Some(true);
                c.device = Some(d);
            })],
        ));
    }
    if let Some(device) = s
        .device
        .as_ref()
        .filter(|d| d.operating_system_version.is_some())
        && wanted(UserAction::UpdateOs)
    {
        // The versions the rules name (device filters on `operatingSystemVersion`), then the
        // newest version there is.
        let mut versions: Vec<DeviceInfo> = tenant
            .tenant
            .policies
            .iter()
            .filter_map(|p| p.conditions.device_filter.as_ref())
            .filter(|f| f.rule.references(DeviceProperty::OperatingSystemVersion))
            .flat_map(|f| f.rule.candidate_devices(device))
            .filter(|d| d.operating_system_version != device.operating_system_version)
            .collect();
        let mut newest = device.clone();
        newest.operating_system_version = Some("999.0.0".into());
        versions.push(newest);
        out.push((
            UserAction::UpdateOs,
            versions
                .into_iter()
                .map(|d| change(move |c| c.device = Some(d.clone())))
                .collect(),
        ));
    }
    let managed_device = |trust: &str| {
        let mut d = DeviceInfo {
            trust_type: Some(trust.into()),
            is_compliant: Some(true),
            ..Default::default()
        };
        if let Some(old) = &s.device {
            d.device_ownership = old.device_ownership.clone();
        }
        d.device_ownership.get_or_insert_with(|| "Company".into());
        d
    };
    let with_device = |platform: DevicePlatform, d: DeviceInfo| {
        change(move |c: &mut SignIn| {
            c.device = Some(d.clone());
            c.device_platform = Some(platform);
        })
    };
    if wanted(UserAction::UseAnotherDevice) {
        let mut other_devices = Vec::new();
        // Every platform a platform condition can admit, managed the usual ways...
        for p in [
            DevicePlatform::Windows,
            DevicePlatform::MacOS,
            DevicePlatform::IOS,
            DevicePlatform::Android,
            DevicePlatform::Linux,
        ] {
            other_devices.push(with_device(p, managed_device("AzureAD")));
            if p == DevicePlatform::Windows {
                other_devices.push(with_device(p, managed_device("ServerAD")));
            }
        }
        // ...and the devices the policies' own filters describe (a privileged-access
        // workstation that an exclude filter spares, a device an include filter leaves out).
        for f in tenant
            .tenant
            .policies
            .iter()
            .filter_map(|p| p.conditions.device_filter.as_ref())
        {
            for platform in [
                DevicePlatform::Windows,
                s.device_platform.unwrap_or(DevicePlatform::Windows),
            ] {
                let base = managed_device("AzureAD");
                for d in f.rule.candidate_devices(&base) {
                    other_devices.push(with_device(platform, d));
                }
            }
        }
        out.push((UserAction::UseAnotherDevice, other_devices));
    }
    let vpn = s.session.anonymous_network && wanted(UserAction::DisconnectVpn);
    let allowed_place = wanted(UserAction::SignInFromAllowedLocation);
    if vpn || allowed_place {
        // Representative addresses and countries of the named locations, trusted ones first
        // (at most MAX_PLACES: each is one evaluation per search step).
        let mut places: Vec<Change<'a>> = Vec::new();
        let mut locations: Vec<_> = tenant.tenant.named_locations.iter().collect();
        locations.sort_by_key(|l| !l.is_trusted());
        locations.truncate(MAX_PLACES);
        for l in locations {
            match &l.kind {
                LocationKind::Ip { ranges, .. } => {
                    if let Some(r) = ranges.first() {
                        let ip = r.first_address();
                        places.push(change(move |c| {
                            c.ip_address = Some(ip);
                            c.session.anonymous_network = false;
                        }));
                    }
                }
                LocationKind::Country { countries, .. } => {
                    if let Some(code) = countries.first().copied() {
                        places.push(change(move |c| {
                            c.country = Some(code);
                            c.ip_address = None;
                            c.session.anonymous_network = false;
                        }));
                    }
                }
                LocationKind::CompliantNetwork => {}
            }
        }
        // Somewhere no country location names (a country block spares every other country).
        let named: Vec<[u8; 2]> = tenant
            .tenant
            .named_locations
            .iter()
            .filter_map(|l| match &l.kind {
                LocationKind::Country { countries, .. } => Some(countries.iter().copied()),
                _ => None,
            })
            .flatten()
            .collect();
        if !named.is_empty()
            && let Some(code) = [*b"US", *b"DE", *b"JP", *b"BR"]
                .into_iter()
                .find(|c| !named.contains(c) && s.country != Some(*c))
        {
            places.push(change(move |c| {
                c.country = Some(code);
                c.ip_address = None;
                c.session.anonymous_network = false;
            }));
        }
        if vpn {
            // Behind a VPN the real location is unknown: disconnecting helps if it lets the
            // sign-in through from the address itself or from any allowed place.
            let mut variants = vec![change(|c| {
                c.session.anonymous_network = false;
                c.sign_in_risk = Some(RiskLevel::None);
            })];
            variants.extend(places.iter().cloned().map(|place| {
                change(move |c| {
                    place(c);
                    c.sign_in_risk = Some(RiskLevel::None);
                })
            }));
            out.push((UserAction::DisconnectVpn, variants));
        }
        if allowed_place {
            out.push((UserAction::SignInFromAllowedLocation, places));
        }
    }
    match s.client_app_type {
        Some(ClientAppType::Browser) | None => {
            if wanted(UserAction::UseDesktopApp) {
                out.push((
                    UserAction::UseDesktopApp,
                    vec![change(|c| {
                        c.client_app_type = Some(ClientAppType::MobileAppsAndDesktopClients)
                    })],
                ));
            }
        }
        Some(ClientAppType::MobileAppsAndDesktopClients) => {
            if wanted(UserAction::UseBrowser) {
                out.push((
                    UserAction::UseBrowser,
                    vec![change(|c| c.client_app_type = Some(ClientAppType::Browser))],
                ));
            }
        }
        Some(ClientAppType::ExchangeActiveSync | ClientAppType::Other) => {
            if wanted(UserAction::UseModernClient) {
                out.push((
                    UserAction::UseModernClient,
                    vec![change(|c| {
                        c.client_app_type = Some(ClientAppType::MobileAppsAndDesktopClients)
                    })],
                ));
            }
        }
    }
    if wanted(UserAction::UseApprovedApp) {
        out.push((
            UserAction::UseApprovedApp,
            vec![change(|c| {
                c.session.approved_client_app = true;
                c.session.app_protection_policy = true;
            })],
        ));
    }
    // A legacy client cannot do MFA: only a modern client can, so these come after it.
    if !legacy_client(s) {
        // An external user whose home tenant's MFA is trusted does MFA there (and a stronger
        // method there too); anyone else does it here.
        let at_home = Input::resolve(tenant, s, Mode::Enforce)
            .external
            .is_some_and(|e| e.trust.mfa);
        let mfa = AuthMethods::of(&[AuthMethod::Password, AuthMethod::MicrosoftAuthenticatorPush]);
        let add = move |c: &mut SignIn, m: AuthMethods| {
            if at_home {
                c.session.home_methods.0 |= m.0;
            } else {
                c.session.methods.0 |= m.0;
            }
        };
        let mfa_action = if at_home {
            UserAction::CompleteMfaInHomeOrganization
        } else {
            UserAction::CompleteMfa
        };
        if wanted(mfa_action) {
            out.push((
                mfa_action,
                vec![change(move |c| {
                    add(c, mfa);
                    c.session.seconds_since_mfa = Some(0);
                    c.session.seconds_since_authentication = Some(0);
                })],
            ));
        }
        let strong = AuthMethods::of(&[AuthMethod::Fido2]);
        if wanted(UserAction::UseStrongerMethod) {
            out.push((
                UserAction::UseStrongerMethod,
                vec![change(move |c| {
                    add(c, strong);
                    c.session.seconds_since_mfa = Some(0);
                })],
            ));
        }
    }
    if wanted(UserAction::ChangePassword) {
        out.push((
            UserAction::ChangePassword,
            vec![change(|c| c.session.password_changed = true)],
        ));
    }
    if wanted(UserAction::AcceptTermsOfUse) {
        out.push((
            UserAction::AcceptTermsOfUse,
            vec![change(move |c| {
                c.session.accepted_terms_of_use.extend(
                    tenant
                        .tenant
                        .policies
                        .iter()
                        .filter_map(|p| p.grant.as_ref())
                        .flat_map(|g| g.terms_of_use.iter().cloned()),
                )
            })],
        ));
    }
    if wanted(UserAction::WaitAndRetry) {
        out.push((
            UserAction::WaitAndRetry,
            vec![change(|c| {
                c.sign_in_risk = Some(RiskLevel::None);
                c.user_risk = Some(RiskLevel::None);
                c.insider_risk = Some(crate::model::enums::InsiderRiskLevel::None);
            })],
        ));
    }
    out
}

fn admin_details(tenant: &CompiledTenant, signin: &SignIn, evaluation: &Evaluation) -> String {
    let v = &evaluation.verdict;
    let Some(index) = v.deciding_policy else {
        return String::new();
    };
    let Some(p) = tenant.tenant.policies.get(index) else {
        return String::new();
    };
    let mut parts = vec![format!("policy `{}` ({})", p.display_name, p.id)];
    if let Some(r) = record_of(evaluation, index) {
        let details = tenant.details(signin, false, [index]);
        if let Some(d) = details.first() {
            for (c, detail) in r.conditions.iter().zip(&d.conditions) {
                if !detail.is_empty() {
                    parts.push(format!("{}: {}", c.condition.what_if_reason().0, detail));
                }
            }
            if !d.grant.is_empty() {
                parts.push(format!("controls: {}", d.grant));
            }
        }
    }
    parts.join("; ")
}

/// Largest set of user changes the search combines.
pub const MAX_USER_CHANGES: usize = 3;

/// Most sign-ins the search decides for one explanation: a hard cap (the search stops before
/// the decision that would exceed it and reports itself partial).
pub const SEARCH_BUDGET: usize = 4000;

/// The result of [`minimal_action_sets`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActionSearch {
    /// Minimal sets of user actions that reach an allow, smallest first, then in effort
    /// order; each set in effort order.
    pub sets: Vec<Vec<UserAction>>,
    /// Sign-ins decided (never more than the budget).
    pub evaluations: usize,
    /// Whether the budget ran out before the search was done (the sets are those found
    /// until then: each is a set that reaches an allow, not necessarily all of them).
    pub partial: bool,
}

/// The minimal sets of user actions that turn the sign-in into an allow: breadth-first over
/// sets of up to [`MAX_USER_CHANGES`] actions from [`user_change_candidates`], each set
/// verified by deciding the changed sign-in with the same evaluator; a set is kept when one
/// of its variant chains reaches an allow and none of its subsets did. The same search
/// serves explanations (CLI and denial page) and `gardien explain`. At most
/// [`SEARCH_BUDGET`] decisions.
pub fn minimal_action_sets(tenant: &CompiledTenant, signin: &SignIn) -> ActionSearch {
    minimal_action_sets_within(tenant, signin, SEARCH_BUDGET)
}

/// [`minimal_action_sets`] with at most `budget` decisions; the same sets as
/// [`minimal_action_sets`] whenever the search needs no more than `budget` decisions
/// (otherwise [`ActionSearch::partial`]).
///
/// Each candidate change is applied to one scratch copy of the state it extends and undone
/// after its decision (no sign-in is cloned per candidate); candidates are built only for
/// actions that can still make a minimal set; the states of the last depth are not kept.
pub fn minimal_action_sets_within(
    tenant: &CompiledTenant,
    signin: &SignIn,
    budget: usize,
) -> ActionSearch {
    let mut evaluations = 0usize;
    let mut partial = false;
    let mut frontier: Vec<(Vec<UserAction>, Vec<SignIn>)> =
        vec![(Vec::new(), vec![signin.clone()])];
    let mut found: Vec<Vec<UserAction>> = Vec::new();
    'depth: for depth in 0..MAX_USER_CHANGES {
        let last = depth + 1 == MAX_USER_CHANGES;
        let mut next: Vec<(Vec<UserAction>, Vec<SignIn>)> = Vec::new();
        for (actions, states) in &frontier {
            for state in states.iter().take(8) {
                // Actions already in the set, or whose set would contain a found one, are
                // skipped below: not built at all.
                let wanted = |action: UserAction| {
                    !actions.contains(&action)
                        && !found
                            .iter()
                            .any(|f| f.iter().all(|a| *a == action || actions.contains(a)))
                };
                let candidates = changes(tenant, state, &wanted);
                let mut scratch = state.clone();
                for (action, variants) in candidates {
                    if actions.contains(&action) {
                        continue;
                    }
                    let mut set = actions.clone();
                    set.push(action);
                    set.sort_by_key(|a| *a as u8);
                    if found.iter().any(|f| f.iter().all(|a| set.contains(a))) {
                        continue; // a subset already works: not minimal
                    }
                    let mut allowed = false;
                    for variant in &variants {
                        if evaluations >= budget {
                            partial = true;
                            break 'depth;
                        }
                        evaluations += 1;
                        variant(&mut scratch);
                        allowed = tenant.decide(&scratch).decision == Decision::Allow;
                        restore(&mut scratch, state);
                        if allowed {
                            break;
                        }
                    }
                    if allowed {
                        if !found.contains(&set) {
                            found.push(set);
                        }
                        continue;
                    }
                    if last {
                        continue; // no further depth extends these states
                    }
                    let reached = variants.iter().map(|variant| {
                        let mut c = state.clone();
                        variant(&mut c);
                        c
                    });
                    match next.iter_mut().find(|(a, _)| *a == set) {
                        Some((_, states)) => states.extend(reached),
                        None => next.push((set, reached.collect())),
                    }
                }
            }
        }
        frontier = next;
        if frontier.is_empty() {
            break;
        }
    }
    found.sort_by_key(|f| (f.len(), f.iter().map(|a| *a as u8).collect::<Vec<_>>()));
    ActionSearch {
        sets: found,
        evaluations,
        partial,
    }
}

/// The user actions of an explanation: every member of every minimal set, in effort order
/// (or, when no set reaches an allow, the single changes that still improve the outcome),
/// then the minimal sets themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actions {
    /// What [`Explanation::user_actions`] lists before `contactSupport`.
    pub user_actions: Vec<UserAction>,
    /// [`Explanation::user_action_sets`].
    pub user_action_sets: Vec<Vec<UserAction>>,
    /// [`Explanation::partial`]: the search stopped at its budget.
    pub partial: bool,
}

/// Sign-ins whose actions [`ActionMemo`] keeps before it starts again from empty.
pub const ACTION_MEMO_CAPACITY: usize = 4096;

/// Full searches ([`SEARCH_BUDGET`]) one [`ActionMemo`] runs at the same time; further
/// concurrent explanations search within [`SATURATED_SEARCH_BUDGET`] instead of waiting.
pub const MAX_CONCURRENT_SEARCHES: usize = 2;

/// Decisions a search may take while [`MAX_CONCURRENT_SEARCHES`] full searches run.
pub const SATURATED_SEARCH_BUDGET: usize = 256;

/// The actions of recent explanations, by sign-in ([`crate::signin_key::encode`]).
///
/// The search ([`minimal_action_sets`]) is a pure function of the compiled tenant and the
/// sign-in and costs up to [`SEARCH_BUDGET`] decisions; a denied user reloading the page, or
/// a browser fetching a denied page's assets, asks again for the same sign-in. Each compiled
/// tenant has its own memo ([`CompiledTenant::explanations`]), so a new policy set starts
/// empty. At most [`ACTION_MEMO_CAPACITY`] sign-ins, emptied when full.
///
/// It also bounds the searches running at once: at most [`MAX_CONCURRENT_SEARCHES`] full
/// ones; an explanation asked while they run gets the actions found within
/// [`SATURATED_SEARCH_BUDGET`] decisions (marked partial when that cut the search, and then
/// not remembered), so distinct denied sign-ins cannot pile up full searches and nothing
/// waits. The verdict never depends on the search.
#[derive(Default)]
pub struct ActionMemo {
    entries: std::sync::Mutex<rustc_hash::FxHashMap<Box<[u8]>, std::sync::Arc<Actions>>>,
    searching: std::sync::atomic::AtomicUsize,
}

/// One of the [`MAX_CONCURRENT_SEARCHES`] full-search slots of an [`ActionMemo`], given
/// back when dropped.
#[derive(Debug)]
pub struct SearchSlot<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for SearchSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl ActionMemo {
    /// A full-search slot, or `None` when [`MAX_CONCURRENT_SEARCHES`] are taken.
    pub fn search_slot(&self) -> Option<SearchSlot<'_>> {
        use std::sync::atomic::Ordering;
        self.searching
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_CONCURRENT_SEARCHES).then_some(n + 1)
            })
            .ok()
            .map(|_| SearchSlot(&self.searching))
    }

    /// The actions of `signin`, searched (with the budget `search` is given: [`SEARCH_BUDGET`]
    /// with a free slot, [`SATURATED_SEARCH_BUDGET`] without) on the first call only; a
    /// result cut by the saturated budget is not remembered (one cut by [`SEARCH_BUDGET`] is:
    /// searching again would cut it the same way).
    pub fn get_or_search(
        &self,
        signin: &SignIn,
        search: impl FnOnce(usize) -> Actions,
    ) -> std::sync::Arc<Actions> {
        let mut key = Vec::with_capacity(256);
        crate::signin_key::encode(signin, &mut key);
        if let Some(found) = self
            .entries
            .lock()
            .ok()
            .and_then(|m| m.get(key.as_slice()).cloned())
        {
            return found;
        }
        // Searched without the lock: two threads may search the same sign-in once each.
        let (actions, full) = match self.search_slot() {
            Some(_slot) => (std::sync::Arc::new(search(SEARCH_BUDGET)), true),
            None => (std::sync::Arc::new(search(SATURATED_SEARCH_BUDGET)), false),
        };
        if actions.partial && !full {
            // Cut short by the saturation: a later full search may find more.
            return actions;
        }
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= ACTION_MEMO_CAPACITY {
                map.clear();
            }
            map.insert(key.into_boxed_slice(), actions.clone());
        }
        actions
    }

    /// Sign-ins remembered now.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |m| m.len())
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Clone for ActionMemo {
    /// A clone starts empty (it is a cache, not state).
    fn clone(&self) -> Self {
        ActionMemo::default()
    }
}

impl std::fmt::Debug for ActionMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionMemo")
            .field("entries", &self.len())
            .finish()
    }
}

/// Searches the actions of a deny or challenge (no memo), within [`SEARCH_BUDGET`].
pub fn search_actions(tenant: &CompiledTenant, signin: &SignIn, verdict: &Verdict) -> Actions {
    search_actions_within(tenant, signin, verdict, SEARCH_BUDGET)
}

/// [`search_actions`] with at most `budget` decisions for the sets (the fallback below adds
/// one decision per candidate variant, bounded by the candidates themselves).
pub fn search_actions_within(
    tenant: &CompiledTenant,
    signin: &SignIn,
    verdict: &Verdict,
    budget: usize,
) -> Actions {
    let search = minimal_action_sets_within(tenant, signin, budget);
    let user_action_sets = search.sets;
    // Every member of every minimal set, once, in effort order (the vocabulary's order).
    let mut user_actions: Vec<UserAction> = user_action_sets.iter().flatten().copied().collect();
    if user_actions.is_empty() {
        // Nothing reaches an allow: the single changes that still improve the outcome (a
        // deny becoming a challenge, another policy now standing in the way).
        let mut scratch = signin.clone();
        for (action, variants) in changes(tenant, signin, &|_| true) {
            if variants.iter().any(|variant| {
                variant(&mut scratch);
                let better = improves(verdict, &tenant.decide(&scratch));
                restore(&mut scratch, signin);
                better
            }) {
                user_actions.push(action);
            }
        }
    }
    user_actions.sort_by_key(|a| *a as u8);
    user_actions.dedup();
    Actions {
        user_actions,
        user_action_sets,
        partial: search.partial,
    }
}

/// Explains a deny or challenge; `None` for an allow. The actions come from the tenant's
/// memo ([`CompiledTenant::explanations`]) when the same sign-in was explained recently.
pub fn explain(
    tenant: &CompiledTenant,
    signin: &SignIn,
    evaluation: &Evaluation,
) -> Option<Explanation> {
    let v = &evaluation.verdict;
    if v.decision == Decision::Allow {
        return None;
    }
    let category = category(tenant, evaluation, signin);
    let actions = tenant.explanations.get_or_search(signin, |budget| {
        search_actions_within(tenant, signin, v, budget)
    });
    let mut user_actions = actions.user_actions.clone();
    user_actions.push(UserAction::ContactSupport);
    Some(Explanation {
        category,
        temporary: category.is_temporary(),
        user_actions,
        user_action_sets: actions.user_action_sets.clone(),
        partial: actions.partial,
        admin_details: admin_details(tenant, signin, evaluation),
    })
}

#[cfg(test)]
#[allow(clippy::panic, reason = "test failures report through panics")]
mod tests {
    use super::*;
    use crate::testing::{compile, signin};
    use serde_json::json;

    /// Block outside a trusted place, MFA inside: a denial whose actions the search finds.
    fn tenant() -> CompiledTenant {
        compile(&json!({
            "namedLocations": [{"@odata.type": "#microsoft.graph.ipNamedLocation",
                "id": "hq", "displayName": "HQ", "isTrusted": true,
                "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange",
                              "cidrAddress": "198.51.100.0/24"}]}],
            "policies": [
                {"id": "p1", "displayName": "Block outside HQ", "state": "enabled",
                 "conditions": {"users": {"includeUsers": ["All"]},
                                "applications": {"includeApplications": ["All"]},
                                "locations": {"includeLocations": ["All"],
                                              "excludeLocations": ["AllTrusted"]}},
                 "grantControls": {"operator": "OR", "builtInControls": ["block"]}},
                {"id": "p2", "displayName": "MFA", "state": "enabled",
                 "conditions": {"users": {"includeUsers": ["All"]},
                                "applications": {"includeApplications": ["All"]}},
                 "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}
            ]
        }))
        .unwrap_or_else(|| panic!("tenant"))
    }

    #[test]
    fn remembered_actions_are_the_searched_ones_per_sign_in() {
        let t = tenant();
        let abroad = signin(json!({"ipAddress": "203.0.113.9"}), json!(null))
            .unwrap_or_else(|| panic!("sign-in"));
        let mut inside = abroad.clone();
        inside.ip_address = "198.51.100.7".parse().ok();
        assert!(t.explanations.is_empty());
        for s in [&abroad, &inside] {
            let evaluation = t.evaluate(s);
            assert_ne!(evaluation.verdict.decision, Decision::Allow);
            let fresh = search_actions(&t, s, &evaluation.verdict);
            let first = explain(&t, s, &evaluation).unwrap_or_else(|| panic!("explained"));
            let again = explain(&t, s, &evaluation).unwrap_or_else(|| panic!("explained"));
            assert_eq!(first, again);
            assert_eq!(first.user_action_sets, fresh.user_action_sets);
            assert_eq!(
                first
                    .user_actions
                    .split_last()
                    .map(|(l, rest)| (*l, rest.to_vec())),
                Some((UserAction::ContactSupport, fresh.user_actions.clone()))
            );
        }
        // One entry per distinct sign-in; the two denials differ (block vs MFA).
        assert_eq!(t.explanations.len(), 2);
        let abroad_actions = explain(&t, &abroad, &t.evaluate(&abroad)).map(|e| e.user_actions);
        let inside_actions = explain(&t, &inside, &t.evaluate(&inside)).map(|e| e.user_actions);
        assert_ne!(abroad_actions, inside_actions);
        // A clone of the tenant (a cache, not state) starts empty.
        assert!(t.clone().explanations.is_empty());
    }

    /// The search as it was before the scratch sign-in: every candidate variant a cloned
    /// sign-in, every depth's states kept (the reference the faster search must match).
    fn cloning_search(t: &CompiledTenant, signin: &SignIn) -> Vec<Vec<UserAction>> {
        let mut evaluations = 0usize;
        let mut frontier: Vec<(Vec<UserAction>, Vec<SignIn>)> =
            vec![(Vec::new(), vec![signin.clone()])];
        let mut found: Vec<Vec<UserAction>> = Vec::new();
        'depth: for _ in 0..MAX_USER_CHANGES {
            let mut next: Vec<(Vec<UserAction>, Vec<SignIn>)> = Vec::new();
            for (actions, states) in &frontier {
                for state in states.iter().take(8) {
                    for (action, variants) in user_change_candidates(t, state) {
                        if actions.contains(&action) {
                            continue;
                        }
                        let mut set = actions.clone();
                        set.push(action);
                        set.sort_by_key(|a| *a as u8);
                        if found.iter().any(|f| f.iter().all(|a| set.contains(a))) {
                            continue;
                        }
                        if variants.iter().any(|v| {
                            evaluations += 1;
                            t.decide(v).decision == Decision::Allow
                        }) {
                            if !found.contains(&set) {
                                found.push(set);
                            }
                            continue;
                        }
                        if evaluations > SEARCH_BUDGET {
                            break 'depth;
                        }
                        match next.iter_mut().find(|(a, _)| *a == set) {
                            Some((_, states)) => states.extend(variants),
                            None => next.push((set, variants)),
                        }
                    }
                }
            }
            frontier = next;
            if frontier.is_empty() {
                break;
            }
        }
        found.sort_by_key(|f| (f.len(), f.iter().map(|a| *a as u8).collect::<Vec<_>>()));
        found
    }

    /// The explanation vectors' tenants and sign-ins (`testdata/explanations/`).
    fn vectors() -> Vec<(String, CompiledTenant, SignIn)> {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/explanations");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|p| {
                let text =
                    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                let v: serde_json::Value =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                let t = compile(&v["tenant"]).unwrap_or_else(|| panic!("{}: tenant", p.display()));
                let s = SignIn::from_value("request", &v["request"])
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                (p.display().to_string(), t, s)
            })
            .collect()
    }

    #[test]
    fn the_scratch_search_finds_the_cloning_searchs_sets() {
        let vectors = vectors();
        assert!(vectors.len() >= 40, "{} vectors", vectors.len());
        for (name, t, s) in &vectors {
            let search = minimal_action_sets(t, s);
            assert!(!search.partial, "{name}: {} decisions", search.evaluations);
            assert_eq!(search.sets, cloning_search(t, s), "{name}");
        }
    }

    #[test]
    fn every_change_is_undone_on_the_scratch_sign_in() {
        for (name, t, s) in &vectors() {
            let mut original = Vec::new();
            crate::signin_key::encode(s, &mut original);
            let mut scratch = s.clone();
            for (action, variants) in changes(t, s, &|_| true) {
                for variant in &variants {
                    variant(&mut scratch);
                    restore(&mut scratch, s);
                    let mut after = Vec::new();
                    crate::signin_key::encode(&scratch, &mut after);
                    assert_eq!(after, original, "{name}: {action:?}");
                    assert_eq!(scratch.device, s.device, "{name}: {action:?}");
                    assert_eq!(
                        scratch.session.accepted_terms_of_use,
                        s.session.accepted_terms_of_use
                    );
                }
            }
        }
    }

    /// A tenant nothing a user can do lets through (every search runs to the end) with many
    /// candidate places: the worst case for the search's cost.
    fn hopeless(places: usize) -> CompiledTenant {
        let locations: Vec<_> = (0..places)
            .map(|i| {
                json!({"@odata.type": "#microsoft.graph.ipNamedLocation",
                    "id": format!("l{i}"), "displayName": format!("L{i}"),
                    "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange",
                                  "cidrAddress": format!("10.0.{i}.0/24")}]})
            })
            .collect();
        compile(&json!({
            "namedLocations": locations,
            "policies": [
                {"id": "p1", "displayName": "Block", "state": "enabled",
                 "conditions": {"users": {"includeUsers": ["All"]},
                                "applications": {"includeApplications": ["All"]}},
                 "grantControls": {"operator": "OR", "builtInControls": ["block"]}}
            ]
        }))
        .unwrap_or_else(|| panic!("tenant"))
    }

    #[test]
    fn the_search_never_decides_more_than_its_budget() {
        let t = hopeless(MAX_PLACES);
        let s = signin(
            json!({"ipAddress": "203.0.113.9"}),
            json!({"anonymousNetwork": true}),
        )
        .unwrap_or_else(|| panic!("sign-in"));
        // 32 places behind a VPN: more sets than the budget allows, cut at the budget exactly.
        let full = minimal_action_sets(&t, &s);
        assert!(full.partial);
        assert_eq!(full.evaluations, SEARCH_BUDGET);
        for budget in [0, 1, 7, SATURATED_SEARCH_BUDGET, full.evaluations - 1] {
            let cut = minimal_action_sets_within(&t, &s, budget);
            assert_eq!(cut.evaluations, budget);
            assert!(cut.partial, "{budget}");
        }
        let exact = minimal_action_sets_within(&t, &s, full.evaluations);
        assert_eq!(exact, full);
        // The vectors' searches, each within the budget it needs and no more.
        for (name, t, s) in &vectors() {
            let full = minimal_action_sets(t, s);
            assert_eq!(
                minimal_action_sets_within(t, s, full.evaluations),
                full,
                "{name}"
            );
            if full.evaluations > 0 {
                let cut = minimal_action_sets_within(t, s, full.evaluations - 1);
                assert!(
                    cut.partial && cut.evaluations == full.evaluations - 1,
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn saturated_searches_are_cut_marked_partial_and_not_remembered() {
        // No named place: the full search ends within its budget, above the saturated one.
        let t = hopeless(0);
        let s = signin(
            json!({"ipAddress": "203.0.113.9"}),
            json!({"anonymousNetwork": true}),
        )
        .unwrap_or_else(|| panic!("sign-in"));
        let evaluation = t.evaluate(&s);
        assert_eq!(evaluation.verdict.decision, Decision::Deny);
        let search = minimal_action_sets(&t, &s);
        assert!(!search.partial && search.evaluations > SATURATED_SEARCH_BUDGET);
        // Every full-search slot taken (as by other requests' searches).
        let slots: Vec<_> = (0..MAX_CONCURRENT_SEARCHES)
            .map(|_| t.explanations.search_slot())
            .collect();
        assert!(slots.iter().all(Option::is_some));
        assert!(t.explanations.search_slot().is_none());
        let mut budgets = Vec::new();
        let cut = t.explanations.get_or_search(&s, |budget| {
            budgets.push(budget);
            search_actions_within(&t, &s, &evaluation.verdict, budget)
        });
        assert_eq!(budgets, [SATURATED_SEARCH_BUDGET]);
        assert!(cut.partial);
        assert!(t.explanations.is_empty());
        let explained = explain(&t, &s, &evaluation).unwrap_or_else(|| panic!("explained"));
        assert!(explained.partial);
        assert_eq!(
            serde_json::to_value(&explained)
                .ok()
                .map(|v| v["partial"].clone()),
            Some(json!(true))
        );
        assert_eq!(t.evaluate(&s).verdict, evaluation.verdict);
        // Slots given back: the full search, remembered, not partial.
        drop(slots);
        let full = explain(&t, &s, &evaluation).unwrap_or_else(|| panic!("explained"));
        assert!(!full.partial);
        assert_eq!(t.explanations.len(), 1);
        assert!(serde_json::to_value(&full).is_ok_and(|v| v.get("partial").is_none()));
        assert!(t.explanations.search_slot().is_some());
        // A search cut by the full budget is remembered: searching again would cut it alike.
        let t = hopeless(MAX_PLACES);
        let evaluation = t.evaluate(&s);
        let capped = explain(&t, &s, &evaluation).unwrap_or_else(|| panic!("explained"));
        assert!(capped.partial);
        assert_eq!(t.explanations.len(), 1);
        let again = t
            .explanations
            .get_or_search(&s, |_| panic!("searched again"));
        assert!(again.partial);
    }

    #[test]
    fn the_memo_is_emptied_when_full() {
        let memo = ActionMemo::default();
        let base = signin(json!({}), json!(null)).unwrap_or_else(|| panic!("sign-in"));
        let none = |_| Actions {
            user_actions: Vec::new(),
            user_action_sets: Vec::new(),
            partial: false,
        };
        for i in 0..ACTION_MEMO_CAPACITY {
            let mut s = base.clone();
            s.session.seconds_since_mfa = Some(i as u64);
            memo.get_or_search(&s, none);
        }
        assert_eq!(memo.len(), ACTION_MEMO_CAPACITY);
        let mut s = base.clone();
        s.session.seconds_since_mfa = Some(u64::MAX);
        memo.get_or_search(&s, none);
        assert_eq!(memo.len(), 1);
    }
}

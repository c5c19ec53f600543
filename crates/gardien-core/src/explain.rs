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
    let mut out: Vec<(UserAction, Vec<SignIn>)> = Vec::new();
    let with = |f: &dyn Fn(&mut SignIn)| {
        let mut c = s.clone();
        f(&mut c);
        c
    };
    if s.device.is_none() {
        out.push((
            UserAction::RegisterDevice,
            vec![with(&|c| c.device = Some(registered(None)))],
        ));
    }
    // Only a registered (enrolled) device can be made compliant: for an unregistered one,
    // the search finds "register, then make compliant" as one combined step.
    if s.device.is_some() {
        out.push((
            UserAction::MakeDeviceCompliant,
            vec![with(&|c| {
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
                .map(|d| {
                    let mut c = s.clone();
                    c.device = Some(d);
                    c
                })
                .collect(),
        ));
    }
    let managed = |platform: DevicePlatform, trust: &str| {
        with(&|c: &mut SignIn| {
            let mut d = DeviceInfo {
                trust_type: Some(trust.into()),
                is_compliant: Some(true),
                ..Default::default()
            };
            if let Some(old) = &s.device {
                d.device_ownership = old.device_ownership.clone();
            }
            d.device_ownership.get_or_insert_with(|| "Company".into());
            c.device = Some(d);
            c.device_platform = Some(platform);
        })
    };
    let mut other_devices = Vec::new();
    // Every platform a platform condition can admit, managed the usual ways...
    for p in [
        DevicePlatform::Windows,
        DevicePlatform::MacOS,
        DevicePlatform::IOS,
        DevicePlatform::Android,
        DevicePlatform::Linux,
    ] {
        other_devices.push(managed(p, "AzureAD"));
        if p == DevicePlatform::Windows {
            other_devices.push(managed(p, "ServerAD"));
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
            let base = managed(platform, "AzureAD");
            let Some(device) = base.device.as_ref() else {
                continue;
            };
            for d in f.rule.candidate_devices(device) {
                let mut c = base.clone();
                c.device = Some(d);
                other_devices.push(c);
            }
        }
    }
    out.push((UserAction::UseAnotherDevice, other_devices));
    // Representative addresses and countries of the named locations, trusted ones first
    // (at most MAX_PLACES: each is one evaluation per search step).
    let mut places = Vec::new();
    let mut locations: Vec<_> = tenant.tenant.named_locations.iter().collect();
    locations.sort_by_key(|l| !l.is_trusted());
    locations.truncate(MAX_PLACES);
    for l in locations {
        match &l.kind {
            LocationKind::Ip { ranges, .. } => {
                if let Some(r) = ranges.first() {
                    let ip = r.first_address();
                    places.push(with(&|c| {
                        c.ip_address = Some(ip);
                        c.session.anonymous_network = false;
                    }));
                }
            }
            LocationKind::Country { countries, .. } => {
                if let Some(code) = countries.first().copied() {
                    places.push(with(&|c| {
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
        places.push(with(&|c| {
            c.country = Some(code);
            c.ip_address = None;
            c.session.anonymous_network = false;
        }));
    }
    if s.session.anonymous_network {
        // Behind a VPN the real location is unknown: disconnecting helps if it lets the
        // sign-in through from the address itself or from any allowed place.
        let mut variants = vec![with(&|c| {
            c.session.anonymous_network = false;
            c.sign_in_risk = Some(RiskLevel::None);
        })];
        variants.extend(places.iter().cloned().map(|mut c| {
            c.sign_in_risk = Some(RiskLevel::None);
            c
        }));
        out.push((UserAction::DisconnectVpn, variants));
    }
    out.push((UserAction::SignInFromAllowedLocation, places));
    match s.client_app_type {
        Some(ClientAppType::Browser) | None => {
            out.push((
                UserAction::UseDesktopApp,
                vec![with(&|c| {
                    c.client_app_type = Some(ClientAppType::MobileAppsAndDesktopClients)
                })],
            ));
        }
        Some(ClientAppType::MobileAppsAndDesktopClients) => {
            out.push((
                UserAction::UseBrowser,
                vec![with(&|c| c.client_app_type = Some(ClientAppType::Browser))],
            ));
        }
        Some(ClientAppType::ExchangeActiveSync | ClientAppType::Other) => {
            out.push((
                UserAction::UseModernClient,
                vec![with(&|c| {
                    c.client_app_type = Some(ClientAppType::MobileAppsAndDesktopClients)
                })],
            ));
        }
    }
    out.push((
        UserAction::UseApprovedApp,
        vec![with(&|c| {
            c.session.approved_client_app = true;
            c.session.app_protection_policy = true;
        })],
    ));
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
        out.push((
            if at_home {
                UserAction::CompleteMfaInHomeOrganization
            } else {
                UserAction::CompleteMfa
            },
            vec![with(&|c| {
                add(c, mfa);
                c.session.seconds_since_mfa = Some(0);
                c.session.seconds_since_authentication = Some(0);
            })],
        ));
        let strong = AuthMethods::of(&[AuthMethod::Fido2]);
        out.push((
            UserAction::UseStrongerMethod,
            vec![with(&|c| {
                add(c, strong);
                c.session.seconds_since_mfa = Some(0);
            })],
        ));
    }
    out.push((
        UserAction::ChangePassword,
        vec![with(&|c| c.session.password_changed = true)],
    ));
    let terms: Vec<Box<str>> = tenant
        .tenant
        .policies
        .iter()
        .filter_map(|p| p.grant.as_ref())
        .flat_map(|g| g.terms_of_use.iter().cloned())
        .collect();
    out.push((
        UserAction::AcceptTermsOfUse,
        vec![with(&|c| {
            c.session
                .accepted_terms_of_use
                .extend(terms.iter().cloned())
        })],
    ));
    out.push((
        UserAction::WaitAndRetry,
        vec![with(&|c| {
            c.sign_in_risk = Some(RiskLevel::None);
            c.user_risk = Some(RiskLevel::None);
            c.insider_risk = Some(crate::model::enums::InsiderRiskLevel::None);
        })],
    ));
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

/// Most sign-ins the search evaluates for one explanation (a bound on the deny path's cost:
/// about a millisecond on the 200-policy tenant).
pub const SEARCH_BUDGET: usize = 4000;

/// The result of [`minimal_action_sets`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActionSearch {
    /// Minimal sets of user actions that reach an allow, smallest first, then in effort
    /// order; each set in effort order.
    pub sets: Vec<Vec<UserAction>>,
    /// Sign-ins evaluated.
    pub evaluations: usize,
}

/// The minimal sets of user actions that turn the sign-in into an allow: breadth-first over
/// sets of up to [`MAX_USER_CHANGES`] actions from [`user_change_candidates`], each set
/// verified by deciding the changed sign-in with the same evaluator; a set is kept when one
/// of its variant chains reaches an allow and none of its subsets did. The same search
/// serves explanations (CLI and denial page) and `gardien explain`.
pub fn minimal_action_sets(tenant: &CompiledTenant, signin: &SignIn) -> ActionSearch {
    let evaluations = std::cell::Cell::new(0usize);
    let allowed = |s: &SignIn| {
        evaluations.set(evaluations.get() + 1);
        tenant.decide(s).decision == Decision::Allow
    };
    let mut frontier: Vec<(Vec<UserAction>, Vec<SignIn>)> =
        vec![(Vec::new(), vec![signin.clone()])];
    let mut found: Vec<Vec<UserAction>> = Vec::new();
    'depth: for _ in 0..MAX_USER_CHANGES {
        let mut next: Vec<(Vec<UserAction>, Vec<SignIn>)> = Vec::new();
        for (actions, states) in &frontier {
            for state in states.iter().take(8) {
                for (action, variants) in user_change_candidates(tenant, state) {
                    if actions.contains(&action) {
                        continue;
                    }
                    let mut set = actions.clone();
                    set.push(action);
                    set.sort_by_key(|a| *a as u8);
                    if found.iter().any(|f| f.iter().all(|a| set.contains(a))) {
                        continue; // a subset already works: not minimal
                    }
                    if variants.iter().any(allowed) {
                        if !found.contains(&set) {
                            found.push(set);
                        }
                        continue;
                    }
                    if evaluations.get() > SEARCH_BUDGET {
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
    ActionSearch {
        sets: found,
        evaluations: evaluations.get(),
    }
}

/// Explains a deny or challenge; `None` for an allow.
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
    let user_action_sets = minimal_action_sets(tenant, signin).sets;
    // Every member of every minimal set, once, in effort order (the vocabulary's order).
    let mut user_actions: Vec<UserAction> = user_action_sets.iter().flatten().copied().collect();
    if user_actions.is_empty() {
        // Nothing reaches an allow: the single changes that still improve the outcome (a
        // deny becoming a challenge, another policy now standing in the way).
        for (action, variants) in user_change_candidates(tenant, signin) {
            if variants.iter().any(|c| improves(v, &tenant.decide(c))) {
                user_actions.push(action);
            }
        }
    }
    user_actions.sort_by_key(|a| *a as u8);
    user_actions.dedup();
    user_actions.push(UserAction::ContactSupport);
    Some(Explanation {
        category,
        temporary: category.is_temporary(),
        user_actions,
        user_action_sets,
        admin_details: admin_details(tenant, signin, evaluation),
    })
}

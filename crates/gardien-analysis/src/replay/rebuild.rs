//! From a logged `signIn` record back to the sign-in that was decided, and what was logged.
//!
//! A record written by `gardien serve` carries the exact evaluate request
//! (`gardien.request`): it is read with the core's own request reader, nothing is guessed.
//! Any other record (an Entra export) is rebuilt from its Graph members, and every input the
//! log does not carry is recorded as an [`Assumption`] (docs/replay.md lists them).

use gardien_core::device::DeviceInfo;
use gardien_core::ids::normalize_id;
use gardien_core::model::enums::{
    AuthMethod, AuthMethods, ClientAppType, DevicePlatform, ExternalUserType, RiskLevel,
    TransferMethod,
};
use gardien_core::network::parse_ip;
use gardien_core::signin::{Subject, Target};
use gardien_core::{Decision, SignIn};

use gardien_core::signin_log::record::{Element, Member, Record, Scalar, flag, integer, text};

/// An input of the evaluation that the log did not carry, so replay assumed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Assumption {
    /// No `conditionalAccessAudiences`: the resource and the client app are both targets.
    Applications,
    /// `clientAppUsed` missing (not given) or unrecognised (read as `other`).
    ClientAppType,
    /// `deviceDetail.operatingSystem` missing or unrecognised (unknown platform).
    DevicePlatform,
    /// No `deviceDetail` at all (unregistered device).
    Device,
    /// A registered device: filter properties beyond id, name, compliance, trust type and
    /// operating system are not logged.
    DeviceProperties,
    /// No `ipAddress`.
    IpAddress,
    /// No `location` (unknown country).
    Country,
    /// `riskLevelDuringSignIn` missing or `hidden` (no sign-in risk).
    SignInRisk,
    /// User, insider or service-principal risk: never in sign-in logs (no risk).
    IdentityRisk,
    /// Authentication methods not logged, or not recognised.
    AuthenticationMethods,
    /// No `authenticationProtocol` nor `originalTransferMethod` (no transfer flow).
    AuthenticationFlow,
    /// Approved client app, app protection, accepted terms of use, password change and the
    /// age of the authentication: never logged (read as not done, fresh).
    GrantFacts,
    /// An external user: where their methods were done (home or this tenant) is not logged.
    ExternalMethods,
    /// `ipAddressFromResourceProvider` differs from `ipAddress`: locations are decided on
    /// `ipAddress` only.
    ResourceProviderIp,
    /// `tokenProtectionStatusDetails` present: token protection is not evaluated.
    TokenProtection,
    /// An agent sign-in (`agent.agentType`): agent identities are not evaluated.
    Agent,
}

impl Assumption {
    /// Every assumption, in report order.
    pub const ALL: [Assumption; 16] = [
        Assumption::Applications,
        Assumption::ClientAppType,
        Assumption::DevicePlatform,
        Assumption::Device,
        Assumption::DeviceProperties,
        Assumption::IpAddress,
        Assumption::Country,
        Assumption::SignInRisk,
        Assumption::IdentityRisk,
        Assumption::AuthenticationMethods,
        Assumption::AuthenticationFlow,
        Assumption::GrantFacts,
        Assumption::ExternalMethods,
        Assumption::ResourceProviderIp,
        Assumption::TokenProtection,
        Assumption::Agent,
    ];

    /// Stable name (camelCase), as in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Assumption::Applications => "applications",
            Assumption::ClientAppType => "clientAppType",
            Assumption::DevicePlatform => "devicePlatform",
            Assumption::Device => "device",
            Assumption::DeviceProperties => "deviceProperties",
            Assumption::IpAddress => "ipAddress",
            Assumption::Country => "country",
            Assumption::SignInRisk => "signInRisk",
            Assumption::IdentityRisk => "identityRisk",
            Assumption::AuthenticationMethods => "authenticationMethods",
            Assumption::AuthenticationFlow => "authenticationFlow",
            Assumption::GrantFacts => "grantFacts",
            Assumption::ExternalMethods => "externalMethods",
            Assumption::ResourceProviderIp => "resourceProviderIp",
            Assumption::TokenProtection => "tokenProtection",
            Assumption::Agent => "agent",
        }
    }

    /// What was missing and what replay assumed instead.
    pub fn meaning(self) -> &'static str {
        match self {
            Assumption::Applications => {
                "no `conditionalAccessAudiences`: the resource (`resourceId`) and the client (`appId`) are both taken as the sign-in's targets"
            }
            Assumption::ClientAppType => {
                "`clientAppUsed` missing (read as not given: client-app conditions apply) or not a known name (read as `other`)"
            }
            Assumption::DevicePlatform => {
                "`deviceDetail.operatingSystem` missing or not recognised: read as an unknown platform"
            }
            Assumption::Device => "no `deviceDetail`: read as an unregistered device",
            Assumption::DeviceProperties => {
                "registered device: only id, name, compliance, trust type and operating system are logged; other device-filter properties read as null"
            }
            Assumption::IpAddress => "no `ipAddress`: no IP named location matches",
            Assumption::Country => "no `location`: read as an unknown country",
            Assumption::SignInRisk => {
                "`riskLevelDuringSignIn` missing or `hidden`: read as no sign-in risk"
            }
            Assumption::IdentityRisk => {
                "user, insider and service-principal risk are not in sign-in logs: read as no risk"
            }
            Assumption::AuthenticationMethods => {
                "authentication methods not logged (`authenticationDetails`) or not recognised: assumed from `authenticationRequirement` (password; plus Authenticator push when MFA was required and the sign-in succeeded)"
            }
            Assumption::AuthenticationFlow => {
                "no `authenticationProtocol` nor `originalTransferMethod`: read as neither device code nor authentication transfer"
            }
            Assumption::GrantFacts => {
                "approved client app, app protection, accepted terms of use, password change and sign-in age are not logged: read as not done (and a fresh sign-in)"
            }
            Assumption::ExternalMethods => {
                "an external user: whether their methods were done in their home tenant or here is not logged; they are counted in both (the tenant's inbound trust decides which count)"
            }
            Assumption::ResourceProviderIp => {
                "`ipAddressFromResourceProvider` differs from `ipAddress`: locations are decided on `ipAddress` (continuous access evaluation's strict location check on the resource's address is not replayed)"
            }
            Assumption::TokenProtection => {
                "`tokenProtectionStatusDetails` logged: the token protection session control is not evaluated"
            }
            Assumption::Agent => {
                "an agent sign-in (`agent.agentType`) other than an agent identity's own token: replayed as the user or service principal the record names, an agent user or blueprint only if the tenant's directory types it so"
            }
        }
    }
}

/// A set of [`Assumption`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Assumptions(pub u16);

impl Assumptions {
    /// Adds one.
    pub fn insert(&mut self, a: Assumption) {
        self.0 |= 1 << a as u16;
    }
    /// Whether it holds one.
    pub fn contains(self, a: Assumption) -> bool {
        self.0 & (1 << a as u16) != 0
    }
    /// Whether empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The assumptions, in report order.
    pub fn iter(self) -> impl Iterator<Item = Assumption> {
        Assumption::ALL
            .into_iter()
            .filter(move |a| self.contains(*a))
    }
}

/// Why a record was not replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// The element is not a JSON object.
    NotAnObject,
    /// Neither `userId` nor `servicePrincipalId`.
    NoUser,
    /// No application: no audiences, `resourceId` nor `appId`.
    NoApplication,
    /// `gardien.request` is not a valid evaluate request.
    InvalidRequest,
    /// A member has a value replay cannot read (wrong type, bad IP address, ...).
    InvalidField,
    /// No logged outcome: no `status.errorCode` nor `gardien.decision` (only when comparing
    /// with the logged outcome).
    NoOutcome,
    /// `status.errorCode` is not a Conditional Access outcome (e.g. 50126, wrong password):
    /// CA did not decide this sign-in (only when comparing with the logged outcome).
    NotConditionalAccess,
}

impl SkipReason {
    /// Every reason, in report order.
    pub const ALL: [SkipReason; 7] = [
        SkipReason::NotAnObject,
        SkipReason::NoUser,
        SkipReason::NoApplication,
        SkipReason::InvalidRequest,
        SkipReason::InvalidField,
        SkipReason::NoOutcome,
        SkipReason::NotConditionalAccess,
    ];

    /// Stable name (camelCase), as in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NotAnObject => "notAnObject",
            SkipReason::NoUser => "noUser",
            SkipReason::NoApplication => "noApplication",
            SkipReason::InvalidRequest => "invalidRequest",
            SkipReason::InvalidField => "invalidField",
            SkipReason::NoOutcome => "noOutcome",
            SkipReason::NotConditionalAccess => "notConditionalAccess",
        }
    }
}

/// A record that was not replayed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// The reason.
    pub reason: SkipReason,
    /// The detail (member, value).
    pub detail: String,
}

impl Skip {
    fn new(reason: SkipReason, detail: impl Into<String>) -> Skip {
        Skip {
            reason,
            detail: detail.into(),
        }
    }
}

/// A policy the log says applied (`success` or `failure`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedPolicy {
    /// Policy id (normalised).
    pub id: Box<str>,
    /// Display name as logged.
    pub display_name: Box<str>,
    /// `failure`: the policy blocked or interrupted the sign-in.
    pub failed: bool,
}

/// What the log says was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// Allow, challenge or deny.
    pub decision: Decision,
    /// `status.errorCode` of a deny.
    pub error_code: Option<u32>,
    /// At least one enforced policy applied.
    pub covered: bool,
    /// Enforced policies that applied, as logged.
    pub policies: Vec<LoggedPolicy>,
}

impl Logged {
    /// The policy that decided a deny or challenge: the first that failed.
    pub fn deciding(&self) -> Option<&LoggedPolicy> {
        if self.decision == Decision::Allow {
            return None;
        }
        self.policies.iter().find(|p| p.failed)
    }
}

/// A sign-in rebuilt from a log record.
#[derive(Debug, Clone)]
pub struct Rebuilt {
    /// The sign-in, ready for evaluation.
    pub signin: SignIn,
    /// Read from gardien's exact request (no assumption).
    pub exact: bool,
    /// What the log did not say.
    pub assumptions: Assumptions,
    /// The logged outcome, or why there is none to compare with.
    pub logged: Result<Logged, Skip>,
    /// `correlationId` (or `id`).
    pub correlation_id: Option<Box<str>>,
    /// `createdDateTime`.
    pub created: Option<Box<str>>,
    /// The user (or service principal) id, normalised.
    pub user_id: Box<str>,
    /// `userPrincipalName`, when logged.
    pub user_name: Option<Box<str>>,
    /// The application (`appId`, else the first target), normalised.
    pub app_id: Box<str>,
    /// `appDisplayName`, when logged.
    pub app_name: Option<Box<str>>,
}

use gardien_core::signin_log::{Method, method, os_version, trust_type};
/// A string member: absent, null and empty read as `None`; another type is an error.
pub use gardien_core::signin_log::{client_app, logged_decision, platform};

fn string<'s>(name: &str, s: &'s Option<Scalar<'_>>) -> Result<Option<&'s str>, Skip> {
    match s {
        None | Some(Scalar::Null) => Ok(None),
        Some(Scalar::Str(t)) => Ok(Some(t.trim()).filter(|t| !t.is_empty())),
        Some(other) => Err(Skip::new(
            SkipReason::InvalidField,
            format!("`{name}` is {}, expected a string", other.kind()),
        )),
    }
}

fn boxed(s: Option<&str>) -> Option<Box<str>> {
    s.map(Box::from)
}

/// Rebuilds the sign-in of a log element.
pub fn rebuild(element: &Element<'_>) -> Result<Rebuilt, Skip> {
    let r = match element {
        Element::Record(r) => r,
        Element::NotAnObject(kind) => {
            return Err(Skip::new(
                SkipReason::NotAnObject,
                format!("the element is {kind}, not a sign-in record"),
            ));
        }
    };
    let logged = logged(r);
    let request = r
        .gardien
        .get()
        .and_then(|g| g.request.as_ref())
        .and_then(|r| r.value());
    let (signin, exact, assumptions) = match request {
        Some(request) if !request.is_null() => {
            let signin = SignIn::from_value("", request).map_err(|e| {
                Skip::new(
                    SkipReason::InvalidRequest,
                    format!("/gardien/request{}: {}", e.pointer, e.reason),
                )
            })?;
            (signin, true, Assumptions::default())
        }
        _ => {
            let mut assumptions = Assumptions::default();
            let signin = from_graph(r, &mut assumptions)?;
            (signin, false, assumptions)
        }
    };
    let mut signin = signin;
    // Entra's dated changes are read as of the record's own time.
    let evaluated_at = r.gardien.get().and_then(|g| text(&g.evaluated_at));
    signin.at = evaluated_at
        .or_else(|| text(&r.created_date_time))
        .and_then(gardien_core::time::parse_rfc3339);
    let user_id = match &signin.subject {
        Subject::User { id, .. } | Subject::ServicePrincipal { id } | Subject::Agent { id } => {
            id.clone()
        }
    };
    let app_id = match (string("appId", &r.app_id).ok().flatten(), &signin.target) {
        (Some(app), _) => normalize_id(app),
        (None, Target::Applications(apps)) => apps.first().cloned().unwrap_or_default(),
        (None, Target::UserAction(a)) => Box::from(a.urn()),
        (None, Target::AuthContext(c)) => c.clone(),
    };
    Ok(Rebuilt {
        signin,
        exact,
        assumptions,
        logged,
        correlation_id: boxed(text(&r.correlation_id).or_else(|| text(&r.id))),
        created: boxed(text(&r.created_date_time)),
        user_id,
        user_name: boxed(text(&r.user_principal_name)),
        app_id,
        app_name: boxed(text(&r.app_display_name)),
    })
}

fn logged(r: &Record<'_>) -> Result<Logged, Skip> {
    let code = r.status.get().and_then(|s| integer(&s.error_code));
    let decision = match r
        .gardien
        .get()
        .map(|g| string("gardien.decision", &g.decision))
    {
        Some(Err(e)) => return Err(e),
        Some(Ok(Some(d))) => [Decision::Allow, Decision::Challenge, Decision::Deny]
            .into_iter()
            .find(|x| x.as_str().eq_ignore_ascii_case(d))
            .ok_or_else(|| {
                Skip::new(
                    SkipReason::InvalidField,
                    format!("`gardien.decision` is `{d}`, expected allow, challenge or deny"),
                )
            })?,
        Some(Ok(None)) | None => match code {
            None => {
                return Err(Skip::new(
                    SkipReason::NoOutcome,
                    "no `status.errorCode`: the logged outcome is unknown",
                ));
            }
            Some(c) => logged_decision(c).ok_or_else(|| {
                Skip::new(
                    SkipReason::NotConditionalAccess,
                    format!("`status.errorCode` {c} is not a Conditional Access outcome"),
                )
            })?,
        },
    };
    let error_code = match decision {
        Decision::Deny => code.and_then(|c| u32::try_from(c).ok()).filter(|c| *c != 0),
        _ => None,
    };
    let policies: Vec<LoggedPolicy> = r
        .applied_policies
        .entries()
        .filter_map(|p| {
            let result = p.result?;
            let failed = result.eq_ignore_ascii_case("failure");
            if !failed && !result.eq_ignore_ascii_case("success") {
                return None;
            }
            let id = p.id.unwrap_or_default();
            let name = p.display_name.unwrap_or(id);
            Some(LoggedPolicy {
                id: normalize_id(id),
                display_name: Box::from(name),
                failed,
            })
        })
        .collect();
    let covered = if r.applied_policies.is_list() {
        !policies.is_empty()
    } else {
        text(&r.conditional_access_status)
            .is_some_and(|s| s.eq_ignore_ascii_case("success") || s.eq_ignore_ascii_case("failure"))
    };
    Ok(Logged {
        decision,
        error_code,
        covered,
        policies,
    })
}

/// Rebuilds a sign-in from Graph members, noting every assumption.
fn from_graph(r: &Record<'_>, a: &mut Assumptions) -> Result<SignIn, Skip> {
    let subject = subject(r)?;
    let target = target(r, a)?;
    let mut signin = SignIn::new(subject, target);
    match text(&r.client_app_used) {
        None => a.insert(Assumption::ClientAppType),
        Some(name) => {
            signin.client_app_type = Some(client_app(name).unwrap_or_else(|| {
                a.insert(Assumption::ClientAppType);
                ClientAppType::Other
            }));
        }
    }
    signin.ip_address = match string("ipAddress", &r.ip_address)? {
        None => {
            a.insert(Assumption::IpAddress);
            None
        }
        Some(ip) => Some(parse_ip(ip).map_err(|e| {
            Skip::new(SkipReason::InvalidField, format!("`ipAddress` `{ip}`: {e}"))
        })?),
    };
    match &r.location {
        Member::Value(l) => match text(&l.country_or_region) {
            None => {}
            Some(c) => match c.as_bytes() {
                [x, y] if x.is_ascii_alphabetic() && y.is_ascii_alphabetic() => {
                    signin.country = Some([x.to_ascii_uppercase(), y.to_ascii_uppercase()]);
                }
                _ => a.insert(Assumption::Country),
            },
        },
        _ => a.insert(Assumption::Country),
    }
    device(r, &mut signin, a)?;
    signin.sign_in_risk = match text(&r.risk_level_during_sign_in).and_then(RiskLevel::parse) {
        Some(level) => Some(level),
        None => {
            a.insert(Assumption::SignInRisk);
            None
        }
    };
    a.insert(Assumption::IdentityRisk);
    a.insert(Assumption::GrantFacts);
    let protocol = text(&r.authentication_protocol);
    let original = text(&r.original_transfer_method);
    if protocol.is_none() && original.is_none() {
        a.insert(Assumption::AuthenticationFlow);
    }
    signin.transfer_method = protocol.and_then(|p| {
        if p.eq_ignore_ascii_case("deviceCode") {
            Some(TransferMethod::DeviceCodeFlow)
        } else if p.eq_ignore_ascii_case("authenticationTransfer") {
            Some(TransferMethod::AuthenticationTransfer)
        } else {
            None
        }
    });
    signin.session.original_transfer_method = original.and_then(TransferMethod::parse);
    signin.session.refresh = flag(&r.is_interactive) == Some(false);
    signin.session.methods = methods(r, a);
    if let Subject::User {
        external_user_type: Some(kind),
        ..
    } = &signin.subject
        && *kind != ExternalUserType::InternalGuest
    {
        signin.session.home_methods = signin.session.methods;
        a.insert(Assumption::ExternalMethods);
    }
    if let Some(resource_ip) = text(&r.ip_address_from_resource_provider)
        && text(&r.ip_address).is_none_or(|ip| !ip.eq_ignore_ascii_case(resource_ip))
    {
        a.insert(Assumption::ResourceProviderIp);
    }
    if matches!(r.token_protection, Member::Value(_)) {
        a.insert(Assumption::TokenProtection);
    }
    if let Member::Value(agent) = &r.agent
        && let Some(kind) = text(&agent.agent_type)
        && !kind.eq_ignore_ascii_case("notAgentic")
    {
        // An agent identity's own token (a service principal sign-in of an agentic app or
        // app instance) is replayed as the `agentSignIn` it was; other agentic records
        // (agent users, blueprints) are replayed as the identity they name, which the
        // tenant's directory types.
        let identity = kind.eq_ignore_ascii_case("agenticApp")
            || kind.eq_ignore_ascii_case("agenticAppInstance");
        match &signin.subject {
            Subject::ServicePrincipal { id } if identity => {
                signin.subject = Subject::Agent { id: id.clone() };
            }
            _ => {
                a.insert(Assumption::Agent);
            }
        }
    }
    Ok(signin)
}

fn subject(r: &Record<'_>) -> Result<Subject, Skip> {
    if let Some(user) = string("userId", &r.user_id)? {
        let guest = text(&r.user_type).is_some_and(|t| t.eq_ignore_ascii_case("guest"));
        let kind = text(&r.cross_tenant_access_type).and_then(|t| {
            if t.eq_ignore_ascii_case("b2bCollaboration") {
                Some(if guest {
                    ExternalUserType::B2bCollaborationGuest
                } else {
                    ExternalUserType::B2bCollaborationMember
                })
            } else if t.eq_ignore_ascii_case("b2bDirectConnect") {
                Some(ExternalUserType::B2bDirectConnectUser)
            } else if t.eq_ignore_ascii_case("serviceProvider") {
                Some(ExternalUserType::ServiceProvider)
            } else if t.eq_ignore_ascii_case("none") && guest {
                Some(ExternalUserType::InternalGuest)
            } else {
                None
            }
        });
        let home = text(&r.home_tenant_id).map(normalize_id);
        let resource = text(&r.resource_tenant_id).map(normalize_id);
        let external_tenant_id = home.filter(|h| resource.as_ref().is_some_and(|r| r != h));
        return Ok(Subject::User {
            id: normalize_id(user),
            external_tenant_id,
            external_user_type: kind,
        });
    }
    if let Some(sp) = string("servicePrincipalId", &r.service_principal_id)? {
        return Ok(Subject::ServicePrincipal {
            id: normalize_id(sp),
        });
    }
    Err(Skip::new(
        SkipReason::NoUser,
        "no `userId` (nor `servicePrincipalId`)",
    ))
}

fn push_app(apps: &mut Vec<Box<str>>, id: &str) {
    let id = normalize_id(id);
    if !id.is_empty() && !apps.contains(&id) {
        apps.push(id);
    }
}

fn target(r: &Record<'_>, a: &mut Assumptions) -> Result<Target, Skip> {
    let mut apps: Vec<Box<str>> = Vec::with_capacity(2);
    if let Some(audiences) = &r.audiences {
        for id in audiences.0.iter().filter_map(Scalar::as_str) {
            push_app(&mut apps, id);
        }
    }
    if apps.is_empty() {
        if let Some(resource) = string("resourceId", &r.resource_id)? {
            push_app(&mut apps, resource);
        }
        if let Some(app) = string("appId", &r.app_id)? {
            push_app(&mut apps, app);
        }
        if apps.is_empty() {
            return Err(Skip::new(
                SkipReason::NoApplication,
                "no `conditionalAccessAudiences`, `resourceId` nor `appId`",
            ));
        }
        a.insert(Assumption::Applications);
    }
    Ok(Target::Applications(apps))
}

fn device(r: &Record<'_>, s: &mut SignIn, a: &mut Assumptions) -> Result<(), Skip> {
    let Member::Value(d) = &r.device_detail else {
        a.insert(Assumption::Device);
        a.insert(Assumption::DevicePlatform);
        return Ok(());
    };
    let os = string("deviceDetail.operatingSystem", &d.operating_system)?;
    let platform = os.and_then(platform);
    if platform.is_none() {
        a.insert(Assumption::DevicePlatform);
    }
    s.device_platform = platform;
    let Some(id) = string("deviceDetail.deviceId", &d.device_id)? else {
        return Ok(());
    };
    a.insert(Assumption::DeviceProperties);
    let family = match platform {
        Some(DevicePlatform::Windows) => Some("Windows"),
        Some(DevicePlatform::IOS) => Some("iOS"),
        Some(DevicePlatform::Android) => Some("Android"),
        _ => None,
    };
    s.device = Some(DeviceInfo {
        device_id: Some(Box::from(id)),
        display_name: boxed(text(&d.display_name)),
        is_compliant: flag(&d.is_compliant),
        trust_type: text(&d.trust_type).and_then(trust_type).map(Box::from),
        operating_system: family.map(Box::from),
        operating_system_version: os.and_then(os_version).map(Box::from),
        // Intune: the MDM that `isManaged` almost always means.
        mdm_app_id: (flag(&d.is_managed) == Some(true))
            .then(|| Box::from("0000000a-0000-0000-c000-000000000000")),
        ..DeviceInfo::default()
    });
    Ok(())
}

fn methods(r: &Record<'_>, a: &mut Assumptions) -> AuthMethods {
    let mut set = AuthMethods::default();
    let mfa_required = text(&r.authentication_requirement)
        .is_some_and(|t| t.eq_ignore_ascii_case("multiFactorAuthentication"));
    let succeeded = r.status.get().and_then(|s| integer(&s.error_code)) == Some(0);
    let mut details = r.authentication_details.objects().peekable();
    if details.peek().is_some() {
        let mut previously = false;
        for d in details.filter(|d| flag(&d.succeeded) == Some(true)) {
            match text(&d.method).map(method) {
                Some(Method::Known(m)) => set.insert(m),
                Some(Method::Assumed(m)) => {
                    set.insert(m);
                    a.insert(Assumption::AuthenticationMethods);
                }
                Some(Method::Previously) => previously = true,
                Some(Method::Unknown) | None => a.insert(Assumption::AuthenticationMethods),
            }
        }
        if previously {
            a.insert(Assumption::AuthenticationMethods);
            set.insert(AuthMethod::Password);
            if mfa_required {
                set.insert(AuthMethod::MicrosoftAuthenticatorPush);
            }
        }
        return set;
    }
    let mfa = r
        .mfa_detail
        .get()
        .and_then(|m| text(&m.auth_method))
        .map(method);
    set.insert(AuthMethod::Password);
    match mfa {
        Some(Method::Known(m)) if succeeded => set.insert(m),
        _ => {
            a.insert(Assumption::AuthenticationMethods);
            if mfa_required && succeeded {
                set.insert(AuthMethod::MicrosoftAuthenticatorPush);
            }
        }
    }
    set
}

#[cfg(test)]
#[allow(clippy::panic, reason = "test failures report through panics")]
mod tests {
    use super::*;
    use serde_json::json;

    fn rebuilt(v: serde_json::Value) -> Result<Rebuilt, Skip> {
        let text = v.to_string();
        let element: Element<'_> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        rebuild(&element)
    }

    fn entra(extra: serde_json::Value) -> serde_json::Value {
        let mut v = json!({
            "userId": "A1A1A1A1-0000-4000-8000-000000000001",
            "appId": "c0ffee00-0000-4000-8000-000000000100",
            "resourceId": "00000003-0000-0000-c000-000000000000",
            "ipAddress": "203.0.113.50",
            "clientAppUsed": "Browser",
            "status": {"errorCode": 0},
            "deviceDetail": {"deviceId": "", "operatingSystem": "Windows10", "isCompliant": false, "trustType": ""},
            "location": {"countryOrRegion": "br"},
            "riskLevelDuringSignIn": "none",
            "conditionalAccessStatus": "notApplied",
            "appliedConditionalAccessPolicies": [],
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            for (k, x) in e {
                o.insert(k.clone(), x.clone());
            }
        }
        v
    }

    #[test]
    fn an_entra_record_is_rebuilt_with_its_assumptions() {
        let r = rebuilt(entra(json!({}))).unwrap_or_else(|e| panic!("{e:?}"));
        let s = &r.signin;
        assert!(!r.exact);
        assert_eq!(s.client_app_type, Some(ClientAppType::Browser));
        assert_eq!(s.device_platform, Some(DevicePlatform::Windows));
        assert_eq!(s.device, None, "empty deviceId: unregistered");
        assert_eq!(s.country, Some(*b"BR"));
        assert_eq!(s.sign_in_risk, Some(RiskLevel::None));
        assert_eq!(
            s.target,
            Target::Applications(vec![
                Box::from("00000003-0000-0000-c000-000000000000"),
                Box::from("c0ffee00-0000-4000-8000-000000000100"),
            ])
        );
        assert_eq!(&*r.user_id, "a1a1a1a1-0000-4000-8000-000000000001");
        assert_eq!(s.session.methods, AuthMethods::of(&[AuthMethod::Password]));
        let names: Vec<_> = r.assumptions.iter().map(Assumption::as_str).collect();
        assert_eq!(
            names,
            vec![
                "applications",
                "identityRisk",
                "authenticationMethods",
                "authenticationFlow",
                "grantFacts"
            ]
        );
        let logged = r.logged.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((logged.decision, logged.covered), (Decision::Allow, false));
    }

    /// Newer beta members: an external user's methods count in both tenants (trust decides),
    /// a resource provider's different address, token protection and agent sign-ins are
    /// reported as assumptions; `notAgentic` and an equal address are not.
    #[test]
    fn newer_members_are_read_or_reported() {
        let r = rebuilt(entra(json!({
            "userType": "guest",
            "crossTenantAccessType": "b2bCollaboration",
            "homeTenantId": "f0000000-0000-4000-8000-00000000000f",
            "resourceTenantId": "c0000000-0000-4000-8000-00000000000c",
            "ipAddressFromResourceProvider": "198.51.100.7",
            "tokenProtectionStatusDetails": {"signInSessionStatus": "unbound", "signInSessionStatusCode": 1003},
            "agent": {"agentType": "agentIDuser"},
        })))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(r.signin.session.home_methods, r.signin.session.methods);
        assert_eq!(
            r.signin.subject,
            Subject::User {
                id: Box::from("a1a1a1a1-0000-4000-8000-000000000001"),
                external_tenant_id: Some(Box::from("f0000000-0000-4000-8000-00000000000f")),
                external_user_type: Some(ExternalUserType::B2bCollaborationGuest),
            }
        );
        let names: Vec<_> = r.assumptions.iter().map(Assumption::as_str).collect();
        for n in [
            "externalMethods",
            "resourceProviderIp",
            "tokenProtection",
            "agent",
        ] {
            assert!(names.contains(&n), "{n}: {names:?}");
        }
        let r = rebuilt(entra(json!({
            "ipAddressFromResourceProvider": "203.0.113.50",
            "agent": {"agentType": "notAgentic"},
        })))
        .unwrap_or_else(|e| panic!("{e:?}"));
        let names: Vec<_> = r.assumptions.iter().map(Assumption::as_str).collect();
        for n in [
            "externalMethods",
            "resourceProviderIp",
            "tokenProtection",
            "agent",
        ] {
            assert!(!names.contains(&n), "{n}: {names:?}");
        }
        assert_eq!(r.signin.session.home_methods, AuthMethods::default());
        // An agent identity's own token is replayed as an `agentSignIn`, with no assumption.
        let r = rebuilt(entra(json!({
            "userId": null,
            "servicePrincipalId": "a0000000-0000-4000-8000-0000000000a1",
            "agent": {"agentType": "agenticAppInstance"},
        })))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            r.signin.subject,
            Subject::Agent {
                id: Box::from("a0000000-0000-4000-8000-0000000000a1")
            }
        );
        assert!(!r.assumptions.iter().any(|a| a.as_str() == "agent"));
    }

    #[test]
    fn devices_methods_and_flows() {
        let r = rebuilt(entra(json!({
            "clientAppUsed": "IMAP4",
            "deviceDetail": {"deviceId": "d1", "operatingSystem": "Ios 17.1.2", "isCompliant": true,
                             "trustType": "Azure AD registered", "isManaged": true},
            "authenticationRequirement": "multiFactorAuthentication",
            "authenticationDetails": [
                {"authenticationMethod": "Password", "succeeded": true},
                {"authenticationMethod": "Mobile app notification", "succeeded": true},
                {"authenticationMethod": "Text message", "succeeded": false}
            ],
            "authenticationProtocol": "deviceCode",
            "conditionalAccessAudiences": [{"applicationId": "00000002-0000-0ff1-ce00-000000000000"}],
            "location": null,
            "riskLevelDuringSignIn": "hidden",
        })))
        .unwrap_or_else(|e| panic!("{e:?}"));
        let s = &r.signin;
        assert_eq!(s.client_app_type, Some(ClientAppType::Other));
        assert_eq!(s.device_platform, Some(DevicePlatform::IOS));
        let d = s.device.clone().unwrap_or_default();
        assert_eq!(d.is_compliant, Some(true));
        assert_eq!(d.trust_type.as_deref(), Some("Workplace"));
        assert_eq!(d.operating_system.as_deref(), Some("iOS"));
        assert_eq!(d.operating_system_version.as_deref(), Some("17.1.2"));
        assert!(d.mdm_app_id.is_some());
        assert_eq!(
            s.session.methods,
            AuthMethods::of(&[AuthMethod::Password, AuthMethod::MicrosoftAuthenticatorPush])
        );
        assert_eq!(s.transfer_method, Some(TransferMethod::DeviceCodeFlow));
        assert_eq!(
            s.target,
            Target::Applications(vec![Box::from("00000002-0000-0ff1-ce00-000000000000")])
        );
        let names: Vec<_> = r.assumptions.iter().map(Assumption::as_str).collect();
        assert_eq!(
            names,
            vec![
                "deviceProperties",
                "country",
                "signInRisk",
                "identityRisk",
                "grantFacts"
            ]
        );
    }

    #[test]
    fn mfa_is_done_only_when_required_and_succeeded() {
        let ok = rebuilt(entra(
            json!({"authenticationRequirement": "multiFactorAuthentication"}),
        ));
        let interrupted = rebuilt(entra(json!({
            "authenticationRequirement": "multiFactorAuthentication",
            "status": {"errorCode": 50074}
        })));
        let methods = |r: Result<Rebuilt, Skip>| r.map(|r| r.signin.session.methods).ok();
        assert_eq!(
            methods(ok),
            Some(AuthMethods::of(&[
                AuthMethod::Password,
                AuthMethod::MicrosoftAuthenticatorPush
            ]))
        );
        assert_eq!(
            methods(interrupted),
            Some(AuthMethods::of(&[AuthMethod::Password]))
        );
    }

    #[test]
    fn logged_outcomes() {
        let decision = |code: i64| {
            rebuilt(entra(json!({"status": {"errorCode": code}})))
                .ok()
                .map(|r| r.logged.map(|l| (l.decision, l.error_code)))
        };
        assert_eq!(decision(53003), Some(Ok((Decision::Deny, Some(53003)))));
        assert_eq!(decision(530033), Some(Ok((Decision::Deny, Some(530033)))));
        assert_eq!(decision(50076), Some(Ok((Decision::Challenge, None))));
        let skipped = decision(50126).and_then(|r| r.err()).map(|s| s.reason);
        assert_eq!(skipped, Some(SkipReason::NotConditionalAccess));
        let r = rebuilt(entra(json!({
            "status": {"errorCode": 53003},
            "appliedConditionalAccessPolicies": [
                {"id": "P1", "displayName": "one", "result": "success"},
                {"id": "P2", "displayName": "two", "result": "failure"},
                {"id": "P3", "displayName": "three", "result": "reportOnlyFailure"},
            ]
        })));
        let logged = r.ok().and_then(|r| r.logged.ok());
        let logged = logged.unwrap_or_else(|| panic!("no logged outcome"));
        assert!(logged.covered);
        assert_eq!(logged.policies.len(), 2);
        assert_eq!(logged.deciding().map(|p| &*p.id), Some("p2"));
    }

    #[test]
    fn unusable_records_are_skipped_with_a_reason() {
        let reason = |v| rebuilt(v).err().map(|s| (s.reason, s.detail));
        assert_eq!(
            reason(json!({"appId": "a"})).map(|r| r.0),
            Some(SkipReason::NoUser)
        );
        assert_eq!(
            reason(json!({"userId": "u"})).map(|r| r.0),
            Some(SkipReason::NoApplication)
        );
        let bad_ip = reason(entra(json!({"ipAddress": "300.1.1.1"})));
        assert_eq!(bad_ip.as_ref().map(|r| r.0), Some(SkipReason::InvalidField));
        assert!(bad_ip.is_some_and(|r| r.1.contains("300.1.1.1")));
        let wrong_type = reason(entra(json!({"userId": 7})));
        assert_eq!(
            wrong_type,
            Some((
                SkipReason::InvalidField,
                "`userId` is a number, expected a string".to_owned()
            ))
        );
        let bad_request = reason(json!({"userId": "u", "gardien": {"decision": "allow",
            "request": {"signInIdentity": {"userId": "u"}, "signInContext": {"includeApplications": ["a"]},
                        "signInConditions": {"signInRiskLevel": "severe"}}}}));
        assert_eq!(
            bad_request.map(|r| r.1),
            Some("/gardien/request/signInConditions/signInRiskLevel: unknown value `severe`; expected one of `none`, `low`, `medium`, `high`".to_owned())
        );
    }

    #[test]
    fn gardien_records_are_exact() {
        let r = rebuilt(json!({
            "userId": "u", "appId": "a", "appDisplayName": "App", "correlationId": "c1",
            "status": {"errorCode": 50074},
            "gardien": {"decision": "challenge", "request": {
                "signInIdentity": {"userId": "u"},
                "signInContext": {"includeApplications": ["a"]},
                "signInConditions": {"clientAppType": "browser"}}}
        }))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(r.exact && r.assumptions.is_empty());
        assert_eq!(r.signin.client_app_type, Some(ClientAppType::Browser));
        assert_eq!(r.correlation_id.as_deref(), Some("c1"));
        assert_eq!(r.logged.map(|l| l.decision).ok(), Some(Decision::Challenge));
    }

    #[test]
    fn names_of_platforms_and_clients() {
        for (os, p) in [
            ("Windows 10", Some(DevicePlatform::Windows)),
            ("Windows Phone 8", Some(DevicePlatform::WindowsPhone)),
            ("MacOs", Some(DevicePlatform::MacOS)),
            ("Mac OS X", Some(DevicePlatform::MacOS)),
            ("Linux", Some(DevicePlatform::Linux)),
            ("ChromeOS", Some(DevicePlatform::Unknown)),
            ("BeOS", None),
        ] {
            assert_eq!(platform(os), p, "{os}");
        }
        assert_eq!(
            client_app("Exchange ActiveSync"),
            Some(ClientAppType::ExchangeActiveSync)
        );
        assert_eq!(client_app("Authenticated SMTP"), Some(ClientAppType::Other));
        assert_eq!(
            client_app("mobile apps and desktop clients"),
            Some(ClientAppType::MobileAppsAndDesktopClients)
        );
        assert_eq!(client_app("Carrier pigeon"), None);
    }
}

//! The sign-in being evaluated: the Graph `evaluate` request body plus gardien's `session`.
//!
//! Accepts the v1.0 names (`signInIdentity`, `signInContext`, `signInConditions`) and the
//! older beta names (`conditionalAccessWhatIfSubject`, `conditionalAccessContext`,
//! `conditionalAccessWhatIfConditions`) with their `@odata.type`s.

use serde::ser::{Serialize, SerializeMap as _, Serializer};
use serde_json::Value;
use std::net::IpAddr;

use crate::device::DeviceInfo;
use crate::error::LoadError;
use crate::ids::normalize_id;
use crate::json::{
    Node, decode_text, opt_bool, opt_string, parse_value, string_list_max, with_member,
};
use crate::limits::{MAX_ID_LENGTH, MAX_REQUEST_LIST_ITEMS};
use crate::model::directory::{Directory, parse_combination};
use crate::model::enums::{
    AuthMethods, ClientAppType, DevicePlatform, ExternalUserType, InsiderRiskLevel, RiskLevel,
    TransferMethod,
};
use crate::model::policy::UserAction;
use crate::network::parse_ip;

/// Who signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A user (`userSignIn`).
    User {
        /// User object id (normalised).
        id: Box<str>,
        /// Home tenant of an external user.
        external_tenant_id: Option<Box<str>>,
        /// Kind of external user, when the request says so.
        external_user_type: Option<ExternalUserType>,
    },
    /// A workload identity (`servicePrincipalSignIn`).
    ServicePrincipal {
        /// Service principal object id (normalised).
        id: Box<str>,
    },
    /// An agent identity signing in with its own identity (beta `agentSignIn`): the
    /// application-only access pattern of Microsoft Entra Agent ID.
    Agent {
        /// Agent identity object id (`agentServicePrincipalId`, normalised).
        id: Box<str>,
    },
}

/// What the sign-in asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Token request for these resources (application ids, normalised).
    Applications(Vec<Box<str>>),
    /// A user action.
    UserAction(UserAction),
    /// An authentication context (`c1`…`c99`, normalised).
    AuthContext(Box<str>),
}

/// gardien's grant-phase facts about the session (not part of Graph's request).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    /// Authentication methods completed in this (the resource) tenant.
    pub methods: AuthMethods,
    /// Authentication methods an external user completed in their home tenant
    /// (`homeTenantAuthenticationMethods`): they count only when this tenant's inbound
    /// cross-tenant trust accepts MFA from that tenant.
    pub home_methods: AuthMethods,
    /// Terms-of-use agreements accepted (normalised ids).
    pub accepted_terms_of_use: Vec<Box<str>>,
    /// The user changed their password in this session.
    pub password_changed: bool,
    /// The client is an approved client app.
    pub approved_client_app: bool,
    /// The client app has an Intune app protection policy.
    pub app_protection_policy: bool,
    /// Transfer method that created the session (protocol tracking).
    pub original_transfer_method: Option<TransferMethod>,
    /// Seconds since the primary authentication.
    pub seconds_since_authentication: Option<u64>,
    /// Seconds since the last multifactor authentication.
    pub seconds_since_mfa: Option<u64>,
    /// OAuth scopes requested (for baseline-scope handling, spec §3.3.4).
    pub requested_scopes: Vec<Box<str>>,
    /// The client is a confidential client (a web app with its own credential), which
    /// keeps its own audience when it requests only OIDC scopes
    /// (docs/reference/entra-semantics.md §3.3.4).
    pub confidential_client: bool,
    /// Country reported by the Authenticator app's GPS.
    pub gps_country: Option<[u8; 2]>,
    /// The request comes through the Global Secure Access compliant network.
    pub compliant_network: bool,
    /// The address is a known anonymiser (VPN, Tor, proxy), from gardien-signals.
    pub anonymous_network: bool,
    /// The request redeems a refresh token (not an interactive sign-in).
    pub refresh: bool,
}

impl Session {
    /// gardien's `session` member with only what is set.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(SessionJson(self)).unwrap_or_default()
    }

    /// Whether the `session` member would be empty.
    fn is_unset(&self) -> bool {
        self.methods.0 == 0
            && self.home_methods.0 == 0
            && self.accepted_terms_of_use.is_empty()
            && !self.flags().any(|(_, set)| set)
            && self.original_transfer_method.is_none()
            && self.gps_country.is_none()
            && self.requested_scopes.is_empty()
            && self.seconds_since_authentication.is_none()
            && self.seconds_since_mfa.is_none()
    }

    /// The boolean members, in output order.
    fn flags(&self) -> impl Iterator<Item = (&'static str, bool)> {
        [
            ("passwordChanged", self.password_changed),
            ("approvedClientApp", self.approved_client_app),
            ("appProtectionPolicy", self.app_protection_policy),
            ("compliantNetwork", self.compliant_network),
            ("anonymousNetwork", self.anonymous_network),
            ("refresh", self.refresh),
            ("confidentialClient", self.confidential_client),
        ]
        .into_iter()
    }
}

/// A two-letter country code as JSON text.
struct CountryJson([u8; 2]);

impl Serialize for CountryJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(&self.0))
    }
}

/// gardien's `session` member ([`Session::to_json`]), serialized without building a JSON
/// tree.
#[derive(Debug, Clone, Copy)]
pub struct SessionJson<'a>(pub &'a Session);

impl Serialize for SessionJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        let mut m = s.serialize_map(None)?;
        if x.methods.0 != 0 {
            m.serialize_entry(
                "authenticationMethods",
                &crate::report::Names(std::cell::Cell::new(Some(
                    x.methods.iter().map(|m| m.as_str()),
                ))),
            )?;
        }
        if x.home_methods.0 != 0 {
            m.serialize_entry(
                "homeTenantAuthenticationMethods",
                &crate::report::Names(std::cell::Cell::new(Some(
                    x.home_methods.iter().map(|m| m.as_str()),
                ))),
            )?;
        }
        if !x.accepted_terms_of_use.is_empty() {
            m.serialize_entry("acceptedTermsOfUse", &x.accepted_terms_of_use)?;
        }
        for (key, set) in x.flags() {
            if set {
                m.serialize_entry(key, &true)?;
            }
        }
        if let Some(t) = x.original_transfer_method {
            m.serialize_entry("originalTransferMethod", t.as_str())?;
        }
        if let Some(c) = x.gps_country {
            m.serialize_entry("gpsCountry", &CountryJson(c))?;
        }
        if !x.requested_scopes.is_empty() {
            m.serialize_entry("requestedScopes", &x.requested_scopes)?;
        }
        if let Some(n) = x.seconds_since_authentication {
            m.serialize_entry("secondsSinceAuthentication", &n)?;
        }
        if let Some(n) = x.seconds_since_mfa {
            m.serialize_entry("secondsSinceMfa", &n)?;
        }
        m.end()
    }
}

/// The Graph `evaluate` request body of a sign-in ([`SignIn::to_request_json`]), serialized
/// without building a JSON tree (the sign-in log writes one per decision).
#[derive(Debug, Clone, Copy)]
pub struct RequestJson<'a>(pub &'a SignIn);

/// `signInIdentity`.
struct IdentityJson<'a>(&'a Subject);

impl Serialize for IdentityJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self.0 {
            Subject::User {
                id,
                external_tenant_id,
                external_user_type,
            } => {
                m.serialize_entry("@odata.type", "#microsoft.graph.userSignIn")?;
                m.serialize_entry("userId", id)?;
                if let Some(t) = external_tenant_id {
                    m.serialize_entry("externalTenantId", t)?;
                }
                if let Some(t) = external_user_type {
                    m.serialize_entry("externalUserType", t.as_str())?;
                }
            }
            Subject::ServicePrincipal { id } => {
                m.serialize_entry("@odata.type", "#microsoft.graph.servicePrincipalSignIn")?;
                m.serialize_entry("servicePrincipalId", id)?;
            }
            Subject::Agent { id } => {
                m.serialize_entry("@odata.type", "#microsoft.graph.agentSignIn")?;
                m.serialize_entry("agentServicePrincipalId", id)?;
            }
        }
        m.end()
    }
}

/// `signInContext`.
struct ContextJson<'a>(&'a Target);

impl Serialize for ContextJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self.0 {
            Target::Applications(apps) => {
                m.serialize_entry("@odata.type", "#microsoft.graph.applicationContext")?;
                m.serialize_entry("includeApplications", apps)?;
            }
            Target::UserAction(a) => {
                m.serialize_entry("@odata.type", "#microsoft.graph.userActionContext")?;
                m.serialize_entry("userAction", a.request_name())?;
            }
            Target::AuthContext(c) => {
                m.serialize_entry("@odata.type", "#microsoft.graph.authContext")?;
                m.serialize_entry("authenticationContextValue", c)?;
            }
        }
        m.end()
    }
}

/// `signInConditions`.
struct ConditionsJson<'a>(&'a SignIn);

/// `authenticationFlow`.
struct FlowJson(TransferMethod);

impl Serialize for FlowJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("transferMethod", self.0.as_str())?;
        m.end()
    }
}

impl Serialize for ConditionsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        let mut m = s.serialize_map(None)?;
        if let Some(c) = x.client_app_type {
            m.serialize_entry("clientAppType", c.as_str())?;
        }
        if let Some(p) = x.device_platform {
            m.serialize_entry("devicePlatform", p.as_str())?;
        }
        if let Some(ip) = &x.ip_address {
            m.serialize_entry("ipAddress", &crate::network::ip_text(ip))?;
        }
        if let Some(c) = x.country {
            m.serialize_entry("country", &CountryJson(c))?;
        }
        for (key, level) in [
            ("signInRiskLevel", x.sign_in_risk),
            ("userRiskLevel", x.user_risk),
            ("servicePrincipalRiskLevel", x.service_principal_risk),
            ("agentIdRiskLevel", x.agent_risk),
        ] {
            if let Some(r) = level {
                m.serialize_entry(key, r.as_str())?;
            }
        }
        if let Some(r) = x.insider_risk {
            m.serialize_entry("insiderRiskLevel", r.as_str())?;
        }
        if let Some(t) = x.transfer_method {
            m.serialize_entry("authenticationFlow", &FlowJson(t))?;
        }
        if let Some(d) = &x.device {
            m.serialize_entry("deviceInfo", &crate::device::DeviceJson(d))?;
        }
        m.end()
    }
}

impl Serialize for RequestJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("signInIdentity", &IdentityJson(&x.subject))?;
        m.serialize_entry("signInContext", &ContextJson(&x.target))?;
        m.serialize_entry("signInConditions", &ConditionsJson(x))?;
        if x.applied_policies_only {
            m.serialize_entry("appliedPoliciesOnly", &true)?;
        }
        if !x.session.is_unset() {
            m.serialize_entry("session", &SessionJson(&x.session))?;
        }
        m.end()
    }
}

/// A sign-in ready for evaluation. Fields that are `None` were not given by the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// Who signs in.
    pub subject: Subject,
    /// What for.
    pub target: Target,
    /// Client app type.
    pub client_app_type: Option<ClientAppType>,
    /// Device platform (`Unknown` when given as unknown).
    pub device_platform: Option<DevicePlatform>,
    /// Client IP address (IPv4-mapped IPv6 normalised).
    pub ip_address: Option<IpAddr>,
    /// Country of the IP address (upper case), `None` when not given / unknown.
    pub country: Option<[u8; 2]>,
    /// The device, `None` when unregistered.
    pub device: Option<DeviceInfo>,
    /// Sign-in risk.
    pub sign_in_risk: Option<RiskLevel>,
    /// User risk.
    pub user_risk: Option<RiskLevel>,
    /// Service principal risk.
    pub service_principal_risk: Option<RiskLevel>,
    /// Insider risk.
    pub insider_risk: Option<InsiderRiskLevel>,
    /// Agent risk (beta `agentIdRiskLevel`): ID Protection's risk of the agent identity or
    /// agent user signing in.
    pub agent_risk: Option<RiskLevel>,
    /// Transfer method of this request (`authenticationFlow.transferMethod`).
    pub transfer_method: Option<TransferMethod>,
    /// Only list applying policies (what-if).
    pub applied_policies_only: bool,
    /// Grant-phase session facts.
    pub session: Session,
    /// The instant the sign-in is decided at (Unix seconds, UTC), for Entra's dated behaviour
    /// changes ([`crate::dated`]); `None`: the latest behaviour. Not part of the request body:
    /// the CLI's `--now`, the server's request time or a log record's `createdDateTime`.
    pub at: Option<i64>,
}

impl SignIn {
    /// The Graph `evaluate` request body (v1.0 names) plus gardien's `session` member: what
    /// [`SignIn::from_value`] reads back to an equal sign-in. Used to show a sign-in built
    /// from an HTTP request (`gardien signin`) and to store it for replay.
    pub fn to_request_json(&self) -> Value {
        serde_json::to_value(RequestJson(self)).unwrap_or_default()
    }

    /// A sign-in of `subject` to `target` with nothing else known (every condition input
    /// absent, empty session).
    pub fn new(subject: Subject, target: Target) -> SignIn {
        SignIn {
            subject,
            target,
            client_app_type: None,
            device_platform: None,
            ip_address: None,
            country: None,
            device: None,
            sign_in_risk: None,
            user_risk: None,
            service_principal_risk: None,
            insider_risk: None,
            agent_risk: None,
            transfer_method: None,
            applied_policies_only: false,
            session: Session::default(),
            at: None,
        }
    }

    /// A minimal user sign-in to `apps` (used by tests, benches and counterfactual search).
    pub fn user(id: &str, apps: &[&str]) -> SignIn {
        SignIn::new(
            Subject::User {
                id: normalize_id(id),
                external_tenant_id: None,
                external_user_type: None,
            },
            Target::Applications(apps.iter().map(|a| normalize_id(a)).collect()),
        )
    }

    /// Parses a request file (JSON, UTF-8 or UTF-16). Ids are taken as written: this reads
    /// gardien's own records (sign-in log, stored requests) and internal requests. Input a
    /// person wrote goes through [`SignIn::parse_in`], which resolves names through the
    /// tenant's directory and refuses those that resolve to nothing.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<SignIn, LoadError> {
        let text = decode_text(file, bytes)?;
        let value = parse_value(file, &text)?;
        SignIn::from_value(file, &value).map_err(|mut e| {
            e.locate_in(&text);
            e
        })
    }

    /// Parses a request file, resolving names through `directory` (see
    /// [`SignIn::from_value_in`]). Errors carry the line and column of the offending member.
    pub fn parse_in(file: &str, bytes: &[u8], directory: &Directory) -> Result<SignIn, LoadError> {
        let text = decode_text(file, bytes)?;
        let value = parse_value(file, &text)?;
        SignIn::from_value_in(file, &value, directory).map_err(|mut e| {
            e.locate_in(&text);
            e
        })
    }

    /// Reads a request from parsed JSON, ids as written (see [`SignIn::parse`]). A member that
    /// the evaluate body (or gardien's `session`) does not define is an error with the nearest
    /// known name.
    pub fn from_value(file: &str, value: &Value) -> Result<SignIn, LoadError> {
        check_members(file, value)?;
        SignIn::read(file, value)
    }

    /// Reads a request a person wrote, resolving names through `directory`.
    ///
    /// Members are checked as in [`SignIn::from_value`]. A `userId` with an `@` is a user
    /// principal name and an application that is no id is a service principal display name:
    /// each resolves to exactly one directory object or is an error naming the candidates,
    /// never an id of that literal text (an empty directory resolves nothing).
    pub fn from_value_in(
        file: &str,
        value: &Value,
        directory: &Directory,
    ) -> Result<SignIn, LoadError> {
        check_members(file, value)?;
        let resolved = crate::names::resolve_request(file, value, directory)?;
        let value = resolved.as_ref().unwrap_or(value);
        SignIn::read(file, value)
    }

    fn read(file: &str, value: &Value) -> Result<SignIn, LoadError> {
        let root = Node::root(file, "", value);
        root.object("an evaluate request")?;
        let subject = member_any(
            &root,
            &["signInIdentity", "conditionalAccessWhatIfSubject"],
            |n| read_subject(&n),
        )?
        .ok_or_else(|| root.error("missing `signInIdentity`"))?;
        let target = member_any(&root, &["signInContext", "conditionalAccessContext"], |n| read_target(&n))?
            .ok_or_else(|| root.error("missing `signInContext`").with_help(
                "add {\"@odata.type\":\"#microsoft.graph.applicationContext\",\"includeApplications\":[\"<appId>\"]}",
            ))?;
        let mut signin = SignIn::new(subject, target);
        signin.applied_policies_only = opt_bool(&root, "appliedPoliciesOnly")?.unwrap_or(false);
        member_any(
            &root,
            &["signInConditions", "conditionalAccessWhatIfConditions"],
            |n| read_conditions(&n, &mut signin),
        )?;
        with_member(&root, "session", |s| match s {
            None => Ok(()),
            Some(s) => read_session(&s, &mut signin.session),
        })?;
        Ok(signin)
    }
}

/// The first member of a request that the evaluate body (or gardien's `session`) does not
/// define, as an error with the nearest known name.
fn check_members(file: &str, value: &Value) -> Result<(), LoadError> {
    match crate::schema::unknown_members(value, &crate::schema::REQUEST)
        .into_iter()
        .next()
    {
        None => Ok(()),
        Some(u) => Err(LoadError::new(file, u.pointer.clone(), u.reason())
            .with_code(crate::error::UNKNOWN_MEMBER)
            .with_help(u.help(true))),
    }
}

/// A list member of the request: at most [`MAX_REQUEST_LIST_ITEMS`] strings.
fn list<'a>(node: &Node<'a>, key: &'a str) -> Result<Vec<String>, LoadError> {
    string_list_max(node, key, MAX_REQUEST_LIST_ITEMS)
}

/// An id of the request at `pointer`, normalised: at most [`MAX_ID_LENGTH`] characters.
fn id(node: &Node<'_>, pointer: &str, text: &str) -> Result<Box<str>, LoadError> {
    id_at(node, || pointer.to_owned(), text)
}

/// [`id`], with the pointer built only for an error.
fn id_at(
    node: &Node<'_>,
    pointer: impl FnOnce() -> String,
    text: &str,
) -> Result<Box<str>, LoadError> {
    let text_trimmed = text.trim();
    // A byte count under the limit is a character count under it (most ids are GUIDs).
    if text_trimmed.len() > MAX_ID_LENGTH {
        let length = text_trimmed.chars().count();
        if length > MAX_ID_LENGTH {
            return Err(LoadError::new(
                node.file,
                format!("{}{}", node.pointer(), pointer()),
                format!("id is {length} characters long; the limit is {MAX_ID_LENGTH}"),
            ));
        }
    }
    Ok(normalize_id(text))
}

/// A list of ids of the request ([`list`] and [`id`]).
fn ids<'a>(node: &Node<'a>, key: &'a str) -> Result<Vec<Box<str>>, LoadError> {
    list(node, key)?
        .iter()
        .enumerate()
        .map(|(i, text)| id_at(node, || format!("/{key}/{i}"), text))
        .collect()
}

fn member_any<T>(
    node: &Node<'_>,
    keys: &[&'static str],
    f: impl FnOnce(Node<'_>) -> Result<T, LoadError>,
) -> Result<Option<T>, LoadError> {
    for key in keys {
        if node.value.get(*key).is_some_and(|v| !v.is_null()) {
            return with_member(node, key, |n| match n {
                Some(n) => f(n).map(Some),
                None => Ok(None),
            });
        }
    }
    Ok(None)
}

fn odata_type<'a>(node: &Node<'a>) -> &'a str {
    node.value
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim_start_matches('#')
        .trim_start_matches("microsoft.graph.")
}

fn read_subject(node: &Node<'_>) -> Result<Subject, LoadError> {
    node.object("signInIdentity")?;
    let t = odata_type(node);
    let user_id = opt_string(node, "userId")?;
    let sp_id = opt_string(node, "servicePrincipalId")?;
    let is_user = t.eq_ignore_ascii_case("userSignIn") || t.eq_ignore_ascii_case("userSubject");
    let is_sp = t.eq_ignore_ascii_case("servicePrincipalSignIn")
        || t.eq_ignore_ascii_case("servicePrincipalSubject");
    let agent_id = opt_string(node, "agentServicePrincipalId")?;
    if t.eq_ignore_ascii_case("agentSignIn")
        || (t.is_empty() && agent_id.is_some() && user_id.is_none() && sp_id.is_none())
    {
        let agent_id = agent_id.ok_or_else(|| node.error("missing `agentServicePrincipalId`"))?;
        return Ok(Subject::Agent {
            id: id(node, "/agentServicePrincipalId", &agent_id)?,
        });
    }
    if is_sp || (t.is_empty() && sp_id.is_some() && user_id.is_none()) {
        let sp_id = sp_id.ok_or_else(|| node.error("missing `servicePrincipalId`"))?;
        return Ok(Subject::ServicePrincipal {
            id: id(node, "/servicePrincipalId", &sp_id)?,
        });
    }
    if !is_user && !t.is_empty() {
        return Err(node.error(format!(
            "unsupported sign-in identity `@odata.type` `{t}`; expected `#microsoft.graph.userSignIn`, `#microsoft.graph.servicePrincipalSignIn` or `#microsoft.graph.agentSignIn`"
        )));
    }
    let user_id = user_id.ok_or_else(|| node.error("missing `userId`"))?;
    if user_id.trim().is_empty() {
        return Err(node.error("`userId` is empty"));
    }
    let external_user_type = match opt_string(node, "externalUserType")? {
        None => None,
        Some(t) if t.eq_ignore_ascii_case("none") || t.is_empty() => None,
        Some(t) => Some(ExternalUserType::parse(&t).ok_or_else(|| {
            LoadError::new(
                node.file,
                format!("{}/externalUserType", node.pointer()),
                format!(
                    "unknown external user type `{t}`; expected one of {}",
                    ExternalUserType::expected()
                ),
            )
        })?),
    };
    let external_tenant_id = opt_string(node, "externalTenantId")?
        .map(|t| id(node, "/externalTenantId", &t))
        .transpose()?;
    Ok(Subject::User {
        id: id(node, "/userId", &user_id)?,
        external_tenant_id,
        external_user_type,
    })
}

fn read_target(node: &Node<'_>) -> Result<Target, LoadError> {
    node.object("signInContext")?;
    let t = odata_type(node);
    let is = |name: &str| t.eq_ignore_ascii_case(name);
    if is("userActionContext")
        || is("whatIfUserActionContext")
        || (t.is_empty() && node.value.get("userAction").is_some())
    {
        let action =
            opt_string(node, "userAction")?.ok_or_else(|| node.error("missing `userAction`"))?;
        let parsed = [
            UserAction::RegisterSecurityInformation,
            UserAction::RegisterOrJoinDevices,
        ]
        .into_iter()
        .find(|u| {
            u.request_name().eq_ignore_ascii_case(&action) || u.urn().eq_ignore_ascii_case(&action)
        });
        return parsed.map(Target::UserAction).ok_or_else(|| {
            LoadError::new(node.file, format!("{}/userAction", node.pointer()), format!(
                "unknown user action `{action}`; expected `registerSecurityInformation` or `registerOrJoinDevices`"
            ))
        });
    }
    if is("authContext")
        || is("whatIfAuthenticationContext")
        || (t.is_empty()
            && (node.value.get("authenticationContextValue").is_some()
                || node.value.get("authenticationContext").is_some()))
    {
        let (key, value) = match opt_string(node, "authenticationContextValue")? {
            Some(v) => ("/authenticationContextValue", v),
            None => (
                "/authenticationContext",
                opt_string(node, "authenticationContext")?
                    .ok_or_else(|| node.error("missing `authenticationContextValue`"))?,
            ),
        };
        return Ok(Target::AuthContext(id(node, key, &value)?));
    }
    if is("applicationContext") || is("whatIfApplicationContext") || t.is_empty() {
        let apps = ids(node, "includeApplications")?;
        if apps.is_empty() {
            return Err(node.error("`includeApplications` is empty: name the application (resource app id) the sign-in is for"));
        }
        return Ok(Target::Applications(apps));
    }
    Err(node.error(format!(
        "unsupported sign-in context `@odata.type` `{t}`; expected `applicationContext`, `userActionContext` or `authContext`"
    )))
}

/// An enum member: absent, one of the `absent` spellings (which mean "not given", e.g.
/// `hidden` risk), or a value `parse` accepts; anything else is an error naming the member.
fn enum_member<T>(
    node: &Node<'_>,
    key: &'static str,
    absent: &[&str],
    parse: impl Fn(&str) -> Option<T>,
    expected: impl Fn() -> String,
) -> Result<Option<T>, LoadError> {
    match opt_string(node, key)? {
        None => Ok(None),
        Some(v) if v.trim().is_empty() || absent.iter().any(|a| v.eq_ignore_ascii_case(a)) => {
            Ok(None)
        }
        Some(v) => parse(&v).map(Some).ok_or_else(|| {
            LoadError::new(
                node.file,
                format!("{}/{key}", node.pointer()),
                format!("unknown value `{v}`; expected one of {}", expected()),
            )
        }),
    }
}

fn country(node: &Node<'_>, key: &'static str) -> Result<Option<[u8; 2]>, LoadError> {
    match opt_string(node, key)? {
        None => Ok(None),
        Some(c) => match c.trim().as_bytes() {
            [] => Ok(None),
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Ok(Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => Err(LoadError::new(
                node.file,
                format!("{}/{key}", node.pointer()),
                format!("`{c}` is not a two-letter country or region code"),
            )),
        },
    }
}

fn read_conditions(node: &Node<'_>, s: &mut SignIn) -> Result<(), LoadError> {
    node.object("signInConditions")?;
    s.client_app_type = enum_member(
        node,
        "clientAppType",
        &["all"],
        |v| match v {
            _ if v.eq_ignore_ascii_case("easSupported")
                || v.eq_ignore_ascii_case("easUnsupported") =>
            {
                Some(ClientAppType::ExchangeActiveSync)
            }
            _ if v.eq_ignore_ascii_case("modern") => {
                Some(ClientAppType::MobileAppsAndDesktopClients)
            }
            _ => ClientAppType::parse(v),
        },
        ClientAppType::expected,
    )?;
    s.device_platform = enum_member(
        node,
        "devicePlatform",
        &[],
        |v| {
            if v.eq_ignore_ascii_case("unknownFutureValue") {
                Some(DevicePlatform::Unknown)
            } else {
                DevicePlatform::parse(v)
            }
        },
        DevicePlatform::expected,
    )?;
    s.ip_address = match opt_string(node, "ipAddress")? {
        None => None,
        Some(ip) if ip.trim().is_empty() => None,
        Some(ip) => Some(parse_ip(&ip).map_err(|e| {
            LoadError::new(
                node.file,
                format!("{}/ipAddress", node.pointer()),
                e.to_string(),
            )
        })?),
    };
    s.country = country(node, "country")?;
    s.sign_in_risk = enum_member(
        node,
        "signInRiskLevel",
        RISK_UNSET,
        RiskLevel::parse,
        RiskLevel::expected,
    )?;
    s.user_risk = enum_member(
        node,
        "userRiskLevel",
        RISK_UNSET,
        RiskLevel::parse,
        RiskLevel::expected,
    )?;
    s.service_principal_risk = enum_member(
        node,
        "servicePrincipalRiskLevel",
        RISK_UNSET,
        RiskLevel::parse,
        RiskLevel::expected,
    )?;
    s.insider_risk = enum_member(
        node,
        "insiderRiskLevel",
        RISK_UNSET,
        InsiderRiskLevel::parse,
        InsiderRiskLevel::expected,
    )?;
    s.agent_risk = enum_member(
        node,
        "agentIdRiskLevel",
        RISK_UNSET,
        RiskLevel::parse,
        RiskLevel::expected,
    )?;
    s.transfer_method = with_member(node, "authenticationFlow", |f| match f {
        None => Ok(None),
        Some(f) => enum_member(
            &f,
            "transferMethod",
            &[],
            TransferMethod::parse,
            TransferMethod::expected,
        ),
    })?;
    s.device = with_member(node, "deviceInfo", |d| {
        d.map(|d| crate::device::read_device(&d)).transpose()
    })?;
    Ok(())
}

/// Risk spellings that carry no level: Graph's `hidden` (not shown to this caller) and the
/// evolvable-enum sentinel. They read as "not given".
const RISK_UNSET: &[&str] = &["hidden", "unknownFutureValue"];

fn read_session(node: &Node<'_>, s: &mut Session) -> Result<(), LoadError> {
    node.object("session")?;
    for (key, slot) in [
        ("authenticationMethods", &mut s.methods),
        ("homeTenantAuthenticationMethods", &mut s.home_methods),
    ] {
        for (i, m) in list(node, key)?.iter().enumerate() {
            match parse_combination(m) {
                Ok(set) => slot.0 |= set.0,
                Err(reason) => {
                    return Err(LoadError::new(
                        node.file,
                        format!("{}/{key}/{i}", node.pointer()),
                        reason,
                    ));
                }
            }
        }
    }
    s.accepted_terms_of_use = ids(node, "acceptedTermsOfUse")?;
    s.password_changed = opt_bool(node, "passwordChanged")?.unwrap_or(false);
    s.approved_client_app = opt_bool(node, "approvedClientApp")?.unwrap_or(false);
    s.app_protection_policy = opt_bool(node, "appProtectionPolicy")?.unwrap_or(false);
    s.compliant_network = opt_bool(node, "compliantNetwork")?.unwrap_or(false);
    s.anonymous_network = opt_bool(node, "anonymousNetwork")?.unwrap_or(false);
    s.refresh = opt_bool(node, "refresh")?.unwrap_or(false);
    s.confidential_client = opt_bool(node, "confidentialClient")?.unwrap_or(false);
    s.original_transfer_method = enum_member(
        node,
        "originalTransferMethod",
        &[],
        TransferMethod::parse,
        TransferMethod::expected,
    )?;
    s.gps_country = country(node, "gpsCountry")?;
    s.requested_scopes = list(node, "requestedScopes")?
        .iter()
        .map(|t| normalize_id(t))
        .collect();
    for (key, slot) in [
        (
            "secondsSinceAuthentication",
            &mut s.seconds_since_authentication,
        ),
        ("secondsSinceMfa", &mut s.seconds_since_mfa),
    ] {
        *slot = match node.value.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(n.as_u64().ok_or_else(|| {
                LoadError::new(
                    node.file,
                    format!("{}/{key}", node.pointer()),
                    "expected a non-negative whole number of seconds",
                )
            })?),
            Some(_) => {
                return Err(LoadError::new(
                    node.file,
                    format!("{}/{key}", node.pointer()),
                    "expected a number of seconds",
                ));
            }
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The request JSON keeps its member order (records written before and after compare
    /// as text) and writes only what is set.
    #[test]
    fn request_json_member_order() {
        let mut s = SignIn::user("U1", &["A1", "a2"]);
        assert_eq!(
            s.to_request_json().to_string(),
            r##"{"signInIdentity":{"@odata.type":"#microsoft.graph.userSignIn","userId":"u1"},"signInContext":{"@odata.type":"#microsoft.graph.applicationContext","includeApplications":["a1","a2"]},"signInConditions":{}}"##
        );
        s.client_app_type = Some(ClientAppType::Browser);
        s.device_platform = Some(DevicePlatform::Windows);
        s.ip_address = "2001:db8::1".parse().ok();
        s.country = Some(*b"FR");
        s.sign_in_risk = Some(RiskLevel::High);
        s.user_risk = Some(RiskLevel::Low);
        s.insider_risk = Some(InsiderRiskLevel::Minor);
        s.transfer_method = Some(TransferMethod::DeviceCodeFlow);
        let mut device = DeviceInfo {
            device_id: Some("d1".into()),
            trust_type: Some("AzureAD".into()),
            is_compliant: Some(true),
            system_labels: vec!["M365Managed".into()],
            ..DeviceInfo::default()
        };
        device.extension_attributes[1] = Some("finance".into());
        s.device = Some(device);
        s.applied_policies_only = true;
        s.session.methods = AuthMethods::of(&[
            crate::model::enums::AuthMethod::Password,
            crate::model::enums::AuthMethod::Fido2,
        ]);
        s.session.anonymous_network = true;
        s.session.refresh = true;
        s.session.gps_country = Some(*b"DE");
        s.session.seconds_since_mfa = Some(30);
        let expected = json!({
            "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": "u1"},
            "signInContext": {"@odata.type": "#microsoft.graph.applicationContext",
                              "includeApplications": ["a1", "a2"]},
            "signInConditions": {
                "clientAppType": "browser", "devicePlatform": "windows",
                "ipAddress": "2001:db8::1", "country": "FR", "signInRiskLevel": "high",
                "userRiskLevel": "low", "insiderRiskLevel": "minor",
                "authenticationFlow": {"transferMethod": "deviceCodeFlow"},
                "deviceInfo": {"deviceId": "d1", "trustType": "AzureAD", "isCompliant": true,
                               "systemLabels": ["M365Managed"],
                               "extensionAttribute2": "finance"}},
            "appliedPoliciesOnly": true,
            "session": {"authenticationMethods": ["password", "fido2"],
                        "anonymousNetwork": true, "refresh": true, "gpsCountry": "DE",
                        "secondsSinceMfa": 30}
        });
        let written = s.to_request_json();
        // Same members in the same order (serde_json keeps insertion order).
        assert_eq!(written.to_string(), expected.to_string());
        assert_eq!(SignIn::from_value("r.json", &written).ok(), Some(s));
    }

    fn conditions(c: Value) -> Result<SignIn, LoadError> {
        SignIn::from_value(
            "r.json",
            &json!({
                "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": "u1"},
                "signInContext": {"@odata.type": "#microsoft.graph.applicationContext",
                                  "includeApplications": ["All"]},
                "signInConditions": c,
            }),
        )
    }

    #[test]
    fn unset_spellings_read_as_not_given() {
        let s = conditions(
            json!({"signInRiskLevel": "hidden", "userRiskLevel": "unknownFutureValue",
                                  "clientAppType": "all", "devicePlatform": "unknownFutureValue"}),
        );
        assert!(s.is_ok(), "{s:?}");
        let Ok(s) = s else { return };
        assert_eq!(s.sign_in_risk, None);
        assert_eq!(s.user_risk, None);
        assert_eq!(s.client_app_type, None);
        assert_eq!(s.device_platform, Some(DevicePlatform::Unknown));
    }

    #[test]
    fn legacy_client_spellings_are_aliases() {
        for (text, expected) in [
            ("easSupported", ClientAppType::ExchangeActiveSync),
            ("EASUNSUPPORTED", ClientAppType::ExchangeActiveSync),
            ("modern", ClientAppType::MobileAppsAndDesktopClients),
            ("browser", ClientAppType::Browser),
        ] {
            let s = conditions(json!({"clientAppType": text})).map(|s| s.client_app_type);
            assert_eq!(s.ok().flatten(), Some(expected), "{text}");
        }
    }

    #[test]
    fn unknown_values_name_the_member() {
        let e = conditions(json!({"signInRiskLevel": "severe"})).err();
        let e = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("/signInConditions/signInRiskLevel"), "{e}");
        assert!(e.contains("unknown value `severe`"), "{e}");
        let e = conditions(json!({"devicePlatform": "amiga"})).err();
        assert!(e.is_some_and(|e| e.to_string().contains("devicePlatform")));
    }
}

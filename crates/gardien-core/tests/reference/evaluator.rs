//! A plain reference evaluator of Conditional Access, written straight from
//! `docs/reference/entra-semantics.md` (and, where it leaves a choice open, from the
//! decisions recorded in `docs/semantics.md`). It exists only to be compared with
//! gardien-core.
//!
//! It reads the **Graph JSON** directly (`serde_json::Value`: policies, named locations,
//! directory, the evaluate request) and never calls gardien-core's compiler, evaluator,
//! network, filter or membership code. Simple beats fast: linear scans, `String`
//! comparisons, recursive group closure, CIDR matching by masking `u128`, the small filter
//! interpreter in `filter.rs`.
//!
//! Structure, in the order of the spec:
//!
//! 1. [`Request::read`]: the evaluate body (docs/reference/entra-semantics.md §6.2) plus gardien's
//!    `session`, in plain form.
//! 2. Per policy (docs/reference/entra-semantics.md §3.2), every *configured* condition gives a
//!    three-valued [`Tri`] (`Unknown` only in what-if mode, when the request lacks the input,
//!    docs/reference/entra-semantics.md §3.5): users / workload identities, target resources / user
//!    actions / authentication contexts, platforms, device filter or legacy device states, client
//!    app types, locations, sign-in / user / service-principal / insider risk, authentication
//!    flows. The policy applies when every condition is `Yes`.
//! 3. Grant state of an applying policy (docs/reference/entra-semantics.md §3.3.1) and its sign-in
//!    frequency.
//! 4. The decision across enforced policies (docs/reference/entra-semantics.md §3.3.2, §3.10), the
//!    per-policy sign-in log result (§3.4, §5.2) and the merged session controls (§3.3.3).
//! 5. What-if (docs/reference/entra-semantics.md §6.4): `policyApplies` and the `analysisReasons`
//!    flags.
//!
//! Choices where the spec is open, taken from `docs/semantics.md` (and noted where used):
//! a missing client app type meets the condition in enforcement; `other` clients present no
//! device and no MFA claim while Exchange ActiveSync may; `AllTrusted` includes the
//! compliant network and needs the IP address in what-if; service-principal risk is
//! reported as `workloadIdentities`; a guest without a stated kind is a B2B collaboration
//! guest; `MicrosoftAdminPortals` ("interactive sign-ins to" the portals, §1.3) also covers
//! refresh-token requests to them, which a security engineer expects to stay protected.
//!
//! External users (docs/reference/entra-semantics.md §3.3.1, last bullet; Microsoft Learn "Authentication and
//! Conditional Access for External ID"): every guest or external kind but a local guest is
//! external; the tenant's `crossTenantAccess` (partner entry for the home tenant, else the
//! default) says whether the home tenant's MFA, compliant-device and hybrid-joined claims
//! count. With MFA trust only the home tenant's methods count and unmet MFA is a challenge
//! (done at home); without it MFA is done here with the methods Learn's Table 1 lists for the
//! resource tenant (SMS, voice, Authenticator push, software OATH, beside a first factor),
//! and a B2B direct connect user, who can do nothing here, fails. Approved app, app
//! protection and password change fail for every external user; terms of use, custom
//! controls, sign-in frequency and the app-enforced / App Control / persistent-browser
//! session controls do not exist for direct connect users. The device-code flow and
//! authentication transfer (current or original) carry no device: device controls fail with
//! 530033. A confidential client asking only for OIDC scopes keeps its own audience.
//!
//! Agent identities (preview; Microsoft Learn "Conditional Access for agent identities",
//! "Target agent identities in Microsoft Entra Conditional Access policies"): an
//! `agentSignIn`, or a service principal the directory types `agentIdentity`, is an agent
//! identity, assigned only by `clientApplications.includeAgentIdServicePrincipals` (`All`,
//! its id, its app id or its blueprint's app id, or the attribute filter on a directory
//! agent), never by user or workload assignments; a user the directory types `agentUser`
//! (or with an `identityParentId`) is an agent user, included only by `AllAgentIdUsers` or
//! its id and excluded only by its id. A blueprint principal asking only for Microsoft
//! Graph, and any agent asking only for the token exchange endpoint, are not evaluated at
//! all. Agent risk (`agentIdRiskLevels`) reads `agentIdRiskLevel`; a missing level is `none`
//! except for an agent in what-if. Agents can meet no control but an agent user's compliant
//! device. `AllAgentIdResources` covers the directory's agent identities and blueprints.
//!
//! Deliberately not modelled (the generator does not produce them): `riskRemediation`,
//! inline authentication strengths, the
//! confidential-client baseline directory scopes, `everyTime` with `secondaryAuthentication`, nested
//! `extensionAttributes` in `deviceInfo`, escapes inside filter strings, and anything the
//! loader rejects (only valid tenants are generated).

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde_json::Value;

use crate::filter::{self, Actual};

// ---------------------------------------------------------------------------------------
// Small helpers over JSON.
// ---------------------------------------------------------------------------------------

/// Ids and special tokens compare case-insensitively (docs/reference/entra-semantics.md §1.15).
fn same(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// A string array member (absent or null: empty).
fn strings(v: &Value, key: &str) -> Vec<String> {
    match v.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn has(list: &[String], token: &str) -> bool {
    list.iter().any(|x| same(x, token))
}

fn text<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// A member that is present and not null.
fn member<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.get(key).filter(|x| !x.is_null())
}

/// A flags enum serialised as one comma-separated string (docs/reference/entra-semantics.md §1.15),
/// lower-cased.
fn flags(v: &Value, key: &str) -> Option<Vec<String>> {
    let s = text(v, key)?;
    Some(
        s.split(',')
            .map(|p| p.trim().to_lowercase())
            .filter(|p| !p.is_empty() && p != "unknownfuturevalue" && p != "none")
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------
// Three-valued logic.
// ---------------------------------------------------------------------------------------

/// The result of one condition: met, not met, or (what-if only) undecidable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tri {
    /// Satisfied.
    Yes,
    /// Not satisfied.
    No,
    /// The request lacks the input (what-if `notEnoughInformation`).
    Unknown,
}

impl Tri {
    fn of(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }
    fn or(self, other: Tri) -> Tri {
        if self == Tri::Yes || other == Tri::Yes {
            Tri::Yes
        } else if self == Tri::Unknown || other == Tri::Unknown {
            Tri::Unknown
        } else {
            Tri::No
        }
    }
    fn and(self, other: Tri) -> Tri {
        self.not().or(other.not()).not()
    }
    fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Unknown => Tri::Unknown,
        }
    }
    /// Kleene OR over a list (empty: `No`).
    fn any(items: impl IntoIterator<Item = Tri>) -> Tri {
        items.into_iter().fold(Tri::No, Tri::or)
    }
}

/// Enforcement (missing inputs take their documented defaults) or what-if (missing inputs
/// make conditions undecidable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `evaluate`.
    Enforce,
    /// `whatif`.
    WhatIf,
}

/// The condition families, with their names in What If reasons (docs/reference/entra-semantics.md
/// §6.4) and in the sign-in log's `conditionsSatisfied` flags (docs/reference/entra-semantics.md
/// §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cond {
    /// Users, groups, roles, guests.
    Users,
    /// Workload identities.
    WorkloadIdentities,
    /// Target resources.
    Application,
    /// User actions.
    UserActions,
    /// Authentication contexts.
    AuthenticationContext,
    /// Device platforms.
    DevicePlatform,
    /// Device filter / device states.
    Devices,
    /// Client app types.
    ClientApps,
    /// Locations.
    Location,
    /// Sign-in risk.
    SignInRisk,
    /// User risk.
    UserRisk,
    /// Service principal risk.
    ServicePrincipalRisk,
    /// Insider risk.
    InsiderRisk,
    /// Authentication flows.
    AuthenticationFlow,
    /// Agent identities (own identity).
    AgentIdentities,
    /// Agents' user accounts.
    AgentUsers,
    /// Agent risk.
    AgentIdRisk,
}

impl Cond {
    /// `whatIfAnalysisReasons` member and value. Graph has no service-principal-risk
    /// reason: it is reported as `workloadIdentities` [gardien decision].
    pub fn what_if(self) -> (&'static str, u32) {
        match self {
            Cond::Users => ("users", 4),
            Cond::WorkloadIdentities | Cond::ServicePrincipalRisk => ("workloadIdentities", 8),
            Cond::Application => ("application", 16),
            Cond::UserActions => ("userActions", 32),
            Cond::AuthenticationContext => ("authenticationContext", 64),
            Cond::DevicePlatform => ("devicePlatform", 128),
            Cond::Devices => ("devices", 256),
            Cond::ClientApps => ("clientApps", 512),
            Cond::Location => ("location", 1024),
            Cond::SignInRisk => ("signInRisk", 2048),
            Cond::UserRisk => ("userRisk", 32768),
            Cond::InsiderRisk => ("insiderRisk", 131072),
            Cond::AuthenticationFlow => ("authenticationFlow", 262144),
            Cond::AgentIdRisk => ("agentIdRisk", 1048576),
            Cond::AgentIdentities | Cond::AgentUsers => ("agentIdentities", 2097152),
        }
    }

    /// `conditionalAccessConditions` member and value (sign-in log).
    pub fn log(self) -> (&'static str, u32) {
        match self {
            Cond::Application | Cond::UserActions | Cond::AuthenticationContext => {
                ("application", 1)
            }
            Cond::Users => ("users", 2),
            Cond::DevicePlatform => ("devicePlatform", 4),
            Cond::Location => ("location", 8),
            Cond::ClientApps => ("clientType", 16),
            Cond::SignInRisk => ("signInRisk", 32),
            Cond::UserRisk => ("userRisk", 64),
            Cond::Devices => ("deviceState", 256),
            Cond::WorkloadIdentities => ("servicePrincipals", 8192),
            Cond::ServicePrincipalRisk => ("servicePrincipalRisk", 16384),
            Cond::AuthenticationFlow => ("authenticationFlows", 32768),
            Cond::InsiderRisk => ("insiderRisk", 65536),
            Cond::AgentIdentities => ("servicePrincipals", 8192),
            Cond::AgentUsers => ("users", 2),
            Cond::AgentIdRisk => ("servicePrincipalRisk", 16384),
        }
    }
}

/// Joins flag names in value order, without duplicates; `none_text` when empty.
pub fn join_flags(mut items: Vec<(&'static str, u32)>, none_text: &str) -> String {
    items.sort_by_key(|(_, v)| *v);
    items.dedup();
    if items.is_empty() {
        return none_text.to_owned();
    }
    items.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(",")
}

// ---------------------------------------------------------------------------------------
// Well-known ids (docs/reference/entra-semantics.md §1.3, §1.8, §1.12).
// ---------------------------------------------------------------------------------------

/// Office 365 Exchange Online and SharePoint Online: the `Office365` suite members the
/// spec names with their ids. (Tenants add more with `directory.office365AppIds`.)
const OFFICE365: &[&str] = &[
    "00000002-0000-0ff1-ce00-000000000000",
    "00000003-0000-0ff1-ce00-000000000000",
];
/// The Azure portal: behind `MicrosoftAdminPortals`.
const ADMIN_PORTALS: &[&str] = &["c44b4083-3bb0-49c1-b47d-974e53cbdf3c"];
/// Windows Azure Active Directory: the audience of baseline-scope requests
/// (docs/reference/entra-semantics.md §3.3.4).
const AZURE_AD_GRAPH: &str = "00000002-0000-0000-c000-000000000000";
/// The MFA trusted IPs pseudo-location (docs/reference/entra-semantics.md §1.8).
const MFA_TRUSTED_IPS: &str = "00000000-0000-0000-0000-000000000000";
/// The Global Secure Access compliant network location (docs/reference/entra-semantics.md §1.8).
const COMPLIANT_NETWORK: &str = "3d46dbda-8382-466a-856d-eb00cbc6b910";
/// Native-client baseline scopes (docs/reference/entra-semantics.md §3.3.4).
const BASELINE_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "offline_access",
    "user.read",
    "people.read",
];

/// The built-in authentication strengths (docs/reference/entra-semantics.md §1.12 "Built-in
/// strength contents"): all three accept FIDO2, Windows Hello for Business and multi-factor
/// certificates; MFA and Passwordless MFA also accept Authenticator phone sign-in; MFA also accepts
/// Temporary Access Pass, password or federated single factor plus something you have, and
/// federated multi-factor.
fn builtin_strength(id: &str) -> Option<Vec<Vec<&'static str>>> {
    let phishing_resistant = vec![
        vec!["fido2"],
        vec!["windowshelloforbusiness"],
        vec!["x509certificatemultifactor"],
    ];
    let mut passwordless = phishing_resistant.clone();
    passwordless.push(vec!["devicebasedpush"]);
    let mut mfa = passwordless.clone();
    mfa.push(vec!["temporaryaccesspassonetime"]);
    mfa.push(vec!["temporaryaccesspassmultiuse"]);
    mfa.push(vec!["federatedmultifactor"]);
    for first in ["password", "federatedsinglefactor"] {
        for second in [
            "sms",
            "voice",
            "microsoftauthenticatorpush",
            "softwareoath",
            "hardwareoath",
        ] {
            mfa.push(vec![first, second]);
        }
    }
    match id.to_lowercase().as_str() {
        "00000000-0000-0000-0000-000000000002" => Some(mfa),
        "00000000-0000-0000-0000-000000000003" => Some(passwordless),
        "00000000-0000-0000-0000-000000000004" => Some(phishing_resistant),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// The request in plain form.
// ---------------------------------------------------------------------------------------

/// Who signs in.
#[derive(Debug, Clone)]
pub enum Subject {
    /// A user.
    User {
        /// Object id.
        id: String,
        /// `externalUserType` from the request.
        kind: Option<String>,
        /// `externalTenantId` from the request.
        tenant: Option<String>,
    },
    /// A service principal (object id).
    ServicePrincipal(String),
    /// An `agentSignIn` (agent identity object id).
    Agent(String),
}

/// What the sign-in is for.
#[derive(Debug, Clone)]
pub enum Target {
    /// Resource application ids.
    Apps(Vec<String>),
    /// `registersecurityinfo` or `registerdevice`.
    UserAction(String),
    /// `c1` … `c99`.
    AuthContext(String),
}

/// The evaluate body plus gardien's `session` member, every value lower-cased where the
/// spec says values compare case-insensitively.
#[derive(Debug, Clone)]
pub struct Request {
    /// Who.
    pub subject: Subject,
    /// For what.
    pub target: Target,
    /// `browser`, `mobileappsanddesktopclients`, `exchangeactivesync`, `other`.
    pub client: Option<String>,
    /// `android`, `ios`, `windows`, `windowsphone`, `macos`, `linux`, `unknown`.
    pub platform: Option<String>,
    /// Client IP address (IPv4-mapped IPv6 read as IPv4).
    pub ip: Option<IpAddr>,
    /// Country of the IP address, upper case.
    pub country: Option<String>,
    /// Sign-in risk level.
    pub sign_in_risk: Option<String>,
    /// User risk level.
    pub user_risk: Option<String>,
    /// Service principal risk level.
    pub sp_risk: Option<String>,
    /// Insider risk level.
    pub insider_risk: Option<String>,
    /// Agent risk level.
    pub agent_risk: Option<String>,
    /// Transfer method of this request.
    pub transfer: Option<String>,
    /// The device (`None`: unregistered).
    pub device: Option<Value>,
    /// Authentication methods done in the session (this tenant).
    pub methods: BTreeSet<String>,
    /// Authentication methods done in an external user's home tenant.
    pub home_methods: BTreeSet<String>,
    /// The client is a confidential client.
    pub confidential: bool,
    /// Accepted terms of use.
    pub accepted_terms: Vec<String>,
    /// Password changed in this session.
    pub password_changed: bool,
    /// Approved client app.
    pub approved_app: bool,
    /// App protection policy.
    pub app_protection: bool,
    /// Transfer method that created the session.
    pub original_transfer: Option<String>,
    /// Seconds since the primary authentication.
    pub since_authentication: Option<u64>,
    /// Seconds since the last MFA.
    pub since_mfa: Option<u64>,
    /// OAuth scopes requested.
    pub scopes: Vec<String>,
    /// Country from the Authenticator GPS.
    pub gps_country: Option<String>,
    /// Through the compliant network.
    pub compliant_network: bool,
    /// Refresh-token redemption.
    pub refresh: bool,
    /// `appliedPoliciesOnly`.
    pub applied_only: bool,
}

/// Lower-cased string member, treating the listed spellings as "not given".
fn given(v: &Value, key: &str, unset: &[&str]) -> Option<String> {
    let s = text(v, key)?.trim().to_lowercase();
    if s.is_empty() || unset.contains(&s.as_str()) {
        None
    } else {
        Some(s)
    }
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    let ip: IpAddr = s.trim().parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    })
}

impl Request {
    /// Reads a request (v1.0 names, or the older beta names).
    pub fn read(body: &Value) -> Request {
        let pick = |a: &str, b: &str| member(body, a).or(member(body, b)).cloned();
        let identity = pick("signInIdentity", "conditionalAccessWhatIfSubject").unwrap_or_default();
        let context = pick("signInContext", "conditionalAccessContext").unwrap_or_default();
        let c = pick("signInConditions", "conditionalAccessWhatIfConditions").unwrap_or_default();
        let s = member(body, "session").cloned().unwrap_or_default();

        let agent_declared = text(&identity, "@odata.type")
            .is_some_and(|t| t.to_lowercase().ends_with("agentsignin"));
        let subject = match text(&identity, "servicePrincipalId") {
            _ if agent_declared => Subject::Agent(
                text(&identity, "agentServicePrincipalId")
                    .unwrap_or_default()
                    .to_owned(),
            ),
            Some(sp) if text(&identity, "userId").is_none() => {
                Subject::ServicePrincipal(sp.to_owned())
            }
            _ => Subject::User {
                id: text(&identity, "userId").unwrap_or_default().to_owned(),
                kind: given(&identity, "externalUserType", &["none"]),
                tenant: text(&identity, "externalTenantId").map(str::to_owned),
            },
        };
        let target = if let Some(action) = text(&context, "userAction") {
            let a = action.to_lowercase();
            Target::UserAction(
                if a.contains("registersecurityinfo") || a == "registersecurityinformation" {
                    "registersecurityinfo".to_owned()
                } else {
                    "registerdevice".to_owned()
                },
            )
        } else if let Some(ctx) = text(&context, "authenticationContextValue")
            .or_else(|| text(&context, "authenticationContext"))
        {
            Target::AuthContext(ctx.to_lowercase())
        } else {
            Target::Apps(strings(&context, "includeApplications"))
        };
        let client = given(&c, "clientAppType", &["all"]).map(|x| match x.as_str() {
            "eassupported" | "easunsupported" => "exchangeactivesync".to_owned(),
            "modern" => "mobileappsanddesktopclients".to_owned(),
            _ => x,
        });
        let platform = given(&c, "devicePlatform", &[]).map(|p| {
            if p == "unknownfuturevalue" {
                "unknown".to_owned()
            } else {
                p
            }
        });
        let risk_unset = ["hidden", "unknownfuturevalue"];
        let method_set = |key: &str| -> BTreeSet<String> {
            strings(&s, key)
                .iter()
                .flat_map(|m| m.split(',').map(|p| p.trim().to_lowercase()))
                .filter(|m| !m.is_empty())
                .collect()
        };
        let methods = method_set("authenticationMethods");
        let home_methods = method_set("homeTenantAuthenticationMethods");
        let seconds = |key: &str| s.get(key).and_then(Value::as_u64);
        Request {
            subject,
            target,
            client,
            platform,
            ip: text(&c, "ipAddress").and_then(parse_ip),
            country: given(&c, "country", &[]).map(|x| x.to_uppercase()),
            sign_in_risk: given(&c, "signInRiskLevel", &risk_unset),
            user_risk: given(&c, "userRiskLevel", &risk_unset),
            sp_risk: given(&c, "servicePrincipalRiskLevel", &risk_unset),
            insider_risk: given(&c, "insiderRiskLevel", &risk_unset),
            agent_risk: given(&c, "agentIdRiskLevel", &risk_unset),
            transfer: member(&c, "authenticationFlow")
                .and_then(|f| given(f, "transferMethod", &[])),
            device: member(&c, "deviceInfo").cloned(),
            methods,
            home_methods,
            confidential: s.get("confidentialClient") == Some(&Value::Bool(true)),
            accepted_terms: strings(&s, "acceptedTermsOfUse"),
            password_changed: s.get("passwordChanged") == Some(&Value::Bool(true)),
            approved_app: s.get("approvedClientApp") == Some(&Value::Bool(true)),
            app_protection: s.get("appProtectionPolicy") == Some(&Value::Bool(true)),
            original_transfer: given(&s, "originalTransferMethod", &[]),
            since_authentication: seconds("secondsSinceAuthentication"),
            since_mfa: seconds("secondsSinceMfa"),
            scopes: strings(&s, "requestedScopes"),
            gps_country: given(&s, "gpsCountry", &[]).map(|x| x.to_uppercase()),
            compliant_network: s.get("compliantNetwork") == Some(&Value::Bool(true)),
            refresh: s.get("refresh") == Some(&Value::Bool(true)),
            applied_only: body.get("appliedPoliciesOnly") == Some(&Value::Bool(true)),
        }
    }

    fn is_legacy(&self) -> bool {
        matches!(self.client.as_deref(), Some("exchangeactivesync" | "other"))
    }

    /// The device-code flow or an authentication transfer, in this request or in the one
    /// that created the session.
    fn transferred(&self) -> bool {
        let t = |m: &Option<String>| m.as_deref().is_some_and(|m| m != "none");
        t(&self.transfer) || t(&self.original_transfer)
    }

    /// The device as policies see it. Legacy `other` protocols cannot present a device
    /// [gardien decision, docs/semantics.md "Grant phase"]; Exchange ActiveSync can. The
    /// device-code flow and authentication transfer carry no device state.
    fn device(&self) -> Option<&Value> {
        if self.client.as_deref() == Some("other") || self.transferred() {
            return None;
        }
        self.device.as_ref()
    }
}

// ---------------------------------------------------------------------------------------
// The tenant.
// ---------------------------------------------------------------------------------------

/// A tenant as Graph JSON: `{"policies": [...], "namedLocations": [...], "directory": {...}}`.
pub struct Tenant<'a> {
    policies: Vec<&'a Value>,
    locations: Vec<&'a Value>,
    directory: &'a Value,
    /// `crossTenantAccess` (null when absent).
    cross: &'a Value,
    /// The evaluation instant (Unix seconds), `None` for the latest behaviour.
    now: Option<i64>,
}

/// First second of the baseline-scopes enforcement rollout (2026-06-15T00:00:00Z, Microsoft
/// Learn "Enforcement for baseline scopes in Conditional Access").
pub const BASELINE_ROLLOUT: i64 = 1_781_481_600;

static EMPTY: Value = Value::Null;

impl<'a> Tenant<'a> {
    /// Wraps a combined tenant document.
    pub fn new(doc: &'a Value) -> Tenant<'a> {
        let list = |key: &str| match doc.get(key) {
            Some(Value::Array(items)) => items.iter().collect(),
            _ => Vec::new(),
        };
        Tenant {
            policies: list("policies"),
            locations: list("namedLocations"),
            directory: doc.get("directory").unwrap_or(&EMPTY),
            cross: doc.get("crossTenantAccess").unwrap_or(&EMPTY),
            now: None,
        }
    }

    /// The same, evaluated at `now`.
    pub fn at(doc: &'a Value, now: Option<i64>) -> Tenant<'a> {
        Tenant {
            now,
            ..Tenant::new(doc)
        }
    }

    fn dir_list(&self, key: &str) -> Vec<&'a Value> {
        match self.directory.get(key) {
            Some(Value::Array(items)) => items.iter().collect(),
            _ => Vec::new(),
        }
    }

    fn find(&self, key: &str, id: &str) -> Option<&'a Value> {
        self.dir_list(key)
            .into_iter()
            .find(|x| text(x, "id").is_some_and(|x| same(x, id)))
    }

    /// Every group a user or group is in, nesting included (recursive, cycles tolerated).
    fn closure(&self, direct: &[String], out: &mut Vec<String>) {
        for g in direct {
            if out.iter().any(|x| same(x, g)) {
                continue;
            }
            out.push(g.clone());
            if let Some(group) = self.find("groups", g) {
                self.closure(&strings(group, "memberOf"), out);
            }
        }
    }

    fn in_office365(&self, app: &str) -> bool {
        OFFICE365.iter().any(|x| same(x, app))
            || has(&strings(self.directory, "office365AppIds"), app)
    }

    fn in_admin_portals(&self, app: &str) -> bool {
        ADMIN_PORTALS.iter().any(|x| same(x, app))
            || has(&strings(self.directory, "adminPortalAppIds"), app)
    }

    /// Baseline-scope requests keep the historic exemption: `legacy` mode, or no choice
    /// (`rollout`, absent) before the rollout date.
    fn baseline_legacy(&self) -> bool {
        match text(self.directory, "baselineScopesMode") {
            Some(m) if same(m, "legacy") => true,
            Some(m) if same(m, "enforced") || same(m, "customTarget") => false,
            _ => self.now.is_some_and(|n| n < BASELINE_ROLLOUT),
        }
    }

    /// The audience of a baseline-scope request when it is not exempt.
    fn baseline_audience(&self) -> String {
        match text(self.directory, "baselineScopesMode") {
            Some(m) if same(m, "customTarget") => text(self.directory, "baselineScopesTarget")
                .unwrap_or_default()
                .to_lowercase(),
            _ => AZURE_AD_GRAPH.to_owned(),
        }
    }

    /// Custom security attribute of a service principal:
    /// `customSecurityAttributes.{Set}.{Name}` read as `customsecurityattribute.set_name`.
    fn attribute(sp: &Value, property: &str) -> Actual {
        let Some(Value::Object(sets)) = sp.get("customSecurityAttributes") else {
            return Actual::Null;
        };
        for (set, values) in sets {
            if let Value::Object(values) = values {
                for (name, v) in values {
                    let full = format!("customsecurityattribute.{set}_{name}").to_lowercase();
                    if full == property
                        && let Some(s) = v.as_str()
                    {
                        return Actual::Str(s.to_owned());
                    }
                }
            }
        }
        Actual::Null
    }
}

/// The user as conditions see them.
struct User {
    id: String,
    /// Kind of guest / external user (lower-case Graph name), `None` for members.
    kind: Option<String>,
    home_tenant: Option<String>,
    groups: Vec<String>,
    roles: Vec<String>,
}

fn resolve_user(t: &Tenant<'_>, id: &str, kind: &Option<String>, tenant: &Option<String>) -> User {
    let entry = t.find("users", id);
    let mut groups = Vec::new();
    let mut roles = Vec::new();
    let mut dir_kind = None;
    let mut home = None;
    if let Some(u) = entry {
        t.closure(&strings(u, "memberOf"), &mut groups);
        roles = strings(u, "roles");
        // A guest with no stated kind is a B2B collaboration guest (docs/semantics.md).
        dir_kind = given(u, "externalUserType", &[]).or_else(|| {
            text(u, "userType")
                .filter(|t| same(t, "guest"))
                .map(|_| "b2bcollaborationguest".to_owned())
        });
        home = text(u, "homeTenantId").map(str::to_owned);
    }
    User {
        id: id.to_owned(),
        kind: kind.clone().or(dir_kind),
        home_tenant: tenant.clone().or(home),
        groups,
        roles,
    }
}

// ---------------------------------------------------------------------------------------
// Conditions (docs/reference/entra-semantics.md §3.2).
// ---------------------------------------------------------------------------------------

/// `include/excludeGuestsOrExternalUsers`: the user's kind is selected and, for external
/// kinds, the home tenant is one of `externalTenants` (internal guests have none) (§1.4).
fn guests_match(g: &Value, user: &User) -> bool {
    let Some(kind) = &user.kind else { return false };
    let Some(types) = flags(g, "guestOrExternalUserTypes") else {
        return false;
    };
    if !types.contains(kind) {
        return false;
    }
    let Some(tenants) = member(g, "externalTenants") else {
        return true;
    };
    let enumerated = text(tenants, "membershipKind").is_some_and(|k| same(k, "enumerated"));
    if !enumerated || kind == "internalguest" {
        return true;
    }
    user.home_tenant
        .as_deref()
        .is_some_and(|h| has(&strings(tenants, "members"), h))
}

/// What an agent's token request is, for the agent rules.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Agent {
    /// An agent identity (object id, its directory entry if any); `exempt` when it asks
    /// only for the token exchange endpoint.
    Identity { id: String, exempt: bool },
    /// A blueprint principal asking only for Microsoft Graph or the token exchange endpoint.
    ExemptBlueprint,
    /// An agent's user account.
    User(String),
}

const GRAPH_APP: &str = "00000003-0000-0000-c000-000000000000";
const TOKEN_EXCHANGE_APP: &str = "fb60f99c-7a34-4190-8149-302f77469936";

fn odata_is(v: &Value, name: &str) -> bool {
    text(v, "@odata.type").is_some_and(|t| t.to_lowercase().ends_with(&name.to_lowercase()))
}

/// The agent signing in, if any. A blueprint asking for anything else is a plain service
/// principal (`None`).
fn agent(t: &Tenant<'_>, req: &Request) -> Option<Agent> {
    let only = |apps: &[&str]| match &req.target {
        Target::Apps(list) => {
            !list.is_empty() && list.iter().all(|a| apps.iter().any(|x| same(a, x)))
        }
        _ => false,
    };
    match &req.subject {
        Subject::User { id, .. } => {
            let u = t.find("users", id)?;
            (odata_is(u, "agentUser") || u.get("identityParentId").is_some_and(|p| !p.is_null()))
                .then(|| Agent::User(id.clone()))
        }
        Subject::ServicePrincipal(id) | Subject::Agent(id) => {
            let sp = t.find("servicePrincipals", id);
            if sp.is_some_and(|s| odata_is(s, "agentIdentityBlueprintPrincipal")) {
                return (only(&[GRAPH_APP]) || only(&[TOKEN_EXCHANGE_APP]))
                    .then_some(Agent::ExemptBlueprint);
            }
            let typed = sp.is_some_and(|s| {
                odata_is(s, "agentIdentity") || text(s, "agentIdentityBlueprintId").is_some()
            });
            (typed || matches!(req.subject, Subject::Agent(_))).then(|| Agent::Identity {
                id: id.clone(),
                exempt: only(&[TOKEN_EXCHANGE_APP]),
            })
        }
    }
}

/// Agent identities: `includeAgentIdServicePrincipals` (`All`, or the agent's id, app id or
/// blueprint app id) or the attribute filter on a directory agent, minus the exclusions.
fn agent_identity_condition(t: &Tenant<'_>, c: &Value, id: &str, exempt: bool) -> Tri {
    if exempt {
        return Tri::No;
    }
    let Some(ca) = member(c, "clientApplications") else {
        return Tri::No;
    };
    let sp = t.find("servicePrincipals", id);
    let names = |list: &[String]| {
        has(list, id)
            || sp.is_some_and(|s| {
                text(s, "appId").is_some_and(|a| has(list, a))
                    || text(s, "agentIdentityBlueprintId").is_some_and(|b| has(list, b))
            })
    };
    let include = strings(ca, "includeAgentIdServicePrincipals");
    let read = |p: &str| sp.map(|s| Tenant::attribute(s, p)).unwrap_or(Actual::Null);
    let filter = member(ca, "agentIdServicePrincipalFilter");
    let included = has(&include, "All")
        || names(&include)
        || filter.is_some_and(|f| sp.is_some() && filter_matches(f, "include", &read));
    let excluded = names(&strings(ca, "excludeAgentIdServicePrincipals"))
        || filter.is_some_and(|f| sp.is_some() && filter_matches(f, "exclude", &read));
    Tri::of(included && !excluded)
}

/// Agents' user accounts: only `AllAgentIdUsers` or the account's id includes it, only its
/// id excludes it (`All` users, groups and roles do not scope agent users).
fn agent_user_condition(c: &Value, id: &str) -> Tri {
    let Some(users) = member(c, "users") else {
        return Tri::No;
    };
    let include = strings(users, "includeUsers");
    Tri::of(
        (has(&include, "AllAgentIdUsers") || has(&include, id))
            && !has(&strings(users, "excludeUsers"), id),
    )
}

/// Whether an application id is an agent resource (`AllAgentIdResources`): a directory
/// agent identity or blueprint principal (id or app id) or a blueprint an agent names.
fn agent_resource(t: &Tenant<'_>, app: &str) -> bool {
    t.dir_list("servicePrincipals").into_iter().any(|s| {
        let agentish = odata_is(s, "agentIdentity")
            || odata_is(s, "agentIdentityBlueprintPrincipal")
            || text(s, "agentIdentityBlueprintId").is_some();
        agentish
            && ["id", "appId", "agentIdentityBlueprintId"]
                .iter()
                .any(|k| text(s, k).is_some_and(|x| same(x, app)))
    })
}

/// Whether one side (`include` / `exclude`) of `conditions.users` names the user.
fn names_user(users: &Value, side: &str, user: &User) -> bool {
    let list = strings(users, &format!("{side}Users"));
    let groups = strings(users, &format!("{side}Groups"));
    let roles = strings(users, &format!("{side}Roles"));
    (side == "include" && has(&list, "All"))
        || has(&list, &user.id)
        || (has(&list, "GuestsOrExternalUsers") && user.kind.is_some())
        || (side == "include" && has(&groups, "All"))
        || user.groups.iter().any(|g| has(&groups, g))
        || user.roles.iter().any(|r| has(&roles, r))
        || member(users, &format!("{side}GuestsOrExternalUsers"))
            .is_some_and(|g| guests_match(g, user))
}

/// Users: included and not excluded; exclusion wins (§3.2 item 2). A workload-identity
/// policy (no `users`, or `includeUsers: ["None"]`) never matches a user.
fn users_condition(t: &Tenant<'_>, c: &Value, req: &Request) -> Tri {
    let Subject::User { id, kind, tenant } = &req.subject else {
        return Tri::No;
    };
    let Some(users) = member(c, "users") else {
        return Tri::No;
    };
    let user = resolve_user(t, id, kind, tenant);
    Tri::of(names_user(users, "include", &user) && !names_user(users, "exclude", &user))
}

fn filter_matches(f: &Value, mode: &str, read: &dyn Fn(&str) -> Actual) -> bool {
    let Some(rule) = text(f, "rule") else {
        return false;
    };
    if !text(f, "mode").is_some_and(|m| same(m, mode)) {
        return false;
    }
    match filter::parse(rule) {
        Ok(r) => filter::eval(&r, read),
        Err(e) => panic!("the reference cannot parse filter `{rule}`: {e}"),
    }
}

/// Workload identities (§1.5, §3.2 item 2): `ServicePrincipalsInMyTenant` covers service
/// principals of the directory; listed ids always match; the filter reads custom security
/// attributes. A user policy (no `clientApplications`) never matches a service principal.
fn workload_condition(t: &Tenant<'_>, c: &Value, req: &Request) -> Tri {
    let (Subject::ServicePrincipal(id) | Subject::Agent(id)) = &req.subject else {
        return Tri::No;
    };
    let Some(ca) = member(c, "clientApplications") else {
        return Tri::No;
    };
    let sp = t.find("servicePrincipals", id);
    let include = strings(ca, "includeServicePrincipals");
    let read = |p: &str| sp.map(|s| Tenant::attribute(s, p)).unwrap_or(Actual::Null);
    let filter = member(ca, "servicePrincipalFilter");
    let included = ((has(&include, "ServicePrincipalsInMyTenant") || has(&include, "All"))
        && sp.is_some())
        || has(&include, id)
        || filter.is_some_and(|f| sp.is_some() && filter_matches(f, "include", &read));
    let excluded = has(&strings(ca, "excludeServicePrincipals"), id)
        || filter.is_some_and(|f| sp.is_some() && filter_matches(f, "exclude", &read));
    Tri::of(included && !excluded)
}

/// Target resources (§3.2 item 3, §3.3.4): some audience is included and not excluded.
fn target_condition(t: &Tenant<'_>, c: &Value, req: &Request) -> (Cond, Tri) {
    let apps = member(c, "applications").unwrap_or(&EMPTY);
    match &req.target {
        Target::UserAction(action) => {
            let urn = format!("urn:user:{action}");
            (
                Cond::UserActions,
                Tri::of(has(&strings(apps, "includeUserActions"), &urn)),
            )
        }
        Target::AuthContext(ctx) => (
            Cond::AuthenticationContext,
            Tri::of(has(
                &strings(apps, "includeAuthenticationContextClassReferences"),
                ctx,
            )),
        ),
        Target::Apps(requested) => {
            let include = strings(apps, "includeApplications");
            let exclude = strings(apps, "excludeApplications");
            let filter = member(apps, "applicationFilter");
            let only = |list: &[&str]| {
                !req.scopes.is_empty() && req.scopes.iter().all(|s| list.iter().any(|b| same(s, b)))
            };
            // A confidential client asking for OIDC scopes only keeps its own audience.
            let baseline_only = only(BASELINE_SCOPES)
                && !(req.confidential && only(&["openid", "profile", "email", "offline_access"]));
            let has_exclusions = exclude.iter().any(|x| !same(x, "None"))
                || filter.is_some_and(|f| text(f, "mode").is_some_and(|m| same(m, "exclude")));
            if baseline_only && t.baseline_legacy() {
                // Historic behaviour: exempt from `All` policies with exclusions.
                if has(&include, "All") && has_exclusions {
                    return (Cond::Application, Tri::No);
                }
            }
            let audiences: Vec<String> = if baseline_only && !t.baseline_legacy() {
                vec![t.baseline_audience()]
            } else {
                requested.clone()
            };
            let filter_hit = |app: &str, mode: &str| {
                let sp = t
                    .dir_list("servicePrincipals")
                    .into_iter()
                    .find(|s| text(s, "appId").is_some_and(|a| same(a, app)));
                match (filter, sp) {
                    (Some(f), Some(sp)) => filter_matches(f, mode, &|p| Tenant::attribute(sp, p)),
                    _ => false,
                }
            };
            let in_list = |list: &[String], app: &str| {
                has(list, app)
                    || (has(list, "AllAgentIdResources") && agent_resource(t, app))
                    || (has(list, "Office365") && t.in_office365(app))
                    || (has(list, "MicrosoftAdminPortals") && t.in_admin_portals(app))
            };
            let hit = audiences.iter().any(|app| {
                let included =
                    has(&include, "All") || in_list(&include, app) || filter_hit(app, "include");
                let excluded = in_list(&exclude, app) || filter_hit(app, "exclude");
                included && !excluded
            });
            (Cond::Application, Tri::of(hit))
        }
    }
}

/// Platforms (§3.2 item 5): an unknown platform is matched only by `all` and never
/// excluded. In what-if, a missing platform decides only `all` without exclusions.
fn platform_condition(p: &Value, req: &Request, mode: Mode) -> Tri {
    let include = strings(p, "includePlatforms");
    let exclude = strings(p, "excludePlatforms");
    let platform = match (&req.platform, mode) {
        (Some(x), _) => x.clone(),
        (None, Mode::Enforce) => "unknown".to_owned(),
        (None, Mode::WhatIf) => {
            return if has(&include, "all") && exclude.is_empty() {
                Tri::Yes
            } else {
                Tri::Unknown
            };
        }
    };
    if platform == "unknown" {
        return Tri::of(has(&include, "all"));
    }
    Tri::of((has(&include, "all") || has(&include, &platform)) && !has(&exclude, &platform))
}

/// Reads a device property for the filter (§3.8). `isCompliant` reads as `true`/`false`;
/// extension attributes are null unless the device is managed (compliant, hybrid joined
/// or enrolled in an MDM).
fn device_property(device: Option<&Value>, property: &str) -> Actual {
    let Some(d) = device else { return Actual::Null };
    let name = property.strip_prefix("device.").unwrap_or(property);
    let find = |key: &str| {
        d.as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.to_lowercase() == key))
            .map(|(_, v)| v)
    };
    let string = |key: &str| match find(key) {
        Some(Value::String(s)) => Actual::Str(s.clone()),
        Some(Value::Bool(b)) => Actual::Str(b.to_string()),
        _ => Actual::Null,
    };
    match name {
        "deviceownership" => match string("ownership") {
            Actual::Null => string("deviceownership"),
            v => v,
        },
        "physicalids" | "systemlabels" => match find(name) {
            Some(Value::Array(items)) => Actual::List(
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
            ),
            _ => Actual::List(Vec::new()),
        },
        n if n.starts_with("extensionattribute") => {
            let compliant = string("iscompliant") == Actual::Str("true".into());
            let hybrid = matches!(string("trusttype"), Actual::Str(s) if same(&s, "ServerAD"));
            let mdm = string("mdmappid") != Actual::Null;
            if compliant || hybrid || mdm {
                string(n)
            } else {
                Actual::Null
            }
        }
        n => string(n),
    }
}

/// Device filter (§3.2 item 7): include mode needs a match, exclude mode needs none.
fn device_filter_condition(f: &Value, req: &Request) -> Tri {
    let device = req.device();
    let rule = text(f, "rule").unwrap_or_default();
    let matched = match filter::parse(rule) {
        Ok(r) => filter::eval(&r, &|p| device_property(device, p)),
        Err(e) => panic!("the reference cannot parse device filter `{rule}`: {e}"),
    };
    let include = text(f, "mode").is_some_and(|m| same(m, "include"));
    Tri::of(matched == include)
}

fn device_compliant(device: Option<&Value>) -> bool {
    device.is_some_and(|d| match d.get("isCompliant") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => same(s, "true"),
        _ => false,
    })
}

fn device_hybrid(device: Option<&Value>) -> bool {
    device.is_some_and(|d| text(d, "trustType").is_some_and(|t| same(t, "ServerAD")))
}

/// Legacy device states (§3.2 item 10).
fn device_states_condition(exclude: &[String], req: &Request) -> Tri {
    let d = req.device();
    let out = (has(exclude, "Compliant") && device_compliant(d))
        || (has(exclude, "DomainJoined") && device_hybrid(d));
    Tri::of(!out)
}

/// Client app types (§3.2 item 4). A request without a client app type meets the
/// condition in enforcement (fail closed, docs/semantics.md) and cannot decide it in what-if.
/// `easSupported`: Exchange ActiveSync from Android, iOS, Windows or Windows Phone.
fn client_condition(types: &[String], req: &Request, mode: Mode) -> Tri {
    let Some(client) = &req.client else {
        return match mode {
            Mode::Enforce => Tri::Yes,
            Mode::WhatIf => Tri::Unknown,
        };
    };
    let supported_platform = match (&req.platform, mode) {
        (Some(p), _) => {
            Tri::of(["android", "ios", "windows", "windowsphone"].contains(&p.as_str()))
        }
        (None, Mode::Enforce) => Tri::No,
        (None, Mode::WhatIf) => Tri::Unknown,
    };
    Tri::any(types.iter().map(|t| {
        let t = t.to_lowercase();
        match t.as_str() {
            "eassupported" if client == "exchangeactivesync" => supported_platform,
            "eassupported" => Tri::No,
            "modern" => Tri::of(client == "mobileappsanddesktopclients"),
            "easunsupported" => Tri::of(client == "exchangeactivesync"),
            _ => Tri::of(t == *client),
        }
    }))
}

/// Whether the request is in one named location (§2.3), three-valued in what-if.
fn in_location(t: &Tenant<'_>, id: &str, req: &Request, mode: Mode) -> Tri {
    // A location whose input the request lacks: outside it in enforcement, undecidable in
    // what-if.
    let missing = || match mode {
        Mode::Enforce => Tri::No,
        Mode::WhatIf => Tri::Unknown,
    };
    if same(id, MFA_TRUSTED_IPS) {
        return match req.ip {
            Some(ip) => Tri::of(
                strings(t.directory, "mfaTrustedIps")
                    .iter()
                    .any(|c| cidr_contains(c, ip)),
            ),
            None => missing(),
        };
    }
    if same(id, COMPLIANT_NETWORK) {
        return Tri::of(req.compliant_network);
    }
    let Some(loc) = t
        .locations
        .iter()
        .find(|l| text(l, "id").is_some_and(|x| same(x, id)))
    else {
        return Tri::No;
    };
    let odata = text(loc, "@odata.type").unwrap_or_default().to_lowercase();
    if odata.ends_with("ipnamedlocation") {
        return match req.ip {
            Some(ip) => Tri::of(match loc.get("ipRanges") {
                Some(Value::Array(ranges)) => ranges
                    .iter()
                    .filter_map(|r| text(r, "cidrAddress"))
                    .any(|c| cidr_contains(c, ip)),
                _ => false,
            }),
            None => missing(),
        };
    }
    if odata.ends_with("countrynamedlocation") {
        let gps = text(loc, "countryLookupMethod").is_some_and(|m| same(m, "authenticatorAppGps"));
        let countries: Vec<String> = strings(loc, "countriesAndRegions");
        if gps {
            // GPS: absent → no match (access cannot be granted from an unknown position).
            return match &req.gps_country {
                Some(c) => Tri::of(has(&countries, c)),
                None => missing(),
            };
        }
        return match &req.country {
            Some(c) => Tri::of(has(&countries, c)),
            None if mode == Mode::Enforce => {
                Tri::of(loc.get("includeUnknownCountriesAndRegions") == Some(&Value::Bool(true)))
            }
            None => Tri::Unknown,
        };
    }
    if odata.ends_with("compliantnetworknamedlocation") {
        return Tri::of(req.compliant_network);
    }
    Tri::No
}

/// `AllTrusted`: trusted IP locations, MFA trusted IPs, and the compliant network
/// (open question 3, docs/semantics.md).
fn in_trusted(t: &Tenant<'_>, req: &Request, mode: Mode) -> Tri {
    let trusted_ip_locations = t.locations.iter().filter(|l| {
        text(l, "@odata.type").is_some_and(|o| o.to_lowercase().ends_with("ipnamedlocation"))
            && l.get("isTrusted") == Some(&Value::Bool(true))
    });
    Tri::any(
        trusted_ip_locations
            .filter_map(|l| text(l, "id"))
            .map(|id| in_location(t, id, req, mode))
            .chain([
                in_location(t, MFA_TRUSTED_IPS, req, mode),
                Tri::of(req.compliant_network),
            ]),
    )
}

fn location_tokens(t: &Tenant<'_>, tokens: &[String], req: &Request, mode: Mode) -> Tri {
    Tri::any(tokens.iter().map(|token| {
        if same(token, "All") {
            Tri::Yes
        } else if same(token, "AllTrusted") {
            in_trusted(t, req, mode)
        } else {
            in_location(t, token, req, mode)
        }
    }))
}

/// Locations (§2.3): in an included location and in no excluded one.
fn location_condition(t: &Tenant<'_>, l: &Value, req: &Request, mode: Mode) -> Tri {
    let include = location_tokens(t, &strings(l, "includeLocations"), req, mode);
    let exclude = location_tokens(t, &strings(l, "excludeLocations"), req, mode);
    include.and(exclude.not())
}

/// IPv4 or IPv6 CIDR containment by masking (host bits of the range are ignored).
fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let Some((addr, len)) = cidr.trim().split_once('/') else {
        return false;
    };
    let (Some(net), Ok(len)) = (parse_ip(addr), len.parse::<u32>()) else {
        return false;
    };
    let (a, b, bits) = match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => (u128::from(u32::from(n)), u128::from(u32::from(i)), 32),
        (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
        _ => return false,
    };
    if len == 0 {
        return true;
    }
    let shift = bits - len.min(bits);
    (a >> shift) == (b >> shift)
}

/// Risk levels (§3.9): exact membership; missing is `none` in enforcement, undecidable in
/// what-if.
fn level_condition(levels: &[String], given: &Option<String>, mode: Mode) -> Tri {
    match (given, mode) {
        (Some(l), _) => Tri::of(has(levels, l)),
        (None, Mode::Enforce) => Tri::of(has(levels, "none")),
        (None, Mode::WhatIf) => Tri::Unknown,
    }
}

/// Authentication flows (§3.2 item 9): the current transfer method or, by protocol
/// tracking, the one that created the session is selected.
fn flow_condition(methods: &[String], req: &Request, mode: Mode) -> Tri {
    let selected = |m: &Option<String>| match m {
        Some(m) => Tri::of(m != "none" && methods.contains(m)),
        None if mode == Mode::WhatIf => Tri::Unknown,
        None => Tri::No,
    };
    selected(&req.transfer).or(match &req.original_transfer {
        Some(_) => selected(&req.original_transfer),
        None => Tri::No,
    })
}

/// Every configured condition of a policy, with its result.
pub fn conditions(t: &Tenant<'_>, policy: &Value, req: &Request, mode: Mode) -> Vec<(Cond, Tri)> {
    let c = policy.get("conditions").unwrap_or(&EMPTY);
    let mut out = Vec::new();
    let agent = agent(t, req);
    match (&agent, &req.subject) {
        (Some(Agent::User(id)), _) => out.push((Cond::AgentUsers, agent_user_condition(c, id))),
        (Some(Agent::Identity { id, exempt }), _) => out.push((
            Cond::AgentIdentities,
            agent_identity_condition(t, c, id, *exempt),
        )),
        (Some(Agent::ExemptBlueprint), _) => out.push((Cond::AgentIdentities, Tri::No)),
        (None, Subject::User { .. }) => out.push((Cond::Users, users_condition(t, c, req))),
        (None, Subject::ServicePrincipal(_) | Subject::Agent(_)) => {
            out.push((Cond::WorkloadIdentities, workload_condition(t, c, req)))
        }
    }
    out.push(target_condition(t, c, req));
    if let Some(p) = member(c, "platforms")
        && !(strings(p, "includePlatforms").is_empty() && strings(p, "excludePlatforms").is_empty())
    {
        out.push((Cond::DevicePlatform, platform_condition(p, req, mode)));
    }
    let devices = member(c, "devices");
    if let Some(f) = devices.and_then(|d| member(d, "deviceFilter")) {
        out.push((Cond::Devices, device_filter_condition(f, req)));
    }
    // Legacy device states: `devices.{include,exclude}Devices` (or `…DeviceStates`), or beta
    // `deviceStates.{include,exclude}States`. Only the exclusions matter (`All` is included).
    let state_lists = [
        (devices, "includeDevices", "excludeDevices"),
        (devices, "includeDeviceStates", "excludeDeviceStates"),
        (member(c, "deviceStates"), "includeStates", "excludeStates"),
    ];
    let mut configured = false;
    let mut excluded_states = Vec::new();
    for (node, include, exclude) in state_lists {
        if let Some(node) = node {
            configured |= !strings(node, include).is_empty() || !strings(node, exclude).is_empty();
            excluded_states.extend(strings(node, exclude));
        }
    }
    if configured {
        out.push((
            Cond::Devices,
            device_states_condition(&excluded_states, req),
        ));
    }
    let clients = strings(c, "clientAppTypes");
    if !clients.is_empty() && !has(&clients, "all") {
        out.push((Cond::ClientApps, client_condition(&clients, req, mode)));
    }
    if let Some(l) = member(c, "locations")
        && !(strings(l, "includeLocations").is_empty() && strings(l, "excludeLocations").is_empty())
    {
        out.push((Cond::Location, location_condition(t, l, req, mode)));
    }
    for (cond, key, level) in [
        (Cond::SignInRisk, "signInRiskLevels", &req.sign_in_risk),
        (Cond::UserRisk, "userRiskLevels", &req.user_risk),
        (
            Cond::ServicePrincipalRisk,
            "servicePrincipalRiskLevels",
            &req.sp_risk,
        ),
    ] {
        let levels = strings(c, key);
        if !levels.is_empty() {
            out.push((cond, level_condition(&levels, level, mode)));
        }
    }
    if let Some(levels) = flags(c, "insiderRiskLevels") {
        out.push((
            Cond::InsiderRisk,
            level_condition(&levels, &req.insider_risk, mode),
        ));
    }
    if let Some(methods) = c
        .get("authenticationFlows")
        .and_then(|f| flags(f, "transferMethods"))
        .filter(|m| !m.is_empty())
    {
        out.push((
            Cond::AuthenticationFlow,
            flow_condition(&methods, req, mode),
        ));
    }
    if let Some(levels) = flags(c, "agentIdRiskLevels").filter(|l| !l.is_empty()) {
        // Only an agent can lack a level it has; a person or a workload has no agent risk.
        let is_agent = agent.is_some() || matches!(req.subject, Subject::Agent(_));
        let tri = match (&req.agent_risk, mode) {
            (Some(l), _) => Tri::of(has(&levels, l)),
            (None, Mode::WhatIf) if is_agent => Tri::Unknown,
            (None, _) => Tri::No,
        };
        out.push((Cond::AgentIdRisk, tri));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Grant (docs/reference/entra-semantics.md §3.3.1) and sign-in frequency.
// ---------------------------------------------------------------------------------------

/// Grant and session requirements, in Entra's canonical challenge order (§3.1, §3.3.2):
/// sign-in frequency first [gardien], MFA with authentication strength, compliant device,
/// hybrid joined, approved app, app protection, password change, terms of use, custom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Control {
    /// Reauthentication.
    SignInFrequency,
    /// MFA.
    Mfa,
    /// Authentication strength.
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
    /// Terms of use.
    TermsOfUse,
    /// Custom controls.
    CustomAuthenticationFactor,
    /// Block.
    Block,
}

impl Control {
    /// The name in `requiredControls`.
    pub fn name(self) -> &'static str {
        match self {
            Control::SignInFrequency => "signInFrequency",
            Control::Mfa => "mfa",
            Control::AuthenticationStrength => "authenticationStrength",
            Control::CompliantDevice => "compliantDevice",
            Control::DomainJoinedDevice => "domainJoinedDevice",
            Control::ApprovedApplication => "approvedApplication",
            Control::CompliantApplication => "compliantApplication",
            Control::PasswordChange => "passwordChange",
            Control::TermsOfUse => "termsOfUse",
            Control::CustomAuthenticationFactor => "customAuthenticationFactors",
            Control::Block => "block",
        }
    }
}

/// Grant state of an applying policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Nothing more needed.
    Satisfied,
    /// Blocks.
    Block,
    /// Cannot be satisfied in this sign-in.
    Fail(BTreeSet<Control>),
    /// The user can satisfy these interactively.
    Interrupt(BTreeSet<Control>),
}

impl Grant {
    /// `satisfied`, `block`, `fail: a,b`, `interrupt: a,b`.
    pub fn describe(&self) -> String {
        let names =
            |s: &BTreeSet<Control>| s.iter().map(|c| c.name()).collect::<Vec<_>>().join(",");
        match self {
            Grant::Satisfied => "satisfied".to_owned(),
            Grant::Block => "block".to_owned(),
            Grant::Fail(s) => format!("fail: {}", names(s)),
            Grant::Interrupt(s) => format!("interrupt: {}", names(s)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Satisfied,
    Interactive,
    Cannot,
}

fn covers(methods: &BTreeSet<String>, combination: &[String]) -> bool {
    !combination.is_empty() && combination.iter().all(|m| methods.contains(m))
}

/// The allowed combinations of an authentication strength: built-in (§1.12) or defined in
/// the directory.
fn strength_combinations(t: &Tenant<'_>, id: &str) -> Option<Vec<Vec<String>>> {
    if let Some(b) = builtin_strength(id) {
        return Some(
            b.into_iter()
                .map(|c| c.into_iter().map(str::to_owned).collect())
                .collect(),
        );
    }
    let s = t.find("authenticationStrengthPolicies", id)?;
    Some(
        strings(s, "allowedCombinations")
            .iter()
            .map(|c| c.split(',').map(|m| m.trim().to_lowercase()).collect())
            .collect(),
    )
}

/// An external user as the grant phase sees them.
struct External {
    /// B2B direct connect.
    direct: bool,
    /// `isMfaAccepted` for the home tenant.
    mfa: bool,
    /// `isCompliantDeviceAccepted`.
    compliant: bool,
    /// `isHybridAzureADJoinedDeviceAccepted`.
    hybrid: bool,
}

/// The signing-in user when external (any kind but a local guest), with the inbound trust
/// of their home tenant: the partner entry's `inboundTrust` when it has one, else the
/// default's; a trust object's missing member is false.
fn external(t: &Tenant<'_>, req: &Request) -> Option<External> {
    let Subject::User { id, kind, tenant } = &req.subject else {
        return None;
    };
    let user = resolve_user(t, id, kind, tenant);
    let kind = user.kind?;
    if kind == "internalguest" {
        return None;
    }
    let default = t
        .cross
        .get("default")
        .and_then(|d| member(d, "inboundTrust"));
    let partner = match t.cross.get("partners") {
        Some(Value::Array(list)) => list.iter().find(|p| {
            matches!((text(p, "tenantId"), &user.home_tenant), (Some(a), Some(b)) if same(a, b))
        }),
        _ => None,
    };
    let trust = partner.and_then(|p| member(p, "inboundTrust")).or(default);
    let flag = |k: &str| trust.and_then(|x| x.get(k)) == Some(&Value::Bool(true));
    Some(External {
        direct: kind == "b2bdirectconnectuser",
        mfa: flag("isMfaAccepted"),
        compliant: flag("isCompliantDeviceAccepted"),
        hybrid: flag("isHybridAzureADJoinedDeviceAccepted"),
    })
}

/// Second factors an external user can do in the resource tenant (Learn, Table 1).
const RESOURCE_SECOND_FACTORS: &[&str] =
    &["sms", "voice", "microsoftauthenticatorpush", "softwareoath"];
/// First factors (done in the home tenant by an external user).
const FIRST_FACTORS: &[&str] = &[
    "password",
    "federatedsinglefactor",
    "x509certificatesinglefactor",
    "email",
];

/// State of MFA or an authentication strength given its allowed combinations.
fn methods_state(combos: &[Vec<String>], req: &Request, ext: Option<&External>) -> State {
    let legacy = req.is_legacy();
    let other = req.client.as_deref() == Some("other");
    let met = |set: &BTreeSet<String>| !other && combos.iter().any(|c| covers(set, c));
    let Some(e) = ext else {
        return if met(&req.methods) {
            State::Satisfied
        } else if legacy {
            State::Cannot
        } else {
            State::Interactive
        };
    };
    let pick = |set: &BTreeSet<String>, allowed: &[&str]| -> BTreeSet<String> {
        set.iter()
            .filter(|m| allowed.contains(&m.as_str()))
            .cloned()
            .collect()
    };
    if e.mfa {
        if met(&req.home_methods) {
            return State::Satisfied;
        }
        return if legacy {
            State::Cannot
        } else {
            State::Interactive
        };
    }
    if e.direct {
        return State::Cannot;
    }
    let offered: Vec<&str> = RESOURCE_SECOND_FACTORS
        .iter()
        .chain(FIRST_FACTORS)
        .copied()
        .collect();
    let mut here = pick(&req.methods, &offered);
    here.extend(pick(&req.home_methods, FIRST_FACTORS));
    if met(&here) {
        return State::Satisfied;
    }
    if legacy {
        return State::Cannot;
    }
    let everything: BTreeSet<String> = offered.iter().map(|m| (*m).to_owned()).collect();
    if combos.iter().any(|c| covers(&everything, c)) {
        State::Interactive
    } else {
        State::Cannot
    }
}

/// State of one control (§3.3.1 `control_state`). Legacy clients (Exchange ActiveSync,
/// other) cannot do anything interactive nor send terms-of-use or app results (§1.6);
/// `other` cannot present a device or an MFA claim either (docs/semantics.md).
fn control_state(t: &Tenant<'_>, policy: &Value, control: Control, req: &Request) -> State {
    let legacy = req.is_legacy();
    let interactive = if legacy {
        State::Cannot
    } else {
        State::Interactive
    };
    let ok = |b: bool| if b { State::Satisfied } else { State::Cannot };
    let g = policy.get("grantControls").unwrap_or(&EMPTY);
    // Agents have no remediation: block only, and an agent user's compliant device.
    match agent(t, req) {
        Some(Agent::User(_)) if control == Control::CompliantDevice => {}
        Some(_) if control != Control::Block => return State::Cannot,
        _ => {}
    }
    let ext = external(t, req);
    if let Some(e) = &ext {
        match control {
            Control::ApprovedApplication
            | Control::CompliantApplication
            | Control::PasswordChange => return State::Cannot,
            Control::TermsOfUse | Control::CustomAuthenticationFactor if e.direct => {
                return State::Cannot;
            }
            _ => {}
        }
    }
    match control {
        Control::Mfa => {
            let combos = strength_combinations(t, "00000000-0000-0000-0000-000000000002")
                .unwrap_or_default();
            methods_state(&combos, req, ext.as_ref())
        }
        Control::AuthenticationStrength => {
            let id = g
                .get("authenticationStrength")
                .and_then(|s| text(s, "id"))
                .unwrap_or_default();
            match strength_combinations(t, id) {
                Some(combos) => methods_state(&combos, req, ext.as_ref()),
                None => State::Cannot,
            }
        }
        Control::CompliantDevice => {
            ok(ext.as_ref().is_none_or(|e| e.compliant) && device_compliant(req.device()))
        }
        Control::DomainJoinedDevice => {
            ok(ext.as_ref().is_none_or(|e| e.hybrid) && device_hybrid(req.device()))
        }
        Control::ApprovedApplication => ok(req.approved_app && !legacy),
        Control::CompliantApplication => ok(req.app_protection && !legacy),
        Control::PasswordChange => {
            if req.password_changed && !legacy {
                State::Satisfied
            } else {
                interactive
            }
        }
        Control::TermsOfUse => {
            let all = strings(g, "termsOfUse")
                .iter()
                .all(|tou| has(&req.accepted_terms, tou));
            if all && !legacy {
                State::Satisfied
            } else {
                interactive
            }
        }
        Control::CustomAuthenticationFactor => interactive,
        Control::SignInFrequency => State::Satisfied,
        Control::Block => State::Cannot,
    }
}

/// Whether the policy's sign-in frequency asks for a new authentication (§1.13): the age of
/// the authentication it governs exceeds the period. `primaryAndSecondaryAuthentication`
/// governs both factors, so the older one counts; `secondaryAuthentication` only the MFA.
/// `everyTime` "forces full reauthentication" with a 5-minute tolerance (T24). Unknown
/// ages mean a fresh sign-in [gardien decision].
fn sign_in_frequency_due(t: &Tenant<'_>, policy: &Value, req: &Request) -> bool {
    // Not supported for B2B direct connect users (Learn's comparison table).
    if external(t, req).is_some_and(|e| e.direct) || agent(t, req).is_some() {
        return false;
    }
    let Some(sif) = policy
        .get("sessionControls")
        .and_then(|s| member(s, "signInFrequency"))
        .filter(|s| s.get("isEnabled") == Some(&Value::Bool(true)))
    else {
        return false;
    };
    let oldest = req.since_authentication.max(req.since_mfa);
    if text(sif, "frequencyInterval").is_some_and(|f| same(f, "everyTime")) {
        return oldest.is_some_and(|a| a > 300);
    }
    let value = sif.get("value").and_then(Value::as_u64).unwrap_or(0);
    let hours = if text(sif, "type").is_some_and(|u| same(u, "days")) {
        value * 24
    } else {
        value
    };
    let secondary =
        text(sif, "authenticationType").is_some_and(|a| same(a, "secondaryAuthentication"));
    let age = if secondary { req.since_mfa } else { oldest };
    age.is_some_and(|a| a > hours * 3600)
}

/// The grant state of an applying policy (§3.3.1), then its sign-in frequency.
pub fn grant(t: &Tenant<'_>, policy: &Value, req: &Request) -> Grant {
    let g = policy.get("grantControls").unwrap_or(&EMPTY);
    let built_in = strings(g, "builtInControls");
    let strength = g.get("authenticationStrength").and_then(|s| text(s, "id"));
    let terms = strings(g, "termsOfUse");
    let custom = strings(g, "customAuthenticationFactors");
    let state = if has(&built_in, "block") {
        Grant::Block
    } else if built_in.is_empty() && strength.is_none() && terms.is_empty() && custom.is_empty() {
        Grant::Satisfied
    } else {
        // Requirements in the policy's configured order.
        let mut reqs: Vec<Control> = Vec::new();
        for b in &built_in {
            let c = match b.to_lowercase().as_str() {
                "mfa" => Control::Mfa,
                "compliantdevice" => Control::CompliantDevice,
                "domainjoineddevice" => Control::DomainJoinedDevice,
                "approvedapplication" => Control::ApprovedApplication,
                "compliantapplication" => Control::CompliantApplication,
                "passwordchange" => Control::PasswordChange,
                other => panic!("the reference does not model grant control `{other}`"),
            };
            if !reqs.contains(&c) {
                reqs.push(c);
            }
        }
        if strength.is_some() {
            reqs.push(Control::AuthenticationStrength);
        }
        if !terms.is_empty() {
            reqs.push(Control::TermsOfUse);
        }
        if !custom.is_empty() {
            reqs.push(Control::CustomAuthenticationFactor);
        }
        let states: Vec<(Control, State)> = reqs
            .iter()
            .map(|c| (*c, control_state(t, policy, *c, req)))
            .collect();
        let with = |s: State| -> BTreeSet<Control> {
            states
                .iter()
                .filter(|(_, x)| *x == s)
                .map(|(c, _)| *c)
                .collect()
        };
        let and = text(g, "operator").is_some_and(|o| same(o, "AND"));
        if !and {
            if states.iter().any(|(_, s)| *s == State::Satisfied) {
                Grant::Satisfied
            } else if let Some((c, _)) = states.iter().find(|(_, s)| *s == State::Interactive) {
                Grant::Interrupt([*c].into_iter().collect())
            } else {
                Grant::Fail(with(State::Cannot))
            }
        } else if states.iter().all(|(_, s)| *s == State::Satisfied) {
            Grant::Satisfied
        } else if with(State::Cannot).is_empty() {
            Grant::Interrupt(with(State::Interactive))
        } else {
            Grant::Fail(with(State::Cannot))
        }
    };
    match state {
        Grant::Satisfied if sign_in_frequency_due(t, policy, req) => {
            Grant::Interrupt([Control::SignInFrequency].into_iter().collect())
        }
        Grant::Interrupt(mut c) if sign_in_frequency_due(t, policy, req) => {
            c.insert(Control::SignInFrequency);
            Grant::Interrupt(c)
        }
        other => other,
    }
}

// ---------------------------------------------------------------------------------------
// Session controls (docs/reference/entra-semantics.md §3.3.3; gardien's strictest-wins rules).
// ---------------------------------------------------------------------------------------

/// Sign-in frequency in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// Every time.
    EveryTime,
    /// A period in hours; whether only the secondary factor is governed.
    Hours(u64, bool),
}

/// Session controls in force after an allow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    /// `applicationEnforcedRestrictions`.
    pub app_enforced: bool,
    /// `cloudAppSecurity` type.
    pub cloud_app_security: Option<String>,
    /// `signInFrequency`.
    pub frequency: Option<Frequency>,
    /// `persistentBrowser` mode.
    pub persistent_browser: Option<String>,
    /// `disableResilienceDefaults`.
    pub disable_resilience_defaults: bool,
    /// `secureSignInSession`.
    pub secure_sign_in_session: bool,
    /// `continuousAccessEvaluation` mode.
    pub cae: Option<String>,
}

fn rank(list: &[&str], v: &Option<String>) -> Option<usize> {
    v.as_ref()
        .and_then(|v| list.iter().position(|x| same(x, v)))
}

/// Merges the session controls of several policies, strictest wins.
pub fn merge_sessions(policies: &[&Value]) -> Session {
    let mut m = Session::default();
    let cas_order = ["mcasConfigured", "monitorOnly", "blockDownloads"];
    let cae_order = ["disabled", "strictEnforcement", "strictLocation"];
    for p in policies {
        let Some(s) = member(p, "sessionControls") else {
            continue;
        };
        let enabled =
            |key: &str| member(s, key).filter(|c| c.get("isEnabled") == Some(&Value::Bool(true)));
        m.app_enforced |= enabled("applicationEnforcedRestrictions").is_some();
        m.secure_sign_in_session |= enabled("secureSignInSession").is_some();
        m.disable_resilience_defaults |=
            s.get("disableResilienceDefaults") == Some(&Value::Bool(true));
        if let Some(c) = enabled("cloudAppSecurity") {
            let t = Some(
                text(c, "cloudAppSecurityType")
                    .unwrap_or("mcasConfigured")
                    .to_owned(),
            );
            if rank(&cas_order, &t) > rank(&cas_order, &m.cloud_app_security) {
                m.cloud_app_security = t;
            }
        }
        if let Some(c) = member(s, "continuousAccessEvaluation") {
            let mode = text(c, "mode").map(str::to_owned);
            if rank(&cae_order, &mode) > rank(&cae_order, &m.cae) {
                m.cae = mode;
            }
        }
        if let Some(c) = enabled("persistentBrowser") {
            let mode = text(c, "mode").map(str::to_lowercase);
            if m.persistent_browser.as_deref() != Some("never") {
                m.persistent_browser = mode;
            }
        }
        if let Some(c) = enabled("signInFrequency") {
            let f = if text(c, "frequencyInterval").is_some_and(|f| same(f, "everyTime")) {
                Frequency::EveryTime
            } else {
                let value = c.get("value").and_then(Value::as_u64).unwrap_or(0);
                let hours = if text(c, "type").is_some_and(|u| same(u, "days")) {
                    value * 24
                } else {
                    value
                };
                let secondary = text(c, "authenticationType")
                    .is_some_and(|a| same(a, "secondaryAuthentication"));
                Frequency::Hours(hours, secondary)
            };
            m.frequency = Some(match (m.frequency, f) {
                (None, f) => f,
                (Some(Frequency::EveryTime), _) | (_, Frequency::EveryTime) => Frequency::EveryTime,
                (Some(Frequency::Hours(a, sa)), Frequency::Hours(b, sb)) => {
                    Frequency::Hours(a.min(b), sa && sb)
                }
            });
        }
    }
    m
}

// ---------------------------------------------------------------------------------------
// The decision (docs/reference/entra-semantics.md §3.3.2, §3.10).
// ---------------------------------------------------------------------------------------

/// One policy after evaluation.
#[derive(Debug, Clone)]
pub struct PolicyOutcome {
    /// Policy id.
    pub id: String,
    /// Each configured condition (empty when disabled).
    pub conditions: Vec<(Cond, Tri)>,
    /// Conditions all met (never for disabled policies).
    pub applies: bool,
    /// Grant state when applying.
    pub grant: Option<Grant>,
    /// Sign-in log result (§3.4, §5.2).
    pub result: &'static str,
}

/// A decision.
#[derive(Debug, Clone)]
pub struct Decision {
    /// `allow`, `challenge`, `deny`.
    pub decision: &'static str,
    /// Error code when denied.
    pub error_code: Option<u32>,
    /// Pending (challenge) or failing (deny) controls, canonical order; empty for allow.
    pub required: Vec<Control>,
    /// The policy that decided a deny or challenge.
    pub deciding: Option<String>,
    /// `conditionalAccessStatus`.
    pub status: &'static str,
    /// Per policy, tenant order.
    pub policies: Vec<PolicyOutcome>,
    /// Session controls in force (allow only).
    pub session: Session,
}

fn state(policy: &Value) -> String {
    text(policy, "state").unwrap_or("disabled").to_lowercase()
}

/// The error code of a blocking policy: 53010 for the security-info registration user
/// action, 530036 for a refresh of a protocol-tracked session blocked by an all-resources
/// authentication-flow policy (§4), otherwise 53003.
fn block_code(policy: &Value, req: &Request) -> u32 {
    if matches!(&req.target, Target::UserAction(a) if a == "registersecurityinfo") {
        return 53010;
    }
    let c = policy.get("conditions").unwrap_or(&EMPTY);
    let tracked = req.refresh
        && req
            .original_transfer
            .as_deref()
            .is_some_and(|m| m != "none");
    let flows = c
        .get("authenticationFlows")
        .and_then(|f| flags(f, "transferMethods"))
        .is_some_and(|m| !m.is_empty());
    let all_apps = c
        .get("applications")
        .is_some_and(|a| has(&strings(a, "includeApplications"), "All"));
    if tracked && flows && all_apps {
        530036
    } else {
        53003
    }
}

/// Evaluates a sign-in in enforcement mode.
pub fn evaluate(tenant: &Value, body: &Value, now: Option<i64>) -> Decision {
    let t = Tenant::at(tenant, now);
    let req = Request::read(body);
    let mut policies = Vec::new();
    for p in &t.policies {
        let id = text(p, "id").unwrap_or_default().to_owned();
        let st = state(p);
        if st == "disabled" {
            policies.push(PolicyOutcome {
                id,
                conditions: Vec::new(),
                applies: false,
                grant: None,
                result: "notEnabled",
            });
            continue;
        }
        let report_only = st == "enabledforreportingbutnotenforced";
        let conditions = conditions(&t, p, &req, Mode::Enforce);
        let applies = conditions.iter().all(|(_, r)| *r == Tri::Yes);
        let g = applies.then(|| grant(&t, p, &req));
        let result = match (&g, report_only) {
            (None, false) => "notApplied",
            (None, true) => "reportOnlyNotApplied",
            (Some(Grant::Satisfied), false) => "success",
            (Some(_), false) => "failure",
            (Some(Grant::Satisfied), true) => "reportOnlySuccess",
            (Some(Grant::Block | Grant::Fail(_)), true) => "reportOnlyFailure",
            (Some(Grant::Interrupt(_)), true) => "reportOnlyInterrupted",
        };
        policies.push(PolicyOutcome {
            id,
            conditions,
            applies,
            grant: g,
            result,
        });
    }

    // Only enabled policies are enforced (§3.4).
    let enforced: Vec<(usize, &PolicyOutcome)> = policies
        .iter()
        .enumerate()
        .filter(|(i, o)| o.applies && state(t.policies[*i]) == "enabled")
        .collect();
    let mut decision = Decision {
        decision: "allow",
        error_code: None,
        required: Vec::new(),
        deciding: None,
        status: if enforced.is_empty() {
            "notApplied"
        } else {
            "success"
        },
        policies: Vec::new(),
        session: Session::default(),
    };
    let blocks: Vec<&(usize, &PolicyOutcome)> = enforced
        .iter()
        .filter(|(_, o)| o.grant == Some(Grant::Block))
        .collect();
    let failing: BTreeSet<Control> = enforced
        .iter()
        .filter_map(|(_, o)| match &o.grant {
            Some(Grant::Fail(c)) => Some(c.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let pending: BTreeSet<Control> = enforced
        .iter()
        .filter_map(|(_, o)| match &o.grant {
            Some(Grant::Interrupt(c)) => Some(c.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    if !blocks.is_empty() {
        // Block wins (§3.3.2); the specialised code wins whatever the order (docs).
        let codes: Vec<(u32, &str)> = blocks
            .iter()
            .map(|(i, o)| (block_code(t.policies[*i], &req), o.id.as_str()))
            .collect();
        let (code, id) = codes
            .iter()
            .find(|(c, _)| *c != 53003)
            .or(codes.first())
            .copied()
            .unwrap_or((53003, ""));
        decision.decision = "deny";
        decision.error_code = Some(code);
        decision.required = vec![Control::Block];
        decision.deciding = Some(id.to_owned());
        decision.status = "failure";
    } else if let Some(first) = failing.first().copied() {
        decision.decision = "deny";
        decision.error_code = Some(match first {
            // Device state cannot come through the device-code flow (docs/semantics.md).
            Control::CompliantDevice | Control::DomainJoinedDevice if req.transferred() => 530033,
            Control::CompliantDevice => 53000,
            Control::DomainJoinedDevice => 53001,
            Control::ApprovedApplication => 53002,
            Control::CompliantApplication => 53009,
            _ if matches!(&req.target, Target::UserAction(a) if a == "registersecurityinfo") => {
                53010
            }
            _ => 53003,
        });
        decision.required = failing.iter().copied().collect();
        decision.deciding = enforced
            .iter()
            .find(|(_, o)| matches!(&o.grant, Some(Grant::Fail(c)) if c.contains(&first)))
            .map(|(_, o)| o.id.clone());
        decision.status = "failure";
    } else if !pending.is_empty() {
        decision.decision = "challenge";
        decision.required = pending.iter().copied().collect();
        decision.deciding = enforced
            .iter()
            .find(|(_, o)| matches!(o.grant, Some(Grant::Interrupt(_))))
            .map(|(_, o)| o.id.clone());
        decision.status = "failure";
    } else {
        let sources: Vec<&Value> = enforced.iter().map(|(i, _)| t.policies[*i]).collect();
        decision.session = merge_sessions(&sources);
        if external(&t, &req).is_some_and(|e| e.direct) {
            // Session controls not supported for B2B direct connect users.
            decision.session.app_enforced = false;
            decision.session.cloud_app_security = None;
            decision.session.frequency = None;
            decision.session.persistent_browser = None;
        }
    }
    decision.policies = policies;
    decision
}

/// One what-if entry (docs/reference/entra-semantics.md §6.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatIfEntry {
    /// Policy id.
    pub id: String,
    /// `policyApplies`.
    pub applies: bool,
    /// `analysisReasons` (`notSet` when it applies).
    pub reasons: String,
    /// Each configured condition and its result.
    pub conditions: Vec<(Cond, Tri)>,
}

/// Runs what-if: every policy (only applying ones with `appliedPoliciesOnly`), every unmet
/// condition named, `notEnoughInformation` when an input is missing, disabled policies as
/// `policyNotEnabled` alone.
pub fn what_if(tenant: &Value, body: &Value, now: Option<i64>) -> Vec<WhatIfEntry> {
    let t = Tenant::at(tenant, now);
    let req = Request::read(body);
    let mut out = Vec::new();
    for p in &t.policies {
        let id = text(p, "id").unwrap_or_default().to_owned();
        let (applies, reasons, conditions) = if state(p) == "disabled" {
            (false, "policyNotEnabled".to_owned(), Vec::new())
        } else {
            let conditions = conditions(&t, p, &req, Mode::WhatIf);
            let applies = conditions.iter().all(|(_, r)| *r == Tri::Yes);
            let mut reasons: Vec<(&'static str, u32)> = conditions
                .iter()
                .filter(|(_, r)| *r == Tri::No)
                .map(|(c, _)| c.what_if())
                .collect();
            if conditions.iter().any(|(_, r)| *r == Tri::Unknown) {
                reasons.push(("notEnoughInformation", 1));
            }
            (applies, join_flags(reasons, "notSet"), conditions)
        };
        if req.applied_only && !applies {
            continue;
        }
        out.push(WhatIfEntry {
            id,
            applies,
            reasons,
            conditions,
        });
    }
    out
}

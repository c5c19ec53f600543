//! The sign-in resolved against a compiled tenant, once per evaluation.

use super::PolicySet;
use super::places::Whereabouts;
use crate::compile::{COMPLIANT_NETWORK_BIT, CompiledTenant, CompiledUser};
use crate::dated::DatedChange;
use crate::ids::{AGENT_TOKEN_EXCHANGE_APP, AZURE_AD_GRAPH_APP, MICROSOFT_GRAPH_APP};
use crate::model::cross_tenant::InboundTrust;
use crate::model::directory::AgentPrincipal;
use crate::model::directory::BaselineScopesMode;
use crate::model::enums::{ClientAppType, DevicePlatform, ExternalUserType, TransferMethod};
use crate::network::LocationSet;
use crate::signin::{SignIn, Subject, Target};

/// How inputs the request does not carry are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Enforcement (`evaluate`, the server): a missing input takes its documented default
    /// (unknown platform, unknown country, no risk, unregistered device); a missing client
    /// app type satisfies client-app conditions (fail closed: the policy applies).
    Enforce,
    /// What-if: a condition whose input is missing cannot be decided
    /// (`notEnoughInformation`), exactly like Graph's `evaluate` action.
    WhatIf,
}

/// Three-valued result of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The condition holds.
    Satisfied,
    /// The condition does not hold.
    NotSatisfied,
    /// The request lacks the input needed to decide (what-if only).
    Unknown,
}

impl Outcome {
    /// From a boolean.
    pub fn of(b: bool) -> Outcome {
        if b {
            Outcome::Satisfied
        } else {
            Outcome::NotSatisfied
        }
    }
    /// Kleene OR.
    pub fn or(self, other: Outcome) -> Outcome {
        match (self, other) {
            (Outcome::Satisfied, _) | (_, Outcome::Satisfied) => Outcome::Satisfied,
            (Outcome::Unknown, _) | (_, Outcome::Unknown) => Outcome::Unknown,
            _ => Outcome::NotSatisfied,
        }
    }
    /// Kleene AND.
    pub fn and(self, other: Outcome) -> Outcome {
        match (self, other) {
            (Outcome::NotSatisfied, _) | (_, Outcome::NotSatisfied) => Outcome::NotSatisfied,
            (Outcome::Unknown, _) | (_, Outcome::Unknown) => Outcome::Unknown,
            _ => Outcome::Satisfied,
        }
    }
    /// Kleene NOT.
    pub fn negate(self) -> Outcome {
        match self {
            Outcome::Satisfied => Outcome::NotSatisfied,
            Outcome::NotSatisfied => Outcome::Satisfied,
            Outcome::Unknown => Outcome::Unknown,
        }
    }
}

/// The user signing in, as the evaluator sees them.
#[derive(Debug, Clone, Copy)]
pub struct UserView<'a> {
    /// Normalised object id.
    pub id: &'a str,
    /// Transitive groups (dense ids, sorted); empty for users outside the directory.
    pub groups: &'a [u32],
    /// Active built-in role template ids.
    pub roles: &'a [Box<str>],
    /// Kind of guest or external user, `None` for members.
    pub kind: Option<ExternalUserType>,
    /// Home tenant of an external user.
    pub home_tenant: Option<&'a str>,
    /// Directory entry, when the user is in the directory.
    pub directory: Option<&'a CompiledUser>,
    /// An agent's user account (the directory says so).
    pub agent_user: bool,
}

/// Which of Microsoft Entra Agent ID's identities signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentKind {
    /// An agent identity with its own identity (application-only access).
    Identity,
    /// An agent's user account.
    User,
    /// An agent identity blueprint principal.
    Blueprint,
}

/// Why Conditional Access does not apply to an agent's token request at all (Learn,
/// "Conditional Access for agent identities", boundaries and limitations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentExemption {
    /// A blueprint acquires a Microsoft Graph token (to create agent identities or agent
    /// users).
    BlueprintGraphToken,
    /// An intermediate token exchange at `AAD Token Exchange Endpoint: Public`.
    TokenExchange,
}

impl AgentExemption {
    /// Why, in words (traces).
    pub fn describe(self) -> &'static str {
        match self {
            AgentExemption::BlueprintGraphToken => {
                "an agent identity blueprint acquiring a Microsoft Graph token (to create agent identities or agent users): Conditional Access does not apply"
            }
            AgentExemption::TokenExchange => {
                "an intermediate token exchange at `AAD Token Exchange Endpoint: Public` (fb60f99c-7a34-4190-8149-302f77469936): Conditional Access does not apply"
            }
        }
    }
}

/// An agent signing in, as the evaluator sees it.
#[derive(Debug, Clone, Copy)]
pub struct AgentView<'a> {
    /// Agent identity, agent user or blueprint.
    pub kind: AgentKind,
    /// Object id (normalised).
    pub id: &'a str,
    /// Application id, when the directory knows the agent identity.
    pub app_id: Option<&'a str>,
    /// The blueprint (app id) an agent identity derives from, when the directory says so.
    pub blueprint: Option<&'a str>,
    /// Custom security attributes (`Set_Name` → value) of a directory agent identity.
    pub attributes: Option<&'a [(String, String)]>,
    /// Set when Conditional Access does not apply to this request at all.
    pub exempt: Option<AgentExemption>,
}

/// An external user (any guest or external kind but a local guest) as the grant phase sees
/// them: which claims of their home tenant count here, and whether they can do anything
/// interactive here at all (Microsoft Learn, "Authentication and Conditional Access for
/// External ID").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct External {
    /// A B2B direct connect user: no object in this directory, so nothing can be done in
    /// this tenant (no MFA, no terms of use, no session controls but block and the trusted
    /// claims).
    pub direct_connect: bool,
    /// The inbound trust for the user's home tenant (partner entry, else default).
    pub trust: InboundTrust,
}

/// The resources of a token request, after baseline-scope handling.
#[derive(Debug, Clone, Copy)]
pub enum Audiences<'a> {
    /// As requested.
    Requested(&'a [Box<str>]),
    /// Baseline scopes only, enforced: Windows Azure Active Directory.
    AzureAdGraph,
    /// Baseline scopes only, with the tenant's custom target resource (app id).
    Custom(&'a str),
}

impl<'a> Audiences<'a> {
    /// Calls `f` on each audience id until it returns true.
    pub fn any(&self, mut f: impl FnMut(&str) -> bool) -> bool {
        match self {
            Audiences::Requested(list) => list.iter().any(|a| f(a)),
            Audiences::AzureAdGraph => f(AZURE_AD_GRAPH_APP),
            Audiences::Custom(app) => f(app),
        }
    }
}

/// What a request for only baseline scopes is evaluated as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline<'a> {
    /// Windows Azure Active Directory (enforcement).
    AzureAdGraph,
    /// The tenant's custom target resource.
    Custom(&'a str),
    /// The requested resources, with `All`-resources policies that have exclusions not
    /// applying (the historic behaviour).
    Exempt,
}

/// How baseline-scope requests are handled in a tenant mode at an instant: the dated rollout
/// ([`DatedChange::BaselineScopesEnforcement`]) decides when the tenant chose nothing.
pub fn baseline_handling(mode: &BaselineScopesMode, at: Option<i64>) -> Baseline<'_> {
    match mode {
        BaselineScopesMode::Enforced => Baseline::AzureAdGraph,
        BaselineScopesMode::Legacy => Baseline::Exempt,
        BaselineScopesMode::CustomTarget(app) => Baseline::Custom(app),
        BaselineScopesMode::Rollout if DatedChange::BaselineScopesEnforcement.in_force(at) => {
            Baseline::AzureAdGraph
        }
        BaselineScopesMode::Rollout => Baseline::Exempt,
    }
}

/// The OpenID Connect scopes among the baseline scopes (docs/reference/entra-semantics.md §3.3.4).
const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// OAuth scopes that count as "baseline" (docs/reference/entra-semantics.md §3.3.4): the OIDC scopes and the baseline
/// directory scopes.
const BASELINE_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "offline_access",
    "user.read",
    "people.read",
    "user.read.all",
    "user.readbasic.all",
    "people.read.all",
    "groupmember.read.all",
    "member.read.hidden",
];

/// A sign-in resolved against the tenant.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// How to treat missing inputs.
    pub mode: Mode,
    /// The request.
    pub signin: &'a SignIn,
    /// The tenant.
    pub tenant: &'a CompiledTenant,
    /// The user, for user sign-ins.
    pub user: Option<UserView<'a>>,
    /// The service principal object id and its directory index, for workload sign-ins.
    pub service_principal: Option<(&'a str, Option<usize>)>,
    /// The agent signing in: an agent identity or blueprint (then `user` and
    /// `service_principal` are `None`) or an agent's user account (beside `user`).
    pub agent: Option<AgentView<'a>>,
    /// Resources of the request (for application targets).
    pub audiences: Audiences<'a>,
    /// The request asks only for baseline scopes and the tenant is in legacy mode.
    pub baseline_exempt: bool,
    /// Named locations the request is in.
    pub locations: LocationSet,
    /// Whether the IP address is known (or treated as known in enforcement).
    pub ip_known: bool,
    /// Whether the IP country is known (or treated as unknown-country in enforcement).
    pub country_known: bool,
    /// Whether the GPS country is known.
    pub gps_known: bool,
    /// Client app type after defaults (`None`: not given).
    pub client_app_type: Option<ClientAppType>,
    /// Device platform after defaults.
    pub platform: Option<DevicePlatform>,
    /// The user is external (not a local guest): how their home tenant's claims count.
    pub external: Option<External>,
    /// The request (or the session it refreshes) comes from the device-code flow or an
    /// authentication transfer, which cannot carry device state.
    pub transferred: bool,
    /// The request's address and country in words, built the first time a traced location
    /// check needs it and shared by every policy of the evaluation (each policy's detail then
    /// names its own locations).
    pub(crate) location_note: std::cell::OnceCell<String>,
    /// The policies whose identity condition holds for a member with this user id, read
    /// from the memo with the directory entry (`None`: the memo does not know the id).
    pub(crate) identity: Option<&'a PolicySet>,
    /// Whether the session's methods satisfy each of the tenant's first 64 authentication
    /// strengths, as far as known: (known, satisfied) bits by strength index.
    pub(crate) strengths_met: std::cell::Cell<(u64, u64)>,
}

/// Who among Microsoft Entra Agent ID's identities signs in: an `agentSignIn`, a service
/// principal the directory knows as an agent identity or blueprint, or a user the directory
/// knows as an agent's user account. A blueprint is an agent only for the requests
/// Conditional Access exempts; otherwise it stays a service principal (workload policies).
fn resolve_agent<'a>(
    tenant: &'a CompiledTenant,
    signin: &'a SignIn,
    user: Option<UserView<'a>>,
    service_principal: Option<(&'a str, Option<usize>)>,
) -> (Option<(&'a str, Option<usize>)>, Option<AgentView<'a>>) {
    if let Some(u) = user {
        let agent = u.agent_user.then_some(AgentView {
            kind: AgentKind::User,
            id: u.id,
            app_id: None,
            blueprint: None,
            attributes: None,
            exempt: None,
        });
        return (service_principal, agent);
    }
    let Some((id, index)) = service_principal else {
        return (None, None);
    };
    let entry = index.and_then(|i| tenant.tenant.directory.service_principals.get(i));
    let declared = matches!(signin.subject, Subject::Agent { .. });
    // The resources the token is requested for (not the audience baseline-scope handling
    // evaluates): a blueprint's Graph token is exempt whatever its scopes.
    let only = |apps: &[&str]| match &signin.target {
        Target::Applications(list) => {
            !list.is_empty() && list.iter().all(|a| apps.contains(&a.as_ref()))
        }
        _ => false,
    };
    let view = |kind, exempt| AgentView {
        kind,
        id,
        app_id: entry.and_then(|e| e.app_id.as_deref()),
        blueprint: match entry.and_then(|e| e.agent.as_ref()) {
            Some(AgentPrincipal::Identity { blueprint }) => blueprint.as_deref(),
            _ => None,
        },
        attributes: entry.map(|e| e.attributes.as_slice()),
        exempt,
    };
    match entry.and_then(|e| e.agent.as_ref()) {
        Some(AgentPrincipal::Blueprint) => {
            if only(&[MICROSOFT_GRAPH_APP]) {
                (
                    None,
                    Some(view(
                        AgentKind::Blueprint,
                        Some(AgentExemption::BlueprintGraphToken),
                    )),
                )
            } else if only(&[AGENT_TOKEN_EXCHANGE_APP]) {
                (
                    None,
                    Some(view(
                        AgentKind::Blueprint,
                        Some(AgentExemption::TokenExchange),
                    )),
                )
            } else {
                // A blueprint cannot reach resources as an agent: it is evaluated as the
                // service principal it is (workload-identity policies).
                (service_principal, None)
            }
        }
        Some(AgentPrincipal::Identity { .. }) => {
            let exempt = only(&[AGENT_TOKEN_EXCHANGE_APP]).then_some(AgentExemption::TokenExchange);
            (None, Some(view(AgentKind::Identity, exempt)))
        }
        None if declared => {
            let exempt = only(&[AGENT_TOKEN_EXCHANGE_APP]).then_some(AgentExemption::TokenExchange);
            (None, Some(view(AgentKind::Identity, exempt)))
        }
        None => (service_principal, None),
    }
}

/// Where a sign-in is, resolved against the tenant: the named locations it is in and which
/// location inputs are known.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Located {
    /// Named locations the request is in.
    pub locations: LocationSet,
    /// Whether the IP address is known (or treated as known in enforcement).
    pub ip_known: bool,
    /// Whether the IP country is known (or treated as unknown-country in enforcement).
    pub country_known: bool,
    /// Whether the GPS country is known.
    pub gps_known: bool,
}

impl Located {
    /// Resolves `place` against `tenant`; `enforce` treats missing inputs as enforcement does.
    pub(crate) fn resolve(tenant: &CompiledTenant, place: &Whereabouts, enforce: bool) -> Located {
        let mut locations = LocationSet::EMPTY;
        let ip_known = match place.ip_address {
            Some(ip) => {
                locations = locations.union(*tenant.locations.ip_index.lookup(ip));
                true
            }
            None => enforce,
        };
        let country_known = match place.country {
            Some(c) => {
                if let Some(set) = tenant.locations.countries.get(&c) {
                    locations = locations.union(*set);
                }
                true
            }
            None => {
                if enforce {
                    locations = locations.union(tenant.locations.unknown_country);
                }
                enforce
            }
        };
        let gps_known = match place.gps_country {
            Some(c) => {
                if let Some(set) = tenant.locations.gps_countries.get(&c) {
                    locations = locations.union(*set);
                }
                true
            }
            None => enforce,
        };
        if place.compliant_network {
            locations.insert(COMPLIANT_NETWORK_BIT);
        }
        Located {
            locations,
            ip_known,
            country_known,
            gps_known,
        }
    }
}

impl<'a> Input<'a> {
    /// The same input at another place (location inputs only: `signin` still says where the
    /// request was, and is read only by traces and the other conditions).
    pub(crate) fn at(&self, located: Located) -> Input<'a> {
        Input {
            locations: located.locations,
            ip_known: located.ip_known,
            country_known: located.country_known,
            gps_known: located.gps_known,
            location_note: std::cell::OnceCell::new(),
            ..self.clone()
        }
    }
}

impl<'a> Input<'a> {
    /// Resolves a sign-in against a tenant.
    pub fn resolve(tenant: &'a CompiledTenant, signin: &'a SignIn, mode: Mode) -> Input<'a> {
        let mut identity = None;
        let (user, service_principal) = match &signin.subject {
            Subject::User {
                id,
                external_tenant_id,
                external_user_type,
            } => {
                // One lookup for the directory entry and the memoised identity mask; the
                // directory alone while the memo is being built (or for an id it lacks).
                let directory = match tenant.memo.user(id) {
                    Some(entry) => {
                        identity = Some(&entry.identity);
                        entry.directory.as_ref()
                    }
                    None => tenant.user_index.get(id.as_ref()),
                };
                let dir_user = directory.and_then(|c| tenant.tenant.directory.users.get(c.index));
                let kind = external_user_type.or_else(|| directory.and_then(|d| d.kind));
                let home_tenant = external_tenant_id
                    .as_deref()
                    .or_else(|| dir_user.and_then(|u| u.home_tenant_id.as_deref()));
                let agent_user = directory.is_some_and(|d| d.agent_user);
                let view = UserView {
                    id,
                    groups: directory.map(|d| d.groups.as_slice()).unwrap_or(&[]),
                    roles: dir_user.map(|u| u.roles.as_slice()).unwrap_or(&[]),
                    kind,
                    home_tenant,
                    directory,
                    agent_user,
                };
                (Some(view), None)
            }
            Subject::ServicePrincipal { id } | Subject::Agent { id } => (
                None,
                Some((id.as_ref(), tenant.sp_index.get(id.as_ref()).copied())),
            ),
        };
        let external = user.and_then(|u| match u.kind {
            None | Some(ExternalUserType::InternalGuest) => None,
            Some(kind) => Some(External {
                direct_connect: kind == ExternalUserType::B2bDirectConnectUser,
                trust: tenant.tenant.cross_tenant_access.trust_for(u.home_tenant),
            }),
        });
        let scopes = &signin.session.requested_scopes;
        let only = |list: &[&str]| {
            !scopes.is_empty()
                && scopes
                    .iter()
                    .all(|s| list.iter().any(|b| s.eq_ignore_ascii_case(b)))
        };
        // A confidential client that asks for OIDC scopes only keeps its own audience in
        // every mode ("no change is expected", concept-enforcement-resource-exclusions).
        let baseline_only =
            only(BASELINE_SCOPES) && !(signin.session.confidential_client && only(OIDC_SCOPES));
        let baseline = baseline_handling(&tenant.tenant.directory.baseline_scopes_mode, signin.at);
        let legacy = baseline == Baseline::Exempt;
        let audiences = match (&signin.target, baseline) {
            (Target::Applications(apps), _) if !baseline_only => Audiences::Requested(apps),
            (Target::Applications(_), Baseline::AzureAdGraph) => Audiences::AzureAdGraph,
            (Target::Applications(_), Baseline::Custom(app)) => Audiences::Custom(app),
            (Target::Applications(apps), Baseline::Exempt) => Audiences::Requested(apps),
            _ => Audiences::Requested(&[]),
        };
        let (service_principal, agent) = resolve_agent(tenant, signin, user, service_principal);
        let enforce = mode == Mode::Enforce;
        let Located {
            locations,
            ip_known,
            country_known,
            gps_known,
        } = Located::resolve(tenant, &Whereabouts::of(signin), enforce);
        let platform = match signin.device_platform {
            Some(p) => Some(p),
            None if enforce => Some(DevicePlatform::Unknown),
            None => None,
        };
        let transfer = |m: Option<TransferMethod>| m.is_some_and(|m| m != TransferMethod::None);
        let transferred =
            transfer(signin.transfer_method) || transfer(signin.session.original_transfer_method);
        Input {
            mode,
            signin,
            tenant,
            user,
            service_principal,
            agent,
            audiences,
            baseline_exempt: baseline_only && legacy,
            locations,
            ip_known,
            country_known,
            gps_known,
            client_app_type: signin.client_app_type,
            platform,
            external,
            transferred,
            location_note: std::cell::OnceCell::new(),
            identity,
            strengths_met: std::cell::Cell::new((0, 0)),
        }
    }

    /// Whether the session's methods satisfy the tenant's authentication strength
    /// `index`; `check` answers the first time, the answer is remembered for the rest of
    /// the evaluation (every policy asking for MFA asks the same question).
    #[inline]
    pub(crate) fn session_satisfies(&self, index: usize, check: impl FnOnce() -> bool) -> bool {
        let Some(bit) = u32::try_from(index).ok().and_then(|i| 1u64.checked_shl(i)) else {
            return check();
        };
        let (known, met) = self.strengths_met.get();
        if known & bit != 0 {
            return met & bit != 0;
        }
        let yes = check();
        self.strengths_met
            .set((known | bit, if yes { met | bit } else { met }));
        yes
    }

    /// The device as the policy sees it: `other` legacy clients cannot present one, and
    /// neither can the device-code flow or an authentication transfer (the device that
    /// completes the flow is not the one that gets the token), even when the request gives
    /// a `deviceInfo`.
    pub fn device(&self) -> Option<&'a crate::device::DeviceInfo> {
        if self.signin.client_app_type == Some(ClientAppType::Other) || self.transferred {
            return None;
        }
        self.signin.device.as_ref()
    }
}

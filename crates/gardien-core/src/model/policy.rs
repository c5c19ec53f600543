//! The Graph `conditionalAccessPolicy`, read into typed conditions and controls.

use serde_json::Value;

use super::enums::{
    BuiltInControl, ClientAppType, DevicePlatform, EnumSet, ExternalUserType, InsiderRiskLevel,
    RiskLevel, TransferMethod,
};
use crate::error::{LoadError, record};
use crate::filter::{AttributeFilterRule, DeviceFilterRule};
use crate::ids::{id_problem, normalize_id};
use crate::json::{
    Node, flags_list, kind, opt_bool, opt_name, opt_string, string_list, with_member,
};
use crate::limits::MAX_ID_LENGTH;

/// Policy state (`conditionalAccessPolicyState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyState {
    /// Evaluated and enforced.
    Enabled,
    /// Not evaluated (logged `notEnabled`).
    Disabled,
    /// Report-only: evaluated, never enforced.
    ReportOnly,
}

impl PolicyState {
    /// The Graph spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyState::Enabled => "enabled",
            PolicyState::Disabled => "disabled",
            PolicyState::ReportOnly => "enabledForReportingButNotEnforced",
        }
    }
}

/// One Conditional Access policy, typed, with the JSON it was read from.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Policy id as written (`""` for POST bodies without one; the loader then assigns one).
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// State.
    pub state: PolicyState,
    /// Assignments and conditions.
    pub conditions: Conditions,
    /// Grant controls; `None` for session-only policies.
    pub grant: Option<GrantControls>,
    /// Session controls.
    pub session: SessionControls,
    /// The policy object exactly as read (what-if echoes it).
    pub raw: Value,
    /// File the policy came from.
    pub file: String,
    /// Pointer of the policy inside its file.
    pub pointer: String,
}

/// The set of conditions of a policy (`conditionalAccessConditionSet`).
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    /// Users, groups, roles and guests; `None` when absent.
    pub users: Option<UserCondition>,
    /// Workload identities; `None` unless the policy targets service principals.
    pub client_applications: Option<ClientApplicationsCondition>,
    /// Agent identities (beta `clientApplications.includeAgentIdServicePrincipals`,
    /// `excludeAgentIdServicePrincipals`, `agentIdServicePrincipalFilter`); `None` unless the
    /// policy targets agent identities.
    pub agent_identities: Option<AgentIdentitiesCondition>,
    /// Target resources, user actions or authentication contexts.
    pub applications: ApplicationCondition,
    /// Client app types; empty means `all`.
    pub client_app_types: Vec<ClientAppTypeToken>,
    /// Device platforms; `None` means all.
    pub platforms: Option<PlatformCondition>,
    /// Network locations; `None` means any.
    pub locations: Option<LocationCondition>,
    /// Device filter.
    pub device_filter: Option<DeviceFilterCondition>,
    /// Legacy device states (beta `deviceStates` / `devices.excludeDevices`).
    pub device_states: Option<DeviceStatesCondition>,
    /// Sign-in risk levels; empty means not configured.
    pub sign_in_risk: EnumSet,
    /// User risk levels; empty means not configured.
    pub user_risk: EnumSet,
    /// Service principal risk levels; empty means not configured.
    pub service_principal_risk: EnumSet,
    /// Insider risk levels; `None` means not configured.
    pub insider_risk: Option<EnumSet>,
    /// Agent risk levels (beta `agentIdRiskLevels`, a flag enum); `None` means not
    /// configured.
    pub agent_id_risk: Option<EnumSet>,
    /// Authentication flows (transfer methods); `None` means not configured.
    pub authentication_flows: Option<EnumSet>,
}

/// One member of `clientAppTypes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAppTypeToken {
    /// `all`.
    All,
    /// A specific client app type.
    Type(ClientAppType),
    /// `easSupported`: Exchange ActiveSync from supported platforms only.
    EasSupported,
}

/// A set of principals on one side (include or exclude) of a user condition.
#[derive(Debug, Clone, Default)]
pub struct Principals {
    /// `All` users (never agents' user accounts).
    pub all: bool,
    /// `AllAgentIdUsers` (include side only): every agent's user account.
    pub all_agent_users: bool,
    /// Legacy `GuestsOrExternalUsers` token: any guest or external user.
    pub guests_or_external: bool,
    /// User object ids (normalised).
    pub users: Vec<Box<str>>,
    /// Group object ids (normalised).
    pub groups: Vec<Box<str>>,
    /// Directory role template ids (normalised).
    pub roles: Vec<Box<str>>,
    /// `include/excludeGuestsOrExternalUsers`.
    pub guests: Option<GuestsOrExternalUsers>,
}

impl Principals {
    /// Whether nothing at all is listed.
    pub fn is_empty(&self) -> bool {
        !self.all
            && !self.all_agent_users
            && !self.guests_or_external
            && self.users.is_empty()
            && self.groups.is_empty()
            && self.roles.is_empty()
            && self.guests.is_none()
    }
}

/// `conditionalAccessGuestsOrExternalUsers`.
#[derive(Debug, Clone)]
pub struct GuestsOrExternalUsers {
    /// Selected kinds (over [`ExternalUserType::index`]).
    pub types: EnumSet,
    /// Home tenants selected; `None` means all tenants.
    pub tenants: Option<Vec<Box<str>>>,
}

/// `conditionalAccessUsers`.
#[derive(Debug, Clone, Default)]
pub struct UserCondition {
    /// Who is included.
    pub include: Principals,
    /// Who is excluded (exclusion wins).
    pub exclude: Principals,
}

/// `conditionalAccessClientApplications` (workload identities).
#[derive(Debug, Clone, Default)]
pub struct ClientApplicationsCondition {
    /// `ServicePrincipalsInMyTenant`.
    pub include_all_in_tenant: bool,
    /// Included service principal object ids.
    pub include: Vec<Box<str>>,
    /// Excluded service principal object ids.
    pub exclude: Vec<Box<str>>,
    /// Filter on custom security attributes.
    pub filter: Option<AttributeFilterCondition>,
}

/// The agent-identity assignment of a policy (beta members of `clientApplications`).
#[derive(Debug, Clone, Default)]
pub struct AgentIdentitiesCondition {
    /// `includeAgentIdServicePrincipals: ["All"]`: every agent identity.
    pub include_all: bool,
    /// Included agent identities or blueprints (object ids or app ids, normalised).
    pub include: Vec<Box<str>>,
    /// Excluded agent identities or blueprints (normalised).
    pub exclude: Vec<Box<str>>,
    /// `agentIdServicePrincipalFilter` on custom security attributes.
    pub filter: Option<AttributeFilterCondition>,
}

/// A filter over custom security attributes, with its mode.
#[derive(Debug, Clone)]
pub struct AttributeFilterCondition {
    /// Include or exclude what matches.
    pub mode: FilterMode,
    /// The parsed rule.
    pub rule: AttributeFilterRule,
}

/// `include` or `exclude` (`filterMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterMode {
    /// Objects matching the rule are in scope.
    Include,
    /// Objects matching the rule are out of scope.
    Exclude,
}

/// A set of applications on one side of an application condition.
#[derive(Debug, Clone, Default)]
pub struct AppSet {
    /// `All`.
    pub all: bool,
    /// `Office365`.
    pub office365: bool,
    /// `MicrosoftAdminPortals`.
    pub admin_portals: bool,
    /// `AllAgentIdResources` (include side only): agent identities and blueprints acting as
    /// the resource (agent-to-agent).
    pub all_agent_resources: bool,
    /// Application ids (normalised).
    pub apps: Vec<Box<str>>,
}

/// User actions a policy can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// `urn:user:registersecurityinfo`.
    RegisterSecurityInformation,
    /// `urn:user:registerdevice`.
    RegisterOrJoinDevices,
}

impl UserAction {
    /// The policy spelling (`urn:user:…`).
    pub fn urn(self) -> &'static str {
        match self {
            UserAction::RegisterSecurityInformation => "urn:user:registersecurityinfo",
            UserAction::RegisterOrJoinDevices => "urn:user:registerdevice",
        }
    }
    /// The request spelling (`userActionContext.userAction`).
    pub fn request_name(self) -> &'static str {
        match self {
            UserAction::RegisterSecurityInformation => "registerSecurityInformation",
            UserAction::RegisterOrJoinDevices => "registerOrJoinDevices",
        }
    }
}

/// `conditionalAccessApplications`: exactly one of apps, user actions or contexts is targeted.
#[derive(Debug, Clone, Default)]
pub struct ApplicationCondition {
    /// Included resources.
    pub include: AppSet,
    /// Excluded resources.
    pub exclude: AppSet,
    /// Targeted user actions.
    pub user_actions: Vec<UserAction>,
    /// Targeted authentication contexts (`c1`…`c99`, normalised lower case).
    pub auth_contexts: Vec<Box<str>>,
    /// Application filter.
    pub filter: Option<AttributeFilterCondition>,
    /// Tokens whose members analyses cannot enumerate (`AllAgentIdResources`: every agent
    /// identity or blueprint acting as a resource); the evaluator matches them
    /// ([`AppSet::all_agent_resources`]), lint's searches and containment leave them alone.
    pub unmodelled: Vec<String>,
}

/// `conditionalAccessPlatforms`.
#[derive(Debug, Clone, Default)]
pub struct PlatformCondition {
    /// `all` in `includePlatforms`.
    pub include_all: bool,
    /// Included platforms (over [`DevicePlatform::index`]).
    pub include: EnumSet,
    /// Excluded platforms.
    pub exclude: EnumSet,
}

/// One location token of a location condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationToken {
    /// `All`: any location.
    All,
    /// `AllTrusted`: every trusted location plus MFA trusted IPs.
    AllTrusted,
    /// A named location id (or a pseudo-location id), normalised.
    Id(Box<str>),
}

/// `conditionalAccessLocations`.
#[derive(Debug, Clone, Default)]
pub struct LocationCondition {
    /// Included tokens.
    pub include: Vec<LocationToken>,
    /// Excluded tokens.
    pub exclude: Vec<LocationToken>,
}

/// A device filter with its mode.
#[derive(Debug, Clone)]
pub struct DeviceFilterCondition {
    /// Include or exclude matching devices.
    pub mode: FilterMode,
    /// The parsed rule.
    pub rule: DeviceFilterRule,
}

/// Legacy device-state condition: include all devices, exclude compliant and/or hybrid joined.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeviceStatesCondition {
    /// `Compliant` excluded.
    pub exclude_compliant: bool,
    /// `DomainJoined` excluded.
    pub exclude_domain_joined: bool,
}

/// `AND` or `OR` of a policy's grant controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantOperator {
    /// Every control is required.
    And,
    /// One control is enough.
    Or,
}

/// `conditionalAccessGrantControls`.
#[derive(Debug, Clone)]
pub struct GrantControls {
    /// `AND` / `OR`.
    pub operator: GrantOperator,
    /// Built-in controls, in the policy's order.
    pub built_in: Vec<BuiltInControl>,
    /// Terms-of-use agreement ids (normalised).
    pub terms_of_use: Vec<Box<str>>,
    /// Custom control ids.
    pub custom_factors: Vec<Box<str>>,
    /// Authentication strength policy id (normalised) and, when the export expanded it inline,
    /// its display name and allowed combinations.
    pub authentication_strength: Option<StrengthRef>,
}

impl GrantControls {
    /// Whether the policy blocks.
    pub fn is_block(&self) -> bool {
        self.built_in.contains(&BuiltInControl::Block)
    }
    /// Whether the grant controls require nothing.
    pub fn is_empty(&self) -> bool {
        self.built_in.is_empty()
            && self.terms_of_use.is_empty()
            && self.custom_factors.is_empty()
            && self.authentication_strength.is_none()
    }
}

/// A reference to an authentication strength, possibly expanded.
#[derive(Debug, Clone)]
pub struct StrengthRef {
    /// Strength id (normalised).
    pub id: Box<str>,
    /// Inline definition found in the export: display name and combinations.
    pub inline: Option<(String, Vec<String>)>,
}

/// Sign-in frequency session control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignInFrequency {
    /// Reauthenticate every time (5-minute tolerance).
    EveryTime,
    /// Reauthenticate after this many hours.
    Hours {
        /// Period in hours (days are converted).
        hours: u32,
        /// Only the secondary factor must be fresh.
        secondary_only: bool,
    },
}

/// `persistentBrowser.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersistentBrowserMode {
    /// Keep the browser session.
    Always,
    /// Never keep it.
    Never,
}

/// `cloudAppSecurity.cloudAppSecurityType`, ordered from weakest to strongest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CloudAppSecurityType {
    /// Custom policy configured in Defender for Cloud Apps.
    McasConfigured,
    /// Monitor only.
    MonitorOnly,
    /// Block downloads.
    BlockDownloads,
}

impl CloudAppSecurityType {
    /// The Graph spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CloudAppSecurityType::McasConfigured => "mcasConfigured",
            CloudAppSecurityType::MonitorOnly => "monitorOnly",
            CloudAppSecurityType::BlockDownloads => "blockDownloads",
        }
    }
}

/// Continuous access evaluation mode (beta), ordered from weakest to strictest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CaeMode {
    /// `disabled`.
    Disabled,
    /// `strictEnforcement`.
    StrictEnforcement,
    /// `strictLocation`.
    StrictLocation,
}

impl CaeMode {
    /// Every mode with its Graph spelling.
    pub const NAMES: [(CaeMode, &'static str); 3] = [
        (CaeMode::Disabled, "disabled"),
        (CaeMode::StrictEnforcement, "strictEnforcement"),
        (CaeMode::StrictLocation, "strictLocation"),
    ];
    /// The Graph spelling.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(m, _)| *m == self)
            .map(|(_, n)| *n)
            .unwrap_or("disabled")
    }
}

/// The session controls a policy enables (disabled ones are `None` / `false`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SessionControls {
    /// App-enforced restrictions.
    pub application_enforced_restrictions: bool,
    /// Defender for Cloud Apps session.
    pub cloud_app_security: Option<CloudAppSecurityType>,
    /// Sign-in frequency.
    pub sign_in_frequency: Option<SignInFrequency>,
    /// Persistent browser session.
    pub persistent_browser: Option<PersistentBrowserMode>,
    /// Disable resilience defaults.
    pub disable_resilience_defaults: bool,
    /// Token protection for sign-in sessions.
    pub secure_sign_in_session: bool,
    /// Continuous access evaluation mode (beta), as spelled.
    pub continuous_access_evaluation: Option<CaeMode>,
}

impl SessionControls {
    /// Names of the enabled controls, as the sign-in log lists them.
    pub fn names(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.application_enforced_restrictions {
            out.push("ApplicationEnforcedRestrictions");
        }
        if self.cloud_app_security.is_some() {
            out.push("CloudAppSecurity");
        }
        if self.sign_in_frequency.is_some() {
            out.push("SignInFrequency");
        }
        if self.persistent_browser.is_some() {
            out.push("PersistentBrowserSessionMode");
        }
        if self.disable_resilience_defaults {
            out.push("DisableResilienceDefaults");
        }
        if self.secure_sign_in_session {
            out.push("SecureSignInSession");
        }
        if self.continuous_access_evaluation.is_some() {
            out.push("ContinuousAccessEvaluation");
        }
        out
    }
}

impl SessionControls {
    /// Names of the enabled controls as the policy's `sessionControls` members spell them
    /// (`persistentBrowser`, where the sign-in log says `PersistentBrowserSessionMode`): the
    /// names human output uses, the same as the decision's `sessionControls`.
    pub fn members(&self) -> Vec<&'static str> {
        self.names()
            .into_iter()
            .map(|n| match n {
                "ApplicationEnforcedRestrictions" => "applicationEnforcedRestrictions",
                "CloudAppSecurity" => "cloudAppSecurity",
                "SignInFrequency" => "signInFrequency",
                "PersistentBrowserSessionMode" => "persistentBrowser",
                "DisableResilienceDefaults" => "disableResilienceDefaults",
                "SecureSignInSession" => "secureSignInSession",
                "ContinuousAccessEvaluation" => "continuousAccessEvaluation",
                other => other,
            })
            .collect()
    }
}

/// Collects errors while reading a policy, so that one pass reports all of them.
pub(crate) struct Errors<'e> {
    pub(crate) errors: &'e mut Vec<LoadError>,
}

impl Errors<'_> {
    fn push(&mut self, e: LoadError) {
        record(self.errors, e);
    }
    fn take<T>(&mut self, r: Result<T, LoadError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(e);
                None
            }
        }
    }
}

/// Detects files that are clearly not `conditionalAccessPolicy` objects and says what they are.
fn not_a_policy(node: &Node<'_>, obj: &serde_json::Map<String, Value>) -> Option<LoadError> {
    let odata = obj.get("@odata.type").and_then(Value::as_str).unwrap_or("");
    if obj.contains_key("details") && obj.contains_key("scenarios") {
        return Some(node.error("this is a `conditionalAccessTemplate`, not a policy").with_help(
            "create a policy from the template (its conditions are under `details`) and export that",
        ));
    }
    if obj.contains_key("allowedCombinations") || odata.ends_with("authenticationStrengthPolicy") {
        return Some(
            node.error(
                "this is an `authenticationStrengthPolicy`, not a Conditional Access policy",
            )
            .with_help(
                "put authentication strengths in directory.json `authenticationStrengthPolicies`",
            ),
        );
    }
    if odata.ends_with(".group")
        || obj.contains_key("securityEnabled")
        || obj.contains_key("groupTypes")
    {
        return Some(
            node.error("this is a group object, not a Conditional Access policy")
                .with_help("put groups in directory.json `groups`"),
        );
    }
    if odata.contains("NamedLocation")
        || obj.contains_key("ipRanges")
        || obj.contains_key("countriesAndRegions")
    {
        return Some(
            node.error("this is a named location, not a Conditional Access policy")
                .with_help("put named locations in namedLocations.json"),
        );
    }
    if obj.contains_key("Conditions")
        || obj.contains_key("DisplayName")
        || obj.contains_key("GrantControls")
    {
        return Some(
            node.error("member names are PascalCase (`DisplayName`, `Conditions`): this is a PowerShell SDK serialisation, not Graph JSON")
                .with_help("export with `Invoke-MgGraphRequest` (or Graph Explorer) to get Graph's camelCase JSON"),
        );
    }
    if !obj.contains_key("conditions") {
        return Some(node.error("not a Conditional Access policy: missing `conditions`"));
    }
    None
}

/// Reads one policy object. Every problem found is pushed to `errors`; `None` when any.
pub(crate) fn read_policy(node: &Node<'_>, errors: &mut Vec<LoadError>) -> Option<Policy> {
    let before = errors.len();
    let obj = match node.object("a Conditional Access policy") {
        Ok(o) => o,
        Err(e) => {
            record(errors, e);
            return None;
        }
    };
    if let Some(e) = not_a_policy(node, obj) {
        record(errors, e);
        return None;
    }
    let mut errs = Errors { errors };
    let mut id = errs
        .take(opt_string(node, "id"))
        .flatten()
        .unwrap_or_default();
    let id_length = id.chars().count();
    if id_length > MAX_ID_LENGTH {
        // Not kept: every error of the policy names it.
        id.clear();
        errs.push(LoadError::new(
            node.file,
            format!("{}/id", node.pointer()),
            format!("id is {id_length} characters long; the limit is {MAX_ID_LENGTH}"),
        ));
    }
    let display_name = errs
        .take(opt_name(node, "displayName"))
        .flatten()
        .unwrap_or_default();
    let state = match errs.take(opt_string(node, "state")).flatten() {
        None => {
            errs.push(node.error("missing `state`").with_help(
                "set `state` to `enabled`, `disabled` or `enabledForReportingButNotEnforced`",
            ));
            PolicyState::Disabled
        }
        Some(s) => match s.as_str() {
            x if x.eq_ignore_ascii_case("enabled") => PolicyState::Enabled,
            x if x.eq_ignore_ascii_case("disabled") => PolicyState::Disabled,
            x if x.eq_ignore_ascii_case("enabledForReportingButNotEnforced") => {
                PolicyState::ReportOnly
            }
            other => {
                let cell = node.key_cell("state");
                let v = &obj["state"];
                errs.push(node.child(&cell, v).error(format!(
                    "unknown policy state `{other}`; expected `enabled`, `disabled` or `enabledForReportingButNotEnforced`"
                )));
                PolicyState::Disabled
            }
        },
    };
    let conditions = with_member(node, "conditions", |c| match c {
        None => Err(node.error("missing `conditions`")),
        Some(c) => Ok(read_conditions(&c, &mut errs)),
    });
    let conditions = errs.take(conditions).unwrap_or_default();
    let grant = with_member(node, "grantControls", |g| {
        Ok(g.and_then(|g| read_grant(&g, &mut errs)))
    });
    let grant = errs.take(grant).flatten();
    let session = with_member(node, "sessionControls", |s| {
        Ok(s.map(|s| read_session(&s, &mut errs)).unwrap_or_default())
    });
    let session = errs.take(session).unwrap_or_default();

    let policy = Policy {
        id,
        display_name,
        state,
        conditions,
        grant,
        session,
        raw: node.value.clone(),
        file: node.file.to_owned(),
        pointer: node.pointer(),
    };
    validate_policy(node, &policy, &mut errs);
    let errors = errs.errors;
    if errors.len() > before {
        for e in errors.iter_mut().skip(before) {
            e.pointer = existing_ancestor(node, &e.pointer);
            *e = std::mem::replace(e, LoadError::new("", "", ""))
                .in_policy(&policy.id, &policy.display_name);
        }
        return None;
    }
    Some(policy)
}

/// The deepest prefix of `pointer` (inside the policy at `node`) that exists: an error about
/// an absent member (`a passwordChange policy must have a user risk condition`) points at the
/// object that should hold it, so that every pointer resolves in the file.
fn existing_ancestor(node: &Node<'_>, pointer: &str) -> String {
    let base = node.pointer();
    let Some(mut rest) = pointer.strip_prefix(base.as_str()) else {
        return pointer.to_owned();
    };
    if !rest.is_empty() && !rest.starts_with('/') {
        return pointer.to_owned();
    }
    while !rest.is_empty() && node.value.pointer(rest).is_none() {
        rest = rest.rfind('/').and_then(|i| rest.get(..i)).unwrap_or("");
    }
    format!("{base}{rest}")
}

/// Reads an id list member, rejecting placeholders and display names, splitting out tokens.
fn id_list<'a>(
    node: &Node<'a>,
    key: &'a str,
    tokens: &[&str],
    errs: &mut Errors<'_>,
) -> (Vec<Box<str>>, Vec<&'static str>) {
    let mut ids = Vec::new();
    let mut found = Vec::new();
    let list = match string_list(node, key) {
        Ok(l) => l,
        Err(e) => {
            errs.push(e);
            return (ids, found);
        }
    };
    'items: for (i, item) in list.iter().enumerate() {
        for token in tokens {
            if item.trim().eq_ignore_ascii_case(token) {
                if let Some(t) = TOKENS.iter().find(|t| t.eq_ignore_ascii_case(token)) {
                    found.push(*t);
                }
                continue 'items;
            }
        }
        if let Some(problem) = id_problem(item) {
            let pointer = format!("{}/{}/{i}", node.pointer(), key);
            errs.push(LoadError::new(node.file, pointer, problem));
            continue;
        }
        ids.push(normalize_id(item));
    }
    (ids, found)
}

const TOKENS: &[&str] = &[
    "All",
    "None",
    "GuestsOrExternalUsers",
    "Office365",
    "MicrosoftAdminPortals",
    "AllTrusted",
    "ServicePrincipalsInMyTenant",
    "AllAgentIdResources",
    "AllAgentIdUsers",
];

fn read_conditions(node: &Node<'_>, errs: &mut Errors<'_>) -> Conditions {
    let mut c = Conditions::default();
    if let Err(e) = node.object("a condition set") {
        errs.push(e);
        return c;
    }
    let r = with_member(node, "users", |u| Ok(u.map(|u| read_users(&u, errs))));
    c.users = errs.take(r).flatten();
    let r = with_member(node, "clientApplications", |u| {
        Ok(u.and_then(|u| read_client_applications(&u, errs)))
    });
    c.client_applications = errs.take(r).flatten();
    let r = with_member(node, "clientApplications", |u| {
        Ok(u.and_then(|u| read_agent_identities(&u, errs)))
    });
    c.agent_identities = errs.take(r).flatten();
    let r = with_member(node, "applications", |a| match a {
        Some(a) => Ok(read_applications(&a, errs)),
        None => Ok(ApplicationCondition::default()),
    });
    c.applications = errs.take(r).unwrap_or_default();
    if node.value.get("applications").is_none_or(Value::is_null)
        && c.client_applications.is_none()
        && c.agent_identities.is_none()
    {
        errs.push(node.error("missing `applications`").with_help(
            "every policy targets resources: set `applications.includeApplications` (e.g. [\"All\"])",
        ));
    }
    if c.users.is_none() && c.client_applications.is_none() && c.agent_identities.is_none() {
        errs.push(node.error("missing `users`: a policy needs `users` or `clientApplications`"));
    }
    c.client_app_types = read_client_app_types(node, errs);
    let r = with_member(node, "platforms", |p| {
        Ok(p.and_then(|p| read_platforms(&p, errs)))
    });
    c.platforms = errs.take(r).flatten();
    let r = with_member(node, "locations", |l| {
        Ok(l.and_then(|l| read_locations(&l, errs)))
    });
    c.locations = errs.take(r).flatten();
    let r = with_member(node, "devices", |d| Ok(d.map(|d| read_devices(&d, errs))));
    if let Some((filter, states)) = errs.take(r).flatten() {
        c.device_filter = filter;
        c.device_states = states;
    }
    let r = with_member(node, "deviceStates", |d| {
        Ok(d.and_then(|d| read_device_states(&d, "includeStates", "excludeStates", errs)))
    });
    if let Some(states) = errs.take(r).flatten() {
        if c.device_filter.is_some() {
            errs.push(node.error("`deviceStates` cannot be combined with `devices.deviceFilter`"));
        }
        c.device_states = Some(states);
    }
    c.sign_in_risk = read_risk(node, "signInRiskLevels", errs);
    c.user_risk = read_risk(node, "userRiskLevels", errs);
    c.service_principal_risk = read_risk(node, "servicePrincipalRiskLevels", errs);
    c.insider_risk =
        read_flags::<InsiderRiskLevel>(node, "insiderRiskLevels", errs, &["unknownFutureValue"]);
    c.agent_id_risk = read_flags::<RiskLevel>(
        node,
        "agentIdRiskLevels",
        errs,
        &["unknownFutureValue", "none"],
    )
    .filter(|s| !s.is_empty());
    c.authentication_flows = with_member(node, "authenticationFlows", |f| {
        Ok(f.and_then(|f| {
            read_flags::<TransferMethod>(
                &f,
                "transferMethods",
                errs,
                &["unknownFutureValue", "none"],
            )
        }))
    })
    .ok()
    .flatten()
    .filter(|s| !s.is_empty());
    c
}

trait FlagEnum: Sized + Copy {
    fn parse(text: &str) -> Option<Self>;
    fn index(self) -> usize;
    fn expected() -> String;
}
macro_rules! flag_enum {
    ($($t:ty),*) => {$(
        impl FlagEnum for $t {
            fn parse(text: &str) -> Option<Self> { <$t>::parse(text) }
            fn index(self) -> usize { <$t>::index(self) }
            fn expected() -> String { <$t>::expected() }
        }
    )*};
}
flag_enum!(
    InsiderRiskLevel,
    TransferMethod,
    ExternalUserType,
    RiskLevel
);

fn read_flags<'a, T: FlagEnum>(
    node: &Node<'a>,
    key: &'a str,
    errs: &mut Errors<'_>,
    ignored: &[&str],
) -> Option<EnumSet> {
    let list = errs.take(flags_list(node, key)).flatten()?;
    let mut set = EnumSet::default();
    for item in list {
        if ignored.iter().any(|i| i.eq_ignore_ascii_case(&item)) {
            continue;
        }
        match T::parse(&item) {
            Some(v) => set.insert(v.index()),
            None => errs.push(LoadError::new(
                node.file,
                format!("{}/{key}", node.pointer()),
                format!("unknown value `{item}`; expected one of {}", T::expected()),
            )),
        }
    }
    Some(set)
}

fn read_risk<'a>(node: &Node<'a>, key: &'a str, errs: &mut Errors<'_>) -> EnumSet {
    let list = errs.take(string_list(node, key)).unwrap_or_default();
    let mut set = EnumSet::default();
    for (i, item) in list.iter().enumerate() {
        if item.eq_ignore_ascii_case("unknownFutureValue") {
            continue;
        }
        if item.eq_ignore_ascii_case("hidden") {
            errs.push(LoadError::new(
                node.file,
                format!("{}/{key}/{i}", node.pointer()),
                "risk level `hidden` is a reporting value and cannot be used in a policy",
            ));
            continue;
        }
        match RiskLevel::parse(item) {
            Some(level) => set.insert(level.index()),
            None => errs.push(LoadError::new(
                node.file,
                format!("{}/{key}/{i}", node.pointer()),
                format!(
                    "unknown risk level `{item}`; expected one of {}",
                    RiskLevel::expected()
                ),
            )),
        }
    }
    set
}

fn read_users(node: &Node<'_>, errs: &mut Errors<'_>) -> UserCondition {
    let mut u = UserCondition::default();
    let (ids, tokens) = id_list(
        node,
        "includeUsers",
        &["All", "None", "GuestsOrExternalUsers", "AllAgentIdUsers"],
        errs,
    );
    u.include.users = ids;
    u.include.all = tokens.contains(&"All");
    u.include.all_agent_users = tokens.contains(&"AllAgentIdUsers");
    u.include.guests_or_external = tokens.contains(&"GuestsOrExternalUsers");
    let (ids, tokens) = id_list(
        node,
        "excludeUsers",
        &["GuestsOrExternalUsers", "None"],
        errs,
    );
    u.exclude.users = ids;
    u.exclude.guests_or_external = tokens.contains(&"GuestsOrExternalUsers");
    let (ids, tokens) = id_list(node, "includeGroups", &["All"], errs);
    u.include.groups = ids;
    u.include.all |= tokens.contains(&"All");
    u.exclude.groups = id_list(node, "excludeGroups", &[], errs).0;
    u.include.roles = id_list(node, "includeRoles", &[], errs).0;
    u.exclude.roles = id_list(node, "excludeRoles", &[], errs).0;
    let r = with_member(node, "includeGuestsOrExternalUsers", |g| {
        Ok(g.and_then(|g| read_guests(&g, errs)))
    });
    u.include.guests = errs.take(r).flatten();
    let r = with_member(node, "excludeGuestsOrExternalUsers", |g| {
        Ok(g.and_then(|g| read_guests(&g, errs)))
    });
    u.exclude.guests = errs.take(r).flatten();
    u
}

fn read_guests(node: &Node<'_>, errs: &mut Errors<'_>) -> Option<GuestsOrExternalUsers> {
    if let Err(e) = node.object("guestsOrExternalUsers") {
        errs.push(e);
        return None;
    }
    let types = read_flags::<ExternalUserType>(
        node,
        "guestOrExternalUserTypes",
        errs,
        &["none", "unknownFutureValue"],
    )?;
    if types.is_empty() {
        return None;
    }
    let tenants = with_member(node, "externalTenants", |t| {
        let Some(t) = t else { return Ok(None) };
        t.object("externalTenants")?;
        let odata = t
            .value
            .get("@odata.type")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = opt_string(&t, "membershipKind")?.unwrap_or_default();
        let enumerated =
            kind.eq_ignore_ascii_case("enumerated") || odata.ends_with("EnumeratedExternalTenants");
        let all = kind.eq_ignore_ascii_case("all") || odata.ends_with("AllExternalTenants");
        if enumerated && !all {
            let (members, _) = id_list(&t, "members", &[], errs);
            Ok(Some(members))
        } else if all {
            Ok(None)
        } else {
            Err(t.error(format!(
                "cannot tell which external tenants are meant: `membershipKind` is `{kind}` and `@odata.type` is `{odata}`"
            )))
        }
    });
    let tenants = errs.take(tenants).flatten();
    Some(GuestsOrExternalUsers { types, tenants })
}

fn read_client_applications(
    node: &Node<'_>,
    errs: &mut Errors<'_>,
) -> Option<ClientApplicationsCondition> {
    let mut c = ClientApplicationsCondition::default();
    let (ids, tokens) = id_list(
        node,
        "includeServicePrincipals",
        &["ServicePrincipalsInMyTenant", "All"],
        errs,
    );
    c.include = ids;
    c.include_all_in_tenant = !tokens.is_empty();
    c.exclude = id_list(node, "excludeServicePrincipals", &[], errs).0;
    let r = with_member(node, "servicePrincipalFilter", |f| {
        Ok(f.and_then(|f| read_attribute_filter(&f, errs)))
    });
    c.filter = errs.take(r).flatten();
    if !c.include_all_in_tenant && c.include.is_empty() && c.filter.is_none() {
        return None;
    }
    Some(c)
}

/// The agent-identity members of `clientApplications` (beta); `None` when none is set.
fn read_agent_identities(
    node: &Node<'_>,
    errs: &mut Errors<'_>,
) -> Option<AgentIdentitiesCondition> {
    let mut c = AgentIdentitiesCondition::default();
    let (ids, tokens) = id_list(
        node,
        "includeAgentIdServicePrincipals",
        &["All", "None"],
        errs,
    );
    c.include = ids;
    c.include_all = tokens.contains(&"All");
    c.exclude = id_list(node, "excludeAgentIdServicePrincipals", &["None"], errs).0;
    let r = with_member(node, "agentIdServicePrincipalFilter", |f| {
        Ok(f.and_then(|f| read_attribute_filter(&f, errs)))
    });
    c.filter = errs.take(r).flatten();
    if !c.include_all && c.include.is_empty() && c.filter.is_none() {
        return None;
    }
    Some(c)
}

fn read_filter_mode(node: &Node<'_>, errs: &mut Errors<'_>) -> Option<FilterMode> {
    let mode = errs.take(opt_string(node, "mode")).flatten()?;
    if mode.eq_ignore_ascii_case("include") {
        Some(FilterMode::Include)
    } else if mode.eq_ignore_ascii_case("exclude") {
        Some(FilterMode::Exclude)
    } else {
        errs.push(LoadError::new(
            node.file,
            format!("{}/mode", node.pointer()),
            format!("unknown filter mode `{mode}`; expected `include` or `exclude`"),
        ));
        None
    }
}

fn read_attribute_filter(
    node: &Node<'_>,
    errs: &mut Errors<'_>,
) -> Option<AttributeFilterCondition> {
    let rule = errs.take(opt_string(node, "rule")).flatten()?;
    let mode = read_filter_mode(node, errs)?;
    match AttributeFilterRule::parse(&rule) {
        Ok(rule) => Some(AttributeFilterCondition { mode, rule }),
        Err(e) => {
            errs.push(LoadError::new(
                node.file,
                format!("{}/rule", node.pointer()),
                format!("invalid filter rule: {e}"),
            ));
            None
        }
    }
}

fn read_applications(node: &Node<'_>, errs: &mut Errors<'_>) -> ApplicationCondition {
    let mut a = ApplicationCondition::default();
    if let Err(e) = node.object("applications") {
        errs.push(e);
        return a;
    }
    let app_tokens = [
        "All",
        "None",
        "Office365",
        "MicrosoftAdminPortals",
        "AllAgentIdResources",
    ];
    let (ids, tokens) = id_list(node, "includeApplications", &app_tokens, errs);
    a.include = AppSet {
        all: tokens.contains(&"All"),
        office365: tokens.contains(&"Office365"),
        admin_portals: tokens.contains(&"MicrosoftAdminPortals"),
        all_agent_resources: tokens.contains(&"AllAgentIdResources"),
        apps: ids,
    };
    if tokens.contains(&"AllAgentIdResources") {
        a.unmodelled.push("AllAgentIdResources".to_owned());
    }
    let (ids, tokens) = id_list(
        node,
        "excludeApplications",
        &["Office365", "MicrosoftAdminPortals", "None"],
        errs,
    );
    a.exclude = AppSet {
        all: false,
        office365: tokens.contains(&"Office365"),
        admin_portals: tokens.contains(&"MicrosoftAdminPortals"),
        all_agent_resources: false,
        apps: ids,
    };
    let actions = errs
        .take(string_list(node, "includeUserActions"))
        .unwrap_or_default();
    for (i, action) in actions.iter().enumerate() {
        let parsed = [
            UserAction::RegisterSecurityInformation,
            UserAction::RegisterOrJoinDevices,
        ]
        .into_iter()
        .find(|u| u.urn().eq_ignore_ascii_case(action.trim()));
        match parsed {
            Some(u) => a.user_actions.push(u),
            None => errs.push(LoadError::new(
                node.file,
                format!("{}/includeUserActions/{i}", node.pointer()),
                format!("unknown user action `{action}`; expected `urn:user:registersecurityinfo` or `urn:user:registerdevice`"),
            )),
        }
    }
    let contexts = errs
        .take(string_list(
            node,
            "includeAuthenticationContextClassReferences",
        ))
        .unwrap_or_default();
    for (i, ctx) in contexts.iter().enumerate() {
        let t = ctx.trim();
        let valid = t.len() >= 2
            && t.as_bytes()
                .first()
                .is_some_and(|c| c.eq_ignore_ascii_case(&b'c'))
            && t[1..].parse::<u8>().is_ok_and(|n| (1..=99).contains(&n));
        if valid {
            a.auth_contexts.push(normalize_id(t));
        } else {
            errs.push(LoadError::new(
                node.file,
                format!(
                    "{}/includeAuthenticationContextClassReferences/{i}",
                    node.pointer()
                ),
                format!("invalid authentication context `{ctx}`; expected `c1` … `c99`"),
            ));
        }
    }
    let r = with_member(node, "applicationFilter", |f| {
        Ok(f.and_then(|f| read_attribute_filter(&f, errs)))
    });
    a.filter = errs.take(r).flatten();
    let targets = usize::from(
        !a.include.apps.is_empty()
            || a.include.all
            || a.include.office365
            || a.include.admin_portals
            || a.filter.is_some(),
    ) + usize::from(!a.user_actions.is_empty())
        + usize::from(!a.auth_contexts.is_empty());
    if targets > 1 {
        errs.push(node.error(
            "a policy targets exactly one of applications, user actions or authentication contexts",
        ));
    }
    a
}

fn read_client_app_types(node: &Node<'_>, errs: &mut Errors<'_>) -> Vec<ClientAppTypeToken> {
    let list = errs
        .take(string_list(node, "clientAppTypes"))
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let t = item.trim();
        let token = if t.eq_ignore_ascii_case("all") {
            Some(ClientAppTypeToken::All)
        } else if t.eq_ignore_ascii_case("easSupported") {
            Some(ClientAppTypeToken::EasSupported)
        } else if t.eq_ignore_ascii_case("modern") {
            Some(ClientAppTypeToken::Type(
                ClientAppType::MobileAppsAndDesktopClients,
            ))
        } else if t.eq_ignore_ascii_case("easUnsupported") {
            Some(ClientAppTypeToken::Type(ClientAppType::ExchangeActiveSync))
        } else if t.eq_ignore_ascii_case("unknownFutureValue") {
            continue;
        } else {
            ClientAppType::parse(t).map(ClientAppTypeToken::Type)
        };
        match token {
            Some(token) => out.push(token),
            None => errs.push(LoadError::new(
                node.file,
                format!("{}/clientAppTypes/{i}", node.pointer()),
                format!(
                    "unknown client app type `{item}`; expected `all`, {}, `easSupported`",
                    ClientAppType::expected()
                ),
            )),
        }
    }
    if out.contains(&ClientAppTypeToken::All) {
        out.clear();
    }
    out
}

fn read_platforms(node: &Node<'_>, errs: &mut Errors<'_>) -> Option<PlatformCondition> {
    let mut p = PlatformCondition::default();
    for (key, include) in [("includePlatforms", true), ("excludePlatforms", false)] {
        let list = errs.take(string_list(node, key)).unwrap_or_default();
        for (i, item) in list.iter().enumerate() {
            let t = item.trim();
            if t.eq_ignore_ascii_case("unknownFutureValue") {
                continue;
            }
            if t.eq_ignore_ascii_case("all") && include {
                p.include_all = true;
                continue;
            }
            match DevicePlatform::parse(t).filter(|p| *p != DevicePlatform::Unknown) {
                Some(platform) if include => p.include.insert(platform.index()),
                Some(platform) => p.exclude.insert(platform.index()),
                None => errs.push(LoadError::new(
                    node.file,
                    format!("{}/{key}/{i}", node.pointer()),
                    format!(
                        "unknown platform `{item}`; expected {}`android`, `iOS`, `windows`, `windowsPhone`, `macOS` or `linux`",
                        if include { "`all`, " } else { "" }
                    ),
                )),
            }
        }
    }
    if !p.include_all && p.include.is_empty() {
        if p.exclude.is_empty() {
            return None;
        }
        errs.push(
            node.error("`excludePlatforms` is set but `includePlatforms` is empty")
                .with_help("include `all` and exclude the platforms to leave out"),
        );
    }
    Some(p)
}

fn read_location_tokens<'a>(
    node: &Node<'a>,
    key: &'a str,
    include: bool,
    errs: &mut Errors<'_>,
) -> Vec<LocationToken> {
    let tokens: &[&str] = if include {
        &["All", "AllTrusted"]
    } else {
        &["AllTrusted", "All"]
    };
    let (ids, found) = id_list(node, key, tokens, errs);
    let mut out = Vec::new();
    if found.contains(&"All") {
        if include {
            out.push(LocationToken::All);
        } else {
            errs.push(LoadError::new(
                node.file,
                format!("{}/{key}", node.pointer()),
                "`All` cannot be excluded: the policy would never apply",
            ));
        }
    }
    if found.contains(&"AllTrusted") {
        out.push(LocationToken::AllTrusted);
    }
    out.extend(ids.into_iter().map(LocationToken::Id));
    out
}

fn read_locations(node: &Node<'_>, errs: &mut Errors<'_>) -> Option<LocationCondition> {
    let include = read_location_tokens(node, "includeLocations", true, errs);
    let exclude = read_location_tokens(node, "excludeLocations", false, errs);
    if include.is_empty() {
        if exclude.is_empty() {
            return None;
        }
        errs.push(
            node.error("`excludeLocations` is set but `includeLocations` is empty")
                .with_help("include `All` and exclude the locations to leave out"),
        );
    }
    Some(LocationCondition { include, exclude })
}

fn read_device_states<'a>(
    node: &Node<'a>,
    include_key: &'a str,
    exclude_key: &'a str,
    errs: &mut Errors<'_>,
) -> Option<DeviceStatesCondition> {
    let include = errs
        .take(string_list(node, include_key))
        .unwrap_or_default();
    let exclude = errs
        .take(string_list(node, exclude_key))
        .unwrap_or_default();
    if include.is_empty() && exclude.is_empty() {
        return None;
    }
    for (i, item) in include.iter().enumerate() {
        if !item.eq_ignore_ascii_case("All") {
            errs.push(LoadError::new(
                node.file,
                format!("{}/{include_key}/{i}", node.pointer()),
                format!("unknown device state `{item}`; only `All` can be included"),
            ));
        }
    }
    let mut s = DeviceStatesCondition::default();
    for (i, item) in exclude.iter().enumerate() {
        if item.eq_ignore_ascii_case("Compliant") {
            s.exclude_compliant = true;
        } else if item.eq_ignore_ascii_case("DomainJoined") {
            s.exclude_domain_joined = true;
        } else {
            errs.push(LoadError::new(
                node.file,
                format!("{}/{exclude_key}/{i}", node.pointer()),
                format!("unknown device state `{item}`; expected `Compliant` or `DomainJoined`"),
            ));
        }
    }
    Some(s)
}

type DevicesParts = (Option<DeviceFilterCondition>, Option<DeviceStatesCondition>);

fn read_devices(node: &Node<'_>, errs: &mut Errors<'_>) -> DevicesParts {
    let filter = with_member(node, "deviceFilter", |f| {
        let Some(f) = f else { return Ok(None) };
        let Some(rule) = opt_string(&f, "rule")? else {
            return Ok(None);
        };
        let Some(mode) = read_filter_mode(&f, errs) else {
            return Ok(None);
        };
        match DeviceFilterRule::parse(&rule) {
            Ok(rule) => Ok(Some(DeviceFilterCondition { mode, rule })),
            Err(e) => Err(LoadError::new(
                f.file,
                format!("{}/rule", f.pointer()),
                format!("invalid device filter: {e}"),
            )),
        }
    });
    let filter = errs.take(filter).flatten();
    let states = read_device_states(node, "includeDevices", "excludeDevices", errs)
        .or_else(|| read_device_states(node, "includeDeviceStates", "excludeDeviceStates", errs));
    if filter.is_some() && states.is_some() {
        errs.push(node.error("device states cannot be combined with `deviceFilter`"));
    }
    (filter, states)
}

fn read_grant(node: &Node<'_>, errs: &mut Errors<'_>) -> Option<GrantControls> {
    if let Err(e) = node.object("grantControls") {
        errs.push(e);
        return None;
    }
    let operator = match errs.take(opt_string(node, "operator")).flatten() {
        None => GrantOperator::Or,
        Some(op) if op.eq_ignore_ascii_case("and") => GrantOperator::And,
        Some(op) if op.eq_ignore_ascii_case("or") => GrantOperator::Or,
        Some(op) => {
            errs.push(LoadError::new(
                node.file,
                format!("{}/operator", node.pointer()),
                format!("unknown grant operator `{op}`; expected `AND` or `OR`"),
            ));
            GrantOperator::Or
        }
    };
    let mut built_in = Vec::new();
    let list = errs
        .take(string_list(node, "builtInControls"))
        .unwrap_or_default();
    for (i, item) in list.iter().enumerate() {
        if item.eq_ignore_ascii_case("unknownFutureValue") {
            continue;
        }
        match BuiltInControl::parse(item) {
            Some(c) if !built_in.contains(&c) => built_in.push(c),
            Some(_) => {}
            None => {
                let mut e = LoadError::new(
                    node.file,
                    format!("{}/builtInControls/{i}", node.pointer()),
                    format!(
                        "unknown grant control `{item}`; expected one of {}",
                        BuiltInControl::expected()
                    ),
                );
                if item.eq_ignore_ascii_case("MfaAndChangePassword") {
                    e = e.with_help("write `[\"mfa\", \"passwordChange\"]` with operator `AND`");
                }
                errs.push(e);
            }
        }
    }
    let terms_of_use = id_list(node, "termsOfUse", &[], errs).0;
    let custom_factors = id_list(node, "customAuthenticationFactors", &[], errs).0;
    let strength = with_member(node, "authenticationStrength", |s| {
        let Some(s) = s else { return Ok(None) };
        s.object("authenticationStrength")?;
        let Some(id) = opt_string(&s, "id")? else {
            return Ok(None);
        };
        if let Some(problem) = id_problem(&id) {
            return Err(LoadError::new(
                s.file,
                format!("{}/id", s.pointer()),
                problem,
            ));
        }
        let combos = flags_or_list(&s, "allowedCombinations")?;
        let inline = combos.map(|c| {
            (
                opt_name(&s, "displayName")
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
                c,
            )
        });
        Ok(Some(StrengthRef {
            id: normalize_id(&id),
            inline,
        }))
    });
    let authentication_strength = errs.take(strength).flatten();
    Some(GrantControls {
        operator,
        built_in,
        terms_of_use,
        custom_factors,
        authentication_strength,
    })
}

/// `allowedCombinations`: an array of comma-separated combination strings.
fn flags_or_list<'a>(node: &Node<'a>, key: &'a str) -> Result<Option<Vec<String>>, LoadError> {
    with_member(node, key, |c| match c {
        None => Ok(None),
        Some(_) => string_list(node, key).map(Some),
    })
}

fn enabled(node: &Node<'_>, errs: &mut Errors<'_>) -> bool {
    errs.take(opt_bool(node, "isEnabled"))
        .flatten()
        .unwrap_or(false)
}

fn read_session(node: &Node<'_>, errs: &mut Errors<'_>) -> SessionControls {
    let mut s = SessionControls::default();
    if let Err(e) = node.object("sessionControls") {
        errs.push(e);
        return s;
    }
    let r = with_member(node, "applicationEnforcedRestrictions", |c| {
        Ok(c.is_some_and(|c| enabled(&c, errs)))
    });
    s.application_enforced_restrictions = errs.take(r).unwrap_or(false);
    let r = with_member(node, "cloudAppSecurity", |c| {
        let Some(c) = c else { return Ok(None) };
        if !enabled(&c, errs) {
            return Ok(None);
        }
        let t =
            opt_string(&c, "cloudAppSecurityType")?.unwrap_or_else(|| "mcasConfigured".to_owned());
        let parsed = [
            CloudAppSecurityType::McasConfigured,
            CloudAppSecurityType::MonitorOnly,
            CloudAppSecurityType::BlockDownloads,
        ]
        .into_iter()
        .find(|x| x.as_str().eq_ignore_ascii_case(&t));
        parsed.map(Some).ok_or_else(|| {
            LoadError::new(c.file, format!("{}/cloudAppSecurityType", c.pointer()), format!(
                "unknown cloud app security type `{t}`; expected `mcasConfigured`, `monitorOnly` or `blockDownloads`"
            ))
        })
    });
    s.cloud_app_security = errs.take(r).flatten();
    let r = with_member(node, "signInFrequency", |c| {
        let Some(c) = c else { return Ok(None) };
        if !enabled(&c, errs) {
            return Ok(None);
        }
        let interval =
            opt_string(&c, "frequencyInterval")?.unwrap_or_else(|| "timeBased".to_owned());
        if interval.eq_ignore_ascii_case("everyTime") {
            return Ok(Some(SignInFrequency::EveryTime));
        }
        let unit = opt_string(&c, "type")?;
        let value = match c.value.get("value") {
            Some(Value::Number(n)) => n.as_u64().and_then(|v| u32::try_from(v).ok()),
            None | Some(Value::Null) => None,
            Some(other) => {
                return Err(LoadError::new(
                    c.file,
                    format!("{}/value", c.pointer()),
                    format!("expected a number, found {}", kind(other)),
                ));
            }
        };
        let (Some(unit), Some(value)) = (unit, value) else {
            return Err(c.error("sign-in frequency is enabled but `type` or `value` is missing"));
        };
        if value == 0 {
            return Err(LoadError::new(
                c.file,
                format!("{}/value", c.pointer()),
                "sign-in frequency must be at least 1",
            ));
        }
        let hours = if unit.eq_ignore_ascii_case("days") {
            value.saturating_mul(24)
        } else if unit.eq_ignore_ascii_case("hours") {
            value
        } else {
            return Err(LoadError::new(
                c.file,
                format!("{}/type", c.pointer()),
                format!("unknown sign-in frequency type `{unit}`; expected `hours` or `days`"),
            ));
        };
        let secondary_only = opt_string(&c, "authenticationType")?
            .is_some_and(|t| t.eq_ignore_ascii_case("secondaryAuthentication"));
        Ok(Some(SignInFrequency::Hours {
            hours,
            secondary_only,
        }))
    });
    s.sign_in_frequency = errs.take(r).flatten();
    let r = with_member(node, "persistentBrowser", |c| {
        let Some(c) = c else { return Ok(None) };
        if !enabled(&c, errs) {
            return Ok(None);
        }
        match opt_string(&c, "mode")?.as_deref() {
            Some(m) if m.eq_ignore_ascii_case("always") => Ok(Some(PersistentBrowserMode::Always)),
            Some(m) if m.eq_ignore_ascii_case("never") => Ok(Some(PersistentBrowserMode::Never)),
            other => Err(LoadError::new(
                c.file,
                format!("{}/mode", c.pointer()),
                format!(
                    "unknown persistent browser mode `{}`; expected `always` or `never`",
                    other.unwrap_or("null")
                ),
            )),
        }
    });
    s.persistent_browser = errs.take(r).flatten();
    s.disable_resilience_defaults = errs
        .take(opt_bool(node, "disableResilienceDefaults"))
        .flatten()
        .unwrap_or(false);
    let r = with_member(node, "secureSignInSession", |c| {
        Ok(c.is_some_and(|c| enabled(&c, errs)))
    });
    s.secure_sign_in_session = errs.take(r).unwrap_or(false);
    let r = with_member(node, "continuousAccessEvaluation", |c| {
        let Some(c) = c else { return Ok(None) };
        match opt_string(&c, "mode")? {
            None => Ok(None),
            Some(m) if m.eq_ignore_ascii_case("unknownFutureValue") => Ok(None),
            Some(m) => CaeMode::NAMES.iter().find(|(_, n)| n.eq_ignore_ascii_case(&m)).map(|(mode, _)| Some(*mode)).ok_or_else(|| {
                LoadError::new(c.file, format!("{}/mode", c.pointer()), format!(
                    "unknown continuous access evaluation mode `{m}`; expected `disabled`, `strictEnforcement` or `strictLocation`"
                ))
            }),
        }
    });
    s.continuous_access_evaluation = errs.take(r).flatten();
    s
}

/// Cross-member rules Microsoft enforces at write time (docs/reference/entra-semantics.md §1.12,
/// T21).
fn validate_policy(node: &Node<'_>, p: &Policy, errs: &mut Errors<'_>) {
    let at = |suffix: &str| format!("{}{suffix}", node.pointer());
    let c = &p.conditions;
    if let Some(g) = &p.grant {
        if g.is_block()
            && (g.built_in.len() > 1
                || !g.terms_of_use.is_empty()
                || g.authentication_strength.is_some()
                || !g.custom_factors.is_empty())
        {
            errs.push(LoadError::new(
                node.file,
                at("/grantControls/builtInControls"),
                "`block` cannot be combined with other grant controls",
            ));
        }
        if g.built_in.contains(&BuiltInControl::Mfa) && g.authentication_strength.is_some() {
            errs.push(LoadError::new(node.file, at("/grantControls"), "`mfa` and `authenticationStrength` cannot be combined in one policy").with_help(
                "the built-in `Multifactor authentication` strength is the same as `mfa`: keep one",
            ));
        }
        if g.built_in.contains(&BuiltInControl::PasswordChange) {
            let with_mfa = g.operator == GrantOperator::And
                && (g.built_in.contains(&BuiltInControl::Mfa)
                    || g.authentication_strength.is_some());
            if !with_mfa {
                errs.push(LoadError::new(node.file, at("/grantControls/builtInControls"), "`passwordChange` must be combined with `mfa` (or an authentication strength) under operator `AND`"));
            }
            let others = g
                .built_in
                .iter()
                .any(|b| !matches!(b, BuiltInControl::PasswordChange | BuiltInControl::Mfa));
            if others || !g.terms_of_use.is_empty() || !g.custom_factors.is_empty() {
                errs.push(LoadError::new(node.file, at("/grantControls/builtInControls"), "`passwordChange` cannot be combined with controls other than `mfa` or an authentication strength"));
            }
            if c.user_risk.is_empty() {
                errs.push(LoadError::new(
                    node.file,
                    at("/conditions/userRiskLevels"),
                    "a `passwordChange` policy must have a user risk condition",
                ));
            }
            let a = &c.applications;
            if !a.include.all
                || !a.exclude.apps.is_empty()
                || a.exclude.office365
                || a.exclude.admin_portals
            {
                errs.push(LoadError::new(
                    node.file,
                    at("/conditions/applications"),
                    "a `passwordChange` policy must target `All` resources without exclusions",
                ));
            }
            let mut extra = Vec::new();
            if !c.client_app_types.is_empty() {
                extra.push("clientAppTypes");
            }
            if c.platforms.is_some() {
                extra.push("platforms");
            }
            if c.locations.is_some() {
                extra.push("locations");
            }
            if c.device_filter.is_some() || c.device_states.is_some() {
                extra.push("devices");
            }
            if !c.sign_in_risk.is_empty() {
                extra.push("signInRiskLevels");
            }
            if c.insider_risk.is_some() {
                extra.push("insiderRiskLevels");
            }
            if c.authentication_flows.is_some() {
                extra.push("authenticationFlows");
            }
            if !extra.is_empty() {
                errs.push(LoadError::new(node.file, at("/conditions"), format!(
                    "a `passwordChange` policy may only have users, applications and user risk conditions; found `{}`",
                    extra.join("`, `")
                )));
            }
        }
        if g.built_in.contains(&BuiltInControl::RiskRemediation)
            && g.built_in.contains(&BuiltInControl::PasswordChange)
        {
            errs.push(LoadError::new(
                node.file,
                at("/grantControls/builtInControls"),
                "`riskRemediation` and `passwordChange` cannot be used together",
            ));
        }
        if c.client_applications.is_some()
            && c.users.as_ref().is_none_or(|u| u.include.is_empty())
            && (!g.is_block() || g.built_in.len() != 1)
        {
            errs.push(LoadError::new(
                node.file,
                at("/grantControls"),
                "a workload-identity policy can only `block`",
            ));
        }
        if c.agent_identities.is_some()
            && c.client_applications.is_none()
            && c.users.as_ref().is_none_or(|u| u.include.is_empty())
            && (!g.is_block() || g.built_in.len() != 1)
        {
            errs.push(
                LoadError::new(
                    node.file,
                    at("/grantControls"),
                    "a policy for agent identities can only `block`",
                )
                .with_help("agents signing in with their own identity have no remediation: block is the only control (Conditional Access for agent identities)"),
            );
        }
        if c.applications
            .user_actions
            .contains(&UserAction::RegisterOrJoinDevices)
            && (g.built_in.iter().any(|b| *b != BuiltInControl::Mfa) || !g.terms_of_use.is_empty())
        {
            errs.push(LoadError::new(node.file, at("/grantControls"), "the register-or-join-devices user action only allows `mfa` or an authentication strength"));
        }
    }
    // A report-only policy that targets user actions is a warning, not an error: Graph stores
    // such policies (real exports have them) and Entra does not evaluate them (see
    // `report_only_user_action_warnings` in `model/tenant.rs`).
    if p.session.persistent_browser.is_some() && !c.applications.include.all {
        errs.push(LoadError::new(
            node.file,
            at("/sessionControls/persistentBrowser"),
            "persistent browser session requires `All` resources",
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::{SourceFile, Tenant, TenantSource};
    use serde_json::json;

    #[test]
    fn errors_about_absent_members_point_at_their_parent() {
        // Found by the `tenant_load` fuzz target: the error was at
        // `/policies/0/conditions/applications`, which the file does not have.
        let tenant = json!({"policies": [{"id": "P1", "displayName": "P1", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "clientAppTypes": ["all"],
                           "userRiskLevels": ["high"]},
            "grantControls": {"operator": "OR", "builtInControls": ["passwordChange"]}}]});
        let source = TenantSource {
            combined: Some(SourceFile::new("tenant.json", tenant.to_string())),
            ..Default::default()
        };
        let errors = Tenant::load(&source)
            .err()
            .map(|e| e.errors)
            .unwrap_or_default();
        assert!(!errors.is_empty());
        for e in &errors {
            assert!(tenant.pointer(&e.pointer).is_some(), "{e}");
        }
        assert!(
            errors.iter().any(|e| e.to_string()
                == "tenant.json: /policies/0/conditions: policy `P1`: a `passwordChange` policy must target `All` resources without exclusions"),
            "{errors:?}"
        );
    }
}

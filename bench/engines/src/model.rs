//! The tenant's Graph JSON (policies, named locations, directory) read into what the Cedar and
//! Rego translations need, independently of gardien-core's own model.
//!
//! Only the subset the generator produces is covered; anything else is refused with an
//! [`Error`] naming the policy and the member, never silently dropped. Ids are lower-cased
//! (Graph ids compare case-insensitively), and so are enum values (platforms, client app
//! types, risk levels, authentication methods), so that the translations compare plain
//! strings.
//!
//! Entra semantics kept here: report-only and disabled policies never enforce, so they are
//! counted and left out; a policy whose grant requires nothing cannot turn a sign-in away,
//! so it is left out too; `AllTrusted` is expanded to the trusted named locations; `mfa` is
//! the built-in Multifactor authentication strength.

use gardien_core::compile::builtin_strengths;
use gardien_core::ids::OFFICE365_APPS;
use gardien_core::{SourceFile, TenantSource};
use serde_json::{Map, Value};

use crate::filter::{self, Expr};
use crate::{Error, error};

/// The tenant, ready to translate.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Enabled policies whose grant requires something, in tenant order.
    pub policies: Vec<Policy>,
    /// Report-only and disabled policies (never enforced, left out).
    pub skipped: usize,
    /// Enabled policies whose grant requires nothing (left out).
    pub no_grant: usize,
    /// Enabled policies with a sign-in frequency session control (not translated: the
    /// generated requests carry no session ages, so it is never due).
    pub sign_in_frequency: usize,
    /// IP named locations.
    pub locations: Vec<Location>,
    /// Directory users.
    pub users: Vec<User>,
    /// Directory groups.
    pub groups: Vec<Group>,
    /// Authentication strengths by id: allowed method combinations.
    pub strengths: Vec<Strength>,
    /// Application ids of the `Office365` suite.
    pub office365: Vec<String>,
}

/// An IP named location.
#[derive(Debug, Clone)]
pub struct Location {
    /// Id.
    pub id: String,
    /// Marked as trusted (`AllTrusted`).
    pub trusted: bool,
    /// CIDR ranges.
    pub ranges: Vec<String>,
}

/// A directory user.
#[derive(Debug, Clone)]
pub struct User {
    /// Object id.
    pub id: String,
    /// Kind of guest or external user (`b2bcollaborationguest`...), `None` for members.
    pub guest_kind: Option<String>,
    /// Direct group memberships.
    pub member_of: Vec<String>,
    /// Directory role template ids.
    pub roles: Vec<String>,
}

/// A directory group.
#[derive(Debug, Clone)]
pub struct Group {
    /// Object id.
    pub id: String,
    /// Parent groups.
    pub member_of: Vec<String>,
}

/// An authentication strength.
#[derive(Debug, Clone)]
pub struct Strength {
    /// Id.
    pub id: String,
    /// Allowed combinations: the session's methods must include one of them whole.
    pub combinations: Vec<Vec<String>>,
}

/// The methods an external user can complete in this (the resource) tenant without
/// cross-tenant MFA trust, with the first factors beside them (gardien's
/// `RESOURCE_TENANT_METHODS`, Learn's Table 1 "Resource tenant"; lower-case).
pub const METHODS_HERE: &[&str] = &[
    "sms",
    "voice",
    "microsoftauthenticatorpush",
    "softwareoath",
    "password",
    "federatedsinglefactor",
    "x509certificatesinglefactor",
    "email",
];

impl Strength {
    /// Whether an external user without MFA trust can meet it in this tenant: some
    /// combination uses only [`METHODS_HERE`] (otherwise the control cannot be met: deny).
    pub fn meetable_here(&self) -> bool {
        self.combinations.iter().any(|c| {
            c.iter()
                .all(|m| METHODS_HERE.contains(&m.to_ascii_lowercase().as_str()))
        })
    }
}

/// Who a policy includes or excludes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principals {
    /// `All` users.
    pub all: bool,
    /// Users by id.
    pub users: Vec<String>,
    /// Groups (membership is transitive).
    pub groups: Vec<String>,
    /// Directory roles.
    pub roles: Vec<String>,
    /// Guest or external user kinds.
    pub guest_kinds: Vec<String>,
}

impl Principals {
    /// Whether nobody is selected.
    pub fn is_empty(&self) -> bool {
        !self.all
            && self.users.is_empty()
            && self.groups.is_empty()
            && self.roles.is_empty()
            && self.guest_kinds.is_empty()
    }
}

/// Target resources on one side of a policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Apps {
    /// `All` resources.
    pub all: bool,
    /// The `Office365` suite.
    pub office365: bool,
    /// Application ids.
    pub apps: Vec<String>,
}

impl Apps {
    /// Whether nothing is selected.
    pub fn is_empty(&self) -> bool {
        !self.all && !self.office365 && self.apps.is_empty()
    }
}

/// A platform condition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Platforms {
    /// `all` included.
    pub all: bool,
    /// Included platforms.
    pub include: Vec<String>,
    /// Excluded platforms.
    pub exclude: Vec<String>,
}

/// A location condition over named-location ids (`AllTrusted` expanded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locations {
    /// `All` included.
    pub all: bool,
    /// Included location ids.
    pub include: Vec<String>,
    /// Excluded location ids.
    pub exclude: Vec<String>,
}

/// A device filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFilter {
    /// Include mode (the policy needs a match); exclude mode needs none.
    pub include: bool,
    /// The parsed rule.
    pub rule: Expr,
    /// The rule as written.
    pub source: String,
}

/// A grant control other than block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Authentication strength (built-in `mfa` is the Multifactor strength).
    Strength(String),
    /// Compliant device.
    CompliantDevice,
    /// Hybrid joined device.
    DomainJoinedDevice,
    /// Approved client app.
    ApprovedApplication,
    /// App protection policy.
    CompliantApplication,
    /// Password change (also `riskRemediation`).
    PasswordChange,
}

impl Control {
    /// Whether the user can satisfy the control interactively when it is not yet met (and the
    /// client is not a legacy one): MFA, strengths, password change.
    pub fn interactive(&self) -> bool {
        matches!(self, Control::Strength(_) | Control::PasswordChange)
    }
}

/// Grant controls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    /// Block access.
    pub block: bool,
    /// `AND` operator (else `OR`).
    pub and: bool,
    /// The controls (empty for a block).
    pub controls: Vec<Control>,
}

/// An enabled policy, its conditions and grant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Included users.
    pub include: Principals,
    /// Excluded users.
    pub exclude: Principals,
    /// Included resources.
    pub include_apps: Apps,
    /// Excluded resources.
    pub exclude_apps: Apps,
    /// Client app types, `None` for any.
    pub client_app_types: Option<Vec<String>>,
    /// Platform condition.
    pub platforms: Option<Platforms>,
    /// Device filter.
    pub device_filter: Option<DeviceFilter>,
    /// Location condition.
    pub locations: Option<Locations>,
    /// Sign-in risk levels.
    pub sign_in_risk: Option<Vec<String>>,
    /// User risk levels.
    pub user_risk: Option<Vec<String>>,
    /// Grant controls.
    pub grant: Grant,
}

impl Model {
    /// Reads a tenant from its files.
    pub fn load(source: &TenantSource) -> Result<Model, Error> {
        if source.combined.is_some() {
            return Err(error(
                "a combined tenant file is not supported; use separate files",
            ));
        }
        if source.cross_tenant_access.is_some() {
            // External users' rules are translated for the default (nothing trusted) only.
            return Err(error(
                "crossTenantAccess is not translated (external users are decided with nothing trusted)",
            ));
        }
        let mut model = Model {
            office365: OFFICE365_APPS
                .iter()
                .map(|a| a.to_ascii_lowercase())
                .collect(),
            strengths: builtin_strengths()
                .into_iter()
                .map(|s| Strength {
                    id: s.id.to_ascii_lowercase(),
                    combinations: s
                        .combinations
                        .iter()
                        .map(|c| c.iter().map(|m| m.as_str().to_ascii_lowercase()).collect())
                        .collect(),
                })
                .collect(),
            ..Model::default()
        };
        for file in &source.location_files {
            for location in collection(file)? {
                model.locations.push(read_location(&location, &file.name)?);
            }
        }
        if let Some(file) = &source.directory {
            read_directory(&json(file)?, &mut model)?;
        }
        for file in &source.policy_files {
            for policy in collection(file)? {
                read_policy(&policy, &mut model)
                    .map_err(|e| error(format!("{}: {e}", file.name)))?;
            }
        }
        Ok(model)
    }
}

fn json(file: &SourceFile) -> Result<Value, Error> {
    serde_json::from_slice(&file.bytes).map_err(|e| error(format!("{}: {e}", file.name)))
}

/// One object, or the members of a Graph collection `{"value": [...]}`.
fn collection(file: &SourceFile) -> Result<Vec<Value>, Error> {
    let value = json(file)?;
    match value.get("value") {
        Some(Value::Array(items)) => Ok(items.clone()),
        _ => Ok(vec![value]),
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn lower_list(v: &Value, key: &str) -> Result<Vec<String>, Error> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(|s| s.trim().to_ascii_lowercase())
                    .ok_or_else(|| error(format!("`{key}`: expected strings")))
            })
            .collect(),
        Some(_) => Err(error(format!("`{key}`: expected a list"))),
    }
}

fn read_location(v: &Value, file: &str) -> Result<Location, Error> {
    let odata = text(v, "@odata.type");
    if !odata.eq_ignore_ascii_case("#microsoft.graph.ipNamedLocation") {
        return Err(error(format!(
            "{file}: named location `{}` is `{odata}`; only IP named locations are translated",
            text(v, "id")
        )));
    }
    let ranges = v
        .get("ipRanges")
        .and_then(Value::as_array)
        .map(|r| r.iter().map(|c| text(c, "cidrAddress")).collect())
        .unwrap_or_default();
    Ok(Location {
        id: text(v, "id").to_ascii_lowercase(),
        trusted: v.get("isTrusted").and_then(Value::as_bool).unwrap_or(false),
        ranges,
    })
}

fn read_directory(v: &Value, model: &mut Model) -> Result<(), Error> {
    for key in ["mfaTrustedIps", "authenticationStrengthPolicies"] {
        if v.get(key)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            return Err(error(format!("directory `{key}` is not translated")));
        }
    }
    for g in v
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        model.groups.push(Group {
            id: text(g, "id").to_ascii_lowercase(),
            member_of: lower_list(g, "memberOf")?,
        });
    }
    for u in v
        .get("users")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let explicit = text(u, "externalUserType").to_ascii_lowercase();
        let guest = text(u, "userType").eq_ignore_ascii_case("guest");
        let guest_kind = if !explicit.is_empty() {
            Some(explicit)
        } else if guest {
            Some("b2bcollaborationguest".to_owned())
        } else {
            None
        };
        model.users.push(User {
            id: text(u, "id").to_ascii_lowercase(),
            guest_kind,
            member_of: lower_list(u, "memberOf")?,
            roles: lower_list(u, "roles")?,
        });
    }
    Ok(())
}

/// Members of `conditions` the translations cover.
const CONDITIONS: &[&str] = &[
    "users",
    "applications",
    "clientAppTypes",
    "platforms",
    "locations",
    "devices",
    "signInRiskLevels",
    "userRiskLevels",
];

fn is_unset(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn read_policy(v: &Value, model: &mut Model) -> Result<(), Error> {
    let id = text(v, "id").to_ascii_lowercase();
    let ctx = |m: &str| error(format!("policy `{id}`: {m}"));
    let state = text(v, "state");
    if !state.eq_ignore_ascii_case("enabled") {
        model.skipped += 1;
        return Ok(());
    }
    let empty = Map::new();
    let c = v
        .get("conditions")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    if let Some((key, _)) = c
        .iter()
        .find(|(k, val)| !CONDITIONS.contains(&k.as_str()) && !is_unset(val))
    {
        return Err(ctx(&format!("condition `{key}` is not translated")));
    }
    let users = c.get("users").unwrap_or(&Value::Null);
    let mut policy = Policy {
        id: id.clone(),
        name: text(v, "displayName"),
        include: principals(users, "include").map_err(|e| ctx(&e.0))?,
        exclude: principals(users, "exclude").map_err(|e| ctx(&e.0))?,
        ..Policy::default()
    };
    let applications = c.get("applications").unwrap_or(&Value::Null);
    if let Some(obj) = applications.as_object()
        && let Some((key, _)) = obj.iter().find(|(k, val)| {
            !["includeApplications", "excludeApplications"].contains(&k.as_str()) && !is_unset(val)
        })
    {
        return Err(ctx(&format!("`applications.{key}` is not translated")));
    }
    policy.include_apps = apps(applications, "includeApplications").map_err(|e| ctx(&e.0))?;
    policy.exclude_apps = apps(applications, "excludeApplications").map_err(|e| ctx(&e.0))?;

    let client = lower_list(&Value::Object(c.clone()), "clientAppTypes")?;
    if client.iter().any(|t| t == "eassupported") {
        return Err(ctx("client app type `easSupported` is not translated"));
    }
    if !client.is_empty() && !client.iter().any(|t| t == "all") {
        policy.client_app_types = Some(client);
    }
    if let Some(p) = c.get("platforms").filter(|p| !p.is_null()) {
        let include = lower_list(p, "includePlatforms")?;
        policy.platforms = Some(Platforms {
            all: include.iter().any(|x| x == "all"),
            include: include.into_iter().filter(|x| x != "all").collect(),
            exclude: lower_list(p, "excludePlatforms")?,
        });
    }
    if let Some(d) = c.get("devices").filter(|d| !d.is_null()) {
        for legacy in ["includeDevices", "excludeDevices", "includeDeviceStates"] {
            if d.get(legacy).is_some_and(|x| !is_unset(x)) {
                return Err(ctx(&format!("`devices.{legacy}` is not translated")));
            }
        }
        if let Some(f) = d.get("deviceFilter").filter(|f| !f.is_null()) {
            let source = text(f, "rule");
            let rule = filter::parse(&source).map_err(|e| ctx(&format!("device filter: {e}")))?;
            policy.device_filter = Some(DeviceFilter {
                include: text(f, "mode").eq_ignore_ascii_case("include"),
                rule,
                source,
            });
        }
    }
    if let Some(l) = c.get("locations").filter(|l| !l.is_null()) {
        let side = |key: &str| -> Result<(bool, Vec<String>), Error> {
            let mut all = false;
            let mut ids = Vec::new();
            for token in lower_list(l, key)? {
                match token.as_str() {
                    "all" => all = true,
                    "alltrusted" => ids.extend(
                        model
                            .locations
                            .iter()
                            .filter(|x| x.trusted)
                            .map(|x| x.id.clone()),
                    ),
                    other if model.locations.iter().any(|x| x.id == other) => {
                        ids.push(token.clone());
                    }
                    other => {
                        return Err(ctx(&format!(
                            "location `{other}` is not an IP named location"
                        )));
                    }
                }
            }
            Ok((all, ids))
        };
        let (all, include) = side("includeLocations")?;
        let (_, exclude) = side("excludeLocations")?;
        policy.locations = Some(Locations {
            all,
            include,
            exclude,
        });
    }
    let conditions = Value::Object(c.clone());
    for (key, slot) in [
        ("signInRiskLevels", &mut policy.sign_in_risk),
        ("userRiskLevels", &mut policy.user_risk),
    ] {
        let levels = lower_list(&conditions, key)?;
        if !levels.is_empty() {
            *slot = Some(levels);
        }
    }

    let grant = v.get("grantControls").unwrap_or(&Value::Null);
    for key in ["termsOfUse", "customAuthenticationFactors"] {
        if grant.get(key).is_some_and(|x| !is_unset(x)) {
            return Err(ctx(&format!("`grantControls.{key}` is not translated")));
        }
    }
    policy.grant.and = text(grant, "operator").eq_ignore_ascii_case("and");
    for control in lower_list(grant, "builtInControls")? {
        match control.as_str() {
            "block" => policy.grant.block = true,
            "mfa" => policy.grant.controls.push(Control::Strength(
                gardien_core::ids::STRENGTH_MFA.to_owned(),
            )),
            "compliantdevice" => policy.grant.controls.push(Control::CompliantDevice),
            "domainjoineddevice" => policy.grant.controls.push(Control::DomainJoinedDevice),
            "approvedapplication" => policy.grant.controls.push(Control::ApprovedApplication),
            "compliantapplication" => policy.grant.controls.push(Control::CompliantApplication),
            "passwordchange" | "riskremediation" => {
                policy.grant.controls.push(Control::PasswordChange);
            }
            other => return Err(ctx(&format!("grant control `{other}` is not translated"))),
        }
    }
    if let Some(s) = grant.get("authenticationStrength").filter(|s| !s.is_null()) {
        let sid = text(s, "id").to_ascii_lowercase();
        if !model.strengths.iter().any(|x| x.id == sid) {
            return Err(ctx(&format!(
                "authentication strength `{sid}` is not built in"
            )));
        }
        policy.grant.controls.push(Control::Strength(sid));
    }
    if policy.grant.block {
        policy.grant.controls.clear();
    } else if policy.grant.controls.is_empty() {
        model.no_grant += 1;
        return Ok(());
    }
    if v.pointer("/sessionControls/signInFrequency/isEnabled")
        .and_then(Value::as_bool)
        == Some(true)
    {
        model.sign_in_frequency += 1;
    }
    model.policies.push(policy);
    Ok(())
}

fn principals(users: &Value, side: &str) -> Result<Principals, Error> {
    let mut p = Principals::default();
    for token in lower_list(users, &format!("{side}Users"))? {
        match token.as_str() {
            "all" => p.all = true,
            "none" => {}
            "guestsorexternalusers" => {
                return Err(error("`GuestsOrExternalUsers` is not translated"));
            }
            _ => p.users.push(token),
        }
    }
    p.groups = lower_list(users, &format!("{side}Groups"))?;
    p.roles = lower_list(users, &format!("{side}Roles"))?;
    if let Some(g) = users
        .get(format!("{side}GuestsOrExternalUsers"))
        .filter(|g| !g.is_null())
    {
        let tenants = g
            .pointer("/externalTenants/membershipKind")
            .and_then(Value::as_str)
            .unwrap_or("all");
        if !tenants.eq_ignore_ascii_case("all") {
            return Err(error("enumerated external tenants are not translated"));
        }
        p.guest_kinds = text(g, "guestOrExternalUserTypes")
            .split(',')
            .map(|k| k.trim().to_ascii_lowercase())
            .filter(|k| !k.is_empty())
            .collect();
    }
    Ok(p)
}

fn apps(applications: &Value, key: &str) -> Result<Apps, Error> {
    let mut a = Apps::default();
    for token in lower_list(applications, key)? {
        match token.as_str() {
            "all" => a.all = true,
            "office365" => a.office365 = true,
            "none" => {}
            "microsoftadminportals" => {
                return Err(error("`MicrosoftAdminPortals` is not translated"));
            }
            _ => a.apps.push(token),
        }
    }
    Ok(a)
}

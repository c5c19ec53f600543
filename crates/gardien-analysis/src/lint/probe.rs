//! Probes: the sign-ins lint rules ask the evaluator about.
//!
//! Rules never re-implement a condition. To learn whether a policy applies to someone, they
//! build that sign-in and evaluate it with [`CompiledTenant::evaluate_outcomes`] or
//! [`CompiledTenant::decide`]. Some subjects only exist through the directory (a holder of a
//! role, a member of a group, a guest of some kind), so the probes run against a copy of the
//! tenant whose directory also holds synthetic users (ids starting `gardien-lint-`); the
//! policies, named locations and real directory entries are untouched.
//!
//! Places are the network positions the probes sign in from. [`Probe::atoms`] holds one place
//! per distinct set of named locations a sign-in can be in, along each input (IP address,
//! IP country, Authenticator GPS country, compliant network), each with the other inputs in no
//! location; [`Probe::reps`] holds one place per named location (plus "nowhere" and "unknown
//! country").

use std::collections::HashSet;
use std::net::IpAddr;

use gardien_core::compile::CompiledTenant;
use gardien_core::eval::Evaluation;
use gardien_core::eval::places::Whereabouts;
use gardien_core::ids::role_name;
use gardien_core::model::directory::{DirectoryUser, ServicePrincipal};
use gardien_core::model::enums::{
    AuthMethod, AuthMethods, ClientAppType, DevicePlatform, ExternalUserType,
};
use gardien_core::model::location::LocationKind;
use gardien_core::model::policy::PolicyState;
use gardien_core::network::LocationSet;
use gardien_core::signin::{Session, SignIn, Subject, Target};

/// Global Administrator role template.
pub(crate) const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
/// Azure portal (behind `MicrosoftAdminPortals`).
pub(crate) const AZURE_PORTAL: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
/// Windows Azure Service Management API (ARM, Azure portal, CLI, PowerShell).
pub(crate) const AZURE_MANAGEMENT: &str = "797f4846-ba00-4fd7-ba43-dac1f8f63013";
/// Office 365 Exchange Online.
pub(crate) const EXCHANGE_ONLINE: &str = "00000002-0000-0ff1-ce00-000000000000";
/// An application no policy names.
pub(crate) const PROBE_APP: &str = "gardien-lint-probe-app";

/// The tools an administrator needs to repair Conditional Access.
pub(crate) const ADMIN_TARGETS: &[(&str, &str)] = &[
    (AZURE_PORTAL, "the Azure portal"),
    (AZURE_MANAGEMENT, "Azure management"),
    (gardien_core::ids::MICROSOFT_GRAPH_APP, "Microsoft Graph"),
];

/// The roles of Microsoft's "Require multifactor authentication for administrators" template,
/// with their display names.
pub(crate) const PRIVILEGED_ROLES: &[(&str, &str)] = &[
    (GLOBAL_ADMIN, "Global Administrator"),
    (
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Application Administrator",
    ),
    (
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
        "Authentication Administrator",
    ),
    (
        "b0f54661-2d74-4c50-afa3-1ec803f12efe",
        "Billing Administrator",
    ),
    (
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "Cloud Application Administrator",
    ),
    (
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        "Conditional Access Administrator",
    ),
    (
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        "Exchange Administrator",
    ),
    (
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Helpdesk Administrator",
    ),
    (
        "966707d0-3269-4727-9be2-8c3a10f19b9d",
        "Password Administrator",
    ),
    (
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        "Privileged Authentication Administrator",
    ),
    (
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Privileged Role Administrator",
    ),
    (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Security Administrator",
    ),
    (
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
        "SharePoint Administrator",
    ),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
];

/// Whether a role is one of [`PRIVILEGED_ROLES`].
pub(crate) fn is_privileged(role: &str) -> bool {
    PRIVILEGED_ROLES.iter().any(|(r, _)| *r == role)
}

/// Platforms an administrator can realistically use in an emergency.
pub(crate) const FAVOURABLE_PLATFORMS: &[DevicePlatform] = &[
    DevicePlatform::Windows,
    DevicePlatform::MacOS,
    DevicePlatform::Linux,
    DevicePlatform::IOS,
    DevicePlatform::Android,
];

/// Modern client app types.
pub(crate) const MODERN_CLIENTS: &[ClientAppType] = &[
    ClientAppType::Browser,
    ClientAppType::MobileAppsAndDesktopClients,
];

const MEMBER: &str = "gardien-lint-member";
const ADMIN: &str = "gardien-lint-global-admin";
const SERVICE_PRINCIPAL: &str = "gardien-lint-service-principal";

/// A network position to sign in from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Place {
    /// How to say it: `from an address that maps to no country`.
    pub label: String,
    /// Client IP address.
    pub ip: Option<IpAddr>,
    /// Country of the IP address (`None`: unknown).
    pub country: Option<[u8; 2]>,
    /// Authenticator GPS country.
    pub gps: Option<[u8; 2]>,
    /// Through the Global Secure Access compliant network.
    pub compliant: bool,
}

/// How a probe signs in, apart from who and where.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    /// Device platform.
    pub platform: DevicePlatform,
    /// Client app type.
    pub client: ClientAppType,
}

impl Shape {
    /// `from Windows in a browser`.
    pub fn label(self) -> String {
        let client = match self.client {
            ClientAppType::Browser => "in a browser",
            ClientAppType::MobileAppsAndDesktopClients => "with a desktop or mobile app",
            ClientAppType::ExchangeActiveSync => "with Exchange ActiveSync",
            ClientAppType::Other => "with a legacy client (IMAP, POP, SMTP AUTH...)",
        };
        let platform = match self.platform {
            DevicePlatform::Android => "Android",
            DevicePlatform::IOS => "iOS",
            DevicePlatform::Windows => "Windows",
            DevicePlatform::WindowsPhone => "Windows Phone",
            DevicePlatform::MacOS => "macOS",
            DevicePlatform::Linux => "Linux",
            DevicePlatform::Unknown => "an unknown platform",
        };
        format!("from {platform} {client}")
    }
}

/// The probe tenant and the subjects and places rules sign in with.
#[derive(Debug)]
pub(crate) struct Probe<'t> {
    /// The tenant as loaded.
    pub original: &'t CompiledTenant,
    /// The same tenant with synthetic users and a service principal in its directory.
    pub tenant: CompiledTenant,
    /// A member in no group and holding no role.
    pub member: Box<str>,
    /// A Global Administrator in no group: the typical emergency-access account.
    pub global_admin: Box<str>,
    /// A service principal of the tenant.
    pub service_principal: Box<str>,
    /// One user per role (privileged roles and roles policies name), holding only it.
    pub role_users: Vec<(Box<str>, Box<str>)>,
    /// One user per group a policy includes, member of only that group.
    pub group_users: Vec<Box<str>>,
    /// One guest per kind (and per external tenant policies name).
    pub guest_users: Vec<Box<str>>,
    /// One place per distinct set of named locations along each input.
    pub atoms: Vec<Place>,
    /// One place per named location, plus nowhere and unknown country.
    pub reps: Vec<Place>,
    /// An address in no named location, in a country no location lists.
    pub base: Place,
}

fn user(id: &str, roles: Vec<Box<str>>, groups: Vec<Box<str>>) -> DirectoryUser {
    DirectoryUser {
        id: id.into(),
        user_principal_name: format!("{id}@gardien.invalid"),
        display_name: None,
        is_guest: false,
        external_user_type: None,
        home_tenant_id: None,
        member_of: groups,
        roles,
        agent_user: false,
    }
}

/// Id of the synthetic guest of `kind` (from `home`, when given).
pub(crate) fn guest_id(kind: ExternalUserType, home: Option<&str>) -> String {
    match home {
        None => format!("gardien-lint-guest-{kind}"),
        Some(t) => format!("gardien-lint-guest-{kind}-{t}"),
    }
    .to_ascii_lowercase()
}

fn code_text(c: [u8; 2]) -> String {
    String::from_utf8_lossy(&c).into_owned()
}

impl<'t> Probe<'t> {
    /// Builds the probe tenant for `original`.
    pub fn new(original: &'t CompiledTenant) -> Probe<'t> {
        let mut tenant = original.tenant.clone();
        let dir = &mut tenant.directory;
        let mut roles: Vec<Box<str>> = PRIVILEGED_ROLES
            .iter()
            .map(|(r, _)| Box::from(*r))
            .collect();
        let mut groups: Vec<Box<str>> = Vec::new();
        let mut tenants: Vec<Box<str>> = Vec::new();
        for p in &original.tenant.policies {
            if let Some(u) = &p.conditions.users {
                for side in [&u.include, &u.exclude] {
                    roles.extend(side.roles.iter().cloned());
                    if let Some(g) = &side.guests {
                        tenants.extend(g.tenants.iter().flatten().cloned());
                    }
                }
                groups.extend(u.include.groups.iter().cloned());
            }
        }
        for list in [&mut roles, &mut groups, &mut tenants] {
            let mut seen = HashSet::new();
            list.retain(|x| seen.insert(x.clone()));
        }
        dir.users.push(user(MEMBER, Vec::new(), Vec::new()));
        dir.users
            .push(user(ADMIN, vec![GLOBAL_ADMIN.into()], Vec::new()));
        let mut role_users = Vec::new();
        for r in &roles {
            let id = format!("gardien-lint-role-{r}");
            dir.users.push(user(&id, vec![r.clone()], Vec::new()));
            role_users.push((r.clone(), id.into_boxed_str()));
        }
        let mut group_users = Vec::new();
        for g in &groups {
            let id = format!("gardien-lint-member-of-{g}");
            dir.users.push(user(&id, Vec::new(), vec![g.clone()]));
            group_users.push(id.into_boxed_str());
        }
        let mut guest_users = Vec::new();
        for kind in ExternalUserType::ALL {
            for home in std::iter::once(None).chain(tenants.iter().map(Some)) {
                let id = guest_id(*kind, home.map(|t| &**t));
                let mut u = user(&id, Vec::new(), Vec::new());
                u.is_guest = *kind != ExternalUserType::B2bCollaborationMember;
                u.external_user_type = Some(*kind);
                u.home_tenant_id = home.cloned();
                dir.users.push(u);
                guest_users.push(id.into_boxed_str());
            }
        }
        dir.service_principals.push(ServicePrincipal {
            id: SERVICE_PRINCIPAL.into(),
            app_id: Some("gardien-lint-service-principal-app".into()),
            display_name: "gardien lint probe".to_owned(),
            attributes: Vec::new(),
            agent: None,
        });
        // Same named locations: the IP index is reused, not built again.
        let tenant = CompiledTenant::compile_like(tenant, original);
        let (base, atoms, reps) = places(&tenant);
        Probe {
            original,
            tenant,
            member: MEMBER.into(),
            global_admin: ADMIN.into(),
            service_principal: SERVICE_PRINCIPAL.into(),
            role_users,
            group_users,
            guest_users,
            atoms,
            reps,
            base,
        }
    }

    /// A user sign-in to `target` in `shape` at `place`, with `session`.
    pub fn user_signin(
        &self,
        user: &str,
        target: Target,
        shape: Shape,
        place: &Place,
        session: Session,
    ) -> SignIn {
        let mut s = SignIn::user(user, &[]);
        s.target = target;
        s.device_platform = Some(shape.platform);
        s.client_app_type = Some(shape.client);
        s.session = session;
        place.apply(&mut s);
        s
    }

    /// A sign-in of the synthetic service principal (or `id`) to `target`.
    pub fn workload_signin(&self, id: &str, target: Target, place: &Place) -> SignIn {
        let mut s = SignIn::user("placeholder", &[]);
        s.subject = Subject::ServicePrincipal { id: id.into() };
        s.target = target;
        s.device_platform = Some(DevicePlatform::Unknown);
        s.client_app_type = Some(ClientAppType::MobileAppsAndDesktopClients);
        place.apply(&mut s);
        s
    }

    /// Evaluates a sign-in with per-condition outcomes.
    pub fn evaluate(&self, s: &SignIn) -> Evaluation {
        self.tenant.evaluate_outcomes(s)
    }

    /// Display name of a role.
    pub fn role_label(role: &str) -> String {
        let name = PRIVILEGED_ROLES
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, n)| *n)
            .unwrap_or_else(|| role_name(role));
        if name == role {
            format!("role `{role}`")
        } else {
            format!("`{name}`")
        }
    }
}

/// The session of a user who completed every authentication method (any strength is met),
/// on an unregistered device.
pub(crate) fn strongest_session() -> Session {
    Session {
        methods: AuthMethods::of(AuthMethod::ALL),
        ..Session::default()
    }
}

/// A password-only session.
pub(crate) fn password_session() -> Session {
    Session {
        methods: AuthMethods::of(&[AuthMethod::Password]),
        ..Session::default()
    }
}

impl Place {
    fn base(country: Option<[u8; 2]>) -> Place {
        Place {
            label: match country {
                Some(c) => format!(
                    "from an address in no named location (country `{}`)",
                    code_text(c)
                ),
                None => "from an address in no named location".to_owned(),
            },
            ip: None,
            country,
            gps: None,
            compliant: false,
        }
    }

    fn apply(&self, s: &mut SignIn) {
        self.whereabouts().apply(s);
    }

    /// The place as the evaluator's location inputs.
    pub fn whereabouts(&self) -> Whereabouts {
        Whereabouts {
            ip_address: self.ip,
            country: self.country,
            gps_country: self.gps,
            compliant_network: self.compliant,
        }
    }
}

/// Indices of enabled policies.
pub(crate) fn enabled(tenant: &CompiledTenant) -> Vec<usize> {
    tenant
        .tenant
        .policies
        .iter()
        .enumerate()
        .filter(|(_, p)| p.state == PolicyState::Enabled)
        .map(|(i, _)| i)
        .collect()
}

fn names(tenant: &CompiledTenant, set: &LocationSet) -> String {
    set.iter()
        .map(|b| format!("`{}`", tenant.location_name(b)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A country no IP-lookup country location lists, preferring uninhabited territories.
fn unlisted_country(tenant: &CompiledTenant) -> Option<[u8; 2]> {
    let preferred = [
        *b"AQ", *b"BV", *b"HM", *b"UM", *b"GS", *b"TF", *b"PN", *b"NF", *b"CC", *b"CX", *b"IO",
        *b"SJ", *b"TK", *b"NU", *b"WF",
    ];
    let all = (b'A'..=b'Z').flat_map(|a| (b'A'..=b'Z').map(move |b| [a, b]));
    preferred.into_iter().chain(all).find(|c| {
        tenant
            .locations
            .countries
            .get(c)
            .is_none_or(LocationSet::is_empty)
    })
}

/// The base place, atoms and representatives (see the module documentation).
fn places(tenant: &CompiledTenant) -> (Place, Vec<Place>, Vec<Place>) {
    let base = Place::base(unlisted_country(tenant));
    let unknown = Place {
        label: "from an address that maps to no country".to_owned(),
        country: None,
        ..base.clone()
    };
    let compliant = Place {
        label: "through the Global Secure Access compliant network".to_owned(),
        compliant: true,
        ..base.clone()
    };
    let mut atoms = vec![base.clone(), unknown.clone()];
    let mut reps = vec![base.clone(), unknown];
    let mut seen_country: HashSet<LocationSet> = HashSet::new();
    let mut seen_gps: HashSet<LocationSet> = HashSet::new();
    // Every set of locations an address can be in, once (the index enumerates them).
    for (ip, _) in tenant.locations.ip_index.set_representatives() {
        atoms.push(Place {
            label: format!("from `{ip}`"),
            ip: Some(ip),
            ..base.clone()
        });
    }
    let ip_place = |ip: IpAddr| -> Option<Place> {
        let set = *tenant.locations.ip_index.lookup(ip);
        (!set.is_empty()).then(|| Place {
            label: format!("from `{ip}` (in {})", names(tenant, &set)),
            ip: Some(ip),
            ..base.clone()
        })
    };
    let trusted_ips = &tenant.tenant.directory.mfa_trusted_ips;
    if let Some(p) = trusted_ips
        .first()
        .and_then(|first| ip_place(first.first_address()))
    {
        reps.push(p);
    }
    for l in &tenant.tenant.named_locations {
        match &l.kind {
            LocationKind::Ip { ranges, .. } => {
                if let Some(p) = ranges
                    .first()
                    .and_then(|first| ip_place(first.first_address()))
                {
                    reps.push(p);
                }
            }
            LocationKind::Country {
                countries,
                gps: false,
                ..
            } => {
                for (i, c) in countries.iter().enumerate() {
                    let set = tenant
                        .locations
                        .countries
                        .get(c)
                        .copied()
                        .unwrap_or_default();
                    let new = seen_country.insert(set);
                    if i > 0 && !new {
                        continue;
                    }
                    let place = Place {
                        label: format!(
                            "from country `{}` (in {})",
                            code_text(*c),
                            names(tenant, &set)
                        ),
                        country: Some(*c),
                        ..base.clone()
                    };
                    if i == 0 {
                        reps.push(place.clone());
                    }
                    if new {
                        atoms.push(place);
                    }
                }
            }
            LocationKind::Country {
                countries,
                gps: true,
                ..
            } => {
                for (i, c) in countries.iter().enumerate() {
                    let set = tenant
                        .locations
                        .gps_countries
                        .get(c)
                        .copied()
                        .unwrap_or_default();
                    let new = seen_gps.insert(set);
                    if i > 0 && !new {
                        continue;
                    }
                    let place = Place {
                        label: format!(
                            "with Authenticator GPS country `{}` (in {})",
                            code_text(*c),
                            names(tenant, &set)
                        ),
                        gps: Some(*c),
                        ..base.clone()
                    };
                    if i == 0 {
                        reps.push(place.clone());
                    }
                    if new {
                        atoms.push(place);
                    }
                }
            }
            LocationKind::CompliantNetwork => reps.push(compliant.clone()),
        }
    }
    atoms.push(compliant.clone());
    if !reps.contains(&compliant) {
        reps.push(compliant);
    }
    let mut unique = Vec::new();
    for r in reps {
        if !unique.contains(&r) {
            unique.push(r);
        }
    }
    (base, atoms, unique)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Small hand-written tenants for the rules' unit tests.

    use gardien_core::{CompiledTenant, SourceFile, Tenant, TenantSource};
    use serde_json::{Value, json};

    /// A policy with the usual defaults: enabled, all client apps, grant `block`.
    pub fn policy(id: &str, conditions: Value, grant: Value) -> Value {
        let mut c =
            json!({"clientAppTypes": ["all"], "applications": {"includeApplications": ["All"]}});
        if let (Some(c), Some(extra)) = (c.as_object_mut(), conditions.as_object()) {
            for (k, v) in extra {
                c.insert(k.clone(), v.clone());
            }
        }
        json!({"id": id, "displayName": id, "state": "enabled", "conditions": c, "grantControls": grant})
    }

    /// The rules' usual audience: every user but the break-glass group `bg`.
    pub fn users() -> Value {
        json!({"includeUsers": ["All"], "excludeGroups": ["bg"]})
    }

    /// The codes of a report's findings that start with `prefix`, in report order.
    pub fn codes(r: &crate::lint::LintReport, prefix: &str) -> Vec<&'static str> {
        r.findings
            .iter()
            .filter(|f| f.code.starts_with(prefix))
            .map(|f| f.code)
            .collect()
    }

    /// `{"operator": "OR", "builtInControls": [control]}`.
    pub fn grant(control: &str) -> Value {
        json!({"operator": "OR", "builtInControls": [control]})
    }

    /// Loads a single-file tenant; panics (test failure) on invalid input.
    #[expect(clippy::panic, reason = "tests report a broken fixture by panicking")]
    pub fn tenant(
        policies: Vec<Value>,
        locations: Value,
        directory: Option<Value>,
    ) -> CompiledTenant {
        let mut t = json!({"policies": policies, "namedLocations": locations});
        if let Some(d) = directory {
            t["directory"] = d;
        }
        let bytes = serde_json::to_vec(&t).unwrap_or_default();
        let source = TenantSource {
            combined: Some(SourceFile::new("tenant.json", bytes)),
            ..Default::default()
        };
        match Tenant::load(&source) {
            Ok(t) => CompiledTenant::compile(t),
            Err(e) => panic!("fixture does not load: {e}"),
        }
    }
}

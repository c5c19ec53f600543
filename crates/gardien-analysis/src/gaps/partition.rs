//! The partition behind `gaps` and `diff`: every dimension of a sign-in cut into the
//! equivalence classes the policies actually distinguish, then an exhaustive walk over the
//! product of those classes.
//!
//! How a class is found, per dimension: candidate values are generated from what the
//! policies (of one or two tenants) reference (users, groups, roles, guest kinds, apps, named
//! locations, device-filter literals, every enum member), and two candidates fall in the same
//! class when the core gives every policy the same outcome for that dimension's conditions.
//! Those outcomes are read from [`CompiledTenant::evaluate_outcomes`] on sign-ins that differ
//! only in that dimension: nothing here implements a condition.
//!
//! The walk ([`enumerate::walk`]) goes over every combination of classes. The decision of
//! a combination is a [`CompiledTenant::decide`] call on one representative sign-in; the
//! core's decision only depends on which policies apply (the conjunction of the per-dimension
//! outcomes) and on the grant-phase inputs (client app type, device, session, kind of
//! target), so combinations that agree on those share one call. Every class that a report
//! shows is re-evaluated on its own representative.

pub(crate) mod devices;
pub(crate) mod enumerate;
pub(crate) mod locations;
pub(crate) mod targets;
pub(crate) mod users;

use std::hash::Hash;

use gardien_core::compile::CompiledTenant;
use gardien_core::device::DeviceInfo;
use gardien_core::eval::input::{External, Input, Mode, Outcome};
use gardien_core::eval::{Condition, PolicyResult, PolicySet};
use gardien_core::model::enums::{
    AuthMethod, AuthMethods, ClientAppType, DevicePlatform, InsiderRiskLevel, RiskLevel,
    TransferMethod,
};
use gardien_core::model::policy::Policy;
use gardien_core::model::tenant::Tenant;
use gardien_core::signin::{SignIn, Target};
use rustc_hash::FxHashMap;

pub(crate) use enumerate::{INNER, Radix, Scope, Tuple};
pub(crate) use locations::Place;
pub(crate) use targets::TargetKind;
pub(crate) use users::Persona;

/// At most this many tenants are compared at once (`diff`).
pub(crate) const TENANTS: usize = 2;

/// One set of policies per tenant (the second is empty for `gaps`).
pub(crate) type Sets = [PolicySet; TENANTS];

/// Intersection, tenant by tenant.
pub(crate) fn and(a: &Sets, b: &Sets) -> Sets {
    let mut r = *a;
    for (x, y) in r.iter_mut().zip(b.iter()) {
        x.intersect(y);
    }
    r
}

/// Groups of conditions, one per dimension (plus what no dimension varies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    Identity = 0,
    Target,
    Platform,
    Client,
    Devices,
    Location,
    SignInRisk,
    UserRisk,
    InsiderRisk,
    Flows,
    Rest,
}

const GROUPS: usize = 11;

fn group_of(c: Condition) -> Group {
    match c {
        Condition::Users
        | Condition::WorkloadIdentities
        | Condition::AgentIdentities
        | Condition::AgentUsers => Group::Identity,
        Condition::Application | Condition::UserActions | Condition::AuthenticationContext => {
            Group::Target
        }
        Condition::DevicePlatform => Group::Platform,
        Condition::ClientApps => Group::Client,
        Condition::Devices => Group::Devices,
        Condition::Location => Group::Location,
        Condition::SignInRisk => Group::SignInRisk,
        Condition::UserRisk => Group::UserRisk,
        Condition::InsiderRisk => Group::InsiderRisk,
        Condition::AuthenticationFlow => Group::Flows,
        Condition::ServicePrincipalRisk | Condition::AgentIdRisk => Group::Rest,
    }
}

/// For each group of conditions, the (non-disabled) policies whose conditions of that group
/// all hold for the sign-in, as the core evaluates them.
pub(crate) fn group_sets(tenant: &CompiledTenant, signin: &SignIn) -> [PolicySet; GROUPS] {
    let evaluation = tenant.evaluate_outcomes(signin);
    let mut out = [PolicySet::default(); GROUPS];
    for record in &evaluation.policies {
        if record.result == PolicyResult::NotEnabled {
            continue;
        }
        let mut holds = [true; GROUPS];
        for c in &record.conditions {
            if c.outcome != Outcome::Satisfied
                && let Some(h) = holds.get_mut(group_of(c.condition) as usize)
            {
                *h = false;
            }
        }
        for (set, ok) in out.iter_mut().zip(holds) {
            if ok {
                set.insert(record.index);
            }
        }
    }
    out
}

/// The sets of one group over every tenant.
pub(crate) fn sets_of(tenants: &[CompiledTenant], signin: &SignIn, groups: &[Group]) -> Sets {
    let mut out = Sets::default();
    for (slot, t) in out.iter_mut().zip(tenants) {
        let all = group_sets(t, signin);
        let mut set = PolicySet::default();
        let mut first = true;
        for g in groups {
            if let Some(s) = all.get(*g as usize) {
                if first {
                    set = *s;
                    first = false;
                } else {
                    set.intersect(s);
                }
            }
        }
        *slot = set;
    }
    out
}

/// One candidate value of a dimension, before merging.
#[derive(Debug, Clone)]
pub(crate) struct Candidate<V> {
    /// The value.
    pub value: V,
    /// The value in words.
    pub label: String,
    /// Whether an attacker can present this value.
    pub attacker: bool,
    /// Breadth for exposure ranking (0–100).
    pub weight: u32,
    /// Directory users this candidate stands for.
    pub real_users: usize,
}

impl<V> Candidate<V> {
    pub(crate) fn new(value: V, label: impl Into<String>, attacker: bool, weight: u32) -> Self {
        Candidate {
            value,
            label: label.into(),
            attacker,
            weight,
            real_users: 0,
        }
    }
}

/// Members listed per class (the count is always exact).
pub(crate) const MAX_MEMBERS: usize = 24;

/// An equivalence class of one dimension: the candidates the policies cannot tell apart.
#[derive(Debug, Clone)]
pub(crate) struct Class<V> {
    /// The representative value (the first candidate of the class).
    pub value: V,
    /// The class in words.
    pub label: String,
    /// The first [`MAX_MEMBERS`] candidates, in words (the first is the representative).
    pub members: Vec<String>,
    /// Number of candidates merged.
    pub member_count: usize,
    /// Whether the representative can be presented by an attacker.
    pub attacker: bool,
    /// Largest breadth of a member.
    pub weight: u32,
    /// Directory users in the class.
    pub real_users: usize,
}

/// Merges candidates with equal keys; the first candidate of each class represents it, so
/// generators list the most telling (and, for attacker-controlled dimensions, the attacker's)
/// values first. `join` lists every member in the label instead of "(+N more)".
pub(crate) fn merge<V, K: Eq + Hash>(
    candidates: impl IntoIterator<Item = (K, Candidate<V>)>,
    join: bool,
) -> Vec<(K, Class<V>)> {
    let mut index: FxHashMap<K, usize> = FxHashMap::default();
    let mut classes: Vec<(Option<K>, Class<V>)> = Vec::new();
    let mut keys: Vec<K> = Vec::new();
    for (key, c) in candidates {
        if let Some(&i) = index.get(&key) {
            if let Some((_, class)) = classes.get_mut(i) {
                if class.members.len() < MAX_MEMBERS {
                    class.members.push(c.label);
                }
                class.member_count += 1;
                class.weight = class.weight.max(c.weight);
                class.real_users += c.real_users;
            }
            continue;
        }
        index.insert(key, classes.len());
        classes.push((
            None,
            Class {
                value: c.value,
                label: String::new(),
                members: vec![c.label],
                member_count: 1,
                attacker: c.attacker,
                weight: c.weight,
                real_users: c.real_users,
            },
        ));
    }
    // Give each class its key back (in insertion order).
    let mut by_position: Vec<(usize, K)> = index.into_iter().map(|(k, i)| (i, k)).collect();
    by_position.sort_by_key(|(i, _)| *i);
    for (_, k) in by_position {
        keys.push(k);
    }
    classes
        .into_iter()
        .zip(keys)
        .map(|((_, mut class), key)| {
            class.label = class_label(&class.members, class.member_count, join);
            (key, class)
        })
        .collect()
}

fn class_label(members: &[String], count: usize, join: bool) -> String {
    match members {
        [] => String::new(),
        [one] => one.clone(),
        _ if join && members.len() == count => members.join(", "),
        [first, ..] => format!("{first} (+{} similar)", count - 1),
    }
}

/// Grant-phase session of a sign-in: the authentication methods already done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionLevel {
    /// Password only.
    Password,
    /// Password and Authenticator push: satisfies `mfa` and the built-in MFA strength.
    Mfa,
    /// FIDO2: satisfies every built-in strength.
    PhishingResistant,
}

impl SessionLevel {
    fn methods(self) -> AuthMethods {
        match self {
            SessionLevel::Password => AuthMethods::of(&[AuthMethod::Password]),
            SessionLevel::Mfa => {
                AuthMethods::of(&[AuthMethod::Password, AuthMethod::MicrosoftAuthenticatorPush])
            }
            SessionLevel::PhishingResistant => AuthMethods::of(&[AuthMethod::Fido2]),
        }
    }

    fn label(self) -> &'static str {
        match self {
            SessionLevel::Password => "no MFA done (password only)",
            SessionLevel::Mfa => "MFA done (password + Authenticator push)",
            SessionLevel::PhishingResistant => "phishing-resistant MFA done (FIDO2)",
        }
    }
}

/// The classes of every dimension of one or two tenants, with the per-class policy sets.
#[derive(Debug)]
pub(crate) struct Universe {
    /// The tenants, compiled with the hypothetical users added to their directory.
    pub tenants: Vec<CompiledTenant>,
    /// Users (identity).
    pub users: Vec<Class<Persona>>,
    /// Targets: applications, user actions, authentication contexts.
    pub targets: Vec<Class<Target>>,
    /// Kind of each target class.
    pub target_kinds: Vec<TargetKind>,
    /// Device platforms.
    pub platforms: Vec<Class<DevicePlatform>>,
    /// Client app types.
    pub clients: Vec<Class<ClientAppType>>,
    /// Network locations.
    pub locations: Vec<Class<Place>>,
    /// Devices (`None`: unregistered).
    pub devices: Vec<Class<Option<DeviceInfo>>>,
    /// Sign-in risk levels.
    pub sign_in_risks: Vec<Class<RiskLevel>>,
    /// User risk levels.
    pub user_risks: Vec<Class<RiskLevel>>,
    /// Insider risk levels.
    pub insider_risks: Vec<Class<InsiderRiskLevel>>,
    /// Authentication flows (transfer method of the request).
    pub flows: Vec<Class<Option<TransferMethod>>>,
    /// Sessions (methods already done).
    pub sessions: Vec<Class<SessionLevel>>,
    /// Policies whose conditions outside every dimension hold.
    pub base: Sets,
    /// Per user class.
    pub user_sets: Vec<Sets>,
    /// Per user class: how the grant phase sees the user (member, or external with the
    /// cross-tenant trust of each tenant), interned; equal ids decide alike.
    pub user_grant: Vec<u32>,
    /// Per target class.
    pub target_sets: Vec<Sets>,
    /// Per (platform, client) class pair, `p * clients + c`.
    pub platform_client_sets: Vec<Sets>,
    /// Per (device, client) class pair, `d * clients + c`.
    pub device_client_sets: Vec<Sets>,
    /// Per client class, with no device: what the device-code flow and authentication
    /// transfer present whatever the device class.
    pub undevice_client_sets: Vec<Sets>,
    /// Per location class.
    pub location_sets: Vec<Sets>,
    /// Per sign-in risk class.
    pub sign_in_risk_sets: Vec<Sets>,
    /// Per user risk class.
    pub user_risk_sets: Vec<Sets>,
    /// Per insider risk class.
    pub insider_risk_sets: Vec<Sets>,
    /// Per flow class.
    pub flow_sets: Vec<Sets>,
    /// Raw candidates considered per dimension (before merging), for the report.
    pub candidates: [usize; 11],
    /// What is approximate in this partition, for the report.
    pub approximations: Vec<String>,
    /// The hypothetical users added to every tenant's directory.
    pub hypothetical_users: Vec<gardien_core::model::directory::DirectoryUser>,
    /// When the location dimension was bounded (`ip_bound`), what that means, in words.
    pub location_bound: Option<String>,
}

/// Dimension indices of [`Universe::candidates`] and of reports.
pub(crate) const DIMENSIONS: [&str; 11] = [
    "users",
    "applications",
    "platforms",
    "clientAppTypes",
    "locations",
    "devices",
    "signInRisk",
    "userRisk",
    "insiderRisk",
    "authenticationFlows",
    "sessions",
];

/// Whether any policy of any tenant makes the device matter: a device filter, legacy device
/// states, or a device grant control.
fn device_relevant(tenants: &[&Tenant]) -> (bool, bool, bool) {
    use gardien_core::model::enums::BuiltInControl as B;
    let all = || tenants.iter().flat_map(|t| t.policies.iter());
    let filters = all().any(|p: &Policy| {
        p.conditions.device_filter.is_some() || p.conditions.device_states.is_some()
    });
    let grant_has =
        |c: B| all().any(|p: &Policy| p.grant.as_ref().is_some_and(|g| g.built_in.contains(&c)));
    (
        filters,
        grant_has(B::CompliantDevice),
        grant_has(B::DomainJoinedDevice),
    )
}

/// A sign-in with every dimension at a neutral value: the base the generators vary.
pub(crate) fn base_signin(
    persona: &Persona,
    target: &Target,
    place: &Place,
    session: SessionLevel,
) -> SignIn {
    let mut s = SignIn::user("base", &["base"]);
    s.subject = persona.subject.clone();
    s.target = target.clone();
    s.client_app_type = Some(ClientAppType::Browser);
    s.device_platform = Some(DevicePlatform::Unknown);
    place.apply(&mut s);
    s.sign_in_risk = Some(RiskLevel::None);
    s.user_risk = Some(RiskLevel::None);
    s.insider_risk = Some(InsiderRiskLevel::None);
    s.session.methods = session.methods();
    // Methods "already done": for an external user, done wherever this tenant counts them
    // (home tenant with MFA trust, here without).
    s.session.home_methods = s.session.methods;
    s
}

impl Universe {
    /// Builds the partition of one tenant (`gaps`) or the union of two (`diff`), with the
    /// given sessions.
    ///
    /// `ip_bound` bounds the addresses tried for the location dimension when the named IP
    /// ranges have more boundaries than that (see [`locations::candidates`]); `None` is exact.
    pub(crate) fn build(
        sources: &[&Tenant],
        with_mfa_sessions: bool,
        ip_bound: Option<usize>,
    ) -> Universe {
        let mut approximations = Vec::new();
        // Users first: hypothetical users go into every tenant's directory.
        let plan = users::plan(sources);
        let mut tenants: Vec<CompiledTenant> = Vec::with_capacity(sources.len());
        for t in sources {
            let mut t = (*t).clone();
            t.directory.users.extend(plan.entries.iter().cloned());
            // Tenants compared or documented together usually share their named locations:
            // the second reuses the first's IP index when they do.
            tenants.push(match tenants.first() {
                Some(like) => CompiledTenant::compile_like(t, like),
                None => CompiledTenant::compile(t),
            });
        }
        let t = tenants.as_slice();

        let neutral_persona = plan.neutral();
        let other_app = targets::other_app(sources);
        let neutral_target = Target::Applications(vec![other_app.clone()]);
        let (place_candidates, place_note) = locations::candidates(t, ip_bound);
        approximations.extend(place_note.clone());
        let neutral_place = place_candidates
            .first()
            .map(|c| c.value.clone())
            .unwrap_or_else(Place::outside);
        let base = |session: SessionLevel| {
            base_signin(&neutral_persona, &neutral_target, &neutral_place, session)
        };
        let base_sets = sets_of(t, &base(SessionLevel::Password), &[Group::Rest]);

        // Users.
        let user_candidates = users::candidates(&plan, t);
        let n_user_candidates = user_candidates.len();
        // Users that the conditions cannot tell apart may still be decided differently in the
        // grant phase: an external user's home-tenant claims count only with the tenant's
        // cross-tenant trust (docs/semantics.md).
        let user_classes = merge(
            user_candidates.into_iter().map(|c| {
                let mut s = base(SessionLevel::Password);
                s.subject = c.value.subject.clone();
                let grant: Vec<Option<External>> = t
                    .iter()
                    .map(|tenant| Input::resolve(tenant, &s, Mode::Enforce).external)
                    .collect();
                ((sets_of(t, &s, &[Group::Identity]), grant), c)
            }),
            false,
        );
        approximations.extend(plan.approximations.iter().cloned());

        // Targets.
        let target_candidates = targets::candidates(sources, t, &other_app);
        let n_target_candidates = target_candidates.len();
        let target_classes = merge(
            target_candidates.into_iter().map(|c| {
                let mut s = base(SessionLevel::Password);
                s.target = c.value.clone();
                (
                    (sets_of(t, &s, &[Group::Target]), TargetKind::of(&c.value)),
                    c,
                )
            }),
            false,
        );

        // Platforms × client app types, evaluated together (`easSupported` reads both).
        let mut pc: FxHashMap<(usize, usize), Sets> = FxHashMap::default();
        for (pi, p) in DevicePlatform::ALL.iter().enumerate() {
            for (ci, c) in ClientAppType::ALL.iter().enumerate() {
                let mut s = base(SessionLevel::Password);
                s.device_platform = Some(*p);
                s.client_app_type = Some(*c);
                pc.insert((pi, ci), sets_of(t, &s, &[Group::Platform, Group::Client]));
            }
        }
        let (device_filters, device_compliant, device_hybrid) = device_relevant(sources);
        let platform_classes = merge(
            DevicePlatform::ALL.iter().enumerate().map(|(pi, p)| {
                let key: Vec<Sets> = (0..ClientAppType::ALL.len())
                    .map(|ci| pc.get(&(pi, ci)).copied().unwrap_or_default())
                    .collect();
                let label = if *p == DevicePlatform::Unknown {
                    "unknown (absent or unrecognised)".to_owned()
                } else {
                    p.as_str().to_owned()
                };
                (key, Candidate::new(*p, label, true, 0))
            }),
            true,
        );
        let client_classes = merge(
            ClientAppType::ALL.iter().enumerate().map(|(ci, c)| {
                let key: Vec<Sets> = (0..DevicePlatform::ALL.len())
                    .map(|pi| pc.get(&(pi, ci)).copied().unwrap_or_default())
                    .collect();
                let hides_device = *c == ClientAppType::Other
                    && (device_filters || device_compliant || device_hybrid);
                (
                    (key, c.is_legacy(), hides_device),
                    Candidate::new(*c, c.as_str(), true, 0),
                )
            }),
            true,
        );
        let platform_client_sets: Vec<Sets> = platform_classes
            .iter()
            .flat_map(|(_, p)| {
                let pi = DevicePlatform::ALL
                    .iter()
                    .position(|x| *x == p.value)
                    .unwrap_or(0);
                let pc = &pc;
                client_classes.iter().map(move |(_, c)| {
                    let ci = ClientAppType::ALL
                        .iter()
                        .position(|x| *x == c.value)
                        .unwrap_or(0);
                    pc.get(&(pi, ci)).copied().unwrap_or_default()
                })
            })
            .collect();

        // Locations.
        let n_place_candidates = place_candidates.len();
        let location_classes = merge(
            place_candidates.into_iter().map(|c| {
                let mut s = base(SessionLevel::Password);
                c.value.apply(&mut s);
                (sets_of(t, &s, &[Group::Location]), c)
            }),
            false,
        );
        approximations.push(
            "locations: the IP address and its country are varied independently (any address \
             with any country), as a VPN allows; GPS country and compliant network are varied \
             only when a policy can read them"
                .to_owned(),
        );

        // Devices, per client class (legacy `other` clients present no device).
        let (device_candidates, device_note) = devices::candidates(sources);
        approximations.extend(device_note);
        let n_device_candidates = device_candidates.len();
        let client_values: Vec<ClientAppType> =
            client_classes.iter().map(|(_, c)| c.value).collect();
        let device_classes = merge(
            device_candidates.into_iter().map(|c| {
                let sets: Vec<Sets> = client_values
                    .iter()
                    .map(|client| {
                        let mut s = base(SessionLevel::Password);
                        s.client_app_type = Some(*client);
                        s.device = c.value.clone();
                        sets_of(t, &s, &[Group::Devices])
                    })
                    .collect();
                let compliant = device_compliant
                    && c.value
                        .as_ref()
                        .is_some_and(|d| d.is_compliant == Some(true));
                let hybrid =
                    device_hybrid && c.value.as_ref().is_some_and(DeviceInfo::is_hybrid_joined);
                ((sets, compliant, hybrid), c)
            }),
            false,
        );
        // What a flow that carries no device state sees: no device, per client class.
        let undevice_client_sets: Vec<Sets> = client_values
            .iter()
            .map(|client| {
                let mut s = base(SessionLevel::Password);
                s.client_app_type = Some(*client);
                s.device = None;
                sets_of(t, &s, &[Group::Devices])
            })
            .collect();
        let device_client_sets: Vec<Sets> = device_classes
            .iter()
            .flat_map(|((sets, _, _), _)| sets.iter().copied())
            .collect();

        // Risks, flows.
        let risk_classes =
            |group: Group, set: fn(&mut SignIn, RiskLevel), attacker: fn(RiskLevel) -> bool| {
                merge(
                    RiskLevel::ALL.iter().map(|l| {
                        let mut s = base(SessionLevel::Password);
                        set(&mut s, *l);
                        (
                            sets_of(t, &s, &[group]),
                            Candidate::new(*l, l.as_str(), attacker(*l), 0),
                        )
                    }),
                    true,
                )
            };
        let sign_in_risk_classes = risk_classes(
            Group::SignInRisk,
            |s, l| s.sign_in_risk = Some(l),
            |l| matches!(l, RiskLevel::None | RiskLevel::Low),
        );
        let user_risk_classes = risk_classes(
            Group::UserRisk,
            |s, l| s.user_risk = Some(l),
            |l| l == RiskLevel::None,
        );
        let insider_classes = merge(
            InsiderRiskLevel::ALL.iter().map(|l| {
                let mut s = base(SessionLevel::Password);
                s.insider_risk = Some(*l);
                (
                    sets_of(t, &s, &[Group::InsiderRisk]),
                    Candidate::new(*l, l.as_str(), *l == InsiderRiskLevel::None, 0),
                )
            }),
            true,
        );
        let flow_values = [
            (None, "no device code flow or authentication transfer", true),
            (
                Some(TransferMethod::DeviceCodeFlow),
                "device code flow",
                true,
            ),
            (
                Some(TransferMethod::AuthenticationTransfer),
                "authentication transfer",
                false,
            ),
        ];
        // The device-code flow and authentication transfer carry no device state, so they
        // differ from no flow wherever a policy reads the device (docs/semantics.md).
        let device_read = device_filters || device_compliant || device_hybrid;
        let flow_classes = merge(
            flow_values.iter().map(|(m, label, attacker)| {
                let mut s = base(SessionLevel::Password);
                s.transfer_method = *m;
                (
                    (sets_of(t, &s, &[Group::Flows]), device_read && m.is_some()),
                    Candidate::new(*m, *label, *attacker, 0),
                )
            }),
            true,
        );
        let session_values: Vec<SessionLevel> = if with_mfa_sessions {
            vec![
                SessionLevel::Password,
                SessionLevel::Mfa,
                SessionLevel::PhishingResistant,
            ]
        } else {
            vec![SessionLevel::Password]
        };
        let sessions: Vec<Class<SessionLevel>> = merge(
            session_values.iter().enumerate().map(|(i, l)| {
                (
                    i,
                    Candidate::new(*l, l.label(), *l == SessionLevel::Password, 0),
                )
            }),
            false,
        )
        .into_iter()
        .map(|(_, c)| c)
        .collect();

        let (user_keys, users) = unzip_classes(user_classes);
        let mut grant_ids: Vec<Vec<Option<External>>> = Vec::new();
        let mut user_sets = Vec::with_capacity(user_keys.len());
        let mut user_grant = Vec::with_capacity(user_keys.len());
        for (sets, grant) in user_keys {
            let id = match grant_ids.iter().position(|g| *g == grant) {
                Some(i) => i,
                None => {
                    grant_ids.push(grant);
                    grant_ids.len() - 1
                }
            };
            user_sets.push(sets);
            user_grant.push(u32::try_from(id).unwrap_or(u32::MAX));
        }
        let (target_keys, targets) = unzip_classes(target_classes);
        let (target_sets, target_kinds): (Vec<Sets>, Vec<TargetKind>) =
            target_keys.into_iter().unzip();
        let (_, platforms) = unzip_classes(platform_classes);
        let (_, clients) = unzip_classes(client_classes);
        let (location_sets, locations) = unzip_classes(location_classes);
        let (_, devices) = unzip_classes(device_classes);
        let (sign_in_risk_sets, sign_in_risks) = unzip_classes(sign_in_risk_classes);
        let (user_risk_sets, user_risks) = unzip_classes(user_risk_classes);
        let (insider_risk_sets, insider_risks) = unzip_classes(insider_classes);
        let (flow_keys, flows) = unzip_classes(flow_classes);
        let flow_sets: Vec<Sets> = flow_keys.into_iter().map(|(sets, _)| sets).collect();
        Universe {
            candidates: [
                n_user_candidates,
                n_target_candidates,
                DevicePlatform::ALL.len(),
                ClientAppType::ALL.len(),
                n_place_candidates,
                n_device_candidates,
                RiskLevel::ALL.len(),
                RiskLevel::ALL.len(),
                InsiderRiskLevel::ALL.len(),
                flow_values.len(),
                session_values.len(),
            ],
            tenants,
            users,
            targets,
            target_kinds,
            platforms,
            clients,
            locations,
            devices,
            sign_in_risks,
            user_risks,
            insider_risks,
            flows,
            sessions,
            base: base_sets,
            user_sets,
            user_grant,
            target_sets,
            platform_client_sets,
            device_client_sets,
            undevice_client_sets,
            location_sets,
            sign_in_risk_sets,
            user_risk_sets,
            insider_risk_sets,
            flow_sets,
            approximations,
            hypothetical_users: plan.entries.clone(),
            location_bound: place_note,
        }
    }

    /// Compiles another tenant with the hypothetical users added, as the universe's tenants
    /// are (`diff`'s variants, whose policies are all policies of the universe's tenants).
    pub(crate) fn compile_variant(&self, t: &Tenant) -> CompiledTenant {
        let mut t = t.clone();
        t.directory
            .users
            .extend(self.hypothetical_users.iter().cloned());
        CompiledTenant::compile(t)
    }

    /// Number of classes per dimension, in [`DIMENSIONS`] order.
    pub(crate) fn class_counts(&self) -> [usize; 11] {
        [
            self.users.len(),
            self.targets.len(),
            self.platforms.len(),
            self.clients.len(),
            self.locations.len(),
            self.devices.len(),
            self.sign_in_risks.len(),
            self.user_risks.len(),
            self.insider_risks.len(),
            self.flows.len(),
            self.sessions.len(),
        ]
    }

    /// The radix of the inner dimensions (everything but users and targets).
    pub(crate) fn radix(&self) -> Radix {
        let c = self.class_counts();
        Radix::new([c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10]])
    }

    /// Total number of classes (product of every dimension).
    pub(crate) fn total_classes(&self) -> u128 {
        self.class_counts()
            .iter()
            .map(|c| *c as u128)
            .product::<u128>()
    }

    /// The representative sign-in of one combination of classes.
    pub(crate) fn signin(&self, user: usize, target: usize, t: &Tuple) -> Option<SignIn> {
        let persona = &self.users.get(user)?.value;
        let target = &self.targets.get(target)?.value;
        let place = &self.locations.get(usize::from(t[2]))?.value;
        let session = self.sessions.get(usize::from(t[8]))?.value;
        let mut s = base_signin(persona, target, place, session);
        s.device_platform = Some(self.platforms.get(usize::from(t[0]))?.value);
        s.client_app_type = Some(self.clients.get(usize::from(t[1]))?.value);
        s.device = self.devices.get(usize::from(t[3]))?.value.clone();
        s.sign_in_risk = Some(self.sign_in_risks.get(usize::from(t[4]))?.value);
        s.user_risk = Some(self.user_risks.get(usize::from(t[5]))?.value);
        s.insider_risk = Some(self.insider_risks.get(usize::from(t[6]))?.value);
        s.transfer_method = self.flows.get(usize::from(t[7]))?.value;
        Some(s)
    }

    /// The policies whose conditions of the inner dimensions other than the location hold
    /// for a tuple (with the conditions outside every dimension).
    pub(crate) fn rest_sets(&self, t: &Tuple) -> Sets {
        let nc = self.clients.len();
        let (p, c, d) = (usize::from(t[0]), usize::from(t[1]), usize::from(t[3]));
        let transferred = self
            .flows
            .get(usize::from(t[7]))
            .is_some_and(|f| f.value.is_some());
        let mut m = self.base;
        for s in [
            self.platform_client_sets.get(p * nc + c),
            if transferred {
                self.undevice_client_sets.get(c)
            } else {
                self.device_client_sets.get(d * nc + c)
            },
            self.sign_in_risk_sets.get(usize::from(t[4])),
            self.user_risk_sets.get(usize::from(t[5])),
            self.insider_risk_sets.get(usize::from(t[6])),
            self.flow_sets.get(usize::from(t[7])),
        ]
        .into_iter()
        .flatten()
        {
            m = and(&m, s);
        }
        m
    }
}

fn unzip_classes<K, V>(v: Vec<(K, Class<V>)>) -> (Vec<K>, Vec<Class<V>>) {
    v.into_iter().unzip()
}

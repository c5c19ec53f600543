//! Compiling a [`Tenant`] into the form the evaluator reads: dense ids, transitive group
//! closure, the IP interval index, country tables and per-policy compiled conditions.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::eval::grant::GrantPlan;
use crate::eval::memo::Memo;
use crate::explain::ActionMemo;
use crate::ids::{
    ADMIN_PORTAL_APPS, COMPLIANT_NETWORK_LOCATION, MFA_TRUSTED_IPS_LOCATION, OFFICE365_APPS,
    STRENGTH_MFA, STRENGTH_PASSWORDLESS, STRENGTH_PHISHING_RESISTANT,
};
use crate::model::directory::{AgentPrincipal, parse_combination};
use crate::model::enums::{AuthMethod, AuthMethods, ExternalUserType};
use crate::model::location::LocationKind;
use crate::model::policy::{LocationToken, Policy, PolicyState};
use crate::model::tenant::Tenant;
use crate::network::{IpIndex, IpIndexBuilder, LocationSet};

/// Bit of the MFA trusted IPs pseudo-location in every [`LocationSet`].
pub const MFA_TRUSTED_IPS_BIT: u8 = 0;
/// Bit of the compliant-network pseudo-location.
pub const COMPLIANT_NETWORK_BIT: u8 = 1;
/// First bit used by named locations.
const FIRST_NAMED_BIT: u8 = 2;

/// A directory user with its transitive group closure resolved.
#[derive(Debug, Clone)]
pub struct CompiledUser {
    /// Index in `tenant.directory.users`.
    pub index: usize,
    /// Dense ids of every group the user is in, directly or through nesting (sorted).
    pub groups: Vec<u32>,
    /// Kind of guest / external user, `None` for members.
    pub kind: Option<ExternalUserType>,
    /// An agent's user account (`agentUser`).
    pub agent_user: bool,
}

/// Compiled location condition: bitsets over named locations.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompiledLocations {
    /// `All` included.
    pub include_all: bool,
    /// `AllTrusted` included.
    pub include_trusted: bool,
    /// Included named locations.
    pub include: LocationSet,
    /// `AllTrusted` excluded.
    pub exclude_trusted: bool,
    /// Excluded named locations.
    pub exclude: LocationSet,
    /// `include`, plus the trusted locations when `AllTrusted` is included: with every
    /// location input known, the request is in an included location exactly when it is in
    /// one of these.
    pub include_any: LocationSet,
    /// `exclude`, plus the trusted locations when `AllTrusted` is excluded.
    pub exclude_any: LocationSet,
}

/// Per-policy data resolved at compile time.
#[derive(Debug, Clone, Default)]
pub struct CompiledPolicy {
    /// Dense ids of included groups present in the directory.
    pub include_groups: Vec<u32>,
    /// Dense ids of excluded groups present in the directory.
    pub exclude_groups: Vec<u32>,
    /// Location condition as bitsets.
    pub locations: Option<CompiledLocations>,
    /// Index into [`CompiledTenant::strengths`] of the required authentication strength.
    pub strength: Option<usize>,
    /// The grant controls and sign-in frequency, as the grant phase reads them.
    pub grant: GrantPlan,
    /// The policy is in report-only mode.
    pub report_only: bool,
}

/// An authentication strength ready for matching ([`CompiledStrength::new`]).
#[derive(Debug, Clone)]
pub struct CompiledStrength {
    /// Id (normalised).
    pub id: Box<str>,
    /// Display name.
    pub display_name: String,
    /// Allowed combinations.
    pub combinations: Vec<AuthMethods>,
    /// The methods that are a combination on their own, as one set: a session with any of
    /// them satisfies the strength.
    singles: AuthMethods,
    /// The two-method combinations grouped by their lower method: that method, and the
    /// methods that complete it (the MFA strength's ten pairs are two groups).
    pairs: Vec<(AuthMethods, AuthMethods)>,
    /// The combinations of three or more methods.
    larger: Vec<AuthMethods>,
}

impl CompiledStrength {
    /// A strength allowing `combinations`.
    pub fn new(id: Box<str>, display_name: String, combinations: Vec<AuthMethods>) -> Self {
        let mut singles = AuthMethods(0);
        let mut pairs: Vec<(AuthMethods, AuthMethods)> = Vec::new();
        let mut larger = Vec::new();
        for c in &combinations {
            match c.0.count_ones() {
                0 => {}
                1 => singles.0 |= c.0,
                2 => {
                    let low = c.0 & c.0.wrapping_neg();
                    let high = c.0 ^ low;
                    match pairs.iter_mut().find(|(first, _)| first.0 == low) {
                        Some((_, seconds)) => seconds.0 |= high,
                        None => pairs.push((AuthMethods(low), AuthMethods(high))),
                    }
                }
                _ => larger.push(*c),
            }
        }
        CompiledStrength {
            id,
            display_name,
            combinations,
            singles,
            pairs,
            larger,
        }
    }

    /// Whether the methods of a session satisfy the strength: they cover one of its
    /// combinations (the single-method ones checked at once, the pairs a group at a time).
    #[inline]
    pub fn satisfied_by(&self, methods: AuthMethods) -> bool {
        let m = methods.0;
        m & self.singles.0 != 0
            || self
                .pairs
                .iter()
                .any(|(first, seconds)| m & first.0 != 0 && m & seconds.0 != 0)
            || self.larger.iter().any(|c| methods.covers(*c))
    }
}

/// A tenant compiled for evaluation. Immutable; build a new one to change policies.
#[derive(Debug, Clone)]
pub struct CompiledTenant {
    /// The tenant it was compiled from.
    pub tenant: Tenant,
    /// Per-policy compiled data, same order as `tenant.policies`.
    pub policies: Vec<CompiledPolicy>,
    /// Directory users by normalised id.
    pub user_index: FxHashMap<Box<str>, CompiledUser>,
    /// Directory users' object ids by lower-case `userPrincipalName` (`None`: several users
    /// share it), for identity sources that name users by UPN.
    pub principal_names: FxHashMap<Box<str>, Option<Box<str>>>,
    /// Dense group ids by normalised id.
    pub group_index: FxHashMap<Box<str>, u32>,
    /// Service principals by normalised object id → index in the directory.
    pub sp_index: FxHashMap<Box<str>, usize>,
    /// The named locations and MFA trusted IPs, compiled: bits, the IP index, the country
    /// tables.
    pub locations: LocationTables,
    /// Application ids of the `Office365` suite.
    pub office365: FxHashSet<Box<str>>,
    /// Application ids behind `MicrosoftAdminPortals`.
    pub admin_portals: FxHashSet<Box<str>>,
    /// Agent resources (`AllAgentIdResources`): the app ids and object ids of the directory's
    /// agent identities and blueprint principals, and the blueprints they name.
    pub agent_resources: FxHashSet<Box<str>>,
    /// Authentication strengths (built-in first, then custom and inline ones).
    pub strengths: Vec<CompiledStrength>,
    /// Policy masks memoised for the hot path.
    pub memo: Memo,
    /// User actions of recent explanations, by sign-in (a cache: starts empty, and empty
    /// again in a clone).
    pub explanations: ActionMemo,
}

/// The built-in authentication strengths (docs/reference/entra-semantics.md §1.12).
pub fn builtin_strengths() -> Vec<CompiledStrength> {
    use AuthMethod as M;
    let phishing = vec![
        AuthMethods::of(&[M::Fido2]),
        AuthMethods::of(&[M::WindowsHelloForBusiness]),
        AuthMethods::of(&[M::X509CertificateMultiFactor]),
    ];
    let mut passwordless = phishing.clone();
    passwordless.push(AuthMethods::of(&[M::DeviceBasedPush]));
    let mut mfa = passwordless.clone();
    mfa.push(AuthMethods::of(&[M::TemporaryAccessPassOneTime]));
    mfa.push(AuthMethods::of(&[M::TemporaryAccessPassMultiUse]));
    mfa.push(AuthMethods::of(&[M::FederatedMultiFactor]));
    for first in [M::Password, M::FederatedSingleFactor] {
        for second in [
            M::MicrosoftAuthenticatorPush,
            M::SoftwareOath,
            M::HardwareOath,
            M::Sms,
            M::Voice,
        ] {
            mfa.push(AuthMethods::of(&[first, second]));
        }
    }
    vec![
        CompiledStrength::new(
            STRENGTH_MFA.into(),
            "Multifactor authentication".into(),
            mfa,
        ),
        CompiledStrength::new(
            STRENGTH_PASSWORDLESS.into(),
            "Passwordless MFA".into(),
            passwordless,
        ),
        CompiledStrength::new(
            STRENGTH_PHISHING_RESISTANT.into(),
            "Phishing-resistant MFA".into(),
            phishing,
        ),
    ]
}

/// What compiling the named locations and MFA trusted IPs gives: bits, the IP index, the
/// country tables ([`CompiledTenant::locations`]).
#[derive(Debug, Clone)]
pub struct LocationTables {
    /// Location bit of each named location, by normalised id.
    pub location_bits: FxHashMap<Box<str>, u8>,
    /// Index in `tenant.named_locations` of each bit (`None` for pseudo-locations).
    pub bit_locations: Vec<Option<usize>>,
    /// IP ranges → named locations (including MFA trusted IPs).
    pub ip_index: IpIndex,
    /// Country code → country locations containing it (IP lookup method).
    pub countries: FxHashMap<[u8; 2], LocationSet>,
    /// Country code → country locations using the Authenticator GPS lookup.
    pub gps_countries: FxHashMap<[u8; 2], LocationSet>,
    /// Country locations that include unknown countries (IP lookup).
    pub unknown_country: LocationSet,
    /// GPS country locations that include unknown countries.
    pub gps_unknown_country: LocationSet,
    /// Locations that count for `AllTrusted`.
    pub trusted: LocationSet,
    /// IP-based locations (need an IP address to decide).
    pub ip_based: LocationSet,
    /// Country locations using the IP lookup (need a country to decide).
    pub country_based: LocationSet,
    /// GPS country locations.
    pub gps_based: LocationSet,
}

impl LocationTables {
    /// Bits, IP index and country tables of a tenant's named locations and trusted IPs.
    fn build(tenant: &Tenant) -> LocationTables {
        let dir = &tenant.directory;
        let mut location_bits = FxHashMap::default();
        let mut bit_locations = vec![None, None];
        location_bits.insert(
            Box::<str>::from(MFA_TRUSTED_IPS_LOCATION),
            MFA_TRUSTED_IPS_BIT,
        );
        location_bits.insert(
            Box::<str>::from(COMPLIANT_NETWORK_LOCATION),
            COMPLIANT_NETWORK_BIT,
        );
        let mut builder = IpIndexBuilder::new();
        for cidr in &dir.mfa_trusted_ips {
            builder.add(cidr, MFA_TRUSTED_IPS_BIT);
        }
        let mut trusted = LocationSet::EMPTY;
        trusted.insert(MFA_TRUSTED_IPS_BIT);
        trusted.insert(COMPLIANT_NETWORK_BIT);
        let mut ip_based = LocationSet::EMPTY;
        ip_based.insert(MFA_TRUSTED_IPS_BIT);
        let mut countries: FxHashMap<[u8; 2], LocationSet> = FxHashMap::default();
        let mut gps_countries: FxHashMap<[u8; 2], LocationSet> = FxHashMap::default();
        let mut unknown_country = LocationSet::EMPTY;
        let mut gps_unknown_country = LocationSet::EMPTY;
        let mut country_based = LocationSet::EMPTY;
        let mut gps_based = LocationSet::EMPTY;
        let mut next_bit = FIRST_NAMED_BIT;
        for (i, l) in tenant.named_locations.iter().enumerate() {
            if l.id.as_ref() == COMPLIANT_NETWORK_LOCATION {
                bit_locations[COMPLIANT_NETWORK_BIT as usize] = Some(i);
                continue;
            }
            let bit = next_bit;
            next_bit = next_bit.saturating_add(1);
            location_bits.insert(l.id.clone(), bit);
            bit_locations.push(Some(i));
            if l.is_trusted() {
                trusted.insert(bit);
            }
            match &l.kind {
                LocationKind::Ip { ranges, .. } => {
                    ip_based.insert(bit);
                    for r in ranges {
                        builder.add(r, bit);
                    }
                }
                LocationKind::Country {
                    countries: list,
                    include_unknown,
                    gps,
                } => {
                    let (table, unknown, based) = if *gps {
                        (&mut gps_countries, &mut gps_unknown_country, &mut gps_based)
                    } else {
                        (&mut countries, &mut unknown_country, &mut country_based)
                    };
                    based.insert(bit);
                    for c in list {
                        table.entry(*c).or_insert(LocationSet::EMPTY).insert(bit);
                    }
                    if *include_unknown {
                        unknown.insert(bit);
                    }
                }
                LocationKind::CompliantNetwork => {
                    trusted.insert(bit);
                }
            }
        }
        let ip_index = builder.build();
        LocationTables {
            location_bits,
            bit_locations,
            ip_index,
            countries,
            gps_countries,
            unknown_country,
            gps_unknown_country,
            trusted,
            ip_based,
            country_based,
            gps_based,
        }
    }
}

/// How a user named by an identity source (a token claim, a trusted proxy's header) stands
/// in the directory: policies target object ids, so a user principal name must become the
/// user's id before evaluation, or group, role and user conditions would miss the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserLookup<'a> {
    /// The text is a directory user's object id (or the directory lists no users: nothing
    /// to resolve against).
    Id,
    /// The text is the `userPrincipalName` of exactly one directory user: this id.
    PrincipalName(&'a str),
    /// The text is the `userPrincipalName` of several directory users.
    Ambiguous,
    /// The directory lists users and none has this id or principal name.
    Unknown,
}

impl CompiledTenant {
    /// Where `user` (as an identity source gave it) stands in the directory.
    pub fn lookup_user(&self, user: &str) -> UserLookup<'_> {
        if self.user_index.is_empty() {
            return UserLookup::Id;
        }
        let user = user.trim();
        if self
            .user_index
            .contains_key(&*crate::ids::normalize_id(user))
        {
            return UserLookup::Id;
        }
        match self.principal_names.get(&*user.to_lowercase()) {
            Some(Some(id)) => UserLookup::PrincipalName(id),
            Some(None) => UserLookup::Ambiguous,
            None => UserLookup::Unknown,
        }
    }
}

impl CompiledTenant {
    /// Compiles a loaded tenant. Infallible: everything that can fail was checked at load.
    pub fn compile(tenant: Tenant) -> CompiledTenant {
        let locations = LocationTables::build(&tenant);
        Self::compile_with(tenant, locations)
    }

    /// Compiles `tenant` like [`CompiledTenant::compile`], reusing the location tables of
    /// `like` when both tenants have the same named locations and MFA trusted IPs (the IP
    /// index over hundreds of thousands of ranges is most of the cost of compiling): the
    /// same tenant with another directory, another policy state. Otherwise the tables are
    /// built again. The result is the same as `compile(tenant)` either way.
    pub fn compile_like(tenant: Tenant, like: &CompiledTenant) -> CompiledTenant {
        let same = tenant.named_locations == like.tenant.named_locations
            && tenant.directory.mfa_trusted_ips == like.tenant.directory.mfa_trusted_ips;
        let locations = if same {
            like.locations.clone()
        } else {
            LocationTables::build(&tenant)
        };
        Self::compile_with(tenant, locations)
    }

    fn compile_with(tenant: Tenant, locations: LocationTables) -> CompiledTenant {
        let dir = &tenant.directory;

        // Groups: dense ids and transitive closure (cycles tolerated).
        let mut group_index: FxHashMap<Box<str>, u32> = FxHashMap::default();
        let intern = |id: &str, index: &mut FxHashMap<Box<str>, u32>| -> u32 {
            let next = u32::try_from(index.len()).unwrap_or(u32::MAX);
            *index.entry(id.into()).or_insert(next)
        };
        for g in &dir.groups {
            intern(&g.id, &mut group_index);
        }
        for u in &dir.users {
            for g in &u.member_of {
                intern(g, &mut group_index);
            }
        }
        for g in &dir.groups {
            for p in &g.member_of {
                intern(p, &mut group_index);
            }
        }
        let mut parents: Vec<Vec<u32>> = vec![Vec::new(); group_index.len()];
        for g in &dir.groups {
            if let Some(&gi) = group_index.get(&g.id) {
                for p in &g.member_of {
                    if let (Some(&pi), Some(slot)) =
                        (group_index.get(p), parents.get_mut(gi as usize))
                    {
                        slot.push(pi);
                    }
                }
            }
        }
        let mut user_index = FxHashMap::default();
        for (index, u) in dir.users.iter().enumerate() {
            let mut seen = FxHashSet::default();
            let mut stack: Vec<u32> = u
                .member_of
                .iter()
                .filter_map(|g| group_index.get(g).copied())
                .collect();
            while let Some(g) = stack.pop() {
                if seen.insert(g)
                    && let Some(ps) = parents.get(g as usize)
                {
                    stack.extend(ps.iter().copied());
                }
            }
            let mut groups: Vec<u32> = seen.into_iter().collect();
            groups.sort_unstable();
            let kind = match (u.external_user_type, u.is_guest) {
                (Some(k), _) => Some(k),
                (None, true) => Some(ExternalUserType::B2bCollaborationGuest),
                (None, false) => None,
            };
            user_index.insert(
                u.id.clone(),
                CompiledUser {
                    index,
                    groups,
                    kind,
                    agent_user: u.agent_user,
                },
            );
        }
        let mut principal_names: FxHashMap<Box<str>, Option<Box<str>>> = FxHashMap::default();
        for u in &dir.users {
            let upn = u.user_principal_name.trim();
            if upn.is_empty() {
                continue;
            }
            principal_names
                .entry(upn.to_lowercase().into_boxed_str())
                .and_modify(|id| *id = None)
                .or_insert_with(|| Some(u.id.clone()));
        }
        let sp_index = dir
            .service_principals
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();

        // Strengths.
        let mut strengths = builtin_strengths();
        for s in &dir.authentication_strengths {
            strengths.push(CompiledStrength::new(
                s.id.clone(),
                s.display_name.clone(),
                s.combinations.clone(),
            ));
        }

        let office365 = OFFICE365_APPS
            .iter()
            .map(|a| Box::<str>::from(*a))
            .chain(dir.office365_app_ids.iter().cloned())
            .collect();
        let admin_portals = ADMIN_PORTAL_APPS
            .iter()
            .map(|a| Box::<str>::from(*a))
            .chain(dir.admin_portal_app_ids.iter().cloned())
            .collect();

        let mut agent_resources = FxHashSet::default();
        for s in dir.service_principals.iter().filter(|s| s.agent.is_some()) {
            agent_resources.insert(s.id.clone());
            agent_resources.extend(s.app_id.clone());
            if let Some(AgentPrincipal::Identity { blueprint: Some(b) }) = &s.agent {
                agent_resources.insert(b.clone());
            }
        }

        let mut compiled = CompiledTenant {
            policies: Vec::new(),
            user_index,
            principal_names,
            group_index,
            sp_index,
            locations,
            office365,
            admin_portals,
            agent_resources,
            strengths,
            memo: Memo::default(),
            explanations: ActionMemo::default(),
            tenant: Tenant::default(),
        };
        let policies: Vec<CompiledPolicy> = tenant
            .policies
            .iter()
            .map(|p| compiled.compile_policy(p))
            .collect();
        compiled.policies = policies;
        compiled.tenant = tenant;
        compiled.memo = Memo::build(&compiled);
        compiled
    }

    fn compile_policy(&mut self, p: &Policy) -> CompiledPolicy {
        let dense = |ids: &[Box<str>], index: &FxHashMap<Box<str>, u32>| -> Vec<u32> {
            let mut v: Vec<u32> = ids.iter().filter_map(|g| index.get(g).copied()).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let (include_groups, exclude_groups) = match &p.conditions.users {
            Some(u) => (
                dense(&u.include.groups, &self.group_index),
                dense(&u.exclude.groups, &self.group_index),
            ),
            None => (Vec::new(), Vec::new()),
        };
        let locations = p.conditions.locations.as_ref().map(|l| {
            let mut c = CompiledLocations::default();
            for t in &l.include {
                match t {
                    LocationToken::All => c.include_all = true,
                    LocationToken::AllTrusted => c.include_trusted = true,
                    LocationToken::Id(id) => {
                        if let Some(bit) = self.locations.location_bits.get(id) {
                            c.include.insert(*bit);
                        }
                    }
                }
            }
            for t in &l.exclude {
                match t {
                    LocationToken::All => {}
                    LocationToken::AllTrusted => c.exclude_trusted = true,
                    LocationToken::Id(id) => {
                        if let Some(bit) = self.locations.location_bits.get(id) {
                            c.exclude.insert(*bit);
                        }
                    }
                }
            }
            let trusted = self.locations.trusted;
            let with_trusted = |set: LocationSet, yes: bool| {
                if yes { set.union(trusted) } else { set }
            };
            c.include_any = with_trusted(c.include, c.include_trusted);
            c.exclude_any = with_trusted(c.exclude, c.exclude_trusted);
            c
        });
        let strength = p
            .grant
            .as_ref()
            .and_then(|g| g.authentication_strength.as_ref())
            .map(|s| {
                if let Some(i) = self.strengths.iter().position(|x| x.id == s.id) {
                    return i;
                }
                let (name, combos) = s.inline.clone().unwrap_or_default();
                let combinations = combos
                    .iter()
                    .filter_map(|c| parse_combination(c).ok())
                    .collect();
                self.strengths
                    .push(CompiledStrength::new(s.id.clone(), name, combinations));
                self.strengths.len() - 1
            });
        CompiledPolicy {
            include_groups,
            exclude_groups,
            locations,
            strength,
            grant: GrantPlan::of(p),
            report_only: p.state == PolicyState::ReportOnly,
        }
    }

    /// The display name of the location behind a bit, for explanations.
    pub fn location_name(&self, bit: u8) -> String {
        match bit {
            MFA_TRUSTED_IPS_BIT => "MFA trusted IPs".to_owned(),
            COMPLIANT_NETWORK_BIT => "All Compliant Network locations".to_owned(),
            _ => self
                .locations
                .bit_locations
                .get(bit as usize)
                .copied()
                .flatten()
                .and_then(|i| self.tenant.named_locations.get(i))
                .map(|l| {
                    if l.display_name.is_empty() {
                        l.id.to_string()
                    } else {
                        l.display_name.clone()
                    }
                })
                .unwrap_or_else(|| format!("location #{bit}")),
        }
    }
}

#[cfg(test)]
mod strength_tests {
    use super::{CompiledStrength, builtin_strengths};
    use crate::model::enums::{AuthMethod, AuthMethods};

    /// `satisfied_by` (single-method combinations as one set, pairs grouped by their lower
    /// method, the others one by one) agrees
    /// with "covers one of the combinations" for every strength and session: each method
    /// alone, every pair, and pseudo-random sets.
    #[test]
    fn satisfied_by_agrees_with_the_combinations() {
        let mut strengths = builtin_strengths();
        strengths.push(CompiledStrength::new(
            "custom".into(),
            "custom".into(),
            vec![
                AuthMethods(0),
                AuthMethods::of(&[AuthMethod::Sms]),
                AuthMethods::of(&[AuthMethod::Password, AuthMethod::Voice]),
                AuthMethods::of(&[AuthMethod::Password, AuthMethod::Fido2]),
                AuthMethods::of(&[AuthMethod::Sms, AuthMethod::Fido2]),
                AuthMethods::of(&[
                    AuthMethod::Email,
                    AuthMethod::Voice,
                    AuthMethod::HardwareOath,
                ]),
            ],
        ));
        strengths.push(CompiledStrength::new("none".into(), "none".into(), vec![]));
        let n = AuthMethod::ALL.len();
        let all = if n >= 32 { u32::MAX } else { (1u32 << n) - 1 };
        let mut sessions = vec![0u32, all];
        for a in 0..n {
            for b in a..n {
                sessions.push(1 << a | 1 << b);
            }
        }
        let mut x = 0x9e37_79b9_u32;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            sessions.push(x & all);
        }
        let mut met = 0;
        for st in &strengths {
            for m in &sessions {
                let naive = st.combinations.iter().any(|c| AuthMethods(*m).covers(*c));
                assert_eq!(st.satisfied_by(AuthMethods(*m)), naive, "{} {m:#x}", st.id);
                met += usize::from(naive);
            }
        }
        assert!(met > 1000, "{met}");
    }
}

#[cfg(test)]
mod compile_like_tests {
    use super::CompiledTenant;
    use crate::model::directory::DirectoryUser;
    use crate::model::enums::ClientAppType;
    use crate::signin::{SignIn, Target};
    use crate::{SourceFile, Tenant, TenantSource};

    fn load(ranges: &[&str]) -> Option<Tenant> {
        let ranges: Vec<_> = ranges
            .iter()
            .map(|r| serde_json::json!({"cidrAddress": r}))
            .collect();
        let tenant = serde_json::json!({
            "policies": [{"id": "p", "displayName": "Block outside HQ", "state": "enabled",
                "conditions": {"users": {"includeUsers": ["All"]},
                               "applications": {"includeApplications": ["All"]},
                               "clientAppTypes": ["all"],
                               "locations": {"includeLocations": ["All"],
                                             "excludeLocations": ["AllTrusted"]}},
                "grantControls": {"operator": "OR", "builtInControls": ["block"]}}],
            "namedLocations": [{"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "hq",
                "displayName": "HQ", "isTrusted": true, "ipRanges": ranges}],
            "directory": {"users": [{"id": "alice"}]}});
        let source = TenantSource {
            combined: Some(SourceFile::new("t.json", serde_json::to_vec(&tenant).ok()?)),
            ..TenantSource::default()
        };
        Tenant::load(&source).ok()
    }

    fn decisions(t: &CompiledTenant, user: &str) -> Vec<&'static str> {
        ["198.51.100.7", "203.0.113.7"]
            .iter()
            .map(|ip| {
                let mut s = SignIn::user(user, &[]);
                s.target = Target::Applications(vec!["app".into()]);
                s.client_app_type = Some(ClientAppType::Browser);
                s.ip_address = ip.parse().ok();
                t.decide(&s).decision.as_str()
            })
            .collect()
    }

    /// Reusing the location tables of a tenant with the same named locations gives the
    /// tenant `compile` gives; with other named locations, the tables are built again.
    #[test]
    fn compile_like_reuses_only_identical_location_tables() {
        let (Some(a), Some(b)) = (load(&["198.51.100.0/24"]), load(&["203.0.113.0/24"])) else {
            unreachable!("the fixtures load")
        };
        let first = CompiledTenant::compile(a.clone());
        let mut more = a;
        more.directory.users.push(DirectoryUser {
            id: "bob".into(),
            user_principal_name: "bob@example.com".to_owned(),
            display_name: None,
            is_guest: false,
            external_user_type: None,
            home_tenant_id: None,
            member_of: Vec::new(),
            roles: Vec::new(),
            agent_user: false,
        });
        let like = CompiledTenant::compile_like(more.clone(), &first);
        let fresh = CompiledTenant::compile(more);
        assert_eq!(decisions(&like, "bob"), decisions(&fresh, "bob"));
        assert_eq!(decisions(&like, "bob"), ["allow", "deny"]);
        assert_eq!(like.user_index.len(), 2);
        let other = CompiledTenant::compile_like(b, &first);
        assert_eq!(decisions(&other, "alice"), ["deny", "allow"]);
    }
}

#[cfg(test)]
#[allow(clippy::panic, reason = "test failures report through panics")]
mod tests {
    use super::UserLookup;
    use crate::testing::compile;
    use serde_json::json;

    #[test]
    fn identity_sources_naming_users_by_principal_name_resolve_to_their_ids() {
        let t = compile(&json!({
            "policies": [],
            "directory": {"users": [
                {"id": "U-1", "userPrincipalName": "Jan@Contoso.nl"},
                {"id": "u-2", "userPrincipalName": "shared@contoso.nl"},
                {"id": "u-3", "userPrincipalName": "SHARED@contoso.nl"}
            ]}
        }))
        .unwrap_or_else(|| panic!("tenant"));
        assert_eq!(t.lookup_user("u-1"), UserLookup::Id);
        assert_eq!(t.lookup_user(" U-1 "), UserLookup::Id);
        assert_eq!(
            t.lookup_user("jan@contoso.NL"),
            UserLookup::PrincipalName("u-1")
        );
        assert_eq!(t.lookup_user("shared@contoso.nl"), UserLookup::Ambiguous);
        assert_eq!(t.lookup_user("eve@contoso.nl"), UserLookup::Unknown);
        let empty = compile(&json!({"policies": []})).unwrap_or_else(|| panic!("tenant"));
        assert_eq!(empty.lookup_user("eve@contoso.nl"), UserLookup::Id);
    }
}

//! Policy masks memoised at compile time, so the hot path is a few AND operations.
//!
//! Nothing here re-implements a condition: every mask is the set of policies for which the
//! condition family's own check function says `Satisfied`, computed once per value of a
//! small domain (platform, client app type, risk levels, transfer methods) or per known id
//! (directory users, users and apps named by policies). Inputs outside what was memoised
//! (an unknown subject kind, baseline scopes, user actions, ...) fall back to calling the
//! same check functions per policy.

use super::input::{Input, Mode, Outcome};
use super::trace::NoTrace;
use super::{Condition, FirstFailure, PolicySet, Recorder};
use crate::compile::{CompiledTenant, CompiledUser};
use crate::ids::{AZURE_AD_GRAPH_APP, IdTable, normalize_id};
use crate::model::enums::{
    ClientAppType, DevicePlatform, InsiderRiskLevel, RiskLevel, TransferMethod,
};
use crate::model::policy::PolicyState;
use crate::signin::{SignIn, Subject, Target};

/// A set of condition families, to evaluate only some of a policy's conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Families(u16);

impl Families {
    /// Users or workload identities.
    pub const IDENTITY: Families = Families(1);
    /// Resources, user actions, authentication contexts.
    pub const TARGET: Families = Families(1 << 1);
    /// Device platforms.
    pub const PLATFORM: Families = Families(1 << 2);
    /// Device filter and device states.
    pub const DEVICES: Families = Families(1 << 3);
    /// Client app types.
    pub const CLIENT: Families = Families(1 << 4);
    /// Locations.
    pub const LOCATION: Families = Families(1 << 5);
    /// Sign-in risk.
    pub const SIGN_IN_RISK: Families = Families(1 << 6);
    /// User risk.
    pub const USER_RISK: Families = Families(1 << 7);
    /// Service principal risk.
    pub const SP_RISK: Families = Families(1 << 8);
    /// Insider risk.
    pub const INSIDER_RISK: Families = Families(1 << 9);
    /// Authentication flows.
    pub const FLOWS: Families = Families(1 << 10);
    /// Agent risk.
    pub const AGENT_RISK: Families = Families(1 << 11);
    /// Every family.
    pub const ALL: Families = Families(u16::MAX);
    /// The families the hot path evaluates per policy (not memoised).
    pub const RUNTIME: Families = Families(Self::DEVICES.0 | Self::LOCATION.0);

    /// The family of a condition.
    pub fn of(c: Condition) -> Families {
        match c {
            Condition::Users
            | Condition::WorkloadIdentities
            | Condition::AgentIdentities
            | Condition::AgentUsers => Self::IDENTITY,
            Condition::Application | Condition::UserActions | Condition::AuthenticationContext => {
                Self::TARGET
            }
            Condition::DevicePlatform => Self::PLATFORM,
            Condition::Devices => Self::DEVICES,
            Condition::ClientApps => Self::CLIENT,
            Condition::Location => Self::LOCATION,
            Condition::SignInRisk => Self::SIGN_IN_RISK,
            Condition::UserRisk => Self::USER_RISK,
            Condition::ServicePrincipalRisk => Self::SP_RISK,
            Condition::InsiderRisk => Self::INSIDER_RISK,
            Condition::AuthenticationFlow => Self::FLOWS,
            Condition::AgentIdRisk => Self::AGENT_RISK,
        }
    }

    /// Number of families (bits of [`Families::ALL`] that name one).
    pub(crate) const COUNT: usize = 12;

    /// The family of slot `slot` (its bit), `0 <= slot <` [`Families::COUNT`].
    #[inline]
    pub(crate) const fn slot(slot: usize) -> Families {
        Families(1 << slot)
    }

    /// No family.
    pub(crate) const NONE: Families = Families(0);

    /// Both sets' families.
    #[inline]
    pub(crate) const fn with(self, other: Families) -> Families {
        Families(self.0 | other.0)
    }

    /// Whether no family is in the set.
    #[inline]
    pub(crate) const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The families of `self` that are not in `other`.
    pub const fn without(self, other: Families) -> Families {
        Families(self.0 & !other.0)
    }

    /// Whether every family of `other` is in `self`.
    #[inline]
    pub fn contains(self, other: Families) -> bool {
        self.0 & other.0 == other.0
    }
}

const PLATFORMS: usize = DevicePlatform::ALL.len();
const CLIENTS: usize = ClientAppType::ALL.len();
const LEVELS: usize = RiskLevel::ALL.len();
const INSIDER: usize = InsiderRiskLevel::ALL.len();
/// `None` plus each transfer method.
const FLOW_SLOTS: usize = TransferMethod::ALL.len() + 1;

fn flow_slot(m: Option<TransferMethod>) -> usize {
    m.map_or(0, |m| m.index() + 1)
}

/// Per-family outcomes the memo knows for one sign-in ([`Memo::known`]), by family bit.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Known {
    sets: [Option<PolicySet>; 12],
}

impl Known {
    /// The policies whose condition of the family in slot `slot` holds, when known.
    #[inline]
    pub(crate) fn set(&self, slot: usize) -> Option<&PolicySet> {
        self.sets.get(slot).and_then(Option::as_ref)
    }

    /// The outcome of a policy's condition of family `f`, when known.
    #[inline]
    pub(crate) fn outcome(&self, f: Families, index: usize) -> Option<Outcome> {
        let slot = f.0.trailing_zeros() as usize;
        self.sets
            .get(slot)
            .copied()
            .flatten()
            .map(|set| Outcome::of(set.contains(index)))
    }
}

/// The families a policy's conditions belong to, from the evaluator's own walk of the policy
/// with every outcome given as known: no check runs. Which conditions a policy has does not
/// depend on the sign-in (the identity and target steps are always one condition each, of
/// families [`Families::IDENTITY`] and [`Families::TARGET`]).
struct Shape(Families);

impl Recorder for Shape {
    type T = NoTrace;
    #[inline]
    fn known(&self, _family: Families, _index: usize) -> Option<Outcome> {
        Some(Outcome::Satisfied)
    }
    fn record(&mut self, condition: Condition, _outcome: Outcome, _notes: NoTrace) -> bool {
        self.0 = self.0.with(Families::of(condition));
        true
    }
}

/// What the memo knows of a user id: a directory user or a user a policy names.
#[derive(Debug, Clone)]
pub(crate) struct UserEntry {
    /// The policies whose identity condition holds for a member signing in with this id.
    pub(crate) identity: PolicySet,
    /// The directory entry (`CompiledTenant::user_index`'s), read by the same lookup.
    pub(crate) directory: Option<CompiledUser>,
}

/// Memoised policy masks of a compiled tenant.
#[derive(Debug, Clone, Default)]
pub struct Memo {
    active: PolicySet,
    /// Active policies with a condition of the families the hot path checks per policy
    /// ([`Families::RUNTIME`]: a device filter, device states, locations). For the others,
    /// evaluating only those families is `Satisfied` without looking at the policy.
    runtime: PolicySet,
    /// Active policies with a session control: merging the others' (all off) changes
    /// nothing, so an allowed sign-in merges only these.
    session: PolicySet,
    /// Report-only policies: their grant state changes nothing in the verdict.
    report_only: PolicySet,
    /// By family slot, the active policies with a condition of that family (what the
    /// evaluator's walk of each policy reaches, [`Shape`]).
    configured: [PolicySet; Families::COUNT],
    platform: [PolicySet; PLATFORMS],
    client: [[PolicySet; PLATFORMS]; CLIENTS],
    sign_in_risk: [PolicySet; LEVELS],
    user_risk: [PolicySet; LEVELS],
    service_principal_risk: [PolicySet; LEVELS],
    insider_risk: [PolicySet; INSIDER],
    agent_risk: [PolicySet; LEVELS],
    flows: [[PolicySet; FLOW_SLOTS]; FLOW_SLOTS],
    users: IdTable<UserEntry>,
    unknown_user: PolicySet,
    apps: IdTable<PolicySet>,
    other_app: PolicySet,
}

impl Memo {
    /// Builds every mask by running the condition checks on synthetic sign-ins.
    pub(crate) fn build(tenant: &CompiledTenant) -> Memo {
        let policies = &tenant.tenant.policies;
        let mut active = PolicySet::default();
        for (i, p) in policies.iter().enumerate() {
            if p.state != PolicyState::Disabled {
                active.insert(i);
            }
        }
        let mask = |signin: &SignIn, families: Families| -> PolicySet {
            let input = Input::resolve(tenant, signin, Mode::Enforce);
            let mut set = PolicySet::default();
            for i in active.iter() {
                if let Some(p) = policies.get(i)
                    && tenant.policy_conditions(i, p, &input, families, &mut FirstFailure)
                        == Outcome::Satisfied
                {
                    set.insert(i);
                }
            }
            set
        };
        let base = SignIn::user("\u{0}memo-user", &["\u{0}memo-app"]);
        let with = |f: &dyn Fn(&mut SignIn)| {
            let mut s = base.clone();
            f(&mut s);
            s
        };
        let mut runtime = PolicySet::default();
        for i in active.iter() {
            if let (Some(p), Some(c)) = (policies.get(i), tenant.policies.get(i)) {
                let d = &p.conditions;
                if d.device_filter.is_some() || d.device_states.is_some() || c.locations.is_some() {
                    runtime.insert(i);
                }
            }
        }
        let mut session = PolicySet::default();
        for i in active.iter() {
            if policies
                .get(i)
                .is_some_and(|p| p.session != crate::model::policy::SessionControls::default())
            {
                session.insert(i);
            }
        }
        let mut report_only = PolicySet::default();
        for i in active.iter() {
            if policies
                .get(i)
                .is_some_and(|p| p.state == PolicyState::ReportOnly)
            {
                report_only.insert(i);
            }
        }
        let mut configured = [PolicySet::default(); Families::COUNT];
        let shape_input = Input::resolve(tenant, &base, Mode::Enforce);
        for i in active.iter() {
            if let Some(p) = policies.get(i) {
                let mut shape = Shape(Families::NONE);
                tenant.policy_conditions(i, p, &shape_input, Families::ALL, &mut shape);
                for (slot, set) in configured.iter_mut().enumerate() {
                    if shape.0.contains(Families::slot(slot)) {
                        set.insert(i);
                    }
                }
            }
        }
        let mut m = Memo {
            active,
            runtime,
            session,
            report_only,
            configured,
            ..Memo::default()
        };
        for p in DevicePlatform::ALL {
            m.platform[p.index()] =
                mask(&with(&|s| s.device_platform = Some(*p)), Families::PLATFORM);
            for c in ClientAppType::ALL {
                m.client[c.index()][p.index()] = mask(
                    &with(&|s| {
                        s.device_platform = Some(*p);
                        s.client_app_type = Some(*c);
                    }),
                    Families::CLIENT,
                );
            }
        }
        for l in RiskLevel::ALL {
            m.sign_in_risk[l.index()] = mask(
                &with(&|s| s.sign_in_risk = Some(*l)),
                Families::SIGN_IN_RISK,
            );
            m.user_risk[l.index()] = mask(&with(&|s| s.user_risk = Some(*l)), Families::USER_RISK);
            m.service_principal_risk[l.index()] = mask(
                &with(&|s| s.service_principal_risk = Some(*l)),
                Families::SP_RISK,
            );
            m.agent_risk[l.index()] =
                mask(&with(&|s| s.agent_risk = Some(*l)), Families::AGENT_RISK);
        }
        for l in InsiderRiskLevel::ALL {
            m.insider_risk[l.index()] = mask(
                &with(&|s| s.insider_risk = Some(*l)),
                Families::INSIDER_RISK,
            );
        }
        let methods: Vec<Option<TransferMethod>> = std::iter::once(None)
            .chain(TransferMethod::ALL.iter().copied().map(Some))
            .collect();
        for current in &methods {
            for original in &methods {
                m.flows[flow_slot(*current)][flow_slot(*original)] = mask(
                    &with(&|s| {
                        s.transfer_method = *current;
                        s.session.original_transfer_method = *original;
                    }),
                    Families::FLOWS,
                );
            }
        }
        // Users: the directory, plus every user id a policy names.
        let mut user_ids: Vec<Box<str>> = tenant
            .tenant
            .directory
            .users
            .iter()
            .map(|u| u.id.clone())
            .collect();
        for p in policies {
            if let Some(u) = &p.conditions.users {
                user_ids.extend(u.include.users.iter().chain(&u.exclude.users).cloned());
            }
        }
        for id in user_ids {
            if m.users.contains_key(&id) {
                continue;
            }
            let set = mask(
                &with(&|s| {
                    s.subject = Subject::User {
                        id: id.clone(),
                        external_tenant_id: None,
                        external_user_type: None,
                    }
                }),
                Families::IDENTITY,
            );
            let directory = tenant.user_index.get(&id).cloned();
            m.users.insert(
                &id,
                UserEntry {
                    identity: set,
                    directory,
                },
            );
        }
        m.unknown_user = mask(&base, Families::IDENTITY);
        // Applications: every id a policy names, the suites, the directory's apps.
        let mut app_ids: Vec<Box<str>> = vec![normalize_id(AZURE_AD_GRAPH_APP)];
        for p in policies {
            let a = &p.conditions.applications;
            app_ids.extend(a.include.apps.iter().chain(&a.exclude.apps).cloned());
        }
        app_ids.extend(tenant.office365.iter().cloned());
        app_ids.extend(tenant.admin_portals.iter().cloned());
        app_ids.extend(
            tenant
                .tenant
                .directory
                .service_principals
                .iter()
                .filter_map(|s| s.app_id.clone()),
        );
        for id in app_ids {
            if m.apps.contains_key(&id) {
                continue;
            }
            let set = mask(
                &with(&|s| s.target = Target::Applications(vec![id.clone()])),
                Families::TARGET,
            );
            m.apps.insert(&id, set);
        }
        m.other_app = mask(&base, Families::TARGET);
        m
    }

    /// The active policies with a condition of the family in slot `slot`.
    #[inline]
    pub(crate) fn configured(&self, slot: usize) -> &PolicySet {
        static NONE: PolicySet = PolicySet([0; 8]);
        self.configured.get(slot).unwrap_or(&NONE)
    }

    /// Whether policy `index` has a condition of the [`Families::RUNTIME`] families; when
    /// it has none, evaluating only those families is `Satisfied`.
    #[inline]
    pub(crate) fn has_runtime_conditions(&self, index: usize) -> bool {
        self.runtime.contains(index)
    }

    /// Whether policy `index` is report-only.
    #[inline]
    pub(crate) fn is_report_only(&self, index: usize) -> bool {
        self.report_only.contains(index)
    }

    /// The active policies with a session control (the others' merge to nothing).
    #[inline]
    pub(crate) fn with_session(&self) -> &PolicySet {
        &self.session
    }

    /// The memo's entry for a user id (directory users and users policies name).
    #[inline]
    pub(crate) fn user(&self, id: &str) -> Option<&UserEntry> {
        self.users.get(id)
    }

    /// For each condition family, the policies whose condition of that family holds for this
    /// sign-in, where the memo knows it (`None`: the family must be checked per policy, e.g.
    /// device filters and locations, a guest, a what-if input left out). The traced
    /// evaluation reads outcomes from here instead of running the checks again.
    pub(crate) fn known(&self, input: &Input<'_>) -> Known {
        let s = input.signin;
        let enforce = input.mode == Mode::Enforce;
        let mut k = Known::default();
        if let Subject::User {
            external_tenant_id: None,
            external_user_type: None,
            ..
        } = &s.subject
        {
            k.sets[0] = Some(*input.identity.unwrap_or(&self.unknown_user));
        }
        if let Target::Applications(apps) = &s.target
            && s.session.requested_scopes.is_empty()
        {
            let mut any = PolicySet::default();
            for a in apps {
                any.unite(self.apps.get(a.as_ref()).unwrap_or(&self.other_app));
            }
            k.sets[1] = Some(any);
        }
        if let Some(platform) = input.platform {
            k.sets[2] = self.platform.get(platform.index()).copied();
            if let Some(client) = input.client_app_type {
                k.sets[4] = self
                    .client
                    .get(client.index())
                    .and_then(|row| row.get(platform.index()))
                    .copied();
            }
        }
        let level = |l: Option<RiskLevel>| match l {
            Some(l) => Some(l.index()),
            None if enforce => Some(RiskLevel::None.index()),
            None => None,
        };
        for (slot, sets, l) in [
            (6, &self.sign_in_risk, s.sign_in_risk),
            (7, &self.user_risk, s.user_risk),
            (8, &self.service_principal_risk, s.service_principal_risk),
        ] {
            if let Some(k_slot) = k.sets.get_mut(slot) {
                *k_slot = level(l).and_then(|i| sets.get(i)).copied();
            }
        }
        let insider = match s.insider_risk {
            Some(l) => Some(l.index()),
            None if enforce => Some(InsiderRiskLevel::None.index()),
            None => None,
        };
        k.sets[9] = insider.and_then(|i| self.insider_risk.get(i)).copied();
        k.sets[11] = level(s.agent_risk)
            .and_then(|i| self.agent_risk.get(i))
            .copied();
        if enforce || s.transfer_method.is_some() {
            k.sets[10] = self
                .flows
                .get(flow_slot(s.transfer_method))
                .and_then(|row| row.get(flow_slot(s.session.original_transfer_method)))
                .copied();
        }
        k
    }

    /// The policies whose memoised conditions hold for this sign-in; families that could not
    /// be memoised for it are checked per policy here.
    #[inline]
    pub(crate) fn candidates(&self, tenant: &CompiledTenant, input: &Input<'_>) -> PolicySet {
        let s = input.signin;
        let mut c = self.active;
        let mut slow = Families(0);
        match &s.subject {
            Subject::User {
                external_tenant_id: None,
                external_user_type: None,
                ..
            } => {
                c.intersect(input.identity.unwrap_or(&self.unknown_user));
            }
            _ => slow = Families(slow.0 | Families::IDENTITY.0),
        }
        match &s.target {
            Target::Applications(apps) if s.session.requested_scopes.is_empty() => {
                let mut any = PolicySet::default();
                for a in apps {
                    any.unite(self.apps.get(a.as_ref()).unwrap_or(&self.other_app));
                }
                c.intersect(&any);
            }
            _ => slow = Families(slow.0 | Families::TARGET.0),
        }
        let platform = input.platform.unwrap_or(DevicePlatform::Unknown).index();
        if let Some(set) = self.platform.get(platform) {
            c.intersect(set);
        }
        if let Some(client) = input.client_app_type
            && let Some(set) = self
                .client
                .get(client.index())
                .and_then(|row| row.get(platform))
        {
            c.intersect(set);
        }
        let level = |l: Option<RiskLevel>| l.unwrap_or(RiskLevel::None).index();
        for (sets, l) in [
            (&self.sign_in_risk, s.sign_in_risk),
            (&self.user_risk, s.user_risk),
            (&self.service_principal_risk, s.service_principal_risk),
            (&self.agent_risk, s.agent_risk),
        ] {
            if let Some(set) = sets.get(level(l)) {
                c.intersect(set);
            }
        }
        if let Some(set) = self
            .insider_risk
            .get(s.insider_risk.unwrap_or(InsiderRiskLevel::None).index())
        {
            c.intersect(set);
        }
        let flows = self
            .flows
            .get(flow_slot(s.transfer_method))
            .and_then(|row| row.get(flow_slot(s.session.original_transfer_method)));
        if let Some(set) = flows {
            c.intersect(set);
        }
        if slow.0 != 0 {
            let policies = &tenant.tenant.policies;
            let snapshot = c;
            for i in snapshot.iter() {
                let keep = policies.get(i).is_some_and(|p| {
                    tenant.policy_conditions(i, p, input, slow, &mut FirstFailure)
                        == Outcome::Satisfied
                });
                if !keep {
                    c.remove(i);
                }
            }
        }
        c
    }
}

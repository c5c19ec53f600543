//! The evaluator: which policies apply (docs/reference/entra-semantics.md §3.2), their grant state
//! (§3.3.1), how they combine into a decision (§3.3.2) and the session controls that result
//! (§3.3.3).
//!
//! [`CompiledTenant::decide`] is the hot path (no allocation, no trace);
//! [`CompiledTenant::evaluate`] runs the very same checks with a tracer and keeps a record
//! per policy; [`CompiledTenant::what_if`] runs the condition phase in what-if mode.

pub mod conditions;
pub mod grant;
pub mod input;
pub mod memo;
pub mod places;
pub mod session;
pub mod trace;

use crate::compile::CompiledTenant;
use crate::model::policy::{Policy, PolicyState, UserAction};
use crate::report::{AppliedEntryKey, LogFlags};
use crate::signin::{SignIn, Target};
use conditions::{agents, apps, client_apps, device, flows, locations, platforms, risk, users};
use grant::{Control, Controls, GrantState, grant_state};
use input::{Input, Mode, Outcome};
use memo::{Families, Known};
use session::MergedSession;
use trace::{NoTrace, Notes, Tracer};

/// A condition family, with its names in What If reasons and in sign-in log flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
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
    /// Device filter and device states.
    Devices,
    /// Client app types.
    ClientApps,
    /// Network locations.
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
    /// Agent identities signing in with their own identity (beta).
    AgentIdentities,
    /// Agents' user accounts (`AllAgentIdUsers`, beta).
    AgentUsers,
    /// Agent risk (`agentIdRiskLevels`, beta).
    AgentIdRisk,
}

impl Condition {
    /// Every condition family, in declaration order.
    pub const ALL: [Condition; 17] = [
        Condition::Users,
        Condition::WorkloadIdentities,
        Condition::Application,
        Condition::UserActions,
        Condition::AuthenticationContext,
        Condition::DevicePlatform,
        Condition::Devices,
        Condition::ClientApps,
        Condition::Location,
        Condition::SignInRisk,
        Condition::UserRisk,
        Condition::ServicePrincipalRisk,
        Condition::InsiderRisk,
        Condition::AuthenticationFlow,
        Condition::AgentIdentities,
        Condition::AgentUsers,
        Condition::AgentIdRisk,
    ];

    /// The `whatIfAnalysisReasons` member and its flag value.
    pub fn what_if_reason(self) -> (&'static str, u32) {
        match self {
            Condition::Users => ("users", 4),
            Condition::WorkloadIdentities | Condition::ServicePrincipalRisk => {
                ("workloadIdentities", 8)
            }
            Condition::Application => ("application", 16),
            Condition::UserActions => ("userActions", 32),
            Condition::AuthenticationContext => ("authenticationContext", 64),
            Condition::DevicePlatform => ("devicePlatform", 128),
            Condition::Devices => ("devices", 256),
            Condition::ClientApps => ("clientApps", 512),
            Condition::Location => ("location", 1024),
            Condition::SignInRisk => ("signInRisk", 2048),
            Condition::UserRisk => ("userRisk", 32768),
            Condition::InsiderRisk => ("insiderRisk", 131072),
            Condition::AuthenticationFlow => ("authenticationFlow", 262144),
            Condition::AgentIdRisk => ("agentIdRisk", 1048576),
            Condition::AgentIdentities | Condition::AgentUsers => ("agentIdentities", 2097152),
        }
    }

    /// The `conditionalAccessConditions` member and its flag value (sign-in log).
    pub fn log_flag(self) -> (&'static str, u32) {
        match self {
            Condition::Application | Condition::UserActions | Condition::AuthenticationContext => {
                ("application", 1)
            }
            Condition::Users => ("users", 2),
            Condition::DevicePlatform => ("devicePlatform", 4),
            Condition::Location => ("location", 8),
            Condition::ClientApps => ("clientType", 16),
            Condition::SignInRisk => ("signInRisk", 32),
            Condition::UserRisk => ("userRisk", 64),
            Condition::Devices => ("deviceState", 256),
            Condition::WorkloadIdentities => ("servicePrincipals", 8192),
            Condition::ServicePrincipalRisk => ("servicePrincipalRisk", 16384),
            Condition::AuthenticationFlow => ("authenticationFlows", 32768),
            Condition::InsiderRisk => ("insiderRisk", 65536),
            // Graph's log flags have no agent members: agent identities appear in service
            // principal sign-ins, agents' user accounts in user sign-ins (docs/semantics.md).
            Condition::AgentIdentities => ("servicePrincipals", 8192),
            Condition::AgentUsers => ("users", 2),
            Condition::AgentIdRisk => ("servicePrincipalRisk", 16384),
        }
    }
}

/// Every `whatIfAnalysisReasons` member Graph documents (v1.0, then the beta additions), its
/// flag value, and what gardien reports with it (docs/semantics.md "What If reasons").
///
/// v1.0: <https://learn.microsoft.com/graph/api/resources/whatifanalysisresult?view=graph-rest-1.0>;
/// beta adds `agentIdRisk` and `agentIdentities`:
/// <https://learn.microsoft.com/graph/api/resources/whatifanalysisresult?view=graph-rest-beta>.
pub const WHAT_IF_REASONS: [(&str, u32, WhatIfReasonUse); 23] = [
    ("notSet", 0, WhatIfReasonUse::Applies),
    ("notEnoughInformation", 1, WhatIfReasonUse::MissingInput),
    ("invalidCondition", 2, WhatIfReasonUse::NeverLoaded),
    ("users", 4, WhatIfReasonUse::Condition),
    ("workloadIdentities", 8, WhatIfReasonUse::Condition),
    ("application", 16, WhatIfReasonUse::Condition),
    ("userActions", 32, WhatIfReasonUse::Condition),
    ("authenticationContext", 64, WhatIfReasonUse::Condition),
    ("devicePlatform", 128, WhatIfReasonUse::Condition),
    ("devices", 256, WhatIfReasonUse::Condition),
    ("clientApps", 512, WhatIfReasonUse::Condition),
    ("location", 1024, WhatIfReasonUse::Condition),
    ("signInRisk", 2048, WhatIfReasonUse::Condition),
    ("emptyPolicy", 4096, WhatIfReasonUse::Undocumented),
    ("invalidPolicy", 8192, WhatIfReasonUse::NeverLoaded),
    ("policyNotEnabled", 16384, WhatIfReasonUse::Disabled),
    ("userRisk", 32768, WhatIfReasonUse::Condition),
    ("time", 65536, WhatIfReasonUse::NoSuchCondition),
    ("insiderRisk", 131072, WhatIfReasonUse::Condition),
    ("authenticationFlow", 262144, WhatIfReasonUse::Condition),
    (
        "unknownFutureValue",
        524288,
        WhatIfReasonUse::NoSuchCondition,
    ),
    ("agentIdRisk", 1048576, WhatIfReasonUse::Condition),
    ("agentIdentities", 2097152, WhatIfReasonUse::Condition),
];

/// How gardien uses a `whatIfAnalysisReasons` member ([`WHAT_IF_REASONS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhatIfReasonUse {
    /// The policy applies (`notSet`, alone).
    Applies,
    /// Added beside the unmet conditions when a condition needs an input the request lacks.
    MissingInput,
    /// A condition family that did not match ([`Condition::what_if_reason`]).
    Condition,
    /// A disabled policy (alone).
    Disabled,
    /// Invalid policies and conditions are refused when the tenant loads, so never reported.
    NeverLoaded,
    /// Graph does not say when it is given (`emptyPolicy`); gardien does not report it: a
    /// policy without controls is evaluated like any other (it applies and is satisfied).
    Undocumented,
    /// No condition of today's policies carries it (the retired `time` condition, the
    /// evolvable-enum sentinel).
    NoSuchCondition,
}

/// The result of one condition of one policy, for traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConditionRecord {
    /// Which condition.
    pub condition: Condition,
    /// Satisfied, not satisfied or undecidable.
    pub outcome: Outcome,
}

/// Most conditions one policy can have (identity, target, platform, device filter, device
/// states, client apps, location, three risks, insider risk, flows, agent risk).
pub const MAX_CONDITIONS: usize = 13;

/// The conditions of one policy in evaluation order, kept inline: a traced evaluation
/// allocates once for all its records, whatever the number of policies' conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConditionRecords {
    len: u8,
    items: [ConditionRecord; MAX_CONDITIONS],
}

impl Default for ConditionRecords {
    fn default() -> Self {
        ConditionRecords {
            len: 0,
            items: [ConditionRecord {
                condition: Condition::Users,
                outcome: Outcome::NotSatisfied,
            }; MAX_CONDITIONS],
        }
    }
}

impl ConditionRecords {
    /// Appends a condition (a policy never has more than [`MAX_CONDITIONS`]).
    pub fn push(&mut self, record: ConditionRecord) {
        if let Some(slot) = self.items.get_mut(usize::from(self.len)) {
            *slot = record;
            self.len += 1;
        }
    }
}

impl<'a> IntoIterator for &'a ConditionRecords {
    type Item = &'a ConditionRecord;
    type IntoIter = std::slice::Iter<'a, ConditionRecord>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl std::ops::Deref for ConditionRecords {
    type Target = [ConditionRecord];
    fn deref(&self) -> &[ConditionRecord] {
        self.items.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// Receives each condition's outcome; decides whether to keep evaluating.
pub(crate) trait Recorder {
    type T: Tracer + Default;
    /// Returns false to stop at this condition.
    fn record(&mut self, condition: Condition, outcome: Outcome, notes: Self::T) -> bool;
    /// The outcome of a condition family for a policy when it is already known (memo), so
    /// the check does not run.
    #[inline(always)]
    fn known(&self, _family: Families, _index: usize) -> Option<Outcome> {
        None
    }
}

/// Stops at the first unmet condition, records nothing.
pub(crate) struct FirstFailure;
impl Recorder for FirstFailure {
    type T = NoTrace;
    #[inline(always)]
    fn record(&mut self, _c: Condition, outcome: Outcome, _n: NoTrace) -> bool {
        outcome == Outcome::Satisfied
    }
}

/// Evaluates every configured condition and keeps each outcome (no text), reading the
/// outcomes the memo knows for this sign-in.
struct KeepAll<'k>(ConditionRecords, &'k Known);
impl Recorder for KeepAll<'_> {
    type T = NoTrace;
    #[inline]
    fn known(&self, family: Families, index: usize) -> Option<Outcome> {
        self.1.outcome(family, index)
    }
    #[inline]
    fn record(&mut self, condition: Condition, outcome: Outcome, _n: NoTrace) -> bool {
        self.0.push(ConditionRecord { condition, outcome });
        true
    }
}

/// Evaluates every configured condition and keeps the words of each.
#[derive(Default)]
struct KeepWords(Vec<String>);
impl Recorder for KeepWords {
    type T = Notes;
    fn record(&mut self, _c: Condition, _o: Outcome, mut notes: Notes) -> bool {
        self.0.push(notes.take());
        true
    }
}

/// The words behind one policy's record, built on demand ([`CompiledTenant::details`]):
/// why each condition came out as it did, and why the grant state is what it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyDetails {
    /// One text per entry of [`PolicyRecord::conditions`], same order.
    pub conditions: Vec<String>,
    /// Why the grant state is what it is (empty when the policy does not apply, or in
    /// what-if mode, where grant controls are not evaluated).
    pub grant: String,
}

/// Decision of a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Token issued.
    Allow,
    /// More is needed from the user (MFA, terms of use, ...).
    Challenge,
    /// Access denied.
    Deny,
}

impl Decision {
    /// Lower-case name (`allow`, `challenge`, `deny`).
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Challenge => "challenge",
            Decision::Deny => "deny",
        }
    }
}

/// A fixed-size set of policy indices (at most [`crate::model::tenant::MAX_POLICIES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PolicySet(pub [u64; 8]);

impl PolicySet {
    /// Keeps only the policies also in `other`.
    #[inline]
    pub fn intersect(&mut self, other: &PolicySet) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a &= *b;
        }
    }
    /// Removes a policy index.
    pub fn remove(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w &= !(1 << (i % 64));
        }
    }
    /// Adds the policies of `other`.
    #[inline]
    pub fn unite(&mut self, other: &PolicySet) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a |= *b;
        }
    }
    /// Adds a policy index.
    pub fn insert(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }
    /// Whether a policy index is in the set.
    pub fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    /// Number of policies in the set.
    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
    /// Indices in ascending order.
    #[inline]
    pub fn iter(&self) -> PolicySetIter<'_> {
        PolicySetIter {
            set: self,
            word: 0,
            bits: self.0[0],
        }
    }
}

/// The indices of a [`PolicySet`] in ascending order ([`PolicySet::iter`]): the set's words
/// one after the other, each word's bits lowest first.
#[derive(Debug, Clone)]
pub struct PolicySetIter<'a> {
    set: &'a PolicySet,
    /// The word `bits` comes from.
    word: usize,
    /// The bits of that word not visited yet.
    bits: u64,
}

impl Iterator for PolicySetIter<'_> {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.bits == 0 {
            self.word += 1;
            self.bits = *self.set.0.get(self.word)?;
        }
        let bit = self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        Some(self.word * 64 + bit)
    }
}

/// The outcome of an evaluation, with no allocation: what enforcement needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Allow, challenge or deny.
    pub decision: Decision,
    /// AADSTS code when denied.
    pub error_code: Option<u32>,
    /// Pending controls (challenge) or the failing ones (deny), canonical order.
    pub required: Controls,
    /// The policy that decided a deny or challenge (first in tenant order).
    pub deciding_policy: Option<usize>,
    /// Enforced (enabled) policies that apply.
    pub applied: PolicySet,
    /// Report-only policies that apply.
    pub report_only_applied: PolicySet,
    /// Session controls of the enforced applying policies, merged.
    pub session: MergedSession,
}

/// Per-policy result, as the sign-in log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyResult {
    /// Applied and satisfied.
    Success,
    /// Applied and not satisfied (blocked, failed or pending).
    Failure,
    /// Conditions not met.
    NotApplied,
    /// Disabled.
    NotEnabled,
    /// Report-only: would have been satisfied.
    ReportOnlySuccess,
    /// Report-only: would have failed (block, device state).
    ReportOnlyFailure,
    /// Report-only: conditions not met.
    ReportOnlyNotApplied,
    /// Report-only: would have required user interaction.
    ReportOnlyInterrupted,
}

impl PolicyResult {
    /// Graph spelling (`appliedConditionalAccessPolicyResult`).
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyResult::Success => "success",
            PolicyResult::Failure => "failure",
            PolicyResult::NotApplied => "notApplied",
            PolicyResult::NotEnabled => "notEnabled",
            PolicyResult::ReportOnlySuccess => "reportOnlySuccess",
            PolicyResult::ReportOnlyFailure => "reportOnlyFailure",
            PolicyResult::ReportOnlyNotApplied => "reportOnlyNotApplied",
            PolicyResult::ReportOnlyInterrupted => "reportOnlyInterrupted",
        }
    }
}

/// Everything known about one policy after a traced evaluation (outcomes only: the words
/// come from [`CompiledTenant::details`], for the policies that are shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyRecord {
    /// Index in tenant order.
    pub index: usize,
    /// Result as logged.
    pub result: PolicyResult,
    /// Whether the policy's conditions are met (`Unknown` only in what-if).
    pub applies: Outcome,
    /// Each evaluated condition, in evaluation order.
    pub conditions: ConditionRecords,
    /// Grant state when the policy applies.
    pub grant: Option<GrantState>,
}

/// A traced evaluation: the verdict plus one record per policy, in tenant order.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The decision.
    pub verdict: Verdict,
    /// Per-policy records.
    pub policies: Vec<PolicyRecord>,
}

impl CompiledTenant {
    /// Runs every condition of a policy in the canonical order; the recorder decides whether
    /// to stop at the first failure. Returns the conjunction.
    pub(crate) fn policy_conditions<R: Recorder>(
        &self,
        index: usize,
        policy: &Policy,
        input: &Input<'_>,
        only: Families,
        r: &mut R,
    ) -> Outcome {
        let c = &policy.conditions;
        let mut all = Outcome::Satisfied;
        macro_rules! step {
            ($cond:expr, |$t:ident| $body:expr) => {{
                if only.contains(Families::of($cond)) {
                    let mut $t = R::T::default();
                    let outcome: Outcome = match r.known(Families::of($cond), index) {
                        Some(known) => known,
                        None => $body,
                    };
                    all = all.and(outcome);
                    if !r.record($cond, outcome, $t) {
                        return all;
                    }
                }
            }};
        }
        // The condition each arm records is `identity_condition`'s (the mask-level view of
        // [`CompiledTenant::decide_entries`] reads the same function).
        let identity = identity_condition(input);
        match (&input.user, input.service_principal, &input.agent) {
            (Some(user), _, Some(_)) => step!(identity, |t| {
                agents::check_agent_user(policy, user, &mut t)
            }),
            (None, _, Some(agent)) => step!(identity, |t| {
                agents::check_agent_identity(policy, agent, &mut t)
            }),
            (Some(user), _, None) => step!(identity, |t| users::check_users(
                policy, index, user, input, &mut t
            )),
            (None, Some(sp), None) => step!(identity, |t| {
                users::check_workload(policy, sp, input, &mut t)
            }),
            (None, None, None) => step!(identity, |t| {
                let _ = &mut t;
                Outcome::NotSatisfied
            }),
        }
        step!(target_condition(input), |t| apps::check_target(
            policy, input, &mut t
        ));
        if let Some(p) = &c.platforms {
            step!(Condition::DevicePlatform, |t| platforms::check_platforms(
                p, input, &mut t
            ));
        }
        if let Some(f) = &c.device_filter {
            step!(Condition::Devices, |t| device::check_device_filter(
                f, input, &mut t
            ));
        }
        if let Some(s) = &c.device_states {
            step!(Condition::Devices, |t| device::check_device_states(
                s, input, &mut t
            ));
        }
        if !c.client_app_types.is_empty() {
            step!(Condition::ClientApps, |t| client_apps::check_client_apps(
                &c.client_app_types,
                input,
                &mut t
            ));
        }
        if let Some(l) = self.policies.get(index).and_then(|p| p.locations.as_ref()) {
            step!(Condition::Location, |t| locations::check_locations(
                l, input, &mut t
            ));
        }
        let s = input.signin;
        for (cond, levels, level, label) in [
            (
                Condition::SignInRisk,
                c.sign_in_risk,
                s.sign_in_risk,
                "sign-in risk",
            ),
            (Condition::UserRisk, c.user_risk, s.user_risk, "user risk"),
            (
                Condition::ServicePrincipalRisk,
                c.service_principal_risk,
                s.service_principal_risk,
                "service principal risk",
            ),
        ] {
            if !levels.is_empty() {
                step!(cond, |t| risk::check_risk(
                    levels, level, label, input, &mut t
                ));
            }
        }
        if let Some(levels) = c.insider_risk {
            step!(Condition::InsiderRisk, |t| risk::check_insider(
                levels, input, &mut t
            ));
        }
        if let Some(methods) = c.authentication_flows {
            step!(Condition::AuthenticationFlow, |t| flows::check_flows(
                methods, input, &mut t
            ));
        }
        if let Some(levels) = c.agent_id_risk {
            step!(Condition::AgentIdRisk, |t| agents::check_agent_risk(
                levels, input, &mut t
            ));
        }
        all
    }

    /// Whether a policy's conditions of the [`Families::RUNTIME`] families (device filter,
    /// device states, locations) hold: `policy_conditions` restricted to those families and
    /// stopping at the first failure, with the same checks, without walking the other
    /// families' steps.
    #[inline]
    fn runtime_conditions_hold(&self, index: usize, policy: &Policy, input: &Input<'_>) -> bool {
        let c = &policy.conditions;
        if let Some(f) = &c.device_filter
            && device::check_device_filter(f, input, &mut NoTrace) != Outcome::Satisfied
        {
            return false;
        }
        if let Some(s) = &c.device_states
            && device::check_device_states(s, input, &mut NoTrace) != Outcome::Satisfied
        {
            return false;
        }
        match self.policies.get(index).and_then(|p| p.locations.as_ref()) {
            Some(l) => locations::locations_hold(l, input),
            None => true,
        }
    }

    /// Decides a sign-in. The hot path: no allocation, no trace. Conditions over small or
    /// known domains come from masks memoised at compile time by the same check functions
    /// ([`memo`]); the rest (device filter, locations) run per remaining policy.
    pub fn decide(&self, signin: &SignIn) -> Verdict {
        let input = Input::resolve(self, signin, Mode::Enforce);
        let candidates = self.memo.candidates(self, &input);
        let mut states = Combiner::default();
        let policies = &self.tenant.policies;
        for index in candidates.iter() {
            let Some(policy) = policies.get(index) else {
                continue;
            };
            if self.memo.has_runtime_conditions(index)
                && !self.runtime_conditions_hold(index, policy, &input)
            {
                continue;
            }
            // A report-only policy's grant state changes nothing in the verdict.
            if self.memo.is_report_only(index) {
                states.report_only.insert(index);
                continue;
            }
            let g = grant_state(index, policy, &input, &mut NoTrace);
            states.add_enforced(index, g);
        }
        states.finish(self, &input)
    }

    /// Decides a sign-in and gives the sign-in log's per-policy results: one
    /// [`AppliedEntryKey`] per policy in tenant order in `entries` (cleared first), equal to
    /// [`AppliedEntryKey::of`] each record of [`CompiledTenant::evaluate`], and the same
    /// verdict as [`CompiledTenant::decide`].
    ///
    /// No trace: the condition families the memo knows for this sign-in give every policy's
    /// flags a mask at a time (the very sets [`CompiledTenant::evaluate`] reads its outcomes
    /// from); the others (device filters and states, locations, and what the memo does not
    /// know for this sign-in) run the same checks per policy, through the same walk
    /// ([`CompiledTenant::policy_conditions`]) restricted to those families. Allocates only
    /// when `entries` has less capacity than the tenant has policies.
    pub fn decide_entries(&self, signin: &SignIn, entries: &mut Vec<AppliedEntryKey>) -> Verdict {
        let input = Input::resolve(self, signin, Mode::Enforce);
        let known = self.memo.known(&input);
        let policies = &self.tenant.policies;
        entries.clear();
        entries.extend((0..policies.len()).map(|index| AppliedEntryKey {
            index: u32::try_from(index).unwrap_or(u32::MAX),
            result: PolicyResult::NotEnabled,
            satisfied: LogFlags::default(),
            not_satisfied: LogFlags::default(),
        }));
        let identity = identity_condition(&input).log_flag().1;
        let target = target_condition(&input).log_flag().1;
        // Families checked per policy, and the policies that have one of them.
        let mut per_policy = Families::NONE;
        let mut checked = PolicySet::default();
        for slot in 0..Families::COUNT {
            let family = Families::slot(slot);
            let configured = self.memo.configured(slot);
            let flag = if family == Families::IDENTITY {
                Some(identity)
            } else if family == Families::TARGET {
                Some(target)
            } else {
                family_condition(slot).map(|c| c.log_flag().1)
            };
            let (Some(set), Some(flag)) = (known.set(slot), flag) else {
                per_policy = per_policy.with(family);
                checked.unite(configured);
                continue;
            };
            for (word, (has, holds)) in configured.0.iter().zip(set.0.iter()).enumerate() {
                for (mut bits, satisfied) in [(has & holds, true), (has & !holds, false)] {
                    while bits != 0 {
                        let index = word * 64 + bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        if let Some(e) = entries.get_mut(index) {
                            let flags = if satisfied {
                                &mut e.satisfied
                            } else {
                                &mut e.not_satisfied
                            };
                            flags.0 |= flag;
                        }
                    }
                }
            }
        }
        if !per_policy.is_empty() {
            for index in checked.iter() {
                let (Some(policy), Some(e)) = (policies.get(index), entries.get_mut(index)) else {
                    continue;
                };
                let mut flags = KeepFlags::default();
                self.policy_conditions(index, policy, &input, per_policy, &mut flags);
                e.satisfied.0 |= flags.satisfied;
                e.not_satisfied.0 |= flags.not_satisfied;
            }
        }
        // Every condition sets a flag, so a policy applies exactly when none is unmet.
        let mut states = Combiner::default();
        for (index, (policy, e)) in policies.iter().zip(entries.iter_mut()).enumerate() {
            if policy.state == PolicyState::Disabled {
                continue;
            }
            let report_only = policy.state == PolicyState::ReportOnly;
            e.result = if e.not_satisfied.0 == 0 {
                let g = grant_state(index, policy, &input, &mut NoTrace);
                states.add(self, index, policy, g);
                applied_result(report_only, g)
            } else if report_only {
                PolicyResult::ReportOnlyNotApplied
            } else {
                PolicyResult::NotApplied
            };
        }
        states.finish(self, &input)
    }

    /// Evaluates a sign-in and keeps a record of every policy (outcomes, grant states): the
    /// view behind `gardien evaluate`, the what-if tools, explanations and the sign-in log.
    /// The words of a record are built only for what is shown ([`CompiledTenant::details`]).
    pub fn evaluate(&self, signin: &SignIn) -> Evaluation {
        self.evaluate_recorded(signin)
    }

    /// The same as [`CompiledTenant::evaluate`] (kept for the sign-in log's callers: records
    /// have carried outcomes only since the words became lazy).
    pub fn evaluate_outcomes(&self, signin: &SignIn) -> Evaluation {
        self.evaluate_recorded(signin)
    }

    /// The words behind the records of the given policies: the same checks run again with
    /// a tracer, for those policies only. `what_if` selects the mode the records came from
    /// ([`CompiledTenant::what_if`] or [`CompiledTenant::evaluate`]). Unknown indices and
    /// disabled policies give empty details.
    pub fn details(
        &self,
        signin: &SignIn,
        what_if: bool,
        indices: impl IntoIterator<Item = usize>,
    ) -> Vec<PolicyDetails> {
        let mode = if what_if { Mode::WhatIf } else { Mode::Enforce };
        let input = Input::resolve(self, signin, mode);
        indices
            .into_iter()
            .map(|index| {
                let Some(policy) = self.tenant.policies.get(index) else {
                    return PolicyDetails::default();
                };
                if policy.state == PolicyState::Disabled {
                    return PolicyDetails::default();
                }
                let mut words = KeepWords::default();
                let applies =
                    self.policy_conditions(index, policy, &input, Families::ALL, &mut words);
                let mut grant = String::new();
                if applies == Outcome::Satisfied && !what_if {
                    let mut notes = Notes::default();
                    grant_state(index, policy, &input, &mut notes);
                    grant = notes.take();
                }
                PolicyDetails {
                    conditions: words.0,
                    grant,
                }
            })
            .collect()
    }

    fn evaluate_recorded(&self, signin: &SignIn) -> Evaluation {
        let input = Input::resolve(self, signin, Mode::Enforce);
        let known = self.memo.known(&input);
        let mut states = Combiner::default();
        let mut records = Vec::with_capacity(self.tenant.policies.len());
        for (index, policy) in self.tenant.policies.iter().enumerate() {
            if policy.state == PolicyState::Disabled {
                records.push(PolicyRecord {
                    index,
                    result: PolicyResult::NotEnabled,
                    applies: Outcome::NotSatisfied,
                    conditions: ConditionRecords::default(),
                    grant: None,
                });
                continue;
            }
            let mut keep = KeepAll(ConditionRecords::default(), &known);
            let applies = self.policy_conditions(index, policy, &input, Families::ALL, &mut keep);
            let report_only = policy.state == PolicyState::ReportOnly;
            let (result, grant) = if applies == Outcome::Satisfied {
                let g = grant_state(index, policy, &input, &mut NoTrace);
                states.add(self, index, policy, g);
                (applied_result(report_only, g), Some(g))
            } else {
                let result = if report_only {
                    PolicyResult::ReportOnlyNotApplied
                } else {
                    PolicyResult::NotApplied
                };
                (result, None)
            };
            records.push(PolicyRecord {
                index,
                result,
                applies,
                conditions: keep.0,
                grant,
            });
        }
        Evaluation {
            verdict: states.finish(self, &input),
            policies: records,
        }
    }

    /// Runs the condition phase in what-if mode: for each policy, whether it applies and
    /// every condition's outcome. Grant controls are not evaluated (Graph does not either).
    pub fn what_if(&self, signin: &SignIn) -> Vec<PolicyRecord> {
        let input = Input::resolve(self, signin, Mode::WhatIf);
        let known = self.memo.known(&input);
        self.tenant
            .policies
            .iter()
            .enumerate()
            .map(|(index, policy)| {
                if policy.state == PolicyState::Disabled {
                    return PolicyRecord {
                        index,
                        result: PolicyResult::NotEnabled,
                        applies: Outcome::NotSatisfied,
                        conditions: ConditionRecords::default(),
                        grant: None,
                    };
                }
                let mut keep = KeepAll(ConditionRecords::default(), &known);
                let applies =
                    self.policy_conditions(index, policy, &input, Families::ALL, &mut keep);
                let report_only = policy.state == PolicyState::ReportOnly;
                let result = match (applies == Outcome::Satisfied, report_only) {
                    (true, false) => PolicyResult::Success,
                    (true, true) => PolicyResult::ReportOnlySuccess,
                    (false, false) => PolicyResult::NotApplied,
                    (false, true) => PolicyResult::ReportOnlyNotApplied,
                };
                PolicyRecord {
                    index,
                    result,
                    applies,
                    conditions: keep.0,
                    grant: None,
                }
            })
            .collect()
    }
}

/// The result of a policy that applies, as the sign-in log names it.
fn applied_result(report_only: bool, g: GrantState) -> PolicyResult {
    match (report_only, g) {
        (false, GrantState::Satisfied) => PolicyResult::Success,
        (false, _) => PolicyResult::Failure,
        (true, GrantState::Satisfied) => PolicyResult::ReportOnlySuccess,
        (true, GrantState::Block | GrantState::Fail(_)) => PolicyResult::ReportOnlyFailure,
        (true, GrantState::Interrupt(_)) => PolicyResult::ReportOnlyInterrupted,
    }
}

/// The identity condition a sign-in is checked against: the first step of
/// [`CompiledTenant::policy_conditions`] for every policy.
fn identity_condition(input: &Input<'_>) -> Condition {
    match (&input.user, input.service_principal, &input.agent) {
        (Some(_), _, Some(_)) => Condition::AgentUsers,
        (None, _, Some(_)) => Condition::AgentIdentities,
        (Some(_), _, None) | (None, None, None) => Condition::Users,
        (None, Some(_), None) => Condition::WorkloadIdentities,
    }
}

/// The target condition a sign-in is checked against: the second step of
/// [`CompiledTenant::policy_conditions`] for every policy.
fn target_condition(input: &Input<'_>) -> Condition {
    match input.signin.target {
        Target::Applications(_) => Condition::Application,
        Target::UserAction(_) => Condition::UserActions,
        Target::AuthContext(_) => Condition::AuthenticationContext,
    }
}

/// The one condition of a family slot whose outcome the memo can know ([`memo::Known`]),
/// for the families with a single condition; `None` for the families whose condition
/// depends on the sign-in (identity, target: [`identity_condition`], [`target_condition`])
/// or that the memo never knows (device filter and states, locations: checked per policy).
fn family_condition(slot: usize) -> Option<Condition> {
    let f = Families::slot(slot);
    [
        Condition::DevicePlatform,
        Condition::ClientApps,
        Condition::SignInRisk,
        Condition::UserRisk,
        Condition::ServicePrincipalRisk,
        Condition::InsiderRisk,
        Condition::AuthenticationFlow,
        Condition::AgentIdRisk,
    ]
    .into_iter()
    .find(|c| Families::of(*c) == f)
}

/// Evaluates the conditions it is given and keeps only the sign-in log's flags of their
/// outcomes (`conditionsSatisfied`, `conditionsNotSatisfied`).
#[derive(Default)]
struct KeepFlags {
    satisfied: u32,
    not_satisfied: u32,
}

impl Recorder for KeepFlags {
    type T = NoTrace;
    #[inline]
    fn record(&mut self, condition: Condition, outcome: Outcome, _n: NoTrace) -> bool {
        let flag = condition.log_flag().1;
        if outcome == Outcome::Satisfied {
            self.satisfied |= flag;
        } else {
            self.not_satisfied |= flag;
        }
        true
    }
}

/// Combines applying policies into a verdict (docs/reference/entra-semantics.md §3.3.2).
///
/// Policies are added in tenant order (ascending index), which the "first policy" fields
/// rely on. The session controls come from the enforced applying policies (`applied`).
#[derive(Default)]
struct Combiner {
    applied: PolicySet,
    report_only: PolicySet,
    blocks: PolicySet,
    fail: Controls,
    /// The lowest (canonical order) control any policy failed on so far, and the first
    /// policy that failed on it. A policy fails on the union's lowest control exactly when
    /// that control is its own lowest failing one, so this is the first policy that failed
    /// on the control the error code is about.
    first_fail: Option<(Control, usize)>,
    pending: Controls,
    first_pending: Option<usize>,
}
impl Combiner {
    fn add(&mut self, tenant: &CompiledTenant, index: usize, policy: &Policy, g: GrantState) {
        let report_only = match tenant.policies.get(index) {
            Some(c) => c.report_only,
            None => policy.state == PolicyState::ReportOnly,
        };
        if report_only {
            self.report_only.insert(index);
            return;
        }
        self.add_enforced(index, g);
    }

    /// Adds an enforced (enabled) applying policy with its grant state.
    #[inline]
    fn add_enforced(&mut self, index: usize, g: GrantState) {
        self.applied.insert(index);
        match g {
            GrantState::Satisfied => {}
            GrantState::Block => self.blocks.insert(index),
            GrantState::Fail(c) => {
                self.fail = self.fail.union(c);
                if let Some(lowest) = c.first()
                    && self.first_fail.is_none_or(|(seen, _)| lowest < seen)
                {
                    self.first_fail = Some((lowest, index));
                }
            }
            GrantState::Interrupt(c) => {
                self.pending = self.pending.union(c);
                self.first_pending.get_or_insert(index);
            }
        }
    }

    fn finish(&self, tenant: &CompiledTenant, input: &Input<'_>) -> Verdict {
        let mut verdict = Verdict {
            decision: Decision::Allow,
            error_code: None,
            required: Controls::default(),
            deciding_policy: None,
            applied: self.applied,
            report_only_applied: self.report_only,
            session: MergedSession::default(),
        };
        if let Some(first) = self.blocks.iter().next() {
            // The specialised code wins whatever the policy order: the first block that
            // carries it decides, else the first block.
            let (code, block) = self
                .blocks
                .iter()
                .map(|b| (block_code(tenant, b, input), b))
                .find(|(code, _)| *code != 53003)
                .unwrap_or((53003, first));
            verdict.decision = Decision::Deny;
            verdict.deciding_policy = Some(block);
            let mut c = Controls::default();
            c.insert(Control::Block);
            verdict.required = c;
            verdict.error_code = Some(code);
            return verdict;
        }
        if !self.fail.is_empty() {
            let first = self.fail.first();
            verdict.decision = Decision::Deny;
            verdict.required = self.fail;
            verdict.error_code = Some(match first {
                // The device-code flow (or an authentication transfer) cannot carry device
                // state: Entra's "remote device flow blocked due to device-based
                // Conditional Access" (docs/semantics.md).
                Some(Control::CompliantDevice | Control::DomainJoinedDevice)
                    if input.transferred =>
                {
                    530033
                }
                Some(Control::CompliantDevice) => 53000,
                Some(Control::DomainJoinedDevice) => 53001,
                Some(Control::ApprovedApplication) => 53002,
                Some(Control::CompliantApplication) => 53009,
                _ => 53003,
            });
            // The first policy that failed on the control the error code is about (not one
            // that merely lists it and failed on something else).
            verdict.deciding_policy = self.first_fail.map(|(_, policy)| policy);
            if let (
                Some(Target::UserAction(UserAction::RegisterSecurityInformation)),
                Some(53003),
            ) = (Some(&input.signin.target), verdict.error_code)
            {
                verdict.error_code = Some(53010);
            }
            return verdict;
        }
        if !self.pending.is_empty() {
            verdict.decision = Decision::Challenge;
            verdict.required = self.pending;
            verdict.deciding_policy = self.first_pending;
            return verdict;
        }
        // Only the applying policies with a session control: merging the others' (all
        // off) changes nothing.
        let mut sources = self.applied;
        sources.intersect(tenant.memo.with_session());
        verdict.session = MergedSession::merge(
            sources
                .iter()
                .filter_map(|i| tenant.tenant.policies.get(i))
                .map(|p| &p.session),
        );
        if input.external.is_some_and(|e| e.direct_connect) {
            // Not supported for B2B direct connect users (Learn's comparison table): app
            // enforced restrictions, Conditional Access App Control, sign-in frequency,
            // persistent browser session.
            verdict.session.application_enforced_restrictions = false;
            verdict.session.cloud_app_security = None;
            verdict.session.sign_in_frequency = None;
            verdict.session.persistent_browser = None;
        }
        verdict
    }
}

/// Error code of a block: 53003, or the specialised codes for security-info registration
/// (53010) and protocol-tracked refreshes blocked by an all-resources flow policy (530036).
fn block_code(tenant: &CompiledTenant, block: usize, input: &Input<'_>) -> u32 {
    let s = input.signin;
    if matches!(
        s.target,
        Target::UserAction(UserAction::RegisterSecurityInformation)
    ) {
        return 53010;
    }
    if let Some(p) = tenant.tenant.policies.get(block) {
        let tracked = s.session.refresh
            && s.session
                .original_transfer_method
                .is_some_and(|m| m != crate::model::enums::TransferMethod::None);
        if tracked
            && p.conditions.authentication_flows.is_some()
            && p.conditions.applications.include.all
        {
            return 530036;
        }
    }
    53003
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kleene_logic() {
        use Outcome::*;
        assert_eq!(Satisfied.and(Unknown), Unknown);
        assert_eq!(NotSatisfied.and(Unknown), NotSatisfied);
        assert_eq!(Satisfied.or(Unknown), Satisfied);
        assert_eq!(NotSatisfied.or(Unknown), Unknown);
        assert_eq!(Unknown.negate(), Unknown);
    }

    #[test]
    fn policy_sets_iterate_in_order() {
        let mut s = PolicySet::default();
        for i in [511, 0, 64, 63, 200] {
            s.insert(i);
        }
        s.insert(512); // out of range: ignored
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 63, 64, 200, 511]);
        assert_eq!(s.len(), 5);
        assert!(s.contains(200) && !s.contains(201) && !s.contains(512));
    }

    /// The iterator visits each word's bits lowest first: it gives
    /// exactly the indices `contains` accepts, ascending, for sets of every shape.
    #[test]
    fn policy_set_iteration_matches_contains() {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for round in 0..2_000 {
            let mut s = PolicySet::default();
            for w in 0..8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Empty, full, sparse and random words.
                s.0[w] = match (x >> 60) % 4 {
                    0 => 0,
                    1 if round % 2 == 0 => u64::MAX,
                    2 => 1 << (x % 64),
                    _ => x,
                };
            }
            let expected: Vec<usize> = (0..512).filter(|i| s.contains(*i)).collect();
            assert_eq!(s.iter().collect::<Vec<_>>(), expected);
            assert_eq!(s.len(), expected.len());
        }
        assert_eq!(PolicySet::default().iter().next(), None);
    }

    /// Found by the differential test against the reference evaluator: with several
    /// failing policies, the deciding policy was the first one that *lists* the control the
    /// error code is about, even when that control was satisfied for it and it failed on
    /// another one; it is now the first policy that failed on that control.
    #[test]
    fn r7_deciding_policy_failed_on_the_reported_control() {
        use serde_json::json;
        let policy = |id: &str, grant: serde_json::Value| {
            json!({"id": id, "displayName": id, "state": "enabled",
                   "conditions": {"users": {"includeUsers": ["All"]},
                                  "applications": {"includeApplications": ["All"]}},
                   "grantControls": grant})
        };
        let tenant = json!({"policies": [
            // Its MFA strength is satisfied; it fails on the compliant device.
            policy("p0", json!({"operator": "AND", "builtInControls": ["compliantDevice"],
                "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000002"}})),
            // A legacy client cannot meet the phishing-resistant strength.
            policy("p1", json!({"operator": "OR", "builtInControls": [],
                "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}})),
        ]});
        let tenant = crate::testing::compile(&tenant);
        let signin = crate::testing::signin(
            json!({"clientAppType": "exchangeActiveSync", "deviceInfo": {"isCompliant": false}}),
            json!({"authenticationMethods": ["password", "sms"]}),
        );
        let (Some(tenant), Some(signin)) = (tenant, signin) else {
            unreachable!("the tenant and the request load");
        };
        let v = tenant.decide(&signin);
        assert_eq!(v.decision, Decision::Deny);
        assert_eq!(v.required.first(), Some(Control::AuthenticationStrength));
        assert_eq!(v.deciding_policy, Some(1));
        assert_eq!(tenant.evaluate(&signin).verdict, v);
    }

    /// `decide` checks the device filter, device states and locations of a candidate with
    /// `runtime_conditions_hold`; it must agree with the condition walk restricted to
    /// those families for every policy, device and place (include and exclude filters,
    /// legacy device states, trusted, named and excluded locations, a device the
    /// device-code flow hides, a legacy client without a device).
    #[test]
    fn runtime_checks_agree_with_the_condition_walk() {
        use serde_json::json;
        let base = |i: usize, extra: serde_json::Value| {
            let mut conditions = json!({"users": {"includeUsers": ["All"]},
                                        "applications": {"includeApplications": ["All"]}});
            if let (Some(c), Some(e)) = (conditions.as_object_mut(), extra.as_object()) {
                c.extend(e.clone());
            }
            json!({"id": format!("p{i}"), "displayName": format!("p{i}"), "state": "enabled",
                   "conditions": conditions,
                   "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})
        };
        let rule = "device.trustType -eq \"ServerAD\" -or device.isCompliant -eq True";
        let extras = [
            json!({}),
            json!({"devices": {"deviceFilter": {"mode": "include", "rule": rule}}}),
            json!({"devices": {"deviceFilter": {"mode": "exclude", "rule": rule}}}),
            json!({"devices": {"excludeDevices": ["Compliant"], "includeDevices": ["All"]}}),
            json!({"locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}),
            json!({"locations": {"includeLocations": ["branch"]}}),
            json!({"locations": {"includeLocations": ["AllTrusted"]},
                   "devices": {"deviceFilter": {"mode": "exclude", "rule": rule}}}),
            json!({"locations": {"includeLocations": ["All"], "excludeLocations": ["branch"]},
                   "devices": {"excludeDevices": ["DomainJoined"], "includeDevices": ["All"]}}),
        ];
        let policies: Vec<serde_json::Value> = extras
            .iter()
            .enumerate()
            .map(|(i, e)| base(i, e.clone()))
            .collect();
        let range = |cidr: &str| {
            json!([{"@odata.type": "#microsoft.graph.iPv4CidrRange",
                                         "cidrAddress": cidr}])
        };
        let tenant = crate::testing::compile(&json!({
            "namedLocations": [
                {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "hq",
                 "displayName": "HQ", "isTrusted": true, "ipRanges": range("198.51.100.0/24")},
                {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "branch",
                 "displayName": "Branch", "isTrusted": false, "ipRanges": range("203.0.113.0/24")}],
            "policies": policies}));
        let Some(tenant) = tenant else {
            unreachable!("the tenant loads");
        };
        let mut held = [0usize; 2];
        for ip in ["198.51.100.7", "203.0.113.9", "192.0.2.1"] {
            for device in [
                json!(null),
                json!({"isCompliant": true, "trustType": "AzureAD"}),
                json!({"isCompliant": false, "trustType": "ServerAD"}),
                json!({"isCompliant": false, "trustType": "Workplace"}),
            ] {
                for (client, flow) in [
                    ("browser", None),
                    ("other", None),
                    ("browser", Some("deviceCodeFlow")),
                ] {
                    let mut conditions = json!({"clientAppType": client, "ipAddress": ip});
                    if !device.is_null() {
                        conditions["deviceInfo"] = device.clone();
                    }
                    if let Some(f) = flow {
                        conditions["authenticationFlow"] = json!({"transferMethod": f});
                    }
                    let Some(signin) = crate::testing::signin(conditions, serde_json::Value::Null)
                    else {
                        unreachable!("the request parses");
                    };
                    let input = Input::resolve(&tenant, &signin, Mode::Enforce);
                    for (index, policy) in tenant.tenant.policies.iter().enumerate() {
                        let walked = tenant.policy_conditions(
                            index,
                            policy,
                            &input,
                            Families::RUNTIME,
                            &mut FirstFailure,
                        ) == Outcome::Satisfied;
                        let direct = tenant.runtime_conditions_hold(index, policy, &input);
                        assert_eq!(
                            direct, walked,
                            "p{index}, {ip}, {device}, {client}, {flow:?}"
                        );
                        held[usize::from(direct)] += 1;
                    }
                }
            }
        }
        // Both answers occur: the grid reaches every branch of the checks.
        assert!(held[0] > 20 && held[1] > 20, "{held:?}");
    }

    /// `locations_hold` (one intersection per side when every location input is known)
    /// agrees with the three-valued location check for every policy, in enforcement and in
    /// what-if mode, with and without an IP address or a country.
    #[test]
    fn locations_hold_agrees_with_the_location_check() {
        use serde_json::json;
        let range = |cidr: &str| json!([{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": cidr}]);
        let conditions = [
            json!({"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}),
            json!({"includeLocations": ["AllTrusted"]}),
            json!({"includeLocations": ["branch", "fr"]}),
            json!({"includeLocations": ["All"], "excludeLocations": ["branch", "fr"]}),
            json!({"includeLocations": ["AllTrusted", "fr"], "excludeLocations": ["hq"]}),
            json!({"includeLocations": ["All"], "excludeLocations": ["AllTrusted", "fr"]}),
        ];
        let policies: Vec<serde_json::Value> = conditions
            .iter()
            .enumerate()
            .map(|(i, l)| {
                json!({"id": format!("p{i}"), "displayName": format!("p{i}"), "state": "enabled",
                       "conditions": {"users": {"includeUsers": ["All"]},
                                      "applications": {"includeApplications": ["All"]},
                                      "locations": l},
                       "grantControls": {"operator": "OR", "builtInControls": ["block"]}})
            })
            .collect();
        let tenant = crate::testing::compile(&json!({
            "namedLocations": [
                {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "hq",
                 "displayName": "HQ", "isTrusted": true, "ipRanges": range("198.51.100.0/24")},
                {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "branch",
                 "displayName": "Branch", "isTrusted": false, "ipRanges": range("203.0.113.0/24")},
                {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "fr",
                 "displayName": "France", "countriesAndRegions": ["FR"],
                 "includeUnknownCountriesAndRegions": true}],
            "policies": policies}));
        let Some(tenant) = tenant else {
            unreachable!("the tenant loads");
        };
        let mut held = [0usize; 2];
        for ip in [
            Some("198.51.100.7"),
            Some("203.0.113.9"),
            Some("192.0.2.1"),
            None,
        ] {
            for country in [Some("FR"), Some("DE"), None] {
                let mut conditions = json!({"clientAppType": "browser"});
                if let Some(ip) = ip {
                    conditions["ipAddress"] = json!(ip);
                }
                if let Some(c) = country {
                    conditions["country"] = json!(c);
                }
                let Some(signin) = crate::testing::signin(conditions, serde_json::Value::Null)
                else {
                    unreachable!("the request parses");
                };
                for mode in [Mode::Enforce, Mode::WhatIf] {
                    let input = Input::resolve(&tenant, &signin, mode);
                    for (index, compiled) in tenant.policies.iter().enumerate() {
                        let Some(l) = &compiled.locations else {
                            unreachable!("every policy has a location condition");
                        };
                        let checked = locations::check_locations(l, &input, &mut NoTrace)
                            == Outcome::Satisfied;
                        let fast = locations::locations_hold(l, &input);
                        assert_eq!(fast, checked, "p{index}, {ip:?}, {country:?}, {mode:?}");
                        held[usize::from(fast)] += 1;
                    }
                }
            }
        }
        assert!(held[0] > 20 && held[1] > 20, "{held:?}");
    }

    /// Every condition reports a member Graph documents, with Graph's flag value, and
    /// every member gardien reports for conditions is some condition's.
    #[test]
    fn what_if_reasons_are_graph_members() {
        for c in Condition::ALL {
            let (name, value) = c.what_if_reason();
            assert!(
                WHAT_IF_REASONS
                    .iter()
                    .any(|(n, v, u)| *n == name && *v == value && *u == WhatIfReasonUse::Condition),
                "{c:?}"
            );
        }
        for (name, _, used) in WHAT_IF_REASONS {
            if used == WhatIfReasonUse::Condition {
                assert!(
                    Condition::ALL.iter().any(|c| c.what_if_reason().0 == name),
                    "{name}"
                );
            }
        }
        // Flag values are distinct powers of two (and `notSet` zero), in Graph's order.
        for pair in WHAT_IF_REASONS.windows(2) {
            if let [(_, a, _), (_, b, _)] = pair {
                assert!(b.is_power_of_two() && b > a, "{pair:?}");
            }
        }
    }

    #[test]
    fn flag_names_follow_graph() {
        assert_eq!(Condition::ClientApps.log_flag(), ("clientType", 16));
        assert_eq!(Condition::Devices.what_if_reason(), ("devices", 256));
        assert_eq!(
            Condition::AuthenticationFlow.what_if_reason(),
            ("authenticationFlow", 262144)
        );
    }
}

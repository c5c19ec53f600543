//! The reports commands print: the decision output and the Graph what-if output (docs/design.md
//! "File and JSON contracts"). Renderers format these; they never recompute anything.

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::compile::CompiledTenant;
use crate::eval::grant::{Control, Controls, GrantState};
use crate::eval::input::Outcome;
use crate::eval::{
    Condition, Decision, Evaluation, PolicyDetails, PolicyRecord, PolicyResult, Verdict,
};
use crate::explain::{Explanation, explain};
use crate::model::policy::{Policy, PolicyState};
use crate::signin::SignIn;

/// Serializes an enum of this crate under its Graph / docs/design.md name.
macro_rules! serialize_as_str {
    ($($t:ty => $f:expr),* $(,)?) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let name: fn(&$t) -> &'static str = $f;
                s.serialize_str(name(self))
            }
        }
    )*};
}

serialize_as_str! {
    Decision => |d| d.as_str(),
    PolicyResult => |r| r.as_str(),
    PolicyState => |p| p.as_str(),
    Control => |c| c.as_str(),
    Condition => |c| c.what_if_reason().0,
    Outcome => |o| outcome_name(*o),
    CaStatus => |c| c.as_str(),
}

/// `Display` writes the same name as `Serialize`.
macro_rules! display_as_str {
    ($($t:ty => $f:expr),* $(,)?) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let name: fn(&$t) -> &'static str = $f;
                f.pad(name(self))
            }
        }
    )*};
}

display_as_str! {
    Decision => |d| d.as_str(),
    PolicyResult => |r| r.as_str(),
    Condition => |c| c.what_if_reason().0,
    Outcome => |o| outcome_name(*o),
    CaStatus => |c| c.as_str(),
}

impl Serialize for Controls {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// `conditionalAccessStatus` of a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaStatus {
    /// Enforced policies applied and were satisfied.
    Success,
    /// Denied or challenged.
    Failure,
    /// No enforced policy applied.
    NotApplied,
}

impl CaStatus {
    /// The status of a verdict.
    pub fn of(v: &Verdict) -> CaStatus {
        match v.decision {
            Decision::Deny | Decision::Challenge => CaStatus::Failure,
            Decision::Allow if !v.applied.is_empty() => CaStatus::Success,
            Decision::Allow => CaStatus::NotApplied,
        }
    }

    /// Graph spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CaStatus::Success => "success",
            CaStatus::Failure => "failure",
            CaStatus::NotApplied => "notApplied",
        }
    }
}

/// A set of `conditionalAccessConditions` flags (sign-in log), by flag value; serialized as
/// Graph writes it: names in value order joined by commas, `"none"` when empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct LogFlags(pub u32);

impl LogFlags {
    /// Adds a condition's flag.
    pub fn insert(&mut self, c: Condition) {
        self.0 |= c.log_flag().1;
    }

    /// Whether a condition's flag is set.
    pub fn contains(self, c: Condition) -> bool {
        self.0 & c.log_flag().1 != 0
    }

    /// The flag names in value order.
    pub fn names(self) -> Vec<&'static str> {
        let mut items: Vec<(&'static str, u32)> = Condition::ALL
            .iter()
            .map(|c| c.log_flag())
            .filter(|(_, v)| self.0 & v != 0)
            .collect();
        items.sort_by_key(|(_, v)| *v);
        items.dedup();
        items.into_iter().map(|(n, _)| n).collect()
    }
}

impl fmt::Display for LogFlags {
    /// The names in value order, without allocating (the sign-in log writes two of these
    /// per policy per decision).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bits = self.0;
        let mut first = true;
        while bits != 0 {
            let bit = bits & bits.wrapping_neg();
            bits &= !bit;
            let Some((name, _)) = Condition::ALL
                .iter()
                .map(|c| c.log_flag())
                .find(|(_, v)| *v == bit)
            else {
                continue;
            };
            if !first {
                f.write_str(",")?;
            }
            f.write_str(name)?;
            first = false;
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

impl Serialize for LogFlags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A policy's grant state in a trace: nothing when the policy does not apply. Serialized as
/// `""`, `satisfied`, `block`, `fail: c1,c2` or `interrupt: c1,c2`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grant(pub Option<GrantState>);

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |c: Controls| c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",");
        match self.0 {
            None => Ok(()),
            Some(GrantState::Satisfied) => f.write_str("satisfied"),
            Some(GrantState::Block) => f.write_str("block"),
            Some(GrantState::Fail(c)) => write!(f, "fail: {}", names(c)),
            Some(GrantState::Interrupt(c)) => write!(f, "interrupt: {}", names(c)),
        }
    }
}

impl Serialize for Grant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `appliedConditionalAccessPolicy` as gardien logs it (Graph beta field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedPolicy {
    /// Policy id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Result (`success`, `failure`, `notApplied`, `notEnabled`, `reportOnly…`).
    pub result: PolicyResult,
    /// Grant controls of the policy (`Block`, `Mfa`, `RequireCompliantDevice`, ...).
    pub enforced_grant_controls: Vec<String>,
    /// Session controls of the policy.
    pub enforced_session_controls: Vec<String>,
    /// Conditions met, as `conditionalAccessConditions` flags (`"application,users"`).
    pub conditions_satisfied: LogFlags,
    /// Conditions not met (`"none"` when the policy applies).
    pub conditions_not_satisfied: LogFlags,
}

/// One condition in the trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceCondition {
    /// The condition (serialized under its what-if name: `users`, `location`, ...).
    pub condition: Condition,
    /// `satisfied`, `notSatisfied` or `notEnoughInformation`.
    pub result: Outcome,
    /// Why, in words (for people; no code reads it).
    pub detail: String,
}

/// Why one policy did or did not apply, and what its controls required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TracePolicy {
    /// Index of the policy in tenant order (not serialized).
    #[serde(skip)]
    pub index: usize,
    /// Policy id.
    pub policy_id: String,
    /// Display name.
    pub display_name: String,
    /// Policy state.
    pub state: PolicyState,
    /// Whether the conditions are met.
    pub applies: bool,
    /// Each condition evaluated.
    pub conditions: Vec<TraceCondition>,
    /// Grant state (empty when not applying).
    pub grant: Grant,
    /// Why the grant state is what it is (for people; no code reads it).
    pub grant_detail: String,
}

/// The output of `gardien evaluate --json` (docs/design.md "Decision output").
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionReport {
    /// `allow`, `challenge` or `deny`.
    pub decision: Decision,
    /// AADSTS code when denied, otherwise `null`.
    pub error_code: Option<u32>,
    /// `success`, `failure` or `notApplied`.
    pub conditional_access_status: CaStatus,
    /// Pending controls (challenge) or failing controls (deny), canonical order.
    pub required_controls: Controls,
    /// One entry per policy, tenant order.
    pub applied_conditional_access_policies: Vec<AppliedPolicy>,
    /// Merged session controls in force (`{}` unless allowed).
    pub session_controls: Value,
    /// For deny and challenge: cause, temporary or not, what the user can do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// Why each policy did or did not apply.
    pub trace: Vec<TracePolicy>,
    /// The policy that decided a deny or challenge, in tenant order: the verdict's
    /// [`Verdict::deciding_policy`] (not serialized; the page reads it).
    #[serde(skip)]
    pub deciding_policy: Option<usize>,
}

impl DecisionReport {
    /// The trace of the deciding policy, when the report still holds it.
    pub fn deciding_trace(&self) -> Option<&TracePolicy> {
        let index = self.deciding_policy?;
        self.trace.iter().find(|t| t.index == index)
    }
}

/// Joins flags in value order, `"none"` when empty.
fn flags(mut items: Vec<(&'static str, u32)>) -> String {
    items.sort_by_key(|(_, v)| *v);
    items.dedup();
    if items.is_empty() {
        return "none".to_owned();
    }
    items.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(",")
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Satisfied => "satisfied",
        Outcome::NotSatisfied => "notSatisfied",
        Outcome::Unknown => "notEnoughInformation",
    }
}

/// The grant controls a policy lists, as the sign-in log names them.
pub fn grant_control_names(policy: &Policy) -> Vec<String> {
    grant_control_log_names(policy).map(str::to_owned).collect()
}

/// [`grant_control_names`] without allocating.
fn grant_control_log_names(policy: &Policy) -> impl Iterator<Item = &'static str> + '_ {
    let g = policy.grant.as_ref();
    let built_in = g.into_iter().flat_map(|g| g.built_in.iter()).map(|b| {
        Control::ALL
            .iter()
            .find(|c| c.as_str() == b.as_str())
            .map_or(b.as_str(), |c| c.log_name())
    });
    let others = g.into_iter().flat_map(|g| {
        [
            (
                g.authentication_strength.is_some(),
                Control::AuthenticationStrength,
            ),
            (!g.terms_of_use.is_empty(), Control::TermsOfUse),
            (
                !g.custom_factors.is_empty(),
                Control::CustomAuthenticationFactor,
            ),
        ]
        .into_iter()
        .filter(|(listed, _)| *listed)
        .map(|(_, c)| c.log_name())
    });
    built_in.chain(others)
}

/// `appliedConditionalAccessPolicies` of an evaluation, tenant order.
pub fn applied_policies(tenant: &CompiledTenant, evaluation: &Evaluation) -> Vec<AppliedPolicy> {
    let policies = &tenant.tenant.policies;
    evaluation
        .policies
        .iter()
        .filter_map(|r| policies.get(r.index).map(|p| applied_policy(p, r)))
        .collect()
}

/// The `conditionsSatisfied` and `conditionsNotSatisfied` flags of a record.
fn condition_flags(record: &PolicyRecord) -> (LogFlags, LogFlags) {
    let mut satisfied = LogFlags::default();
    let mut unsatisfied = LogFlags::default();
    for c in record.conditions.iter() {
        if c.outcome == Outcome::Satisfied {
            satisfied.insert(c.condition);
        } else {
            unsatisfied.insert(c.condition);
        }
    }
    (satisfied, unsatisfied)
}

/// `appliedConditionalAccessPolicies` of an evaluation serialized straight from the tenant
/// and the records: the JSON of [`applied_policies`] without building its strings (the
/// sign-in log writes it for every decision).
#[derive(Debug, Clone, Copy)]
pub struct AppliedPoliciesJson<'a> {
    /// The tenant evaluated.
    pub tenant: &'a CompiledTenant,
    /// Its evaluation of the sign-in.
    pub evaluation: &'a Evaluation,
}

impl Serialize for AppliedPoliciesJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let policies = &self.tenant.tenant.policies;
        s.collect_seq(self.evaluation.policies.iter().filter_map(|r| {
            policies
                .get(r.index)
                .map(|p| AppliedPolicyJson(p, AppliedEntryKey::of(r)))
        }))
    }
}

/// What one entry of `appliedConditionalAccessPolicies` is a function of, besides the
/// policy set: the policy (its index), its result and its satisfied and not-satisfied
/// condition flags. Equal keys of one policy set give equal entries, so the sign-in log
/// stores each entry once ([`applied_entry_json`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppliedEntryKey {
    /// The policy's index in tenant order.
    pub index: u32,
    /// Its result.
    pub result: PolicyResult,
    /// `conditionsSatisfied`.
    pub satisfied: LogFlags,
    /// `conditionsNotSatisfied`.
    pub not_satisfied: LogFlags,
}

impl AppliedEntryKey {
    /// The key of one record of an evaluation.
    pub fn of(record: &PolicyRecord) -> AppliedEntryKey {
        let (satisfied, not_satisfied) = condition_flags(record);
        AppliedEntryKey {
            index: u32::try_from(record.index).unwrap_or(u32::MAX),
            result: record.result,
            satisfied,
            not_satisfied,
        }
    }
}

/// One entry of `appliedConditionalAccessPolicies` as compact JSON: exactly the text
/// [`AppliedPoliciesJson`] writes for `record` (`None` if the record's policy is not in
/// `tenant`).
pub fn applied_entry_json(tenant: &CompiledTenant, record: &PolicyRecord) -> Option<String> {
    applied_entry_json_of(tenant, &AppliedEntryKey::of(record))
}

/// One entry of `appliedConditionalAccessPolicies` as compact JSON, from its key (an entry
/// is a function of its key): exactly the text [`AppliedPoliciesJson`] writes for a record
/// with that key (`None` if the key's policy is not in `tenant`).
pub fn applied_entry_json_of(tenant: &CompiledTenant, key: &AppliedEntryKey) -> Option<String> {
    let policy = tenant
        .tenant
        .policies
        .get(usize::try_from(key.index).ok()?)?;
    serde_json::to_string(&AppliedPolicyJson(policy, *key)).ok()
}

/// One entry of [`AppliedPoliciesJson`]: the policy and what its entry is a function of.
struct AppliedPolicyJson<'a>(&'a Policy, AppliedEntryKey);

/// Names serialized as a JSON array, from an iterator taken by the first serialization
/// (a second one writes `[]`: build one per use).
pub(crate) struct Names<I>(pub(crate) std::cell::Cell<Option<I>>);

impl<'n, I: Iterator<Item = &'n str>> Serialize for Names<I> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.take().into_iter().flatten())
    }
}

impl Serialize for AppliedPolicyJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let AppliedPolicyJson(policy, key) = *self;
        let enabled = key.result != PolicyResult::NotEnabled;
        let mut m = s.serialize_struct("AppliedPolicy", 7)?;
        m.serialize_field("id", &policy.id)?;
        m.serialize_field("displayName", &policy.display_name)?;
        m.serialize_field("result", &key.result)?;
        let grant = enabled.then(|| grant_control_log_names(policy));
        m.serialize_field("enforcedGrantControls", &Names(std::cell::Cell::new(grant)))?;
        let session = enabled.then(|| policy.session.names().into_iter());
        m.serialize_field(
            "enforcedSessionControls",
            &Names(std::cell::Cell::new(session)),
        )?;
        m.serialize_field("conditionsSatisfied", &key.satisfied)?;
        m.serialize_field("conditionsNotSatisfied", &key.not_satisfied)?;
        m.end()
    }
}

fn applied_policy(policy: &Policy, record: &PolicyRecord) -> AppliedPolicy {
    let disabled = record.result == PolicyResult::NotEnabled;
    let (satisfied, unsatisfied) = condition_flags(record);
    AppliedPolicy {
        id: policy.id.clone(),
        display_name: policy.display_name.clone(),
        result: record.result,
        enforced_grant_controls: if disabled {
            Vec::new()
        } else {
            grant_control_names(policy)
        },
        enforced_session_controls: if disabled {
            Vec::new()
        } else {
            policy
                .session
                .names()
                .into_iter()
                .map(str::to_owned)
                .collect()
        },
        conditions_satisfied: satisfied,
        conditions_not_satisfied: unsatisfied,
    }
}

/// The trace of one policy, with the words of its conditions and grant.
pub fn trace_policy(policy: &Policy, record: &PolicyRecord, details: PolicyDetails) -> TracePolicy {
    let mut words = details.conditions.into_iter();
    TracePolicy {
        index: record.index,
        policy_id: policy.id.clone(),
        display_name: policy.display_name.clone(),
        state: policy.state,
        applies: record.applies == Outcome::Satisfied,
        conditions: record
            .conditions
            .iter()
            .map(|c| TraceCondition {
                condition: c.condition,
                result: c.outcome,
                detail: words.next().unwrap_or_default(),
            })
            .collect(),
        grant: Grant(record.grant),
        grant_detail: details.grant,
    }
}

/// The traces of the given records, with their words (one tracer pass per record).
fn traces(
    tenant: &CompiledTenant,
    signin: &SignIn,
    what_if: bool,
    records: &[&PolicyRecord],
) -> Vec<TracePolicy> {
    let details = tenant.details(signin, what_if, records.iter().map(|r| r.index));
    records
        .iter()
        .zip(details)
        .filter_map(|(r, d)| {
            tenant
                .tenant
                .policies
                .get(r.index)
                .map(|p| trace_policy(p, r, d))
        })
        .collect()
}

impl DecisionReport {
    /// Builds the report from a traced evaluation, with the words of every policy.
    pub fn new(
        tenant: &CompiledTenant,
        signin: &SignIn,
        evaluation: &Evaluation,
    ) -> DecisionReport {
        DecisionReport::with_trace(tenant, signin, evaluation, |_| true)
    }

    /// Builds the report with the trace of only the policies `shown` keeps (the words of
    /// the others are never built): the denial page keeps the policies that applied.
    pub fn with_trace(
        tenant: &CompiledTenant,
        signin: &SignIn,
        evaluation: &Evaluation,
        shown: impl Fn(&PolicyRecord) -> bool,
    ) -> DecisionReport {
        let v = &evaluation.verdict;
        let records: Vec<&PolicyRecord> = evaluation.policies.iter().filter(|r| shown(r)).collect();
        DecisionReport {
            decision: v.decision,
            error_code: if v.decision == Decision::Deny {
                v.error_code
            } else {
                None
            },
            conditional_access_status: CaStatus::of(v),
            required_controls: if v.decision == Decision::Allow {
                Controls::default()
            } else {
                v.required
            },
            applied_conditional_access_policies: applied_policies(tenant, evaluation),
            session_controls: if v.decision == Decision::Allow {
                v.session.to_json()
            } else {
                Value::Object(Map::new())
            },
            explanation: explain(tenant, signin, evaluation),
            trace: traces(tenant, signin, false, &records),
            deciding_policy: v.deciding_policy,
        }
    }
}

/// One entry of the what-if output: the policy as read, plus Graph's two members.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIfEntry {
    /// Index of the policy in tenant order.
    pub index: usize,
    /// Whether the policy applies.
    pub policy_applies: bool,
    /// `whatIfAnalysisReasons` flags (`"notSet"` when it applies).
    pub analysis_reasons: String,
    /// The record of the policy (outcomes; words from [`WhatIfReport::traces`]).
    pub record: PolicyRecord,
}

/// The output of `gardien whatif`.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIfReport {
    /// Entries in tenant order (only applying ones when `appliedPoliciesOnly`).
    pub entries: Vec<WhatIfEntry>,
}

/// `whatIfAnalysisReasons` of a policy record.
pub fn analysis_reasons(policy: &Policy, record: &PolicyRecord) -> String {
    if policy.state == PolicyState::Disabled {
        return "policyNotEnabled".to_owned();
    }
    if record.applies == Outcome::Satisfied {
        return "notSet".to_owned();
    }
    let mut reasons: Vec<(&'static str, u32)> = record
        .conditions
        .iter()
        .filter(|c| c.outcome == Outcome::NotSatisfied)
        .map(|c| c.condition.what_if_reason())
        .collect();
    if record
        .conditions
        .iter()
        .any(|c| c.outcome == Outcome::Unknown)
    {
        reasons.push(("notEnoughInformation", 1));
    }
    flags(reasons)
}

impl WhatIfReport {
    /// Runs what-if for a sign-in.
    pub fn new(tenant: &CompiledTenant, signin: &SignIn) -> WhatIfReport {
        let records = tenant.what_if(signin);
        let entries = records
            .iter()
            .filter_map(|r| {
                let p = tenant.tenant.policies.get(r.index)?;
                let applies = r.applies == Outcome::Satisfied && p.state != PolicyState::Disabled;
                if signin.applied_policies_only && !applies {
                    return None;
                }
                Some(WhatIfEntry {
                    index: r.index,
                    policy_applies: applies,
                    analysis_reasons: analysis_reasons(p, r),
                    record: *r,
                })
            })
            .collect();
        WhatIfReport { entries }
    }

    /// The traces of the entries, with their words (built now, only when shown).
    pub fn traces(&self, tenant: &CompiledTenant, signin: &SignIn) -> Vec<TracePolicy> {
        let records: Vec<&PolicyRecord> = self.entries.iter().map(|e| &e.record).collect();
        traces(tenant, signin, true, &records)
    }

    /// Graph JSON: `{"value": [policy + policyApplies + analysisReasons, ...]}`.
    pub fn to_graph_json(&self, tenant: &CompiledTenant) -> Value {
        let value = self
            .entries
            .iter()
            .filter_map(|e| {
                let p = tenant.tenant.policies.get(e.index)?;
                let mut obj = match &p.raw {
                    Value::Object(o) => o.clone(),
                    _ => Map::new(),
                };
                obj.retain(|k, _| {
                    !k.starts_with('@') && !k.starts_with('#') && !k.contains("@odata.")
                });
                obj.entry("id")
                    .or_insert_with(|| Value::String(p.id.clone()));
                obj.insert("policyApplies".into(), Value::Bool(e.policy_applies));
                obj.insert(
                    "analysisReasons".into(),
                    Value::String(e.analysis_reasons.clone()),
                );
                Some(Value::Object(obj))
            })
            .collect();
        let mut root = Map::new();
        root.insert("value".into(), Value::Array(value));
        Value::Object(root)
    }
}

/// Names of conditions for documentation and renderers.
pub fn condition_name(c: Condition) -> &'static str {
    c.what_if_reason().0
}

#[cfg(test)]
#[allow(clippy::panic, reason = "test failures report through panics")]
mod tests {
    use super::*;
    use crate::testing::{compile, signin};
    use serde_json::json;

    #[test]
    fn applied_policies_json_is_the_json_of_applied_policies() {
        let t = compile(&json!({
            "namedLocations": [{"@odata.type": "#microsoft.graph.ipNamedLocation",
                "id": "hq", "displayName": "HQ", "isTrusted": true,
                "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange",
                              "cidrAddress": "198.51.100.0/24"}]}],
            "policies": [
                {"id": "p1", "displayName": "Block outside HQ", "state": "enabled",
                 "conditions": {"users": {"includeUsers": ["All"]},
                                "applications": {"includeApplications": ["All"]},
                                "clientAppTypes": ["browser"],
                                "locations": {"includeLocations": ["All"],
                                              "excludeLocations": ["AllTrusted"]}},
                 "grantControls": {"operator": "OR", "builtInControls": ["block"]}},
                {"id": "p2", "displayName": "MFA and terms", "state": "enabledForReportingButNotEnforced",
                 "conditions": {"users": {"includeUsers": ["All"]},
                                "applications": {"includeApplications": ["All"]}},
                 "grantControls": {"operator": "AND", "builtInControls": ["mfa", "compliantDevice"],
                                   "termsOfUse": ["t1"]},
                 "sessionControls": {"signInFrequency": {"isEnabled": true, "value": 4,
                                                          "type": "hours"}}},
                {"id": "p3", "displayName": "Off", "state": "disabled",
                 "conditions": {"users": {"includeUsers": ["All"]},
                                "applications": {"includeApplications": ["All"]}},
                 "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}
            ]
        }))
        .unwrap_or_else(|| panic!("tenant"));
        for (conditions, session) in [
            (
                json!({"ipAddress": "203.0.113.9", "clientAppType": "browser"}),
                json!(null),
            ),
            (
                json!({"ipAddress": "198.51.100.7"}),
                json!({"authenticationMethods": ["password", "fido2"]}),
            ),
            (json!({}), json!(null)),
        ] {
            let s = signin(conditions, session).unwrap_or_else(|| panic!("sign-in"));
            let evaluation = t.evaluate(&s);
            let built = serde_json::to_string(&applied_policies(&t, &evaluation)).ok();
            let direct = serde_json::to_string(&AppliedPoliciesJson {
                tenant: &t,
                evaluation: &evaluation,
            })
            .ok();
            assert!(
                built
                    .as_deref()
                    .is_some_and(|b| b.contains("conditionsNotSatisfied"))
            );
            assert_eq!(built, direct);
        }
    }

    #[test]
    fn log_flags_are_named_in_value_order() {
        let mut f = LogFlags::default();
        assert_eq!(f.to_string(), "none");
        for c in [
            Condition::Location,
            Condition::Users,
            Condition::Application,
            Condition::UserActions,
        ] {
            f.insert(c);
        }
        assert_eq!(f.to_string(), "application,users,location");
        assert_eq!(f.to_string(), f.names().join(","));
    }
}

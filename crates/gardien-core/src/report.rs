//! The reports commands print: the decision output and the Graph what-if output (DESIGN.md
//! "File and JSON contracts"). Renderers format these; they never recompute anything.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::compile::CompiledTenant;
use crate::eval::grant::{Control, GrantState};
use crate::eval::input::Outcome;
use crate::eval::{Condition, Decision, Evaluation, PolicyRecord, PolicyResult};
use crate::explain::{Explanation, explain};
use crate::model::policy::{Policy, PolicyState};
use crate::signin::SignIn;

/// `appliedConditionalAccessPolicy` as gardien logs it (Graph beta field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedPolicy {
    /// Policy id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Result (`success`, `failure`, `notApplied`, `notEnabled`, `reportOnly…`).
    pub result: String,
    /// Grant controls of the policy (`Block`, `Mfa`, `RequireCompliantDevice`, ...).
    pub enforced_grant_controls: Vec<String>,
    /// Session controls of the policy.
    pub enforced_session_controls: Vec<String>,
    /// Conditions met, as `conditionalAccessConditions` flags (`"application,users"`).
    pub conditions_satisfied: String,
    /// Conditions not met (`"none"` when the policy applies).
    pub conditions_not_satisfied: String,
}

/// One condition in the trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceCondition {
    /// What-if name of the condition (`users`, `location`, ...).
    pub condition: String,
    /// `satisfied`, `notSatisfied` or `notEnoughInformation`.
    pub result: String,
    /// Why.
    pub detail: String,
}

/// Why one policy did or did not apply, and what its controls required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TracePolicy {
    /// Policy id.
    pub policy_id: String,
    /// Display name.
    pub display_name: String,
    /// Policy state.
    pub state: String,
    /// Whether the conditions are met.
    pub applies: bool,
    /// Each condition evaluated.
    pub conditions: Vec<TraceCondition>,
    /// Grant state: `satisfied`, `block`, `fail: …`, `interrupt: …` (empty when not applying).
    pub grant: String,
    /// Why the grant state is what it is.
    pub grant_detail: String,
}

/// The output of `gardien evaluate --json` (DESIGN.md "Decision output").
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionReport {
    /// `allow`, `challenge` or `deny`.
    pub decision: String,
    /// AADSTS code when denied, otherwise `null`.
    pub error_code: Option<u32>,
    /// `success`, `failure` or `notApplied`.
    pub conditional_access_status: String,
    /// Pending controls (challenge) or failing controls (deny), canonical order.
    pub required_controls: Vec<String>,
    /// One entry per policy, tenant order.
    pub applied_conditional_access_policies: Vec<AppliedPolicy>,
    /// Merged session controls in force (`{}` unless allowed).
    pub session_controls: Value,
    /// For deny and challenge: cause, temporary or not, what the user can do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// Why each policy did or did not apply.
    pub trace: Vec<TracePolicy>,
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
    let Some(g) = &policy.grant else {
        return Vec::new();
    };
    let mut out: Vec<String> = g
        .built_in
        .iter()
        .map(|b| {
            Control::ALL
                .iter()
                .find(|c| c.as_str() == b.as_str())
                .map(|c| c.log_name().to_owned())
                .unwrap_or_else(|| b.as_str().to_owned())
        })
        .collect();
    if g.authentication_strength.is_some() {
        out.push(Control::AuthenticationStrength.log_name().to_owned());
    }
    if !g.terms_of_use.is_empty() {
        out.push(Control::TermsOfUse.log_name().to_owned());
    }
    if !g.custom_factors.is_empty() {
        out.push(Control::CustomAuthenticationFactor.log_name().to_owned());
    }
    out
}

fn grant_name(g: Option<GrantState>) -> String {
    let names = |c: crate::eval::grant::Controls| {
        c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
    };
    match g {
        None => String::new(),
        Some(GrantState::Satisfied) => "satisfied".to_owned(),
        Some(GrantState::Block) => "block".to_owned(),
        Some(GrantState::Fail(c)) => format!("fail: {}", names(c)),
        Some(GrantState::Interrupt(c)) => format!("interrupt: {}", names(c)),
    }
}

/// `appliedConditionalAccessPolicies` of an evaluation, tenant order. Reads only outcomes,
/// so [`CompiledTenant::evaluate_outcomes`] is enough (the sign-in log's path).
pub fn applied_policies(tenant: &CompiledTenant, evaluation: &Evaluation) -> Vec<AppliedPolicy> {
    let policies = &tenant.tenant.policies;
    evaluation
        .policies
        .iter()
        .filter_map(|r| policies.get(r.index).map(|p| applied_policy(p, r)))
        .collect()
}

fn applied_policy(policy: &Policy, record: &PolicyRecord) -> AppliedPolicy {
    let disabled = record.result == PolicyResult::NotEnabled;
    let satisfied = record
        .conditions
        .iter()
        .filter(|c| c.outcome == Outcome::Satisfied)
        .map(|c| c.condition.log_flag())
        .collect();
    let unsatisfied = record
        .conditions
        .iter()
        .filter(|c| c.outcome != Outcome::Satisfied)
        .map(|c| c.condition.log_flag())
        .collect();
    AppliedPolicy {
        id: policy.id.clone(),
        display_name: policy.display_name.clone(),
        result: record.result.as_str().to_owned(),
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
        conditions_satisfied: flags(satisfied),
        conditions_not_satisfied: flags(unsatisfied),
    }
}

fn trace_policy(policy: &Policy, record: &PolicyRecord) -> TracePolicy {
    TracePolicy {
        policy_id: policy.id.clone(),
        display_name: policy.display_name.clone(),
        state: policy.state.as_str().to_owned(),
        applies: record.applies == Outcome::Satisfied,
        conditions: record
            .conditions
            .iter()
            .map(|c| TraceCondition {
                condition: c.condition.what_if_reason().0.to_owned(),
                result: outcome_name(c.outcome).to_owned(),
                detail: c.detail.clone(),
            })
            .collect(),
        grant: grant_name(record.grant),
        grant_detail: record.grant_detail.clone(),
    }
}

impl DecisionReport {
    /// Builds the report from a traced evaluation.
    pub fn new(
        tenant: &CompiledTenant,
        signin: &SignIn,
        evaluation: &Evaluation,
    ) -> DecisionReport {
        let v = &evaluation.verdict;
        let policies = &tenant.tenant.policies;
        let pairs = || {
            evaluation
                .policies
                .iter()
                .filter_map(|r| policies.get(r.index).map(|p| (p, r)))
        };
        let status = match v.decision {
            Decision::Deny | Decision::Challenge => "failure",
            Decision::Allow if !v.applied.is_empty() => "success",
            Decision::Allow => "notApplied",
        };
        DecisionReport {
            decision: v.decision.as_str().to_owned(),
            error_code: if v.decision == Decision::Deny {
                v.error_code
            } else {
                None
            },
            conditional_access_status: status.to_owned(),
            required_controls: if v.decision == Decision::Allow {
                Vec::new()
            } else {
                v.required.iter().map(|c| c.as_str().to_owned()).collect()
            },
            applied_conditional_access_policies: applied_policies(tenant, evaluation),
            session_controls: if v.decision == Decision::Allow {
                v.session.to_json()
            } else {
                Value::Object(Map::new())
            },
            explanation: explain(tenant, signin, evaluation),
            trace: pairs().map(|(p, r)| trace_policy(p, r)).collect(),
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
    /// The trace of the policy.
    pub trace: TracePolicy,
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
                    trace: trace_policy(p, r),
                })
            })
            .collect();
        WhatIfReport { entries }
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

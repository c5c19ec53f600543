//! Semantic difference between two tenants: which classes of sign-ins change decision, error
//! code or required controls — not a JSON diff.
//!
//! Both tenants are evaluated over the union of their partitions (the classes either set of
//! policies distinguishes, [`crate::gaps::partition`]), with no MFA, MFA, and
//! phishing-resistant MFA done. Changed classes are grouped by transition (e.g.
//! `allow → deny 53003`) into boxes, each with a representative sign-in decided by the core
//! in both tenants.
//!
//! Attribution: every policy that differs between the tenants (added, removed or modified,
//! matched by id) is reverted alone in the `to` tenant, and each changed class is decided by
//! every such variant. A policy whose revert alone gives back the `from` outcome is a
//! *cause* of the transition; when no single revert does (several changes act together),
//! the policies whose revert alone alters the `to` outcome are reported as *contributing*.
//! Every variant's policies are policies of one of the two tenants, so the partition of the
//! two tenants separates them too, and the attribution is exact for every class of a group.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Instant;

use gardien_core::eval::grant::Controls;
use gardien_core::ids::normalize_id;
use gardien_core::model::policy::Policy;
use gardien_core::model::tenant::Tenant;
use gardien_core::{CompiledTenant, Decision, SignIn, Verdict};
use serde::Serialize;

use crate::gaps::partition::Universe;
use crate::gaps::partition::enumerate::{groups, walk_signin};
use crate::gaps::{
    AnalysisError, ClassScope, DecisionSummary, DimensionCount, Dimensions, Representative,
    broadest, class_scope, counts, describe_scope, dimensions, preferred_tuple, representative,
    scope_size,
};

/// What a diff compares: decision, error code, required controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct OutcomeKey {
    decision: Decision,
    error_code: Option<u32>,
    required: Controls,
}

impl OutcomeKey {
    fn of(v: &Verdict) -> OutcomeKey {
        OutcomeKey {
            decision: v.decision,
            error_code: v.error_code,
            required: v.required,
        }
    }
}

fn classify(v: &[Verdict]) -> Option<(OutcomeKey, OutcomeKey)> {
    let (a, b) = (OutcomeKey::of(v.first()?), OutcomeKey::of(v.get(1)?));
    (a != b).then_some((a, b))
}

/// A transition and what causes it: indices into the changed policies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Label {
    from: OutcomeKey,
    to: OutcomeKey,
    /// Policies whose revert alone restores the `from` outcome.
    causes: Vec<u16>,
    /// When there is no single cause: policies whose revert alone alters the `to` outcome.
    contributing: Vec<u16>,
}

/// The single-revert variants of the `to` tenant, and what tells cheaply that a variant
/// decides as the `to` tenant does.
struct Variants {
    /// Per changed policy: the `to` tenant with it alone reverted.
    tenants: Vec<CompiledTenant>,
    /// Per changed policy: its index in the `to` tenant.
    to_index: Vec<Option<usize>>,
    /// The `to` tenant's directory and locations with only the `from` versions of the
    /// changed policies, and per changed policy its index there.
    probe: CompiledTenant,
    probe_index: Vec<Option<usize>>,
}

impl Variants {
    fn new(u: &Universe, to: &Tenant, changed: &[Changed]) -> Variants {
        let mut probe = to.clone();
        probe.policies.clear();
        let mut probe_index = Vec::with_capacity(changed.len());
        for (_, _, _, from_version) in changed {
            probe_index.push(from_version.as_ref().map(|p| {
                probe.policies.push(p.clone());
                probe.policies.len() - 1
            }));
        }
        Variants {
            tenants: changed
                .iter()
                .map(|(_, t, _, _)| u.compile_variant(t))
                .collect(),
            to_index: changed.iter().map(|(_, _, i, _)| *i).collect(),
            probe: u.compile_variant(&probe),
            probe_index,
        }
    }
}

/// The label of a sign-in: its transition, and which variants (the `to` tenant with one
/// changed policy reverted) give back the `from` outcome or alter the `to` one.
///
/// A variant differs from the `to` tenant only by one policy; when neither of its versions
/// is enforced and applies to the sign-in (the `to` version in the `to` tenant's verdict,
/// the `from` version in the probe's), the variant decides as the `to` tenant and is not
/// decided (report-only and disabled policies never change a decision).
fn attribute(variants: &Variants, v: &[Verdict], s: &SignIn) -> Option<Label> {
    let (from, to) = classify(v)?;
    let after = v.get(1)?;
    let probe = (!variants.probe.tenant.policies.is_empty()).then(|| variants.probe.decide(s));
    let (mut causes, mut contributing) = (Vec::new(), Vec::new());
    for (i, t) in variants.tenants.iter().enumerate() {
        let in_to = variants
            .to_index
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|j| after.applied.contains(j));
        let in_from = variants
            .probe_index
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|j| probe.as_ref().is_some_and(|p| p.applied.contains(j)));
        if !in_to && !in_from {
            continue;
        }
        let k = OutcomeKey::of(&t.decide(s));
        let i = u16::try_from(i).unwrap_or(u16::MAX);
        if k == from {
            causes.push(i);
        } else if k != to {
            contributing.push(i);
        }
    }
    if !causes.is_empty() {
        contributing.clear();
    }
    Some(Label {
        from,
        to,
        causes,
        contributing,
    })
}

/// How a policy differs between the two tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicyChangeKind {
    /// Only in the `to` tenant.
    Added,
    /// Only in the `from` tenant.
    Removed,
    /// In both, with another definition (state, conditions or controls).
    Modified,
}

impl PolicyChangeKind {
    fn as_str(self) -> &'static str {
        match self {
            PolicyChangeKind::Added => "added",
            PolicyChangeKind::Removed => "removed",
            PolicyChangeKind::Modified => "modified",
        }
    }
}

/// A policy that differs between the tenants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyChange {
    /// Policy id.
    pub id: String,
    /// Display name (the `to` one when modified).
    pub display_name: String,
    /// Added, removed or modified.
    pub kind: PolicyChangeKind,
    /// For a modified policy: what differs (`state reportOnly → enabled`, `conditions`,
    /// `grantControls`, `sessionControls`, `displayName`).
    pub what: Vec<String>,
}

impl PolicyChange {
    /// `CA01 Block legacy (modified: state enabled → disabled)`.
    pub fn describe(&self) -> String {
        if self.what.is_empty() {
            format!("{} ({})", self.display_name, self.kind.as_str())
        } else {
            format!(
                "{} ({}: {})",
                self.display_name,
                self.kind.as_str(),
                self.what.join(", ")
            )
        }
    }
}

fn name_of(p: &Policy) -> String {
    if p.display_name.is_empty() {
        p.id.clone()
    } else {
        p.display_name.clone()
    }
}

/// A changed policy: what changed, the `to` tenant with it alone reverted, its index in the
/// `to` tenant (unless removed) and its `from` version (unless added).
type Changed = (PolicyChange, Tenant, Option<usize>, Option<Policy>);

/// The policies that differ, with the `to` tenant with each of them alone reverted.
fn changed_policies(from: &Tenant, to: &Tenant) -> Vec<Changed> {
    let key = |p: &Policy| normalize_id(&p.id);
    let mut out = Vec::new();
    for (i, p) in to.policies.iter().enumerate() {
        match from.policies.iter().find(|q| key(q) == key(p)) {
            None => {
                let mut t = to.clone();
                t.policies.remove(i);
                out.push((
                    PolicyChange {
                        id: p.id.clone(),
                        display_name: name_of(p),
                        kind: PolicyChangeKind::Added,
                        what: Vec::new(),
                    },
                    t,
                    Some(i),
                    None,
                ));
            }
            Some(q) => {
                let what = differences(q, p);
                if what.is_empty() {
                    continue;
                }
                let mut t = to.clone();
                if let Some(slot) = t.policies.get_mut(i) {
                    *slot = q.clone();
                }
                out.push((
                    PolicyChange {
                        id: p.id.clone(),
                        display_name: name_of(p),
                        kind: PolicyChangeKind::Modified,
                        what,
                    },
                    t,
                    Some(i),
                    Some(q.clone()),
                ));
            }
        }
    }
    for q in &from.policies {
        if !to.policies.iter().any(|p| key(p) == key(q)) {
            let mut t = to.clone();
            t.policies.push(q.clone());
            out.push((
                PolicyChange {
                    id: q.id.clone(),
                    display_name: name_of(q),
                    kind: PolicyChangeKind::Removed,
                    what: Vec::new(),
                },
                t,
                None,
                Some(q.clone()),
            ));
        }
    }
    out
}

/// What differs between two versions of a policy, by member of its JSON (metadata such as
/// `modifiedDateTime` ignored).
fn differences(a: &Policy, b: &Policy) -> Vec<String> {
    let mut what = Vec::new();
    if a.state != b.state {
        what.push(format!("state {} → {}", a.state.as_str(), b.state.as_str()));
    }
    if a.display_name != b.display_name {
        what.push("displayName".to_owned());
    }
    for member in ["conditions", "grantControls", "sessionControls"] {
        let (x, y) = (a.raw.get(member), b.raw.get(member));
        let empty = |v: Option<&serde_json::Value>| v.is_none_or(serde_json::Value::is_null);
        if x != y && !(empty(x) && empty(y)) {
            what.push(member.to_owned());
        }
    }
    what
}

/// One group of classes whose outcome changes the same way.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// `allow → deny 53003 (block)`.
    pub transition: String,
    /// Elementary classes in the group.
    pub classes: u64,
    /// The group in words.
    pub summary: String,
    /// The group, by class id.
    pub scope: ClassScope,
    /// A sign-in of the group.
    pub representative: Representative,
    /// Its outcome in the `from` tenant.
    pub from: DecisionSummary,
    /// Its outcome in the `to` tenant.
    pub to: DecisionSummary,
    /// The changed policies whose revert alone gives back the `from` outcome, by
    /// [`DiffSummary::policy_changes`] description.
    pub caused_by: Vec<String>,
    /// When no single revert gives it back (changes acting together): the changed policies
    /// whose revert alone alters the `to` outcome.
    pub contributing: Vec<String>,
}

/// Totals of one transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    /// `allow → deny 53003 (block)`.
    pub transition: String,
    /// Elementary classes that change this way.
    pub classes: u64,
    /// Groups reported for it.
    pub groups: usize,
}

/// Totals of a diff.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffSummary {
    /// Policies in the `from` tenant.
    pub from_policies: usize,
    /// Policies in the `to` tenant.
    pub to_policies: usize,
    /// Candidates and classes per dimension (union of both tenants).
    pub dimensions: Vec<DimensionCount>,
    /// Elementary classes compared.
    pub total_classes: u64,
    /// Distinct (users × targets) policy sets.
    pub outer_keys: usize,
    /// Distinct (other dimensions) policy sets and grant inputs.
    pub inner_keys: usize,
    /// Sign-ins decided by the core in each tenant.
    pub evaluations: usize,
    /// Wall-clock time, milliseconds.
    pub elapsed_ms: f64,
    /// Elementary classes whose outcome changes.
    pub changed_classes: u64,
    /// Per transition, most classes first.
    pub transitions: Vec<Transition>,
    /// The policies that differ between the tenants.
    pub policy_changes: Vec<PolicyChange>,
    /// Per changed policy: the classes whose transition it causes alone or contributes to.
    pub by_policy: Vec<PolicyAttribution>,
}

/// The classes one changed policy accounts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAttribution {
    /// The changed policy, described.
    pub policy: String,
    /// Classes whose transition its revert alone undoes.
    pub causes: u64,
    /// Classes whose transition it contributes to (no single cause).
    pub contributes: u64,
}

/// The result of `gardien diff`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffReport {
    /// Totals.
    pub summary: DiffSummary,
    /// What the partition approximates.
    pub approximations: Vec<String>,
    /// Every class of every dimension (union of both tenants).
    pub dimensions: Dimensions,
    /// Every changed group, grouped by transition (largest first).
    pub changes: Vec<Change>,
}

/// Compares two tenants class by class.
pub fn diff(from: &Tenant, to: &Tenant) -> Result<DiffReport, AnalysisError> {
    let started = Instant::now();
    let u = Universe::build(&[from, to], true, None);
    let (Some(a), Some(b)) = (u.tenants.first(), u.tenants.get(1)) else {
        return Err(AnalysisError::Inconsistent(
            "two tenants expected".to_owned(),
        ));
    };
    let changed = changed_policies(from, to);
    let variants = Variants::new(&u, to, &changed);
    let attribute = |v: &[Verdict], s: &SignIn| attribute(&variants, v, s);
    let walked = walk_signin(&u, attribute, None)?;
    let radix = u.radix();
    let describe = |list: &[u16]| -> Vec<String> {
        list.iter()
            .filter_map(|i| changed.get(usize::from(*i)))
            .map(|(c, ..)| c.describe())
            .collect()
    };
    let mut per_policy: Vec<(u64, u64)> = vec![(0, 0); changed.len()];
    let mut changes: Vec<(OutcomeKey, OutcomeKey, Change)> = Vec::new();
    for group in groups(&radix, &walked.found) {
        let (users, targets, scope) = (&group.users, &group.targets, &group.scope);
        let user = broadest(&u.users, users);
        let target = broadest(&u.targets, targets);
        let tuple = preferred_tuple(&u, scope);
        let (rep, signin) = representative(&u, user, target, &tuple).ok_or_else(|| {
            AnalysisError::Inconsistent("a representative has no sign-in".to_owned())
        })?;
        let verdicts = [a.decide(&signin), b.decide(&signin)];
        if attribute(&verdicts, &signin).as_ref() != Some(&group.label) {
            return Err(AnalysisError::Inconsistent(format!(
                "the representative of a changed group does not change the same way ({})",
                rep.description
            )));
        }
        let from_summary = DecisionSummary::of(a, &verdicts[0]);
        let to_summary = DecisionSummary::of(b, &verdicts[1]);
        let classes = scope_size(users, targets, scope);
        for i in &group.label.causes {
            if let Some(n) = per_policy.get_mut(usize::from(*i)) {
                n.0 += classes;
            }
        }
        for i in &group.label.contributing {
            if let Some(n) = per_policy.get_mut(usize::from(*i)) {
                n.1 += classes;
            }
        }
        changes.push((
            group.label.from,
            group.label.to,
            Change {
                transition: format!("{} → {}", from_summary.short(), to_summary.short()),
                classes,
                summary: describe_scope(&u, users, targets, scope),
                scope: class_scope(users, targets, scope),
                representative: rep,
                from: from_summary,
                to: to_summary,
                caused_by: describe(&group.label.causes),
                contributing: describe(&group.label.contributing),
            },
        ));
    }
    let mut by_policy: Vec<PolicyAttribution> = changed
        .iter()
        .zip(&per_policy)
        .map(|((c, ..), (causes, contributes))| PolicyAttribution {
            policy: c.describe(),
            causes: *causes,
            contributes: *contributes,
        })
        .collect();
    by_policy.sort_by(|x, y| {
        (y.causes + y.contributes)
            .cmp(&(x.causes + x.contributes))
            .then(x.policy.cmp(&y.policy))
    });
    // Group by transition, the largest first.
    let mut totals: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    for (_, _, c) in &changes {
        let e = totals.entry(c.transition.clone()).or_default();
        e.0 += c.classes;
        e.1 += 1;
    }
    changes.sort_by(|(_, _, x), (_, _, y)| {
        let tx = totals.get(&x.transition).map(|t| t.0).unwrap_or(0);
        let ty = totals.get(&y.transition).map(|t| t.0).unwrap_or(0);
        ty.cmp(&tx)
            .then(x.transition.cmp(&y.transition))
            .then(y.classes.cmp(&x.classes))
    });
    let mut transitions: Vec<Transition> = totals
        .into_iter()
        .map(|(transition, (classes, groups))| Transition {
            transition,
            classes,
            groups,
        })
        .collect();
    transitions.sort_by(|x, y| {
        y.classes
            .cmp(&x.classes)
            .then(x.transition.cmp(&y.transition))
    });
    let changes: Vec<Change> = changes.into_iter().map(|(_, _, c)| c).collect();
    let mut approximations = u.approximations.clone();
    approximations.push(
        "sessions: no MFA, MFA (password + Authenticator push) and phishing-resistant MFA \
         (FIDO2); not partitioned: workload identities, baseline-scope requests, refresh \
         tokens, sign-in frequency, approved client apps, app protection and terms of use"
            .to_owned(),
    );
    let summary = DiffSummary {
        from_policies: from.policies.len(),
        to_policies: to.policies.len(),
        dimensions: counts(&u),
        total_classes: u64::try_from(u.total_classes()).unwrap_or(u64::MAX),
        outer_keys: walked.outer_keys,
        inner_keys: walked.inner_keys,
        evaluations: walked.evaluations,
        elapsed_ms: (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
        changed_classes: changes.iter().map(|c| c.classes).sum(),
        transitions,
        policy_changes: changed.into_iter().map(|(c, ..)| c).collect(),
        by_policy,
    };
    Ok(DiffReport {
        summary,
        approximations,
        dimensions: dimensions(&u),
        changes,
    })
}

impl DiffReport {
    /// Whether any class changes outcome.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }
}

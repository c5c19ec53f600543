//! Semantic difference between two tenants: which classes of sign-ins change decision, error
//! code or required controls — not a JSON diff.
//!
//! Both tenants are evaluated over the union of their partitions (the classes either set of
//! policies distinguishes, [`crate::gaps::partition`]), with no MFA, MFA, and
//! phishing-resistant MFA done. Changed classes are grouped by transition (e.g.
//! `allow → deny 53003`) into boxes, each with a representative sign-in decided by the core
//! in both tenants.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Instant;

use gardien_core::eval::grant::Controls;
use gardien_core::model::tenant::Tenant;
use gardien_core::{Decision, Verdict};
use serde::Serialize;

use crate::gaps::partition::Universe;
use crate::gaps::partition::enumerate::{groups, walk};
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
    let u = Universe::build(&[from, to], true);
    let (Some(a), Some(b)) = (u.tenants.first(), u.tenants.get(1)) else {
        return Err(AnalysisError::Inconsistent(
            "two tenants expected".to_owned(),
        ));
    };
    let walked = walk(&u, classify)?;
    let radix = u.radix();
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
        if classify(&verdicts) != Some(group.label) {
            return Err(AnalysisError::Inconsistent(format!(
                "the representative of a changed group does not change the same way ({})",
                rep.description
            )));
        }
        let from_summary = DecisionSummary::of(a, &verdicts[0]);
        let to_summary = DecisionSummary::of(b, &verdicts[1]);
        changes.push((
            group.label.0,
            group.label.1,
            Change {
                transition: format!("{} → {}", from_summary.short(), to_summary.short()),
                classes: scope_size(users, targets, scope),
                summary: describe_scope(&u, users, targets, scope),
                scope: class_scope(users, targets, scope),
                representative: rep,
                from: from_summary,
                to: to_summary,
            },
        ));
    }
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
    };
    Ok(DiffReport {
        summary,
        approximations,
        dimensions: dimensions(&u),
        changes,
    })
}

/// Groups shown per transition by [`DiffReport::to_text`].
pub const TEXT_GROUPS_PER_TRANSITION: usize = 5;

impl DiffReport {
    /// Whether any class changes outcome.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let s = &self.summary;
        let mut out = format!(
            "Semantic diff: {} policies → {} policies\n",
            s.from_policies, s.to_policies
        );
        let dims: Vec<String> = s
            .dimensions
            .iter()
            .map(|d| format!("{} {}", d.dimension, d.classes))
            .collect();
        out.push_str(&format!(
            "Partition (union of both tenants): {}\n  = {} classes compared ({} sign-ins decided in each tenant) in {:.1} ms\n\n",
            dims.join(" · "),
            s.total_classes,
            s.evaluations,
            s.elapsed_ms
        ));
        if !self.has_changes() {
            out.push_str(
                "No change: every class keeps its decision, error code and required controls.\n",
            );
            return out;
        }
        out.push_str(&format!("{} classes change outcome:\n", s.changed_classes));
        for t in &s.transitions {
            out.push_str(&format!(
                "  {}: {} classes in {} groups\n",
                t.transition, t.classes, t.groups
            ));
        }
        for t in &s.transitions {
            out.push_str(&format!("\n{} ({} classes)\n", t.transition, t.classes));
            let groups: Vec<&Change> = self
                .changes
                .iter()
                .filter(|c| c.transition == t.transition)
                .collect();
            for c in groups.iter().take(TEXT_GROUPS_PER_TRANSITION) {
                out.push_str(&format!("  - {} ({} classes)\n", c.summary, c.classes));
                out.push_str(&format!(
                    "    e.g. {}\n    from: {}{}\n    to:   {}{}\n",
                    c.representative.description,
                    c.from.short(),
                    applied(&c.from),
                    c.to.short(),
                    applied(&c.to)
                ));
                if let Some(entry) = &c.representative.directory_user {
                    out.push_str(&format!(
                        "    (a hypothetical user: add to directory.json `users` to reproduce: {})\n",
                        serde_json::to_string(entry).unwrap_or_default()
                    ));
                }
            }
            if groups.len() > TEXT_GROUPS_PER_TRANSITION {
                out.push_str(&format!(
                    "  … and {} more groups (--json lists them all)\n",
                    groups.len() - TEXT_GROUPS_PER_TRANSITION
                ));
            }
        }
        out
    }
}

fn applied(d: &DecisionSummary) -> String {
    if d.applied_policies.is_empty() {
        ", no enabled policy applies".to_owned()
    } else {
        format!(", applied: {}", d.applied_policies.join(", "))
    }
}

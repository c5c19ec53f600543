//! Coverage gaps: classes of sign-ins that reach a resource with no control at all, or with
//! no strong control (MFA, authentication strength, compliant or hybrid joined device, block).
//!
//! The sign-in space is partitioned, dimension by dimension, into the equivalence classes the
//! policies distinguish ([`partition`]); every combination of classes is decided by the core
//! with no MFA done, exhaustively. Gaps are grouped into boxes (users × targets × a product
//! of classes of the other dimensions), ranked by exposure, and each box is reported with a
//! representative sign-in that the core evaluated and that `gardien evaluate` reproduces.

pub(crate) mod partition;
mod report;
#[cfg(test)]
pub(crate) mod tests;

use std::time::Instant;

use gardien_core::eval::grant::Control;
use gardien_core::model::enums::{BuiltInControl, RiskLevel};
use gardien_core::model::policy::PolicyState;
use gardien_core::model::tenant::Tenant;
use gardien_core::{CompiledTenant, Decision, Verdict};
use serde::Serialize;

use partition::enumerate::{WalkError, groups, walk, walk_partial};
use partition::{Scope, Universe};
pub use report::{
    ClassInfo, ClassScope, DecisionSummary, DimensionCount, Dimensions, Representative,
};
pub(crate) use report::{
    broadest, class_scope, counts, describe_scope, dimensions, preferred_tuple, representative,
    scope_size,
};

/// Why an analysis could not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    /// The partition has too many classes to walk.
    #[error(
        "the partition has {combinations} combinations of classes, more than gardien walks; \
         split the tenant or report the case"
    )]
    TooLarge {
        /// Combinations that would have been walked.
        combinations: u128,
    },
    /// A representative did not evaluate to what its group says (a bug in gardien).
    #[error("internal inconsistency: {0}")]
    Inconsistent(String),
}

impl From<WalkError> for AnalysisError {
    fn from(e: WalkError) -> Self {
        match e {
            WalkError::TooLarge { combinations } => AnalysisError::TooLarge { combinations },
            WalkError::Internal(m) => AnalysisError::Inconsistent(m),
        }
    }
}

/// What kind of gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum GapKind {
    /// Allowed and no enabled policy applies.
    NoControl,
    /// Allowed or challenged, but nothing strong is required: policies apply yet ask only for
    /// session controls, terms of use, a password change...
    NoStrongControl,
}

impl GapKind {
    /// In words: `no control`, `no strong control`.
    pub fn text(self) -> &'static str {
        match self {
            GapKind::NoControl => "no control",
            GapKind::NoStrongControl => "no strong control",
        }
    }
}

/// Whether a decision of the core (with no MFA done) is a gap.
///
/// Strong: deny; a challenge for MFA or an authentication strength; an allow that an
/// applying policy granted through a compliant or hybrid joined device (an allowed sign-in
/// satisfied every applying policy, and MFA was not done, so such a policy was satisfied by
/// the device).
pub(crate) fn classify(tenant: &CompiledTenant, v: &Verdict) -> Option<GapKind> {
    match v.decision {
        Decision::Deny => None,
        Decision::Challenge => {
            let strong = v.required.contains(Control::Mfa)
                || v.required.contains(Control::AuthenticationStrength);
            (!strong).then_some(GapKind::NoStrongControl)
        }
        Decision::Allow if v.applied.is_empty() => Some(GapKind::NoControl),
        Decision::Allow => {
            let device = v.applied.iter().any(|i| {
                tenant
                    .tenant
                    .policies
                    .get(i)
                    .and_then(|p| p.grant.as_ref())
                    .is_some_and(|g| {
                        g.built_in.contains(&BuiltInControl::CompliantDevice)
                            || g.built_in.contains(&BuiltInControl::DomainJoinedDevice)
                    })
            });
            (!device).then_some(GapKind::NoStrongControl)
        }
    }
}

/// How a dimension is treated with respect to an attacker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DimensionStance {
    /// Dimension name (as in [`Dimensions`]).
    pub dimension: String,
    /// `yes`, `partly` or `no`.
    pub attacker_controlled: String,
    /// What is assumed.
    pub assumption: String,
}

/// The dimensions and what an attacker (holding a user's password) is assumed to control.
pub fn attacker_stances() -> Vec<DimensionStance> {
    let s = |d: &str, c: &str, a: &str| DimensionStance {
        dimension: d.to_owned(),
        attacker_controlled: c.to_owned(),
        assumption: a.to_owned(),
    };
    vec![
        s(
            "users",
            "no",
            "the attacker signs in as whoever's password they hold; classes are ranked by how broad they are",
        ),
        s(
            "applications",
            "yes",
            "the attacker asks a token for any application, or performs a user action",
        ),
        s(
            "platforms",
            "yes",
            "read from the User-Agent: any platform, including an unrecognised one",
        ),
        s(
            "clientAppTypes",
            "yes",
            "the attacker picks the protocol: browser, native client, Exchange ActiveSync or another legacy protocol",
        ),
        s(
            "locations",
            "partly",
            "any country (VPN, proxy) and any address outside the tenant's named IP ranges; never an address inside them, the compliant network or a GPS country",
        ),
        s(
            "devices",
            "partly",
            "the attacker's device is unregistered (presents no device identity); registered, compliant or hybrid joined devices are not",
        ),
        s(
            "signInRisk",
            "partly",
            "not chosen, but usually kept at none or low by blending in; gaps still open at high sign-in risk rank higher",
        ),
        s(
            "userRisk",
            "no",
            "cannot be lowered by the attacker; a gap is reachable when open at user risk none",
        ),
        s(
            "insiderRisk",
            "no",
            "a gap is reachable when open at insider risk none",
        ),
        s(
            "authenticationFlows",
            "yes",
            "the attacker can start a device code flow; authentication transfer needs an existing session",
        ),
        s(
            "sessions",
            "no",
            "gaps are computed with no MFA done (password only), no terms of use accepted, no approved client app or app protection",
        ),
    ]
}

/// One gap: a box of sign-in classes with the same kind of gap, and its representative.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    /// 1 = most exposed.
    pub rank: usize,
    /// No control, or no strong control.
    pub kind: GapKind,
    /// Exposure score, 0–100 (see docs/gaps.md).
    pub exposure: f64,
    /// Whether an attacker (unregistered device, outside the tenant's networks, no MFA,
    /// low sign-in risk, no user risk) can land in the box.
    pub attacker_reachable: bool,
    /// Whether the box includes high sign-in risk (no risk policy closes it).
    pub open_at_high_sign_in_risk: bool,
    /// Elementary classes (one per combination of classes) in the box.
    pub classes: u64,
    /// The box in words.
    pub summary: String,
    /// The box, by class id.
    pub scope: ClassScope,
    /// A sign-in of the box.
    pub representative: Representative,
    /// What the core decided for it.
    pub outcome: DecisionSummary,
}

/// Totals of a gap analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GapsSummary {
    /// Policies in the tenant.
    pub policies: usize,
    /// Enabled policies.
    pub enabled: usize,
    /// Report-only policies.
    pub report_only: usize,
    /// Disabled policies.
    pub disabled: usize,
    /// Candidates and classes per dimension.
    pub dimensions: Vec<DimensionCount>,
    /// Elementary classes (product of every dimension's classes).
    pub total_classes: u64,
    /// Distinct (users × targets) policy sets.
    pub outer_keys: usize,
    /// Distinct (other dimensions) policy sets and grant inputs.
    pub inner_keys: usize,
    /// Sign-ins decided by the core during the walk.
    pub evaluations: usize,
    /// Wall-clock time of the analysis, milliseconds.
    pub elapsed_ms: f64,
    /// Elementary classes with no control.
    pub no_control_classes: u64,
    /// Elementary classes with no strong control.
    pub no_strong_control_classes: u64,
    /// Gaps reported.
    pub gaps: usize,
    /// Gaps an attacker can reach.
    pub attacker_reachable_gaps: usize,
    /// Present when the walk was too large and only part of it was walked
    /// ([`GapsOptions::partial`]): the gaps listed are real, the others were not looked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial: Option<PartialWalk>,
}

/// What a partial analysis walked ([`GapsOptions::partial`]): the users × applications
/// keys with the broadest users and applications first, as many as the walk bound allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartialWalk {
    /// Combinations of the whole walk, more than gardien walks.
    pub combinations: u128,
    /// The most combinations gardien walks.
    pub limit: u128,
    /// Distinct (users × applications) policy sets walked.
    pub outer_keys_walked: usize,
    /// Distinct (users × applications) policy sets in all.
    pub outer_keys_total: usize,
    /// (user class, application class) pairs walked.
    pub pairs_walked: usize,
    /// (user class, application class) pairs in all.
    pub pairs_total: usize,
}

/// The result of `gardien gaps`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GapsReport {
    /// Totals.
    pub summary: GapsSummary,
    /// What an attacker is assumed to control, per dimension.
    pub attacker_controlled: Vec<DimensionStance>,
    /// What the partition approximates.
    pub approximations: Vec<String>,
    /// Every class of every dimension.
    pub dimensions: Dimensions,
    /// Every gap, most exposed first.
    pub gaps: Vec<Gap>,
}

fn weight_share<V>(classes: &[partition::Class<V>], picked: &[u16], only_attacker: bool) -> f64 {
    let count = |c: &partition::Class<V>| {
        if only_attacker && !c.attacker {
            0.0
        } else {
            c.member_count as f64
        }
    };
    let total: f64 = classes.iter().map(count).sum();
    if total == 0.0 {
        return 0.0;
    }
    let part: f64 = picked
        .iter()
        .filter_map(|i| classes.get(usize::from(*i)))
        .map(count)
        .sum();
    part / total
}

/// Exposure of a box: how broad its users and targets are, how much of what an attacker
/// controls it covers, whether an attacker can land in it at all.
fn exposure(
    u: &Universe,
    users: &[u32],
    targets: &[u32],
    scope: &Scope,
    kind: GapKind,
) -> (f64, bool, bool) {
    let user_w = users
        .iter()
        .filter_map(|i| u.users.get(*i as usize))
        .map(|c| c.weight)
        .max()
        .unwrap_or(0);
    let target_w = targets
        .iter()
        .filter_map(|i| u.targets.get(*i as usize))
        .map(|c| c.weight)
        .max()
        .unwrap_or(0);
    let target_w = (target_w + 5 * (targets.len().saturating_sub(1) as u32)).min(100);
    let has_attacker = |picked: &[u16], attacker: &dyn Fn(usize) -> bool| {
        picked.iter().any(|i| attacker(usize::from(*i)))
    };
    let reachable = has_attacker(&scope[2], &|i| {
        u.locations.get(i).is_some_and(|c| c.attacker)
    }) && has_attacker(&scope[3], &|i| {
        u.devices.get(i).is_some_and(|c| c.attacker)
    }) && has_attacker(&scope[4], &|i| {
        u.sign_in_risks.get(i).is_some_and(|c| c.attacker)
    }) && has_attacker(&scope[5], &|i| {
        u.user_risks.get(i).is_some_and(|c| c.attacker)
    }) && has_attacker(&scope[6], &|i| {
        u.insider_risks.get(i).is_some_and(|c| c.attacker)
    }) && has_attacker(&scope[7], &|i| u.flows.get(i).is_some_and(|c| c.attacker))
        && has_attacker(&scope[8], &|i| {
            u.sessions.get(i).is_some_and(|c| c.attacker)
        })
        && targets
            .iter()
            .any(|i| u.targets.get(*i as usize).is_some_and(|c| c.attacker));
    let coverage = weight_share(&u.platforms, &scope[0], false)
        * weight_share(&u.clients, &scope[1], false)
        * weight_share(&u.locations, &scope[2], true)
        * weight_share(&u.flows, &scope[7], true);
    let high = scope[4].iter().any(|i| {
        u.sign_in_risks
            .get(usize::from(*i))
            .is_some_and(|c| c.value == RiskLevel::High)
    });
    let score = 100.0
        * (f64::from(user_w) / 100.0)
        * (f64::from(target_w) / 100.0)
        * if reachable {
            // The attacker picks one open value of what they control: breadth only breaks ties.
            0.9 + 0.1 * coverage
        } else {
            0.05
        }
        * match kind {
            GapKind::NoControl => 1.0,
            GapKind::NoStrongControl => 0.6,
        }
        * if high { 1.0 } else { 0.8 };
    ((score * 10.0).round() / 10.0, reachable, high)
}

/// How [`find_gaps_with`] partitions the sign-in space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GapsOptions {
    /// When the named IP ranges have more boundaries than this, one address per IP named
    /// location stands for its ranges (as `gardien doc` by default; the report's
    /// approximations say so): the location classes then number at most the locations, not
    /// the boundaries. `None` (the default, `gardien gaps`): every boundary, exact.
    pub ip_bound: Option<usize>,
    /// When the walk has more combinations than gardien walks, walk the users ×
    /// applications keys with the broadest users and applications first, as many as fit,
    /// instead of refusing (`gardien gaps --partial`; [`GapsSummary::partial`] says what
    /// was walked). An inner side (the nine other dimensions) too large alone is still
    /// refused.
    pub partial: bool,
}

/// Finds the coverage gaps of a tenant (exact partition).
pub fn find_gaps(tenant: &Tenant) -> Result<GapsReport, AnalysisError> {
    find_gaps_with(tenant, GapsOptions::default())
}

/// Finds the coverage gaps of a tenant, partitioned as `options` say.
pub fn find_gaps_with(tenant: &Tenant, options: GapsOptions) -> Result<GapsReport, AnalysisError> {
    let started = Instant::now();
    let u = Universe::build(&[tenant], false, options.ip_bound);
    let Some(compiled) = u.tenants.first() else {
        return Err(AnalysisError::Inconsistent("no tenant".to_owned()));
    };
    let label = |v: &[Verdict]| v.first().and_then(|v| classify(compiled, v));
    let walked = if options.partial {
        walk_partial(&u, label)?
    } else {
        walk(&u, label)?
    };
    let radix = u.radix();
    let mut gaps = Vec::new();
    let (mut no_control, mut no_strong) = (0u64, 0u64);
    for group in groups(&radix, &walked.found) {
        let (users, targets, scope, label) =
            (&group.users, &group.targets, &group.scope, group.label);
        let classes = scope_size(users, targets, scope);
        match label {
            GapKind::NoControl => no_control += classes,
            GapKind::NoStrongControl => no_strong += classes,
        }
        let user = broadest(&u.users, users);
        let target = broadest(&u.targets, targets);
        let tuple = preferred_tuple(&u, scope);
        let (rep, signin) = representative(&u, user, target, &tuple).ok_or_else(|| {
            AnalysisError::Inconsistent("a representative has no sign-in".to_owned())
        })?;
        let verdict = compiled.decide(&signin);
        if classify(compiled, &verdict) != Some(label) {
            return Err(AnalysisError::Inconsistent(format!(
                "the representative of a `{}` group evaluates to {} ({})",
                label.text(),
                verdict.decision.as_str(),
                rep.description
            )));
        }
        let (score, reachable, high) = exposure(&u, users, targets, scope, label);
        gaps.push(Gap {
            rank: 0,
            kind: label,
            exposure: score,
            attacker_reachable: reachable,
            open_at_high_sign_in_risk: high,
            classes,
            summary: describe_scope(&u, users, targets, scope),
            scope: class_scope(users, targets, scope),
            representative: rep,
            outcome: DecisionSummary::of(compiled, &verdict),
        });
    }
    gaps.sort_by(|a, b| {
        b.attacker_reachable
            .cmp(&a.attacker_reachable)
            .then(b.exposure.total_cmp(&a.exposure))
            .then(b.classes.cmp(&a.classes))
    });
    for (i, g) in gaps.iter_mut().enumerate() {
        g.rank = i + 1;
    }
    let policies = &tenant.policies;
    let state = |s: PolicyState| policies.iter().filter(|p| p.state == s).count();
    let mut approximations = u.approximations.clone();
    approximations.push(
        "not partitioned: workload identities (service principals) and their risk, requests \
         for baseline scopes only, refresh tokens (protocol tracking), sign-in frequency, \
         approved client apps, app protection policies and terms of use (never satisfied)"
            .to_owned(),
    );
    let summary = GapsSummary {
        policies: policies.len(),
        enabled: state(PolicyState::Enabled),
        report_only: state(PolicyState::ReportOnly),
        disabled: state(PolicyState::Disabled),
        dimensions: counts(&u),
        total_classes: u64::try_from(u.total_classes()).unwrap_or(u64::MAX),
        outer_keys: walked.outer_keys,
        inner_keys: walked.inner_keys,
        evaluations: walked.evaluations,
        elapsed_ms: (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
        no_control_classes: no_control,
        no_strong_control_classes: no_strong,
        gaps: gaps.len(),
        attacker_reachable_gaps: gaps.iter().filter(|g| g.attacker_reachable).count(),
        partial: walked.truncated.map(|t| PartialWalk {
            combinations: t.combinations,
            limit: partition::enumerate::MAX_COMBINATIONS,
            outer_keys_walked: t.outer_walked,
            outer_keys_total: t.outer_total,
            pairs_walked: t.pairs_walked,
            pairs_total: t.pairs_total,
        }),
    };
    Ok(GapsReport {
        summary,
        attacker_controlled: attacker_stances(),
        approximations,
        dimensions: dimensions(&u),
        gaps,
    })
}

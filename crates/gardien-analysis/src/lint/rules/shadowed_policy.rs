//! `GA202` shadowed-policy: every sign-in an enabled policy applies to is also blocked by
//! another enabled policy.
//!
//! Policy P is shadowed by an enabled blocking policy Q when Q's conditions contain P's
//! according to the core's containment predicates (one per condition family, next to its
//! check: [`gardien_core::eval::conditions::conditions_contain`]), and the evaluator agrees
//! on every probe sign-in of the per-family search ([`crate::lint::search::families`]):
//! P applies ⇒ Q applies. Lint keeps only the search.

use gardien_core::eval::conditions::conditions_contain;
use gardien_core::eval::input::{Baseline, baseline_handling};
use gardien_core::model::policy::{Policy, PolicyState};

use crate::lint::Context;
use crate::lint::registry::SHADOWED;
use crate::lint::search::families::Families;

/// Whether `q`'s conditions contain `p`'s: every sign-in `p` applies to, `q` applies to
/// (the core's containment predicates, family by family; conservative).
fn contains(q: &Policy, p: &Policy, baseline_exemption: bool) -> bool {
    conditions_contain(&q.conditions, &p.conditions, baseline_exemption)
}

fn blocks(p: &Policy) -> bool {
    p.grant.as_ref().is_some_and(|g| g.is_block())
}

pub(super) fn check(cx: &mut Context<'_>, search: &Families) {
    let tenant = cx.tenant;
    let policies = &tenant.tenant.policies;
    // Baseline-scope requests may be exempt from `All` policies with exclusions (legacy mode,
    // before the rollout date, or through a custom target resource): containment must hold
    // for them too.
    let legacy = baseline_handling(
        &tenant.tenant.directory.baseline_scopes_mode,
        cx.options.now,
    ) != Baseline::AzureAdGraph;
    let enabled: Vec<usize> = search
        .live
        .iter()
        .copied()
        .filter(|&i| {
            search.failing(cx, i).is_none()
                && policies
                    .get(i)
                    .is_some_and(|p| p.state == PolicyState::Enabled)
        })
        .collect();
    for &i in &enabled {
        let Some(p) = policies.get(i) else { continue };
        let shadow = enabled.iter().copied().find(|&j| {
            let Some(q) = policies.get(j) else {
                return false;
            };
            if j == i || !blocks(q) || !contains(q, p, legacy) {
                return false;
            }
            // Identical blocks: report only the later one.
            if blocks(p) && contains(p, q, legacy) && j > i {
                return false;
            }
            search.agree(i, j)
        });
        if let Some(j) = shadow {
            let (name, other) = (cx.policy_name(i), cx.policy_name(j));
            let same = policies.get(j).is_some_and(|q| contains(p, q, legacy));
            let what = if blocks(p) {
                "is redundant"
            } else {
                "never takes effect"
            };
            cx.report(
                SHADOWED,
                Some(i),
                "/conditions",
                format!(
                    "policy {name} {what}: policy {other} blocks every sign-in it applies to{}",
                    if same { " (same conditions)" } else { "" }
                ),
                None,
            );
        }
    }
}

//! Sign-in, user, service-principal and insider risk (docs/reference/entra-semantics.md §1.10,
//! §3.9).

use crate::eval::input::{Input, Mode, Outcome};
use crate::eval::trace::Tracer;
use crate::model::enums::{EnumSet, InsiderRiskLevel, RiskLevel};

/// Whether every sign-in that the risk levels `inner` select is selected by `outer` too, for
/// sign-in, user and service principal risk (an empty set is "not configured": every level).
/// A configured set selects exactly its levels ([`check_risk`]).
pub fn risk_levels_contain(outer: EnumSet, inner: EnumSet) -> bool {
    let selects = |set: EnumSet, level: RiskLevel| set.is_empty() || set.contains(level.index());
    RiskLevel::ALL
        .iter()
        .all(|&l| !selects(inner, l) || selects(outer, l))
}

/// Whether every sign-in that the insider risk levels `inner` select is selected by `outer`
/// too (`None`: not configured, every level).
pub fn insider_risk_contains(outer: Option<EnumSet>, inner: Option<EnumSet>) -> bool {
    let selects =
        |set: Option<EnumSet>, l: InsiderRiskLevel| set.is_none_or(|s| s.contains(l.index()));
    InsiderRiskLevel::ALL
        .iter()
        .all(|&l| !selects(inner, l) || selects(outer, l))
}

/// Exact membership of the request's risk level in the selected levels. A missing level is
/// `none` in enforcement and undecidable in what-if.
pub(crate) fn check_risk<T: Tracer>(
    levels: EnumSet,
    given: Option<RiskLevel>,
    what: &str,
    input: &Input<'_>,
    t: &mut T,
) -> Outcome {
    let level = match (given, input.mode) {
        (Some(l), _) => l,
        (None, Mode::Enforce) => RiskLevel::None,
        (None, Mode::WhatIf) => {
            t.note(|| format!("the request gives no {what} level"));
            return Outcome::Unknown;
        }
    };
    let hit = levels.contains(level.index());
    t.note(|| {
        format!(
            "{what} `{level}` is {}selected",
            if hit { "" } else { "not " }
        )
    });
    Outcome::of(hit)
}

/// Insider risk (flags): the user's level must be one of the selected flags.
pub(crate) fn check_insider<T: Tracer>(levels: EnumSet, input: &Input<'_>, t: &mut T) -> Outcome {
    let level = match (input.signin.insider_risk, input.mode) {
        (Some(l), _) => l,
        (None, Mode::Enforce) => InsiderRiskLevel::None,
        (None, Mode::WhatIf) => {
            t.note(|| "the request gives no insider risk level".to_owned());
            return Outcome::Unknown;
        }
    };
    let hit = levels.contains(level.index());
    t.note(|| {
        format!(
            "insider risk `{level}` is {}selected",
            if hit { "" } else { "not " }
        )
    });
    Outcome::of(hit)
}

#[cfg(test)]
mod tests {
    use super::{insider_risk_contains, risk_levels_contain};
    use crate::model::enums::{EnumSet, InsiderRiskLevel, RiskLevel};

    fn levels<I: IntoIterator<Item = usize>>(indices: I) -> EnumSet {
        let mut s = EnumSet::default();
        for i in indices {
            s.insert(i);
        }
        s
    }

    #[test]
    fn containment_of_risk_levels() {
        let high = levels([RiskLevel::High.index()]);
        let medium_high = levels([RiskLevel::Medium.index(), RiskLevel::High.index()]);
        assert!(risk_levels_contain(medium_high, high));
        assert!(!risk_levels_contain(high, medium_high));
        // Not configured is every level, `none` included.
        assert!(risk_levels_contain(EnumSet::default(), high));
        assert!(!risk_levels_contain(high, EnumSet::default()));
        let every = levels(RiskLevel::ALL.iter().map(|l| l.index()));
        assert!(risk_levels_contain(every, EnumSet::default()));

        let elevated = levels([InsiderRiskLevel::Elevated.index()]);
        assert!(insider_risk_contains(None, Some(elevated)));
        assert!(!insider_risk_contains(Some(elevated), None));
        assert!(insider_risk_contains(Some(elevated), Some(elevated)));
    }
}

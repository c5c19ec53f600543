//! Sign-in, user, service-principal and insider risk (docs/reference/entra-semantics.md §1.10,
//! §3.9).

use crate::eval::input::{Input, Mode, Outcome};
use crate::eval::trace::Tracer;
use crate::model::enums::{EnumSet, InsiderRiskLevel, RiskLevel};

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

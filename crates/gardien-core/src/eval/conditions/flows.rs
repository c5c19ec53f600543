//! Authentication flows with protocol tracking (spec §1.11, §3.2 item 9).

use crate::eval::input::{Input, Mode, Outcome};
use crate::eval::trace::Tracer;
use crate::model::enums::{EnumSet, TransferMethod};

/// Matches when the request's transfer method, or the one that created its session
/// (protocol tracking survives refreshes), is selected.
pub(crate) fn check_flows<T: Tracer>(methods: EnumSet, input: &Input<'_>, t: &mut T) -> Outcome {
    let current = input.signin.transfer_method;
    let original = input.signin.session.original_transfer_method;
    if current.is_none() && original.is_none() && input.mode == Mode::WhatIf {
        t.note(|| "the request gives no authentication flow".to_owned());
        return Outcome::Unknown;
    }
    let selected = |m: Option<TransferMethod>| {
        m.is_some_and(|m| m != TransferMethod::None && methods.contains(m.index()))
    };
    if selected(current) {
        t.note(|| {
            format!(
                "transfer method `{}` is selected",
                current.map(|m| m.as_str()).unwrap_or("")
            )
        });
        return Outcome::Satisfied;
    }
    if selected(original) {
        t.note(|| {
            format!(
                "the session was created by `{}` (protocol tracking)",
                original.map(|m| m.as_str()).unwrap_or("")
            )
        });
        return Outcome::Satisfied;
    }
    t.note(|| {
        format!(
            "transfer method `{}` is not selected",
            current.unwrap_or(TransferMethod::None)
        )
    });
    Outcome::NotSatisfied
}

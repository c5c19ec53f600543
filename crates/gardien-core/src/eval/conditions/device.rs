//! Device filter and legacy device states (docs/reference/entra-semantics.md §1.9, §3.2 items 7 and
//! 10, §3.8).

use crate::eval::input::{Input, Outcome};
use crate::eval::trace::Tracer;
use crate::model::policy::{DeviceFilterCondition, DeviceStatesCondition, FilterMode};

/// The device filter of a policy: include mode needs a match, exclude mode needs none.
pub(crate) fn check_device_filter<T: Tracer>(
    cond: &DeviceFilterCondition,
    input: &Input<'_>,
    t: &mut T,
) -> Outcome {
    let device = input.device();
    let matched = cond.rule.matches(device);
    if T::ENABLED {
        t.note(|| {
            let who = if device.is_some() {
                "the device"
            } else {
                "the unregistered device (every property null)"
            };
            let detail: Vec<String> = cond
                .rule
                .explain(device)
                .into_iter()
                .map(|c| {
                    format!(
                        "{} → {} (value {})",
                        c.text,
                        c.result,
                        c.actual
                            .as_deref()
                            .map(|v| format!("`{v}`"))
                            .unwrap_or_else(|| "null".to_owned())
                    )
                })
                .collect();
            format!(
                "{who} {} rule `{}` in {} mode: {}",
                if matched { "matches" } else { "does not match" },
                cond.rule.source(),
                if cond.mode == FilterMode::Include {
                    "include"
                } else {
                    "exclude"
                },
                detail.join(", ")
            )
        });
    }
    Outcome::of(match cond.mode {
        FilterMode::Include => matched,
        FilterMode::Exclude => !matched,
    })
}

/// Legacy `deviceStates`: all devices except compliant and/or hybrid joined ones.
pub(crate) fn check_device_states<T: Tracer>(
    cond: &DeviceStatesCondition,
    input: &Input<'_>,
    t: &mut T,
) -> Outcome {
    let device = input.device();
    let compliant = device.is_some_and(|d| d.is_compliant == Some(true));
    let hybrid = device.is_some_and(|d| d.is_hybrid_joined());
    if cond.exclude_compliant && compliant {
        t.note(|| "compliant devices are excluded and the device is compliant".to_owned());
        return Outcome::NotSatisfied;
    }
    if cond.exclude_domain_joined && hybrid {
        t.note(|| "hybrid joined devices are excluded and the device is hybrid joined".to_owned());
        return Outcome::NotSatisfied;
    }
    t.note(|| "the device is not in an excluded device state".to_owned());
    Outcome::Satisfied
}

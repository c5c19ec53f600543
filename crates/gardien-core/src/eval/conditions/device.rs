//! Device filter and legacy device states (docs/reference/entra-semantics.md §1.9, §3.2 items 7 and
//! 10, §3.8).

use crate::eval::input::{Input, Outcome};
use crate::eval::trace::Tracer;
use crate::model::policy::{DeviceFilterCondition, DeviceStatesCondition, FilterMode};

/// Whether every device that the device filter `inner` selects is selected by `outer` too
/// (`None`: no filter, every device). Structural: filters are compared by mode and rule text
/// only, so `false` may only mean "not obviously".
pub fn device_filters_contain(
    outer: Option<&DeviceFilterCondition>,
    inner: Option<&DeviceFilterCondition>,
) -> bool {
    match (outer, inner) {
        (None, _) => true,
        (Some(q), Some(p)) => q.mode == p.mode && q.rule.source() == p.rule.source(),
        (Some(_), None) => false,
    }
}

/// Whether every device that the legacy device states `inner` select is selected by `outer`
/// too (`None`: every device): `outer` excludes only states `inner` excludes.
pub fn device_states_contain(
    outer: Option<&DeviceStatesCondition>,
    inner: Option<&DeviceStatesCondition>,
) -> bool {
    let none = DeviceStatesCondition::default();
    let (q, p) = (outer.unwrap_or(&none), inner.unwrap_or(&none));
    (!q.exclude_compliant || p.exclude_compliant)
        && (!q.exclude_domain_joined || p.exclude_domain_joined)
}

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

#[cfg(test)]
mod tests {
    use super::{device_filters_contain, device_states_contain};
    use crate::model::policy::DeviceStatesCondition;

    #[test]
    fn containment_of_device_states() {
        let not_compliant = DeviceStatesCondition {
            exclude_compliant: true,
            exclude_domain_joined: false,
        };
        let neither = DeviceStatesCondition {
            exclude_compliant: true,
            exclude_domain_joined: true,
        };
        assert!(device_states_contain(None, Some(&neither)));
        assert!(device_states_contain(Some(&not_compliant), Some(&neither)));
        assert!(!device_states_contain(Some(&neither), Some(&not_compliant)));
        assert!(!device_states_contain(Some(&not_compliant), None));
        assert!(device_filters_contain(None, None));
    }

    #[test]
    fn containment_of_device_filters() -> Result<(), crate::filter::FilterError> {
        use crate::filter::DeviceFilterRule;
        use crate::model::policy::{DeviceFilterCondition, FilterMode};
        let filter = |mode, rule| -> Result<DeviceFilterCondition, crate::filter::FilterError> {
            Ok(DeviceFilterCondition {
                mode,
                rule: DeviceFilterRule::parse(rule)?,
            })
        };
        let kiosk = filter(FilterMode::Include, r#"device.model -eq "kiosk""#)?;
        let not_kiosk = filter(FilterMode::Exclude, r#"device.model -eq "kiosk""#)?;
        assert!(device_filters_contain(None, Some(&kiosk)));
        assert!(device_filters_contain(Some(&kiosk), Some(&kiosk)));
        assert!(!device_filters_contain(Some(&kiosk), Some(&not_kiosk)));
        assert!(!device_filters_contain(Some(&kiosk), None));
        Ok(())
    }
}

//! Device filter and custom-security-attribute rules (docs/reference/entra-semantics.md §3.8) on
//! arbitrary text, evaluated on a device built from the rest of the input.
//!
//! Input: the rule, then optionally a NUL byte and up to 15 NUL-separated device property
//! values. Checks: parsing never panics; an error points inside the rule (1-based character,
//! at most one past the end) and says something; a rule that parses evaluates and explains on
//! that device and on an unregistered one; its canonical text (`Display`) parses again, prints
//! the same, and decides the same on both devices.
#![no_main]

use gardien_core::device::DeviceInfo;
use gardien_core::filter::{AttributeFilterRule, DeviceFilterRule, FilterError, MAX_RULE_LENGTH};
use libfuzzer_sys::fuzz_target;

/// A device whose string properties come from `values` in a fixed order.
fn device(values: &[&str]) -> DeviceInfo {
    let v = |i: usize| values.get(i).map(|s| Box::<str>::from(*s));
    let mut extension_attributes: [Option<Box<str>>; 15] = Default::default();
    for (slot, i) in extension_attributes.iter_mut().zip(11..) {
        *slot = v(i);
    }
    DeviceInfo {
        device_id: v(0),
        display_name: v(1),
        device_ownership: v(2),
        enrollment_profile_name: v(3),
        is_compliant: v(4).map(|s| s.len() % 2 == 0),
        manufacturer: v(5),
        mdm_app_id: v(6),
        model: v(7),
        operating_system: v(8),
        operating_system_version: v(9),
        physical_ids: values
            .get(10)
            .map(|s| s.split(',').map(Box::from).collect())
            .unwrap_or_default(),
        profile_type: v(2),
        system_labels: values
            .get(10)
            .map(|s| s.split(';').map(Box::from).collect())
            .unwrap_or_default(),
        trust_type: v(3),
        extension_attributes,
    }
}

fn check_error(rule: &str, e: &FilterError) {
    let length = rule.chars().count();
    assert!(e.offset >= 1, "offset {} of {e}", e.offset);
    assert!(
        e.offset <= length.min(MAX_RULE_LENGTH) + 1,
        "offset {} past the end of a {length}-character rule: {e}",
        e.offset
    );
    assert!(!e.kind.to_string().is_empty());
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (rule, rest) = text.split_once('\0').unwrap_or((&text, ""));
    let values: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('\0').collect()
    };
    let dev = device(&values);

    match DeviceFilterRule::parse(rule) {
        Err(e) => check_error(rule, &e),
        Ok(parsed) => {
            let on_device = parsed.matches(Some(&dev));
            let unregistered = parsed.matches(None);
            let trace = parsed.explain(Some(&dev));
            assert!(trace.iter().all(|c| !c.text.is_empty()));
            let _ = parsed.explain(None);
            for c in &trace {
                assert!(parsed.references(c.property));
            }
            let canonical = parsed.to_string();
            let again = DeviceFilterRule::parse(&canonical).unwrap_or_else(|e| {
                panic!("canonical text `{canonical}` of `{rule}` does not parse: {e}")
            });
            assert_eq!(
                again.to_string(),
                canonical,
                "printing is not stable for `{rule}`"
            );
            assert_eq!(
                again.matches(Some(&dev)),
                on_device,
                "`{canonical}` decides differently from `{rule}`"
            );
            assert_eq!(
                again.matches(None),
                unregistered,
                "`{canonical}` decides differently from `{rule}` when unregistered"
            );
        }
    }

    match AttributeFilterRule::parse(rule) {
        Err(e) => check_error(rule, &e),
        Ok(parsed) => {
            let attribute = |name: &str| {
                let i = name.len() % 16;
                values.get(i).copied()
            };
            let _ = parsed.matches(attribute);
            let _ = parsed.matches(|_| None);
            assert_eq!(parsed.source(), rule);
        }
    }
});

//! Device candidates: unregistered, then registered / Entra joined / hybrid joined devices,
//! compliant or not, then, for every device filter of every policy, devices carrying each
//! value the filter compares with (alone, and all of one rule's values together).

use std::collections::BTreeSet;

use gardien_core::device::DeviceInfo;
use gardien_core::filter::set_device_value;
use gardien_core::model::tenant::Tenant;

use super::Candidate;

fn profile(trust: &str, compliant: bool) -> DeviceInfo {
    DeviceInfo {
        trust_type: Some(trust.into()),
        is_compliant: Some(compliant),
        ..DeviceInfo::default()
    }
}

fn profile_label(trust: &str, compliant: bool) -> String {
    let kind = match trust {
        "Workplace" => "Entra registered device",
        "AzureAD" => "Entra joined device",
        _ => "hybrid joined device",
    };
    format!(
        "{kind}, {}",
        if compliant {
            "compliant"
        } else {
            "not compliant"
        }
    )
}

/// The quoted values (or `True`/`False`) of one comparison's canonical text, e.g.
/// `device.model -in ["A","B"]` → `A`, `B`.
fn literal_values(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => value.extend(chars.next()),
                '"' => break,
                other => value.push(other),
            }
        }
        out.push(value);
    }
    if out.is_empty() {
        if text.ends_with("True") {
            out.push("True".to_owned());
        } else if text.ends_with("False") {
            out.push("False".to_owned());
        }
    }
    out
}

/// Every device candidate, and a note on what is approximate when filters exist.
pub(crate) fn candidates(sources: &[&Tenant]) -> (Vec<Candidate<Option<DeviceInfo>>>, Vec<String>) {
    let mut out = vec![Candidate::new(
        None,
        "unregistered device (no device identity)",
        true,
        0,
    )];
    let profiles = [
        ("Workplace", false),
        ("Workplace", true),
        ("AzureAD", false),
        ("AzureAD", true),
        ("ServerAD", false),
        ("ServerAD", true),
    ];
    for (trust, compliant) in profiles {
        out.push(Candidate::new(
            Some(profile(trust, compliant)),
            profile_label(trust, compliant),
            false,
            0,
        ));
    }
    // Literals of every device filter rule.
    let mut rules: BTreeSet<String> = BTreeSet::new();
    let mut literal_devices = 0usize;
    for p in sources.iter().flat_map(|t| t.policies.iter()) {
        let Some(f) = &p.conditions.device_filter else {
            continue;
        };
        if !rules.insert(f.rule.source().to_owned()) {
            continue;
        }
        let comparisons = f.rule.explain(None);
        let mut all_at_once = profile("AzureAD", true);
        let mut all_labels = Vec::new();
        for c in &comparisons {
            let values = literal_values(&c.text);
            for v in &values {
                for (trust, compliant) in [("AzureAD", true), ("Workplace", false)] {
                    let mut d = profile(trust, compliant);
                    set_device_value(&mut d, c.property, v);
                    out.push(Candidate::new(
                        Some(d),
                        format!(
                            "{}, {} = \"{v}\"",
                            profile_label(trust, compliant),
                            c.property.name()
                        ),
                        false,
                        0,
                    ));
                    literal_devices += 1;
                }
            }
            // A negative comparison (`-ne`, `-notIn`, ...) holds by default: leave it alone.
            let negative = c.text.split_whitespace().nth(1).is_some_and(|op| {
                op.eq_ignore_ascii_case("-ne") || op.to_ascii_lowercase().starts_with("-not")
            });
            if let Some(v) = values.first().filter(|_| !negative) {
                set_device_value(&mut all_at_once, c.property, v);
                all_labels.push(format!("{} = \"{v}\"", c.property.name()));
            }
        }
        if all_labels.len() > 1 {
            out.push(Candidate::new(
                Some(all_at_once),
                format!(
                    "{}, {}",
                    profile_label("AzureAD", true),
                    all_labels.join(", ")
                ),
                false,
                0,
            ));
            literal_devices += 1;
        }
    }
    let notes = if rules.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "devices: {} device filter rule(s) partitioned coarsely, with {literal_devices} \
             devices built from the values the rules compare with (each value alone on an \
             Entra joined compliant and an Entra registered non-compliant device, and all of \
             one rule's first values together); other combinations of device properties are \
             not searched",
            rules.len()
        )]
    };
    (out, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_read_from_canonical_text() {
        assert_eq!(
            literal_values(r#"device.model -in ["A","B \"x\""]"#),
            vec!["A".to_owned(), "B \"x\"".to_owned()]
        );
        assert_eq!(
            literal_values("device.isCompliant -eq True"),
            vec!["True".to_owned()]
        );
    }
}

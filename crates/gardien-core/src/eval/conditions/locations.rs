//! Network locations (docs/reference/entra-semantics.md §2.3, §3.2 item 6).

use crate::compile::CompiledLocations;
use crate::eval::input::{Input, Outcome};
use crate::eval::trace::Tracer;
use crate::model::policy::{LocationCondition, LocationToken};
use crate::network::LocationSet;

/// Whether every sign-in that the location condition `inner` selects is selected by `outer`
/// too (`None`: no location condition, anywhere). Structural and conservative: `outer`
/// includes `All` or every token `inner` includes, and excludes only tokens `inner` excludes
/// too. It does not look into the named locations (an IP range inside another is not seen),
/// so `false` may only mean "not obviously".
pub fn locations_contain(
    outer: Option<&LocationCondition>,
    inner: Option<&LocationCondition>,
) -> bool {
    let Some(q) = outer else { return true };
    let everywhere = LocationCondition {
        include: vec![LocationToken::All],
        exclude: Vec::new(),
    };
    let p = inner.unwrap_or(&everywhere);
    let include =
        q.include.contains(&LocationToken::All) || p.include.iter().all(|t| q.include.contains(t));
    include && q.exclude.iter().all(|t| p.exclude.contains(t))
}

fn names(input: &Input<'_>, set: LocationSet) -> String {
    set.iter()
        .map(|b| format!("`{}`", input.tenant.location_name(b)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the request is in any of `set`, three-valued when an input is missing.
fn in_any(input: &Input<'_>, set: LocationSet) -> Outcome {
    if set.intersects(&input.locations) {
        return Outcome::Satisfied;
    }
    let tenant = input.tenant;
    let undecidable = (!input.ip_known && set.intersects(&tenant.locations.ip_based))
        || (!input.country_known && set.intersects(&tenant.locations.country_based))
        || (!input.gps_known && set.intersects(&tenant.locations.gps_based));
    if undecidable {
        Outcome::Unknown
    } else {
        Outcome::NotSatisfied
    }
}

fn side(input: &Input<'_>, all: bool, trusted: bool, set: LocationSet) -> Outcome {
    let mut out = Outcome::of(all);
    if trusted {
        out = out.or(in_any(input, input.tenant.locations.trusted));
    }
    if !set.is_empty() {
        out = out.or(in_any(input, set));
    }
    out
}

fn describe_request(input: &Input<'_>) -> String {
    let s = input.signin;
    let ip = s
        .ip_address
        .map(|ip| format!("IP {ip}"))
        .unwrap_or_else(|| "no IP address".to_owned());
    let country = s
        .country
        .map(|c| format!("country {}", String::from_utf8_lossy(&c)))
        .unwrap_or_else(|| "unknown country".to_owned());
    format!("{ip}, {country}")
}

/// The request's address, country and the named locations (with the matching range) it is in.
fn where_is(input: &Input<'_>) -> String {
    let inside = input.locations;
    let mut parts = vec![describe_request(input)];
    if inside.is_empty() {
        parts.push("in no named location".to_owned());
    } else {
        parts.push(format!("in {}", names(input, inside)));
        for bit in inside.iter() {
            if let Some(via) = matching_range(input, bit) {
                parts.push(format!(
                    "matched `{}` via {via}",
                    input.tenant.location_name(bit)
                ));
            }
        }
    }
    parts.join("; ")
}

/// The location condition of a policy.
pub(crate) fn check_locations<T: Tracer>(
    cond: &CompiledLocations,
    input: &Input<'_>,
    t: &mut T,
) -> Outcome {
    let include = side(input, cond.include_all, cond.include_trusted, cond.include);
    let exclude = side(input, false, cond.exclude_trusted, cond.exclude);
    let out = include.and(exclude.negate());
    if T::ENABLED {
        t.note(|| {
            let mut parts = vec![input.location_note.get_or_init(|| where_is(input)).clone()];
            match include {
                Outcome::Satisfied => parts.push("matches `includeLocations`".to_owned()),
                Outcome::NotSatisfied => parts.push("not in an included location".to_owned()),
                Outcome::Unknown => {
                    parts.push("inclusion cannot be decided without the missing input".to_owned())
                }
            }
            match exclude {
                Outcome::Satisfied => parts.push("in an excluded location".to_owned()),
                Outcome::Unknown => {
                    parts.push("exclusion cannot be decided without the missing input".to_owned())
                }
                Outcome::NotSatisfied => {}
            }
            parts.join("; ")
        });
    }
    out
}

/// The range of an IP location that contains the request's address, for traces.
fn matching_range(input: &Input<'_>, bit: u8) -> Option<String> {
    let ip = input.signin.ip_address?;
    if bit == crate::compile::MFA_TRUSTED_IPS_BIT {
        return input
            .tenant
            .tenant
            .directory
            .mfa_trusted_ips
            .iter()
            .find(|c| c.contains(ip))
            .map(|c| c.to_string());
    }
    let index = input
        .tenant
        .locations
        .bit_locations
        .get(bit as usize)
        .copied()
        .flatten()?;
    match &input.tenant.tenant.named_locations.get(index)?.kind {
        crate::model::location::LocationKind::Ip { ranges, .. } => ranges
            .iter()
            .find(|c| c.contains(ip))
            .map(|c| c.to_string()),
        crate::model::location::LocationKind::Country { .. } => Some("its country list".to_owned()),
        crate::model::location::LocationKind::CompliantNetwork => None,
    }
}

#[cfg(test)]
mod tests {
    use super::locations_contain;
    use crate::model::policy::{LocationCondition, LocationToken};

    fn cond(include: &[&str], exclude: &[&str]) -> LocationCondition {
        let tokens = |ts: &[&str]| {
            ts.iter()
                .map(|t| match *t {
                    "All" => LocationToken::All,
                    "AllTrusted" => LocationToken::AllTrusted,
                    id => LocationToken::Id(id.into()),
                })
                .collect()
        };
        LocationCondition {
            include: tokens(include),
            exclude: tokens(exclude),
        }
    }

    #[test]
    fn containment_of_locations() {
        let all_but_trusted = cond(&["All"], &["AllTrusted"]);
        let all_but_trusted_and_hq = cond(&["All"], &["AllTrusted", "hq"]);
        assert!(locations_contain(
            Some(&all_but_trusted),
            Some(&all_but_trusted_and_hq)
        ));
        assert!(!locations_contain(
            Some(&all_but_trusted_and_hq),
            Some(&all_but_trusted)
        ));
        assert!(locations_contain(Some(&cond(&["All"], &[])), None));
        assert!(!locations_contain(Some(&all_but_trusted), None));
        assert!(locations_contain(None, Some(&all_but_trusted)));
        // Named locations are compared by id only.
        let hq_and_branch = cond(&["hq", "branch"], &[]);
        assert!(locations_contain(
            Some(&hq_and_branch),
            Some(&cond(&["hq"], &[]))
        ));
        assert!(!locations_contain(
            Some(&cond(&["hq"], &[])),
            Some(&hq_and_branch)
        ));
        assert!(!locations_contain(
            Some(&hq_and_branch),
            Some(&cond(&["All"], &[]))
        ));
    }
}

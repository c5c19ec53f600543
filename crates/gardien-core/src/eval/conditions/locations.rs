//! Network locations (docs/reference/entra-semantics.md §2.3, §3.2 item 6).

use crate::compile::CompiledLocations;
use crate::eval::input::{Input, Outcome};
use crate::eval::trace::{NoTrace, Tracer};
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

/// Most named locations one policy's detail lists by name; the rest are counted.
const NAMED_IN_DETAIL: usize = 8;

/// The request's address and country, then the named locations it is in that this policy
/// names (with the matching range), and how many others it is in. Only the policy's own
/// locations are listed: the request may be in hundreds of named locations, and listing
/// them all in every policy's detail made a 200-policy report megabytes long.
fn where_is(input: &Input<'_>, cond: &CompiledLocations) -> String {
    let inside = input.locations;
    let mut parts = vec![
        input
            .location_note
            .get_or_init(|| describe_request(input))
            .clone(),
    ];
    if inside.is_empty() {
        parts.push("in no named location".to_owned());
        return parts.join("; ");
    }
    let mut named = cond.include.union(cond.exclude);
    if cond.include_trusted || cond.exclude_trusted {
        named = named.union(input.tenant.locations.trusted);
    }
    let relevant = inside.intersection(named);
    for bit in relevant.iter().take(NAMED_IN_DETAIL) {
        let name = input.tenant.location_name(bit);
        parts.push(match matching_range(input, bit) {
            Some(via) => format!("matched `{name}` via {via}"),
            None => format!("in `{name}`"),
        });
    }
    if relevant.len() > NAMED_IN_DETAIL {
        parts.push(format!(
            "and {} more of this policy's locations",
            relevant.len() - NAMED_IN_DETAIL
        ));
    }
    let others = inside.len() - relevant.len();
    if others > 0 {
        let s = if others == 1 { "" } else { "s" };
        parts.push(format!(
            "in {others} other named location{s} this policy does not name"
        ));
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
            let mut parts = vec![where_is(input, cond)];
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

/// Whether the location condition of a policy holds: [`check_locations`] is `Satisfied`.
/// With every location input known (always so in enforcement) no step is undecidable, and
/// each side is one intersection with the sets compiled for it
/// ([`CompiledLocations::include_any`], [`CompiledLocations::exclude_any`]).
#[inline]
pub(crate) fn locations_hold(cond: &CompiledLocations, input: &Input<'_>) -> bool {
    if input.ip_known && input.country_known && input.gps_known {
        let inside = &input.locations;
        (cond.include_all || cond.include_any.intersects(inside))
            && !cond.exclude_any.intersects(inside)
    } else {
        check_locations(cond, input, &mut NoTrace) == Outcome::Satisfied
    }
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

    /// A policy's location detail names the request's locations that this policy names
    /// (at most eight, the rest counted) and counts the others: the request is in fourteen
    /// named locations here, and no detail lists all fourteen.
    #[test]
    #[allow(clippy::panic, reason = "tests")]
    fn a_policys_location_detail_names_its_own_locations() {
        use crate::report::DecisionReport;
        use serde_json::json;
        let range = |cidr: &str| json!([{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": cidr}]);
        let mut locations: Vec<serde_json::Value> = (0..12)
            .map(|i| {
                json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "id": format!("l{i}"),
                       "displayName": format!("Site {i}"), "isTrusted": i < 2,
                       "ipRanges": range(if i % 2 == 0 { "198.51.0.0/16" } else { "198.48.0.0/12" })})
            })
            .collect();
        locations.push(
            json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "hq",
            "displayName": "HQ", "isTrusted": false, "ipRanges": range("198.51.100.0/24")}),
        );
        locations.push(
            json!({"@odata.type": "#microsoft.graph.countryNamedLocation",
            "id": "fr", "displayName": "France", "countriesAndRegions": ["FR"],
            "includeUnknownCountriesAndRegions": false}),
        );
        let policy = |id: &str, include: serde_json::Value, exclude: serde_json::Value| {
            json!({"id": id, "displayName": id, "state": "enabled",
                   "conditions": {"users": {"includeUsers": ["All"]},
                                  "applications": {"includeApplications": ["All"]},
                                  "locations": {"includeLocations": include,
                                                "excludeLocations": exclude}},
                   "grantControls": {"operator": "OR", "builtInControls": ["block"]}})
        };
        let every: Vec<String> = (0..12).map(|i| format!("l{i}")).collect();
        let tenant = crate::testing::compile(&json!({
        "namedLocations": locations,
        "policies": [
            policy("one", json!(["hq"]), json!([])),
            policy("trusted", json!(["All"]), json!(["AllTrusted", "fr"])),
            policy("twelve", json!(every), json!([])),
            policy("elsewhere", json!(["l5"]), json!([])),
        ]}));
        let signin = crate::testing::signin(
            json!({"ipAddress": "198.51.100.7", "country": "FR"}),
            serde_json::Value::Null,
        );
        let (Some(tenant), Some(signin)) = (tenant, signin) else {
            panic!("the tenant and the request load");
        };
        let report = DecisionReport::new(&tenant, &signin, &tenant.evaluate(&signin));
        let detail = |id: &str| {
            let Some(p) = report.trace.iter().find(|p| p.policy_id == id) else {
                panic!("policy {id} traced");
            };
            let Some(c) = p.conditions.iter().find(|c| c.detail.starts_with("IP ")) else {
                panic!("policy {id} has a location detail");
            };
            c.detail.clone()
        };
        assert_eq!(
            detail("one"),
            "IP 198.51.100.7, country FR; matched `HQ` via 198.51.100.0/24; \
             in 13 other named locations this policy does not name; matches `includeLocations`"
        );
        assert_eq!(
            detail("trusted"),
            "IP 198.51.100.7, country FR; matched `Site 0` via 198.51.0.0/16; \
             matched `Site 1` via 198.48.0.0/12; matched `France` via its country list; \
             in 11 other named locations this policy does not name; \
             matches `includeLocations`; in an excluded location"
        );
        let twelve = detail("twelve");
        assert!(
            twelve.contains("matched `Site 7` via 198.48.0.0/12; and 4 more of this policy's locations; in 2 other named locations this policy does not name"),
            "{twelve}"
        );
        assert!(!twelve.contains("`Site 8`"), "{twelve}");
        assert_eq!(
            detail("elsewhere"),
            "IP 198.51.100.7, country FR; matched `Site 5` via 198.48.0.0/12; \
             in 13 other named locations this policy does not name; matches `includeLocations`"
        );
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

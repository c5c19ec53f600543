//! The country-location search behind GA304 (unknown country blocked) and GA305 (unknown
//! country not blocked): for each blocking policy's country location without unknown
//! countries, the evaluator decides the location condition for a sign-in from an address that
//! maps to no country and for one from a listed country.

use gardien_core::eval::input::Outcome;
use gardien_core::eval::{Condition, Evaluation};
use gardien_core::model::enums::{ClientAppType, DevicePlatform};
use gardien_core::model::location::LocationKind;
use gardien_core::model::policy::{LocationToken, PolicyState};
use gardien_core::signin::Target;

use crate::lint::Context;
use crate::lint::probe::{PROBE_APP, Place, Shape};
use crate::lint::rules::raw_index;

fn location_outcome(eval: &Evaluation, index: usize) -> Option<Outcome> {
    eval.policies.get(index).and_then(|r| {
        r.conditions
            .iter()
            .find(|c| c.condition == Condition::Location)
            .map(|c| c.outcome)
    })
}

/// Which side of a blocking policy a country location is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// In `excludeLocations`: the allowed countries (GA304).
    Exempted,
    /// In `includeLocations`: the blocked countries (GA305).
    Blocked,
}

/// A country location without unknown countries whose side lets unknown addresses through
/// the wrong way.
pub(crate) struct Hit {
    /// Tenant order of the policy.
    pub index: usize,
    /// Pointer suffix of the location in the policy.
    pub pointer: String,
    /// Display name (or id) of the location.
    pub location: String,
}

/// The hits on one side, tenant order.
pub(crate) fn search(cx: &Context<'_>, side: Side) -> Vec<Hit> {
    let tenant = cx.tenant;
    let probe = &cx.probe;
    let mut found = Vec::new();
    for (i, p) in tenant.tenant.policies.iter().enumerate() {
        let blocks = p.grant.as_ref().is_some_and(|g| g.is_block());
        let Some(l) = &p.conditions.locations else {
            continue;
        };
        if p.state == PolicyState::Disabled || !blocks {
            continue;
        }
        let (key, tokens) = match side {
            Side::Exempted => ("excludeLocations", &l.exclude),
            Side::Blocked => ("includeLocations", &l.include),
        };
        {
            for t in tokens {
                let LocationToken::Id(id) = t else { continue };
                let Some(loc) = tenant.tenant.named_locations.iter().find(|x| x.id == *id) else {
                    continue;
                };
                let LocationKind::Country {
                    countries,
                    include_unknown: false,
                    gps: false,
                } = &loc.kind
                else {
                    continue;
                };
                let Some(listed) = countries.first() else {
                    continue;
                };
                let at = |country: Option<[u8; 2]>| {
                    let place = Place {
                        country,
                        ..probe.base.clone()
                    };
                    let s = probe.user_signin(
                        &probe.member,
                        Target::Applications(vec![PROBE_APP.into()]),
                        Shape {
                            platform: DevicePlatform::Windows,
                            client: ClientAppType::Browser,
                        },
                        &place,
                        Default::default(),
                    );
                    location_outcome(&probe.evaluate(&s), i)
                };
                let (unknown, inside) = (at(None), at(Some(*listed)));
                let hit = if side == Side::Exempted {
                    unknown == Some(Outcome::Satisfied) && inside == Some(Outcome::NotSatisfied)
                } else {
                    unknown == Some(Outcome::NotSatisfied) && inside == Some(Outcome::Satisfied)
                };
                if hit {
                    let index = raw_index(&p.raw, &["conditions", "locations", key], id)
                        .map(|n| format!("/{n}"))
                        .unwrap_or_default();
                    let name = if loc.display_name.is_empty() {
                        loc.id.to_string()
                    } else {
                        loc.display_name.clone()
                    };
                    found.push(Hit {
                        index: i,
                        pointer: format!("/conditions/locations/{key}{index}"),
                        location: name,
                    });
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use crate::lint::probe::testing::{grant, policy, tenant, users};
    use crate::lint::{LintOptions, lint};
    use serde_json::json;

    #[test]
    fn ga304_ga305_unknown_countries() {
        let locations = |unknown: bool| {
            json!([
                {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "ok", "displayName": "Allowed",
                 "countriesAndRegions": ["FR"], "includeUnknownCountriesAndRegions": unknown},
                {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "bad", "displayName": "Blocked",
                 "countriesAndRegions": ["KP"], "includeUnknownCountriesAndRegions": unknown}])
        };
        let allow_list = policy(
            "allow-list",
            json!({"users": users(), "locations": {"includeLocations": ["All"], "excludeLocations": ["ok"]}}),
            grant("block"),
        );
        let deny_list = policy(
            "deny-list",
            json!({"users": users(), "locations": {"includeLocations": ["bad"]}}),
            grant("block"),
        );
        let mfa_outside = policy(
            "mfa-outside",
            json!({"users": users(), "locations": {"includeLocations": ["All"], "excludeLocations": ["ok"]}}),
            grant("mfa"),
        );
        let all = vec![allow_list, deny_list, mfa_outside];
        let t = tenant(all.clone(), locations(false), None);
        let r = lint(&t, &LintOptions::default());
        let got: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.code == "GA304" || f.code == "GA305")
            .map(|f| (f.code, f.pointer.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "GA304",
                    "/policies/0/conditions/locations/excludeLocations/0"
                ),
                (
                    "GA305",
                    "/policies/1/conditions/locations/includeLocations/0"
                ),
            ]
        );
        let t = tenant(all, locations(true), None);
        let r = lint(&t, &LintOptions::default());
        assert!(
            r.findings
                .iter()
                .all(|f| f.code != "GA304" && f.code != "GA305"),
            "{r:?}"
        );
    }
}

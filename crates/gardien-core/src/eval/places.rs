//! One sign-in decided from many places.
//!
//! Where a sign-in comes from (IP address, IP country, Authenticator GPS country, compliant
//! network) reaches only the location conditions: every other condition and every grant
//! state reads the rest of the sign-in. [`CompiledTenant::unplaced`] decides all of that
//! once; [`Unplaced::decide`] and [`Unplaced::applying`] then run only the location
//! conditions for each place. Analyses that try a sign-in from every named location (lint's
//! emergency-access and administrator searches) use it instead of deciding each place from
//! scratch; the results are the same as [`CompiledTenant::decide`] and
//! [`CompiledTenant::evaluate`] of the sign-in moved there.

use std::net::IpAddr;

use super::grant::{GrantState, grant_state};
use super::input::{Input, Located, Mode, Outcome};
use super::memo::{Families, Known};
use super::trace::NoTrace;
use super::{Combiner, Condition, Recorder, Verdict, locations};
use crate::compile::CompiledTenant;
use crate::model::policy::PolicyState;
use crate::signin::SignIn;

/// Where a sign-in comes from: the inputs of the location condition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Whereabouts {
    /// Client IP address.
    pub ip_address: Option<IpAddr>,
    /// Country of the IP address (`None`: unknown).
    pub country: Option<[u8; 2]>,
    /// Authenticator GPS country.
    pub gps_country: Option<[u8; 2]>,
    /// Through the Global Secure Access compliant network.
    pub compliant_network: bool,
}

impl Whereabouts {
    /// Where `signin` comes from.
    pub fn of(signin: &SignIn) -> Whereabouts {
        Whereabouts {
            ip_address: signin.ip_address,
            country: signin.country,
            gps_country: signin.session.gps_country,
            compliant_network: signin.session.compliant_network,
        }
    }

    /// Moves `signin` here.
    pub fn apply(&self, signin: &mut SignIn) {
        signin.ip_address = self.ip_address;
        signin.country = self.country;
        signin.session.gps_country = self.gps_country;
        signin.session.compliant_network = self.compliant_network;
    }
}

/// Stops at the first unmet condition, reading the outcomes the memo knows.
struct FirstFailureKnown<'k>(&'k Known);
impl Recorder for FirstFailureKnown<'_> {
    type T = NoTrace;
    #[inline]
    fn known(&self, family: Families, index: usize) -> Option<Outcome> {
        self.0.outcome(family, index)
    }
    #[inline(always)]
    fn record(&mut self, _c: Condition, outcome: Outcome, _n: NoTrace) -> bool {
        outcome == Outcome::Satisfied
    }
}

/// A sign-in with everything but its place decided ([`CompiledTenant::unplaced`]).
#[derive(Debug)]
pub struct Unplaced<'t> {
    tenant: &'t CompiledTenant,
    /// The sign-in resolved where it is; moved by [`Input::at`].
    input: Input<'t>,
    /// Policies (not disabled, tenant order) whose conditions other than the location hold,
    /// with their grant state.
    rest: Vec<(usize, GrantState)>,
}

impl CompiledTenant {
    /// Decides everything about `signin` except where it comes from (enforcement mode, as
    /// [`CompiledTenant::decide`]): then [`Unplaced::decide`] decides it from any place.
    pub fn unplaced<'t>(&'t self, signin: &'t SignIn) -> Unplaced<'t> {
        let input = Input::resolve(self, signin, Mode::Enforce);
        let known = self.memo.known(&input);
        let others = Families::ALL.without(Families::LOCATION);
        let rest = self
            .tenant
            .policies
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state != PolicyState::Disabled)
            .filter(|(index, policy)| {
                self.policy_conditions(
                    *index,
                    policy,
                    &input,
                    others,
                    &mut FirstFailureKnown(&known),
                ) == Outcome::Satisfied
            })
            .map(|(index, policy)| (index, grant_state(index, policy, &input, &mut NoTrace)))
            .collect();
        Unplaced {
            tenant: self,
            input,
            rest,
        }
    }
}

impl Unplaced<'_> {
    /// The policies that apply to the sign-in at `place` (not disabled, tenant order), with
    /// their grant states: the policies [`CompiledTenant::evaluate`] records as applying.
    pub fn applying(&self, place: Whereabouts) -> Vec<(usize, GrantState)> {
        let input = self.at(place);
        let mut out = Vec::new();
        self.each_applying(&input, |index, grant| out.push((index, grant)));
        out
    }

    /// The decision of the sign-in at `place`: [`CompiledTenant::decide`]'s.
    pub fn decide(&self, place: Whereabouts) -> Verdict {
        let input = self.at(place);
        let mut states = Combiner::default();
        let policies = &self.tenant.tenant.policies;
        self.each_applying(&input, |index, grant| {
            if let Some(policy) = policies.get(index) {
                states.add(self.tenant, index, policy, grant);
            }
        });
        states.finish(self.tenant, &input)
    }

    /// The outcome of every policy's location condition at `place`, tenant order:
    /// `Satisfied` for a policy without one, `NotSatisfied` for a disabled policy.
    pub fn location_outcomes(&self, place: Whereabouts) -> Vec<Outcome> {
        let input = self.at(place);
        self.tenant
            .tenant
            .policies
            .iter()
            .zip(&self.tenant.policies)
            .map(|(policy, compiled)| {
                if policy.state == PolicyState::Disabled {
                    return Outcome::NotSatisfied;
                }
                match &compiled.locations {
                    Some(l) => locations::check_locations(l, &input, &mut NoTrace),
                    None => Outcome::Satisfied,
                }
            })
            .collect()
    }

    /// The input moved to `place`.
    fn at(&self, place: Whereabouts) -> Input<'_> {
        self.input.at(Located::resolve(self.tenant, &place, true))
    }

    /// Calls `f` for each policy that applies with `input`'s locations, in tenant order.
    fn each_applying(&self, input: &Input<'_>, mut f: impl FnMut(usize, GrantState)) {
        for &(index, grant) in &self.rest {
            let location = self
                .tenant
                .policies
                .get(index)
                .and_then(|p| p.locations.as_ref());
            if let Some(l) = location
                && locations::check_locations(l, input, &mut NoTrace) != Outcome::Satisfied
            {
                continue;
            }
            f(index, grant);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Whereabouts;
    use crate::eval::input::Outcome;
    use serde_json::{Value, json};

    fn policy(id: &str, state: &str, locations: Value, grant: &str) -> Value {
        let mut p = json!({"id": id, "displayName": id, "state": state,
            "conditions": {"users": {"includeUsers": ["All"]},
                           "applications": {"includeApplications": ["All"]},
                           "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": [grant]}});
        if !locations.is_null() {
            p["conditions"]["locations"] = locations;
        }
        p
    }

    /// From every kind of place, `Unplaced` gives the decision `decide` gives and the
    /// applying policies `evaluate` records.
    #[test]
    fn unplaced_decides_like_decide_from_every_place() {
        let tenant = json!({"policies": [
            policy("block-outside-hq", "enabled",
                   json!({"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}), "block"),
            policy("mfa-in-fr", "enabled", json!({"includeLocations": ["fr"]}), "mfa"),
            policy("mfa-gps-de", "enabled", json!({"includeLocations": ["gps-de"]}), "mfa"),
            policy("mfa-anywhere", "enabled", Value::Null, "mfa"),
            policy("report-hq", "enabledForReportingButNotEnforced",
                   json!({"includeLocations": ["hq"]}), "block"),
            policy("disabled", "disabled", json!({"includeLocations": ["All"]}), "block"),
        ], "namedLocations": [
            {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "hq", "displayName": "HQ",
             "isTrusted": true, "ipRanges": [{"cidrAddress": "198.51.100.0/24"}]},
            {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "fr", "displayName": "FR",
             "countriesAndRegions": ["FR"], "includeUnknownCountriesAndRegions": true},
            {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "gps-de",
             "displayName": "DE (GPS)", "countriesAndRegions": ["DE"],
             "countryLookupMethod": "authenticatorAppGps"}]});
        let Some(tenant) = crate::testing::compile(&tenant) else {
            unreachable!("the tenant loads");
        };
        let Some(base) = crate::testing::signin(json!({"clientAppType": "browser"}), json!(null))
        else {
            unreachable!("the request loads");
        };
        let unplaced = tenant.unplaced(&base);
        let records = |s: &crate::SignIn| tenant.evaluate(s).policies;
        let ip = |s: &str| s.parse().ok();
        let places = [
            Whereabouts::default(),
            Whereabouts {
                ip_address: ip("198.51.100.7"),
                ..Whereabouts::default()
            },
            Whereabouts {
                ip_address: ip("203.0.113.7"),
                country: Some(*b"FR"),
                ..Whereabouts::default()
            },
            Whereabouts {
                ip_address: ip("203.0.113.7"),
                country: Some(*b"US"),
                gps_country: Some(*b"DE"),
                ..Whereabouts::default()
            },
            Whereabouts {
                compliant_network: true,
                ..Whereabouts::default()
            },
        ];
        let mut decisions = Vec::new();
        for place in places {
            let mut s = base.clone();
            place.apply(&mut s);
            assert_eq!(Whereabouts::of(&s), place);
            assert_eq!(unplaced.decide(place), tenant.decide(&s), "{place:?}");
            let records = records(&s);
            let location: Vec<Outcome> = records
                .iter()
                .map(|r| {
                    r.conditions
                        .iter()
                        .filter(|c| c.condition == crate::eval::Condition::Location)
                        .fold(Outcome::Satisfied, |all, c| all.and(c.outcome))
                })
                .collect();
            let disabled = |i: usize| i == 5;
            let got: Vec<Outcome> = unplaced
                .location_outcomes(place)
                .into_iter()
                .enumerate()
                .map(|(i, o)| if disabled(i) { Outcome::Satisfied } else { o })
                .collect();
            assert_eq!(got, location, "{place:?}");
            let recorded: Vec<_> = records
                .iter()
                .filter(|r| r.applies == Outcome::Satisfied)
                .filter_map(|r| r.grant.map(|g| (r.index, g)))
                .collect();
            assert_eq!(unplaced.applying(place), recorded, "{place:?}");
            decisions.push(unplaced.decide(place).decision.as_str());
        }
        // The places differ: blocked outside the trusted locations, not inside.
        assert_eq!(
            decisions,
            ["deny", "challenge", "deny", "deny", "challenge"]
        );
    }
}

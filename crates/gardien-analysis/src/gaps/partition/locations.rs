//! Location candidates: one address per distinct set of IP named locations (every boundary
//! of every range, looked up in the core's own IP index, plus an address outside them all),
//! times one country per distinct set of country locations (plus a country no location
//! lists, and an unknown country), times the GPS country and compliant network when a
//! policy can read them.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use gardien_core::compile::{COMPLIANT_NETWORK_BIT, CompiledTenant};
use gardien_core::model::location::LocationKind;
use gardien_core::network::LocationSet;
use gardien_core::signin::SignIn;
use rustc_hash::FxHashMap;

use super::{Candidate, TENANTS};

/// Where a sign-in comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Place {
    /// Public egress address.
    pub ip: IpAddr,
    /// Country of the address, `None` when unknown.
    pub country: Option<[u8; 2]>,
    /// Country from the Authenticator app's GPS, `None` when not provided.
    pub gps: Option<[u8; 2]>,
    /// Through the Global Secure Access compliant network.
    pub compliant_network: bool,
}

/// Addresses tried first for "outside every named range" (documentation ranges).
const OUTSIDE: [IpAddr; 4] = [
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, 77)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 77)),
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 77)),
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0x77)),
];

impl Place {
    /// An address outside the documentation ranges' usual uses, unknown country.
    pub(crate) fn outside() -> Place {
        Place {
            ip: OUTSIDE[0],
            country: None,
            gps: None,
            compliant_network: false,
        }
    }

    /// Puts the place into a sign-in.
    pub(crate) fn apply(&self, s: &mut SignIn) {
        s.ip_address = Some(self.ip);
        s.country = self.country;
        s.session.gps_country = self.gps;
        s.session.compliant_network = self.compliant_network;
    }
}

fn next_address(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(a) => u32::from(a).checked_add(1).map(|n| IpAddr::V4(n.into())),
        IpAddr::V6(a) => u128::from(a).checked_add(1).map(|n| IpAddr::V6(n.into())),
    }
}

fn code(c: [u8; 2]) -> String {
    String::from_utf8_lossy(&c).into_owned()
}

/// Names of the locations in a set, for one tenant (`trusted` marked).
fn names(t: &CompiledTenant, set: &LocationSet) -> Vec<String> {
    set.into_iter()
        .filter(|b| *b != COMPLIANT_NETWORK_BIT)
        .map(|b| {
            let name = t.location_name(b);
            if t.locations.trusted.contains(b) {
                format!("{name} (trusted)")
            } else {
                name
            }
        })
        .collect()
}

fn describe(tenants: &[CompiledTenant], sets: &[LocationSet; TENANTS]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (t, s) in tenants.iter().zip(sets.iter()) {
        for n in names(t, s) {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// Every location candidate, the attacker's (outside every IP range, a country no location
/// lists) first.
///
/// With `ip_bound`, when the ranges have more boundaries than that, the addresses tried are
/// bounded instead: the first address of each IP named location's first range (and of the
/// MFA trusted IPs), so one address per location rather than one per distinct set; the second
/// value then says so, for the approximations of the report.
pub(crate) fn candidates(
    tenants: &[CompiledTenant],
    ip_bound: Option<usize>,
) -> (Vec<Candidate<Place>>, Option<String>) {
    // Addresses: preferred outside addresses, then every range boundary (two per range at
    // most: counted first, on the largest tenant, so that a bounded run does not collect
    // them).
    let ranges: usize = tenants
        .iter()
        .map(|t| {
            t.tenant
                .named_locations
                .iter()
                .map(|l| match &l.kind {
                    LocationKind::Ip { ranges, .. } => ranges.len(),
                    _ => 0,
                })
                .sum::<usize>()
                + t.tenant.directory.mfa_trusted_ips.len()
        })
        .max()
        .unwrap_or(0);
    let bounded = ip_bound.filter(|b| ranges.saturating_mul(2) > *b);
    let mut boundaries: BTreeSet<IpAddr> = BTreeSet::new();
    for t in tenants.iter().filter(|_| bounded.is_none()) {
        let ranges = t
            .tenant
            .named_locations
            .iter()
            .filter_map(|l| match &l.kind {
                LocationKind::Ip { ranges, .. } => Some(ranges.iter()),
                _ => None,
            })
            .flatten()
            .chain(t.tenant.directory.mfa_trusted_ips.iter());
        for r in ranges {
            boundaries.insert(r.first_address());
            if let Some(n) = next_address(r.last_address()) {
                boundaries.insert(n);
            }
        }
    }
    let mut note = None;
    if let Some(bound) = bounded {
        note = Some(format!(
            "locations: the tenant has {ranges} named IP ranges, up to {} boundaries, more than \
             {bound}: one address per IP named location (the first of its first range) stands for \
             its ranges, so a class made only by the overlap of ranges may be missed",
            ranges.saturating_mul(2)
        ));
        boundaries = tenants
            .iter()
            .flat_map(|t| {
                t.tenant
                    .named_locations
                    .iter()
                    .filter_map(|l| match &l.kind {
                        LocationKind::Ip { ranges, .. } => ranges.first(),
                        _ => None,
                    })
                    .chain(t.tenant.directory.mfa_trusted_ips.first())
                    .map(|r| r.first_address())
            })
            .collect();
    }
    let ip_sets = |ip: IpAddr| -> [LocationSet; TENANTS] {
        let mut s = [LocationSet::EMPTY; TENANTS];
        for (slot, t) in s.iter_mut().zip(tenants) {
            *slot = *t.locations.ip_index.lookup(ip);
        }
        s
    };
    let mut ips: Vec<(IpAddr, [LocationSet; TENANTS])> = Vec::new();
    let mut seen_ip: FxHashMap<[LocationSet; TENANTS], usize> = FxHashMap::default();
    for ip in OUTSIDE.iter().copied().chain(boundaries) {
        let sets = ip_sets(ip);
        if let std::collections::hash_map::Entry::Vacant(e) = seen_ip.entry(sets) {
            e.insert(ips.len());
            ips.push((ip, sets));
        }
    }
    // Outside every range first.
    ips.sort_by_key(|(_, s)| s.iter().any(|x| !x.is_empty()));

    // Countries (IP lookup) and GPS countries.
    let mut listed: BTreeSet<[u8; 2]> = BTreeSet::new();
    let mut gps_listed: BTreeSet<[u8; 2]> = BTreeSet::new();
    let mut uses_gps = false;
    for t in tenants {
        for l in &t.tenant.named_locations {
            if let LocationKind::Country { countries, gps, .. } = &l.kind {
                if *gps {
                    uses_gps = true;
                    gps_listed.extend(countries.iter().copied());
                } else {
                    listed.extend(countries.iter().copied());
                }
            }
        }
    }
    let unlisted = ["AQ", "BV", "HM", "TF", "UM", "SJ"]
        .iter()
        .filter_map(|c| <[u8; 2]>::try_from(c.as_bytes()).ok())
        .chain((b'A'..=b'Z').flat_map(|a| (b'A'..=b'Z').map(move |b| [a, b])))
        .find(|c| !listed.contains(c) && !gps_listed.contains(c));
    let country_groups = |codes: &BTreeSet<[u8; 2]>,
                          table: &dyn Fn(&CompiledTenant, [u8; 2]) -> LocationSet|
     -> Vec<(Vec<[u8; 2]>, [LocationSet; TENANTS])> {
        let mut groups: Vec<(Vec<[u8; 2]>, [LocationSet; TENANTS])> = Vec::new();
        let mut index: FxHashMap<[LocationSet; TENANTS], usize> = FxHashMap::default();
        for c in unlisted.iter().chain(codes.iter()) {
            let mut sets = [LocationSet::EMPTY; TENANTS];
            for (slot, t) in sets.iter_mut().zip(tenants) {
                *slot = table(t, *c);
            }
            match index.get(&sets) {
                Some(&i) => {
                    if let Some(g) = groups.get_mut(i) {
                        g.0.push(*c);
                    }
                }
                None => {
                    index.insert(sets, groups.len());
                    groups.push((vec![*c], sets));
                }
            }
        }
        groups
    };
    let countries = country_groups(&listed, &|t, c| {
        t.locations
            .countries
            .get(&c)
            .copied()
            .unwrap_or(LocationSet::EMPTY)
    });
    let mut country_options: Vec<(Option<[u8; 2]>, String)> = countries
        .iter()
        .filter_map(|(codes, sets)| {
            let first = *codes.first()?;
            let shown: Vec<String> = codes.iter().take(6).map(|c| code(*c)).collect();
            let more = if codes.len() > 6 {
                format!(" (+{} more)", codes.len() - 6)
            } else {
                String::new()
            };
            let listed_in = describe(tenants, sets);
            let text = if listed_in.is_empty() {
                format!("country {}{more}, in no country location", shown.join("/"))
            } else {
                format!(
                    "country {}{more}, in {}",
                    shown.join("/"),
                    listed_in.join(", ")
                )
            };
            Some((Some(first), text))
        })
        .collect();
    country_options.push((None, "unknown country".to_owned()));

    let gps_options: Vec<(Option<[u8; 2]>, String)> = if uses_gps {
        let groups = country_groups(&gps_listed, &|t, c| {
            t.locations
                .gps_countries
                .get(&c)
                .copied()
                .unwrap_or(LocationSet::EMPTY)
        });
        std::iter::once((None, String::new()))
            .chain(groups.iter().filter_map(|(codes, sets)| {
                let first = *codes.first()?;
                let listed_in = describe(tenants, sets);
                Some((
                    Some(first),
                    if listed_in.is_empty() {
                        format!("GPS country {}, in no GPS location", code(first))
                    } else {
                        format!("GPS country {}, in {}", code(first), listed_in.join(", "))
                    },
                ))
            }))
            .collect()
    } else {
        vec![(None, String::new())]
    };
    let uses_compliant_network = tenants.iter().any(|t| {
        t.policies
            .iter()
            .filter_map(|p| p.locations.as_ref())
            .any(|l| {
                l.include_trusted
                    || l.exclude_trusted
                    || l.include.contains(COMPLIANT_NETWORK_BIT)
                    || l.exclude.contains(COMPLIANT_NETWORK_BIT)
            })
    });
    let networks: &[bool] = if uses_compliant_network {
        &[false, true]
    } else {
        &[false]
    };

    // The attacker's places first: no compliant network, no GPS, outside every range.
    let mut out = Vec::new();
    for network in networks {
        for (gps, gps_text) in &gps_options {
            for (ip, sets) in &ips {
                let inside = describe(tenants, sets);
                let ip_text = if inside.is_empty() {
                    format!("IP {ip} (in no named IP range)")
                } else {
                    format!("IP {ip} (in {})", inside.join(", "))
                };
                let outside = sets.iter().all(LocationSet::is_empty);
                for (country, country_text) in &country_options {
                    let mut label = format!("{ip_text}, {country_text}");
                    if !gps_text.is_empty() {
                        label.push_str(", ");
                        label.push_str(gps_text);
                    }
                    if *network {
                        label.push_str(", through the compliant network");
                    }
                    out.push(Candidate::new(
                        Place {
                            ip: *ip,
                            country: *country,
                            gps: *gps,
                            compliant_network: *network,
                        },
                        label,
                        outside && gps.is_none() && !network,
                        0,
                    ));
                }
            }
        }
    }
    (out, note)
}

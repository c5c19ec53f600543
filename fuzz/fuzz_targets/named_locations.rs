//! CIDR ranges, IP addresses and named-location files (docs/reference/entra-semantics.md §2), then
//! the compiled IP index.
//!
//! The first byte picks the input kind:
//! * `0`: text, one CIDR range or address per line. A range that parses prints (`Display`) to
//!   text that parses to the same network, contains its first and last address (unless they
//!   are IPv4-mapped, which count as IPv4), and agrees with `is_too_broad`; an address that parses prints to the same address.
//! * `1`: the bytes as a `namedLocations.json` file.
//! * otherwise: a list of ip and country locations built from the bytes (structure-aware),
//!   written as Graph JSON.
//!
//! For both files: loading never panics; errors name the file, say why and point inside the
//! document; a tenant that loads compiles, and its IP index answers, for the edges of every
//! range and their neighbours, exactly the locations whose ranges contain the address (checked
//! against a linear scan), and its country table lists every country of every location.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arbitrary::{Arbitrary, Unstructured};
use gardien_core::json::{decode_text, parse_value};
use gardien_core::model::location::LocationKind;
use gardien_core::network::{Cidr, parse_cidr, parse_ip};
use gardien_core::{CompiledTenant, SourceFile, Tenant, TenantSource};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

const FILE: &str = "namedLocations.json";

#[derive(Arbitrary, Debug)]
enum Range {
    V4([u8; 4], u8),
    V6([u16; 8], u8),
    Mapped([u8; 4], u8),
    Text(String),
}

impl Range {
    fn text(&self) -> String {
        match self {
            Range::V4(a, len) => format!("{}/{}", Ipv4Addr::from(*a), len % 40),
            Range::V6(a, len) => format!("{}/{}", Ipv6Addr::from(*a), len % 140),
            Range::Mapped(a, len) => {
                format!("{}/{}", Ipv4Addr::from(*a).to_ipv6_mapped(), 80 + len % 60)
            }
            Range::Text(t) => t.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Location {
    kind: u8,
    id: u8,
    trusted: bool,
    bare_strings: bool,
    ranges: Vec<Range>,
    countries: Vec<[u8; 2]>,
    include_unknown: bool,
    gps: bool,
}

impl Location {
    fn to_json(&self) -> Value {
        let id = format!("l{}", self.id % 64);
        match self.kind % 4 {
            0 | 1 => {
                let ranges: Vec<Value> = self
                    .ranges
                    .iter()
                    .map(|r| {
                        if self.bare_strings {
                            json!(r.text())
                        } else {
                            json!({"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": r.text()})
                        }
                    })
                    .collect();
                json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "id": id,
                       "displayName": id, "isTrusted": self.trusted, "ipRanges": ranges})
            }
            2 => {
                let countries: Vec<String> = self
                    .countries
                    .iter()
                    .map(|[a, b]| {
                        let letter =
                            |x: u8| char::from(if x < 250 { b'A' + x % 26 } else { x % 128 });
                        format!("{}{}", letter(*a), letter(*b))
                    })
                    .collect();
                json!({"@odata.type": "#microsoft.graph.countryNamedLocation", "id": id,
                       "displayName": id, "countriesAndRegions": countries,
                       "includeUnknownCountriesAndRegions": self.include_unknown,
                       "countryLookupMethod": if self.gps { "authenticatorAppGps" } else { "clientIpAddress" }})
            }
            _ => json!({"@odata.type": "#microsoft.graph.compliantNetworkNamedLocation", "id": id}),
        }
    }
}

fn check_text(text: &str) {
    for line in text.lines() {
        match parse_cidr(line) {
            Ok(cidr) => {
                let printed = cidr.to_string();
                let again = parse_cidr(&printed)
                    .unwrap_or_else(|e| panic!("`{printed}` (from `{line}`) does not parse: {e}"));
                assert_eq!(
                    again, cidr,
                    "`{line}` prints as `{printed}`, which is another network"
                );
                assert_eq!(again.prefix_len(), cidr.prefix_len());
                assert_eq!(again.to_string(), printed);
                // IPv4-mapped addresses are IPv4 (docs/reference/entra-semantics.md §2.2): an IPv6
                // range that covers the mapped block (`::/80`) does not contain its edge addresses
                // there.
                let mapped =
                    |ip: IpAddr| matches!(ip, IpAddr::V6(v) if v.to_ipv4_mapped().is_some());
                for edge in [cidr.first_address(), cidr.last_address()] {
                    assert!(
                        cidr.contains(edge) || (cidr.is_ipv6() && mapped(edge)),
                        "`{line}` does not contain its edge {edge}"
                    );
                }
                assert_eq!(cidr.is_too_broad(), cidr.prefix_len() <= 8);
                assert_eq!(cidr.original(), line.trim());
                assert!(cidr.is_ipv4() != cidr.is_ipv6());
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
        if let Ok(ip) = parse_ip(line) {
            let printed = ip.to_string();
            assert_eq!(
                parse_ip(&printed).ok(),
                Some(ip),
                "`{line}` prints as `{printed}`"
            );
        }
    }
}

/// The address after (`up`) or before `ip`, wrapping.
fn step(ip: IpAddr, up: bool) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let n = u32::from(a);
            IpAddr::V4(Ipv4Addr::from(if up {
                n.wrapping_add(1)
            } else {
                n.wrapping_sub(1)
            }))
        }
        IpAddr::V6(a) => {
            let n = u128::from(a);
            IpAddr::V6(Ipv6Addr::from(if up {
                n.wrapping_add(1)
            } else {
                n.wrapping_sub(1)
            }))
        }
    }
}

fn check_file(bytes: &[u8]) {
    let source = TenantSource {
        location_files: vec![SourceFile::new(FILE, bytes)],
        ..Default::default()
    };
    let tenant = match Tenant::load(&source) {
        Ok(t) => t,
        Err(errors) => {
            let document = decode_text(FILE, bytes)
                .and_then(|t| parse_value(FILE, &t))
                .ok();
            assert!(!errors.errors.is_empty());
            for e in &errors.errors {
                assert_eq!(e.file, FILE);
                assert!(!e.reason.is_empty(), "{e:?}");
                if let Some(d) = &document {
                    assert!(
                        d.pointer(&e.pointer).is_some(),
                        "pointer `{}` is not in the file: {e}",
                        e.pointer
                    );
                }
            }
            return;
        }
    };
    let compiled = CompiledTenant::compile(tenant);
    let mut ranges: Vec<(&Cidr, u8)> = Vec::new();
    for l in &compiled.tenant.named_locations {
        let Some(&bit) = compiled.locations.location_bits.get(&l.id) else {
            assert!(
                matches!(l.kind, LocationKind::CompliantNetwork),
                "location `{}` has no bit",
                l.id
            );
            continue;
        };
        match &l.kind {
            LocationKind::Ip { ranges: list, .. } => ranges.extend(list.iter().map(|r| (r, bit))),
            LocationKind::Country { countries, gps, .. } => {
                let table = if *gps {
                    &compiled.locations.gps_countries
                } else {
                    &compiled.locations.countries
                };
                for c in countries {
                    assert!(table.get(c).is_some_and(|s| s.contains(bit)));
                }
            }
            LocationKind::CompliantNetwork => {}
        }
    }
    for (r, _) in ranges.iter().take(64) {
        for edge in [r.first_address(), r.last_address()] {
            for ip in [edge, step(edge, true), step(edge, false)] {
                let mut expected = [false; 256];
                for (range, bit) in &ranges {
                    if range.contains(ip) {
                        expected[usize::from(*bit)] = true;
                    }
                }
                let found = compiled.locations.ip_index.lookup(ip);
                for (bit, inside) in (0..=u8::MAX).zip(expected) {
                    // Bit 0 is the MFA trusted IPs pseudo-location (none in this tenant).
                    assert_eq!(
                        found.contains(bit),
                        inside,
                        "index and ranges disagree on {ip} for location bit {bit}"
                    );
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        0 => check_text(&String::from_utf8_lossy(rest)),
        1 => check_file(rest),
        _ => {
            let u = Unstructured::new(rest);
            let Ok(locations) = Vec::<Location>::arbitrary_take_rest(u) else {
                return;
            };
            let file =
                json!({"value": locations.iter().map(Location::to_json).collect::<Vec<_>>()});
            check_file(file.to_string().as_bytes());
        }
    }
});

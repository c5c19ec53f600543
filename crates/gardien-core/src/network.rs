//! IP ranges, CIDR parsing and the interval index behind named locations
//! (docs/reference/entra-semantics.md §2).
//!
//! * [`Cidr`] / [`parse_cidr`]: one `ipRanges[].cidrAddress` value of an `ipNamedLocation`
//!   (docs/reference/entra-semantics.md §2.1). Host bits are masked, IPv4-mapped IPv6 ranges become
//!   IPv4 ranges.
//! * [`parse_ip`] / [`normalize_ip`]: the sign-in's public egress address
//!   (docs/reference/entra-semantics.md §2.2).
//! * [`LocationSet`]: a fixed-size bitset of named-location indices (`0..`[`MAX_LOCATIONS`]).
//! * [`IpIndexBuilder`] / [`IpIndex`]: every range of every IP location compiled into sorted
//!   disjoint intervals, so that "which locations contain this address" (the `ip` arm of
//!   `in_location`, docs/reference/entra-semantics.md §2.3) is one binary search with no
//!   allocation.
//!
//! IPv4 and IPv6 are separate address families: an IPv4 address (including an IPv4-mapped
//! IPv6 address, which is normalised to IPv4 first) is never inside an IPv6 range and vice
//! versa.

mod cidr;
mod index;
mod set;

pub use cidr::{
    Cidr, CidrError, CidrErrorKind, IpError, IpErrorKind, MIN_PREFIX_LEN_EXCLUSIVE, normalize_ip,
    parse_cidr, parse_ip,
};
pub use index::{IpIndex, IpIndexBuilder};
pub use set::{LocationSet, LocationSetIter, MAX_LOCATIONS};

/// The text of an address, as its `Display` writes it (`203.0.113.9`, `2001:db8::1`);
/// IPv4 without the formatting machinery (every logged decision writes its address twice).
pub fn ip_text(ip: &std::net::IpAddr) -> String {
    let std::net::IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut out = String::with_capacity(15);
    for (n, octet) in v4.octets().into_iter().enumerate() {
        if n > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
    out
}

#[cfg(test)]
mod ip_text_tests {
    use super::ip_text;
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for a in [0u8, 1, 9, 10, 42, 99, 100, 199, 200, 255] {
            for b in [0u8, 7, 10, 100, 255] {
                let ip = IpAddr::V4(Ipv4Addr::new(a, b, 255 - a, b ^ a));
                assert_eq!(ip_text(&ip), ip.to_string());
            }
        }
        let v6: IpAddr = "2001:db8::1"
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(ip_text(&v6), "2001:db8::1");
    }
}

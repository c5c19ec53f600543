//! CIDR ranges and IP addresses: parsing, normalisation, containment.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Entra only accepts IP ranges whose prefix is strictly longer than this
/// (docs/reference/entra-semantics.md §2.3).
///
/// [`parse_cidr`] accepts any prefix length valid for the family; [`Cidr::is_too_broad`] tells
/// the loader whether Entra would have rejected the range.
pub const MIN_PREFIX_LEN_EXCLUSIVE: u8 = 8;

/// The masked network of a [`Cidr`]: address with host bits cleared, plus prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Network {
    /// IPv4 network, `len` in `0..=32`.
    V4 {
        /// Network address (host bits zero).
        addr: u32,
        /// Prefix length.
        len: u8,
    },
    /// IPv6 network, `len` in `0..=128`.
    V6 {
        /// Network address (host bits zero).
        addr: u128,
        /// Prefix length.
        len: u8,
    },
}

/// Mask with the `len` leading bits of a `u32` set (`len` ≤ 32).
const fn mask_v4(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len as u32)
    }
}

/// Mask with the `len` leading bits of a `u128` set (`len` ≤ 128).
const fn mask_v6(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len as u32)
    }
}

impl Network {
    /// Network from any address and prefix length: host bits are masked, IPv4-mapped IPv6
    /// networks with a prefix of at least 96 become IPv4 networks.
    fn new(addr: IpAddr, len: u8) -> Self {
        match addr {
            IpAddr::V4(v4) => Network::V4 {
                addr: u32::from(v4) & mask_v4(len),
                len,
            },
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) if len >= 96 => {
                    let len = len - 96;
                    Network::V4 {
                        addr: u32::from(v4) & mask_v4(len),
                        len,
                    }
                }
                _ => Network::V6 {
                    addr: u128::from(v6) & mask_v6(len),
                    len,
                },
            },
        }
    }

    /// Inclusive IPv4 bounds, `None` for an IPv6 network.
    pub(super) const fn bounds_v4(self) -> Option<(u32, u32)> {
        match self {
            Network::V4 { addr, len } => Some((addr, addr | !mask_v4(len))),
            Network::V6 { .. } => None,
        }
    }

    /// Inclusive IPv6 bounds, `None` for an IPv4 network.
    pub(super) const fn bounds_v6(self) -> Option<(u128, u128)> {
        match self {
            Network::V6 { addr, len } => Some((addr, addr | !mask_v6(len))),
            Network::V4 { .. } => None,
        }
    }
}

/// An IPv4 or IPv6 network from a named location's `cidrAddress` (docs/reference/entra-semantics.md
/// §2.1).
///
/// The network is stored masked (`178.72.74.5/24` is the network `178.72.74.0/24`, as real Graph
/// exports contain such values); [`Cidr::original`] keeps the text as written. IPv4-mapped IPv6
/// ranges (`::ffff:a.b.c.d/n`, `n` ≥ 96) are IPv4 networks with prefix `n - 96`.
///
/// Equality and hashing consider the network only, not the original text.
#[derive(Debug, Clone)]
pub struct Cidr {
    network: Network,
    original: Box<str>,
}

impl PartialEq for Cidr {
    fn eq(&self, other: &Self) -> bool {
        self.network == other.network
    }
}

impl Eq for Cidr {}

impl Hash for Cidr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.network.hash(state);
    }
}

impl Cidr {
    /// The masked network (crate-internal view used by the index).
    pub(super) const fn network_repr(&self) -> Network {
        self.network
    }

    /// The text this range was parsed from, with surrounding whitespace trimmed.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Canonical text of the masked network, e.g. `178.72.74.0/24` (same as `Display`).
    pub fn network_text(&self) -> String {
        self.to_string()
    }

    /// Prefix length after normalisation (`0..=32` for IPv4, `0..=128` for IPv6).
    pub const fn prefix_len(&self) -> u8 {
        match self.network {
            Network::V4 { len, .. } | Network::V6 { len, .. } => len,
        }
    }

    /// Whether Entra would reject this range: its prefix is not longer than
    /// [`MIN_PREFIX_LEN_EXCLUSIVE`] (i.e. `/8` or broader).
    pub const fn is_too_broad(&self) -> bool {
        self.prefix_len() <= MIN_PREFIX_LEN_EXCLUSIVE
    }

    /// Whether this is an IPv4 network (including normalised IPv4-mapped IPv6 input).
    pub const fn is_ipv4(&self) -> bool {
        matches!(self.network, Network::V4 { .. })
    }

    /// Whether this is an IPv6 network.
    pub const fn is_ipv6(&self) -> bool {
        matches!(self.network, Network::V6 { .. })
    }

    /// The network address (host bits zero).
    pub fn network(&self) -> IpAddr {
        match self.network {
            Network::V4 { addr, .. } => IpAddr::V4(Ipv4Addr::from(addr)),
            Network::V6 { addr, .. } => IpAddr::V6(Ipv6Addr::from(addr)),
        }
    }

    /// A representative address inside the range: its first address (the network address).
    pub fn first_address(&self) -> IpAddr {
        self.network()
    }

    /// The last address of the range (all host bits set).
    ///
    /// For an IPv6 range that covers the IPv4-mapped block (`::/80`, `::fffc:0:0/94`) this is
    /// `::ffff:255.255.255.255`, which [`Cidr::contains`] reads as IPv4 and so as outside the
    /// range (found by the `named_locations` fuzz target).
    pub fn last_address(&self) -> IpAddr {
        match self.network {
            Network::V4 { addr, len } => IpAddr::V4(Ipv4Addr::from(addr | !mask_v4(len))),
            Network::V6 { addr, len } => IpAddr::V6(Ipv6Addr::from(addr | !mask_v6(len))),
        }
    }

    /// Whether `ip` lies inside this network. IPv4-mapped IPv6 addresses are normalised to
    /// IPv4 first; an address of the other family is never contained.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, normalize_ip(ip)) {
            (Network::V4 { addr, len }, IpAddr::V4(ip)) => u32::from(ip) & mask_v4(len) == addr,
            (Network::V6 { addr, len }, IpAddr::V6(ip)) => u128::from(ip) & mask_v6(len) == addr,
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix_len())
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_cidr(s)
    }
}

/// Why a CIDR range was rejected (the part after the colon in [`CidrError`]'s message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidrErrorKind {
    /// Nothing but whitespace.
    #[error("the range is empty")]
    Empty,
    /// Whitespace between the first and last character.
    #[error("whitespace is not allowed")]
    Whitespace,
    /// An IPv6 zone id (`%eth0`).
    #[error("zone ids are not allowed")]
    ZoneId,
    /// A bare address without `/length`.
    #[error("missing prefix length")]
    MissingPrefix,
    /// Nothing before the `/`.
    #[error("missing address")]
    MissingAddress,
    /// The text after the `/` is not a decimal number.
    #[error("invalid prefix length `{0}`")]
    InvalidPrefix(Box<str>),
    /// The prefix length exceeds the family's bit width.
    #[error("prefix length {len} is longer than {max}")]
    PrefixTooLong {
        /// The prefix length as written.
        len: Box<str>,
        /// 32 for IPv4, 128 for IPv6.
        max: u8,
    },
    /// The address part (without `:`) is not a valid dotted-quad IPv4 address.
    #[error("`{0}` is not a valid IPv4 address")]
    InvalidIpv4(Box<str>),
    /// The address part (with `:`) is not a valid RFC 4291 IPv6 address.
    #[error("`{0}` is not a valid IPv6 address")]
    InvalidIpv6(Box<str>),
    /// The address part is neither IPv4- nor IPv6-shaped.
    #[error("`{0}` is not a valid IP address")]
    InvalidAddress(Box<str>),
}

/// A `cidrAddress` that could not be parsed, e.g.
/// ``invalid CIDR range `10.0.0.0`: missing prefix length``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CIDR range `{input}`: {kind}")]
pub struct CidrError {
    input: Box<str>,
    kind: CidrErrorKind,
}

impl CidrError {
    fn new(input: &str, kind: CidrErrorKind) -> Self {
        Self {
            input: input.into(),
            kind,
        }
    }

    /// The rejected text (surrounding whitespace trimmed).
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Why it was rejected.
    pub fn kind(&self) -> &CidrErrorKind {
        &self.kind
    }
}

/// Why an IP address was rejected (the part after the colon in [`IpError`]'s message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IpErrorKind {
    /// Nothing but whitespace.
    #[error("the address is empty")]
    Empty,
    /// Whitespace between the first and last character.
    #[error("whitespace is not allowed")]
    Whitespace,
    /// An IPv6 zone id (`%eth0`): a public egress address never has one.
    #[error("zone ids are not allowed")]
    ZoneId,
    /// A `/length` suffix: a range was given where a single address is expected.
    #[error("expected a single address, not a range")]
    Range,
    /// Not an IPv4 or IPv6 address.
    #[error("not a valid IPv4 or IPv6 address")]
    Invalid,
}

/// An IP address that could not be parsed, e.g.
/// ``invalid IP address `fe80::1%eth0`: zone ids are not allowed``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid IP address `{input}`: {kind}")]
pub struct IpError {
    input: Box<str>,
    kind: IpErrorKind,
}

impl IpError {
    fn new(input: &str, kind: IpErrorKind) -> Self {
        Self {
            input: input.into(),
            kind,
        }
    }

    /// The rejected text (surrounding whitespace trimmed).
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Why it was rejected.
    pub fn kind(&self) -> &IpErrorKind {
        &self.kind
    }
}

/// Maps an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) to its IPv4 address; any other address
/// is returned unchanged (IPv4-compatible `::a.b.c.d` addresses stay IPv6).
pub const fn normalize_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        IpAddr::V4(_) => ip,
    }
}

/// Parses a sign-in IP address: trims surrounding whitespace, rejects zone ids and ranges,
/// accepts dotted-quad IPv4 and any RFC 4291 IPv6 form, and normalises IPv4-mapped IPv6.
pub fn parse_ip(s: &str) -> Result<IpAddr, IpError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(IpError::new(s, IpErrorKind::Empty));
    }
    if s.contains(char::is_whitespace) {
        return Err(IpError::new(s, IpErrorKind::Whitespace));
    }
    if s.contains('%') {
        return Err(IpError::new(s, IpErrorKind::ZoneId));
    }
    match s.parse::<IpAddr>() {
        Ok(ip) => Ok(normalize_ip(ip)),
        Err(_) if s.contains('/') => Err(IpError::new(s, IpErrorKind::Range)),
        Err(_) => Err(IpError::new(s, IpErrorKind::Invalid)),
    }
}

/// Parses the address part of a CIDR range, choosing the family by the presence of `:`.
fn parse_address(input: &str, addr: &str) -> Result<IpAddr, CidrError> {
    if addr.is_empty() {
        return Err(CidrError::new(input, CidrErrorKind::MissingAddress));
    }
    if addr.contains(':') {
        addr.parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| CidrError::new(input, CidrErrorKind::InvalidIpv6(addr.into())))
    } else if addr.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        addr.parse::<Ipv4Addr>()
            .map(IpAddr::V4)
            .map_err(|_| CidrError::new(input, CidrErrorKind::InvalidIpv4(addr.into())))
    } else {
        Err(CidrError::new(
            input,
            CidrErrorKind::InvalidAddress(addr.into()),
        ))
    }
}

/// Parses a named location's `cidrAddress`: `a.b.c.d/n` or any RFC 4291 IPv6 form with `/n`.
///
/// Surrounding whitespace is trimmed; host bits are masked; IPv4-mapped IPv6 ranges with a
/// prefix of at least 96 become IPv4 ranges. Every prefix length valid for the family is
/// accepted, including ones Entra rejects (see [`Cidr::is_too_broad`]).
///
/// # Errors
///
/// [`CidrError`] for empty input, inner whitespace, zone ids, a missing or non-numeric prefix
/// length, a prefix longer than the family allows, or an invalid address.
pub fn parse_cidr(s: &str) -> Result<Cidr, CidrError> {
    let input = s.trim();
    if input.is_empty() {
        return Err(CidrError::new(input, CidrErrorKind::Empty));
    }
    if input.contains(char::is_whitespace) {
        return Err(CidrError::new(input, CidrErrorKind::Whitespace));
    }
    if input.contains('%') {
        return Err(CidrError::new(input, CidrErrorKind::ZoneId));
    }
    let Some((addr_text, len_text)) = input.split_once('/') else {
        // Report a bare valid address as a missing prefix, anything else as a bad address.
        parse_address(input, input)?;
        return Err(CidrError::new(input, CidrErrorKind::MissingPrefix));
    };
    let addr = parse_address(input, addr_text)?;
    if len_text.is_empty() || !len_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CidrError::new(
            input,
            CidrErrorKind::InvalidPrefix(len_text.into()),
        ));
    }
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len_text.parse::<u32>() {
        Ok(len) if len <= u32::from(max) => u8::try_from(len).ok(),
        // All digits, so a parse failure means overflow: too long as well.
        _ => None,
    };
    let Some(len) = len else {
        return Err(CidrError::new(
            input,
            CidrErrorKind::PrefixTooLong {
                len: len_text.into(),
                max,
            },
        ));
    };
    Ok(Cidr {
        network: Network::new(addr, len),
        original: input.into(),
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn err(s: &str) -> String {
        parse_cidr(s).unwrap_err().to_string()
    }

    #[test]
    fn parses_ipv4() {
        let c = parse_cidr("198.51.100.0/24").unwrap();
        assert!(c.is_ipv4());
        assert_eq!(c.prefix_len(), 24);
        assert_eq!(c.to_string(), "198.51.100.0/24");
        assert_eq!(c.original(), "198.51.100.0/24");
        assert_eq!(c.network(), ip("198.51.100.0"));
        assert_eq!(c.last_address(), ip("198.51.100.255"));
        assert_eq!(parse_cidr("1.2.3.4/32").unwrap().to_string(), "1.2.3.4/32");
        assert_eq!(parse_cidr("0.0.0.0/0").unwrap().to_string(), "0.0.0.0/0");
    }

    #[test]
    fn mapped_edges_of_ipv6_ranges_are_ipv4() {
        // `::/80` ends at `::ffff:255.255.255.255`, which is IPv4 and so not in the range.
        let c = parse_cidr("::/80").unwrap();
        assert_eq!(c.last_address(), ip("::ffff:255.255.255.255"));
        assert!(!c.contains(c.last_address()));
        assert!(c.contains(c.first_address()));
        let c = parse_cidr("::ffff:0:0/94").unwrap();
        assert!(c.is_ipv6());
        assert_eq!(c.to_string(), "::fffc:0:0/94");
        assert!(!c.contains(c.last_address()));
        assert!(c.contains(c.first_address()));
    }

    #[test]
    fn masks_host_bits() {
        let c = parse_cidr("178.72.74.5/24").unwrap();
        assert_eq!(c.original(), "178.72.74.5/24");
        assert_eq!(c.network_text(), "178.72.74.0/24");
        assert_eq!(c.to_string(), "178.72.74.0/24");
        assert_eq!(c, parse_cidr("178.72.74.0/24").unwrap());

        let c = parse_cidr("62.214.191.50/29").unwrap();
        assert_eq!(c.network_text(), "62.214.191.48/29");
        assert_eq!(c.first_address(), ip("62.214.191.48"));
        assert_eq!(c.last_address(), ip("62.214.191.55"));

        let c = parse_cidr("2001:db8:abcd::1/32").unwrap();
        assert_eq!(c.network_text(), "2001:db8::/32");
        assert_eq!(
            parse_cidr("255.255.255.255/0").unwrap().to_string(),
            "0.0.0.0/0"
        );
    }

    #[test]
    fn parses_ipv6_forms() {
        let compressed = parse_cidr("2001:db8::/32").unwrap();
        let full = parse_cidr("2001:0db8:0000:0000:0000:0000:0000:0000/32").unwrap();
        assert!(compressed.is_ipv6());
        assert_eq!(compressed, full);
        assert_eq!(full.to_string(), "2001:db8::/32");
        assert_eq!(
            full.original(),
            "2001:0db8:0000:0000:0000:0000:0000:0000/32"
        );
        assert_eq!(
            parse_cidr("2001:DB8:1::/48").unwrap().to_string(),
            "2001:db8:1::/48"
        );
        assert_eq!(parse_cidr("::/0").unwrap().to_string(), "::/0");
        assert_eq!(parse_cidr("::1/128").unwrap().to_string(), "::1/128");
        let last = parse_cidr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128").unwrap();
        assert_eq!(
            last.last_address(),
            ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
        );
        assert_eq!(
            parse_cidr("::/0").unwrap().last_address(),
            last.first_address()
        );
    }

    #[test]
    fn normalises_ipv4_mapped_ranges() {
        let c = parse_cidr("::ffff:1.2.3.4/120").unwrap();
        assert!(c.is_ipv4());
        assert_eq!(c.prefix_len(), 24);
        assert_eq!(c.to_string(), "1.2.3.0/24");
        assert_eq!(c.original(), "::ffff:1.2.3.4/120");
        assert_eq!(c, parse_cidr("1.2.3.0/24").unwrap());
        assert_eq!(
            parse_cidr("::ffff:0:0/96").unwrap().to_string(),
            "0.0.0.0/0"
        );
        assert_eq!(
            parse_cidr("::FFFF:102:304/128").unwrap().to_string(),
            "1.2.3.4/32"
        );
        let c = parse_cidr("::ffff:1.2.3.4/104").unwrap();
        assert_eq!(c.prefix_len(), 8);
        assert!(c.is_too_broad());
        // Below /96 the range is not purely IPv4-mapped: it stays IPv6.
        let c = parse_cidr("::ffff:1.2.3.4/95").unwrap();
        assert!(c.is_ipv6());
        assert_eq!(c.prefix_len(), 95);
        // IPv4-compatible (deprecated) addresses are not mapped ones.
        assert!(parse_cidr("::1.2.3.4/120").unwrap().is_ipv6());
    }

    #[test]
    fn trims_surrounding_whitespace() {
        let c = parse_cidr("  10.1.0.0/16\n").unwrap();
        assert_eq!(c.original(), "10.1.0.0/16");
        assert_eq!(c.to_string(), "10.1.0.0/16");
        assert_eq!(
            "\t2001:db8::/32 ".parse::<Cidr>().unwrap().to_string(),
            "2001:db8::/32"
        );
    }

    #[test]
    fn prefix_policy() {
        assert_eq!(MIN_PREFIX_LEN_EXCLUSIVE, 8);
        let c = parse_cidr("10.0.0.0/8").unwrap();
        assert_eq!(c.prefix_len(), 8);
        assert!(c.is_too_broad());
        assert!(!parse_cidr("10.0.0.0/9").unwrap().is_too_broad());
        assert!(parse_cidr("0.0.0.0/0").unwrap().is_too_broad());
        assert!(parse_cidr("2001::/8").unwrap().is_too_broad());
        assert!(!parse_cidr("2001::/9").unwrap().is_too_broad());
        assert!(!parse_cidr("1.2.3.4/32").unwrap().is_too_broad());
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            err("10.0.0.0"),
            "invalid CIDR range `10.0.0.0`: missing prefix length"
        );
        assert_eq!(
            err("2001:db8::"),
            "invalid CIDR range `2001:db8::`: missing prefix length"
        );
        assert_eq!(
            err("1.2.3.4/33"),
            "invalid CIDR range `1.2.3.4/33`: prefix length 33 is longer than 32"
        );
        assert_eq!(
            err("2001:db8::/129"),
            "invalid CIDR range `2001:db8::/129`: prefix length 129 is longer than 128"
        );
        assert_eq!(
            err("1.2.3.4/99999999999999999999"),
            "invalid CIDR range `1.2.3.4/99999999999999999999`: \
             prefix length 99999999999999999999 is longer than 32"
        );
        assert_eq!(
            err("fe80::1%eth0/64"),
            "invalid CIDR range `fe80::1%eth0/64`: zone ids are not allowed"
        );
        assert_eq!(
            err("10.0.0.0 /8"),
            "invalid CIDR range `10.0.0.0 /8`: whitespace is not allowed"
        );
        assert_eq!(err("   "), "invalid CIDR range ``: the range is empty");
        assert_eq!(
            err("garbage"),
            "invalid CIDR range `garbage`: `garbage` is not a valid IP address"
        );
        assert_eq!(
            err("1.2.3/24"),
            "invalid CIDR range `1.2.3/24`: `1.2.3` is not a valid IPv4 address"
        );
        assert_eq!(
            err("256.0.0.0/24"),
            "invalid CIDR range `256.0.0.0/24`: `256.0.0.0` is not a valid IPv4 address"
        );
        assert_eq!(
            err("2001:db8:::/48"),
            "invalid CIDR range `2001:db8:::/48`: `2001:db8:::` is not a valid IPv6 address"
        );
        assert_eq!(
            err("10.0.0.0/"),
            "invalid CIDR range `10.0.0.0/`: invalid prefix length ``"
        );
        assert_eq!(
            err("10.0.0.0/+8"),
            "invalid CIDR range `10.0.0.0/+8`: invalid prefix length `+8`"
        );
        assert_eq!(
            err("10.0.0.0/24/8"),
            "invalid CIDR range `10.0.0.0/24/8`: invalid prefix length `24/8`"
        );
        assert_eq!(err("/24"), "invalid CIDR range `/24`: missing address");
        let e = parse_cidr(" 1.2.3.4/33 ").unwrap_err();
        assert_eq!(e.input(), "1.2.3.4/33");
        assert_eq!(
            e.kind(),
            &CidrErrorKind::PrefixTooLong {
                len: "33".into(),
                max: 32
            }
        );
        assert_eq!(
            parse_cidr("fe80::1%eth0/64").unwrap_err().kind(),
            &CidrErrorKind::ZoneId
        );
    }

    #[test]
    fn normalize_ip_maps_only_ipv4_mapped() {
        assert_eq!(normalize_ip(ip("::ffff:1.2.3.4")), ip("1.2.3.4"));
        assert_eq!(normalize_ip(ip("::ffff:0:0")), ip("0.0.0.0"));
        assert_eq!(normalize_ip(ip("1.2.3.4")), ip("1.2.3.4"));
        assert_eq!(normalize_ip(ip("::1.2.3.4")), ip("::1.2.3.4"));
        assert_eq!(normalize_ip(ip("2001:db8::1")), ip("2001:db8::1"));
        assert_eq!(normalize_ip(ip("::1")), ip("::1"));
    }

    #[test]
    fn parse_ip_trims_rejects_and_normalises() {
        assert_eq!(parse_ip(" 203.0.113.7\n").unwrap(), ip("203.0.113.7"));
        assert_eq!(parse_ip("::ffff:203.0.113.7").unwrap(), ip("203.0.113.7"));
        assert_eq!(parse_ip("2001:DB8::1").unwrap(), ip("2001:db8::1"));
        assert_eq!(
            parse_ip("fe80::1%eth0").unwrap_err().to_string(),
            "invalid IP address `fe80::1%eth0`: zone ids are not allowed"
        );
        assert_eq!(
            parse_ip("10.0.0.0/8").unwrap_err().to_string(),
            "invalid IP address `10.0.0.0/8`: expected a single address, not a range"
        );
        assert_eq!(
            parse_ip("1.2.3").unwrap_err().to_string(),
            "invalid IP address `1.2.3`: not a valid IPv4 or IPv6 address"
        );
        assert_eq!(
            parse_ip("1.2. 3.4").unwrap_err().to_string(),
            "invalid IP address `1.2. 3.4`: whitespace is not allowed"
        );
        assert_eq!(
            parse_ip("").unwrap_err().to_string(),
            "invalid IP address ``: the address is empty"
        );
        assert_eq!(parse_ip(" x ").unwrap_err().kind(), &IpErrorKind::Invalid);
    }

    #[test]
    fn contains_at_edges() {
        let c = parse_cidr("62.214.191.50/29").unwrap();
        assert!(!c.contains(ip("62.214.191.47")));
        assert!(c.contains(ip("62.214.191.48")));
        assert!(c.contains(ip("62.214.191.50")));
        assert!(c.contains(ip("62.214.191.55")));
        assert!(!c.contains(ip("62.214.191.56")));
        assert!(c.contains(ip("::ffff:62.214.191.55")));
        assert!(!c.contains(ip("::ffff:62.214.191.56")));
        assert!(!c.contains(ip("2001:db8::1")));

        let all4 = parse_cidr("0.0.0.0/0").unwrap();
        assert!(all4.contains(ip("0.0.0.0")));
        assert!(all4.contains(ip("255.255.255.255")));
        assert!(all4.contains(ip("::ffff:8.8.8.8")));
        assert!(!all4.contains(ip("::1")));
        let top = parse_cidr("255.255.255.255/32").unwrap();
        assert!(top.contains(ip("255.255.255.255")));
        assert!(!top.contains(ip("255.255.255.254")));
        assert_eq!(top.last_address(), ip("255.255.255.255"));

        let all6 = parse_cidr("::/0").unwrap();
        assert!(all6.contains(ip("::")));
        assert!(all6.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(!all6.contains(ip("1.2.3.4")));
        // A mapped address is IPv4 after normalisation, so not in an IPv6 range.
        assert!(!all6.contains(ip("::ffff:1.2.3.4")));

        let c = parse_cidr("2001:db8::/32").unwrap();
        assert!(c.contains(ip("2001:db8::")));
        assert!(c.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(!c.contains(ip("2001:db9::")));
        assert!(!c.contains(ip("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff")));

        let mapped = parse_cidr("::ffff:1.2.3.0/120").unwrap();
        assert!(mapped.contains(ip("1.2.3.255")));
        assert!(mapped.contains(ip("::ffff:1.2.3.0")));
        assert!(!mapped.contains(ip("1.2.4.0")));
    }

    #[test]
    fn first_address_is_inside() {
        for s in [
            "62.214.191.50/29",
            "0.0.0.0/0",
            "2001:db8::5/32",
            "::ffff:1.2.3.4/120",
        ] {
            let c = parse_cidr(s).unwrap();
            assert!(c.contains(c.first_address()), "{s}");
            assert!(c.contains(c.last_address()), "{s}");
        }
    }
}

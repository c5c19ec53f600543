//! The client's public address (spec §2.2): the TCP peer, or the address a chain of
//! *configured* trusted proxies reports in one configured header.
//!
//! Entra itself ignores `X-Forwarded-For` because anyone can write it. gardien sits behind a
//! reverse proxy, so it must read one, but only as far as it can trust it:
//!
//! * nothing is trusted by default: with no trusted proxy the peer address is the client;
//! * only the one configured header is read ([`ForwardedHeader`]; `X-Forwarded-For` by
//!   default), so a client cannot add a second header the proxy does not maintain;
//! * the hop list is walked from the right (the entry the nearest proxy appended) while the
//!   hop is itself a trusted proxy; the first untrusted hop is the client;
//! * a malformed, obfuscated (`_hidden`) or `unknown` entry where the client should be gives
//!   **no address** rather than the proxy's own: a request whose origin cannot be told is in
//!   no IP named location, so a policy that exempts "trusted locations" still applies to it
//!   (fail closed). The same for oversized headers or chains longer than [`MAX_HOPS`].
//!
//! Addresses are normalised like everywhere in gardien (IPv4-mapped IPv6 → IPv4); ports are
//! dropped; IPv6 zone ids are rejected.

use gardien_core::network::{Cidr, normalize_ip, parse_cidr};
use http::HeaderMap;
use std::net::IpAddr;

/// At most this many hops are walked; a longer chain is treated as malformed.
pub const MAX_HOPS: usize = 32;
/// At most this many bytes of the forwarding header are read; more is treated as malformed.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// Which header carries the forwarding chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, Traefik, Caddy, Envoy, HAProxy).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for="[2001:db8::1]:443"`.
    Forwarded,
    /// `X-Real-IP: client`, one address set by the proxy (nginx `real_ip` style).
    XRealIp,
}

impl ForwardedHeader {
    /// The header name.
    pub fn name(self) -> &'static str {
        match self {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
            ForwardedHeader::XRealIp => "x-real-ip",
        }
    }

    /// Parses a configuration value (`x-forwarded-for`, `forwarded`, `x-real-ip`).
    pub fn parse(text: &str) -> Option<Self> {
        [
            ForwardedHeader::XForwardedFor,
            ForwardedHeader::Forwarded,
            ForwardedHeader::XRealIp,
        ]
        .into_iter()
        .find(|h| h.name().eq_ignore_ascii_case(text.trim()))
    }
}

/// The proxies whose forwarding headers are believed. Empty by default.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    ranges: Vec<Cidr>,
}

impl TrustedProxies {
    /// Trust these ranges (CIDR or single addresses).
    pub fn parse<'a>(ranges: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut out = Vec::new();
        for text in ranges {
            let text = text.trim();
            let cidr = if text.contains('/') {
                parse_cidr(text)
            } else if text.contains(':') {
                parse_cidr(&format!("{text}/128"))
            } else {
                parse_cidr(&format!("{text}/32"))
            };
            out.push(cidr.map_err(|e| format!("trusted proxy `{text}`: {e}"))?);
        }
        Ok(TrustedProxies { ranges: out })
    }

    /// Whether `ip` is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.ranges.iter().any(|c| c.contains(ip))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// How the client address was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpSource {
    /// The TCP peer (no trusted proxy in front, or the proxy sent no header).
    Peer,
    /// The forwarding header, `hop` entries from the right (1 = appended by the peer).
    Forwarded {
        /// Position from the right of the entry used.
        hop: usize,
    },
    /// No address could be trusted; see the problem.
    Unknown(IpProblem),
    /// Given with the sign-in (a Graph evaluate request), not read from a connection.
    Given,
}

/// Why no client address could be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpProblem {
    /// The server did not give a peer address.
    NoPeer,
    /// The entry where the client should be is not an address.
    MalformedHop,
    /// The proxy hides the client (`unknown` or an obfuscated `_identifier`).
    HiddenClient,
    /// The header is larger than [`MAX_HEADER_BYTES`] or the chain longer than [`MAX_HOPS`].
    TooLong,
}

impl IpProblem {
    /// A short explanation for traces.
    pub fn describe(self) -> &'static str {
        match self {
            IpProblem::NoPeer => "no peer address",
            IpProblem::MalformedHop => "the forwarding header holds a malformed entry",
            IpProblem::HiddenClient => "the proxy hides the client address",
            IpProblem::TooLong => "the forwarding header is too long",
        }
    }
}

/// The client address and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp {
    /// The address, `None` when it cannot be trusted.
    pub address: Option<IpAddr>,
    /// Where it came from.
    pub source: IpSource,
}

impl ClientIp {
    fn unknown(problem: IpProblem) -> Self {
        ClientIp {
            address: None,
            source: IpSource::Unknown(problem),
        }
    }
}

/// Finds the client address of a request from its peer and headers.
pub fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
    header: ForwardedHeader,
) -> ClientIp {
    let Some(peer) = peer.map(normalize_ip) else {
        return ClientIp::unknown(IpProblem::NoPeer);
    };
    let peer_only = ClientIp {
        address: Some(peer),
        source: IpSource::Peer,
    };
    if !trusted.contains(peer) {
        return peer_only;
    }
    // Every instance of the header, in order, forms one list (RFC 9110 §5.3).
    let mut total = 0usize;
    let mut hops: [&[u8]; MAX_HOPS] = [&[]; MAX_HOPS];
    let mut count = 0usize;
    for value in headers.get_all(header.name()) {
        let bytes = value.as_bytes();
        total += bytes.len() + 1;
        if total > MAX_HEADER_BYTES {
            return ClientIp::unknown(IpProblem::TooLong);
        }
        let entries: &mut dyn Iterator<Item = &[u8]> = match header {
            ForwardedHeader::XRealIp => &mut std::iter::once(bytes),
            ForwardedHeader::XForwardedFor => &mut bytes.split(|b| *b == b','),
            ForwardedHeader::Forwarded => &mut ForwardedElements::new(bytes),
        };
        for entry in entries {
            if count == MAX_HOPS {
                return ClientIp::unknown(IpProblem::TooLong);
            }
            hops[count] = entry;
            count += 1;
        }
    }
    if count == 0 {
        return peer_only;
    }
    if header == ForwardedHeader::XRealIp && count > 1 {
        // Several X-Real-IP values: somebody besides the proxy wrote one.
        return ClientIp::unknown(IpProblem::MalformedHop);
    }
    let mut leftmost = None;
    for (i, entry) in hops[..count].iter().rev().enumerate() {
        let node = match header {
            ForwardedHeader::Forwarded => forwarded_for(entry),
            _ => Node::parse(entry),
        };
        let ip = match node {
            Node::Address(ip) => ip,
            Node::Hidden => return ClientIp::unknown(IpProblem::HiddenClient),
            Node::Malformed => return ClientIp::unknown(IpProblem::MalformedHop),
        };
        let found = ClientIp {
            address: Some(ip),
            source: IpSource::Forwarded { hop: i + 1 },
        };
        if !trusted.contains(ip) {
            return found;
        }
        leftmost = Some(found);
    }
    // Every hop is a trusted proxy: the request started inside; the leftmost is the origin.
    leftmost.unwrap_or(peer_only)
}

/// One entry of a forwarding chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Address(IpAddr),
    Hidden,
    Malformed,
}

impl Node {
    /// `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:443`,
    /// `unknown`, `_obfuscated`.
    fn parse(raw: &[u8]) -> Node {
        let Ok(text) = std::str::from_utf8(raw) else {
            return Node::Malformed;
        };
        let text = text.trim_matches([' ', '\t']);
        if text.eq_ignore_ascii_case("unknown") || text.starts_with('_') {
            return Node::Hidden;
        }
        let address = if let Some(rest) = text.strip_prefix('[') {
            match rest.split_once(']') {
                Some((inside, after)) if after.is_empty() || valid_port(after) => inside,
                _ => return Node::Malformed,
            }
        } else if text.bytes().filter(|b| *b == b':').count() == 1 {
            match text.split_once(':') {
                Some((host, port)) if valid_port(port) => host,
                _ => return Node::Malformed,
            }
        } else {
            text
        };
        if address.contains('%') || address.is_empty() {
            return Node::Malformed;
        }
        match address.parse::<IpAddr>() {
            Ok(ip) => Node::Address(normalize_ip(ip)),
            Err(_) => Node::Malformed,
        }
    }
}

/// `:port` after an address (RFC 7239 also allows obfuscated `_port`).
fn valid_port(after: &str) -> bool {
    let port = after.strip_prefix(':').unwrap_or(after);
    if let Some(obfuscated) = port.strip_prefix('_') {
        return !obfuscated.is_empty()
            && obfuscated
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    }
    port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok()
}

/// Splits a `Forwarded` value into its comma-separated elements, honouring quoted strings.
struct ForwardedElements<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> ForwardedElements<'a> {
    fn new(value: &'a [u8]) -> Self {
        ForwardedElements { rest: Some(value) }
    }
}

impl<'a> Iterator for ForwardedElements<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        let mut quoted = false;
        let mut escaped = false;
        for (i, b) in rest.iter().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' if quoted => escaped = true,
                b'"' => quoted = !quoted,
                b',' if !quoted => {
                    self.rest = rest.get(i + 1..);
                    return rest.get(..i);
                }
                _ => {}
            }
        }
        self.rest = None;
        Some(rest)
    }
}

/// The `for=` node of one `Forwarded` element (`for=1.2.3.4;proto=https`).
fn forwarded_for(element: &[u8]) -> Node {
    let mut found = None;
    for pair in split_unquoted(element, b';') {
        let Ok(pair) = std::str::from_utf8(pair) else {
            return Node::Malformed;
        };
        let Some((key, value)) = pair.trim_matches([' ', '\t']).split_once('=') else {
            continue;
        };
        if !key.trim().eq_ignore_ascii_case("for") {
            continue;
        }
        if found.is_some() {
            return Node::Malformed; // two `for` in one element
        }
        let value = value.trim();
        let value = match value.strip_prefix('"') {
            Some(inner) => match inner.strip_suffix('"') {
                Some(v) if !v.contains(['"', '\\']) => v,
                _ => return Node::Malformed,
            },
            None => value,
        };
        found = Some(Node::parse(value.as_bytes()));
    }
    // An element without `for` does not say who the client is.
    found.unwrap_or(Node::Hidden)
}

/// Splits on `sep` outside double quotes.
fn split_unquoted(bytes: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> {
    let mut quoted = false;
    bytes.split(move |b| {
        if *b == b'"' {
            quoted = !quoted;
        }
        *b == sep && !quoted
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn headers(name: &'static str, values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            if let Ok(v) = HeaderValue::from_bytes(v) {
                h.append(name, v);
            }
        }
        h
    }

    fn trusted(ranges: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(ranges.iter().copied()).unwrap_or_default()
    }

    fn xff(peer: &str, values: &[&[u8]], proxies: &[&str]) -> ClientIp {
        client_ip(
            Some(ip(peer)),
            &headers("x-forwarded-for", values),
            &trusted(proxies),
            ForwardedHeader::XForwardedFor,
        )
    }

    #[test]
    fn nothing_is_trusted_by_default() {
        let c = xff("203.0.113.9", &[b"198.51.100.1"], &[]);
        assert_eq!(c.address, Some(ip("203.0.113.9")));
        assert_eq!(c.source, IpSource::Peer);
    }

    #[test]
    fn untrusted_peer_header_is_ignored() {
        let c = xff("203.0.113.9", &[b"10.1.2.3"], &["10.0.0.0/16"]);
        assert_eq!(c.address, Some(ip("203.0.113.9")));
    }

    #[test]
    fn walks_from_the_right_through_trusted_hops() {
        // attacker-written first entry, real client, then two trusted proxies.
        let c = xff(
            "10.0.0.2",
            &[b"6.6.6.6, 198.51.100.7, 10.0.0.5"],
            &["10.0.0.0/24"],
        );
        assert_eq!(c.address, Some(ip("198.51.100.7")));
        assert_eq!(c.source, IpSource::Forwarded { hop: 2 });
    }

    #[test]
    fn several_header_lines_form_one_list() {
        let c = xff("10.0.0.2", &[b"6.6.6.6", b"198.51.100.7"], &["10.0.0.0/24"]);
        assert_eq!(c.address, Some(ip("198.51.100.7")));
    }

    #[test]
    fn all_trusted_means_the_leftmost() {
        let c = xff("10.0.0.2", &[b"10.0.0.9, 10.0.0.5"], &["10.0.0.0/24"]);
        assert_eq!(c.address, Some(ip("10.0.0.9")));
    }

    #[test]
    fn no_header_from_a_trusted_proxy_is_the_proxy() {
        let c = xff("10.0.0.2", &[], &["10.0.0.0/24"]);
        assert_eq!(c.address, Some(ip("10.0.0.2")));
        assert_eq!(c.source, IpSource::Peer);
    }

    #[test]
    fn malformed_client_entry_gives_no_address_not_the_proxy() {
        for bad in [
            &b"not-an-ip"[..],
            b"198.51.100.7 , , ",
            b"1.2.3.4.5",
            b"fe80::1%eth0",
            b"[2001:db8::1",
            b"1.2.3.4:99999",
            b"\xff\xfe",
        ] {
            let c = xff("10.0.0.2", &[bad], &["10.0.0.0/24"]);
            assert_eq!(c.address, None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn ports_brackets_and_mapped_addresses() {
        for (entry, expected) in [
            (&b"198.51.100.7:4711"[..], "198.51.100.7"),
            (b"[2001:db8::7]:443", "2001:db8::7"),
            (b"[2001:db8::7]", "2001:db8::7"),
            (b"2001:db8::7", "2001:db8::7"),
            (b"::ffff:198.51.100.7", "198.51.100.7"),
            (b" 198.51.100.7 ", "198.51.100.7"),
        ] {
            let c = xff("10.0.0.2", &[entry], &["10.0.0.0/24"]);
            assert_eq!(c.address, Some(ip(expected)), "{:?}", entry);
        }
        // The peer itself is normalised, and trusted through its IPv4 form.
        let c = xff("::ffff:10.0.0.2", &[b"198.51.100.7"], &["10.0.0.0/24"]);
        assert_eq!(c.address, Some(ip("198.51.100.7")));
    }

    #[test]
    fn rfc7239_forwarded() {
        let run = |values: &[&[u8]]| {
            client_ip(
                Some(ip("10.0.0.2")),
                &headers("forwarded", values),
                &trusted(&["10.0.0.0/24"]),
                ForwardedHeader::Forwarded,
            )
        };
        let c = run(&[b"for=192.0.2.60;proto=http;by=203.0.113.43, for=10.0.0.3"]);
        assert_eq!(c.address, Some(ip("192.0.2.60")));
        let c = run(&[b"For=\"[2001:db8:cafe::17]:4711\""]);
        assert_eq!(c.address, Some(ip("2001:db8:cafe::17")));
        let c = run(&[b"for=unknown"]);
        assert_eq!(c.source, IpSource::Unknown(IpProblem::HiddenClient));
        let c = run(&[b"for=_hidden, for=10.0.0.4"]);
        assert_eq!(c.address, None);
        let c = run(&[b"for=\"198.51.100.1, 6.6.6.6\""]);
        assert_eq!(c.address, None, "a comma inside quotes is not a separator");
        let c = run(&[b"proto=https"]);
        assert_eq!(c.address, None);
        let c = run(&[b"for=1.2.3.4;for=5.6.7.8"]);
        assert_eq!(c.source, IpSource::Unknown(IpProblem::MalformedHop));
    }

    #[test]
    fn only_the_configured_header_is_read() {
        let mut h = headers("x-forwarded-for", &[b"198.51.100.7"]);
        h.append("forwarded", HeaderValue::from_static("for=6.6.6.6"));
        h.append("x-real-ip", HeaderValue::from_static("6.6.6.7"));
        let c = client_ip(
            Some(ip("10.0.0.2")),
            &h,
            &trusted(&["10.0.0.2"]),
            ForwardedHeader::XForwardedFor,
        );
        assert_eq!(c.address, Some(ip("198.51.100.7")));
    }

    #[test]
    fn x_real_ip_is_a_single_value() {
        let run = |values: &[&[u8]]| {
            client_ip(
                Some(ip("10.0.0.2")),
                &headers("x-real-ip", values),
                &trusted(&["10.0.0.0/24"]),
                ForwardedHeader::XRealIp,
            )
        };
        assert_eq!(run(&[b"198.51.100.7"]).address, Some(ip("198.51.100.7")));
        assert_eq!(run(&[b"198.51.100.7", b"6.6.6.6"]).address, None);
        assert_eq!(run(&[b"198.51.100.7, 6.6.6.6"]).address, None);
    }

    #[test]
    fn oversized_chains_are_refused() {
        let long = vec!["10.0.0.9"; MAX_HOPS + 1].join(",");
        let c = xff("10.0.0.2", &[long.as_bytes()], &["10.0.0.0/24"]);
        assert_eq!(c.source, IpSource::Unknown(IpProblem::TooLong));
        let huge = "1".repeat(MAX_HEADER_BYTES + 1);
        let c = xff("10.0.0.2", &[huge.as_bytes()], &["10.0.0.0/24"]);
        assert_eq!(c.source, IpSource::Unknown(IpProblem::TooLong));
    }

    #[test]
    fn trusted_proxy_list_parses_addresses_and_ranges() {
        let t = trusted(&["10.0.0.0", "192.168.0.0/16", "::1"]);
        assert!(t.contains(ip("10.0.0.0")));
        assert!(t.contains(ip("192.168.4.4")));
        assert!(t.contains(ip("::1")));
        assert!(!t.contains(ip("10.0.0.1")));
        assert!(TrustedProxies::parse(["10.0.0.0/33"]).is_err());
    }

    proptest! {
        /// Whatever a client writes in the header: never a panic, an address exactly when the
        /// source says one was found, and with no trusted proxy always the peer.
        #[test]
        fn never_panics_and_never_trusts_without_proxies(
            values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 0..4),
            text in "[0-9a-f:.\\[\\], ;=\"_%a-z]{0,120}",
        ) {
            let mut all: Vec<&[u8]> = values.iter().map(|v| v.as_slice()).collect();
            all.push(text.as_bytes());
            for header in [ForwardedHeader::XForwardedFor, ForwardedHeader::Forwarded, ForwardedHeader::XRealIp] {
                let h = headers(header.name(), &all);
                let c = client_ip(Some(ip("10.0.0.2")), &h, &trusted(&["10.0.0.0/24"]), header);
                prop_assert_eq!(c.address.is_none(), matches!(c.source, IpSource::Unknown(_)));
                let c = client_ip(Some(ip("203.0.113.1")), &h, &TrustedProxies::default(), header);
                prop_assert_eq!(c.address, Some(ip("203.0.113.1")));
            }
        }
    }
}

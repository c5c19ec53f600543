//! The client's public address (docs/reference/entra-semantics.md §2.2): the TCP peer, or the
//! address a chain of *configured* trusted proxies reports in one configured header.
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
//!
//! RFC 7239 `Forwarded` is parsed strictly ([`parse_forwarded`]): tokens, quoted strings
//! with quoted-pairs, `;`-separated pairs each named once per element, `,`-separated
//! elements with optional whitespace around the separators. Any syntax error anywhere in any
//! instance of the header (an unclosed quote, a stray character, a repeated parameter, an
//! unquoted IPv6 address or port) makes the whole header malformed: **no address**, never a
//! guess at where an element was meant to end.

use crate::headers::Found;
use gardien_core::network::{Cidr, normalize_ip, parse_cidr};
use http::{HeaderMap, HeaderName, HeaderValue};
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

    /// The header name, as a [`HeaderName`] (not parsed per request).
    pub fn header_name(self) -> &'static HeaderName {
        static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
        static FORWARDED: HeaderName = http::header::FORWARDED;
        static X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
        match self {
            ForwardedHeader::XForwardedFor => &X_FORWARDED_FOR,
            ForwardedHeader::Forwarded => &FORWARDED,
            ForwardedHeader::XRealIp => &X_REAL_IP,
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
    let found = Found::lookup(headers, header.header_name());
    client_ip_found(peer, headers, found, trusted, header)
}

/// As [`client_ip`], with the forwarding header's values found already
/// ([`crate::headers::scan`]): a header sent once is read from `found`, a repeated one
/// through `headers` (every instance, in order).
pub fn client_ip_found(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    found: Found<'_>,
    trusted: &TrustedProxies,
    header: ForwardedHeader,
) -> ClientIp {
    match found.count() {
        0 | 1 => client_ip_of(peer, found.first().into_iter(), trusted, header),
        _ => client_ip_of(
            peer,
            headers.get_all(header.header_name()).iter(),
            trusted,
            header,
        ),
    }
}

/// [`client_ip`] from the forwarding header's values, in order.
fn client_ip_of<'a>(
    peer: Option<IpAddr>,
    values: impl Iterator<Item = &'a HeaderValue>,
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
    // `Forwarded`: the `for=` value of each element, unquoted (`None`: the element has none).
    // Empty (no allocation) for the other headers.
    let mut for_values: Vec<Option<std::borrow::Cow<'_, str>>> = Vec::new();
    for value in values {
        let bytes = value.as_bytes();
        total += bytes.len() + 1;
        if total > MAX_HEADER_BYTES {
            return ClientIp::unknown(IpProblem::TooLong);
        }
        if header == ForwardedHeader::Forwarded {
            match forwarded_line(bytes, &mut for_values, &mut count) {
                Ok(()) => continue,
                Err(ForwardedProblem::TooLong) => return ClientIp::unknown(IpProblem::TooLong),
                Err(ForwardedProblem::Syntax) => {
                    return ClientIp::unknown(IpProblem::MalformedHop);
                }
            }
        }
        let entries: &mut dyn Iterator<Item = &[u8]> = match header {
            ForwardedHeader::XRealIp => &mut std::iter::once(bytes),
            _ => &mut bytes.split(|b| *b == b','),
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
    for (i, index) in (0..count).rev().enumerate() {
        let node = match header {
            ForwardedHeader::Forwarded => match for_values.get(index).and_then(Option::as_ref) {
                // A node has no whitespace, even quoted (`for=" 1.2.3.4"`).
                Some(v) if v.contains([' ', '\t']) => Node::Malformed,
                Some(v) => Node::parse(v.as_bytes()),
                // An element without `for` does not say who the client is.
                None => Node::Hidden,
            },
            _ => Node::parse(hops[index]),
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

/// Why a `Forwarded` header line was refused.
enum ForwardedProblem {
    Syntax,
    TooLong,
}

/// Parses one `Forwarded` line strictly, appending the `for=` value of each element.
fn forwarded_line<'a>(
    line: &'a [u8],
    for_values: &mut Vec<Option<std::borrow::Cow<'a, str>>>,
    count: &mut usize,
) -> Result<(), ForwardedProblem> {
    let elements = parse_forwarded_bytes(line).ok_or(ForwardedProblem::Syntax)?;
    for element in elements {
        if *count >= MAX_HOPS {
            return Err(ForwardedProblem::TooLong);
        }
        let value = element
            .pairs
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("for"))
            .map(|(_, value)| value);
        // `count` is the number of elements so far: the next index.
        for_values.truncate(*count);
        for_values.push(value);
        *count += 1;
    }
    Ok(())
}

/// One element of a `Forwarded` header (`for=192.0.2.60;proto=http;by=203.0.113.43`):
/// its parameters in order, names as written, values unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedElement<'a> {
    /// `(name, value)` pairs; no name appears twice (compared case-insensitively).
    pub pairs: Vec<(&'a str, std::borrow::Cow<'a, str>)>,
}

impl ForwardedElement<'_> {
    /// The `for` parameter's value, unquoted.
    pub fn for_value(&self) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("for"))
            .map(|(_, v)| v.as_ref())
    }
}

impl std::fmt::Display for ForwardedElement<'_> {
    /// The element in canonical form: values that are not tokens are quoted, with `"` and
    /// `\` escaped.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (name, value)) in self.pairs.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{name}=")?;
            if !value.is_empty() && value.bytes().all(is_tchar) {
                f.write_str(value)?;
            } else {
                f.write_str("\"")?;
                for c in value.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")?;
            }
        }
        Ok(())
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses one `Forwarded` header value strictly (RFC 7239 §4 with RFC 9110 lists): `None`
/// on any syntax error. Empty list elements (`a, , b`) are skipped, as RFC 9110 asks;
/// optional whitespace is allowed around `,` and `;`, never around `=`.
pub fn parse_forwarded(value: &str) -> Option<Vec<ForwardedElement<'_>>> {
    parse_forwarded_bytes(value.as_bytes())
}

fn parse_forwarded_bytes(value: &[u8]) -> Option<Vec<ForwardedElement<'_>>> {
    let text = std::str::from_utf8(value).ok()?;
    let bytes = text.as_bytes();
    let ows = |i: &mut usize| {
        while matches!(bytes.get(*i), Some(b' ' | b'\t')) {
            *i += 1;
        }
    };
    let mut elements = Vec::new();
    let mut pairs: Vec<(&str, std::borrow::Cow<'_, str>)> = Vec::new();
    let mut i = 0;
    ows(&mut i);
    loop {
        match bytes.get(i) {
            // End of the value, or of one element.
            None | Some(b',') => {
                if !pairs.is_empty() {
                    elements.push(ForwardedElement {
                        pairs: std::mem::take(&mut pairs),
                    });
                }
                if i >= bytes.len() {
                    return Some(elements);
                }
                i += 1;
                ows(&mut i);
            }
            // An empty pair (`a=1;;b=2` is allowed by the grammar).
            Some(b';') => {
                i += 1;
                ows(&mut i);
            }
            Some(_) => {
                let start = i;
                while bytes.get(i).copied().is_some_and(is_tchar) {
                    i += 1;
                }
                let name = text.get(start..i).filter(|n| !n.is_empty())?;
                if bytes.get(i) != Some(&b'=') {
                    return None;
                }
                i += 1;
                let value = if bytes.get(i) == Some(&b'"') {
                    i += 1;
                    let begin = i;
                    let mut unescaped: Option<String> = None;
                    loop {
                        match *bytes.get(i)? {
                            b'"' => break,
                            b'\\' => {
                                let next = *bytes.get(i + 1)?;
                                if next != b'\t' && (next < 0x20 || next == 0x7f) {
                                    return None;
                                }
                                let u = unescaped.get_or_insert_with(|| {
                                    text.get(begin..i).unwrap_or("").to_owned()
                                });
                                // `next` may start a multi-byte character: copy it whole.
                                let width = text.get(i + 1..)?.chars().next()?.len_utf8();
                                u.push_str(text.get(i + 1..i + 1 + width)?);
                                i += 1 + width;
                            }
                            b if b == b'\t' || (b >= 0x20 && b != 0x7f) => {
                                let width = text.get(i..)?.chars().next()?.len_utf8();
                                if let Some(u) = &mut unescaped {
                                    u.push_str(text.get(i..i + width)?);
                                }
                                i += width;
                            }
                            _ => return None,
                        }
                    }
                    let raw = text.get(begin..i)?;
                    i += 1; // closing quote
                    match unescaped {
                        Some(u) => std::borrow::Cow::Owned(u),
                        None => std::borrow::Cow::Borrowed(raw),
                    }
                } else {
                    let begin = i;
                    while bytes.get(i).copied().is_some_and(is_tchar) {
                        i += 1;
                    }
                    std::borrow::Cow::Borrowed(text.get(begin..i).filter(|v| !v.is_empty())?)
                };
                if pairs.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                    return None; // a parameter twice in one element
                }
                pairs.push((name, value));
                ows(&mut i);
                // After a pair: `;`, `,` or the end, nothing else.
                if !matches!(bytes.get(i), None | Some(b';' | b',')) {
                    return None;
                }
            }
        }
    }
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
        // Quoted-pairs are unescaped; whitespace around `;` and `,` is allowed.
        let c = run(&[b"for=\"\\[2001:db8::1\\]\" ; proto=https ,for=10.0.0.3"]);
        assert_eq!(c.address, Some(ip("2001:db8::1")));
        // Empty list elements are skipped.
        let c = run(&[b", for=192.0.2.60 ,, for=10.0.0.3"]);
        assert_eq!(c.address, Some(ip("192.0.2.60")));
    }

    /// Finding 2: a malformed `Forwarded` header gives no address, wherever the error is.
    #[test]
    fn malformed_forwarded_headers_give_no_address() {
        let run = |values: &[&[u8]]| {
            client_ip(
                Some(ip("10.0.0.2")),
                &headers("forwarded", values),
                &trusted(&["10.0.0.0/24", "203.0.113.0/24"]),
                ForwardedHeader::Forwarded,
            )
        };
        for bad in [
            // The reported attack: an unclosed quote swallowing the real client's element.
            &b"for=198.51.100.20;x=\", for=203.0.113.5"[..],
            b"for=198.51.100.20, for=\"203.0.113.5",
            b"for=198.51.100.20 for=203.0.113.5",
            b"for =198.51.100.20",
            b"for= 198.51.100.20",
            b"for=198.51.100.20;proto",
            b"for=198.51.100.20;=x",
            b"for=[2001:db8::1]",
            b"for=198.51.100.20:443",
            b"for=198.51.100.20;FOR=6.6.6.6",
            b"for=198.51.100.20;by=\"a\"b",
            b"for=198.51.100.20;by=\xff",
            b"for=198.51.100.20;x=\"\\",
            b"for=198.51.100.20 ; x=a b",
            b"for=\" 198.51.100.20\"",
        ] {
            let c = run(&[bad]);
            assert_eq!(c.address, None, "{}", String::from_utf8_lossy(bad));
            assert_eq!(
                c.source,
                IpSource::Unknown(IpProblem::MalformedHop),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // An error in another instance of the header spoils all of them.
        let c = run(&[b"for=198.51.100.20", b"for=\"203.0.113.5"]);
        assert_eq!(c.address, None);
    }

    #[test]
    fn forwarded_elements_print_canonically() {
        let parsed =
            parse_forwarded("For=\"[2001:db8::1]:443\";proto=https, for=x\t").unwrap_or_default();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].for_value(), Some("[2001:db8::1]:443"));
        assert_eq!(
            parsed[0].to_string(),
            "For=\"[2001:db8::1]:443\";proto=https"
        );
        let odd = parse_forwarded("a=\"q\\\"\\\\\"").unwrap_or_default();
        assert_eq!(odd[0].pairs[0].1, "q\"\\");
        assert_eq!(parse_forwarded(&odd[0].to_string()), Some(odd));
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
    fn header_names_are_the_configured_names() {
        for h in [
            ForwardedHeader::XForwardedFor,
            ForwardedHeader::Forwarded,
            ForwardedHeader::XRealIp,
        ] {
            assert_eq!(h.header_name().as_str(), h.name());
            assert_eq!(ForwardedHeader::parse(h.header_name().as_str()), Some(h));
        }
    }

    /// The forwarding header's values found by a scan ([`crate::headers::scan`]) among the
    /// request's other headers give the address `client_ip` gives: once, repeated (several
    /// lines form one list, in order), absent, non-UTF-8, untrusted peers, every header kind.
    #[test]
    fn scanned_forwarding_headers_give_the_same_address() {
        let lines: [&[&[u8]]; 7] = [
            &[],
            &[b"198.51.100.7"],
            &[b"6.6.6.6", b"198.51.100.7"],
            &[b"198.51.100.7, 10.0.0.9", b"10.0.0.5"],
            &[b"for=198.51.100.7", b"for=10.0.0.5;proto=https"],
            &[b"\xff\xfe", b"198.51.100.7"],
            &[b"unknown"],
        ];
        for header in [
            ForwardedHeader::XForwardedFor,
            ForwardedHeader::Forwarded,
            ForwardedHeader::XRealIp,
        ] {
            for values in lines {
                let mut h = headers(header.name(), values);
                // Other headers before and after, one of the same length.
                h.insert("host", HeaderValue::from_static("gardien"));
                h.append("x-original-host", HeaderValue::from_static("wiki"));
                h.append("x-real-ipv", HeaderValue::from_static("6.6.6.6"));
                let [found, _] = crate::headers::scan(
                    &h,
                    [Some(header.header_name()), Some(&http::header::USER_AGENT)],
                );
                assert_eq!(found.count(), values.len());
                for (peer, proxies) in [
                    ("10.0.0.2", &["10.0.0.0/24"][..]),
                    ("203.0.113.9", &["10.0.0.0/24"][..]),
                    ("10.0.0.2", &[][..]),
                ] {
                    let expected = client_ip(Some(ip(peer)), &h, &trusted(proxies), header);
                    let scanned =
                        client_ip_found(Some(ip(peer)), &h, found, &trusted(proxies), header);
                    assert_eq!(scanned, expected, "{header:?} {values:?} {peer}");
                }
            }
        }
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

    /// A valid `Forwarded` element for the property tests: a `for` node (an address, with
    /// or without port, quoted when it must be) among other parameters.
    fn element() -> impl Strategy<Value = (String, Option<IpAddr>)> {
        let v4 = any::<[u8; 4]>().prop_map(IpAddr::from);
        let v6 = any::<[u16; 8]>().prop_map(IpAddr::from);
        let addr = prop_oneof![v4, v6];
        (
            addr,
            any::<bool>(),
            prop::collection::vec(
                (
                    "[a-z]{1,5}",
                    "[a-zA-Z0-9.\\-]{1,6}|\"[ a-z,;=\\\\\"]{0,6}\"",
                ),
                0..3,
            ),
            any::<bool>(),
        )
            .prop_map(|(address, port, others, present)| {
                let node = match (address, port) {
                    (IpAddr::V4(a), false) => a.to_string(),
                    (IpAddr::V4(a), true) => format!("\"{a}:4711\""),
                    (IpAddr::V6(a), false) => format!("\"[{a}]\""),
                    (IpAddr::V6(a), true) => format!("\"[{a}]:443\""),
                };
                let mut pairs: Vec<String> = Vec::new();
                let mut seen = std::collections::HashSet::new();
                seen.insert("for".to_owned());
                for (k, v) in others {
                    if seen.insert(k.clone()) {
                        // A quoted value escapes its quotes and backslashes.
                        let v = match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                            Some(inner) => {
                                format!("\"{}\"", inner.replace('\\', "\\\\").replace('"', "\\\""))
                            }
                            None => v,
                        };
                        pairs.push(format!("{k}={v}"));
                    }
                }
                if pairs.is_empty() && !present {
                    pairs.push("proto=http".to_owned());
                }
                let position = pairs.len() / 2;
                if present {
                    pairs.insert(position, format!("for={node}"));
                }
                (pairs.join(";"), present.then(|| normalize_ip(address)))
            })
    }

    proptest! {
        /// A valid header is walked like `X-Forwarded-For`: the address is the `for` value
        /// of the rightmost element that is not a trusted proxy.
        #[test]
        fn valid_forwarded_headers_give_the_right_element(
            elements in prop::collection::vec(element(), 1..6),
            space in any::<bool>(),
        ) {
            let sep = if space { " , " } else { "," };
            let text = elements.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>().join(sep);
            let h = headers("forwarded", &[text.as_bytes()]);
            let c = client_ip(Some(ip("10.0.0.2")), &h, &trusted(&["10.0.0.0/8"]), ForwardedHeader::Forwarded);
            let mut expected = None;
            for (_, address) in elements.iter().rev() {
                match address {
                    Some(a) => {
                        expected = Some(*a);
                        if !trusted(&["10.0.0.0/8"]).contains(*a) {
                            break;
                        }
                    }
                    None => { expected = None; break; }
                }
            }
            prop_assert_eq!(c.address, expected, "{}", text);
        }

        /// The same header with one more unescaped `"` anywhere is malformed: no address.
        /// (The chosen address is always `None` or the value of one complete element.)
        #[test]
        fn an_unbalanced_quote_anywhere_gives_no_address(
            elements in prop::collection::vec(element(), 1..5),
            at in any::<prop::sample::Index>(),
        ) {
            let text = elements.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>().join(", ");
            let mut cut = at.index(text.len() + 1);
            // Not right after a backslash (that would make it a quoted-pair).
            while cut > 0 && text.as_bytes()[cut - 1] == b'\\' {
                cut -= 1;
            }
            let mut bad = text.clone();
            bad.insert(cut, '"');
            let h = headers("forwarded", &[bad.as_bytes()]);
            let c = client_ip(Some(ip("10.0.0.2")), &h, &trusted(&["10.0.0.0/8"]), ForwardedHeader::Forwarded);
            prop_assert_eq!(c.address, None, "{}", bad);
            if let Some(elements) = parse_forwarded(&text) {
                for e in &elements {
                    let again = e.to_string();
                    let reparsed = parse_forwarded(&again);
                    prop_assert_eq!(reparsed.as_deref(), Some(std::slice::from_ref(e)));
                }
            } else {
                prop_assert!(false, "generated header does not parse: {}", text);
            }
        }
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

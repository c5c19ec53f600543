//! A `Forwarded` header value (RFC 7239), parsed strictly and walked with a trusted proxy in
//! front: never a panic; the chosen address is `None` or the `for=` value of one complete
//! element of the parse; every parsed element prints canonically to text that parses back
//! to the same element; an invalid value gives no address.
#![no_main]

use gardien_signals::client_ip::{
    ForwardedHeader, IpSource, TrustedProxies, client_ip, parse_forwarded,
};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let Ok(trusted) = TrustedProxies::parse(["10.0.0.0/8", "2001:db8::/32"]) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert("forwarded", value);
    let c = client_ip(
        "10.0.0.5".parse().ok(),
        &headers,
        &trusted,
        ForwardedHeader::Forwarded,
    );
    assert_eq!(
        c.address.is_none(),
        matches!(c.source, IpSource::Unknown(_))
    );
    let parsed = std::str::from_utf8(data).ok().and_then(parse_forwarded);
    match &parsed {
        None => assert!(
            c.address.is_none() || c.source == IpSource::Peer,
            "a malformed header gave {:?}",
            c.address
        ),
        Some(elements) => {
            for e in elements {
                let text = e.to_string();
                let again = parse_forwarded(&text);
                assert_eq!(again.as_deref(), Some(std::slice::from_ref(e)), "{text}");
            }
            if let (Some(ip), IpSource::Forwarded { hop }) = (c.address, c.source) {
                let element = &elements[elements.len() - hop];
                let node = element.for_value().unwrap_or("");
                let bare = node
                    .strip_prefix('[')
                    .and_then(|n| n.split(']').next())
                    .unwrap_or_else(|| node.split(':').next().unwrap_or(node));
                let named: Option<std::net::IpAddr> =
                    bare.parse().ok().or_else(|| node.parse().ok());
                let named = named.map(gardien_core::network::normalize_ip);
                assert_eq!(named, Some(ip), "{node} in {element}");
            }
        }
    }
});

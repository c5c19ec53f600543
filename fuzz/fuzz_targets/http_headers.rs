//! A saved request head, then the client-IP walk over every forwarding header kind with a
//! trusted proxy in front: never a panic, and an address only when the source says so.
#![no_main]

use gardien_signals::client_ip::{ForwardedHeader, IpSource, TrustedProxies, client_ip};
use gardien_signals::request::parse_request_head;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(head) = parse_request_head("fuzz", data) else {
        return;
    };
    let Ok(trusted) = TrustedProxies::parse(["10.0.0.0/24", "2001:db8::/32"]) else {
        return;
    };
    for header in [
        ForwardedHeader::XForwardedFor,
        ForwardedHeader::Forwarded,
        ForwardedHeader::XRealIp,
    ] {
        for peer in ["10.0.0.5", "2001:db8::5", "203.0.113.1"] {
            let c = client_ip(peer.parse().ok(), &head.headers, &trusted, header);
            assert_eq!(
                c.address.is_none(),
                matches!(c.source, IpSource::Unknown(_))
            );
        }
    }
});

//! Request → sign-in (docs/design.md / issue 4 target: ≤ 2 µs p50): trusted-proxy walk of
//! `X-Forwarded-For`, GeoIP country lookup in a real worldwide database, User-Agent
//! classification, and the assembled `Signals::sign_in`, over a mix of real User-Agents and
//! addresses. Needs `../shared/corpus/geoip-world/` (skips with a message otherwise).
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark over known-good input: failing loudly is the point"
)]

use criterion::{Criterion, Throughput};
use gardien_signals::client_ip::{ForwardedHeader, TrustedProxies, client_ip};
use gardien_signals::geoip::GeoIp;
use gardien_signals::useragent::classify;
use gardien_signals::{RequestContext, Signals, SignalsConfig};
use http::{HeaderMap, HeaderValue};
use std::hint::black_box;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Instant;

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)",
    "Outlook-iOS/709.2226530.prod.iphone (4.2421.0)",
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
];

const ADDRESSES: &[&str] = &[
    "81.2.69.160",
    "8.8.8.8",
    "1.1.1.1",
    "193.51.24.1",
    "2a01:e0a::1",
    "20.190.128.1",
    "10.0.0.1",
    "203.0.113.7",
];

fn main() {
    let world = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/geoip-world/geo-whois-asn-country.mmdb");
    if !world.is_file() {
        eprintln!("skipped: {} absent", world.display());
        return;
    }
    let geoip = GeoIp::open(Some(&world), None).expect("world database opens");
    let signals = Signals {
        config: SignalsConfig {
            trusted_proxies: TrustedProxies::parse(["10.0.0.0/24", "192.168.0.0/16"])
                .expect("proxies"),
            forwarded_header: ForwardedHeader::XForwardedFor,
            user_header: Some(http::HeaderName::from_static("x-forwarded-user")),
            ..SignalsConfig::default()
        },
        geoip: std::sync::Arc::new(geoip),
        ..Signals::default()
    };
    let requests: Vec<HeaderMap> = (0..64)
        .map(|i| {
            let mut h = HeaderMap::new();
            let ua = USER_AGENTS[i % USER_AGENTS.len()];
            let ip = ADDRESSES[(i / 2) % ADDRESSES.len()];
            h.insert("user-agent", HeaderValue::from_static(ua));
            h.insert(
                "x-forwarded-for",
                HeaderValue::from_str(&format!("{ip}, 192.168.1.1")).expect("header"),
            );
            h.insert("x-forwarded-user", HeaderValue::from_static("alice"));
            h
        })
        .collect();
    let peer: Option<IpAddr> = "10.0.0.5".parse().ok();
    fn context(peer: Option<IpAddr>, h: &HeaderMap) -> RequestContext<'_> {
        RequestContext {
            peer,
            headers: h,
            user: None,
            application: Some("00000003-0000-0ff1-ce00-000000000000"),
            methods: Default::default(),
            now: 1_800_000_000,
        }
    }
    let ctx = |h| context(peer, h);

    // Per-request percentiles of the whole pipeline.
    let mut samples = Vec::with_capacity(requests.len() * 2000);
    for _ in 0..2000 {
        for h in &requests {
            let t = Instant::now();
            black_box(signals.sign_in(black_box(&ctx(h))).ok());
            samples.push(t.elapsed().as_nanos() as u64);
        }
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "request -> sign-in ({} timings): p50 {} ns, p90 {} ns, p99 {} ns",
        samples.len(),
        at(0.5),
        at(0.9),
        at(0.99)
    );

    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("signals");
    g.throughput(Throughput::Elements(requests.len() as u64));
    g.bench_function("sign_in", |b| {
        b.iter(|| {
            for h in &requests {
                black_box(signals.sign_in(black_box(&ctx(h))).ok());
            }
        })
    });
    g.bench_function("client_ip", |b| {
        b.iter(|| {
            for h in &requests {
                black_box(client_ip(
                    peer,
                    black_box(h),
                    &signals.config.trusted_proxies,
                    ForwardedHeader::XForwardedFor,
                ));
            }
        })
    });
    let addresses: Vec<IpAddr> = ADDRESSES.iter().filter_map(|a| a.parse().ok()).collect();
    let db = signals.geoip.places.as_ref().expect("places");
    g.throughput(Throughput::Elements(addresses.len() as u64));
    g.bench_function("geoip_country", |b| {
        b.iter(|| {
            for a in &addresses {
                black_box(db.place(black_box(*a)).ok());
            }
        })
    });
    g.throughput(Throughput::Elements(USER_AGENTS.len() as u64));
    g.bench_function("classify_user_agent", |b| {
        b.iter(|| {
            for ua in USER_AGENTS {
                black_box(classify(black_box(ua)));
            }
        })
    });
    g.finish();
    c.final_summary();
}

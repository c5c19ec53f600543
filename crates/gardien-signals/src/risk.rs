//! Sign-in risk computed from facts (docs/reference/entra-semantics.md §3.9), for a self-hosted
//! gardien that has no Identity Protection behind it.
//!
//! Detections and the level each one carries (documented in `docs/semantics.md`):
//!
//! | detection | level |
//! |---|---|
//! | anonymous network: Tor exit node | high |
//! | anonymous network: VPN, public or residential proxy, other anonymiser | medium |
//! | anonymous network: hosting provider only | low |
//! | impossible travel: ≥ [`RiskConfig::min_travel_km`] from the previous located sign-in at more than [`RiskConfig::max_speed_kmh`] | medium |
//! | unfamiliar country: not seen for this user within [`RiskConfig::familiar_window_secs`], once the user has [`RiskConfig::learning_sign_ins`] sign-ins there | low |
//!
//! The sign-in's level is the highest detection, raised one step (up to high) when two
//! different kinds of detection fire together. No detection: `none`.
//!
//! History comes through [`SignInHistory`] so the server can back it with its sign-in log;
//! [`InMemoryHistory`] serves tests and the CLI.

use crate::geoip::AnonymousFlags;
use gardien_core::model::enums::RiskLevel;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::sync::Mutex;

/// One earlier sign-in of the same user.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PastSignIn {
    /// When (seconds since the Unix epoch).
    pub at: u64,
    /// Country of its address.
    pub country: Option<[u8; 2]>,
    /// Coordinates of its address (City database).
    pub coordinates: Option<(f64, f64)>,
}

/// Earlier sign-ins, by user.
pub trait SignInHistory: Send + Sync {
    /// The user's sign-ins at or after `since`, oldest first.
    fn since(&self, user: &str, since: u64) -> Vec<PastSignIn>;
}

/// A bounded in-memory history (the last `capacity` sign-ins per user).
#[derive(Debug)]
pub struct InMemoryHistory {
    capacity: usize,
    users: Mutex<FxHashMap<String, VecDeque<PastSignIn>>>,
}

impl InMemoryHistory {
    /// Keeps up to `capacity` sign-ins per user.
    pub fn new(capacity: usize) -> Self {
        InMemoryHistory {
            capacity: capacity.max(1),
            users: Mutex::new(FxHashMap::default()),
        }
    }

    /// Records a sign-in.
    pub fn record(&self, user: &str, sign_in: PastSignIn) {
        if let Ok(mut users) = self.users.lock() {
            let list = users.entry(user.to_owned()).or_default();
            if list.len() == self.capacity {
                list.pop_front();
            }
            list.push_back(sign_in);
        }
    }
}

impl SignInHistory for InMemoryHistory {
    fn since(&self, user: &str, since: u64) -> Vec<PastSignIn> {
        self.users
            .lock()
            .ok()
            .and_then(|users| {
                users
                    .get(user)
                    .map(|l| l.iter().filter(|s| s.at >= since).copied().collect())
            })
            .unwrap_or_default()
    }
}

/// Thresholds of the detections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RiskConfig {
    /// Faster than this between two located sign-ins is impossible (default 1000 km/h,
    /// above airliner cruising speed).
    pub max_speed_kmh: f64,
    /// Shorter hops are ignored: GeoIP coordinates are city-level at best (default 500 km).
    pub min_travel_km: f64,
    /// How far back impossible travel looks (default 24 h).
    pub travel_window_secs: u64,
    /// How far back a country counts as familiar (default 30 days).
    pub familiar_window_secs: u64,
    /// Sign-ins needed in the window before "unfamiliar" can fire (default 5).
    pub learning_sign_ins: usize,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            max_speed_kmh: 1000.0,
            min_travel_km: 500.0,
            travel_window_secs: 24 * 3600,
            familiar_window_secs: 30 * 24 * 3600,
            learning_sign_ins: 5,
        }
    }
}

/// One risk detection.
#[derive(Debug, Clone, PartialEq)]
pub enum Detection {
    /// The address belongs to an anonymous network.
    AnonymousNetwork(AnonymousFlags),
    /// Two sign-ins too far apart for the time between them.
    ImpossibleTravel {
        /// Great-circle distance in km.
        km: f64,
        /// Seconds between the two sign-ins.
        seconds: u64,
        /// Country of the previous sign-in.
        from: Option<[u8; 2]>,
    },
    /// A country not seen for this user recently.
    UnfamiliarCountry([u8; 2]),
}

impl Detection {
    /// The level this detection carries on its own.
    pub fn level(&self) -> RiskLevel {
        match self {
            Detection::AnonymousNetwork(f) if f.tor => RiskLevel::High,
            Detection::AnonymousNetwork(f)
                if f.vpn || f.public_proxy || f.residential_proxy || f.anonymous =>
            {
                RiskLevel::Medium
            }
            Detection::AnonymousNetwork(_) => RiskLevel::Low,
            Detection::ImpossibleTravel { .. } => RiskLevel::Medium,
            Detection::UnfamiliarCountry(_) => RiskLevel::Low,
        }
    }

    /// Graph's `riskEventType` name for the detection.
    pub fn event_type(&self) -> &'static str {
        match self {
            Detection::AnonymousNetwork(_) => "anonymizedIPAddress",
            Detection::ImpossibleTravel { .. } => "unlikelyTravel",
            Detection::UnfamiliarCountry(_) => "unfamiliarFeatures",
        }
    }
}

impl std::fmt::Display for Detection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Detection::AnonymousNetwork(flags) => {
                let names: Vec<&str> = flags.names().collect();
                write!(f, "anonymous network ({})", names.join(", "))
            }
            Detection::ImpossibleTravel { km, seconds, from } => write!(
                f,
                "impossible travel: {km:.0} km from the previous sign-in{} in {} min",
                from.map(|c| format!(" ({})", String::from_utf8_lossy(&c)))
                    .unwrap_or_default(),
                seconds / 60
            ),
            Detection::UnfamiliarCountry(c) => {
                write!(f, "unfamiliar country {}", String::from_utf8_lossy(c))
            }
        }
    }
}

/// The facts about this sign-in the detections look at.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RiskFacts<'a> {
    /// The user (for history), if known.
    pub user: Option<&'a str>,
    /// When (seconds since the Unix epoch).
    pub now: u64,
    /// Country of the address.
    pub country: Option<[u8; 2]>,
    /// Coordinates of the address.
    pub coordinates: Option<(f64, f64)>,
    /// Anonymous-network flags of the address.
    pub anonymous: AnonymousFlags,
}

/// The sign-in risk and the detections behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskAssessment {
    /// Aggregated level.
    pub level: RiskLevel,
    /// What fired.
    pub detections: Vec<Detection>,
}

fn rank(level: RiskLevel) -> u8 {
    match level {
        RiskLevel::None => 0,
        RiskLevel::Low => 1,
        RiskLevel::Medium => 2,
        RiskLevel::High => 3,
    }
}

fn of_rank(rank: u8) -> RiskLevel {
    match rank {
        0 => RiskLevel::None,
        1 => RiskLevel::Low,
        2 => RiskLevel::Medium,
        _ => RiskLevel::High,
    }
}

/// Great-circle distance in km between two (latitude, longitude) points.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().min(1.0).asin()
}

/// Runs every detection and aggregates the level.
pub fn assess(
    facts: &RiskFacts<'_>,
    history: Option<&dyn SignInHistory>,
    config: &RiskConfig,
) -> RiskAssessment {
    let mut detections = Vec::new();
    if facts.anonymous.any() {
        detections.push(Detection::AnonymousNetwork(facts.anonymous));
    }
    if let (Some(user), Some(history)) = (facts.user, history) {
        let oldest = facts
            .now
            .saturating_sub(config.familiar_window_secs.max(config.travel_window_secs));
        let past = history.since(user, oldest);
        // Impossible travel: the latest earlier located sign-in within the travel window.
        if let Some(here) = facts.coordinates
            && let Some(previous) = past.iter().rev().find(|p| {
                p.coordinates.is_some()
                    && p.at <= facts.now
                    && facts.now - p.at <= config.travel_window_secs
            })
            && let Some(there) = previous.coordinates
        {
            let km = distance_km(here, there);
            let seconds = facts.now - previous.at;
            let hours = (seconds.max(60) as f64) / 3600.0;
            if km >= config.min_travel_km && km / hours > config.max_speed_kmh {
                detections.push(Detection::ImpossibleTravel {
                    km,
                    seconds,
                    from: previous.country,
                });
            }
        }
        // Unfamiliar country, after the learning period.
        if let Some(country) = facts.country {
            let window: Vec<&PastSignIn> = past
                .iter()
                .filter(|p| facts.now.saturating_sub(p.at) <= config.familiar_window_secs)
                .collect();
            if window.len() >= config.learning_sign_ins
                && !window.iter().any(|p| p.country == Some(country))
            {
                detections.push(Detection::UnfamiliarCountry(country));
            }
        }
    }
    let highest = detections
        .iter()
        .map(|d| rank(d.level()))
        .max()
        .unwrap_or(0);
    let kinds = detections
        .iter()
        .map(std::mem::discriminant)
        .collect::<Vec<_>>();
    let distinct = kinds
        .iter()
        .enumerate()
        .filter(|(i, k)| !kinds[..*i].contains(k))
        .count();
    let level = of_rank(if distinct >= 2 { highest + 1 } else { highest });
    RiskAssessment { level, detections }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONDON: (f64, f64) = (51.5142, -0.0931);
    const LINKOPING: (f64, f64) = (58.4167, 15.6167);
    const MILTON_WA: (f64, f64) = (47.2513, -122.3149);
    const BOXFORD: (f64, f64) = (51.75, -1.25);

    fn history(entries: &[(u64, &[u8; 2], (f64, f64))]) -> InMemoryHistory {
        let h = InMemoryHistory::new(100);
        for (at, country, coordinates) in entries {
            h.record(
                "alice",
                PastSignIn {
                    at: *at,
                    country: Some(**country),
                    coordinates: Some(*coordinates),
                },
            );
        }
        h
    }

    fn facts(now: u64, country: &[u8; 2], coordinates: (f64, f64)) -> RiskFacts<'static> {
        RiskFacts {
            user: Some("alice"),
            now,
            country: Some(*country),
            coordinates: Some(coordinates),
            anonymous: AnonymousFlags::default(),
        }
    }

    #[test]
    fn distances_between_test_database_cities() {
        assert!((distance_km(LONDON, LINKOPING) - 1_270.0).abs() < 30.0);
        assert!((distance_km(LONDON, MILTON_WA) - 7_700.0).abs() < 100.0);
        assert!(distance_km(LONDON, BOXFORD) < 100.0);
        assert_eq!(distance_km(LONDON, LONDON), 0.0);
    }

    #[test]
    fn impossible_travel_needs_distance_and_speed() {
        let h = history(&[(1_000, b"GB", LONDON)]);
        let config = RiskConfig::default();
        // London → Washington state in one hour: impossible.
        let r = assess(&facts(4_600, b"US", MILTON_WA), Some(&h), &config);
        assert_eq!(r.level, RiskLevel::Medium);
        assert!(matches!(
            r.detections[..],
            [Detection::ImpossibleTravel { .. }]
        ));
        // Twelve hours later: a flight.
        let r = assess(
            &facts(1_000 + 12 * 3600, b"US", MILTON_WA),
            Some(&h),
            &config,
        );
        assert_eq!(r.level, RiskLevel::None);
        // London → Boxford in a minute: too close to say (GeoIP precision).
        let r = assess(&facts(1_060, b"GB", BOXFORD), Some(&h), &config);
        assert_eq!(r.level, RiskLevel::None);
    }

    #[test]
    fn unfamiliar_country_after_learning() {
        let config = RiskConfig::default();
        let day = 24 * 3600;
        let few = history(&[(0, b"GB", LONDON), (day, b"GB", LONDON)]);
        let r = assess(&facts(10 * day, b"SE", LINKOPING), Some(&few), &config);
        assert_eq!(r.level, RiskLevel::None, "still learning");
        let usual: Vec<(u64, &[u8; 2], (f64, f64))> =
            (0..6).map(|i| (i * day, b"GB", LONDON)).collect();
        let h = history(&usual);
        let r = assess(&facts(10 * day, b"SE", LINKOPING), Some(&h), &config);
        assert_eq!(r.detections, vec![Detection::UnfamiliarCountry(*b"SE")]);
        assert_eq!(r.level, RiskLevel::Low);
        let r = assess(&facts(10 * day, b"GB", BOXFORD), Some(&h), &config);
        assert_eq!(r.level, RiskLevel::None);
    }

    #[test]
    fn anonymous_networks_and_aggregation() {
        let config = RiskConfig::default();
        let with = |flags: AnonymousFlags| {
            assess(
                &RiskFacts {
                    anonymous: flags,
                    ..RiskFacts::default()
                },
                None,
                &config,
            )
            .level
        };
        let tor = AnonymousFlags {
            anonymous: true,
            tor: true,
            ..Default::default()
        };
        let vpn = AnonymousFlags {
            anonymous: true,
            vpn: true,
            ..Default::default()
        };
        let hosting = AnonymousFlags {
            hosting: true,
            ..Default::default()
        };
        assert_eq!(with(tor), RiskLevel::High);
        assert_eq!(with(vpn), RiskLevel::Medium);
        assert_eq!(with(hosting), RiskLevel::Low);
        assert_eq!(with(AnonymousFlags::default()), RiskLevel::None);
        // VPN + impossible travel: two kinds, one step up.
        let h = history(&[(1_000, b"GB", LONDON)]);
        let mut f = facts(4_600, b"US", MILTON_WA);
        f.anonymous = vpn;
        let r = assess(&f, Some(&h), &config);
        assert_eq!(r.detections.len(), 2);
        assert_eq!(r.level, RiskLevel::High);
    }

    #[test]
    fn history_is_bounded() {
        let h = InMemoryHistory::new(3);
        for at in 0..10 {
            h.record(
                "bob",
                PastSignIn {
                    at,
                    country: None,
                    coordinates: None,
                },
            );
        }
        let kept: Vec<u64> = h.since("bob", 0).iter().map(|p| p.at).collect();
        assert_eq!(kept, vec![7, 8, 9]);
        assert!(h.since("nobody", 0).is_empty());
    }
}

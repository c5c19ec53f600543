//! Prometheus metrics, kept in atomics (no registry crate): decisions by endpoint, result
//! and error code, latency histograms, sign-in log counters and the policy version.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5,
];

/// A latency histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {count}");
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        let trimmed = labels.trim_end_matches(',');
        let _ = writeln!(out, "{name}_sum{{{trimmed}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{trimmed}}} {count}");
    }
}

/// Which decision endpoint answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/v1/forward-auth`.
    ForwardAuth,
    /// Envoy `ext_authz`.
    ExtAuthz,
    /// `/v1/evaluate` and Graph evaluate.
    Evaluate,
}

impl Endpoint {
    const ALL: [Endpoint; 3] = [
        Endpoint::ForwardAuth,
        Endpoint::ExtAuthz,
        Endpoint::Evaluate,
    ];

    fn label(self) -> &'static str {
        match self {
            Endpoint::ForwardAuth => "forward_auth",
            Endpoint::ExtAuthz => "ext_authz",
            Endpoint::Evaluate => "evaluate",
        }
    }
}

/// Decision counts by (endpoint, decision, error code).
type DecisionCounts = Vec<((Endpoint, &'static str, u32), u64)>;

/// Lets one event through per interval and counts the ones it holds back: for warnings a
/// client can trigger at will.
#[derive(Debug, Default)]
pub struct Throttle {
    /// When the last event went through (Unix ms; 0: never).
    last_ms: AtomicI64,
    /// Events held back since.
    held: AtomicU64,
}

impl Throttle {
    /// Interval between two events let through.
    pub const INTERVAL_MS: i64 = 60_000;

    /// `Some(n)` when an event at `now_ms` may go through (`n`: events held back since the
    /// last one), `None` when it is held back.
    pub fn pass(&self, now_ms: i64) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Relaxed);
        if (last == 0 || now_ms.saturating_sub(last) >= Self::INTERVAL_MS)
            && self
                .last_ms
                .compare_exchange(last, now_ms.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.held.swap(0, Ordering::Relaxed));
        }
        self.held.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// Every metric the server exports.
#[derive(Debug, Default)]
pub struct Metrics {
    latency: [Histogram; 3],
    /// Decisions without an error code (allow, challenge) by endpoint: lock-free, the hot
    /// path never takes a lock.
    uncoded: [[AtomicU64; 2]; 3],
    /// Denials by (endpoint, decision, error code); few distinct keys, so a small vector.
    decisions: Mutex<DecisionCounts>,
    /// Requests refused before a decision (no identity, bad token, no application).
    pub unauthenticated: AtomicU64,
    /// Requests for a host and path no `[[apps]]` entry maps (refused).
    pub unmapped: AtomicU64,
    /// Sign-ins of a user the directory does not list (evaluated without group or role
    /// membership: the directory is stale, or somebody tries names).
    pub unknown_users: AtomicU64,
    /// At most one warning a minute about users the directory does not list (a client
    /// sending made-up names must not flood the server's log).
    pub unknown_user_warnings: Throttle,
    /// Internal errors answered with a deny (fail closed).
    pub internal_errors: AtomicU64,
    /// Sign-in records that could not be logged.
    pub log_errors: AtomicU64,
    /// Policy version in force.
    pub policy_version: AtomicI64,
    /// Admin writes rejected by validation.
    pub rejected_writes: AtomicU64,
    /// Policy versions put in force after a change made elsewhere (another replica).
    pub policy_reloads: AtomicU64,
    /// Store changes that could not be put in force (store unreachable, invalid version).
    pub sync_errors: AtomicU64,
    /// Forward-auth and `ext_authz` requests refused for an ambiguous path (400).
    pub rejected_paths: AtomicU64,
    /// At most one warning a minute about refused paths (the client chooses the path).
    pub rejected_path_warnings: Throttle,
    /// Console sign-in attempts refused for being over `login_attempts_per_minute`.
    pub console_logins_rate_limited: AtomicU64,
    /// At most one warning a minute about console sign-ins over the limit (a client
    /// retrying in a loop would otherwise write a line per attempt).
    pub console_rate_limit_warnings: Throttle,
    /// Admin audit entries the store refused (the `tracing` event was still emitted).
    pub audit_errors: AtomicU64,
    /// Sign-in lines shipped (`[log.ship]`), shared with the shipping thread.
    pub ship: std::sync::Arc<ShipCounters>,
}

/// Counters of the sign-in line shipper (`crate::log_ship`).
#[derive(Debug, Default)]
pub struct ShipCounters {
    /// Lines written.
    pub lines: AtomicU64,
    /// Lines dropped because the shipping queue was full.
    pub dropped: AtomicU64,
    /// Lines lost to a write or rotation error.
    pub errors: AtomicU64,
}

impl Metrics {
    /// Counts one decision and its latency.
    pub fn decision(&self, endpoint: Endpoint, decision: &'static str, code: u32, took: Duration) {
        let index = Endpoint::ALL
            .iter()
            .position(|e| *e == endpoint)
            .unwrap_or(0);
        self.latency[index].observe(took);
        if code == 0 {
            let slot = usize::from(decision != "allow");
            self.uncoded[index][slot].fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Ok(mut d) = self.decisions.lock() {
            let key = (endpoint, decision, code);
            match d.iter_mut().find(|(k, _)| *k == key) {
                Some((_, n)) => *n += 1,
                None => d.push((key, 1)),
            }
        }
    }

    /// The Prometheus text exposition. `committed` is the sign-in log's committed count.
    pub fn render(&self, committed: u64) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP gardien_decisions_total Decisions by endpoint, result and error code (0: none).\n# TYPE gardien_decisions_total counter\n");
        if let Ok(d) = self.decisions.lock() {
            let mut rows: Vec<_> = d.clone();
            for (i, e) in Endpoint::ALL.iter().enumerate() {
                for (slot, name) in ["allow", "challenge"].into_iter().enumerate() {
                    let n = self.uncoded[i][slot].load(Ordering::Relaxed);
                    if n > 0 {
                        rows.push(((*e, name, 0), n));
                    }
                }
            }
            rows.sort_by_key(|((e, r, c), _)| (e.label(), *r, *c));
            for ((e, r, c), n) in rows {
                let _ = writeln!(
                    out,
                    "gardien_decisions_total{{endpoint=\"{}\",decision=\"{r}\",code=\"{c}\"}} {n}",
                    e.label()
                );
            }
        }
        out.push_str("# HELP gardien_decision_seconds Time to answer a decision request, log included.\n# TYPE gardien_decision_seconds histogram\n");
        for (i, e) in Endpoint::ALL.iter().enumerate() {
            self.latency[i].render(
                &mut out,
                "gardien_decision_seconds",
                &format!("endpoint=\"{}\",", e.label()),
            );
        }
        for (name, help, kind, value) in [
            (
                "gardien_unauthenticated_total",
                "Requests refused for lack of a valid identity.",
                "counter",
                self.unauthenticated.load(Ordering::Relaxed) as i64,
            ),
            (
                "gardien_unmapped_requests_total",
                "Requests refused because no application is configured for their host and path.",
                "counter",
                self.unmapped.load(Ordering::Relaxed) as i64,
            ),
            (
                "gardien_unknown_users_total",
                "Sign-ins of users the directory does not list, evaluated without group or role membership.",
                "counter",
                self.unknown_users.load(Ordering::Relaxed) as i64,
            ),
            (
                "gardien_internal_errors_total",
                "Internal errors answered with a deny (fail closed).",
                "counter",
                self.internal_errors.load(Ordering::Relaxed) as i64,
            ),
            (
                "gardien_signin_log_errors_total",
                "Sign-in records that could not be logged.",
                "counter",
                self.log_errors.load(Ordering::Relaxed) as i64,
            ),
            (
                "gardien_signin_log_committed_total",
                "Sign-in records committed to the log.",
                "counter",
                committed as i64,
            ),
            (
                "gardien_admin_rejected_writes_total",
                "Admin writes rejected by validation.",
                "counter",
                self.rejected_writes.load(Ordering::Relaxed) as i64,
            ),
            (
                "gardien_policy_reloads_total",
                "Policy versions put in force after a change made by another replica.",
                "counter",
                self.policy_reloads.load(Ordering::Relaxed) as i64,
            ),
            (
                "gardien_store_sync_errors_total",
                "Store changes that could not be put in force (the previous set stays).",
                "counter",
                self.sync_errors.load(Ordering::Relaxed) as i64,
            ),
            (
                "gardien_rejected_paths_total",
                "Forward-auth and ext_authz requests refused for an ambiguous path.",
                "counter",
                self.rejected_paths.load(Ordering::Relaxed) as i64,
            ),
            (
                "gardien_console_logins_rate_limited_total",
                "Console sign-in attempts refused over the per-address limit (429).",
                "counter",
                self.console_logins_rate_limited.load(Ordering::Relaxed) as i64,
            ),
            (
                "gardien_admin_audit_errors_total",
                "Admin audit entries the store refused (the tracing event was emitted).",
                "counter",
                self.audit_errors.load(Ordering::Relaxed) as i64,
            ),
            (
                "gardien_signin_ship_lines_total",
                "Sign-in records shipped as JSON lines ([log.ship]).",
                "counter",
                self.ship.lines.load(Ordering::Relaxed) as i64,
            ),
            (
                "gardien_signin_ship_dropped_total",
                "Sign-in lines dropped because the shipping queue was full.",
                "counter",
                self.ship.dropped.load(Ordering::Relaxed) as i64,
            ),
            (
                "gardien_signin_ship_errors_total",
                "Sign-in lines lost to a write or rotation error.",
                "counter",
                self.ship.errors.load(Ordering::Relaxed) as i64,
            ),
            (
                "gardien_policy_version",
                "Version of the policy set in force.",
                "gauge",
                self.policy_version.load(Ordering::Relaxed),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One event a minute goes through; the next one to go through says how many were held.
    #[test]
    fn the_throttle_lets_one_event_a_minute_through_and_counts_the_rest() {
        let t = Throttle::default();
        let start = 1_765_000_000_000;
        assert_eq!(t.pass(start), Some(0));
        for ms in [1, 1_000, Throttle::INTERVAL_MS - 1] {
            assert_eq!(t.pass(start + ms), None, "{ms} ms later");
        }
        assert_eq!(t.pass(start + Throttle::INTERVAL_MS), Some(3));
        assert_eq!(t.pass(start + Throttle::INTERVAL_MS + 5), None);
        // A clock that steps back holds events until a minute after the last one passed.
        assert_eq!(t.pass(start), None);
        assert_eq!(t.pass(start + 2 * Throttle::INTERVAL_MS), Some(2));
    }

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.decision(
            Endpoint::ForwardAuth,
            "deny",
            53003,
            Duration::from_micros(80),
        );
        m.decision(
            Endpoint::ForwardAuth,
            "deny",
            53003,
            Duration::from_micros(300),
        );
        m.decision(Endpoint::ForwardAuth, "allow", 0, Duration::from_millis(3));
        m.policy_version.store(7, Ordering::Relaxed);
        let text = m.render(3);
        assert!(text.contains("gardien_decisions_total{endpoint=\"forward_auth\",decision=\"deny\",code=\"53003\"} 2"), "{text}");
        assert!(
            text.contains(
                "gardien_decision_seconds_bucket{endpoint=\"forward_auth\",le=\"0.0001\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "gardien_decision_seconds_bucket{endpoint=\"forward_auth\",le=\"0.0005\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("gardien_decision_seconds_count{endpoint=\"forward_auth\"} 3"),
            "{text}"
        );
        assert!(
            text.contains(
                "gardien_decisions_total{endpoint=\"forward_auth\",decision=\"allow\",code=\"0\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("gardien_policy_version 7"), "{text}");
        assert!(
            text.contains("gardien_signin_log_committed_total 3"),
            "{text}"
        );
    }
}

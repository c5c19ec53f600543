//! The analyses the policy pages show (`gardien doc`'s description and matrix, `gardien
//! lint`'s findings, `gardien gaps`'s coverage gaps), computed ahead: when a policy version
//! comes into force (start, admin write, rollback, a version another replica wrote), on a
//! dedicated thread, never on the request path or on the async workers.
//!
//! One version at a time, the newest wins: a version put in force while another is being
//! analysed waits for the current analysis to end (an analysis cannot be interrupted), and the
//! superseded version's results are then dropped, its remaining analyses skipped; versions in
//! between are never analysed. Results are kept per version (number and the very policy set
//! in force) and published one analysis at a time (the description first, the fastest), so a
//! page shows its analysis as soon as it is ready and a page about a newer version never
//! shows an older version's results. The thread ends when there is nothing left to do.

use crate::state::Live;
use gardien_analysis::doc::{DEFAULT_IP_BOUND, DocOptions, TenantDoc, describe};
use gardien_analysis::gaps::{AnalysisError, GapsOptions, GapsReport, find_gaps_with};
use gardien_analysis::lint::{LintOptions, LintReport, lint};
use gardien_core::model::tenant::Tenant;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// The nice value of the analyses thread (Linux): decisions come first.
#[cfg(target_os = "linux")]
const NICE: i32 = 10;

/// The analyses of the policy set in force, computed ahead ([module docs](self)).
#[derive(Default)]
pub struct Analyses {
    queue: Arc<Mutex<Queue>>,
}

impl std::fmt::Debug for Analyses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyses").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Queue {
    /// The newest version asked for, not started yet.
    pending: Option<Arc<Live>>,
    /// The version being analysed, and since when.
    running: Option<(Arc<Live>, Instant)>,
    /// Whether the thread runs.
    worker: bool,
    /// The results of the newest version analysed (or being analysed, filled one by one).
    results: Option<Arc<Results>>,
}

/// What an analysis gave.
#[derive(Debug)]
pub enum Outcome<T> {
    /// Not computed yet.
    Pending,
    /// Computed (`Arc`: pages render from it while a newer version is computed).
    Ready(Arc<T>),
    /// The analysis panicked (a bug; the logs say where).
    Failed,
}

impl<T> Clone for Outcome<T> {
    fn clone(&self) -> Self {
        match self {
            Outcome::Pending => Outcome::Pending,
            Outcome::Ready(v) => Outcome::Ready(v.clone()),
            Outcome::Failed => Outcome::Failed,
        }
    }
}

/// The results of one version, filled one analysis at a time.
#[derive(Debug, Clone)]
pub struct Results {
    /// The version analysed.
    pub version: i64,
    /// The very policy set analysed (a store restored to an older state may reuse a number).
    live: Weak<Live>,
    /// `gardien doc`'s description and matrix (location classes bounded as `gardien doc`'s
    /// default; the lint summary left out: the lint page has it).
    pub doc: Outcome<TenantDoc>,
    /// `gardien lint`'s findings (every stable rule, the clock of the analysis for GA303).
    pub lint: Outcome<LintReport>,
    /// `gardien gaps`'s report, exact or within the walk's bound ([`gaps`]).
    pub gaps: Outcome<Gaps>,
    /// How long each analysis took: description, lint, gaps.
    pub elapsed: [Option<Duration>; 3],
}

/// What a page can show of one analysis of the version in force.
#[derive(Debug)]
pub enum View<T> {
    /// The analysis of this version.
    Ready(Arc<T>),
    /// Not ready yet: being computed (or queued) for `since`.
    Computing {
        /// How long this version's analyses have been running; `None` while queued behind
        /// another version's.
        since: Option<Duration>,
    },
    /// The analysis failed on this version.
    Failed,
}

impl Analyses {
    /// Analyses whose thread is said to run already, so that requests only queue (tests of
    /// the pages' "being computed" state).
    #[cfg(test)]
    pub(crate) fn held_for_tests() -> Analyses {
        let a = Analyses::default();
        a.lock().worker = true;
        a
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic never happens under this lock (the analyses run outside it); recover anyway.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks for the analyses of `live` (the version just put in force), in the background;
    /// returns at once. Nothing is done when they are kept, running or queued already; a
    /// version queued before is replaced (never analysed).
    pub fn request(&self, live: Arc<Live>) {
        let mut q = self.lock();
        let kept = q.results.as_ref().is_some_and(|r| r.is(&live));
        let running = q
            .running
            .as_ref()
            .is_some_and(|(r, _)| Arc::ptr_eq(r, &live));
        let queued = q.pending.as_ref().is_some_and(|p| Arc::ptr_eq(p, &live));
        if kept || running || queued {
            return;
        }
        q.pending = Some(live);
        if !q.worker {
            let queue = self.queue.clone();
            let spawned = std::thread::Builder::new()
                .name("gardien-console-analyses".to_owned())
                .spawn(move || work(&queue));
            match spawned {
                Ok(_) => q.worker = true,
                Err(e) => {
                    tracing::error!(error = %e, "could not start the console analyses thread");
                }
            }
        }
    }

    /// The results kept for `live`, if its analyses have started and were not superseded.
    pub fn results(&self, live: &Arc<Live>) -> Option<Arc<Results>> {
        self.lock().results.clone().filter(|r| r.is(live))
    }

    /// One analysis of `live` (`pick` chooses which) for a page: ready, still being computed,
    /// or failed. Never waits. When nothing is being computed and `live` was never asked for
    /// (a version put in force by a path that did not ask), it is asked for now.
    pub fn view<T>(&self, live: &Arc<Live>, pick: fn(&Results) -> &Outcome<T>) -> View<T> {
        let (results, since, idle) = {
            let q = self.lock();
            let since = q
                .running
                .as_ref()
                .filter(|(r, _)| Arc::ptr_eq(r, live))
                .map(|(_, at)| at.elapsed());
            let idle = q.running.is_none() && q.pending.is_none();
            (q.results.clone().filter(|r| r.is(live)), since, idle)
        };
        match results.as_deref().map(pick) {
            Some(Outcome::Ready(v)) => View::Ready(v.clone()),
            Some(Outcome::Failed) => View::Failed,
            Some(Outcome::Pending) => View::Computing { since },
            None => {
                // A busy thread was asked for the newest version already: a page loaded just
                // before a change must not queue the older one in its place.
                if idle {
                    self.request(live.clone());
                }
                View::Computing { since: None }
            }
        }
    }
}

impl Results {
    fn new(live: &Arc<Live>) -> Results {
        Results {
            version: live.version,
            live: Arc::downgrade(live),
            doc: Outcome::Pending,
            lint: Outcome::Pending,
            gaps: Outcome::Pending,
            elapsed: [None; 3],
        }
    }

    /// Whether these are the results of `live`.
    fn is(&self, live: &Arc<Live>) -> bool {
        self.version == live.version && std::ptr::eq(self.live.as_ptr(), Arc::as_ptr(live))
    }

    /// Whether every analysis has ended.
    pub fn complete(&self) -> bool {
        !matches!(self.doc, Outcome::Pending)
            && !matches!(self.lint, Outcome::Pending)
            && !matches!(self.gaps, Outcome::Pending)
    }
}

/// Runs `f`, timed; `Failed` when it panics.
fn run<T>(what: &str, version: i64, f: impl FnOnce() -> T) -> (Outcome<T>, Duration) {
    let started = Instant::now();
    let outcome = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => Outcome::Ready(Arc::new(v)),
        Err(_) => {
            tracing::error!(version, analysis = what, "a console analysis panicked");
            Outcome::Failed
        }
    };
    let elapsed = started.elapsed();
    tracing::debug!(
        version,
        analysis = what,
        elapsed_ms = ms(Some(elapsed)),
        "console analysis done"
    );
    (outcome, elapsed)
}

/// The thread: analyses the pending version, one analysis after the other, publishing each;
/// drops a version superseded in between; ends when nothing is pending.
fn work(queue: &Mutex<Queue>) {
    // Below the decisions: on Linux the nice value is per thread (elsewhere it would lower
    // the whole process, so it is left alone there).
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, NICE) {
        tracing::debug!(error = %e, "could not lower the console analyses thread's priority");
    }
    let lock = || queue.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let live = {
            let mut q = lock();
            match q.pending.take() {
                Some(live) => {
                    q.running = Some((live.clone(), Instant::now()));
                    live
                }
                None => {
                    q.running = None;
                    q.worker = false;
                    return;
                }
            }
        };
        let version = live.version;
        let mut results = Results::new(&live);
        // Publish the empty results first: pages then know this version is being computed.
        if !publish(&mut lock(), &results) {
            continue;
        }
        let (doc, elapsed) = run("doc", version, || {
            describe(
                &live.tenant.tenant,
                DocOptions {
                    no_lint: true,
                    ..DocOptions::default()
                },
            )
        });
        results.doc = doc;
        results.elapsed[0] = Some(elapsed);
        if !publish(&mut lock(), &results) {
            continue;
        }
        let (report, elapsed) = run("lint", version, || {
            lint(
                &live.tenant,
                &LintOptions {
                    now: Some(crate::clock::now_ms().div_euclid(1000)),
                    tenant_name: format!("store:version {version}"),
                    ..LintOptions::default()
                },
            )
        });
        results.lint = report;
        results.elapsed[1] = Some(elapsed);
        if !publish(&mut lock(), &results) {
            continue;
        }
        let (gaps, elapsed) = run("gaps", version, || gaps(&live.tenant.tenant));
        results.gaps = gaps;
        results.elapsed[2] = Some(elapsed);
        if publish(&mut lock(), &results) {
            tracing::info!(
                version,
                doc_ms = ms(results.elapsed[0]),
                lint_ms = ms(results.elapsed[1]),
                gaps_ms = ms(results.elapsed[2]),
                "console analyses of the policy version in force computed"
            );
        }
    }
}

/// The console's gap analysis: the report shown (or why there is none) and how it was
/// computed.
#[derive(Debug)]
pub struct Gaps {
    /// The report, or why even the bounded analysis was refused.
    pub report: Result<GapsReport, AnalysisError>,
    /// How the report shown (or the last attempt) partitioned the sign-ins.
    pub options: GapsOptions,
    /// Why the exact analysis (`gardien gaps`, whole) was refused, when it was.
    pub exact_refused: Option<AnalysisError>,
}

/// The gap analysis the page shows, within the walk's bound (what an admin opening the page
/// expects: the gaps, as exact as they can be had, and what was left out):
///
/// 1. `gardien gaps`: exact and whole. When its walk is too large,
/// 2. `gardien gaps --approximate-locations --partial`: each IP named location stands for its
///    ranges (as `gardien doc` by default) and, if the walk is still too large, the broadest
///    users × applications are walked first, as many as fit; the report says what was left
///    out. When even that is refused (the other nine dimensions alone are too many), the
///    page shows both reasons.
pub fn gaps(tenant: &Tenant) -> Gaps {
    let exact = GapsOptions::default();
    let exact_refused = match find_gaps_with(tenant, exact) {
        Err(e @ AnalysisError::TooLarge { .. }) => e,
        report => {
            return Gaps {
                report,
                options: exact,
                exact_refused: None,
            };
        }
    };
    let bounded = GapsOptions {
        ip_bound: Some(DEFAULT_IP_BOUND),
        partial: true,
    };
    Gaps {
        report: find_gaps_with(tenant, bounded),
        options: bounded,
        exact_refused: Some(exact_refused),
    }
}

fn ms(d: Option<Duration>) -> u64 {
    d.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Makes `results` the ones pages see, unless a newer version is pending (then they are
/// dropped, and `false` says to move on to it).
fn publish(q: &mut Queue, results: &Results) -> bool {
    if q.pending.is_some() {
        tracing::debug!(
            version = results.version,
            "a newer policy version came into force; the console analyses of this one are dropped"
        );
        return false;
    }
    q.results = Some(Arc::new(results.clone()));
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::*;

    fn live(version: i64) -> Arc<Live> {
        let snapshot = serde_json::json!({"policies": []});
        Arc::new(Live {
            version,
            tenant: crate::snapshot::compile("t", &snapshot).unwrap(),
            snapshot,
            applied: crate::signin_record::AppliedCache::default(),
            records: crate::signin_record::RecordCache::default(),
            evaluations: Default::default(),
        })
    }

    /// An `Analyses` whose thread is said to run already, so that requests only queue; the
    /// test runs the thread's loop itself, when it wants.
    fn held() -> Analyses {
        Analyses::held_for_tests()
    }

    #[test]
    fn the_newest_version_wins_and_the_ones_in_between_are_never_analysed() {
        let a = held();
        let (v1, v2, v3) = (live(1), live(2), live(3));
        a.request(v1.clone());
        a.request(v2.clone());
        a.request(v3.clone());
        assert!(matches!(
            a.view(&v3, |r| &r.doc),
            View::Computing { since: None }
        ));
        work(&a.queue);
        assert!(matches!(a.view(&v3, |r| &r.doc), View::Ready(_)));
        assert!(matches!(a.view(&v3, |r| &r.lint), View::Ready(_)));
        assert!(matches!(a.view(&v3, |r| &r.gaps), View::Ready(_)));
        let r = a.results(&v3).unwrap();
        assert!(r.complete() && r.version == 3);
        assert!(r.elapsed.iter().all(Option::is_some));
        // v1 and v2 were replaced before they started: nothing of theirs is kept.
        assert!(a.results(&v1).is_none() && a.results(&v2).is_none());
        let q = a.lock();
        assert!(q.pending.is_none() && q.running.is_none() && !q.worker);
    }

    #[test]
    fn a_version_superseded_mid_way_is_dropped() {
        let a = held();
        let (v1, v2) = (live(1), live(2));
        a.request(v1.clone());
        // v1 is taken as the thread would, and v2 comes into force before its first result.
        let taken = {
            let mut q = a.lock();
            let l = q.pending.take().unwrap();
            q.running = Some((l.clone(), Instant::now()));
            l
        };
        a.request(v2.clone());
        let mut results = Results::new(&taken);
        results.doc = Outcome::Ready(Arc::new(describe(
            &taken.tenant.tenant,
            DocOptions::default(),
        )));
        assert!(!publish(&mut a.lock(), &results), "dropped");
        assert!(a.results(&v1).is_none());
        a.lock().running = None;
        work(&a.queue);
        assert!(a.results(&v2).unwrap().complete());
        assert!(a.results(&v1).is_none());
    }

    #[test]
    fn results_are_keyed_by_the_policy_set_not_only_its_number() {
        let a = held();
        let first = live(7);
        a.request(first.clone());
        work(&a.queue);
        assert!(matches!(a.view(&first, |r| &r.doc), View::Ready(_)));
        // The same number, another policy set (a store restored to an older state).
        let again = live(7);
        a.lock().worker = true;
        assert!(matches!(a.view(&again, |r| &r.doc), View::Computing { .. }));
        // The page asked for it (nothing was running); asking again for it, or for the kept
        // one, changes nothing.
        let queued = |a: &Analyses| {
            a.lock()
                .pending
                .as_ref()
                .is_some_and(|p| Arc::ptr_eq(p, &again))
        };
        assert!(queued(&a));
        a.request(first.clone());
        a.request(again.clone());
        assert!(queued(&a));
        work(&a.queue);
        assert!(matches!(a.view(&again, |r| &r.doc), View::Ready(_)));
    }

    #[test]
    fn a_page_asks_for_a_version_nobody_asked_for_and_the_thread_computes_it() {
        let a = Analyses::default();
        let v = live(4);
        assert!(matches!(a.view(&v, |r| &r.lint), View::Computing { .. }));
        let deadline = Instant::now() + Duration::from_secs(60);
        while !matches!(a.view(&v, |r| &r.lint), View::Ready(_)) {
            assert!(Instant::now() < deadline, "not computed within 60 s");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

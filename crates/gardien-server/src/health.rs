//! Whether the sign-in log can be written. A decision whose record cannot be logged is a
//! deny (fail closed); readiness must say so too, or a load balancer keeps sending users to
//! a replica that refuses them all. The first failed append marks the log failing, with its
//! reason; `/readyz` then answers 503 with that reason until a probe (SQLite: a small file
//! written and synced next to the database; PostgreSQL: a query) or a later append succeeds.
//!
//! With `acknowledge = "queued"` nobody waits for a record's batch, so a failed append is
//! never seen by the decision that queued it: [`LogHealth::observe_writer`] reads the
//! writer's count of failed batches instead (at each queued decision, `/readyz` and
//! `/metrics`). A new failed batch marks the log failing with the batch's reason; a batch
//! committed after that, or a probe, clears it. Queuing a record proves nothing and clears
//! nothing.

use gardien_store::{SignInLog, Store};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Size of the SQLite probe file: enough that a full disk refuses it.
const PROBE_BYTES: usize = 64 * 1024;

/// The sign-in log's write health.
#[derive(Debug, Default)]
pub struct LogHealth {
    failing: AtomicBool,
    reason: Mutex<Option<String>>,
    /// The writer's failed-batch count last seen by [`LogHealth::observe_writer`].
    seen_failed_batches: AtomicU64,
    /// The writer's committed-batch count when the last failed batch was seen.
    batches_at_failure: AtomicU64,
}

impl LogHealth {
    /// Records a failed append.
    pub fn failed(&self, reason: &str) {
        if let Ok(mut r) = self.reason.lock() {
            *r = Some(crate::clean::escape(reason, 512));
        }
        self.failing.store(true, Ordering::SeqCst);
    }

    /// Records a successful append (cheap when nothing failed).
    pub fn succeeded(&self) {
        if self.failing.load(Ordering::Relaxed) {
            self.failing.store(false, Ordering::SeqCst);
            tracing::info!("the sign-in log is writable again");
        }
    }

    /// Follows the log writer's batches (for records queued without waiting): a batch that
    /// failed since the last call marks the log failing with its reason; while failing, a
    /// batch committed since the failure clears it. Two atomic loads when nothing changed.
    pub fn observe_writer(&self, log: &SignInLog) {
        let failed = log.failed_batches();
        let seen = self.seen_failed_batches.load(Ordering::SeqCst);
        if failed > seen
            && self
                .seen_failed_batches
                .compare_exchange(seen, failed, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            self.batches_at_failure
                .store(log.batches(), Ordering::SeqCst);
            let reason = log
                .last_batch_error()
                .unwrap_or_else(|| "a sign-in log batch was not committed".to_owned());
            tracing::error!(reason, "queued sign-in records were not committed");
            self.failed(&reason);
            return;
        }
        if self.is_failing() && log.batches() > self.batches_at_failure.load(Ordering::SeqCst) {
            self.succeeded();
        }
    }

    /// Whether the last append failed and no probe succeeded since.
    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::SeqCst)
    }

    /// `None` when the log is writable; else why not. While failing, probes the store and
    /// clears the failure when the probe succeeds.
    pub async fn check(&self, store: &Store) -> Option<String> {
        if !self.is_failing() {
            return None;
        }
        match probe(store).await {
            Ok(()) => {
                self.succeeded();
                None
            }
            Err(e) => {
                let reason = self.reason.lock().ok().and_then(|r| r.clone());
                Some(reason.unwrap_or(e))
            }
        }
    }
}

/// Can the store take a write now?
async fn probe(store: &Store) -> Result<(), String> {
    let path = store.path().to_path_buf();
    if path.as_os_str().is_empty() {
        return store
            .current_version_number()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
    }
    tokio::task::spawn_blocking(move || {
        use std::io::Write as _;
        let mut probe = path.into_os_string();
        probe.push(".gardien-probe");
        let result = std::fs::File::create(&probe).and_then(|mut f| {
            f.write_all(&[0u8; PROBE_BYTES])?;
            f.sync_all()
        });
        let _ = std::fs::remove_file(&probe);
        result.map_err(|e| format!("the database directory is not writable: {e}"))
    })
    .await
    .map_err(|e| e.to_string())?
}

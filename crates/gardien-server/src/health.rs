//! Whether the sign-in log can be written. A decision whose record cannot be logged is a
//! deny (fail closed); readiness must say so too, or a load balancer keeps sending users to
//! a replica that refuses them all. The first failed append marks the log failing, with its
//! reason; `/readyz` then answers 503 with that reason until a probe (SQLite: a small file
//! written and synced next to the database; PostgreSQL: a query) or a later append succeeds.

use gardien_store::Store;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Size of the SQLite probe file: enough that a full disk refuses it.
const PROBE_BYTES: usize = 64 * 1024;

/// The sign-in log's write health.
#[derive(Debug, Default)]
pub struct LogHealth {
    failing: AtomicBool,
    reason: Mutex<Option<String>>,
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

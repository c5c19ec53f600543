//! Background WAL checkpointing, so that copying the WAL into the database file (and its
//! fsyncs) runs on a connection of its own — hence on its own SQLite worker thread — instead
//! of stalling the sign-in log writer's commits. The task runs on the writer's runtime.
//!
//! The writer wakes the checkpointer after each commit; the checkpointer runs a PASSIVE
//! checkpoint (never blocks writers or readers) at most every [`MIN_INTERVAL`]. The WAL only
//! restarts from its beginning when it is entirely backfilled as a write transaction
//! starts, which a continuously busy writer never allows on its own (frames keep arriving
//! while the background pass copies). The writer's connection has SQLite's auto-checkpoint
//! off — it used to fire inside a commit every 128 MiB of WAL, copying and syncing while
//! every request of the batch waited (the load bench's p99.9 spikes) — and restarts the WAL
//! itself, between batches ([`Checkpointer::restart_due`]): once the WAL is past
//! [`RESTART_PAGES`], the background passes again at once while a pass saw more than
//! [`CATCH_UP_FRAMES`] new frames (each pass copies what arrived during the previous one,
//! so they get shorter; at most [`MAX_CATCH_UP_PASSES`] in a row); after a short one, a PASSIVE checkpoint on the writer's connection
//! copies only the frames committed during it, and the next batch starts the WAL over. Past [`FORCE_PAGES`] (the background cannot keep up) it does
//! so whatever the background did.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use sqlx::Connection as _;
use sqlx::Row as _;
use sqlx::sqlite::SqliteConnection;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// Least time between two background checkpoints, so each copies a useful amount.
const MIN_INTERVAL: Duration = Duration::from_millis(250);

/// WAL size, in pages, past which the writer restarts the WAL after a background pass
/// (128 MiB with 4 KiB pages, the former auto-checkpoint bound). Each restart costs the
/// writer one short checkpoint with its syncs (measured 20–65 ms on the loaded 2-vCPU VM,
/// where the auto-checkpoint it replaces took 100–200 ms), so a larger WAL makes them rarer.
pub(crate) const RESTART_PAGES: i64 = 32_768;

/// WAL size, in pages, past which the writer restarts the WAL without waiting for a
/// background pass (a bound: 384 MiB with 4 KiB pages).
pub(crate) const FORCE_PAGES: i64 = 98_304;

/// Most frames committed during a background pass for the writer to restart the WAL after
/// it (4 MiB with 4 KiB pages): otherwise the background passes again at once, so that the
/// writer's catch-up between batches copies little.
const CATCH_UP_FRAMES: i64 = 1_024;

/// Most background passes in a row run at once to catch up before the writer restarts the
/// WAL anyway (the disk may not copy faster than the writer writes).
const MAX_CATCH_UP_PASSES: u32 = 4;

/// What the background pass last saw.
#[derive(Debug, Default)]
struct Progress {
    /// Frames in the WAL at the last background pass.
    log: AtomicI64,
    /// A background pass finished since the writer last restarted the WAL.
    passed: AtomicBool,
    /// A background pass is running (only one checkpoint runs at a time: the writer's
    /// would fail busy).
    running: AtomicBool,
}

/// Handle to the checkpointer task.
pub(crate) struct Checkpointer {
    wake: Arc<Notify>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    progress: Arc<Progress>,
}

impl Checkpointer {
    /// Starts checkpointing the database of `conn` in the background.
    pub(crate) fn start(conn: SqliteConnection, path: Arc<Path>) -> Checkpointer {
        let wake = Arc::new(Notify::new());
        let (stop, stopped) = watch::channel(false);
        let progress = Arc::new(Progress::default());
        let task = tokio::spawn(run(
            conn,
            path,
            Arc::clone(&wake),
            stopped,
            Arc::clone(&progress),
        ));
        Checkpointer {
            wake,
            stop,
            task,
            progress,
        }
    }

    /// Tells the checkpointer new frames were committed.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Whether the writer should restart the WAL now, between batches: it is past
    /// [`RESTART_PAGES`] and a background pass just copied most of it, or past
    /// [`FORCE_PAGES`].
    pub(crate) fn restart_due(&self) -> bool {
        let log = self.progress.log.load(Ordering::Relaxed);
        (log >= RESTART_PAGES && self.progress.passed.load(Ordering::Acquire)) || log >= FORCE_PAGES
    }

    /// The writer checkpointed on its own connection (`busy` as SQLite reports it, `log`
    /// frames in the WAL, `copied` of them backfilled): the next batch restarts the WAL if
    /// all are; otherwise it tries again after the next background pass.
    pub(crate) fn restarted(&self, busy: bool, log: i64, copied: i64) {
        self.progress.passed.store(false, Ordering::Release);
        if !busy && log == copied {
            self.progress.log.store(0, Ordering::Relaxed);
        }
    }

    /// Stops the checkpointer and closes its connection.
    pub(crate) async fn stop(self) {
        self.stop.send_replace(true);
        match self.task.await {
            Ok(()) => {}
            Err(e) if e.is_cancelled() => tracing::debug!("WAL checkpointer task cancelled"),
            Err(e) => tracing::warn!(error = %e, "WAL checkpointer task failed"),
        }
    }
}

async fn run(
    mut conn: SqliteConnection,
    path: Arc<Path>,
    wake: Arc<Notify>,
    mut stopped: watch::Receiver<bool>,
    progress: Arc<Progress>,
) {
    // Frames in the WAL at the previous pass, and passes in a row run at once.
    let mut last_frames: i64 = 0;
    let mut catching_up = 0;
    loop {
        tokio::select! {
            () = wake.notified() => {}
            _ = stopped.changed() => break,
        }
        progress.running.store(true, Ordering::Release);
        let pass = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut conn)
            .await;
        progress.running.store(false, Ordering::Release);
        match pass {
            Ok(row) => {
                let frames: i64 = row.try_get(1).unwrap_or(-1);
                let copied: i64 = row.try_get(2).unwrap_or(-1);
                tracing::trace!(frames, copied, "WAL checkpoint");
                progress.log.store(frames, Ordering::Relaxed);
                let new = frames - last_frames;
                last_frames = frames;
                if frames >= RESTART_PAGES && frames == copied {
                    if new > CATCH_UP_FRAMES && catching_up < MAX_CATCH_UP_PASSES {
                        // Copy again at once what arrived during this pass: each pass is
                        // shorter, until the writer's own catch-up has little to copy.
                        catching_up += 1;
                        continue;
                    }
                    catching_up = 0;
                    progress.passed.store(true, Ordering::Release);
                }
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "background WAL checkpoint failed");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(MIN_INTERVAL) => {}
            _ = stopped.changed() => break,
        }
    }
    if let Err(e) = conn.close().await {
        tracing::warn!(path = %path.display(), error = %e, "closing the WAL checkpointer connection");
    }
}

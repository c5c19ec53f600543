//! Background WAL checkpointing, so that copying the WAL into the database file (and its
//! fsyncs) runs on a connection and a thread of its own instead of stalling the sign-in log
//! writer's commits.
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
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rusqlite::Connection;

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
const CATCH_UP_FRAMES: i64 = 256;

/// Most background passes in a row run at once to catch up before the writer restarts the
/// WAL anyway (the disk may not copy faster than the writer writes).
const MAX_CATCH_UP_PASSES: u32 = 8;

/// What the background pass last saw.
#[derive(Debug, Default)]
struct Progress {
    /// Frames in the WAL at the last background pass.
    log: AtomicI64,
    /// A background pass finished since the writer last restarted the WAL.
    passed: AtomicBool,
}

/// The checkpointer thread's orders: wake up (frames were committed), stop.
#[derive(Debug, Default)]
struct Orders {
    wake: bool,
    stop: bool,
}

#[derive(Debug, Default)]
struct Shared {
    progress: Progress,
    orders: Mutex<Orders>,
    changed: Condvar,
}

impl Shared {
    /// Waits until woken (consuming the wake-up) or stopped; returns whether to stop.
    fn woken(&self) -> bool {
        let Ok(mut orders) = self.orders.lock() else {
            return true;
        };
        while !orders.wake && !orders.stop {
            orders = match self.changed.wait(orders) {
                Ok(o) => o,
                Err(_) => return true,
            };
        }
        orders.wake = false;
        orders.stop
    }

    /// Waits `pause`, or less if stopped (a wake-up meanwhile is kept); returns whether to
    /// stop.
    fn paused(&self, pause: Duration) -> bool {
        let deadline = std::time::Instant::now() + pause;
        let Ok(mut orders) = self.orders.lock() else {
            return true;
        };
        while !orders.stop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            orders = match self.changed.wait_timeout(orders, left) {
                Ok((o, _)) => o,
                Err(_) => return true,
            };
        }
        orders.stop
    }

    fn order(&self, f: impl FnOnce(&mut Orders)) {
        if let Ok(mut orders) = self.orders.lock() {
            f(&mut orders);
        }
        self.changed.notify_one();
    }
}

/// `PRAGMA wal_checkpoint(PASSIVE)` on `conn`: (busy, frames in the WAL, frames backfilled).
pub(super) fn passive(conn: &Connection) -> Result<(i64, i64, i64), rusqlite::Error> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
}

/// Handle to the checkpointer thread.
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database of `conn` in the background, on a thread of its
    /// own.
    pub(crate) fn start(conn: Connection, path: Arc<Path>) -> std::io::Result<Checkpointer> {
        let shared = Arc::new(Shared::default());
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("gardien-checkpoint".to_owned())
            .spawn(move || run(conn, &path, &theirs))?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    /// Tells the checkpointer new frames were committed.
    pub(crate) fn wake(&self) {
        self.shared.order(|o| o.wake = true);
    }

    /// Whether the writer should restart the WAL now, between batches: it is past
    /// [`RESTART_PAGES`] and a background pass just copied most of it, or past
    /// [`FORCE_PAGES`].
    pub(crate) fn restart_due(&self) -> bool {
        let progress = &self.shared.progress;
        let log = progress.log.load(Ordering::Relaxed);
        (log >= RESTART_PAGES && progress.passed.load(Ordering::Acquire)) || log >= FORCE_PAGES
    }

    /// The writer checkpointed on its own connection (`busy` as SQLite reports it, `log`
    /// frames in the WAL, `copied` of them backfilled): the next batch restarts the WAL if
    /// all are; otherwise it tries again after the next background pass.
    pub(crate) fn restarted(&self, busy: bool, log: i64, copied: i64) {
        let progress = &self.shared.progress;
        progress.passed.store(false, Ordering::Release);
        if !busy && log == copied {
            progress.log.store(0, Ordering::Relaxed);
        }
    }

    /// Stops the checkpointer and closes its connection (waits for a pass under way).
    pub(crate) fn stop(mut self) {
        self.shared.order(|o| o.stop = true);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::warn!("WAL checkpointer thread panicked");
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Not stopped (the writer's runtime went away): let the thread end by itself.
        self.shared.order(|o| o.stop = true);
    }
}

/// Flushes the database file's pages copied by a background pass (`fdatasync` of the file:
/// its data, size and block allocation), so that the writer's restart, whose checkpoint
/// syncs the database file before the WAL starts over, finds only the pages of its own
/// short pass to write. Without it the restart's sync wrote every page the background had
/// copied since the last restart (the kernel writes dirty pages back after 30 s) and
/// committed the file system's journal for the blocks allocated meanwhile: measured 17–77 ms
/// of the writer's time per restart on the loaded VM. An added sync: it never replaces one
/// of SQLite's.
fn sync_copied(file: Option<&std::fs::File>, path: &Path) {
    let Some(file) = file else { return };
    let started = std::time::Instant::now();
    match file.sync_data() {
        Ok(()) => tracing::debug!(
            micros = started.elapsed().as_micros(),
            "background sync of the database file"
        ),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "background sync of the database file failed");
        }
    }
}

fn run(conn: Connection, path: &Path, shared: &Shared) {
    let progress = &shared.progress;
    // Frames in the WAL at the previous pass, and passes in a row run at once.
    let mut last_frames: i64 = 0;
    let mut last_copied: i64 = 0;
    let mut catching_up = 0;
    // The database file, to sync what each pass copied (`sync_copied`); without it (it could
    // not be opened) the writer's restart syncs everything, as SQLite alone does.
    let file = std::fs::File::open(path)
        .inspect_err(|e| {
            tracing::warn!(path = %path.display(), error = %e, "opening the database file for background syncs");
        })
        .ok();
    loop {
        if shared.woken() {
            break;
        }
        let started = std::time::Instant::now();
        match passive(&conn) {
            Ok((_, frames, copied)) => {
                tracing::debug!(
                    frames,
                    copied,
                    micros = started.elapsed().as_micros(),
                    "background WAL checkpoint"
                );
                // Frames copied by this pass (the WAL restarted if fewer are backfilled).
                if copied > 0 && copied != last_copied {
                    sync_copied(file.as_ref(), path);
                }
                last_copied = copied;
                progress.log.store(frames, Ordering::Relaxed);
                let new = frames - last_frames;
                last_frames = frames;
                if frames >= RESTART_PAGES && frames == copied {
                    if new > CATCH_UP_FRAMES && catching_up < MAX_CATCH_UP_PASSES {
                        // Copy again at once what arrived during this pass: each pass is
                        // shorter, until the writer's own catch-up has little to copy.
                        catching_up += 1;
                        shared.order(|o| o.wake = true);
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
        // At most one pass per MIN_INTERVAL; a wake-up meanwhile is kept for after it.
        if shared.paused(MIN_INTERVAL) {
            break;
        }
    }
    if let Err((_, e)) = conn.close() {
        tracing::warn!(path = %path.display(), error = %e, "closing the WAL checkpointer connection");
    }
}

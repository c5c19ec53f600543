//! Background WAL checkpointing, so that copying the WAL into the database file (and its
//! fsyncs) runs on a connection of its own — hence on its own SQLite worker thread — instead
//! of stalling the sign-in log writer's commits. The task runs on the writer's runtime.
//!
//! The writer wakes the checkpointer after each commit; the checkpointer runs a PASSIVE
//! checkpoint (never blocks writers or readers) at most every [`MIN_INTERVAL`]. The WAL only
//! restarts from its beginning once it is entirely backfilled when a write transaction
//! starts, which a continuously busy writer rarely allows; the writer connection therefore
//! keeps SQLite's own auto-checkpoint at [`super::WAL_AUTOCHECKPOINT_PAGES`] as a bound: by
//! the time it fires, most frames are already copied, so it is short.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection as _;
use sqlx::Row as _;
use sqlx::sqlite::SqliteConnection;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// Least time between two background checkpoints, so each copies a useful amount.
const MIN_INTERVAL: Duration = Duration::from_millis(250);

/// Handle to the checkpointer task.
pub(crate) struct Checkpointer {
    wake: Arc<Notify>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Checkpointer {
    /// Starts checkpointing the database of `conn` in the background.
    pub(crate) fn start(conn: SqliteConnection, path: Arc<Path>) -> Checkpointer {
        let wake = Arc::new(Notify::new());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(conn, path, Arc::clone(&wake), stopped));
        Checkpointer { wake, stop, task }
    }

    /// Tells the checkpointer new frames were committed.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
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
) {
    loop {
        tokio::select! {
            () = wake.notified() => {}
            _ = stopped.changed() => break,
        }
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut conn)
            .await
        {
            Ok(row) => {
                let frames: i64 = row.try_get(1).unwrap_or(-1);
                let copied: i64 = row.try_get(2).unwrap_or(-1);
                tracing::trace!(frames, copied, "WAL checkpoint");
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

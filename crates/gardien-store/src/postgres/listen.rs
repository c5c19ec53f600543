//! The PostgreSQL change feed: a task that LISTENs on a connection of its own and forwards
//! the notifications of its schema to the [`crate::ChangeFeed`] through a channel.
//!
//! sqlx's `PgListener` reconnects by itself: when `try_recv` finds the connection lost it
//! opens a new one, LISTENs again and returns `Ok(None)`; the notifications sent in between
//! are lost, which the feed reports as [`Change::Missed`]. When it cannot reconnect it
//! returns an error: the task reports it, then opens a new listener (retrying with a
//! growing delay) and reports [`Change::Missed`] once it listens again.
//!
//! The listener is driven by its own task, never by the caller's `next()`, so that a caller
//! cancelling `next()` (a `tokio::select!` on a timer) never interrupts a reconnection
//! half-way, which could lose notifications silently.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::{mpsc, watch};

use crate::{Change, StoreError};

/// Changes buffered for a feed that is not being read; beyond that the feed reports
/// [`Change::Missed`] instead.
const BUFFER: usize = 256;

/// Delays between attempts to listen again after a connection error.
const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// The receiving end of a feed.
pub(crate) struct PgFeed {
    rx: mpsc::Receiver<Result<Change, StoreError>>,
    /// Set by the task when the buffer was full and a change was dropped.
    lagged: Arc<AtomicBool>,
}

impl PgFeed {
    /// Listens (on a new connection) on `channel`, then starts the forwarding task: when
    /// this returns, every change committed from now on will be reported.
    pub(super) async fn start(
        options: PgConnectOptions,
        channel: &'static str,
        schema: &str,
        closed: watch::Receiver<bool>,
        path: PathBuf,
    ) -> Result<PgFeed, StoreError> {
        let listener = listen(&options, channel)
            .await
            .map_err(|source| StoreError::Sql {
                op: "listen for store changes",
                path: path.clone(),
                source,
            })?;
        let (tx, rx) = mpsc::channel(BUFFER);
        let lagged = Arc::new(AtomicBool::new(false));
        let task = Task {
            options,
            channel,
            prefix: format!("{schema}:"),
            tx,
            lagged: Arc::clone(&lagged),
            closed,
            path,
        };
        tokio::spawn(task.run(listener));
        Ok(PgFeed { rx, lagged })
    }

    /// See [`crate::ChangeFeed::next`]. Cancel-safe.
    pub(crate) async fn next(&mut self) -> Result<Change, StoreError> {
        if self.lagged.swap(false, Ordering::Relaxed) {
            return Ok(Change::Missed);
        }
        match self.rx.recv().await {
            Some(item) => item,
            // The task ended: the store was closed.
            None => Err(StoreError::Closed),
        }
    }
}

/// Opens a listener on a pool of one connection of its own (from which it reconnects).
async fn listen(options: &PgConnectOptions, channel: &str) -> Result<PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(super::CONNECT_TIMEOUT)
        .connect_lazy_with(options.clone());
    let mut listener = PgListener::connect_with(&pool).await?;
    // The pool is private to the listener and never closed: the store's closing is
    // signalled to the task instead.
    listener.ignore_pool_close_event(true);
    listener.listen(channel).await?;
    Ok(listener)
}

/// The forwarding task.
struct Task {
    options: PgConnectOptions,
    channel: &'static str,
    /// `<schema>:`, the prefix of the payloads of this feed's schema.
    prefix: String,
    tx: mpsc::Sender<Result<Change, StoreError>>,
    lagged: Arc<AtomicBool>,
    closed: watch::Receiver<bool>,
    path: PathBuf,
}

/// What one wait for a notification gave.
enum Event {
    /// The store was closed, or the feed dropped: stop.
    Stop,
    Received(Result<Option<sqlx::postgres::PgNotification>, sqlx::Error>),
}

impl Task {
    async fn run(mut self, listener: PgListener) {
        let mut listener = Some(listener);
        let mut delay = RETRY_MIN;
        loop {
            let Some(active) = listener.as_mut() else {
                // Listen again after an error; every attempt may be interrupted by the end.
                let (options, channel) = (&self.options, self.channel);
                let attempt = tokio::select! {
                    biased;
                    () = stopped(&mut self.closed, &self.tx) => return,
                    attempt = async {
                        tokio::time::sleep(delay).await;
                        listen(options, channel).await
                    } => attempt,
                };
                match attempt {
                    Ok(new) => {
                        tracing::info!(path = %self.path.display(), "change feed listening again");
                        listener = Some(new);
                        delay = RETRY_MIN;
                        if !self.send(Ok(Change::Missed)) {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(path = %self.path.display(), error = %e, "change feed cannot listen again; retrying");
                        delay = (delay * 2).min(RETRY_MAX);
                    }
                }
                continue;
            };
            let event = tokio::select! {
                biased;
                () = stopped(&mut self.closed, &self.tx) => Event::Stop,
                received = active.try_recv() => Event::Received(received),
            };
            let change = match event {
                Event::Stop => return,
                Event::Received(Ok(Some(notification))) => {
                    match notification.payload().strip_prefix(&self.prefix) {
                        // Another schema's change.
                        None => continue,
                        Some(payload) => Ok(parse(payload)),
                    }
                }
                Event::Received(Ok(None)) => {
                    tracing::info!(path = %self.path.display(), "change feed reconnected; changes may have been missed");
                    Ok(Change::Missed)
                }
                Event::Received(Err(source)) => {
                    tracing::warn!(path = %self.path.display(), error = %source, "change feed lost its connection");
                    listener = None;
                    Err(StoreError::Sql {
                        op: "listen for store changes",
                        path: self.path.clone(),
                        source,
                    })
                }
            };
            if !self.send(change) {
                return;
            }
        }
    }

    /// Hands a change to the feed; `false` if the feed is gone. When its buffer is full the
    /// change is dropped and the feed will report [`Change::Missed`] first.
    fn send(&self, change: Result<Change, StoreError>) -> bool {
        match self.tx.try_send(change) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.lagged.store(true, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// Completes when the store is closed (or every handle dropped) or the feed is dropped.
async fn stopped(
    closed: &mut watch::Receiver<bool>,
    tx: &mpsc::Sender<Result<Change, StoreError>>,
) {
    tokio::select! {
        _ = closed.wait_for(|closed| *closed) => {}
        () = tx.closed() => {}
    }
}

/// The change a payload (without its schema prefix) announces; anything unknown (a newer
/// version of gardien?) is reported as [`Change::Missed`], which makes the caller re-check.
fn parse(payload: &str) -> Change {
    match payload.split_once(':') {
        Some(("version", n)) => n.parse().map_or(Change::Missed, Change::Version),
        None if payload == "devices" => Change::Devices,
        _ => Change::Missed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse() {
        assert_eq!(parse("version:12"), Change::Version(12));
        assert_eq!(parse("devices"), Change::Devices);
        assert_eq!(parse("version:x"), Change::Missed);
        assert_eq!(parse("policies"), Change::Missed);
        assert_eq!(parse(""), Change::Missed);
    }
}

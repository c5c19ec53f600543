//! The change feed: which tenant versions and devices changed, as seen by this process.

use tokio::sync::{broadcast, watch};

use crate::StoreError;
use crate::postgres::PgFeed;

/// One change announced by a [`ChangeFeed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Tenant version number `.0` was saved.
    Version(i64),
    /// The devices changed ([`crate::Store::devices_revision`] was bumped).
    Devices,
    /// Changes may have been missed (the PostgreSQL listener lost its connection and
    /// reconnected, or this feed fell behind): re-read the current version and devices
    /// revision.
    Missed,
}

/// A feed of changes, from [`crate::Store::changes`].
///
/// [`ChangeFeed::next`] is cancel-safe: it can be used in `tokio::select!` and called again.
pub struct ChangeFeed {
    inner: Feed,
}

enum Feed {
    Local(LocalFeed),
    Postgres(PgFeed),
}

impl ChangeFeed {
    /// A feed of this process's own changes (SQLite).
    pub(crate) fn local(rx: broadcast::Receiver<Change>, closed: watch::Receiver<bool>) -> Self {
        ChangeFeed {
            inner: Feed::Local(LocalFeed { rx, closed }),
        }
    }

    /// A feed of PostgreSQL notifications.
    pub(crate) fn postgres(feed: PgFeed) -> Self {
        ChangeFeed {
            inner: Feed::Postgres(feed),
        }
    }

    /// Waits for the next change.
    ///
    /// [`Change::Missed`] when notifications may have been lost (the listener reconnected
    /// after its connection dropped, or this feed lagged more than 256 changes behind): the
    /// caller re-checks the current version and devices revision.
    ///
    /// Errors: [`StoreError::Closed`] once the store is closed; a PostgreSQL connection
    /// error ([`StoreError::Sql`]) if the listener lost its connection and could not
    /// reconnect. The feed stays usable after an error: the next call reconnects and then
    /// returns [`Change::Missed`] first.
    pub async fn next(&mut self) -> Result<Change, StoreError> {
        match &mut self.inner {
            Feed::Local(feed) => feed.next().await,
            Feed::Postgres(feed) => feed.next().await,
        }
    }
}

/// Capacity of the broadcast channel of a SQLite store's changes; a feed lagging further
/// behind gets [`Change::Missed`].
pub(crate) const LOCAL_FEED_CAPACITY: usize = 256;

/// A feed of a broadcast channel, ended when the store is closed.
struct LocalFeed {
    rx: broadcast::Receiver<Change>,
    closed: watch::Receiver<bool>,
}

impl LocalFeed {
    async fn next(&mut self) -> Result<Change, StoreError> {
        tokio::select! {
            biased;
            // Err: every store handle is gone, which is just as closed.
            _ = self.closed.wait_for(|closed| *closed) => Err(StoreError::Closed),
            received = self.rx.recv() => match received {
                Ok(change) => Ok(change),
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::debug!(skipped, "change feed lagged");
                    Ok(Change::Missed)
                }
                Err(broadcast::error::RecvError::Closed) => Err(StoreError::Closed),
            },
        }
    }
}

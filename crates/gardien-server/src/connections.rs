//! Connections: what one TCP connection may hold before it sends a request, and how many
//! are served at once (`[http]` in `gardien.toml`, `docs/security.md`).
//!
//! * **Header-read timeout** (default 10 s): from the first byte of a request until its
//!   whole head has arrived. A client that trickles a head (slowloris) is disconnected.
//! * **Idle timeout** (default 60 s): a keep-alive connection with no request in flight and
//!   nothing read or written for that long is closed.
//! * **Connection cap**: at most `max_connections` connections are served at once; more
//!   wait in the kernel's accept queue. The default comes from the file-descriptor limit,
//!   whose soft value is raised to the hard one at start ([`raise_fd_limit`]).
//!
//! A request whose head has arrived is the handler's: request bodies are read against the
//! same header-read timeout per chunk ([`crate::body::read`]).

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tower::ServiceExt as _;

/// File descriptors kept for the store, the log, GeoIP files and the listener when the
/// connection cap is derived from the descriptor limit.
pub const FD_HEADROOM: u64 = 128;

/// The largest default connection cap.
pub const MAX_DEFAULT_CONNECTIONS: usize = 65_536;

/// Timeouts and cap of the connections, from `[http]`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Header-read timeout.
    pub header_read: Duration,
    /// Idle keep-alive timeout.
    pub idle: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl ConnectionLimits {
    /// The limits of a configuration; `fd_limit` is the (raised) descriptor soft limit, used
    /// when `max_connections` is 0.
    pub fn new(http: &crate::config::HttpConfig, fd_limit: Option<u64>) -> Self {
        let max_connections = if http.max_connections > 0 {
            http.max_connections
        } else {
            default_max_connections(fd_limit)
        };
        ConnectionLimits {
            header_read: Duration::from_millis(http.header_read_timeout_ms.max(1)),
            idle: Duration::from_millis(http.idle_timeout_ms.max(1)),
            max_connections,
        }
    }
}

/// The connection cap for a descriptor limit: the limit minus [`FD_HEADROOM`], at least 16,
/// at most [`MAX_DEFAULT_CONNECTIONS`] (no limit known: 1024).
pub fn default_max_connections(fd_limit: Option<u64>) -> usize {
    let Some(limit) = fd_limit else {
        return 1024;
    };
    let cap = limit.saturating_sub(FD_HEADROOM).max(16);
    usize::try_from(cap).map_or(MAX_DEFAULT_CONNECTIONS, |c| c.min(MAX_DEFAULT_CONNECTIONS))
}

/// Raises the soft limit of open files to the hard limit; returns the soft limit in force
/// afterwards (`None` when unknown or unlimited).
pub fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => tracing::debug!(to = ?limit.maximum, "open-file soft limit raised"),
                Err(e) => {
                    tracing::warn!(error = %e, "the open-file soft limit could not be raised")
                }
            }
        }
        getrlimit(Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Connection counters shared with the metrics.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    /// Connections open now.
    pub open: AtomicUsize,
    /// Connections closed for a slow request head.
    pub header_timeouts: AtomicU64,
    /// Connections closed for idleness.
    pub idle_timeouts: AtomicU64,
}

/// What a connection has been doing, in milliseconds since the server started.
#[derive(Debug, Default)]
struct Activity {
    /// Last byte read or written.
    last: AtomicU64,
    /// First byte of a request head not yet answered (0: none).
    head_since: AtomicU64,
    /// Requests being handled.
    in_flight: AtomicUsize,
}

/// Why a connection is closed by the watchdog.
enum Expired {
    Header,
    Idle,
}

impl Activity {
    fn expired(&self, now: u64, limits: &ConnectionLimits) -> Option<Expired> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let head = self.head_since.load(Ordering::SeqCst);
        if head > 0 {
            return (now.saturating_sub(head) >= ms(limits.header_read)).then_some(Expired::Header);
        }
        let last = self.last.load(Ordering::SeqCst);
        (now.saturating_sub(last) >= ms(limits.idle)).then_some(Expired::Idle)
    }
}

/// A socket that records its activity.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
    epoch: Instant,
}

impl Watched {
    fn now(&self) -> u64 {
        // Never 0: 0 means "no head pending".
        u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let now = self.now();
            let a = &self.activity;
            a.last.store(now, Ordering::SeqCst);
            if a.in_flight.load(Ordering::SeqCst) == 0 {
                let _ = a
                    .head_since
                    .compare_exchange(0, now, Ordering::SeqCst, Ordering::SeqCst);
            }
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            let now = self.now();
            self.activity.last.store(now, Ordering::SeqCst);
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            let now = self.now();
            self.activity.last.store(now, Ordering::SeqCst);
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Marks a request in flight for as long as it lives.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::SeqCst);
        activity.head_since.store(0, Ordering::SeqCst);
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets the open connections
/// finish their requests.
pub async fn serve(
    app: Router,
    listener: tokio::net::TcpListener,
    limits: ConnectionLimits,
    stats: Arc<ConnectionStats>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let (close_tx, close_rx) = tokio::sync::watch::channel(());
    let epoch = Instant::now();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: wait a little.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers are small and latency matters: no Nagle delay between header and body.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let app = app.clone();
        let stats = stats.clone();
        let close_rx = close_rx.clone();
        tokio::spawn(async move {
            stats.open.fetch_add(1, Ordering::SeqCst);
            connection(app, stream, peer, limits, &stats, close_rx, epoch).await;
            stats.open.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
        });
    }
    drop(close_rx);
    drop(listener);
    // Every connection holds a receiver: ask them to finish, then wait until they have.
    let _ = close_tx.send(());
    close_tx.closed().await;
}

async fn connection(
    app: Router,
    stream: TcpStream,
    peer: SocketAddr,
    limits: ConnectionLimits,
    stats: &ConnectionStats,
    mut close_rx: tokio::sync::watch::Receiver<()>,
    epoch: Instant,
) {
    let activity = Arc::new(Activity::default());
    let io = Watched {
        stream,
        activity: activity.clone(),
        epoch,
    };
    io.activity.last.store(io.now(), Ordering::SeqCst);
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request: http::Request<Incoming>| {
            let guard = InFlight::new(activity.clone());
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let response = app.oneshot(request).await;
                drop(guard);
                response
            }
        })
    };
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let tick = (limits.header_read.min(limits.idle) / 4)
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::trace!(error = %e, %peer, "connection ended with an error");
                }
                return;
            }
            changed = close_rx.changed(), if !closing => {
                let _ = changed;
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep(tick) => {
                let now = u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
                match activity.expired(now, &limits) {
                    Some(Expired::Header) => {
                        stats.header_timeouts.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%peer, "request head not received in time; closing");
                        return;
                    }
                    Some(Expired::Idle) => {
                        stats.idle_timeouts.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    None => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_cap_follows_the_descriptor_limit() {
        assert_eq!(default_max_connections(Some(1024)), 896);
        assert_eq!(default_max_connections(Some(100)), 16);
        assert_eq!(
            default_max_connections(Some(1 << 30)),
            MAX_DEFAULT_CONNECTIONS
        );
        assert_eq!(default_max_connections(None), 1024);
    }

    #[test]
    fn activity_expires_on_a_slow_head_or_idleness_never_in_flight() {
        let limits = ConnectionLimits {
            header_read: Duration::from_millis(100),
            idle: Duration::from_millis(1000),
            max_connections: 1,
        };
        let a = Activity::default();
        a.last.store(1, Ordering::SeqCst);
        assert!(a.expired(500, &limits).is_none());
        assert!(matches!(a.expired(1001, &limits), Some(Expired::Idle)));
        a.head_since.store(400, Ordering::SeqCst);
        assert!(a.expired(450, &limits).is_none());
        assert!(matches!(a.expired(500, &limits), Some(Expired::Header)));
        a.in_flight.store(1, Ordering::SeqCst);
        assert!(a.expired(100_000, &limits).is_none());
    }
}

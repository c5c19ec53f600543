//! gardien's HTTP decision point (`gardien serve`): forward-auth for nginx, Traefik, Caddy
//! and Envoy, `/v1/evaluate` and Graph's what-if `evaluate`, the end-user denial page, the
//! sign-in log, the admin API, metrics.
//!
//! One pipeline ([`decision`]) turns a request into a logged decision with the compiled
//! policy set in force ([`state::AppState::live`], swapped atomically); the endpoints in
//! [`routes`] are views over its result. Anything that fails inside is a deny.

#![deny(missing_docs)]

pub mod body;
pub mod clean;
pub mod clock;
pub mod config;
pub mod decision;
pub mod denial;
pub mod denials;
pub mod identity;
pub mod metrics;
pub mod problem;
pub mod routes;
pub mod signin_record;
pub mod snapshot;
pub mod state;
pub mod tasks;

pub use config::ServerConfig;
pub use routes::router;
pub use state::{AppState, StartOptions};

use std::net::SocketAddr;
use std::sync::Arc;

/// Serves the router on a bound listener until `shutdown` resolves, then flushes the log.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let background = tasks::spawn(state.clone());
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    // Answers are small and latency matters: no Nagle delay between header and body writes.
    let listener = listener.tap_io(|stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    background.abort();
    if let Err(e) = state.store.close().await {
        tracing::error!(error = %e, "closing the store");
    }
    result
}

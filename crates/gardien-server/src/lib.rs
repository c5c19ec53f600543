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
pub mod connections;
pub mod console;
pub mod credentials;
pub mod decision;
pub mod denial;
pub mod denials;
pub mod evaluations;
pub mod files;
pub mod health;
pub mod identity;
pub mod json_text;
pub mod log_ship;
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

use std::sync::Arc;

/// Serves the router on a bound listener until `shutdown` resolves, then flushes the log.
/// Raises the open-file soft limit to the hard one first; connections are bounded as
/// [`connections`] describes.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let background = tasks::spawn(state.clone());
    let limits =
        connections::ConnectionLimits::new(&state.config.http, connections::raise_fd_limit());
    tracing::info!(
        max_connections = limits.max_connections,
        header_read_timeout_ms = limits.header_read.as_millis() as u64,
        idle_timeout_ms = limits.idle.as_millis() as u64,
        "connection limits"
    );
    connections::serve(
        router(state.clone()),
        listener,
        limits,
        state.connections.clone(),
        shutdown,
    )
    .await;
    background.abort();
    if let Err(e) = state.store.close().await {
        tracing::error!(error = %e, "closing the store");
    }
    if let Some(shipper) = state.shipper.clone() {
        let flushed =
            tokio::task::spawn_blocking(move || shipper.flush(std::time::Duration::from_secs(5)))
                .await
                .unwrap_or(false);
        if !flushed {
            tracing::warn!("sign-in shipping: not every queued line was written before exit");
        }
    }
    Ok(())
}

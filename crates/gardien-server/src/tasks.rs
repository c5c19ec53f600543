//! Background work: GeoIP hot reload, JWKS refresh, sign-in log retention.

use crate::state::AppState;
use std::sync::Arc;
use std::time::Duration;

/// Handles of the background tasks; dropping them does not stop them, [`Tasks::abort`] does.
#[derive(Debug)]
pub struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Tasks {
    /// Stops every task.
    pub fn abort(&self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// Starts the background tasks.
pub fn spawn(state: Arc<AppState>) -> Tasks {
    let mut tasks = Vec::new();
    let s = state.clone();
    tasks.push(tokio::spawn(async move {
        // GeoIP files replaced on disk are picked up within a minute; a bad file keeps the
        // old reader (the signals crate guarantees it).
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let geoip = s.signals.load().geoip.clone();
            let errors = tokio::task::spawn_blocking(move || geoip.reload_if_changed())
                .await
                .unwrap_or_default();
            for e in errors {
                tracing::warn!(error = %e, "GeoIP reload failed; the previous database stays in use");
            }
        }
    }));
    let s = state.clone();
    tasks.push(tokio::spawn(async move {
        // Keys fetched from a JWKS URL are refreshed every 10 minutes; on error the old
        // keys stay (with none at all, every token is refused: fail closed).
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = s.identity.refresh().await {
                tracing::warn!(error = %e, "JWKS refresh failed");
            }
        }
    }));
    let days = state.config.log.retention_days;
    if days > 0 {
        let s = state;
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                let before = crate::clock::now_ms() - i64::from(days) * 86_400_000;
                match s.store.log().delete_before(before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, days, "sign-in log retention"),
                    Err(e) => tracing::warn!(error = %e, "sign-in log retention failed"),
                }
            }
        }));
    }
    Tasks(tasks)
}

//! Background work: following the store's changes (policy versions and devices written by
//! other replicas), GeoIP hot reload, JWKS refresh, console sessions revoked by other
//! replicas, sign-in log and admin audit retention.

use crate::state::AppState;
use gardien_store::Change;
use std::sync::Arc;
use std::sync::atomic::Ordering;
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
    let mut tasks = vec![tokio::spawn(follow_store(state.clone()))];
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
    if state.config.console.enabled {
        let s = state.clone();
        tasks.push(tokio::spawn(async move {
            // Sessions other replicas signed out; this replica's own are applied at once.
            let mut tick = tokio::time::interval(crate::console::REVOKED_REFRESH);
            loop {
                tick.tick().await;
                match s.store.revoked_sessions(crate::clock::now_ms()).await {
                    Ok(revoked) => s.console.set_revoked(revoked),
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the revoked console sessions failed")
                    }
                }
            }
        }));
    }
    let audit_days = state.config.admin.audit_retention_days;
    if audit_days > 0 {
        let s = state.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                let before = crate::clock::now_ms() - i64::from(audit_days) * 86_400_000;
                match s.store.delete_audit_before(before).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(deleted = n, days = audit_days, "admin audit retention")
                    }
                    Err(e) => tracing::warn!(error = %e, "admin audit retention failed"),
                }
            }
        }));
    }
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

/// Keeps the policy set and devices in force equal to the store's: reacts to the store's
/// change feed (PostgreSQL LISTEN/NOTIFY: another replica's write arrives within
/// milliseconds) and, in case a notification is lost, compares versions every
/// `store.version_check_ms`.
async fn follow_store(state: Arc<AppState>) {
    let period = Duration::from_millis(state.config.store.version_check_ms.max(100));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut feed = None;
    loop {
        if feed.is_none() {
            match state.store.changes().await {
                Ok(f) => {
                    feed = Some(f);
                    // Anything written while we were not listening.
                    sync(&state, true, true).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen to store changes; checking every {period:?}")
                }
            }
        }
        let change = async {
            match feed.as_mut() {
                Some(f) => Some(f.next().await),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tick.tick() => sync(&state, true, true).await,
            change = change => match change {
                Some(Ok(Change::Version(_))) => sync(&state, true, false).await,
                Some(Ok(Change::Devices)) => sync(&state, false, true).await,
                Some(Ok(Change::Missed)) => sync(&state, true, true).await,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "store change feed failed; reconnecting");
                    feed = None;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                None => {}
            },
        }
    }
}

/// One comparison with the store; failures are counted and logged, what is in force stays.
async fn sync(state: &AppState, policy: bool, devices: bool) {
    if policy && let Err(e) = state.sync_policy().await {
        state.metrics.sync_errors.fetch_add(1, Ordering::Relaxed);
        tracing::error!(error = %e, "policy change in the store not applied; the previous set stays in force");
    }
    if devices && let Err(e) = state.sync_devices().await {
        state.metrics.sync_errors.fetch_add(1, Ordering::Relaxed);
        tracing::error!(error = %e, "device change in the store not applied; the previous registry stays");
    }
}

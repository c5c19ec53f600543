//! Recent denials and challenges, kept so the denial page can be shown after the fact.
//!
//! nginx `auth_request` only reads the status of gardien's answer; its `error_page` then
//! fetches `/v1/denial/{key}` (the key comes back in `X-Gardien-Denial`).
//! Traefik and Caddy pass gardien's body through, so they show the page directly.

use crate::denial::DenialContext;
use crate::denial::DeviceSummary;
use gardien_core::report::DecisionReport;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Everything the denial page shows about one decision.
#[derive(Debug, Clone)]
pub struct DenialRecord {
    /// The decision report (explanation, policies for higher disclosure levels).
    pub report: DecisionReport,
    /// Correlation id.
    pub correlation_id: String,
    /// RFC 3339 time.
    pub timestamp: String,
    /// Client address.
    pub client_ip: Option<IpAddr>,
    /// Application name shown.
    pub application: String,
    /// Device state shown.
    pub device: DeviceSummary,
    /// 401 (challenge) or 403 (deny).
    pub status: u16,
}

impl DenialRecord {
    /// What the page and the problem document of this denial are rendered from, with the
    /// administrator's page settings.
    pub fn context<'a>(&'a self, page: &'a crate::config::PageConfig) -> DenialContext<'a> {
        DenialContext {
            report: &self.report,
            correlation_id: &self.correlation_id,
            timestamp: &self.timestamp,
            client_ip: self.client_ip,
            application: &self.application,
            device: &self.device,
            disclosure: page.disclosure,
            support: page.support.as_deref(),
            status: self.status,
        }
    }
}

/// Denials by key, and the keys in insertion order (for eviction).
type Entries = (HashMap<String, Arc<DenialRecord>>, VecDeque<String>);

/// A bounded map of the most recent denials by correlation id (oldest evicted first).
#[derive(Debug)]
pub struct RecentDenials {
    capacity: usize,
    inner: Mutex<Entries>,
}

impl RecentDenials {
    /// Keeps at most `capacity` denials.
    pub fn new(capacity: usize) -> Self {
        RecentDenials {
            capacity: capacity.max(1),
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    /// Remembers a denial under an unguessable key (not the correlation id, which is
    /// sequential: anyone could otherwise read other users' troubleshooting details).
    pub fn insert(&self, key: String, record: Arc<DenialRecord>) {
        if let Ok(mut guard) = self.inner.lock() {
            let (map, order) = &mut *guard;
            if order.len() >= self.capacity
                && let Some(old) = order.pop_front()
            {
                map.remove(&old);
            }
            order.push_back(key.clone());
            map.insert(key, record);
        }
    }

    /// The denial with this key, if still remembered.
    pub fn get(&self, key: &str) -> Option<Arc<DenialRecord>> {
        self.inner.lock().ok().and_then(|g| g.0.get(key).cloned())
    }
}

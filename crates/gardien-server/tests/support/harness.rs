//! The in-process server the router tests share (`#[path]`-included, as `demo.rs` is): a
//! server state on a real SQLite file in a temporary directory, its router, and one way to
//! send it a request from a given peer and read the whole answer.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use gardien_server::{AppState, ServerConfig, StartOptions, router};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

/// A started server: its state, its router, and the directory of its store (removed on drop).
pub struct Server {
    /// The state (store, policy set in force, counters).
    pub state: Arc<AppState>,
    /// The router over that state.
    pub app: Router,
    _dir: tempfile::TempDir,
}

/// A server on a store of its own; `config` is the TOML after the `[store]` table (which
/// this function writes: `listen` on an ephemeral loopback port, the store's path).
pub async fn server(config: &str, options: StartOptions) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let state = state_on(&dir.path().join("gardien.db"), config, options).await;
    Server {
        app: router(state.clone()),
        state,
        _dir: dir,
    }
}

/// A server state on the store at `db` (two on one file share the store, as replicas do);
/// `config` as for [`server`].
pub async fn state_on(db: &Path, config: &str, options: StartOptions) -> Arc<AppState> {
    let text = format!(
        "listen = \"127.0.0.1:0\"\n[store]\npath = \"{}\"\n{config}",
        db.display()
    );
    let config = ServerConfig::parse("test.toml", &text).unwrap();
    AppState::start(config, options).await.unwrap()
}

/// A whole answer.
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// Header fields.
    pub headers: http::HeaderMap,
    /// The body, read to the end.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (panics, showing the body, when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value (`""` when absent or not text).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Sends `req` to `app` as if from `peer` (an IP address; the port is 40000) and reads the
/// whole answer.
pub async fn send(app: &Router, peer: &str, mut req: Request<Body>) -> Reply {
    let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

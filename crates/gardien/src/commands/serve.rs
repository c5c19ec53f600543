//! `gardien serve`: the HTTP decision point, from a configuration file or as the loopback
//! demo (`--demo`) with the bundled tenant, devices and ready-to-paste curl commands.
//! With a configuration file, `SIGHUP` reloads its `[admin]` credentials and reopens the
//! `[log.ship]` file.

use crate::Exit;
use crate::commands::demo::demo_source;
use anyhow::{Context, Result, anyhow};
use gardien_server::config::{AppRoute, ServerConfig};
use gardien_server::identity::HeaderIdentityConfig;
use gardien_server::{AppState, StartOptions, snapshot};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

const DEMO_DEVICES: &[u8] = include_bytes!("../../../../examples/demo/server/devices.json");
const DEMO_COMPLIANCE: &[u8] = include_bytes!("../../../../examples/demo/signals/compliance.json");

/// Application ids of the demo tenant.
const PAYROLL: &str = "c0ffee00-0000-4000-8000-000000000100";
const WIKI: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";

/// The demo configuration: loopback, loopback trusted as the proxy (so curl can play
/// nginx), identity and country from headers, two applications.
fn demo_config(listen: Option<SocketAddr>, store: PathBuf) -> ServerConfig {
    let mut config = ServerConfig::default();
    if let Some(l) = listen {
        config.listen = l;
    }
    config.store.path = store;
    config.signals.trusted_proxies = vec!["127.0.0.0/8".into(), "::1/128".into()];
    config.signals.device_header = Some("x-client-cert-sha256".into());
    config.signals.country_header = Some("cf-ipcountry".into());
    config.identity.headers = Some(HeaderIdentityConfig {
        methods: Some("remote-amr".into()),
        ..HeaderIdentityConfig::default()
    });
    config.apps = vec![
        AppRoute {
            host: "payroll.contoso.example".into(),
            path_prefix: "/".into(),
            case_sensitive: false,
            app_id: PAYROLL.into(),
            name: Some("Payroll".into()),
        },
        AppRoute {
            host: "*".into(),
            path_prefix: "/".into(),
            case_sensitive: false,
            app_id: WIKI.into(),
            name: Some("Wiki".into()),
        },
    ];
    config.page.support = Some("helpdesk@contoso.example".into());
    config
}

fn demo_commands(addr: SocketAddr, store: &str) -> String {
    let base = format!(
        "curl -s -o /dev/null -w '%{{http_code}} %header{{x-gardien-error-code}}\\n' http://{addr}/v1/forward-auth"
    );
    let chrome_win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    let chrome_android = "Mozilla/5.0 (Linux; Android 12; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
    let outlook_android = "Outlook-Android/2.0";
    let safari_mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
    let alice = "a1a1a1a1-0000-4000-8000-000000000001";
    let bob = "b2b2b2b2-0000-4000-8000-000000000002";
    let hq = "198.51.100.20";
    format!(
        r#"gardien demo listening on http://{addr} (admin API open on loopback; store: {store})

# 1. Personal, unregistered laptop, in a browser, from abroad → 403, 53003 (location)
{base} -H 'X-Forwarded-Host: payroll.contoso.example' -H 'Remote-User: {alice}' -H 'CF-IPCountry: BR' -H 'X-Forwarded-For: 203.0.113.50' -H 'User-Agent: {chrome_win}'

# 2. Non-compliant phone (Android 12, minimum 13) in a browser → 403, 53000
{base} -H 'X-Forwarded-Host: payroll.contoso.example' -H 'Remote-User: {alice}' -H 'X-Forwarded-For: {hq}' -H 'X-Client-Cert-Sha256: 0A:0B:0C:0D' -H 'User-Agent: {chrome_android}'

# 3. Windows 10.0.19044 (below 10.0.19045) → 403, 53003 (Finance's OS-version rule)
{base} -H 'X-Forwarded-Host: payroll.contoso.example' -H 'Remote-User: {alice}' -H 'X-Forwarded-For: {hq}' -H 'X-Client-Cert-Sha256: AB:CD:EF:01' -H 'User-Agent: {chrome_win}'

# 4. Same phone, desktop/mobile app instead of the browser → 200
{base} -H 'X-Forwarded-Host: payroll.contoso.example' -H 'Remote-User: {alice}' -H 'X-Forwarded-For: {hq}' -H 'X-Client-Cert-Sha256: 0A:0B:0C:0D' -H 'User-Agent: {outlook_android}'

# 5. Administrator without MFA → 401 step-up; with MFA done → 200
{base} -H 'X-Forwarded-Host: wiki.contoso.example' -H 'Remote-User: {bob}' -H 'X-Forwarded-For: {hq}' -H 'User-Agent: {safari_mac}'
{base} -H 'X-Forwarded-Host: wiki.contoso.example' -H 'Remote-User: {bob}' -H 'X-Forwarded-For: {hq}' -H 'User-Agent: {safari_mac}' -H 'Remote-Amr: pwd,mfa'

# The denial page a user sees (French), and the sign-in log:
curl -s http://{addr}/v1/forward-auth -H 'Accept: text/html' -H 'Accept-Language: fr' -H 'X-Forwarded-Host: payroll.contoso.example' -H 'Remote-User: {alice}' -H 'CF-IPCountry: BR' -H 'User-Agent: {chrome_win}'
curl -s 'http://{addr}/v1/signins?limit=5'
curl -s http://{addr}/metrics
"#
    )
}

/// Points the configuration at `--database`: a PostgreSQL URL, or a SQLite file.
fn set_database(config: &mut ServerConfig, database: &str) {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        config.store.database = Some(database.to_owned());
    } else {
        config.store.database = None;
        config.store.path = PathBuf::from(database.strip_prefix("sqlite://").unwrap_or(database));
    }
}

/// Deletes a demo store and its WAL files (the demo keeps nothing).
fn remove_store(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => return ctrl_c.await,
            };
        tokio::select! {
            () = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

/// On `SIGHUP`, rereads `path` and puts its `[admin]` credentials in force (a bad file is
/// logged and the credentials in force stay; see `gardien_server::credentials::reload`),
/// and reopens the `[log.ship]` file.
#[cfg(unix)]
fn reload_on_hangup(state: std::sync::Arc<AppState>, path: PathBuf) {
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; credentials reload only on restart");
            return;
        }
    };
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            gardien_server::credentials::reload(&state, &path).await;
            // After an external rotation (logrotate), the shipped-lines file starts anew.
            if let Some(shipper) = &state.shipper {
                shipper.reopen();
            }
        }
    });
}

/// Starts the server and runs until Ctrl-C or SIGTERM.
pub fn run(
    config_path: Option<&Path>,
    demo: bool,
    listen: Option<SocketAddr>,
    database: Option<&str>,
) -> Result<Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let demo_store = (demo && database.is_none())
            .then(|| std::env::temp_dir().join(format!("gardien-demo-{}.db", std::process::id())));
        if let Some(store) = &demo_store {
            remove_store(store);
        }
        let (mut config, options) = if demo {
            let devices: Value = serde_json::from_slice(DEMO_DEVICES)?;
            let options = StartOptions {
                demo: true,
                initial_tenant: Some(
                    snapshot::from_source(&demo_source())
                        .map_err(|e| anyhow!("the embedded demo tenant is invalid:\n{e}"))?,
                ),
                initial_devices: devices.get("value").and_then(Value::as_array).cloned(),
                compliance: Some((
                    "examples/demo/signals/compliance.json".into(),
                    DEMO_COMPLIANCE.to_vec(),
                )),
            };
            (
                demo_config(listen, demo_store.clone().unwrap_or_default()),
                options,
            )
        } else {
            let path = config_path.ok_or_else(|| anyhow!("give --config FILE, or --demo"))?;
            let mut config = ServerConfig::read(path)?;
            if let Some(l) = listen {
                config.listen = l;
            }
            let initial_tenant = match &config.tenant {
                Some(t) => Some(crate::tenant_fs::tenant_snapshot(&t.path)?),
                None => None,
            };
            let initial_devices = match &config.signals.devices {
                Some(p) => {
                    let bytes = crate::tenant_fs::read_input(p)?;
                    let v: Value = serde_json::from_slice(&bytes)
                        .with_context(|| format!("{}: invalid JSON", p.display()))?;
                    Some(
                        v.get("value")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default(),
                    )
                }
                None => None,
            };
            (
                config,
                StartOptions {
                    demo: false,
                    initial_tenant,
                    initial_devices,
                    compliance: None,
                },
            )
        };
        if let Some(url) = database {
            set_database(&mut config, url);
        }
        if demo && !config.listen.ip().is_loopback() {
            return Err(anyhow!(
                "demo mode opens the admin API without a token: it only listens on loopback, not {}",
                config.listen
            ));
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let state = match AppState::start(config, options).await {
            Ok(state) => state,
            Err(e) => {
                // A refused start leaves nothing behind: the demo's store is its own.
                if let Some(store) = &demo_store {
                    remove_store(store);
                }
                return Err(e.into());
            }
        };
        if demo {
            let store = match &demo_store {
                Some(_) => "a temporary SQLite file".to_owned(),
                None => state.store.location(),
            };
            crate::print_out(&demo_commands(addr, &store))?;
        }
        #[cfg(unix)]
        if let (false, Some(path)) = (demo, config_path) {
            reload_on_hangup(state.clone(), path.to_path_buf());
        }
        if let Some(t) = state.config.tenant.clone().filter(|t| t.watch) {
            let interval = std::time::Duration::from_millis(t.watch_interval_ms);
            tokio::spawn(crate::watch::follow(state.clone(), t.path, interval));
        }
        tracing::info!(%addr, version = state.live.load().version, "gardien serving");
        let served = gardien_server::serve(state, listener, shutdown_signal()).await;
        if let Some(store) = &demo_store {
            remove_store(store);
        }
        served?;
        Ok(Exit::Ok)
    })
}

/// `gardien hash-token`: the SHA-256 to put in `[[admin.tokens]] sha256` (or `admin.token_sha256`).
pub fn hash_token(token: Option<&str>) -> Result<Exit> {
    let token = match token {
        Some(t) => t.to_owned(),
        None => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if token.len() < 16 {
        return Err(anyhow!(
            "a token shorter than 16 characters is too easy to guess"
        ));
    }
    crate::print_out(&format!("{}\n", gardien_server::state::hash_token(&token)))?;
    Ok(Exit::Ok)
}

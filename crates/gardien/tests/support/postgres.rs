//! PostgreSQL for the end-to-end tests that run replicas on one database: where it is
//! (`GARDIEN_TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`), whether
//! it can be reached (the tests print `SKIP` and return when it cannot), and a fresh schema
//! per run, dropped when the run is over.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The test database: `GARDIEN_TEST_DATABASE_URL`, or `postgres://postgres@127.0.0.1:5432/test`.
pub fn database_url() -> String {
    std::env::var("GARDIEN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `host:port` of a `postgres://user@host:port/db` URL.
pub fn host_port(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    })
}

/// Why PostgreSQL cannot be used, if it cannot.
pub fn unreachable(url: &str) -> Option<String> {
    let Some(hp) = host_port(url) else {
        return Some(format!("cannot read host and port from {url}"));
    };
    let addrs: Vec<SocketAddr> = match hp.to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => return Some(format!("{hp}: {e}")),
    };
    let connected = addrs
        .iter()
        .any(|a| TcpStream::connect_timeout(a, Duration::from_secs(2)).is_ok());
    (!connected).then(|| format!("nothing accepts connections at {hp}"))
}

/// A schema name no other run uses: `<prefix>_<pid>_<nanoseconds>` (gardien creates it).
pub fn fresh_schema_name(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{nanos}", std::process::id())
}

/// Drops the test's schema (best effort, with `psql`, when the run is over).
#[derive(Debug)]
pub struct Schema {
    /// The database.
    pub url: String,
    /// The schema.
    pub name: String,
}

impl Schema {
    /// A fresh schema name on `url` ([`fresh_schema_name`]), dropped with this guard.
    pub fn fresh(url: &str, prefix: &str) -> Schema {
        Schema {
            url: url.to_owned(),
            name: fresh_schema_name(prefix),
        }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let dropped = Command::new("psql")
            .args([
                &self.url,
                "-q",
                "-c",
                &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
            ])
            .output();
        if !matches!(&dropped, Ok(o) if o.status.success()) {
            eprintln!("note: schema {} left in place ({dropped:?})", self.name);
        }
    }
}

/// Writes `<dir>/gardien.toml` for a replica on `schema`: the demo tenant (imported by the
/// first replica), the payroll and wiki applications, identity and country from trusted
/// proxy headers on loopback, the log acknowledged after commit (another replica rebuilds a
/// page from the record), the admin token `token`, and a periodic version check of a minute,
/// so that a policy change can only arrive by notification within a test. Returns its path.
pub fn write_replica_config(
    dir: &std::path::Path,
    schema: &str,
    token: &str,
) -> std::path::PathBuf {
    let tenant = super::repo_root().join("examples/demo/tenant");
    let config = format!(
        r#"tenant = "{tenant}"

[store]
schema = "{schema}"
version_check_ms = 60000

[log]
acknowledge = "committed"

[signals]
trusted_proxies = ["127.0.0.0/8"]
country_header = "cf-ipcountry"

[identity.headers]
methods = "remote-amr"

[[apps]]
host = "payroll.contoso.example"
app_id = "c0ffee00-0000-4000-8000-000000000100"
name = "Payroll"

[[apps]]
host = "*"
app_id = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
name = "Wiki"

[admin]
token_sha256 = "{hash}"
"#,
        tenant = tenant.display(),
        hash = super::hash_token(token),
    );
    let path = dir.join("gardien.toml");
    std::fs::write(&path, config)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

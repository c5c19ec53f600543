//! Helpers shared by the end-to-end tests that run `gardien serve` over real TCP on
//! 127.0.0.1: temporary directories, free ports, the server process (killed on drop, even
//! when a test fails), and a minimal HTTP/1.1 client on `std::net::TcpStream` (one request
//! per connection, `Connection: close`, chunked bodies decoded), a proxy process
//! ([`Daemon`]) and the samples' marked blocks. Submodules: [`upstream`] (the application
//! behind the proxies), [`forward_auth`] (the cases every proxy in front of gardien is
//! tested with), [`cli`] (running the binary, writing input files), [`nginx`], [`caddy`]
//! and [`haproxy`] (the real proxies with the shipped samples) and [`postgres`] (the test database and a schema per run). The `dead_code`
//! allowance below covers them too (lint levels are inherited).
//!
//! The test files include this module with `#[path = "support/mod.rs"] mod support;`; a file
//! loaded through `#[path]` is treated as a `mod.rs`, so `mod nginx;` here is
//! `support/nginx.rs`.
#![allow(
    dead_code,
    reason = "each test binary includes this module and uses a different subset of it"
)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub mod caddy;
pub mod cli;
pub mod forward_auth;
pub mod haproxy;
pub mod nginx;
pub mod postgres;
pub mod upstream;

/// How long a server may take to answer `/healthz` after it was started.
pub const STARTUP: Duration = Duration::from_secs(30);

/// The repository root (`crates/gardien/../..`).
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// A directory under the system temporary directory, removed (with its content) on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// A fresh, empty directory whose name starts with `gardien-<tag>-`.
    pub fn new(tag: &str) -> TempDir {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "gardien-{tag}-{}-{nanos}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("GARDIEN_KEEP_TMP").is_some() {
            eprintln!("kept {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A loopback address with a port that was free a moment ago (bound on port 0, released).
pub fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("no local address: {e}"))
}

/// The `gardien` binary built for this test run.
pub fn gardien_bin() -> &'static str {
    env!("CARGO_BIN_EXE_gardien")
}

/// `gardien hash-token <token>`: the SHA-256 hex to put in `admin.token_sha256`.
pub fn hash_token(token: &str) -> String {
    let out = Command::new(gardien_bin())
        .args(["hash-token", token])
        .output()
        .unwrap_or_else(|e| panic!("cannot run gardien hash-token: {e}"));
    assert!(
        out.status.success(),
        "gardien hash-token failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "hash-token printed `{hash}`"
    );
    hash
}

/// A running `gardien serve`, killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Gardien {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Gardien {
    /// Starts `gardien serve <args> --listen <addr>` with its output in `<dir>/<name>.log`
    /// and `TMPDIR=<dir>` (the demo puts its temporary store there), and waits until
    /// `/healthz` answers 200.
    pub fn start(dir: &Path, name: &str, args: &[&str]) -> Gardien {
        Gardien::start_at(dir, name, args, free_addr())
    }

    /// [`Gardien::start`] on a given address.
    pub fn start_at(dir: &Path, name: &str, args: &[&str], addr: SocketAddr) -> Gardien {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone a file handle: {e}"));
        let listen = addr.to_string();
        let child = Command::new(gardien_bin())
            .arg("serve")
            .args(args)
            .args(["--listen", &listen])
            .env("TMPDIR", dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start gardien serve: {e}"));
        let mut server = Gardien { child, addr, log };
        server.wait_healthy();
        server
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's output so far (stdout and stderr).
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "gardien serve exited ({status}) before answering /healthz:\n{}",
                    self.output()
                );
            }
            if let Ok(r) = get(self.addr, "/healthz", &[])
                && r.status == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gardien serve did not answer /healthz on {} within {STARTUP:?}:\n{}",
                self.addr,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends a signal (`HUP`, `TERM`, ...) with `kill(1)`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
        assert!(status.success(), "kill -{name} failed");
    }

    /// SIGKILL (on Unix `Child::kill` sends SIGKILL): no shutdown handler runs.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Gardien {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A program in `/usr/sbin`, `/usr/bin` or on `PATH` (Debian puts nginx and haproxy in
/// `/usr/sbin`, which is not on every user's `PATH`).
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let fixed = ["/usr/sbin", "/usr/bin"].map(|d| Path::new(d).join(name));
    fixed.into_iter().find(|p| p.is_file()).or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// A shipped sample, `examples/<dir>/<name>`.
pub fn sample(dir: &str, name: &str) -> String {
    let path = repo_root().join("examples").join(dir).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// First line of a sample's block of stripped client identity and signal headers.
pub const BEGIN: &str = "# BEGIN client-supplied identity and signal headers";
/// Last line of that block.
pub const END: &str = "# END client-supplied identity and signal headers";

/// `text` without the lines from [`BEGIN`] to [`END`] (both included): a sample standing
/// for a deployment behind an authenticating proxy, whose identity headers the test client
/// sends. Panics when `text` has no such block.
pub fn without_stripped_headers(text: &str) -> String {
    assert!(
        text.lines().any(|l| l.trim() == BEGIN) && text.lines().any(|l| l.trim() == END),
        "the sample has no `{BEGIN}` … `{END}` block: update the test"
    );
    let mut kept = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line.trim() == BEGIN {
            skipping = true;
        }
        if !skipping {
            kept.push_str(line);
            kept.push('\n');
        }
        if line.trim() == END {
            skipping = false;
        }
    }
    kept
}

/// `text` with every `needle` replaced by `by`, asserting that the sample `what` still
/// holds `needle` (a sample edited without its test fails here, not later).
pub fn replace_in_sample(text: &str, what: &str, needle: &str, by: &str) -> String {
    assert!(
        text.contains(needle),
        "{what} no longer contains `{needle}`: update the test"
    );
    text.replace(needle, by)
}

/// A proxy process started by a test: output in `<dir>/<name>.out`, killed (SIGKILL) when
/// dropped, even when the test fails.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    name: String,
    dir: PathBuf,
}

impl Daemon {
    /// Runs `cmd` (stdin closed, stdout and stderr to `<dir>/<name>.out`) and waits until
    /// it accepts connections on every address of `ports`, for at most [`STARTUP`]; panics
    /// with its output when it exits or does not listen in time.
    pub fn start(mut cmd: Command, name: &str, dir: &Path, ports: &[SocketAddr]) -> Daemon {
        let out_path = dir.join(format!("{name}.out"));
        let out = std::fs::File::create(&out_path)
            .unwrap_or_else(|e| panic!("{}: {e}", out_path.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone a file handle: {e}"));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        let mut daemon = Daemon {
            child,
            name: name.to_owned(),
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + STARTUP;
        for addr in ports {
            while TcpStream::connect_timeout(addr, Duration::from_secs(1)).is_err() {
                if let Ok(Some(status)) = daemon.child.try_wait() {
                    panic!("{name} exited ({status}):\n{}", daemon.output());
                }
                assert!(
                    Instant::now() < deadline,
                    "{name} does not listen on {addr}:\n{}",
                    daemon.output()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        daemon
    }

    /// Its output so far.
    pub fn output(&self) -> String {
        self.read(&format!("{}.out", self.name))
    }

    /// A file of its directory, empty when missing.
    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file)).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response.
#[derive(Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header fields in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body, de-chunked.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.text();
        let shown: String = text.chars().take(2000).collect();
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &shown)
            .finish()
    }
}

impl Response {
    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
}

/// `GET path` on `addr`.
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Response> {
    request(addr, "GET", path, headers)
}

/// One request on a fresh connection. `Host` defaults to `addr`; `Connection: close` is
/// always sent, so the body ends with the connection (or with its last chunk).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    request_with_body(addr, method, path, headers, b"")
}

/// [`request`] with a body (sent with its `Content-Length` when not empty).
pub fn request_with_body(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut message = head.into_bytes();
    message.extend_from_slice(body);
    stream.write_all(&message)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

/// Parses a complete response (status line, fields, body by chunks, length or close).
pub fn parse_response(raw: &[u8]) -> std::io::Result<Response> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid("incomplete response head"))?;
    let head =
        std::str::from_utf8(&raw[..end]).map_err(|_| invalid("response head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| invalid("bad status line"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid("bad header line"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let rest = &raw[end + 4..];
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    response.body = if response
        .header("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"))
    {
        dechunk(rest)?
    } else if let Some(len) = response.header("content-length") {
        let len: usize = len.parse().map_err(|_| invalid("bad content-length"))?;
        rest.get(..len)
            .ok_or_else(|| invalid("body shorter than content-length"))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(response)
}

fn dechunk(mut data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| invalid("truncated chunk size"))?;
        let size_text =
            std::str::from_utf8(&data[..line_end]).map_err(|_| invalid("bad chunk size"))?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = data.get(..size).ok_or_else(|| invalid("truncated chunk"))?;
        body.extend_from_slice(chunk);
        data = data
            .get(size + 2..)
            .ok_or_else(|| invalid("truncated chunk end"))?;
    }
}

//! A real nginx for the end-to-end tests: finding the binary, a small upstream application,
//! the process (one process, `master_process off`, killed on drop), the shipped samples
//! (`examples/nginx/*.conf`) with their addresses substituted, and the generated
//! `nginx.conf` that includes them.
//!
//! The generated configuration logs subrequests too (`log_subrequest on`), one line per
//! request or subrequest: `<connection> <method> <uri> <status> upstream=<addrs>`, where
//! `<addrs>` lists every upstream server tried (`a, b` when nginx retried `b` after `a`), so a
//! test can tell which gardien decided (`/_gardien` subrequest) and which one served the page
//! (the client's request, same connection number: the test client opens one connection per
//! request).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// First line of the sample's block of stripped client identity and signal headers.
pub const BEGIN: &str = "# BEGIN client-supplied identity and signal headers";
/// Last line of that block.
pub const END: &str = "# END client-supplied identity and signal headers";

/// The nginx binary: `/usr/sbin/nginx` (Debian) or the first `nginx` on `PATH`.
pub fn find_nginx() -> Option<PathBuf> {
    let fixed = Path::new("/usr/sbin/nginx");
    if fixed.is_file() {
        return Some(fixed.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
}

/// The text of a shipped sample, `examples/nginx/<name>`.
pub fn sample(name: &str) -> String {
    let path = super::repo_root().join("examples/nginx").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The upstream application: answers every request with `hello from upstream` and the
/// `Remote-User` it received, and remembers `(path, remote-user)` of each request.
pub struct Upstream {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl Upstream {
    /// Starts it on a free loopback port (a thread that lives as long as the test process).
    pub fn start() -> Upstream {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("no local address: {e}"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        // Lives until the test process ends (blocked in accept).
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                Upstream::answer(stream, &log);
            }
        });
        Upstream { addr, seen }
    }

    fn answer(mut stream: TcpStream, seen: &Mutex<Vec<(String, String)>>) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
        let head = String::from_utf8_lossy(&raw).into_owned();
        let mut lines = head.split("\r\n");
        let path = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .unwrap_or("")
            .to_owned();
        let user = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case("remote-user"))
            .map_or("<none>", |(_, v)| v.trim())
            .to_owned();
        let body = format!("hello from upstream\nremote-user: {user}\n");
        seen.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((path, user));
        let _ = stream.write_all(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    }

    /// `(path, remote-user)` of every request received so far, in order.
    pub fn seen(&self) -> Vec<(String, String)> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// A running nginx (one process, `master_process off`), killed when dropped.
pub struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    /// Writes `conf` to `<dir>/nginx.conf`, starts nginx with it and waits until it listens
    /// on every address of `ports`.
    pub fn start(bin: &Path, dir: &Path, conf: &str, ports: &[SocketAddr]) -> Nginx {
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap_or_else(|e| panic!("{}: {e}", conf_path.display()));
        let out = std::fs::File::create(dir.join("nginx.out"))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone a file handle: {e}"));
        // `-e` (nginx >= 1.19.5) keeps the startup error log out of /var/log/nginx.
        let help = Command::new(bin)
            .arg("-h")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} -h: {e}", bin.display()));
        let has_e = String::from_utf8_lossy(&help.stderr).contains("-e filename");
        let mut cmd = Command::new(bin);
        cmd.arg("-p").arg(dir).arg("-c").arg(&conf_path);
        if has_e {
            cmd.arg("-e").arg(dir.join("error.log"));
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut nginx = Nginx {
            child,
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + super::STARTUP;
        for addr in ports {
            while TcpStream::connect_timeout(addr, Duration::from_secs(1)).is_err() {
                if let Ok(Some(status)) = nginx.child.try_wait() {
                    panic!("nginx exited ({status}):\n{}", nginx.logs());
                }
                assert!(
                    Instant::now() < deadline,
                    "nginx does not listen on {addr}:\n{}",
                    nginx.logs()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        nginx
    }

    /// nginx's output, error log and access log so far.
    pub fn logs(&self) -> String {
        format!(
            "{}{}--- access.log\n{}",
            self.read("nginx.out"),
            self.read("error.log"),
            self.access_log()
        )
    }

    /// The access log so far (see the module documentation for its format).
    pub fn access_log(&self) -> String {
        self.read("access.log")
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sample's `server` block (`examples/nginx/gardien.conf`) for one test server: `listen`,
/// gardien's address (`host:port`, or an `upstream` name) and the application's address
/// replaced, and, `behind_sso`, without the block that strips the client's identity and
/// signal headers.
pub fn server_block(
    sample: &str,
    listen: SocketAddr,
    gardien: &str,
    app: SocketAddr,
    behind_sso: bool,
) -> String {
    for needle in ["listen 80;", "127.0.0.1:8080", "127.0.0.1:3000", BEGIN, END] {
        assert!(
            sample.contains(needle),
            "examples/nginx/gardien.conf no longer contains `{needle}`: update this test"
        );
    }
    let mut text = sample
        .replace("listen 80;", &format!("listen {listen};"))
        .replace("127.0.0.1:8080", gardien)
        .replace("127.0.0.1:3000", &app.to_string());
    if behind_sso {
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
        assert!(!kept.contains("proxy_set_header Remote-User          \"\""));
        text = kept;
    }
    text
}

/// The sample's `upstream gardien` block (`examples/nginx/replicas.conf`) with its
/// `127.0.0.1:8081`, `:8082`, ... replaced by `replicas`, one for one.
pub fn upstream_block(sample: &str, replicas: &[SocketAddr]) -> String {
    let shipped: Vec<String> = (1..=replicas.len())
        .map(|i| format!("server 127.0.0.1:808{i} "))
        .collect();
    let mut text = sample.to_owned();
    for (needle, addr) in shipped.iter().zip(replicas) {
        assert_eq!(
            text.matches(needle.as_str()).count(),
            1,
            "examples/nginx/replicas.conf no longer contains `{needle}` once: update this test"
        );
        text = text.replace(needle.as_str(), &format!("server {addr} "));
    }
    assert!(
        !text.contains("server 127.0.0.1:808"),
        "examples/nginx/replicas.conf has more servers than the test's {} replicas:\n{text}",
        replicas.len()
    );
    text
}

/// The test's `nginx.conf`: one worker, everything under `dir`, and each of `http` (server
/// blocks, upstream blocks) written to a file of `dir` included in the `http { }` block, in
/// order.
pub fn nginx_conf(dir: &Path, http: &[String]) -> String {
    let d = dir.display();
    let mut conf = format!(
        "# Generated by crates/gardien/tests/support/nginx.rs.
master_process off;
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{
    worker_connections 256;
}}
http {{
    log_format gardien_test '$connection $request_method $uri $status upstream=$upstream_addr';
    log_subrequest on;
    access_log {d}/access.log gardien_test;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
"
    );
    for (i, s) in http.iter().enumerate() {
        let name = format!("http{i}.conf");
        std::fs::write(dir.join(&name), s).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        conf.push_str(&format!("    include {d}/{name};\n"));
    }
    conf.push_str("}\n");
    conf
}

//! The application behind the proxies of the end-to-end tests, and the recorder that stands
//! for gardien when a test wants to see what a proxy sends to its authorization server: a
//! loopback HTTP/1.1 server that answers every request with 200, `hello from upstream` and
//! the `Remote-User` it received, and keeps the head of every request.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request an [`Upstream`] received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Request target, as sent.
    pub target: String,
    /// Header fields in order, names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// Every value of a header (name case-insensitive).
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_all(name).into_iter().next()
    }
}

/// The upstream application (or recorder).
pub struct Upstream {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    /// Starts it on a free loopback port (a thread that lives as long as the test process).
    pub fn start() -> Upstream {
        Upstream::answering(&[])
    }

    /// [`Upstream::start`], answering with `headers` too (the recorder standing for gardien
    /// answers an identity).
    pub fn answering(headers: &[(&str, &str)]) -> Upstream {
        let extra: String = headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}\r\n"))
            .collect();
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("no local address: {e}"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        // Lives until the test process ends (blocked in accept). One thread per connection:
        // a proxy may keep an idle connection open while it opens another.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                let extra = extra.clone();
                std::thread::spawn(move || Upstream::serve(stream, &log, &extra));
            }
        });
        Upstream { addr, seen }
    }

    /// Answers the requests of one connection (keep-alive), until it is closed.
    fn serve(mut stream: TcpStream, seen: &Mutex<Vec<Seen>>, extra: &str) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => raw.extend_from_slice(&buf[..n]),
                }
                continue;
            };
            let head = String::from_utf8_lossy(&raw[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let request_line = lines.next().unwrap_or("");
            let http10 = request_line.ends_with("HTTP/1.0");
            let mut parts = request_line.split(' ');
            let method = parts.next().unwrap_or("").to_owned();
            let target = parts.next().unwrap_or("").to_owned();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let request = Seen {
                method,
                target,
                headers,
            };
            // Skip the body (by length; the tests send no chunked bodies).
            let length: usize = request
                .header("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut rest = raw.split_off(end + 4);
            while rest.len() < length {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => rest.extend_from_slice(&buf[..n]),
                }
            }
            raw = rest.split_off(length);
            let user = request.header("remote-user").unwrap_or("<none>").to_owned();
            let close = http10
                || request
                    .header("connection")
                    .is_some_and(|c| c.eq_ignore_ascii_case("close"));
            seen.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(request);
            let body = format!("hello from upstream\nremote-user: {user}\n");
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{extra}{}\r\n{body}",
                body.len(),
                if close { "Connection: close\r\n" } else { "" }
            );
            if stream.write_all(answer.as_bytes()).is_err() || close {
                return;
            }
        }
    }

    /// `(path, remote-user)` of every request received so far, in order (`<none>` without
    /// `Remote-User`).
    pub fn seen(&self) -> Vec<(String, String)> {
        self.requests()
            .into_iter()
            .map(|r| {
                let user = r.header("remote-user").unwrap_or("<none>").to_owned();
                (r.target, user)
            })
            .collect()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

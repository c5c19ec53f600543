//! Reading a saved HTTP request head (what `gardien signin --headers FILE` takes): an
//! optional request line, then `Name: value` lines up to the first empty line. The body, if
//! any, is ignored. Header values may hold any bytes HTTP allows (not only UTF-8).
//!
//! Limits keep a hostile file harmless: [`MAX_HEAD_BYTES`] in all, [`MAX_HEADERS`] lines.
//! Errors name the file and the line.

use http::{HeaderMap, HeaderName, HeaderValue};

/// Largest request head read.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header lines read.
pub const MAX_HEADERS: usize = 256;

/// A request head that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct RequestError {
    /// The file.
    pub file: String,
    /// 1-based line (0: the whole file).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// A parsed request head.
#[derive(Debug, Clone, Default)]
pub struct RequestHead {
    /// Method of the request line, when there is one.
    pub method: Option<String>,
    /// Target (path or absolute URI) of the request line.
    pub target: Option<String>,
    /// Headers in order (repeated names kept).
    pub headers: HeaderMap,
}

/// Parses a request head.
pub fn parse_request_head(file: &str, bytes: &[u8]) -> Result<RequestHead, RequestError> {
    let error = |line: usize, reason: String| RequestError {
        file: file.to_owned(),
        line,
        reason,
    };
    let head_end = find_head_end(bytes);
    if head_end > MAX_HEAD_BYTES {
        return Err(error(
            0,
            format!("request head larger than {MAX_HEAD_BYTES} bytes"),
        ));
    }
    let mut head = RequestHead::default();
    let mut count = 0usize;
    for (i, raw) in bytes[..head_end].split(|b| *b == b'\n').enumerate() {
        let number = i + 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            return Err(error(
                number,
                "folded header line (obsolete line folding is not accepted)".into(),
            ));
        }
        let colon = line.iter().position(|b| *b == b':');
        if i == 0 && is_request_line(line, colon) {
            let text = String::from_utf8_lossy(line);
            let mut parts = text.split(' ');
            head.method = parts.next().map(str::to_owned);
            head.target = parts.next().map(str::to_owned);
            continue;
        }
        let Some(colon) = colon else {
            return Err(error(number, "expected `Name: value`".into()));
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let name = HeaderName::from_bytes(name).map_err(|_| {
            error(
                number,
                format!(
                    "`{}` is not a valid header name",
                    String::from_utf8_lossy(name)
                ),
            )
        })?;
        let value = trim_ows(value);
        let value = HeaderValue::from_bytes(value)
            .map_err(|_| error(number, "header value holds control characters".into()))?;
        count += 1;
        if count > MAX_HEADERS {
            return Err(error(number, format!("more than {MAX_HEADERS} headers")));
        }
        head.headers.append(name, value);
    }
    Ok(head)
}

/// Where the head ends: the first empty line, or the end of the input.
fn find_head_end(bytes: &[u8]) -> usize {
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            let line = &bytes[start..i];
            if line.is_empty() || line == b"\r" {
                return i;
            }
            start = i + 1;
        }
    }
    bytes.len()
}

/// `GET /path HTTP/1.1` (also HTTP/2-style `GET /path` without a version).
fn is_request_line(line: &[u8], colon: Option<usize>) -> bool {
    let Some(space) = line.iter().position(|b| *b == b' ') else {
        return false;
    };
    let method = &line[..space];
    !method.is_empty()
        && method.iter().all(|b| b.is_ascii_uppercase())
        && colon.is_none_or(|c| c > space)
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_a_request_head() {
        let text = b"GET /payroll HTTP/1.1\r\nHost: app.example\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64)\r\nX-Forwarded-For: 198.51.100.7\r\nX-Forwarded-For: 10.0.0.5\r\n\r\nbody: ignored\r\n";
        let head = parse_request_head("req.txt", text);
        assert!(head.is_ok(), "{head:?}");
        let Ok(head) = head else { return };
        assert_eq!(head.method.as_deref(), Some("GET"));
        assert_eq!(head.target.as_deref(), Some("/payroll"));
        assert_eq!(head.headers.get_all("x-forwarded-for").iter().count(), 2);
        assert!(head.headers.get("body").is_none());
        assert_eq!(
            head.headers.get("user-agent").map(|v| v.as_bytes()),
            Some(&b"Mozilla/5.0 (Windows NT 10.0; Win64; x64)"[..])
        );
    }

    #[test]
    fn headers_only_and_bare_newlines() {
        let head = parse_request_head("h.txt", b"user-agent:curl/8.0\nx-real-ip:  1.2.3.4 \n");
        assert!(head.is_ok_and(|h| h.method.is_none()
            && h.headers.get("x-real-ip").map(|v| v.as_bytes()) == Some(b"1.2.3.4")));
    }

    #[test]
    fn non_utf8_values_are_kept() {
        let head = parse_request_head("h.txt", b"User-Agent: caf\xe9\n");
        assert!(head.is_ok_and(|h| h.headers.get("user-agent").is_some()));
    }

    #[test]
    fn errors_name_file_and_line() {
        for (text, line) in [
            (&b"Host: a\nno colon here\n"[..], 2),
            (b"Host: a\n folded\n", 2),
            (b"Bad Name: x\n", 1),
            (b"Host: a\x01b\n", 1),
        ] {
            let e = parse_request_head("req.txt", text).err();
            assert_eq!(e.as_ref().map(|e| e.line), Some(line), "{e:?}");
            assert!(e.is_some_and(|e| e.to_string().starts_with(&format!("req.txt:{line}: "))));
        }
        let huge = vec![b'a'; MAX_HEAD_BYTES + 10];
        assert!(parse_request_head("big.txt", &huge).is_err());
        let many: String = (0..=MAX_HEADERS).map(|i| format!("x-h{i}: v\n")).collect();
        assert!(parse_request_head("many.txt", many.as_bytes()).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_request_head("fuzz", &bytes);
        }
    }
}

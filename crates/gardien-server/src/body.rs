//! Request bodies. A body is read only after the caller is authenticated (the handler reads
//! it, never an extractor that runs first), streamed against the route's limit (`[http]`
//! `admin_body_bytes`, `decision_body_bytes`: the first chunk past the limit ends the read
//! with 413), and its JSON values are counted before parsing, so that a small body cannot
//! become a large tree in memory (`[http] max_json_values`).

use crate::problem::ApiError;
use axum::body::Body;
use futures_util::StreamExt as _;
use http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value};

/// Authenticated admin write bodies read and parsed at a time (the others wait their turn,
/// their bytes still in the socket): a parsed body is a tree several times its size, and
/// admin writes are rare, so eight writers at once cost the memory of two.
pub const ADMIN_BODIES_AT_ONCE: usize = 2;

/// 413 as a problem document naming the limit.
pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Payload too large",
        format!("the request body is larger than this endpoint accepts ({limit} bytes)"),
    )
}

/// Reads a body of at most `limit` bytes. A declared `Content-Length` above the limit is
/// refused before any byte is read; otherwise the body is read chunk by chunk and the read
/// stops at the first chunk that would pass the limit. A chunk that takes longer than
/// `patience` to arrive ends the read with 408.
pub async fn read(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    patience: std::time::Duration,
) -> Result<Vec<u8>, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    let capacity = declared.map_or(0, |n| usize::try_from(n).unwrap_or(limit).min(limit));
    let mut out = Vec::with_capacity(capacity);
    let mut stream = body.into_data_stream();
    loop {
        let Ok(next) = tokio::time::timeout(patience, stream.next()).await else {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "Request timeout",
                "the request body did not arrive in time",
            ));
        };
        let Some(chunk) = next else {
            break;
        };
        let chunk = chunk.map_err(|e| {
            tracing::debug!(error = %e, "request body read failed");
            ApiError::bad_request("the request body could not be read")
        })?;
        if out.len().saturating_add(chunk.len()) > limit {
            return Err(too_large(limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Admin writes carry JSON: `Content-Type: application/json` (parameters such as
/// `charset=utf-8` allowed). Anything else is 415: a browser sends `text/plain` forms
/// cross-site without asking, never `application/json`.
pub fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            "admin writes must be sent with `Content-Type: application/json`",
        ))
    }
}

/// An upper bound of the JSON values (and object keys) a text would parse into: every
/// value starts the text or follows `[`, `{`, `,` or `:` outside strings. Linear, no
/// allocation.
pub fn json_value_bound(bytes: &[u8]) -> usize {
    let mut count = 1usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'{' | b',' | b':' => count += 1,
                _ => {}
            }
        }
    }
    count
}

/// Parses a body that must be one JSON object, refusing it before parsing when it holds
/// more than `max_values` values.
pub fn parse_object(body: &[u8], max_values: usize) -> Result<Map<String, Value>, ApiError> {
    if json_value_bound(body) > max_values {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload too large",
            format!("request body: more than {max_values} JSON values"),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(ApiError::bad_request(
            "request body: expected a JSON object",
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "request body: invalid JSON: {e}"
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn value_bound_counts_values_outside_strings() {
        assert_eq!(json_value_bound(b"0"), 1);
        assert_eq!(json_value_bound(b"[0,0,0]"), 4);
        assert_eq!(json_value_bound(br#"{"a":1,"b":[2]}"#), 6);
        // Separators inside strings (and after escaped quotes) are not values.
        assert_eq!(json_value_bound(br#"["a,b:c[{", "\",["]"#), 3);
        let real: Value = serde_json::from_str(r#"{"a":[1,{"b":null}],"c":"x"}"#).unwrap();
        let text = serde_json::to_vec(&real).unwrap();
        assert!(json_value_bound(&text) >= 6);
    }

    #[test]
    fn objects_only_and_bounded() {
        assert!(parse_object(b"{}", 10).is_ok());
        assert_eq!(
            parse_object(b"[1]", 10).unwrap_err().status(),
            StatusCode::BAD_REQUEST
        );
        let many = format!("{{\"a\":[{}0]}}", "0,".repeat(100));
        assert_eq!(
            parse_object(many.as_bytes(), 50).unwrap_err().status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert!(parse_object(many.as_bytes(), 500).is_ok());
    }

    #[test]
    fn content_type_must_be_json() {
        let mut h = HeaderMap::new();
        assert!(require_json(&h).is_err());
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(require_json(&h).is_err());
        h.insert(
            header::CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().unwrap(),
        );
        assert!(require_json(&h).is_ok());
    }

    const SECOND: std::time::Duration = std::time::Duration::from_secs(1);

    #[tokio::test]
    async fn reads_stop_at_the_limit() {
        let h = HeaderMap::new();
        assert_eq!(
            read(&h, Body::from("abc"), 3, SECOND).await.unwrap(),
            b"abc"
        );
        let e = read(&h, Body::from("abcd"), 3, SECOND).await.unwrap_err();
        assert_eq!(e.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, "1000000".parse().unwrap());
        let e = read(&h, Body::from("a"), 3, SECOND).await.unwrap_err();
        assert_eq!(e.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}

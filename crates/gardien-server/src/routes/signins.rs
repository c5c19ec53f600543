//! Sign-in log queries: `GET /v1/signins` (Graph collection, newest first) and
//! `GET /v1/signins/export` (JSON lines, oldest first, streamed; what `gardien replay` reads).
//!
//! Filters: `user`, `app`, `status` (`success` = allowed, `failure` = denied, `interrupted`
//! = challenged) or `decision`, `errorCode`, `from` / `to` (RFC 3339 or Unix milliseconds;
//! `from` inclusive, `to` exclusive), `correlationId`, `limit`.

use crate::credentials::Role;
use crate::problem::ApiError;
use crate::routes::admin::guard;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use gardien_store::SignInFilter;
use http::{HeaderMap, HeaderValue, header};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::io::AsyncReadExt;

/// Query parameters.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInQuery {
    user: Option<String>,
    app: Option<String>,
    status: Option<String>,
    decision: Option<String>,
    error_code: Option<u32>,
    from: Option<String>,
    to: Option<String>,
    correlation_id: Option<String>,
    limit: Option<usize>,
}

/// Milliseconds since the epoch of an RFC 3339 timestamp (`2026-11-25T10:48:07Z`, with an
/// optional fraction and a `Z` or `±hh:mm` offset), or of a bare integer of milliseconds.
/// Strict: every field has its exact number of ASCII digits (no sign, no space), the day
/// exists in its month, the offset is at most 23:59.
pub fn parse_time(text: &str) -> Option<i64> {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if digits(text.strip_prefix('-').unwrap_or(text)) {
        return text.parse::<i64>().ok();
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = text.get(r)?;
        digits(t).then(|| t.parse().ok())?
    };
    let b = text.as_bytes();
    let at = |i: usize, c: u8| b.get(i).map(u8::to_ascii_uppercase) == Some(c);
    if !(at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':')) {
        return None;
    }
    let (y, mo, d, h, mi, s) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = match mo {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if !(1..=month_days).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = text.get(19..)?;
    let mut millis = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let count = frac.bytes().take_while(u8::is_ascii_digit).count();
        if count == 0 {
            return None;
        }
        let f = frac.get(..count)?;
        millis = format!("{f:0<3}").get(..3)?.parse().ok()?;
        rest = frac.get(count..)?;
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6
            && (o.starts_with('+') || o.starts_with('-'))
            && o.get(3..4) == Some(":") =>
        {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (oh, om) = (o.get(1..3)?, o.get(4..6)?);
            if !digits(oh) || !digits(om) {
                return None;
            }
            let (oh, om) = (oh.parse::<i64>().ok()?, om.parse::<i64>().ok()?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 60 + om)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + mi * 60 + s) - offset_min * 60) * 1000 + millis)
}

fn filter(q: SignInQuery) -> Result<SignInFilter, ApiError> {
    let decision = match (q.status.as_deref(), q.decision) {
        (Some("success"), None) => Some("allow".to_owned()),
        (Some("failure"), None) => Some("deny".to_owned()),
        (Some("interrupted"), None) => Some("challenge".to_owned()),
        (Some(other), None) => {
            return Err(ApiError::bad_request(format!(
                "status: `{other}` is not success, failure or interrupted"
            )));
        }
        (None, d) => d,
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("give status or decision, not both"));
        }
    };
    if let Some(d) = &decision
        && !["allow", "challenge", "deny"].contains(&d.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "decision: `{d}` is not allow, challenge or deny"
        )));
    }
    let time = |name: &str, v: Option<String>| -> Result<Option<i64>, ApiError> {
        v.map(|t| {
            parse_time(&t).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{name}: `{t}` is not an RFC 3339 time or Unix milliseconds"
                ))
            })
        })
        .transpose()
    };
    Ok(SignInFilter {
        user: q.user,
        app: q.app,
        decision,
        error_code: q.error_code,
        from_ms: time("from", q.from)?,
        to_ms: time("to", q.to)?,
        correlation_id: q.correlation_id,
        limit: q.limit,
    })
}

/// `GET /v1/signins`.
pub async fn query(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<SignInQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    guard(&state, &headers, Role::Reader)?;
    let Query(q) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let f = filter(q)?;
    let records = state
        .store
        .log()
        .query(&f)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(json!({ "value": records })))
}

/// `GET /v1/signins/export`: JSON lines, streamed with bounded memory.
pub async fn export(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<SignInQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    guard(&state, &headers, Role::Reader)?;
    let Query(q) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let f = filter(q)?;
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    let log = state.store.log().clone();
    tokio::spawn(async move {
        if let Err(e) = log.export_jsonl(&f, &mut writer).await {
            tracing::error!(error = %e, "sign-in export failed");
        }
    });
    let stream = futures_util::stream::unfold(reader, |mut r| async move {
        let mut buf = vec![0u8; 32 * 1024];
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), r))
            }
        }
    });
    let mut response = Body::from_stream(stream).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_like_the_log_writes_them() {
        for ms in [0, 1_795_603_687_123, 951_782_400_000] {
            assert_eq!(parse_time(&crate::clock::rfc3339(ms)), Some(ms));
        }
        assert_eq!(
            parse_time("2026-11-25T11:48:07+01:00"),
            Some(1_795_603_687_000)
        );
        assert_eq!(parse_time("1795603687123"), Some(1_795_603_687_123));
        assert_eq!(parse_time("2026-13-25T11:48:07Z"), None);
        assert_eq!(parse_time("yesterday"), None);
        // Strict: signs, spaces, short fields, impossible days and offsets are refused.
        for bad in [
            "+026-+1-+1T+0:+0:+0Z",
            "2026-+1-01T00:00:00Z",
            "2026-01-01T 0:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+1:000",
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00+01-00",
            "2026-01-01X00:00:00Z",
            "+5",
            " 5",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(parse_time("2024-02-29T00:00:00Z"), Some(1_709_164_800_000));
        assert_eq!(parse_time("-5"), Some(-5));
    }
}

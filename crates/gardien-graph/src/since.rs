//! `--since`: a duration back from now (`7d`, `12h`, `30m`) or a UTC instant
//! (`2026-12-01`, `2026-12-01T08:00:00Z`), as the RFC 3339 UTC instant Graph's `$filter` takes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    gardien_core::time::format_rfc3339(i64::try_from(secs).unwrap_or(i64::MAX))
}

fn is_instant(text: &str) -> bool {
    let b = text.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let date = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10);
    match b.len() {
        10 => date,
        20 => {
            date && b.get(10) == Some(&b'T')
                && digits(11..13)
                && b.get(13) == Some(&b':')
                && digits(14..16)
                && b.get(16) == Some(&b':')
                && digits(17..19)
                && b.get(19) == Some(&b'Z')
        }
        _ => false,
    }
}

/// The instant `text` means, `now` being the clock.
pub fn since(text: &str, now: SystemTime) -> Result<String, String> {
    let text = text.trim();
    if is_instant(text) {
        return Ok(if text.len() == 10 {
            format!("{text}T00:00:00Z")
        } else {
            text.to_owned()
        });
    }
    let unit = text.chars().last().unwrap_or(' ');
    let amount = text
        .get(..text.len().saturating_sub(1))
        .and_then(|n| n.parse::<u64>().ok());
    let seconds = match (amount, unit) {
        (Some(n), 'd') => n.checked_mul(86_400),
        (Some(n), 'h') => n.checked_mul(3_600),
        (Some(n), 'm') => n.checked_mul(60),
        _ => None,
    };
    let start = seconds.and_then(|s| now.checked_sub(Duration::from_secs(s)));
    match start {
        Some(t) => Ok(rfc3339(t)),
        None => Err(format!(
            "`{text}`: expected a duration such as `7d`, `12h`, `30m`, or a UTC instant such as `2026-12-01T08:00:00Z`"
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn durations_and_instants() {
        // 2026-12-07T00:17:00Z
        let now = UNIX_EPOCH + Duration::from_secs(1_796_602_620);
        assert_eq!(since("7d", now).unwrap(), "2026-11-30T00:17:00Z");
        assert_eq!(since("12h", now).unwrap(), "2026-12-06T12:17:00Z");
        assert_eq!(since("30m", now).unwrap(), "2026-12-06T23:47:00Z");
        assert_eq!(since("2026-12-01", now).unwrap(), "2026-12-01T00:00:00Z");
        assert_eq!(
            since("2024-02-29T08:00:00Z", now).unwrap(),
            "2024-02-29T08:00:00Z"
        );
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        for bad in [
            "",
            "7",
            "d",
            "7w",
            "-1d",
            "2026-12-01T08:00:00+01:00",
            "7d&x=1",
        ] {
            assert!(since(bad, now).is_err(), "{bad}");
        }
    }
}

//! Instants as Unix seconds (UTC), read from RFC 3339 timestamps or epoch seconds, and written
//! back as RFC 3339. The core never reads the clock: callers pass the instant in (`--now`, the
//! server's request time, a log record's `createdDateTime`).

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Exactly `len` ASCII digits, as a number.
fn digits(text: &str, len: usize) -> Option<i64> {
    if text.len() != len || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses an RFC 3339 timestamp (`2024-05-24T09:27:52.7009813Z`, `2024-05-24T11:27:52+02:00`)
/// or a bare date (`2024-05-24`, midnight UTC) into Unix seconds. Strict: four-digit year and
/// two-digit fields, no signs, a real calendar date, `Z` or a `±hh:mm` offset; fractions of a
/// second (1 to 9 digits) are accepted and dropped. `None` when the text is anything else.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    parse_rfc3339_ms(text).map(|ms| ms.div_euclid(1000))
}

/// [`parse_rfc3339`] in milliseconds since the epoch: the same forms, with the first three
/// digits of a fraction kept (`.7009813` → 700 ms; digits beyond are dropped, not rounded).
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let (date, rest) = match text.find(['T', 't']) {
        Some(i) => (text.get(..i)?, Some(text.get(i + 1..)?)),
        None => (text, None),
    };
    if date.len() != 10 || date.get(4..5)? != "-" || date.get(7..8)? != "-" {
        return None;
    }
    let (year, month, day) = (
        digits(date.get(..4)?, 4)?,
        digits(date.get(5..7)?, 2)?,
        digits(date.get(8..)?, 2)?,
    );
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut seconds = days_from_civil(year, month, day) * 86_400;
    let Some(rest) = rest else {
        return Some(seconds * 1000);
    };
    let (clock, offset) = if let Some(r) = rest.strip_suffix(['Z', 'z']) {
        (r, 0)
    } else {
        let i = rest.rfind(['+', '-'])?;
        let (clock, zone) = (rest.get(..i)?, rest.get(i..)?);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let zone = zone.get(1..)?;
        if zone.len() != 5 || zone.get(2..3)? != ":" {
            return None;
        }
        let (h, m) = (digits(zone.get(..2)?, 2)?, digits(zone.get(3..)?, 2)?);
        if h > 23 || m > 59 {
            return None;
        }
        (clock, sign * (h * 3600 + m * 60))
    };
    let (clock, fraction) = match clock.split_once('.') {
        Some((c, f)) => (c, Some(f)),
        None => (clock, None),
    };
    if let Some(f) = fraction
        && (f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    if clock.len() != 8 || clock.get(2..3)? != ":" || clock.get(5..6)? != ":" {
        return None;
    }
    let (h, m, s) = (
        digits(clock.get(..2)?, 2)?,
        digits(clock.get(3..5)?, 2)?,
        digits(clock.get(6..)?, 2)?,
    );
    // 60 is a leap second (RFC 3339 §5.6).
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    seconds += h * 3600 + m * 60 + s - offset;
    let millis = fraction.map_or(0, |f| {
        f.bytes()
            .chain(std::iter::repeat(b'0'))
            .take(3)
            .fold(0, |n, b| n * 10 + i64::from(b - b'0'))
    });
    Some(seconds * 1000 + millis)
}

/// Parses an instant as a query parameter gives it (`GET /v1/signins?from=`): an RFC 3339
/// timestamp or date ([`parse_rfc3339_ms`]), or whole Unix milliseconds (`1795603687123`,
/// `-5`), into milliseconds since the epoch. `None` when it is none of these.
pub fn parse_instant_ms(text: &str) -> Option<i64> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    parse_rfc3339_ms(text)
}

/// Parses an instant as the command line takes it (`--now`): an RFC 3339 timestamp, a bare
/// date, or Unix epoch seconds (`1782864000`). `None` when it is none of these.
pub fn parse_instant(text: &str) -> Option<i64> {
    let text = text.trim();
    if !text.is_empty() && text.len() <= 12 && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    parse_rfc3339(text)
}

/// The error message for an instant [`parse_instant`] refused, naming the accepted forms.
pub fn instant_help(text: &str) -> String {
    format!(
        "`{}` is not a time: give an RFC 3339 timestamp (`2026-07-01T00:00:00Z`), a date \
         (`2026-07-01`) or Unix epoch seconds (`1782864000`)",
        text.escape_debug()
    )
}

/// `2026-11-25T10:48:07Z` for Unix seconds.
pub fn format_rfc3339(seconds: i64) -> String {
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let rem = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `2026-11-25T10:48:07.123Z` for milliseconds since the epoch.
pub fn format_rfc3339_ms(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    if !(0..=9999).contains(&year) {
        let text = format_rfc3339(seconds);
        let base = text.strip_suffix('Z').unwrap_or(&text);
        return format!("{base}.{:03}Z", ms.rem_euclid(1000));
    }
    // Every decision's record carries one: digits written directly, not through `format!`.
    let rem = seconds.rem_euclid(86_400);
    let mut out = String::with_capacity(24);
    let mut digits = |value: i64, width: u32, after: char| {
        for place in (0..width).rev() {
            let digit = value / 10_i64.pow(place) % 10;
            out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
        }
        out.push(after);
    };
    digits(year, 4, '-');
    digits(month, 2, '-');
    digits(day, 2, 'T');
    digits(rem / 3600, 2, ':');
    digits(rem % 3600 / 60, 2, ':');
    digits(rem % 60, 2, '.');
    digits(ms.rem_euclid(1000), 3, 'Z');
    out
}

/// `2026-06-30` for Unix seconds (the date part, UTC).
pub fn format_date(seconds: i64) -> String {
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-05-24"), Some(1_716_508_800));
        assert_eq!(
            parse_rfc3339("2024-05-24T09:27:52.7009813Z"),
            Some(1_716_508_800 + 9 * 3600 + 27 * 60 + 52)
        );
        assert_eq!(
            parse_rfc3339("2024-05-24T11:27:52+02:00"),
            parse_rfc3339("2024-05-24T09:27:52Z")
        );
        assert_eq!(
            parse_rfc3339("2024-05-24T07:27:52-02:00"),
            parse_rfc3339("2024-05-24T09:27:52Z")
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for bad in [
            "",
            "yesterday",
            "/Date(1716540472700)/",
            "2023-02-29",
            "2024-13-01",
            "2024-05-24T25:00:00Z",
            "2024-5-24",
            "+026-+1-+1T+0:+0:+0Z",
            "2024-05-24T9:27:52Z",
            "2024-05-24T09:27:52",
            "2024-05-24T09:27:52.Z",
            "2024-05-24T09:27:52+2:00",
            "2024-05-24T09:27:52+0200",
            "12024-05-24T09:27:52Z",
            " 2024-05-24T09:27:52Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    /// Every form the sign-in log query (`from`, `to`) accepts, and what it refuses.
    #[test]
    fn instants_in_milliseconds() {
        let base = 1_795_603_687_000; // 2026-11-25T10:48:07Z
        for (text, ms) in [
            ("2026-11-25T10:48:07Z", base),
            ("2026-11-25t10:48:07z", base),
            ("2026-11-25T10:48:07.123Z", base + 123),
            ("2026-11-25T10:48:07.1Z", base + 100),
            ("2026-11-25T10:48:07.12Z", base + 120),
            ("2026-11-25T10:48:07.123456789Z", base + 123),
            ("2026-11-25T11:48:07+01:00", base),
            ("2026-11-25T09:18:07-01:30", base),
            ("2026-11-25T11:48:07.5+01:00", base + 500),
            ("2026-11-25", 1_795_564_800_000),
            ("2024-02-29T00:00:00Z", 1_709_164_800_000),
            ("1969-12-31T23:59:59.999Z", -1),
            ("1795603687123", 1_795_603_687_123),
            ("0", 0),
            ("-5", -5),
        ] {
            assert_eq!(parse_instant_ms(text), Some(ms), "{text}");
        }
        for ms in [0, 1_795_603_687_123, 951_782_400_000, -1] {
            assert_eq!(parse_instant_ms(&format_rfc3339_ms(ms)), Some(ms), "{ms}");
        }
        for bad in [
            "",
            "-",
            "+5",
            " 5",
            "yesterday",
            "+026-+1-+1T+0:+0:+0Z",
            "2026-+1-01T00:00:00Z",
            "2026-01-01T 0:00:00Z",
            "2026-13-25T11:48:07Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00.1234567890Z",
            "2026-01-01T00:00:00+1:000",
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00+01-00",
            "2026-01-01X00:00:00Z",
        ] {
            assert_eq!(parse_instant_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn instants_from_the_command_line() {
        assert_eq!(parse_instant("1782864000"), Some(1_782_864_000));
        assert_eq!(parse_instant("2026-07-01"), Some(1_782_864_000));
        assert_eq!(parse_instant("2026-07-01T00:00:00Z"), Some(1_782_864_000));
        assert_eq!(parse_instant("-5"), None);
        assert_eq!(parse_instant("17828640001234"), None);
        assert!(instant_help("x").contains("RFC 3339"));
    }

    #[test]
    fn formatting_round_trips() {
        for s in [0, 951_782_400, 1_782_864_000, 1_782_863_999, -86_401] {
            assert_eq!(parse_rfc3339(&format_rfc3339(s)), Some(s));
        }
        assert_eq!(format_rfc3339(1_782_863_999), "2026-06-30T23:59:59Z");
        assert_eq!(
            format_rfc3339_ms(1_782_864_000_123),
            "2026-07-01T00:00:00.123Z"
        );
        assert_eq!(format_date(1_782_863_999), "2026-06-30");
    }

    #[test]
    fn milliseconds_are_written_as_the_seconds_are() {
        let mut ms: i64 = -62_167_219_200_000 - 1; // just before year 0
        let step = 7_919_999_999_i64; // crosses days, months, leap years and every field
        while ms < 253_402_300_800_000 + 2 * step {
            let text = format_rfc3339(ms.div_euclid(1000));
            let base = text.strip_suffix('Z').unwrap_or(&text);
            let expected = format!("{base}.{:03}Z", ms.rem_euclid(1000));
            assert_eq!(format_rfc3339_ms(ms), expected, "{ms}");
            ms += step;
        }
        assert_eq!(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
    }
}

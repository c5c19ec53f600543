//! RFC 3339 timestamps (Graph `createdDateTime`, `--now`) as Unix seconds, without a clock.

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

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn number(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A field of exactly two digits (RFC 3339 `time-hour`, `time-minute`, ...).
fn two_digits(text: &str) -> Option<i64> {
    (text.len() == 2).then(|| number(text))?
}

/// Parses an RFC 3339 timestamp (`2024-05-24T09:27:52.7009813Z`, `2024-05-24T11:27:52+02:00`)
/// or a bare date (`2024-05-24`, midnight UTC) into Unix seconds. Fractions of a second are
/// ignored. `None` when the text is not such a timestamp.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = match text.find(['T', 't', ' ']) {
        Some(i) => (text.get(..i)?, Some(text.get(i + 1..)?)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (year, month, day) = (
        number(parts.next()?)?,
        number(parts.next()?)?,
        number(parts.next()?)?,
    );
    if parts.next().is_some()
        || date.len() != 10
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
    {
        return None;
    }
    let mut seconds = days_from_civil(year, month, day) * 86_400;
    let Some(rest) = rest else {
        return Some(seconds);
    };
    let (clock, offset) = if let Some(r) = rest.strip_suffix(['Z', 'z']) {
        (r, 0)
    } else {
        let i = rest.rfind(['+', '-'])?;
        let (clock, zone) = (rest.get(..i)?, rest.get(i..)?);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (h, m) = zone.get(1..)?.split_once(':')?;
        let (h, m) = (two_digits(h)?, two_digits(m)?);
        if h > 23 || m > 59 {
            return None;
        }
        (clock, sign * (h * 3600 + m * 60))
    };
    let (clock, fraction) = match clock.split_once('.') {
        Some((c, f)) => (c, Some(f)),
        None => (clock, None),
    };
    if fraction.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let mut fields = clock.split(':');
    let (h, m, s) = (
        two_digits(fields.next()?)?,
        two_digits(fields.next()?)?,
        two_digits(fields.next()?)?,
    );
    if fields.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    seconds += h * 3600 + m * 60 + s - offset;
    Some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_timestamps() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("2024-05-24"), Some(1_716_508_800));
        assert_eq!(
            parse_timestamp("2024-05-24T09:27:52.7009813Z"),
            Some(1_716_508_800 + 9 * 3600 + 27 * 60 + 52)
        );
        assert_eq!(
            parse_timestamp("2024-05-24T11:27:52+02:00"),
            parse_timestamp("2024-05-24T09:27:52Z")
        );
        assert_eq!(parse_timestamp("2000-02-29T00:00:00Z"), Some(951_782_400));
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
            "2024-05-24T09:27:52.Z",
            "2024-05-24T09:27:52.x1Z",
            "2024-05-24T09:27:52+2:00",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}

//! The headers a decision reads, found in one pass over the request's headers.
//!
//! Each `HeaderMap::get_all` hashes its name (byte by byte for a custom name) and probes the
//! map; a forward-auth decision reads about fifteen names (the original request's, the
//! identity's, the signals'). [`scan`] walks the request's headers once instead, comparing
//! each name only with the wanted names of the same length, and gives for every wanted
//! name what `get_all` would: its first value and how many values it has. Readers keep
//! their rules ([`crate::signals::header_text`] is [`Found::text`]; a repeated forwarding
//! header is read whole through `get_all`, in order).

use http::header::AsHeaderName;
use http::{HeaderMap, HeaderName, HeaderValue};

/// The values of one wanted header in a request: its first value (what
/// `HeaderMap::get` gives) and how many values it has (what `get_all` would iterate).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Found<'a> {
    first: Option<&'a HeaderValue>,
    count: usize,
}

impl<'a> Found<'a> {
    /// The values of `name` in `headers`, looked up (`get_all`).
    pub fn lookup(headers: &'a HeaderMap, name: impl AsHeaderName) -> Found<'a> {
        let values = headers.get_all(name);
        let mut iter = values.iter();
        Found {
            first: iter.next(),
            count: values.iter().count(),
        }
    }

    /// The first value (`HeaderMap::get`), repeated or not.
    pub fn first(&self) -> Option<&'a HeaderValue> {
        self.first
    }

    /// How many values the header has (0: absent).
    pub fn count(&self) -> usize {
        self.count
    }

    /// The value of a header sent exactly once, as trimmed non-empty text; a repeated,
    /// non-UTF-8 or empty header reads as absent: ambiguous input is never half-read. The
    /// one place of this rule ([`crate::signals::header_text`] looks up, then reads here).
    pub fn text(&self) -> Option<&'a str> {
        if self.count != 1 {
            return None; // absent, or repeated: ambiguous, ignore
        }
        self.first?
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// Names are chained by length, in [`LENGTH_BUCKETS`] buckets; longer names share the last
/// bucket (and are still compared whole).
const LENGTH_BUCKETS: usize = 64;

/// The end of a chain of names.
const NONE: u8 = u8::MAX;

/// The values of each of `names` in `headers`, found in one pass over the headers: entry
/// `i` is what [`Found::lookup`] gives for `names[i]` (an absent name: nothing found).
/// A name wanted twice is found for both entries. Each header's name is compared only with
/// the wanted names of its length.
pub fn scan<'a, const N: usize>(
    headers: &'a HeaderMap,
    names: [Option<&HeaderName>; N],
) -> [Found<'a>; N] {
    const { assert!(N < NONE as usize, "a chain index is a u8") };
    let mut found = [Found::default(); N];
    // `first[bucket]`: the first wanted name of that length; `next[i]`: the next after `i`.
    let mut first = [NONE; LENGTH_BUCKETS];
    let mut next = [NONE; N];
    for (i, name) in names.iter().enumerate().rev() {
        if let (Some(name), Ok(index)) = (name, u8::try_from(i)) {
            let bucket = name.as_str().len().min(LENGTH_BUCKETS - 1);
            next[i] = first[bucket];
            first[bucket] = index;
        }
    }
    // Every value of every header, in order (a repeated header's values follow its first).
    for (name, value) in headers {
        let text = name.as_str();
        let mut at = first[text.len().min(LENGTH_BUCKETS - 1)];
        while at != NONE {
            let i = usize::from(at);
            if names[i].is_some_and(|want| want.as_str() == text) {
                let slot = &mut found[i];
                if slot.first.is_none() {
                    slot.first = Some(value);
                }
                slot.count += 1;
            }
            at = next[i];
        }
    }
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// Checks that `scan` gives what one `get_all` per name gives.
    fn agrees(headers: &HeaderMap, names: &[HeaderName]) {
        let wanted: [Option<&HeaderName>; 8] = std::array::from_fn(|i| names.get(i));
        let found = scan(headers, wanted);
        for (i, f) in found.iter().enumerate() {
            let expected = names
                .get(i)
                .map(|n| Found::lookup(headers, n))
                .unwrap_or_default();
            assert_eq!(*f, expected, "{:?}", names.get(i));
            if let Some(n) = names.get(i) {
                assert_eq!(f.text(), crate::signals::header_text(headers, n));
                assert_eq!(f.first(), headers.get(n));
            }
        }
    }

    fn request(lines: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in lines {
            h.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        h
    }

    fn names(list: &[&str]) -> Vec<HeaderName> {
        list.iter()
            .map(|n| HeaderName::from_bytes(n.as_bytes()).unwrap())
            .collect()
    }

    #[test]
    fn scanned_values_are_the_looked_up_values() {
        let wanted = names(&[
            "x-forwarded-for",
            "remote-user",
            "user-agent",
            "host",
            "x-original-uri",
            "x-forwarded-uri",
            "x-client-cert-sha256",
            "cf-ipcountry",
        ]);
        // Once each, repeated (one after the other and apart), absent, empty, spaces only,
        // non-UTF-8 bytes, names of equal lengths, mixed case as sent.
        let cases: Vec<Vec<(&str, &[u8])>> = vec![
            vec![],
            vec![("x-forwarded-for", b"198.51.100.20"), ("host", b"gardien")],
            vec![
                ("X-Forwarded-For", b"203.0.113.9"),
                ("remote-user", b"alice"),
                ("X-FORWARDED-FOR", b"198.51.100.20, 10.0.0.1"),
            ],
            vec![
                ("remote-user", b"alice"),
                ("remote-user", b"mallory"),
                ("user-agent", b"ua/1"),
            ],
            vec![
                ("remote-user", b"alice"),
                ("accept", b"*/*"),
                ("Remote-User", b"alice"),
            ],
            vec![("remote-user", b""), ("user-agent", b"   ")],
            vec![
                ("remote-user", b"  bob \t"),
                ("user-agent", b"\xc3\xa9t\xe9"),
            ],
            vec![("remote-user", b"\xff\xfe"), ("cf-ipcountry", b"\x80")],
            vec![
                ("x-forwarded-uri", b"/a"),
                ("x-original-uri", b"/b"),
                ("x-forwarded-for", b"1.2.3.4"),
                ("x-forwarded-xyz", b"same length, not wanted"),
                ("x-original-host", b"equal length to x-forwarded-for"),
            ],
            vec![
                ("x-client-cert-sha256", b"0A:0B"),
                ("x-client-cert-sha255", b"not it"),
                ("host", b"a"),
                ("host", b"b"),
                ("host", b"c"),
            ],
        ];
        for case in &cases {
            agrees(&request(case), &wanted);
        }
        // Fewer names than slots; a name wanted twice.
        let h = request(&cases[2]);
        agrees(&h, &names(&["x-forwarded-for"]));
        agrees(
            &h,
            &names(&["remote-user", "remote-user", "x-forwarded-for"]),
        );
        agrees(&h, &[]);
    }

    #[test]
    fn long_names_share_the_last_bucket_and_are_compared_whole() {
        let long_a = format!("x-{}", "a".repeat(80));
        let long_b = format!("x-{}", "b".repeat(70));
        let h = request(&[
            (long_a.as_str(), b"a"),
            (long_b.as_str(), b"b"),
            (long_b.as_str(), b"b2"),
        ]);
        agrees(&h, &names(&[&long_b, &long_a, "host"]));
        let found = scan(
            &h,
            [HeaderName::from_bytes(long_b.as_bytes()).ok().as_ref()],
        );
        assert_eq!(found[0].count(), 2);
        assert_eq!(found[0].first().map(HeaderValue::as_bytes), Some(&b"b"[..]));
        assert_eq!(found[0].text(), None, "repeated");
    }

    #[test]
    fn texts_follow_header_text() {
        let h = request(&[
            ("a", b" x "),
            ("b", b"\xff"),
            ("c", b"  "),
            ("d", b"1"),
            ("d", b"2"),
        ]);
        let [a, b, c, d, e] = scan(
            &h,
            [
                Some(&HeaderName::from_static("a")),
                Some(&HeaderName::from_static("b")),
                Some(&HeaderName::from_static("c")),
                Some(&HeaderName::from_static("d")),
                Some(&HeaderName::from_static("e")),
            ],
        );
        assert_eq!(a.text(), Some("x"));
        assert_eq!(b.text(), None, "not UTF-8");
        assert_eq!(b.count(), 1);
        assert_eq!(c.text(), None, "empty once trimmed");
        assert_eq!(d.text(), None, "repeated");
        assert_eq!(d.first().map(HeaderValue::as_bytes), Some(&b"1"[..]));
        assert_eq!(e, Found::default());
        assert_eq!(scan(&h, [None, None]), [Found::default(); 2]);
    }
}

//! Bounded, printable text from untrusted input: what the sign-in log stores and what logs
//! and messages quote. A longer value is cut at a character boundary and marked
//! ([`TRUNCATED`]); control characters (terminal escape sequences among them) are shown
//! escaped (`\u{1b}`) wherever text is quoted for a human.

use std::borrow::Cow;

/// Appended to a value that was cut: `…[truncated]`.
pub const TRUNCATED: &str = "…[truncated]";

/// Longest string field of a sign-in record (user agent, user and application names, ids),
/// in bytes, marker included.
pub const MAX_LOGGED_FIELD: usize = 1024;

/// Longest identity header value (`Remote-User`, `Remote-Name`, `Remote-Email`, each
/// group) that is read at all, in bytes: a longer one counts as absent, so it is neither
/// logged nor echoed back in the answer's headers.
pub const MAX_IDENTITY_VALUE: usize = 512;

/// `text` cut to at most `max` bytes (marker included) at a character boundary.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let keep = max.saturating_sub(TRUNCATED.len());
    let mut end = keep.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}{TRUNCATED}", text.get(..end).unwrap_or("")))
}

/// `text` for a message or log line: control characters escaped (`\u{1b}`), cut to about
/// `max` bytes.
pub fn escape(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for c in text.chars() {
        if out.len() >= max {
            out.push_str(TRUNCATED);
            break;
        }
        if c.is_control() || is_bidi_control(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` for a terminal: control characters other than newline and tab (terminal escape
/// sequences, carriage returns, bidirectional overrides) escaped as `\u{1b}`; no length
/// limit. Borrowed when there is nothing to escape.
pub fn printable(text: &str) -> Cow<'_, str> {
    let bad = |c: char| (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c);
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if bad(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Unicode bidirectional controls: they reorder what a terminal shows.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_is_marked_and_bounded() {
        assert_eq!(truncate("short", 10), "short");
        let long = "é".repeat(100);
        let t = truncate(&long, 50);
        assert!(t.len() <= 50, "{}", t.len());
        assert!(t.ends_with(TRUNCATED));
        assert!(t.starts_with("éé"));
    }

    #[test]
    fn printable_keeps_lines_and_escapes_the_rest() {
        assert_eq!(printable("a\nb\tc"), "a\nb\tc");
        assert_eq!(printable("a\u{1b}]0;x\u{7}\r"), "a\\u{1b}]0;x\\u{7}\\u{d}");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("a\u{1b}[31mb\n", 100), "a\\u{1b}[31mb\\u{a}");
        assert_eq!(escape("x\u{202e}y", 100), "x\\u{202e}y");
        let e = escape(&"a".repeat(100), 10);
        assert!(e.starts_with("aaaaaaaaaa") && e.ends_with(TRUNCATED), "{e}");
    }
}

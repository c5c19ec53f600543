//! The canonical form of a request path, so that every spelling of one resource routes to
//! the same application (forward-auth's `X-Original-URI`/`X-Forwarded-Uri`, Envoy
//! `ext_authz`). Backends decode and normalise paths before they serve them; a router that
//! compares raw text would send `//payroll`, `/x/../payroll` or `/%70ayroll` to whatever
//! covers `/` while the backend serves Payroll.
//!
//! [`canonical_path`], in this order:
//!
//! 1. the query and fragment are dropped (`?`, `#`);
//! 2. the path must be absolute (start with `/`), printable ASCII, with no `\`;
//! 3. each `/`-separated segment loses its `;` parameters (`/payroll;jsessionid=1` →
//!    `/payroll`, `/..;/` → `/../`);
//! 4. percent-encoded unreserved characters (`A-Z a-z 0-9 - . _ ~`) are decoded, the other
//!    escapes keep their byte with upper-case hex (`%2f` is refused, see below);
//! 5. empty segments are dropped (`//payroll` → `/payroll`) and dot segments removed as in
//!    RFC 3986 §5.2.4 (`/x/../payroll` → `/payroll`; `..` at the root stays at the root);
//!    a trailing `/` is kept.
//!
//! Ambiguous input is refused ([`PathError`]), never routed: an encoded `/` or `\`
//! (`%2F`, `%5C`: one backend splits on it, another does not), NUL (raw or `%00`), a `%`
//! not followed by two hex digits, a control or non-ASCII byte, a path that is not
//! absolute. Application prefixes are compared with [`prefix_matches`] on canonical paths,
//! case-insensitively unless the route asks otherwise.

/// Why a path has no canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path does not start with `/`.
    #[error("the path is not absolute")]
    NotAbsolute,
    /// `%2F` or `%5C`: an encoded separator.
    #[error("the path holds an encoded `/` or `\\`")]
    EncodedSeparator,
    /// A raw `\`.
    #[error("the path holds a `\\`")]
    Backslash,
    /// NUL, raw or encoded.
    #[error("the path holds a NUL byte")]
    Nul,
    /// `%` not followed by two hex digits.
    #[error("the path holds an invalid percent-encoding")]
    InvalidPercent,
    /// A control character, a space or a non-ASCII byte.
    #[error("the path holds a control, space or non-ASCII character")]
    InvalidCharacter,
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// One segment, without its `;` parameters, unreserved escapes decoded.
fn segment(raw: &[u8], out: &mut String) -> Result<(), PathError> {
    let raw = match raw.iter().position(|b| *b == b';') {
        Some(i) => raw.get(..i).unwrap_or_default(),
        None => raw,
    };
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'%' {
            let (Some(h), Some(l)) = (
                raw.get(i + 1).copied().and_then(hex),
                raw.get(i + 2).copied().and_then(hex),
            ) else {
                return Err(PathError::InvalidPercent);
            };
            let byte = h * 16 + l;
            match byte {
                0 => return Err(PathError::Nul),
                b'/' | b'\\' => return Err(PathError::EncodedSeparator),
                _ if unreserved(byte) => out.push(char::from(byte)),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789ABCDEF";
                    out.push('%');
                    out.push(char::from(HEX[usize::from(byte >> 4)]));
                    out.push(char::from(HEX[usize::from(byte & 15)]));
                }
            }
            i += 3;
        } else {
            out.push(char::from(b));
            i += 1;
        }
    }
    Ok(())
}

/// Whether a path (without query) is already canonical: the common case, answered without
/// allocating.
///
/// One pass over the bytes: after each `/`, no `/`, `./`, `../` (the substrings `//`,
/// `/./`, `/../`) and no final `.` or `..` (`/.`, `/..` at the end).
fn already_canonical(path: &str) -> bool {
    let b = path.as_bytes();
    if b.first() != Some(&b'/') {
        return false;
    }
    for (i, c) in b.iter().enumerate() {
        if !c.is_ascii_graphic() || matches!(c, b'%' | b';' | b'\\') {
            return false;
        }
        if *c == b'/'
            && matches!(
                b.get(i + 1..).unwrap_or_default(),
                [b'/', ..] | [b'.', b'/', ..] | [b'.', b'.', b'/', ..] | [b'.'] | [b'.', b'.']
            )
        {
            return false;
        }
    }
    true
}

/// The canonical form of a request path (query and fragment dropped); see the module
/// documentation.
pub fn canonical_path(raw: &str) -> Result<std::borrow::Cow<'_, str>, PathError> {
    let path = raw.split(['?', '#']).next().unwrap_or("");
    if already_canonical(path) {
        return Ok(std::borrow::Cow::Borrowed(path));
    }
    let bytes = path.as_bytes();
    if let Some(&b) = bytes.iter().find(|b| !b.is_ascii_graphic()) {
        return Err(if b == 0 {
            PathError::Nul
        } else {
            PathError::InvalidCharacter
        });
    }
    if bytes.contains(&b'\\') {
        return Err(PathError::Backslash);
    }
    if bytes.first() != Some(&b'/') {
        return Err(PathError::NotAbsolute);
    }
    // Segment boundaries in the output: each kept segment is `/` + text.
    let mut out = String::with_capacity(path.len());
    let mut starts: Vec<usize> = Vec::new();
    let mut pieces = bytes
        .get(1..)
        .unwrap_or_default()
        .split(|b| *b == b'/')
        .peekable();
    let mut trailing = false;
    let mut text = String::new();
    while let Some(piece) = pieces.next() {
        let last = pieces.peek().is_none();
        text.clear();
        segment(piece, &mut text)?;
        match text.as_str() {
            "" | "." => trailing = last,
            ".." => {
                if let Some(start) = starts.pop() {
                    out.truncate(start);
                }
                trailing = last;
            }
            _ => {
                starts.push(out.len());
                out.push('/');
                out.push_str(&text);
                trailing = false;
            }
        }
    }
    if out.is_empty() || trailing {
        out.push('/');
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// Whether a canonical path falls under a (canonical) prefix: ASCII case-insensitively
/// unless `case_sensitive`.
pub fn prefix_matches(path: &str, prefix: &str, case_sensitive: bool) -> bool {
    match path.get(..prefix.len()) {
        Some(head) if case_sensitive => head == prefix,
        Some(head) => head.eq_ignore_ascii_case(prefix),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every spelling of `/payroll/x` (the reported bypasses among them) is `/payroll/x`;
    /// ambiguous ones are refused.
    #[test]
    fn canonical_forms_table() {
        let table: &[(&str, Result<&str, PathError>)] = &[
            ("/payroll/x", Ok("/payroll/x")),
            ("//payroll/x", Ok("/payroll/x")),
            ("///payroll//x", Ok("/payroll/x")),
            ("/./payroll/x", Ok("/payroll/x")),
            ("/payroll/./x", Ok("/payroll/x")),
            ("/x/../payroll/x", Ok("/payroll/x")),
            ("/x/y/../../payroll/x", Ok("/payroll/x")),
            ("/../payroll/x", Ok("/payroll/x")),
            ("/../../payroll/x", Ok("/payroll/x")),
            ("/%70ayroll/x", Ok("/payroll/x")),
            ("/%70%61%79%72%6f%6c%6c/x", Ok("/payroll/x")),
            ("/%2e/payroll/x", Ok("/payroll/x")),
            ("/%2E%2E/payroll/x", Ok("/payroll/x")),
            ("/x/%2e%2e/payroll/x", Ok("/payroll/x")),
            ("/;/payroll/x", Ok("/payroll/x")),
            ("/payroll;jsessionid=1/x", Ok("/payroll/x")),
            ("/x/..;/payroll/x", Ok("/payroll/x")),
            ("/.;/payroll/x", Ok("/payroll/x")),
            ("/payroll/x?y=/../z", Ok("/payroll/x")),
            ("/payroll/x#frag", Ok("/payroll/x")),
            ("/Payroll/x", Ok("/Payroll/x")),
            ("/payroll/", Ok("/payroll/")),
            ("/payroll/.", Ok("/payroll/")),
            ("/payroll/x/..", Ok("/payroll/")),
            ("/", Ok("/")),
            ("/..", Ok("/")),
            ("/a%20b", Ok("/a%20b")),
            ("/a%c3%a9", Ok("/a%C3%A9")),
            ("/a%3bb", Ok("/a%3Bb")),
            ("/a~b-c_d.e", Ok("/a~b-c_d.e")),
            ("/%7E", Ok("/~")),
            ("/payroll%2fx", Err(PathError::EncodedSeparator)),
            ("/%2Fpayroll/x", Err(PathError::EncodedSeparator)),
            ("/payroll%5cx", Err(PathError::EncodedSeparator)),
            ("/payroll\\x", Err(PathError::Backslash)),
            ("/payroll%00/x", Err(PathError::Nul)),
            ("/payroll\0/x", Err(PathError::Nul)),
            ("/payroll%", Err(PathError::InvalidPercent)),
            ("/payroll%2", Err(PathError::InvalidPercent)),
            ("/payroll%zz", Err(PathError::InvalidPercent)),
            ("payroll/x", Err(PathError::NotAbsolute)),
            ("", Err(PathError::NotAbsolute)),
            ("http://evil/payroll", Err(PathError::NotAbsolute)),
            ("*", Err(PathError::NotAbsolute)),
            ("/pay roll", Err(PathError::InvalidCharacter)),
            ("/pay\troll", Err(PathError::InvalidCharacter)),
            ("/payé", Err(PathError::InvalidCharacter)),
        ];
        assert!(table.len() >= 30);
        for (raw, expected) in table {
            let got = canonical_path(raw);
            assert_eq!(got.as_deref().map_err(|e| *e), *expected, "{raw:?}");
            if let Ok(c) = &got {
                assert_eq!(canonical_path(c).as_deref(), Ok(c.as_ref()), "{raw:?}");
            }
        }
    }

    #[test]
    fn prefixes_match_case_insensitively_by_default() {
        assert!(prefix_matches("/Payroll/x", "/payroll", false));
        assert!(!prefix_matches("/Payroll/x", "/payroll", true));
        assert!(prefix_matches("/payroll/x", "/payroll", true));
        assert!(!prefix_matches("/pay", "/payroll", false));
        assert!(prefix_matches("/anything", "/", false));
    }

    /// The check as it was written before the one-pass version.
    fn already_canonical_by_substrings(path: &str) -> bool {
        let b = path.as_bytes();
        b.first() == Some(&b'/')
            && b.iter()
                .all(|c| c.is_ascii_graphic() && !matches!(c, b'%' | b';' | b'\\'))
            && !path.contains("//")
            && !path.contains("/./")
            && !path.contains("/../")
            && !path.ends_with("/.")
            && !path.ends_with("/..")
    }

    #[test]
    fn dot_segments_and_empty_segments_are_not_canonical() {
        for path in [
            "/", "/a", "/a/", "//", "/a//b", "/.", "/..", "/./", "/../", "/a/.", "/a/..", "/a/./b",
            "/a/../b", "/a/.b", "/a/..b", "/a/...", "/.../", "/a.", "/a..", "a/b", "", "/a%2e",
            "/a;b", "/a\\b", "/a b", "/é",
        ] {
            assert_eq!(
                already_canonical(path),
                already_canonical_by_substrings(path),
                "{path:?}"
            );
        }
    }

    proptest! {
        /// The one-pass check answers as the substring searches did.
        #[test]
        fn canonical_check_is_the_substring_check(raw in "[/.a%;\\ é]{0,12}") {
            prop_assert_eq!(already_canonical(&raw), already_canonical_by_substrings(&raw));
        }
    }

    proptest! {
        /// Canonicalising never panics, a canonical path is its own canonical form, and it
        /// holds no empty segment, dot segment, parameter or encoded unreserved character.
        #[test]
        fn canonical_paths_are_fixed_points(raw in "[/a-zA-Z.;%0-9fF~?\\\\]{0,40}") {
            if let Ok(c) = canonical_path(&raw) {
                prop_assert!(c.starts_with('/'));
                let again = canonical_path(&c);
                prop_assert_eq!(again.as_deref(), Ok(c.as_ref()));
                prop_assert!(!c.contains("//"));
                prop_assert!(!c.contains(';'));
                for seg in c.split('/').skip(1) {
                    prop_assert!(seg != "." && seg != "..", "{}", c);
                }
            }
        }
    }
}

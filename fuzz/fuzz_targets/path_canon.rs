//! A request path, canonicalised as forward-auth and `ext_authz` do before routing: never a
//! panic; a canonical path is absolute, has no empty or dot segment, no `;` parameter, no
//! encoded unreserved character, no encoded separator or NUL, and is its own canonical
//! form; prefix matching on it agrees with a plain comparison.
#![no_main]

use gardien_signals::path::{canonical_path, prefix_matches};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(c) = canonical_path(raw) else {
        return;
    };
    assert!(c.starts_with('/'), "{c}");
    assert_eq!(canonical_path(&c).as_deref(), Ok(&*c));
    assert!(
        !c.contains("//") && !c.contains(';') && !c.contains('\\'),
        "{c}"
    );
    assert!(!c.contains('?') && !c.contains('#'), "{c}");
    for seg in c.split('/').skip(1) {
        assert!(seg != "." && seg != "..", "{c}");
    }
    let bytes = c.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' {
            let escape = c.get(i + 1..i + 3).unwrap_or("");
            let byte = u8::from_str_radix(escape, 16).unwrap_or(0);
            assert!(
                escape.len() == 2 && escape == escape.to_ascii_uppercase(),
                "{c}"
            );
            assert!(byte != 0 && byte != b'/' && byte != b'\\', "{c}");
            assert!(
                !(byte.is_ascii_alphanumeric() || b"-._~".contains(&byte)),
                "{c}"
            );
        }
    }
    for prefix in ["/", "/payroll", "/Payroll/", "/a%20b"] {
        assert_eq!(
            prefix_matches(&c, prefix, true),
            c.starts_with(prefix),
            "{c} {prefix}"
        );
        assert_eq!(
            prefix_matches(&c, prefix, false),
            c.to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase()),
            "{c} {prefix}"
        );
    }
});

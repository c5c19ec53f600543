//! Database names: which backend a `--database` string means, how it is shown in messages
//! (never with its password), and which schema names are accepted.

use crate::StoreError;

/// Whether `database` is a PostgreSQL URL (`postgres://` or `postgresql://`).
pub(crate) fn is_postgres_url(database: &str) -> bool {
    ["postgres://", "postgresql://"].iter().any(|scheme| {
        database
            .get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
    })
}

/// `url` with the password of its user info and any `password` query parameter replaced by
/// `***`, for messages and logs.
pub(crate) fn mask_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let (scheme, rest) = url.split_at(scheme_end);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut masked = String::with_capacity(url.len());
    masked.push_str(scheme);
    // The user info ends at the last '@' of the authority; its password after the first ':'.
    match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.find(':') {
                Some(colon) => {
                    masked.push_str(userinfo.get(..colon).unwrap_or_default());
                    masked.push_str(":***");
                }
                None => masked.push_str(userinfo),
            }
            masked.push_str(host);
        }
        None => masked.push_str(authority),
    }
    match tail.split_once('?') {
        Some((path, query)) => {
            masked.push_str(path);
            masked.push('?');
            let (query, fragment) = match query.split_once('#') {
                Some((q, f)) => (q, Some(f)),
                None => (query, None),
            };
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => param.to_owned(),
                })
                .collect();
            masked.push_str(&params.join("&"));
            if let Some(fragment) = fragment {
                masked.push('#');
                masked.push_str(fragment);
            }
        }
        None => masked.push_str(tail),
    }
    masked
}

/// Checks that `schema` is a plain lowercase identifier, `[a-z_][a-z0-9_]{0,62}`, so that it
/// can be used unquoted and needs no escaping.
pub(crate) fn validate_schema(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && schema.len() <= 63 {
        Ok(())
    } else {
        Err(StoreError::InvalidOptions {
            reason: format!(
                "schema `{schema}` is not a plain identifier: \
                 it must match [a-z_][a-z0-9_]{{0,62}} (lowercase letters, digits, underscores)"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_are_recognized() {
        assert!(is_postgres_url("postgres://h/db"));
        assert!(is_postgres_url("postgresql://h/db"));
        assert!(is_postgres_url("POSTGRES://h/db"));
        assert!(!is_postgres_url("sqlite://x.db"));
        assert!(!is_postgres_url("/var/lib/postgres/x.db"));
        assert!(!is_postgres_url("pg"));
    }

    #[test]
    fn passwords_are_masked() {
        let cases = [
            (
                "postgres://u:secret@h:5432/db",
                "postgres://u:***@h:5432/db",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://h/db", "postgres://h/db"),
            (
                "postgres://u:p%40ss@h/db?sslmode=require",
                "postgres://u:***@h/db?sslmode=require",
            ),
            // An unescaped '@' in the password: the host follows the last one.
            ("postgres://u:p@ss@h/db", "postgres://u:***@h/db"),
            (
                "postgresql://h/db?user=u&password=secret&sslmode=disable",
                "postgresql://h/db?user=u&password=***&sslmode=disable",
            ),
            ("postgres://u:secret@h", "postgres://u:***@h"),
            (
                "postgres://u:secret@h?password=x#frag",
                "postgres://u:***@h?password=***#frag",
            ),
            ("not a url", "not a url"),
        ];
        for (url, expected) in cases {
            let masked = mask_password(url);
            assert_eq!(masked, expected, "{url}");
            assert!(!masked.contains("secret"), "{masked}");
        }
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        for ok in ["gardien", "_x", "a1_b2", &"a".repeat(63)] {
            assert!(validate_schema(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1abc",
            "Gardien",
            "a-b",
            "a b",
            "a;drop",
            "\"quoted\"",
            "é",
            &"a".repeat(64),
        ] {
            let err = validate_schema(bad).err();
            assert!(
                matches!(&err, Some(StoreError::InvalidOptions { reason }) if reason.contains("[a-z_]")),
                "{bad}: {err:?}"
            );
        }
    }
}

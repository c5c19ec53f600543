//! Message catalogues of the denial page: one file per language under `locales/`, embedded
//! at build time and parsed once.
//!
//! The format is a subset of Project Fluent (so the files stay valid `.ftl` should a Fluent
//! crate ever be used): `key = value` on one line, `#` comments, blank lines, and
//! `{ $name }` placeholders. See the header of `locales/en.ftl`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use super::Lang;

/// English messages, as written.
pub(crate) const EN_SOURCE: &str = include_str!("../../locales/en.ftl");
/// French messages, as written.
pub(crate) const FR_SOURCE: &str = include_str!("../../locales/fr.ftl");

/// Key to message.
pub(crate) type Catalogue = BTreeMap<&'static str, &'static str>;

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Parses a catalogue; any malformed line, empty value or duplicate key is an error.
pub(crate) fn parse(source: &'static str) -> Result<Catalogue, String> {
    let mut out = Catalogue::new();
    for (n, line) in source.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {}: expected `key = value`", n + 1));
        };
        let (key, value) = (key.trim(), value.trim());
        if !valid_key(key) {
            return Err(format!("line {}: invalid key `{key}`", n + 1));
        }
        if value.is_empty() {
            return Err(format!("line {}: empty message `{key}`", n + 1));
        }
        if out.insert(key, value).is_some() {
            return Err(format!("line {}: duplicate key `{key}`", n + 1));
        }
    }
    Ok(out)
}

// A malformed file yields an empty catalogue (then English, then the key itself, is shown);
// the unit tests below make sure both files parse.
static EN: LazyLock<Catalogue> = LazyLock::new(|| parse(EN_SOURCE).unwrap_or_default());
static FR: LazyLock<Catalogue> = LazyLock::new(|| parse(FR_SOURCE).unwrap_or_default());

/// The catalogue of a language.
pub(crate) fn catalogue(lang: Lang) -> &'static Catalogue {
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    }
}

/// The message for `key` in `lang`, else in English, else the key itself.
pub(crate) fn msg(lang: Lang, key: &str) -> &str {
    catalogue(lang)
        .get(key)
        .or_else(|| EN.get(key))
        .copied()
        .unwrap_or(key)
}

/// Replaces each `{ $name }` of `template` with its value (values are inserted as given:
/// escape them first when the result is HTML).
pub(crate) fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("{{ ${name} }}"), value);
    }
    out
}

/// The placeholder names a message uses.
#[cfg(test)]
fn placeholders(message: &str) -> Vec<&str> {
    let mut out: Vec<&str> = message
        .split("{ $")
        .skip(1)
        .filter_map(|rest| rest.split_once(" }").map(|(name, _)| name))
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn both_files_parse_with_the_same_keys_and_placeholders() {
        let en = parse(EN_SOURCE).unwrap();
        let fr = parse(FR_SOURCE).unwrap();
        let en_keys: Vec<_> = en.keys().collect();
        let fr_keys: Vec<_> = fr.keys().collect();
        assert_eq!(
            en_keys, fr_keys,
            "en.ftl and fr.ftl must have the same keys"
        );
        for (key, value) in &en {
            let fr_value = fr.get(key).unwrap();
            assert_eq!(
                placeholders(value),
                placeholders(fr_value),
                "placeholders of `{key}` differ"
            );
            for v in [value, fr_value] {
                let stripped = v.replace("{ $", "").replace(" }", "");
                assert!(
                    !stripped.contains('{') && !stripped.contains('}'),
                    "stray brace in `{key}`"
                );
            }
        }
        assert!(en.len() > 100, "{}", en.len());
    }

    #[test]
    fn parse_rejects_malformed_lines() {
        assert!(parse("a = b\nno equals sign").is_err());
        assert!(parse("a = b\na = c").is_err());
        assert!(parse("a =").is_err());
        assert!(parse("1a = b").is_err());
        assert_eq!(
            parse("# c\n\n a-b_c = x = y ").unwrap().get("a-b_c"),
            Some(&"x = y")
        );
    }

    #[test]
    fn lookup_falls_back_to_english_then_key() {
        assert_eq!(msg(Lang::Fr, "value-yes"), "Oui");
        assert_eq!(msg(Lang::En, "value-yes"), "Yes");
        assert_eq!(msg(Lang::Fr, "no-such-key"), "no-such-key");
    }

    #[test]
    fn fill_replaces_placeholders() {
        assert_eq!(
            fill(
                "to { $app } via { $app } ({ $x })",
                &[("app", "A"), ("x", "1")]
            ),
            "to A via A (1)"
        );
    }
}

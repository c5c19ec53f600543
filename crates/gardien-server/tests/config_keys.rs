#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! `examples/gardien.toml` claims to show every key: this test holds it to that. It walks the
//! configuration type itself ([`ServerConfig`]'s `Deserialize`: every struct reports its field
//! names to the deserializer) and checks that each key path (`store.path`,
//! `identity.jwt.leeway_seconds`, `apps.host`...) appears in the example, set or commented out;
//! and that the example, with its commented keys switched on, still parses (no key there that
//! the type does not know).

use gardien_server::ServerConfig;
use serde::Deserializer;
use serde::de::value::{Error, StrDeserializer};
use serde::de::{DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// What one walk found: every key path, and the path whose dummy value was refused.
#[derive(Default)]
struct Walk {
    keys: BTreeSet<String>,
    skip: BTreeSet<String>,
    failed: Option<String>,
}

/// A deserializer that feeds every struct every one of its fields, with dummy values, and
/// records the field names (`path.field`).
struct Recorder<'w> {
    path: String,
    walk: &'w RefCell<Walk>,
}

macro_rules! dummy {
    ($($method:ident => $visit:ident($($value:expr)?)),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
            v.$visit($($value)?).map_err(|e: Error| {
                self.walk.borrow_mut().failed.get_or_insert(self.path.clone());
                e
            })
        })*
    };
}

impl<'de, 'w> Deserializer<'de> for Recorder<'w> {
    type Error = Error;

    dummy! {
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i64(0), deserialize_i16 => visit_i64(0),
        deserialize_i32 => visit_i64(0), deserialize_i64 => visit_i64(0),
        deserialize_u8 => visit_u64(0), deserialize_u16 => visit_u64(0),
        deserialize_u32 => visit_u64(0), deserialize_u64 => visit_u64(0),
        deserialize_f32 => visit_f64(0.0), deserialize_f64 => visit_f64(0.0),
        deserialize_char => visit_char('x'),
        deserialize_str => visit_str("x"), deserialize_string => visit_str("x"),
        deserialize_bytes => visit_bytes(b"x"), deserialize_byte_buf => visit_bytes(b"x"),
        deserialize_unit => visit_unit(),
        deserialize_identifier => visit_str("x"),
        deserialize_any => visit_str("x"),
        deserialize_ignored_any => visit_unit(),
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_some(self)
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_seq(One(Some(self)))
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, Error> {
        v.visit_seq(One(Some(self)))
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_seq(One(Some(self)))
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_map(Fields {
            fields: &[],
            at: 0,
            recorder: self,
        })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        {
            let mut w = self.walk.borrow_mut();
            for f in fields {
                let key = if self.path.is_empty() {
                    (*f).to_owned()
                } else {
                    format!("{}.{f}", self.path)
                };
                w.keys.insert(key);
            }
        }
        v.visit_map(Fields {
            fields,
            at: 0,
            recorder: self,
        })
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        let first: StrDeserializer<'_, Error> =
            variants.first().copied().unwrap_or("x").into_deserializer();
        v.visit_enum(first)
    }
}

/// A sequence of one element.
struct One<'w>(Option<Recorder<'w>>);

impl<'de, 'w> SeqAccess<'de> for One<'w> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.0.take() {
            Some(r) => seed.deserialize(r).map(Some),
            None => Ok(None),
        }
    }
}

/// A struct's fields, minus those whose dummy value was refused in an earlier walk.
struct Fields<'w> {
    fields: &'static [&'static str],
    at: usize,
    recorder: Recorder<'w>,
}

impl<'w> Fields<'w> {
    fn path(&self, field: &str) -> String {
        if self.recorder.path.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.recorder.path)
        }
    }
}

impl<'de, 'w> MapAccess<'de> for Fields<'w> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        while let Some(f) = self.fields.get(self.at) {
            if self.recorder.walk.borrow().skip.contains(&self.path(f)) {
                self.at += 1;
                continue;
            }
            let key: StrDeserializer<'_, Error> = (*f).into_deserializer();
            return seed.deserialize(key).map(Some);
        }
        Ok(None)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let f = self.fields.get(self.at).copied().unwrap_or("");
        self.at += 1;
        let path = self.path(f);
        seed.deserialize(Recorder {
            path,
            walk: self.recorder.walk,
        })
    }
}

/// Every key path of the configuration type, by walking it until every field was reached.
fn config_keys() -> BTreeSet<String> {
    let walk = RefCell::new(Walk::default());
    for _ in 0..500 {
        walk.borrow_mut().failed = None;
        let result = <ServerConfig as serde::Deserialize>::deserialize(Recorder {
            path: String::new(),
            walk: &walk,
        });
        let failed = walk.borrow_mut().failed.take();
        match (result, failed) {
            (_, Some(path)) => {
                let mut w = walk.borrow_mut();
                assert!(w.skip.insert(path.clone()), "walk stuck at {path}");
            }
            // Done: either it all deserialized, or only a missing required field remains
            // (every struct was reached by then).
            _ => break,
        }
    }
    walk.into_inner().keys
}

fn example() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/gardien.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Key paths written in the example (`section.key`, arrays of tables as `apps.host`), set or
/// commented out (`# key = value`).
fn example_keys(text: &str) -> BTreeSet<String> {
    let mut section = String::new();
    let mut keys = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim().trim_start_matches('#').trim();
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.split("]]").next()) {
            section = name.trim().to_owned();
            keys.insert(section.clone());
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
            section = name.trim().to_owned();
            // `[identity.jwt]` also names `identity` and `identity.jwt`.
            let mut prefix = String::new();
            for part in section.split('.') {
                if !prefix.is_empty() {
                    prefix.push('.');
                }
                prefix.push_str(part);
                keys.insert(prefix.clone());
            }
        } else if let Some((key, _)) = line.split_once('=') {
            let key = key.trim();
            if !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                keys.insert(if section.is_empty() {
                    key.to_owned()
                } else {
                    format!("{section}.{key}")
                });
            }
        }
    }
    keys
}

#[test]
fn the_example_configuration_shows_every_key() {
    let keys = config_keys();
    assert!(keys.len() > 30, "the walk found only {keys:?}");
    for known in [
        "listen",
        "store.path",
        "signals.trusted_proxies",
        "apps.app_id",
        "admin.token_sha256",
    ] {
        assert!(keys.contains(known), "the walk missed `{known}`: {keys:?}");
    }
    let written = example_keys(&example());
    let missing: Vec<&String> = keys.iter().filter(|k| !written.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "examples/gardien.toml lacks these keys (add them, commented out with their default): {missing:?}"
    );
}

#[test]
fn the_example_with_every_commented_key_switched_on_parses() {
    // Commented keys become real ones (`# key = value` → `key = value`); sections stay.
    let text: String = example()
        .lines()
        .map(|l| {
            let t = l.trim_start();
            match t.strip_prefix("# ") {
                Some(rest) if rest.contains(" = ") || rest.starts_with('[') => rest.to_owned(),
                _ => l.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let parsed = ServerConfig::parse(&dir.join("gardien.toml").display().to_string(), &text);
    assert!(parsed.is_ok(), "{:?}\n{text}", parsed.err());
}

#[test]
fn the_example_shows_the_tenant_table() {
    // `tenant` is a path or a `[tenant]` table; the walk feeds it a string, so the table's
    // keys are listed here.
    let written = example_keys(&example());
    for key in ["tenant.path", "tenant.watch", "tenant.watch_interval_ms"] {
        assert!(written.contains(key), "examples/gardien.toml lacks `{key}`");
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/gardien.toml");
    let config = ServerConfig::parse(&path.display().to_string(), &example()).unwrap();
    let tenant = config.tenant.expect("the example sets a tenant");
    assert!(!tenant.watch);
    assert_eq!(
        tenant.watch_interval_ms,
        gardien_server::config::DEFAULT_WATCH_INTERVAL_MS
    );
}

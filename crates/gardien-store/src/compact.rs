//! Compact sign-in records: the per-policy array stored by reference.
//!
//! A record's `appliedConditionalAccessPolicies` holds one entry per policy of the set in
//! force (about 250 bytes each: 50 KB a record on a 200-policy set), and each entry is a
//! function of the policy and of its outcome only, so the same few entries repeat across
//! millions of records. The caller hands them over as [`Fragment`]s (a content id and the
//! entry's JSON text) with the record's text holding an empty array (`[]`) where they go; the
//! log writer stores each fragment once (table `sign_in_fragments`) and the record with the
//! list of its fragment ids (8 bytes each), and every reader ([`crate::SignInLog::query`],
//! [`crate::SignInLog::export_jsonl`]) splices them back: the JSON read is the JSON the
//! caller would have stored whole. Records stored before (or without fragments) are read as
//! they are.
//!
//! Fragments are never deleted (retention deletes records only): an id seen once keeps its
//! text, so a reader never meets a record whose fragment is gone. They are immutable, so
//! readers cache them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::StoreError;

/// One entry of a record's per-policy array, stored once and referenced by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// Content id: the same text must always come with the same id (e.g. the first 8 bytes
    /// of its SHA-256). Different texts with the same id are detected when stored and the
    /// records using the second one are stored whole.
    pub id: i64,
    /// The entry's JSON text (a JSON object).
    pub text: Arc<str>,
}

/// A record's per-policy array by reference: [`crate::SignInRecord::record`] holds `[]`
/// where the entries go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragments {
    /// Byte offset in the record's text just after the `[` of the empty array.
    pub at: usize,
    /// The entries, in order.
    pub entries: Vec<Fragment>,
}

impl Fragments {
    /// The record's whole text: `record` with the entries spliced in at [`Fragments::at`].
    pub fn splice(&self, record: &str) -> String {
        splice(record, self.at, self.entries.iter().map(|f| &*f.text))
    }
}

/// `record` with `texts` joined by commas inserted at byte `at`.
pub(crate) fn splice<'t>(record: &str, at: usize, texts: impl Iterator<Item = &'t str>) -> String {
    let (head, tail) = record.split_at(at.min(record.len()));
    let mut out = String::with_capacity(record.len() + 256);
    out.push_str(head);
    for (i, text) in texts.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(text);
    }
    out.push_str(tail);
    out
}

/// Whether `text`, whitespace aside, starts with `{` and ends with `}`. The bytes are
/// looked at first: texts as the server writes them have no whitespace around, and
/// `str::trim` (Unicode whitespace, from both ends) cost ~50 instructions per text, per
/// fragment of every record.
pub(crate) fn braced(text: &str) -> bool {
    let bytes = text.as_bytes();
    (bytes.first() == Some(&b'{') && bytes.last() == Some(&b'}')) || {
        let t = text.trim();
        t.starts_with('{') && t.ends_with('}')
    }
}

/// Checks what [`crate::SignInRecord`] promises about its fragments: the offset is just
/// inside an empty array of the record, every fragment looks like a JSON object.
pub(crate) fn check(record: &str, fragments: &Fragments) -> Result<(), &'static str> {
    let at = fragments.at;
    let bytes = record.as_bytes();
    if at == 0 || at >= bytes.len() || bytes[at - 1] != b'[' || bytes[at] != b']' {
        return Err("the fragments' offset is not inside an empty array of the record");
    }
    if !fragments.entries.iter().all(|f| braced(&f.text)) {
        return Err("a fragment is not a JSON object");
    }
    Ok(())
}

/// The stored form of a fragment list: the ids, 8 bytes little-endian each.
pub(crate) fn encode_ids(entries: &[Fragment]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 8);
    for f in entries {
        out.extend_from_slice(&f.id.to_le_bytes());
    }
    out
}

/// The ids of a stored fragment list; `None` if its length is not a multiple of 8.
pub(crate) fn decode_ids(bytes: &[u8]) -> Option<Vec<i64>> {
    if !bytes.len().is_multiple_of(8) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                i64::from_le_bytes(b)
            })
            .collect(),
    )
}

/// A record as read from the table, before its fragments are spliced back.
#[derive(Debug)]
pub(crate) struct StoredRecord {
    /// The correlation id (for messages).
    pub(crate) id: String,
    pub(crate) record: String,
    /// `(offset, fragment ids)` of a compact record.
    pub(crate) applied: Option<(usize, Vec<i64>)>,
}

impl StoredRecord {
    /// Decodes the columns `record`, `applied_at`, `applied` of record `id`.
    pub(crate) fn new(
        id: String,
        record: String,
        applied_at: Option<i64>,
        applied: Option<&[u8]>,
    ) -> Result<StoredRecord, StoreError> {
        let corrupt = |reason: &'static str| StoreError::CorruptRecord {
            id: id.clone(),
            reason,
        };
        let applied = match (applied_at, applied) {
            (None, None) => None,
            (Some(at), Some(bytes)) => {
                let at = usize::try_from(at).map_err(|_| corrupt("negative fragment offset"))?;
                if !record.is_char_boundary(at.min(record.len())) || at > record.len() {
                    return Err(corrupt("fragment offset outside the record"));
                }
                let ids = decode_ids(bytes)
                    .ok_or_else(|| corrupt("fragment list is not a list of 8-byte ids"))?;
                Some((at, ids))
            }
            _ => return Err(corrupt("fragment offset and list not both set")),
        };
        Ok(StoredRecord {
            id,
            record,
            applied,
        })
    }

    /// The ids this record needs.
    pub(crate) fn ids(&self) -> &[i64] {
        self.applied.as_ref().map_or(&[], |(_, ids)| ids)
    }

    /// The record's whole JSON text, with `texts` holding every id of [`StoredRecord::ids`].
    pub(crate) fn into_text(self, texts: &HashMap<i64, Arc<str>>) -> Result<String, StoreError> {
        let Some((at, ids)) = &self.applied else {
            return Ok(self.record);
        };
        let mut parts = Vec::with_capacity(ids.len());
        for id in ids {
            match texts.get(id) {
                Some(t) => parts.push(&**t),
                None => {
                    return Err(StoreError::CorruptRecord {
                        id: self.id,
                        reason: "a fragment of the record is not stored",
                    });
                }
            }
        }
        Ok(splice(&self.record, *at, parts.into_iter()))
    }
}

/// Fragments most recently read, by id (they never change); emptied when it holds more
/// than [`READ_CACHE_ENTRIES`].
#[derive(Debug, Default)]
pub(crate) struct FragmentCache {
    texts: Mutex<HashMap<i64, Arc<str>>>,
}

/// Most fragments a [`FragmentCache`] holds.
const READ_CACHE_ENTRIES: usize = 65_536;

impl FragmentCache {
    /// The texts of `records`' fragments that are cached, and the ids that are not.
    pub(crate) fn lookup(&self, records: &[StoredRecord]) -> (HashMap<i64, Arc<str>>, Vec<i64>) {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        let Ok(cache) = self.texts.lock() else {
            return (
                found,
                records.iter().flat_map(|r| r.ids()).copied().collect(),
            );
        };
        for id in records.iter().flat_map(|r| r.ids()) {
            if found.contains_key(id) {
                continue;
            }
            match cache.get(id) {
                Some(t) => {
                    found.insert(*id, Arc::clone(t));
                }
                None => missing.push(*id),
            }
        }
        missing.sort_unstable();
        missing.dedup();
        (found, missing)
    }

    /// Remembers fragments read from the table.
    pub(crate) fn remember(&self, read: &[(i64, Arc<str>)]) {
        if let Ok(mut cache) = self.texts.lock() {
            if cache.len() + read.len() > READ_CACHE_ENTRIES {
                cache.clear();
            }
            for (id, text) in read {
                cache.insert(*id, Arc::clone(text));
            }
        }
    }
}

/// Most fragment ids a [`Written`] remembers before it starts again from empty (then it
/// stores them again, which `INSERT OR IGNORE` / `ON CONFLICT DO NOTHING` makes harmless).
const WRITTEN_ENTRIES: usize = 1 << 20;

/// The log writer's memory of the fragments already stored, so that a fragment costs one
/// INSERT per process and a record only its 8 bytes per entry.
///
/// The sets hash with `rustc_hash` (a record of a 200-policy set looks up 200 ids: SipHash
/// made that ≈ 31 k instructions per record on the writer's thread).
#[derive(Debug, Default)]
pub(crate) struct Written {
    /// Committed (by this writer, or found stored with the same text).
    known: rustc_hash::FxHashSet<i64>,
    /// Inserted in the open transaction.
    pending: rustc_hash::FxHashSet<i64>,
    /// Ids stored with another text: records using them are stored whole.
    colliding: rustc_hash::FxHashSet<i64>,
}

impl Written {
    /// The fragments of `rows` to store in the open transaction (neither known nor already
    /// inserted in it nor colliding), each once; marks them inserted.
    pub(crate) fn unstored<'r>(&mut self, rows: &'r [crate::writer::Row]) -> Vec<&'r Fragment> {
        let mut out = Vec::new();
        for f in rows
            .iter()
            .filter_map(|r| r.fragments.as_ref())
            .flat_map(|f| &f.entries)
        {
            if !self.known.contains(&f.id)
                && !self.colliding.contains(&f.id)
                && self.pending.insert(f.id)
            {
                out.push(f);
            }
        }
        out
    }

    /// `id` is stored with another text than the one a record brought.
    pub(crate) fn collided(&mut self, id: i64) {
        tracing::warn!(
            fragment = id,
            "sign-in record fragment id already stored with another text; records using it are stored whole"
        );
        self.pending.remove(&id);
        self.colliding.insert(id);
    }

    /// Whether `row` must be stored whole (one of its fragment ids collides).
    pub(crate) fn whole(&self, row: &crate::writer::Row) -> bool {
        !self.colliding.is_empty()
            && row
                .fragments
                .as_ref()
                .is_some_and(|f| f.entries.iter().any(|e| self.colliding.contains(&e.id)))
    }

    /// The open transaction committed.
    pub(crate) fn committed(&mut self) {
        if self.known.len() + self.pending.len() > WRITTEN_ENTRIES {
            self.known.clear();
        }
        self.known.extend(self.pending.drain());
    }

    /// The open transaction was rolled back.
    pub(crate) fn aborted(&mut self) {
        self.pending.clear();
    }
}

/// Largest number of ids per `SELECT ... WHERE id IN (...)` of fragments.
pub(crate) const FRAGMENTS_PER_QUERY: usize = 512;

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(id: i64, text: &str) -> Fragment {
        Fragment {
            id,
            text: Arc::from(text),
        }
    }

    #[test]
    fn splicing_fills_the_empty_array() {
        let record = r#"{"a":1,"appliedConditionalAccessPolicies":[],"b":2}"#;
        let at = record.find("[]").map(|i| i + 1).unwrap_or(0);
        let f = Fragments {
            at,
            entries: vec![frag(1, r#"{"id":"x"}"#), frag(-2, r#"{"id":"y"}"#)],
        };
        assert_eq!(check(record, &f), Ok(()));
        assert_eq!(
            f.splice(record),
            r#"{"a":1,"appliedConditionalAccessPolicies":[{"id":"x"},{"id":"y"}],"b":2}"#
        );
        let none = Fragments {
            at,
            entries: Vec::new(),
        };
        assert_eq!(none.splice(record), record);
        assert_eq!(decode_ids(&encode_ids(&f.entries)), Some(vec![1, -2]));
        assert_eq!(decode_ids(&[0; 7]), None);
    }

    #[test]
    fn a_misplaced_offset_or_a_non_object_fragment_is_refused() {
        let record = r#"{"a":[],"b":"[]"}"#;
        for at in [0, 1, 5, 7, record.len()] {
            let f = Fragments {
                at,
                entries: Vec::new(),
            };
            assert!(check(record, &f).is_err(), "{at}");
        }
        let f = Fragments {
            at: 6,
            entries: vec![frag(1, "[1]")],
        };
        assert_eq!(check(record, &f), Err("a fragment is not a JSON object"));
    }

    #[test]
    fn braced_texts_are_those_trim_then_braces_accept() {
        let trimmed = |t: &str| {
            let t = t.trim();
            t.starts_with('{') && t.ends_with('}')
        };
        for text in [
            "{}",
            r#"{"a":1}"#,
            " {}\n",
            "\u{3000}{}\t",
            "{",
            "}",
            "",
            " ",
            "[1]",
            "{]",
            "x{}",
            "{} x",
        ] {
            assert_eq!(braced(text), trimmed(text), "{text:?}");
        }
    }

    #[test]
    fn a_stored_record_with_a_missing_fragment_is_an_error() {
        let stored = StoredRecord::new(
            "c1".to_owned(),
            r#"{"p":[]}"#.to_owned(),
            Some(6),
            Some(&7i64.to_le_bytes()),
        );
        assert_eq!(stored.as_ref().map(StoredRecord::ids).ok(), Some(&[7][..]));
        let mut texts = HashMap::new();
        let half = StoredRecord::new("c1".to_owned(), r#"{"p":[]}"#.to_owned(), Some(6), None);
        assert!(
            matches!(half, Err(StoreError::CorruptRecord { ref id, .. }) if id == "c1"),
            "half a reference is refused"
        );
        assert!(matches!(
            stored.and_then(|s| s.into_text(&texts)),
            Err(StoreError::CorruptRecord { .. })
        ));
        texts.insert(7, Arc::from(r#"{"x":1}"#));
        let again = StoredRecord::new(
            "c1".to_owned(),
            r#"{"p":[]}"#.to_owned(),
            Some(6),
            Some(&7i64.to_le_bytes()),
        );
        assert_eq!(
            again.and_then(|s| s.into_text(&texts)).ok().as_deref(),
            Some(r#"{"p":[{"x":1}]}"#)
        );
    }
}

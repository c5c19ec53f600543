//! JSON pointers of findings turned into line numbers of the files they point into, for the
//! text and SARIF renderers (each file read once).

use serde_json::Value;
use std::collections::HashMap;

/// Files read once to turn JSON pointers into line numbers.
#[derive(Default)]
pub struct LineIndex {
    texts: HashMap<String, Option<String>>,
    values: HashMap<String, Option<Value>>,
}

impl LineIndex {
    /// Whether `pointer` names nothing in `file` (a member the finding says is missing).
    pub fn absent(&mut self, file: &str, pointer: &str) -> bool {
        let value = self
            .values
            .entry(file.to_owned())
            .or_insert_with(|| {
                let bytes = crate::tenant_fs::read_input(std::path::Path::new(file)).ok()?;
                let text = gardien_core::json::decode_text(file, &bytes).ok()?;
                serde_json::from_str(&text).ok()
            })
            .as_ref();
        value.is_some_and(|v| v.pointer(pointer).is_none())
    }

    /// 1-based line of the member at `pointer` (or of its deepest existing parent) in `file`.
    pub fn line(&mut self, file: &str, pointer: &str) -> Option<usize> {
        let text = self
            .texts
            .entry(file.to_owned())
            .or_insert_with(|| {
                let bytes = crate::tenant_fs::read_input(std::path::Path::new(file)).ok()?;
                gardien_core::json::decode_text(file, &bytes).ok()
            })
            .as_deref()?;
        gardien_core::json::position(text, pointer).and_then(|(line, _)| usize::try_from(line).ok())
    }
}

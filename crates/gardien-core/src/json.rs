//! Reading Graph JSON by hand, so that every error names its JSON pointer.
//!
//! Graph exports are noisy (`@odata.*` annotations, legacy nulls, UTF-16 files written by
//! PowerShell). This module decodes the bytes, parses them with `serde_json` and gives the
//! model a [`Node`] cursor that knows its RFC 6901 pointer.

use serde_json::{Map, Value};
use std::fmt::Write as _;

use crate::error::LoadError;
use crate::limits::{MAX_FILE_BYTES, MAX_JSON_DEPTH, MAX_NAME_LENGTH};

/// Decodes the bytes of a JSON file: UTF-8 (with or without BOM) or UTF-16 LE/BE with BOM.
///
/// Refuses more than [`MAX_FILE_BYTES`] before looking at the content.
pub fn decode_text(file: &str, bytes: &[u8]) -> Result<String, LoadError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(LoadError::new(
            file,
            "",
            format!(
                "{} bytes; the limit is {MAX_FILE_BYTES} bytes (64 MiB)",
                bytes.len()
            ),
        ));
    }
    let utf16 = |bytes: &[u8], le: bool| -> Result<String, LoadError> {
        if !bytes.len().is_multiple_of(2) {
            return Err(LoadError::new(
                file,
                "",
                "UTF-16 file has an odd number of bytes",
            ));
        }
        let units = bytes.chunks_exact(2).map(|c| {
            let pair = [c[0], c[1]];
            if le {
                u16::from_le_bytes(pair)
            } else {
                u16::from_be_bytes(pair)
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|e| LoadError::new(file, "", format!("invalid UTF-16: {e}")))
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => std::str::from_utf8(rest)
            .map(str::to_owned)
            .map_err(|e| LoadError::new(file, "", format!("invalid UTF-8: {e}"))),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        // UTF-16 LE without BOM: every other byte of the leading ASCII is zero.
        [a, 0, b, 0, ..] if a.is_ascii() && b.is_ascii() => utf16(bytes, true),
        _ => std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| LoadError::new(file, "", format!("invalid UTF-8: {e}"))),
    }
}

/// Parses JSON text, reporting syntax errors with line and column.
///
/// Nesting deeper than [`MAX_JSON_DEPTH`] is refused first, with the pointer of the first
/// value that is too deep.
pub fn parse_value(file: &str, text: &str) -> Result<Value, LoadError> {
    check_depth(file, text)?;
    serde_json::from_str(text).map_err(|e| {
        LoadError::new(
            file,
            "",
            format!(
                "invalid JSON at line {}, column {}: {}",
                e.line(),
                e.column(),
                strip_position(&e)
            ),
        )
    })
}

/// One open array or object while scanning for depth: where its current member is.
struct Open {
    object: bool,
    /// Index of the current element (arrays).
    index: usize,
    /// Byte range of the current member's key, quotes included (objects).
    key: Option<(usize, usize)>,
}

/// Refuses JSON nested deeper than [`MAX_JSON_DEPTH`], naming the pointer of the first array
/// or object past the limit. A linear scan that only tracks strings and brackets: syntax
/// errors are left to `serde_json`.
fn check_depth(file: &str, text: &str) -> Result<(), LoadError> {
    let bytes = text.as_bytes();
    let mut stack: Vec<Open> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                let start = i;
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                if expect_key && let Some(top) = stack.last_mut() {
                    top.key = Some((start, (i + 1).min(bytes.len())));
                }
            }
            b'{' | b'[' => {
                if stack.len() >= MAX_JSON_DEPTH {
                    return Err(LoadError::new(
                        file,
                        depth_pointer(text, &stack),
                        format!(
                            "JSON nested more than {MAX_JSON_DEPTH} levels deep; the limit is {MAX_JSON_DEPTH}"
                        ),
                    ));
                }
                stack.push(Open {
                    object: b == b'{',
                    index: 0,
                    key: None,
                });
                expect_key = b == b'{';
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
            }
            b',' => {
                if let Some(top) = stack.last_mut() {
                    top.index += 1;
                    expect_key = top.object;
                }
            }
            b':' => expect_key = false,
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The pointer of the value being opened under `stack` (keys decoded from their JSON text).
fn depth_pointer(text: &str, stack: &[Open]) -> String {
    let mut out = String::new();
    for open in stack {
        out.push('/');
        if open.object {
            let raw = open.key.and_then(|(a, b)| text.get(a..b)).unwrap_or("\"\"");
            let key: String = serde_json::from_str(raw).unwrap_or_else(|_| raw.to_owned());
            out.push_str(&escape_token(&key));
        } else {
            let _ = write!(out, "{}", open.index);
        }
    }
    out
}

fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Escapes one reference token of a JSON pointer (RFC 6901).
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A JSON value together with the file it came from and its pointer inside that file.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    /// File name used in errors.
    pub file: &'a str,
    /// The value itself.
    pub value: &'a Value,
    path: PathRef<'a>,
}

#[derive(Clone, Copy)]
enum PathRef<'a> {
    Root(&'a str),
    Key(&'a PathCell<'a>),
}

/// A linked path segment kept on the stack while walking.
pub struct PathCell<'a> {
    parent: PathRef<'a>,
    segment: Segment<'a>,
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> Node<'a> {
    /// A cursor at `pointer` (usually `""`) of a file.
    pub fn root(file: &'a str, pointer: &'a str, value: &'a Value) -> Self {
        Node {
            file,
            value,
            path: PathRef::Root(pointer),
        }
    }

    /// The RFC 6901 pointer of this node.
    pub fn pointer(&self) -> String {
        let mut segments = Vec::new();
        let mut at = self.path;
        let base = loop {
            match at {
                PathRef::Root(p) => break p,
                PathRef::Key(cell) => {
                    segments.push(&cell.segment);
                    at = cell.parent;
                }
            }
        };
        let mut out = base.to_owned();
        for segment in segments.iter().rev() {
            match segment {
                Segment::Key(k) => {
                    out.push('/');
                    out.push_str(&escape_token(k));
                }
                Segment::Index(i) => {
                    let _ = write!(out, "/{i}");
                }
            }
        }
        out
    }

    /// An error at this node.
    pub fn error(&self, reason: impl Into<String>) -> LoadError {
        LoadError::new(self.file, self.pointer(), reason)
    }

    /// A cell describing the child `key`; pass it to [`Node::child`].
    pub fn key_cell(&self, key: &'a str) -> PathCell<'a> {
        PathCell {
            parent: self.path,
            segment: Segment::Key(key),
        }
    }

    /// A cell describing the array element `index`.
    pub fn index_cell(&self, index: usize) -> PathCell<'a> {
        PathCell {
            parent: self.path,
            segment: Segment::Index(index),
        }
    }

    /// A child cursor.
    pub fn child<'b>(&self, cell: &'b PathCell<'b>, value: &'b Value) -> Node<'b>
    where
        'a: 'b,
    {
        Node {
            file: self.file,
            value,
            path: PathRef::Key(cell),
        }
    }

    /// The object's members, or an error naming what was found instead.
    pub fn object(&self, what: &str) -> Result<&'a Map<String, Value>, LoadError> {
        self.value.as_object().ok_or_else(|| {
            self.error(format!(
                "expected {what} (a JSON object), found {}",
                kind(self.value)
            ))
        })
    }

    /// Whether the value is JSON `null`.
    pub fn is_null(&self) -> bool {
        self.value.is_null()
    }

    /// The string, or an error.
    pub fn string(&self) -> Result<&'a str, LoadError> {
        self.value
            .as_str()
            .ok_or_else(|| self.error(format!("expected a string, found {}", kind(self.value))))
    }

    /// The boolean, or an error.
    pub fn boolean(&self) -> Result<bool, LoadError> {
        self.value.as_bool().ok_or_else(|| {
            self.error(format!(
                "expected true or false, found {}",
                kind(self.value)
            ))
        })
    }
}

/// 1-based line and column (in characters) of the member at `pointer` in a JSON text: the
/// member's key for an object member, the value for an array element, or the deepest existing
/// parent when the pointer does not resolve. `None` when the text is not JSON enough to walk.
pub fn position(text: &str, pointer: &str) -> Option<(u32, u32)> {
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let offset = locate(text.as_bytes(), &tokens)?;
    let before = text.get(..offset)?;
    let line = before.bytes().filter(|c| *c == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..)?.chars().count() + 1;
    Some((
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    ))
}

/// The text of 1-based line `line` (without its line break).
pub fn line_text(text: &str, line: u32) -> Option<&str> {
    let index = usize::try_from(line).ok()?.checked_sub(1)?;
    text.split('\n')
        .nth(index)
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// End of the string starting at `i` (on its opening quote) and its content (unescaped
/// enough to compare keys: `\"`, `\\`, `\/`).
fn string_at(b: &[u8], i: usize) -> Option<(usize, String)> {
    let mut j = i + 1;
    let mut s = Vec::new();
    loop {
        match *b.get(j)? {
            b'"' => return Some((j + 1, String::from_utf8_lossy(&s).into_owned())),
            b'\\' => {
                s.push(*b.get(j + 1)?);
                j += 2;
            }
            c => {
                s.push(c);
                j += 1;
            }
        }
    }
}

/// End of the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => string_at(b, i).map(|(end, _)| end),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match *b.get(j)? {
                    b'"' => {
                        j = string_at(b, j)?.0;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
            {
                j += 1;
            }
            Some(j)
        }
    }
}

/// Byte offset of the member at `tokens` inside the JSON text (its key when it is an object
/// member), or of its deepest existing parent.
fn locate(b: &[u8], tokens: &[String]) -> Option<usize> {
    let bom = if b.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    let mut i = skip_ws(b, bom);
    let mut key_at = None;
    'tokens: for token in tokens {
        key_at = None;
        match *b.get(i)? {
            b'{' => {
                let mut j = skip_ws(b, i + 1);
                while b.get(j) == Some(&b'"') {
                    let start = j;
                    let (end, key) = string_at(b, j)?;
                    j = skip_ws(b, end);
                    if b.get(j) != Some(&b':') {
                        return Some(i);
                    }
                    j = skip_ws(b, j + 1);
                    if key == *token {
                        i = j;
                        key_at = Some(start);
                        continue 'tokens;
                    }
                    j = skip_ws(b, skip_value(b, j)?);
                    if b.get(j) == Some(&b',') {
                        j = skip_ws(b, j + 1);
                    }
                }
                return Some(i);
            }
            b'[' => {
                let Ok(want) = token.parse::<usize>() else {
                    return Some(i);
                };
                let mut j = skip_ws(b, i + 1);
                let mut n = 0;
                while b.get(j).is_some_and(|c| *c != b']') {
                    if n == want {
                        i = j;
                        continue 'tokens;
                    }
                    j = skip_ws(b, skip_value(b, j)?);
                    if b.get(j) == Some(&b',') {
                        j = skip_ws(b, j + 1);
                    }
                    n += 1;
                }
                return Some(i);
            }
            _ => return Some(i),
        }
    }
    Some(key_at.unwrap_or(i))
}

/// A short name of a JSON value's kind for error messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Walks `key` of an object node, calling `f` with the child (or `None` when the member is
/// absent or null). Keeps the pointer bookkeeping in one place.
pub fn with_member<'a, T>(
    node: &Node<'a>,
    key: &'a str,
    f: impl FnOnce(Option<Node<'_>>) -> Result<T, LoadError>,
) -> Result<T, LoadError> {
    let value = node.value.get(key);
    match value {
        None | Some(Value::Null) => f(None),
        Some(v) => {
            let cell = node.key_cell(key);
            f(Some(node.child(&cell, v)))
        }
    }
}

/// Reads an optional array of strings: absent and null read as empty.
pub fn string_list<'a>(node: &Node<'a>, key: &'a str) -> Result<Vec<String>, LoadError> {
    with_member(node, key, |child| match child {
        None => Ok(Vec::new()),
        Some(child) => {
            let items = child.value.as_array().ok_or_else(|| {
                child.error(format!(
                    "expected an array of strings, found {}",
                    kind(child.value)
                ))
            })?;
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let cell = child.index_cell(i);
                let item_node = child.child(&cell, item);
                out.push(item_node.string()?.to_owned());
            }
            Ok(out)
        }
    })
}

/// Reads an optional array of strings like [`string_list`], refusing more than `max` items.
pub fn string_list_max<'a>(
    node: &Node<'a>,
    key: &'a str,
    max: usize,
) -> Result<Vec<String>, LoadError> {
    if let Some(items) = node.value.get(key).and_then(Value::as_array)
        && items.len() > max
    {
        let cell = node.key_cell(key);
        return Err(node
            .child(&cell, &node.value[key])
            .error(format!("{} items; the limit is {max}", items.len())));
    }
    string_list(node, key)
}

/// Reads a flags enum serialised as a comma-separated string (Graph) or, leniently, as an
/// array of member names. Absent, null and `""` read as empty.
pub fn flags_list<'a>(node: &Node<'a>, key: &'a str) -> Result<Option<Vec<String>>, LoadError> {
    with_member(node, key, |child| match child {
        None => Ok(None),
        Some(child) => match child.value {
            Value::String(s) => Ok(Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )),
            Value::Array(_) => string_list(node, key).map(Some),
            other => Err(child.error(format!(
                "expected a comma-separated string of flags, found {}",
                kind(other)
            ))),
        },
    })
}

/// Reads an optional string member (absent and null read as `None`).
pub fn opt_string<'a>(node: &Node<'a>, key: &'a str) -> Result<Option<String>, LoadError> {
    with_member(node, key, |child| {
        child.map(|c| c.string().map(str::to_owned)).transpose()
    })
}

/// Reads an optional display name: a string of at most [`MAX_NAME_LENGTH`] characters.
pub fn opt_name<'a>(node: &Node<'a>, key: &'a str) -> Result<Option<String>, LoadError> {
    with_member(node, key, |child| {
        let Some(child) = child else { return Ok(None) };
        let name = child.string()?;
        let length = name.chars().count();
        if length > MAX_NAME_LENGTH {
            return Err(child.error(format!(
                "name is {length} characters long; the limit is {MAX_NAME_LENGTH}"
            )));
        }
        Ok(Some(name.to_owned()))
    })
}

/// Reads an optional boolean member.
pub fn opt_bool<'a>(node: &Node<'a>, key: &'a str) -> Result<Option<bool>, LoadError> {
    with_member(node, key, |child| child.map(|c| c.boolean()).transpose())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf16_with_bom() {
        let text = "{\"a\":1}";
        let mut bytes = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(decode_text("f", &bytes).ok().as_deref(), Some(text));
        let mut be = vec![0xFE, 0xFF];
        for unit in text.encode_utf16() {
            be.extend_from_slice(&unit.to_be_bytes());
        }
        assert_eq!(decode_text("f", &be).ok().as_deref(), Some(text));
    }

    #[test]
    fn decodes_utf8_bom_and_rejects_garbage() {
        assert_eq!(
            decode_text("f", b"\xEF\xBB\xBF{}").ok().as_deref(),
            Some("{}")
        );
        let err = decode_text("f", b"{\xff}")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("f: invalid UTF-8"), "{err}");
    }

    #[test]
    fn pointers_escape_and_nest() {
        let value: Value = serde_json::json!({"a/b": [{"c~": 1}]});
        let root = Node::root("f", "", &value);
        let cell = root.key_cell("a/b");
        let a = root.child(&cell, &value["a/b"]);
        let cell2 = a.index_cell(0);
        let item = a.child(&cell2, &value["a/b"][0]);
        let cell3 = item.key_cell("c~");
        let c = item.child(&cell3, &value["a/b"][0]["c~"]);
        assert_eq!(c.pointer(), "/a~1b/0/c~0");
        assert_eq!(
            c.string().err().map(|e| e.to_string()).unwrap_or_default(),
            "f: /a~1b/0/c~0: expected a string, found a number"
        );
    }

    #[test]
    fn pointers_become_positions() {
        let text = "{\n  \"a\": 1,\n  \"conditions\": {\n    \"users\": {\"x\": [\"u1\",\n \"u2\"]}\n  }\n}";
        assert_eq!(position(text, ""), Some((1, 1)));
        assert_eq!(position(text, "/conditions"), Some((3, 3)));
        assert_eq!(position(text, "/conditions/users/x"), Some((4, 15)));
        assert_eq!(position(text, "/conditions/users/x/1"), Some((5, 2)));
        // A member that does not exist: its deepest existing parent.
        assert_eq!(
            position(text, "/conditions/users/excludeGroups"),
            Some((4, 14))
        );
        assert_eq!(line_text(text, 2), Some("  \"a\": 1,"));
    }

    #[test]
    fn flags_accept_string_and_array() {
        let value: Value = serde_json::json!({"x": "deviceCodeFlow, authenticationTransfer", "y": ["deviceCodeFlow"], "z": ""});
        let root = Node::root("f", "", &value);
        assert_eq!(
            flags_list(&root, "x").ok().flatten().map(|v| v.len()),
            Some(2)
        );
        assert_eq!(
            flags_list(&root, "y").ok().flatten().map(|v| v.len()),
            Some(1)
        );
        assert_eq!(
            flags_list(&root, "z").ok().flatten().map(|v| v.len()),
            Some(0)
        );
        assert_eq!(flags_list(&root, "w").ok().flatten(), None);
    }
}

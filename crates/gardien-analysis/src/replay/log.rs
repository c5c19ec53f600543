//! Reading a sign-in log file as a stream of records, in bounded memory.
//!
//! Three layouts are recognised from the first bytes of the file:
//!
//! * a JSON array of records (`[...]`, what the Entra portal's "Download JSON" writes);
//! * a Graph collection `{"value": [...]}` (a `GET /auditLogs/signIns` page), recognised by
//!   its first member (`value`, `@odata.context`, `@odata.count`, `@odata.nextLink`);
//! * JSON lines, one record per line (`gardien serve`'s export, `jq -c '.value[]'`).
//!
//! Arrays and collections are streamed element by element (a custom visitor over the
//! sequence): a file of any size is read with one record in memory at a time. A JSON
//! syntax error stops the file with its line and column; a well-formed element that is not
//! an object is handed on as [`Element::NotAnObject`] and counted as skipped by replay.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::io::{BufRead, Cursor, Read};

use super::record::Element;

/// How many bytes are looked at to recognise the layout.
const PEEK: usize = 4096;

/// Where a record is in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Position {
    /// Line of a JSON-lines file (1-based).
    Line(u64),
    /// Element of an array document (0-based index, as in a JSON pointer).
    Element {
        /// Index in the array.
        index: u64,
        /// The array is the `value` member of a Graph collection.
        in_value: bool,
    },
}

impl Position {
    /// `file:line` for JSON lines, `file: /value/3` (a JSON pointer) for array elements.
    pub fn describe(&self, file: &str) -> String {
        match self {
            Position::Line(n) => format!("{file}:{n}"),
            Position::Element {
                index,
                in_value: true,
            } => format!("{file}: /value/{index}"),
            Position::Element {
                index,
                in_value: false,
            } => format!("{file}: /{index}"),
        }
    }
}

/// The layout of a log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One JSON record per line.
    JsonLines,
    /// A JSON array of records.
    Array,
    /// A Graph collection `{"value": [...]}`.
    Collection,
}

/// A log file that cannot be read: the file, where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LogError {
    /// The file, as named by the caller.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// What is wrong.
    pub reason: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.reason)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Reading stopped: the file is unreadable, or the consumer of the records failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E: fmt::Debug + fmt::Display> {
    /// The file could not be read or parsed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The consumer returned an error (reading stopped there).
    #[error("{0}")]
    Sink(E),
}

/// Recognises the layout from the first bytes; returns it with the length of a UTF-8 byte
/// order mark to skip.
fn detect(file: &str, head: &[u8]) -> Result<(Layout, usize), LogError> {
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(LogError {
            file: file.to_owned(),
            line: None,
            column: None,
            reason: "the file is UTF-16; sign-in logs are read as UTF-8".to_owned(),
            help: Some(
                "convert it first, e.g. `iconv -f UTF-16 -t UTF-8 in.json > out.json`".to_owned(),
            ),
        });
    }
    let bom = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    let rest = head.get(bom..).unwrap_or_default();
    let mut bytes = rest.iter().copied().skip_while(u8::is_ascii_whitespace);
    let layout = match bytes.next() {
        Some(b'[') => Layout::Array,
        Some(b'{') => {
            let mut after = bytes.skip_while(u8::is_ascii_whitespace);
            if after.next() == Some(b'"') {
                let key: Vec<u8> = after.take_while(|b| *b != b'"' && *b != b'\\').collect();
                let collection = ["value", "@odata.context", "@odata.count", "@odata.nextLink"]
                    .iter()
                    .any(|k| k.as_bytes().eq_ignore_ascii_case(&key));
                if collection {
                    Layout::Collection
                } else {
                    Layout::JsonLines
                }
            } else {
                Layout::JsonLines
            }
        }
        _ => Layout::JsonLines,
    };
    Ok((layout, bom))
}

fn io_error(file: &str, e: &std::io::Error) -> LogError {
    LogError {
        file: file.to_owned(),
        line: None,
        column: None,
        reason: format!("cannot read: {e}"),
        help: None,
    }
}

/// serde_json's message without its " at line L column C" suffix.
fn bare_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// Reads every record of a log file, calling `sink` with each one in file order.
///
/// `file` names the file in errors and positions. Returns the layout that was read.
pub fn read_log<R, E, F>(file: &str, mut reader: R, mut sink: F) -> Result<Layout, ReadError<E>>
where
    R: BufRead,
    E: fmt::Debug + fmt::Display,
    F: FnMut(Position, Element<'_>) -> Result<(), E>,
{
    let mut head = Vec::with_capacity(PEEK);
    (&mut reader)
        .take(PEEK as u64)
        .read_to_end(&mut head)
        .map_err(|e| io_error(file, &e))?;
    let (layout, bom) = detect(file, &head)?;
    let mut head = Cursor::new(head);
    head.set_position(bom as u64);
    let input = head.chain(reader);
    match layout {
        Layout::JsonLines => read_lines(file, input, &mut sink)?,
        Layout::Array | Layout::Collection => read_document(file, input, layout, &mut sink)?,
    }
    Ok(layout)
}

fn read_lines<R, E, F>(file: &str, mut input: R, sink: &mut F) -> Result<(), ReadError<E>>
where
    R: BufRead,
    E: fmt::Debug + fmt::Display,
    F: FnMut(Position, Element<'_>) -> Result<(), E>,
{
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|e| io_error(file, &e))?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Element<'_>>(&line) {
            Ok(element) => sink(Position::Line(number), element).map_err(ReadError::Sink)?,
            Err(e) => {
                let help = e.is_eof().then(|| {
                    "JSON lines hold one whole record per line; a pretty-printed export must be a JSON array or {\"value\": [...]}".to_owned()
                });
                return Err(ReadError::Log(LogError {
                    file: file.to_owned(),
                    line: Some(number),
                    column: Some(e.column() as u64),
                    reason: bare_message(&e),
                    help,
                }));
            }
        }
    }
}

fn read_document<R, E, F>(
    file: &str,
    input: R,
    layout: Layout,
    sink: &mut F,
) -> Result<(), ReadError<E>>
where
    R: Read,
    E: fmt::Debug + fmt::Display,
    F: FnMut(Position, Element<'_>) -> Result<(), E>,
{
    let mut de = serde_json::Deserializer::from_reader(input);
    let mut failed = None;
    let result = de.deserialize_any(Top {
        sink,
        failed: &mut failed,
    });
    if let Some(e) = failed {
        return Err(ReadError::Sink(e));
    }
    let located = |e: serde_json::Error| {
        let reason = if e.is_io() {
            format!("cannot read: {}", bare_message(&e))
        } else {
            bare_message(&e)
        };
        ReadError::Log(LogError {
            file: file.to_owned(),
            line: Some(e.line() as u64),
            column: Some(e.column() as u64),
            reason,
            help: None,
        })
    };
    result.map_err(located)?;
    de.end().map_err(|e| {
        let mut err = located(e);
        if let ReadError::Log(l) = &mut err {
            l.reason = match layout {
                Layout::Collection => "content after the `{\"value\": [...]}` document",
                _ => "content after the JSON array",
            }
            .to_owned();
            l.help = Some("give each document its own file, or use JSON lines".to_owned());
        }
        err
    })
}

/// The top-level value of an array or collection document.
struct Top<'s, F, E> {
    sink: &'s mut F,
    failed: &'s mut Option<E>,
}

/// Streams the elements of an array to the sink.
fn stream<'de, A, F, E>(
    mut seq: A,
    in_value: bool,
    sink: &mut F,
    failed: &mut Option<E>,
) -> Result<(), A::Error>
where
    A: SeqAccess<'de>,
    F: FnMut(Position, Element<'_>) -> Result<(), E>,
{
    let mut index = 0u64;
    while let Some(element) = seq.next_element::<Element<'de>>()? {
        if let Err(e) = sink(Position::Element { index, in_value }, element) {
            *failed = Some(e);
            return Err(de::Error::custom("replay stopped"));
        }
        index += 1;
    }
    Ok(())
}

impl<'de, F, E> Visitor<'de> for Top<'_, F, E>
where
    F: FnMut(Position, Element<'_>) -> Result<(), E>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of sign-in records or a Graph collection {\"value\": [...]}")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        stream(seq, false, self.sink, self.failed)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<TopKey>()? {
            match key {
                TopKey::Value if !found => {
                    found = true;
                    map.next_value_seed(ValueSeed {
                        sink: &mut *self.sink,
                        failed: &mut *self.failed,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if found {
            Ok(())
        } else {
            Err(de::Error::custom(
                "the collection has no `value` array of sign-in records",
            ))
        }
    }
}

/// The member name `value` (any other name is skipped).
enum TopKey {
    Value,
    Other,
}

impl<'de> de::Deserialize<'de> for TopKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TopKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TopKey, E> {
                Ok(if v.eq_ignore_ascii_case("value") {
                    TopKey::Value
                } else {
                    TopKey::Other
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

/// The `value` member of a collection: streamed like a top-level array.
struct ValueSeed<'s, F, E> {
    sink: &'s mut F,
    failed: &'s mut Option<E>,
}

impl<'de, F, E> DeserializeSeed<'de> for ValueSeed<'_, F, E>
where
    F: FnMut(Position, Element<'_>) -> Result<(), E>,
{
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F, E> Visitor<'de> for ValueSeed<'_, F, E>
where
    F: FnMut(Position, Element<'_>) -> Result<(), E>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`value` to be an array of sign-in records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        stream(seq, true, self.sink, self.failed)
    }
}

#[cfg(test)]
#[allow(clippy::panic, reason = "test failures report through panics")]
mod tests {
    use super::*;
    use crate::replay::record::text;

    type Seen = Vec<(Position, String)>;

    /// Reads a log from text; returns the layout and `(position, userId or kind)` per record.
    fn read(text_in: &str) -> Result<(Layout, Seen), ReadError<String>> {
        let mut seen = Vec::new();
        let layout = read_log("log.json", text_in.as_bytes(), |pos, e| {
            let what = match e {
                Element::Record(r) => text(&r.user_id).unwrap_or("?").to_owned(),
                Element::NotAnObject(kind) => kind.to_owned(),
            };
            seen.push((pos, what));
            Ok::<(), String>(())
        })?;
        Ok((layout, seen))
    }

    #[test]
    fn the_three_layouts() {
        let lines = "{\"userId\":\"a\"}\n\n{\"userId\":\"b\"}\r\n";
        let (layout, seen) = read(lines).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(layout, Layout::JsonLines);
        assert_eq!(
            seen,
            vec![
                (Position::Line(1), "a".to_owned()),
                (Position::Line(3), "b".to_owned())
            ]
        );

        let array = "\u{feff}  [ {\"userId\":\"a\"}, 7, {\"userId\":\"b\"} ]  ";
        let (layout, seen) = read(array).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(layout, Layout::Array);
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[1].1, "a number");
        assert_eq!(seen[2].0.describe("f"), "f: /2");

        let collection =
            "{\"@odata.context\":\"x\",\"value\":[{\"userId\":\"a\"}],\"@odata.nextLink\":\"y\"}";
        let (layout, seen) = read(collection).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(layout, Layout::Collection);
        assert_eq!(seen[0].0.describe("f"), "f: /value/0");

        let (layout, seen) = read("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((layout, seen.len()), (Layout::JsonLines, 0));
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let err = read("{\"userId\":\"a\"}\n{\"userId\": \"b\",,}\n").err();
        let text_err = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(text_err.starts_with("log.json:2:16: "), "{text_err}");

        let err = read("{\n  \"userId\": \"a\"\n}\n").err();
        let text_err = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text_err.starts_with("log.json:1:") && text_err.contains("help: JSON lines"),
            "{text_err}"
        );

        let err = read("[{\"userId\":\"a\"},\n {\"userId\" \"b\"}]").err();
        let text_err = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(text_err.starts_with("log.json:2:12: "), "{text_err}");

        let err = read("{\"value\": 3}").err();
        let text_err = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(text_err.contains("`value` to be an array"), "{text_err}");

        let err = read("[] []").err();
        let text_err = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text_err.contains("content after the JSON array"),
            "{text_err}"
        );
    }

    #[test]
    fn a_sink_error_stops_the_stream() {
        let mut n = 0;
        let r = read_log(
            "f",
            "[{\"userId\":\"a\"},{\"userId\":\"b\"},{\"userId\":\"c\"}]".as_bytes(),
            |_, _| {
                n += 1;
                if n == 2 { Err("full") } else { Ok(()) }
            },
        );
        assert!(matches!(r, Err(ReadError::Sink("full"))));
        assert_eq!(n, 2);
    }

    #[test]
    fn utf16_is_refused() {
        let err = read_log("f", &[0xFFu8, 0xFE, b'[', 0][..], |_, _| {
            Ok::<(), String>(())
        })
        .err();
        assert!(err.is_some_and(|e| e.to_string().contains("UTF-16")));
    }
}

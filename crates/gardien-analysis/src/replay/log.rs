//! Reading a sign-in log file as a stream of records, in bounded memory.
//!
//! Three layouts are recognised from the first bytes of the file:
//!
//! * a JSON array of records (`[...]`, what the Entra portal's "Download JSON" writes);
//! * a Graph collection `{"value": [...]}` (a `GET /auditLogs/signIns` page), recognised by
//!   its first member (`value`, `@odata.context`, `@odata.count`, `@odata.nextLink`);
//! * JSON lines, one record per line (`gardien serve`'s export, `jq -c '.value[]'`).
//!
//! Arrays and collections are streamed element by element: a scanner that tracks strings,
//! escapes and nesting (not a parser) cuts the array into its elements, and each element's
//! bytes are parsed on their own, so that strings are borrowed and a file of any size is read
//! with one record in memory at a time. (Deserializing the whole document from a reader with
//! a visitor over the `value` sequence works too, but reads byte by byte, about three times
//! slower.) A JSON syntax error stops the file with its line and column; a well-formed element
//! that is not an object is handed on as [`Element::NotAnObject`] and counted as skipped by
//! replay.

use std::fmt;
use std::io::{BufRead, Cursor, Read};

use gardien_core::signin_log::Element;

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

/// Line and column bookkeeping of consumed bytes: newlines seen, and the number of bytes
/// after the last newline (`None` when there was none).
fn delta(bytes: &[u8]) -> (u64, Option<u64>) {
    match bytes.iter().rposition(|&b| b == b'\n') {
        None => (0, None),
        Some(last) => (
            bytes.iter().filter(|&&b| b == b'\n').count() as u64,
            Some((bytes.len() - last - 1) as u64),
        ),
    }
}

/// Splits an array document into its elements without parsing them: strings, escapes and
/// nesting are tracked so that each element's bytes can be handed whole to the JSON parser
/// (which then borrows its strings from them). One element is in memory at a time.
struct Scanner<'f, R> {
    file: &'f str,
    input: R,
    /// 1-based line of the next byte.
    line: u64,
    /// 1-based column of the next byte.
    column: u64,
}

impl<'f, R: BufRead> Scanner<'f, R> {
    fn error(&self, reason: impl Into<String>) -> LogError {
        LogError {
            file: self.file.to_owned(),
            line: Some(self.line),
            column: Some(self.column),
            reason: reason.into(),
            help: None,
        }
    }

    fn consume(&mut self, n: usize, moved: (u64, Option<u64>), len: u64) {
        self.input.consume(n);
        match moved {
            (_, None) => self.column += len,
            (lines, Some(after)) => {
                self.line += lines;
                self.column = after + 1;
            }
        }
    }

    /// Skips whitespace; returns the next byte without consuming it (`None` at the end).
    fn peek(&mut self) -> Result<Option<u8>, LogError> {
        loop {
            let buf = self.input.fill_buf().map_err(|e| io_error(self.file, &e))?;
            if buf.is_empty() {
                return Ok(None);
            }
            let n = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            let next = buf.get(n).copied();
            let moved = delta(&buf[..n]);
            self.consume(n, moved, n as u64);
            if next.is_some() {
                return Ok(next);
            }
        }
    }

    /// Consumes the byte [`Scanner::peek`] returned (never a newline).
    fn bump(&mut self) {
        self.consume(1, (0, None), 1);
    }

    /// Copies the next JSON value's bytes into `out` (after whitespace).
    fn value(&mut self, out: &mut Vec<u8>) -> Result<(), LogError> {
        out.clear();
        let first = self
            .peek()?
            .ok_or_else(|| self.error("EOF while parsing a value"))?;
        let scalar = !matches!(first, b'{' | b'[' | b'"');
        let (mut depth, mut in_string, mut escape) = (0u32, false, false);
        loop {
            let buf = self.input.fill_buf().map_err(|e| io_error(self.file, &e))?;
            if buf.is_empty() {
                return Err(self.error("EOF while parsing a value"));
            }
            let mut end = None;
            for (i, &b) in buf.iter().enumerate() {
                if scalar {
                    if matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace() {
                        end = Some(i);
                        break;
                    }
                } else if in_string {
                    if escape {
                        escape = false;
                    } else if b == b'\\' {
                        escape = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                end = Some(i + 1);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            let n = end.unwrap_or(buf.len());
            out.extend_from_slice(&buf[..n]);
            let moved = delta(&buf[..n]);
            self.consume(n, moved, n as u64);
            if end.is_some() {
                if out.is_empty() {
                    return Err(self.error("expected a value"));
                }
                return Ok(());
            }
        }
    }

    /// Streams the elements of an array whose `[` was consumed.
    fn array<E, F>(
        &mut self,
        in_value: bool,
        element: &mut Vec<u8>,
        sink: &mut F,
    ) -> Result<(), ReadError<E>>
    where
        E: fmt::Debug + fmt::Display,
        F: FnMut(Position, Element<'_>) -> Result<(), E>,
    {
        if self.peek()? == Some(b']') {
            self.bump();
            return Ok(());
        }
        let mut index = 0u64;
        loop {
            self.peek()?;
            let (line, column) = (self.line, self.column);
            self.value(element)?;
            let parsed = serde_json::from_slice::<Element<'_>>(element).map_err(|e| {
                let at = e.line() as u64;
                LogError {
                    file: self.file.to_owned(),
                    line: Some(line + at.saturating_sub(1)),
                    column: Some(if at <= 1 {
                        column + (e.column() as u64).saturating_sub(1)
                    } else {
                        e.column() as u64
                    }),
                    reason: bare_message(&e),
                    help: None,
                }
            })?;
            sink(Position::Element { index, in_value }, parsed).map_err(ReadError::Sink)?;
            index += 1;
            match self.peek()? {
                Some(b',') => self.bump(),
                Some(b']') => {
                    self.bump();
                    return Ok(());
                }
                Some(_) => return Err(self.error("expected `,` or `]` after an element").into()),
                None => return Err(self.error("EOF while parsing an array").into()),
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
    R: BufRead,
    E: fmt::Debug + fmt::Display,
    F: FnMut(Position, Element<'_>) -> Result<(), E>,
{
    let mut s = Scanner {
        file,
        input,
        line: 1,
        column: 1,
    };
    let mut element = Vec::new();
    let open = if layout == Layout::Collection {
        b'{'
    } else {
        b'['
    };
    if s.peek()? != Some(open) {
        return Err(s
            .error("expected a JSON array or a {\"value\": [...]} collection")
            .into());
    }
    s.bump();
    if layout == Layout::Array {
        s.array(false, &mut element, sink)?;
    } else {
        let mut found = false;
        let mut scratch = Vec::new();
        if s.peek()? == Some(b'}') {
            s.bump();
        } else {
            loop {
                if s.peek()? != Some(b'"') {
                    return Err(s.error("expected a member name").into());
                }
                s.value(&mut scratch)?;
                let key: String = serde_json::from_slice(&scratch)
                    .map_err(|e| s.error(format!("member name: {}", bare_message(&e))))?;
                if s.peek()? != Some(b':') {
                    return Err(s.error("expected `:` after a member name").into());
                }
                s.bump();
                if key.eq_ignore_ascii_case("value") && !found {
                    found = true;
                    if s.peek()? != Some(b'[') {
                        return Err(s
                            .error("`value` must be an array of sign-in records")
                            .into());
                    }
                    s.bump();
                    s.array(true, &mut element, sink)?;
                } else {
                    s.value(&mut scratch)?;
                }
                match s.peek()? {
                    Some(b',') => s.bump(),
                    Some(b'}') => {
                        s.bump();
                        break;
                    }
                    _ => return Err(s.error("expected `,` or `}` in the collection").into()),
                }
            }
        }
        if !found {
            return Err(s
                .error("the collection has no `value` array of sign-in records")
                .into());
        }
    }
    if s.peek()?.is_some() {
        let mut e = s.error(match layout {
            Layout::Collection => "content after the `{\"value\": [...]}` document",
            _ => "content after the JSON array",
        });
        e.help = Some("give each document its own file, or use JSON lines".to_owned());
        return Err(e.into());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::panic, reason = "test failures report through panics")]
mod tests {
    use super::*;
    use gardien_core::signin_log::record::text;

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
        assert!(text_err.contains("`value` must be an array"), "{text_err}");

        let err = read("[] []").err();
        let text_err = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text_err.contains("content after the JSON array"),
            "{text_err}"
        );
    }

    #[test]
    fn the_scanner_respects_strings_escapes_and_nesting() {
        let doc = concat!(
            "{\"@odata.context\": \"a ] } [ { , \\\" \\\\\",\n",
            " \"@odata.count\": 3, \"nested\": {\"value\": [1, {\"x\": \"]\"}]},\n",
            " \"value\": [\n",
            "  {\"userId\": \"u]1\", \"tags\": [[\"}\"], {}], \"note\": \"\\\"{[\\\\\"},\n",
            "  3.5e2 ,\"s\",true,null,\n",
            "  {\"userId\": \"\\u00e9t\u{e9}\"}\n",
            " ],\n",
            " \"@odata.nextLink\": null}\n",
        );
        let (layout, seen) = read(doc).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(layout, Layout::Collection);
        let what: Vec<&str> = seen.iter().map(|(_, w)| w.as_str()).collect();
        assert_eq!(
            what,
            vec![
                "u]1",
                "a number",
                "a string",
                "a boolean",
                "null",
                "\u{e9}t\u{e9}"
            ]
        );
        assert_eq!(seen[5].0.describe("f"), "f: /value/5");
        assert_eq!(read("{\"value\": []}").map(|(_, s)| s.len()).ok(), Some(0));
        assert_eq!(read("[]").map(|(_, s)| s.len()).ok(), Some(0));
    }

    #[test]
    fn scanner_errors_name_line_and_column() {
        let cases = [
            (
                "[\n  {\"userId\": \"a\"},\n  {\n    \"userId\": 1 2\n  }\n]",
                "log.json:4:17: ",
            ),
            (
                "[{\"userId\": \"a\"}\n {\"userId\": \"b\"}]",
                "log.json:2:2: expected `,` or `]`",
            ),
            (
                "[{\"userId\": \"a\"},",
                "log.json:1:18: EOF while parsing a value",
            ),
            (
                "[{\"userId\": \"a",
                "log.json:1:15: EOF while parsing a value",
            ),
            (
                "{\"@odata.context\": \"x\"}",
                "log.json:1:24: the collection has no `value` array",
            ),
            (
                "{\"value\": [], 3: 4}",
                "log.json:1:15: expected a member name",
            ),
            ("[,]", "log.json:1:2: expected a value"),
        ];
        for (doc, want) in cases {
            let e = read(doc).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.starts_with(want), "{doc:?}: {e}");
        }
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

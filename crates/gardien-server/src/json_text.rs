//! Compact JSON text of any `Serialize` value, byte for byte what `serde_json::to_string`
//! writes, for the texts every decision writes (the sign-in record, `/v1/evaluate`'s report).
//!
//! serde_json looks at every byte of every string through a table; a record is ~100 strings
//! (its keys included) and ~2 KB, and that loop was the largest single cost of an allowed
//! forward-auth request. Here strings are scanned 8 bytes at a time and copied in runs, the
//! text is written straight into a `String` (no UTF-8 check at the end: only whole `&str`
//! runs and ASCII escapes are appended) sized once, and the byte offset of a top-level
//! member's value can be noted on the way ([`to_string_noting`]), so the caller need not
//! search the text for it afterwards.
//!
//! Numbers: integers are written here; floats go through serde_json itself (the same
//! shortest round-trip digits; NaN and infinities as `null`). `serde_json::value::RawValue`
//! is written as it is, as serde_json does. Map keys follow serde_json's rules (strings,
//! characters, integers and booleans as strings; anything else is an error).

use serde::ser::{self, Impossible, Serialize};
use std::fmt::{self, Display};

/// The token serde_json's `RawValue` serializes under (its struct and field name).
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Why a value has no JSON text (a map key that is not a string, a failing `Serialize`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(String);

impl ser::Error for JsonError {
    fn custom<T: Display>(msg: T) -> Self {
        JsonError(msg.to_string())
    }
}

/// The compact JSON text of `value`, as `serde_json::to_string` writes it.
pub fn to_string<T: Serialize + ?Sized>(value: &T, capacity: usize) -> Result<String, JsonError> {
    let mut w = Writer::new(capacity);
    value.serialize(&mut w)?;
    Ok(w.out)
}

/// As [`to_string`], with the byte offset where the value of the top-level member `key`
/// starts (`None` when the value is not an object or has no such member).
pub fn to_string_noting<T: Serialize + ?Sized>(
    value: &T,
    capacity: usize,
    key: &'static str,
) -> Result<(String, Option<usize>), JsonError> {
    let (text, [span]) = to_string_spans(value, capacity, [key])?;
    Ok((text, span.map(|s| s.0)))
}

/// Where a member's value is in a text: its first byte and the byte after its last.
pub type Span = (usize, usize);

/// As [`to_string`], with where the values of the top-level members `keys` are (`None`
/// for a key the value has not; the first member of a repeated key).
pub fn to_string_spans<T: Serialize + ?Sized, const N: usize>(
    value: &T,
    capacity: usize,
    keys: [&'static str; N],
) -> Result<(String, [Option<Span>; N]), JsonError> {
    let mut spans = [None; N];
    let mut w = Writer {
        out: String::with_capacity(capacity),
        depth: 0,
        wanted: &keys,
        spans: &mut spans,
    };
    value.serialize(&mut w)?;
    Ok((w.out, spans))
}

/// The serializer: the text so far, the depth of the object being written, and the
/// top-level members whose values' spans are wanted.
struct Writer<'k> {
    out: String,
    depth: usize,
    wanted: &'k [&'static str],
    spans: &'k mut [Option<Span>],
}

impl Writer<'_> {
    fn new(capacity: usize) -> Self {
        Writer {
            out: String::with_capacity(capacity),
            depth: 0,
            wanted: &[],
            spans: &mut [],
        }
    }

    fn integer(&mut self, v: impl Into<i128>) {
        let v: i128 = v.into();
        if v < 0 {
            self.out.push('-');
        }
        self.unsigned(v.unsigned_abs());
    }

    fn unsigned(&mut self, mut v: u128) {
        let mut digits = [0u8; 40];
        let mut at = digits.len();
        loop {
            at -= 1;
            // `v % 10` is below 10: the cast keeps it.
            digits[at] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        for d in &digits[at..] {
            self.out.push(char::from(*d));
        }
    }

    fn float(&mut self, text: Result<String, serde_json::Error>) -> Result<(), JsonError> {
        let text = text.map_err(|e| JsonError(e.to_string()))?;
        self.out.push_str(&text);
        Ok(())
    }
}

/// Whether any byte of `x` is a control character, `"` or `\`.
fn needs_escape(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below_space = x.wrapping_sub(ONES * 0x20) & !x;
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    ((below_space
        | (quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash))
        & HIGHS)
        != 0
}

/// Whether a byte is written escaped: a control character, `"` or `\`.
fn escaped(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// The first byte from `from` on that is written escaped, looking 8 bytes at a time; fewer
/// than 8 bytes left are looked at as the string's last 8 bytes when it has them since
/// `from` (those before are known clean), else one by one.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(word) = bytes.get(i..).and_then(|rest| rest.first_chunk::<8>()) {
        if needs_escape(u64::from_le_bytes(*word))
            && let Some(k) = word.iter().position(|b| escaped(*b))
        {
            return Some(i + k);
        }
        i += 8;
    }
    let tail = bytes.get(i..).unwrap_or_default();
    if tail.is_empty() {
        return None;
    }
    if let Some(last) = bytes.get(from..).and_then(|since| since.last_chunk::<8>())
        && !needs_escape(u64::from_le_bytes(*last))
    {
        return None;
    }
    tail.iter().position(|b| escaped(*b)).map(|k| i + k)
}

/// Appends `s` as a JSON string, quotes included, escaped as serde_json escapes.
pub fn push_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(i) = next_escape(bytes, start) {
        // `i` is at an ASCII byte: a character boundary.
        out.push_str(s.get(start..i).unwrap_or_default());
        let b = bytes[i];
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

impl<'a, 'k> ser::Serializer for &'a mut Writer<'k> {
    type Ok = ();
    type Error = JsonError;
    type SerializeSeq = Compound<'a, 'k>;
    type SerializeTuple = Compound<'a, 'k>;
    type SerializeTupleStruct = Compound<'a, 'k>;
    type SerializeTupleVariant = Compound<'a, 'k>;
    type SerializeMap = Compound<'a, 'k>;
    type SerializeStruct = Compound<'a, 'k>;
    type SerializeStructVariant = Compound<'a, 'k>;

    fn serialize_bool(self, v: bool) -> Result<(), JsonError> {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), JsonError> {
        self.integer(v);
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<(), JsonError> {
        self.integer(v);
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result<(), JsonError> {
        self.integer(v);
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result<(), JsonError> {
        self.integer(v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), JsonError> {
        self.integer(v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), JsonError> {
        self.unsigned(v.into());
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<(), JsonError> {
        self.unsigned(v.into());
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<(), JsonError> {
        self.unsigned(v.into());
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), JsonError> {
        self.unsigned(v.into());
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), JsonError> {
        self.unsigned(v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), JsonError> {
        self.float(serde_json::to_string(&v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), JsonError> {
        self.float(serde_json::to_string(&v))
    }
    fn serialize_char(self, v: char) -> Result<(), JsonError> {
        push_str(&mut self.out, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), JsonError> {
        push_str(&mut self.out, v);
        Ok(())
    }
    /// A `Display` value as a string written straight into the text (serde's default
    /// formats it into a `String` of its own first: the report's and the record's condition
    /// flags and grant states, several per policy); re-written escaped only when a byte
    /// needs it.
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), JsonError> {
        use std::fmt::Write as _;
        let start = self.out.len();
        self.out.push('"');
        write!(self.out, "{value}").map_err(|e: fmt::Error| JsonError(e.to_string()))?;
        if next_escape(self.out.as_bytes(), start + 1).is_some() {
            let written = self.out.split_off(start + 1);
            self.out.truncate(start);
            push_str(&mut self.out, &written);
        } else {
            self.out.push('"');
        }
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), JsonError> {
        self.out.push('[');
        for (n, b) in v.iter().enumerate() {
            if n > 0 {
                self.out.push(',');
            }
            self.unsigned(u128::from(*b));
        }
        self.out.push(']');
        Ok(())
    }
    fn serialize_none(self) -> Result<(), JsonError> {
        self.out.push_str("null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), JsonError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), JsonError> {
        self.out.push_str("null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), JsonError> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), JsonError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        self.out.push('{');
        push_str(&mut self.out, variant);
        self.out.push(':');
        self.depth += 1;
        value.serialize(&mut *self)?;
        self.depth -= 1;
        self.out.push('}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a, 'k>, JsonError> {
        self.out.push('[');
        self.depth += 1;
        Ok(Compound::new(self, Close::Array))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'k>, JsonError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'k>, JsonError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, 'k>, JsonError> {
        self.out.push('{');
        push_str(&mut self.out, variant);
        self.out.push_str(":[");
        self.depth += 1;
        Ok(Compound::new(self, Close::ArrayInObject))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a, 'k>, JsonError> {
        self.out.push('{');
        self.depth += 1;
        Ok(Compound::new(self, Close::Object))
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Compound<'a, 'k>, JsonError> {
        if name == RAW_VALUE_TOKEN {
            return Ok(Compound::new(self, Close::Raw));
        }
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, 'k>, JsonError> {
        self.out.push('{');
        push_str(&mut self.out, variant);
        self.out.push_str(":{");
        self.depth += 1;
        Ok(Compound::new(self, Close::ObjectInObject))
    }
}

/// How a compound ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Close {
    Array,
    ArrayInObject,
    Object,
    ObjectInObject,
    /// A `RawValue`: its one field is the text itself.
    Raw,
}

/// An array or object being written.
struct Compound<'a, 'k> {
    w: &'a mut Writer<'k>,
    close: Close,
    first: bool,
}

impl<'a, 'k> Compound<'a, 'k> {
    fn new(w: &'a mut Writer<'k>, close: Close) -> Self {
        Compound {
            w,
            close,
            first: true,
        }
    }

    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.w.out.push(',');
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.comma();
        value.serialize(&mut *self.w)
    }

    fn member<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        if self.close == Close::Raw {
            return value.serialize(RawText(&mut self.w.out));
        }
        self.comma();
        push_str(&mut self.w.out, key);
        self.w.out.push(':');
        let noted = match self.w.wanted.iter().position(|k| *k == key) {
            Some(n) if self.w.depth == 1 && self.w.spans.get(n) == Some(&None) => Some(n),
            _ => None,
        };
        let start = self.w.out.len();
        value.serialize(&mut *self.w)?;
        if let Some(slot) = noted.and_then(|n| self.w.spans.get_mut(n)) {
            *slot = Some((start, self.w.out.len()));
        }
        Ok(())
    }

    fn finish(self) -> Result<(), JsonError> {
        let out = &mut self.w.out;
        match self.close {
            Close::Array => out.push(']'),
            Close::Object => out.push('}'),
            Close::ArrayInObject => out.push_str("]}"),
            Close::ObjectInObject => out.push_str("}}"),
            Close::Raw => return Ok(()),
        }
        self.w.depth -= 1;
        Ok(())
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.element(value)
    }
    fn end(self) -> Result<(), JsonError> {
        self.finish()
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.element(value)
    }
    fn end(self) -> Result<(), JsonError> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.element(value)
    }
    fn end(self) -> Result<(), JsonError> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.element(value)
    }
    fn end(self) -> Result<(), JsonError> {
        self.finish()
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), JsonError> {
        self.comma();
        key.serialize(MapKey(&mut self.w.out))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.w.out.push(':');
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), JsonError> {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        self.member(key, value)
    }
    fn end(self) -> Result<(), JsonError> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        self.member(key, value)
    }
    fn end(self) -> Result<(), JsonError> {
        self.finish()
    }
}

fn not_text() -> JsonError {
    JsonError("expected the text of a RawValue".to_owned())
}

fn bad_key() -> JsonError {
    JsonError("key must be a string".to_owned())
}

/// The only field of a `RawValue`: its text, appended as it is.
struct RawText<'a>(&'a mut String);

/// A map key: strings as they are; integers, booleans and characters as strings.
struct MapKey<'a>(&'a mut String);

impl MapKey<'_> {
    fn quoted(self, text: impl Display) -> Result<(), JsonError> {
        use std::fmt::Write;
        self.0.push('"');
        write!(self.0, "{text}").map_err(|e: fmt::Error| JsonError(e.to_string()))?;
        self.0.push('"');
        Ok(())
    }
}

/// The `Serializer` methods of a serializer that takes only a string (`$method` gives the
/// string to `$take`) or, for map keys, also scalars; everything else is `$err`.
macro_rules! refuse {
    ($($method:ident($($arg:ty),*)),* ; $err:expr) => {
        $(fn $method(self, $(_: $arg),*) -> Result<(), JsonError> { Err($err) })*
    };
}

impl ser::Serializer for RawText<'_> {
    type Ok = ();
    type Error = JsonError;
    type SerializeSeq = Impossible<(), JsonError>;
    type SerializeTuple = Impossible<(), JsonError>;
    type SerializeTupleStruct = Impossible<(), JsonError>;
    type SerializeTupleVariant = Impossible<(), JsonError>;
    type SerializeMap = Impossible<(), JsonError>;
    type SerializeStruct = Impossible<(), JsonError>;
    type SerializeStructVariant = Impossible<(), JsonError>;

    fn serialize_str(self, v: &str) -> Result<(), JsonError> {
        self.0.push_str(v);
        Ok(())
    }
    refuse!(serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
        serialize_u64(u64), serialize_f32(f32), serialize_f64(f64), serialize_char(char),
        serialize_bytes(&[u8]), serialize_none(), serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str); not_text());
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), JsonError> {
        Err(not_text())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), JsonError> {
        Err(not_text())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), JsonError> {
        Err(not_text())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, JsonError> {
        Err(not_text())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, JsonError> {
        Err(not_text())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, JsonError> {
        Err(not_text())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, JsonError> {
        Err(not_text())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, JsonError> {
        Err(not_text())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, JsonError> {
        Err(not_text())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, JsonError> {
        Err(not_text())
    }
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = JsonError;
    type SerializeSeq = Impossible<(), JsonError>;
    type SerializeTuple = Impossible<(), JsonError>;
    type SerializeTupleStruct = Impossible<(), JsonError>;
    type SerializeTupleVariant = Impossible<(), JsonError>;
    type SerializeMap = Impossible<(), JsonError>;
    type SerializeStruct = Impossible<(), JsonError>;
    type SerializeStructVariant = Impossible<(), JsonError>;

    fn serialize_str(self, v: &str) -> Result<(), JsonError> {
        push_str(self.0, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), JsonError> {
        push_str(self.0, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), JsonError> {
        push_str(self.0, variant);
        Ok(())
    }
    fn serialize_bool(self, v: bool) -> Result<(), JsonError> {
        self.quoted(v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), JsonError> {
        self.quoted(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), JsonError> {
        self.quoted(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), JsonError> {
        self.quoted(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), JsonError> {
        self.quoted(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), JsonError> {
        self.quoted(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), JsonError> {
        self.quoted(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), JsonError> {
        self.quoted(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), JsonError> {
        self.quoted(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), JsonError> {
        self.quoted(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), JsonError> {
        self.quoted(v)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        value.serialize(self)
    }
    refuse!(serialize_f32(f32), serialize_f64(f64), serialize_bytes(&[u8]), serialize_none(),
        serialize_unit(), serialize_unit_struct(&'static str); bad_key());
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), JsonError> {
        Err(bad_key())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), JsonError> {
        Err(bad_key())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, JsonError> {
        Err(bad_key())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, JsonError> {
        Err(bad_key())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, JsonError> {
        Err(bad_key())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, JsonError> {
        Err(bad_key())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, JsonError> {
        Err(bad_key())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, JsonError> {
        Err(bad_key())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, JsonError> {
        Err(bad_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn same<T: Serialize + ?Sized>(value: &T) -> Result<(), String> {
        let ours = to_string(value, 16).map_err(|e| e.to_string())?;
        let theirs = serde_json::to_string(value).map_err(|e| e.to_string())?;
        if ours == theirs {
            Ok(())
        } else {
            Err(format!("ours:   {ours}\ntheirs: {theirs}"))
        }
    }

    /// A `Display` value: its text, escaped when it must be, as serde_json writes it.
    struct Shown(&'static str);

    impl Display for Shown {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Serialize for Shown {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(self)
        }
    }

    #[test]
    fn displayed_values_are_written_as_serde_json_writes_them() -> Result<(), String> {
        for text in [
            "",
            "application,users",
            "fail: mfa,compliantDevice",
            "a\"quote",
            "back\\slash and \n newline",
            "long text with no escape at all, more than eight bytes",
            "\u{1}",
            "é-漢字-\t",
        ] {
            same(&Shown(text))?;
            same(&[Shown(text), Shown("after")])?;
            same(&json!({"k": text}))?;
        }
        Ok(())
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() -> Result<(), String> {
        // Every byte value below 0x80 at every position of an 8-byte word, and text around it.
        for b in 0u8..0x80 {
            for pad in 0..10 {
                let s = format!("{}{}tail-é-ü-漢字", "x".repeat(pad), char::from(b));
                same(&s)?;
            }
        }
        for s in [
            "",
            "\"",
            "\\",
            "a\"b\\c\nd\re\tf\u{8}g\u{c}h\u{1}i\u{1f}j\u{7f}",
            "exactly8",
            "sixteen-bytes-ok",
            "\u{2028}\u{2029} line separators stay",
            "🙂 four-byte characters 🙂🙂",
        ] {
            same(s)?;
            same(&'"')?;
            same(&'é')?;
        }
        Ok(())
    }

    #[test]
    fn values_are_written_as_serde_json_writes_them() -> Result<(), String> {
        let raw = serde_json::value::RawValue::from_string("[1, {\"a\":2}]".to_owned())
            .map_err(|e| e.to_string())?;
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct S<'a> {
            raw: &'a serde_json::value::RawValue,
            min: i64,
            max: u64,
            wide: i128,
            small: i8,
            float: f64,
            nan: f64,
            whole: f64,
            tiny: f32,
            none: Option<u8>,
            unit: (),
            tuple: (u8, &'a str),
            bytes: &'a [u8],
            keys: std::collections::BTreeMap<u32, bool>,
            bool_keys: std::collections::BTreeMap<bool, ()>,
            e: Vec<E>,
        }
        #[derive(serde::Serialize)]
        enum E {
            Unit,
            New(u8),
            Tuple(u8, u8),
            Struct { a: u8 },
        }
        let s = S {
            raw: &raw,
            min: i64::MIN,
            max: u64::MAX,
            wide: -170_141_183_460_469_231_731_687_303_715_884_105_728,
            small: -8,
            float: 48.8566,
            nan: f64::NAN,
            whole: 2.0,
            tiny: 0.1,
            none: None,
            unit: (),
            tuple: (0, "x"),
            bytes: &[0, 255],
            keys: [(1, true), (20, false)].into_iter().collect(),
            bool_keys: [(true, ())].into_iter().collect(),
            e: vec![E::Unit, E::New(1), E::Tuple(1, 2), E::Struct { a: 3 }],
        };
        same(&s)?;
        same(&json!({"a": [1, -2, 3.5, null, true, {"b\"": "c\n"}], "": {}, "e": []}))?;
        same(&Vec::<u8>::new())?;
        Ok(())
    }

    #[test]
    fn the_offset_of_a_top_level_member_is_noted() -> Result<(), String> {
        #[derive(serde::Serialize)]
        struct Inner {
            k: u8,
        }
        #[derive(serde::Serialize)]
        struct Outer {
            x: Inner,
            k: [u8; 1],
            after: u8,
        }
        #[derive(serde::Serialize)]
        struct NestedOnly {
            x: Inner,
        }
        let v = Outer {
            x: Inner { k: 1 },
            k: [2],
            after: 3,
        };
        let (text, at) = to_string_noting(&v, 0, "k").map_err(|e| e.to_string())?;
        assert_eq!(text, serde_json::to_string(&v).map_err(|e| e.to_string())?);
        let at = at.ok_or("no offset")?;
        assert_eq!(&text[at..at + 3], "[2]");
        let (_, none) = to_string_noting(&v, 0, "missing").map_err(|e| e.to_string())?;
        assert_eq!(none, None);
        let nested = NestedOnly { x: Inner { k: 1 } };
        let (_, nested_only) = to_string_noting(&nested, 0, "k").map_err(|e| e.to_string())?;
        assert_eq!(nested_only, None);
        Ok(())
    }

    #[test]
    fn keys_that_are_not_strings_fail_as_with_serde_json() {
        let map: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        assert!(to_string(&map, 0).is_err());
        assert!(serde_json::to_string(&map).is_err());
    }
}

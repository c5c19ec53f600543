//! Entra device filter rules (`conditions.devices.deviceFilter.rule`) parsed into a tree that
//! the Cedar and Rego translations render as native expressions.
//!
//! Covered: the string properties and `isCompliant`; operators `-eq`, `-ne`, `-startsWith`,
//! `-notStartsWith`, `-endsWith`, `-notEndsWith`, `-contains`, `-notContains`, `-in`,
//! `-notIn`; `-and`, `-or`, `-not` and parentheses (`-not` binds tighter than `-and`, which
//! binds tighter than `-or`). Not covered (refused): the collections `physicalIds` and
//! `systemLabels`, and `extensionAttribute1..15` (visible only for managed devices).
//!
//! Semantics the translations keep: values compare case-insensitively (literals are
//! lower-cased here, the host lower-cases the device's values); a property the device does
//! not have (or an unregistered device) makes positive operators false and negative ones true.

use crate::{Error, error};

/// String properties a filter can read, by their canonical name.
pub const STRING_PROPERTIES: &[&str] = &[
    "deviceId",
    "displayName",
    "deviceOwnership",
    "enrollmentProfileName",
    "manufacturer",
    "mdmAppId",
    "model",
    "operatingSystem",
    "operatingSystemVersion",
    "profileType",
    "trustType",
];

/// The boolean property.
pub const IS_COMPLIANT: &str = "isCompliant";

/// A positive comparison operator; negative ones are [`Expr::Not`] of [`Cmp`] with
/// `negated` set, so that null handling stays visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `-eq` / `-ne`.
    Eq,
    /// `-startsWith` / `-notStartsWith`.
    StartsWith,
    /// `-endsWith` / `-notEndsWith`.
    EndsWith,
    /// `-contains` / `-notContains`.
    Contains,
    /// `-in` / `-notIn`.
    In,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string, lower-cased.
    Str(String),
    /// `True` / `False` (`isCompliant` only).
    Bool(bool),
    /// `null` (`-eq` / `-ne` only).
    Null,
    /// A list, lower-cased (`-in` / `-notIn`).
    List(Vec<String>),
}

/// One comparison: `device.<property> <op> <value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmp {
    /// Canonical property name ([`STRING_PROPERTIES`] or [`IS_COMPLIANT`]).
    pub property: &'static str,
    /// Positive operator.
    pub op: Op,
    /// Whether the operator is the negative one (`-ne`, `-notIn`...): true when the property
    /// is missing, else the negation of the positive comparison.
    pub negated: bool,
    /// Value compared with.
    pub value: Value,
}

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Any of.
    Or(Vec<Expr>),
    /// All of.
    And(Vec<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// A comparison.
    Cmp(Cmp),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
    Str(String),
    Word(String),
}

fn tokenize(rule: &str) -> Result<Vec<Tok>, Error> {
    let mut out = Vec::new();
    let mut chars = rule.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => out.push(Tok::Open),
            ')' => out.push(Tok::Close),
            '[' => out.push(Tok::OpenList),
            ']' => out.push(Tok::CloseList),
            ',' => out.push(Tok::Comma),
            '"' | '\'' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(error("unterminated string")),
                        Some('\\') if c == '"' => {
                            if let Some(n) = chars.next() {
                                s.push(n);
                            }
                        }
                        Some(q) if q == c => {
                            if c == '\'' && chars.peek() == Some(&'\'') {
                                chars.next();
                                s.push('\'');
                            } else {
                                break;
                            }
                        }
                        Some(ch) => s.push(ch),
                    }
                }
                out.push(Tok::Str(s));
            }
            _ => {
                let mut w = String::from(c);
                while let Some(&ch) = chars.peek() {
                    if ch.is_whitespace() || "()[],\"'".contains(ch) {
                        break;
                    }
                    w.push(ch);
                    chars.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn keyword(&self, words: &[&str]) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if words.iter().any(|k| w.eq_ignore_ascii_case(k)))
    }
    fn or(&mut self) -> Result<Expr, Error> {
        let mut items = vec![self.and()?];
        while self.keyword(&["-or", "or"]) {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(flatten(items, Expr::Or))
    }
    fn and(&mut self) -> Result<Expr, Error> {
        let mut items = vec![self.unary()?];
        while self.keyword(&["-and", "and"]) {
            self.pos += 1;
            items.push(self.unary()?);
        }
        Ok(flatten(items, Expr::And))
    }
    fn unary(&mut self) -> Result<Expr, Error> {
        if self.keyword(&["-not", "not"]) {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::Open) {
            self.pos += 1;
            let e = self.or()?;
            return match self.next() {
                Some(Tok::Close) => Ok(e),
                other => Err(error(format!("expected `)`, found {other:?}"))),
            };
        }
        self.comparison().map(Expr::Cmp)
    }
    fn comparison(&mut self) -> Result<Cmp, Error> {
        let Some(Tok::Word(word)) = self.next() else {
            return Err(error("expected a property"));
        };
        let name = word
            .split_once('.')
            .filter(|(prefix, _)| prefix.eq_ignore_ascii_case("device"))
            .map(|(_, n)| n)
            .ok_or_else(|| error(format!("`{word}` is not a device property")))?;
        let property = STRING_PROPERTIES
            .iter()
            .chain(std::iter::once(&IS_COMPLIANT))
            .find(|p| p.eq_ignore_ascii_case(name))
            .copied()
            .ok_or_else(|| error(format!("property `{name}` is not translated")))?;
        let Some(Tok::Word(op_word)) = self.next() else {
            return Err(error("expected an operator"));
        };
        let bare = op_word.trim_start_matches('-').to_ascii_lowercase();
        let (op, negated) = match bare.as_str() {
            "eq" => (Op::Eq, false),
            "ne" => (Op::Eq, true),
            "startswith" => (Op::StartsWith, false),
            "notstartswith" => (Op::StartsWith, true),
            "endswith" => (Op::EndsWith, false),
            "notendswith" => (Op::EndsWith, true),
            "contains" => (Op::Contains, false),
            "notcontains" => (Op::Contains, true),
            "in" => (Op::In, false),
            "notin" => (Op::In, true),
            _ => return Err(error(format!("operator `{op_word}` is not translated"))),
        };
        let value = if op == Op::In {
            if self.next() != Some(Tok::OpenList) {
                return Err(error("expected a list after `-in`"));
            }
            let mut items = Vec::new();
            loop {
                match self.next() {
                    Some(Tok::Str(s) | Tok::Word(s)) => items.push(s.to_lowercase()),
                    Some(Tok::CloseList) if items.is_empty() => break,
                    other => return Err(error(format!("unexpected {other:?} in a list"))),
                }
                match self.next() {
                    Some(Tok::Comma) => {}
                    Some(Tok::CloseList) => break,
                    other => return Err(error(format!("expected `,` or `]`, found {other:?}"))),
                }
            }
            Value::List(items)
        } else {
            match self.next() {
                Some(Tok::Str(s)) => Value::Str(s.to_lowercase()),
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => Value::Null,
                other => return Err(error(format!("expected a value, found {other:?}"))),
            }
        };
        // isCompliant compares with booleans (a "True" string is a boolean); a boolean literal
        // on a string property compares with its text.
        let value = match (property == IS_COMPLIANT, value) {
            (true, Value::Str(s)) if s == "true" => Value::Bool(true),
            (true, Value::Str(s)) if s == "false" => Value::Bool(false),
            (true, v @ (Value::Bool(_) | Value::Null)) => v,
            (true, v) => return Err(error(format!("`isCompliant` compared with {v:?}"))),
            (false, Value::Bool(b)) => Value::Str(b.to_string()),
            (false, v) => v,
        };
        if value == Value::Null && op != Op::Eq {
            return Err(error("only `-eq` and `-ne` compare with null"));
        }
        if property == IS_COMPLIANT && op != Op::Eq {
            return Err(error("`isCompliant` takes `-eq` or `-ne`"));
        }
        Ok(Cmp {
            property,
            op,
            negated,
            value,
        })
    }
}

fn flatten(mut items: Vec<Expr>, combine: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        items.pop().unwrap_or_else(|| combine(Vec::new()))
    } else {
        combine(items)
    }
}

/// Parses a rule.
pub fn parse(rule: &str) -> Result<Expr, Error> {
    let mut p = Parser {
        toks: tokenize(rule)?,
        pos: 0,
    };
    let e = p.or()?;
    if let Some(t) = p.peek() {
        return Err(error(format!("unexpected {t:?} after the rule")));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_precedence_and_negatives() {
        let e = parse(
            "-not (device.model -startsWith \"A\") -and device.manufacturer -notIn [\"X\", 'y'] -or device.isCompliant -ne True",
        );
        let Ok(Expr::Or(items)) = e else {
            unreachable!("{e:?}")
        };
        assert_eq!(items.len(), 2);
        assert!(matches!(&items[0], Expr::And(a) if matches!(a[0], Expr::Not(_))));
        assert_eq!(
            items[1],
            Expr::Cmp(Cmp {
                property: IS_COMPLIANT,
                op: Op::Eq,
                negated: true,
                value: Value::Bool(true),
            })
        );
    }

    #[test]
    fn refuses_what_it_does_not_translate() {
        assert!(parse("device.extensionAttribute1 -eq \"a\"").is_err());
        assert!(parse("device.model -match \"a\"").is_err());
        assert!(parse("device.model -startsWith null").is_err());
    }
}

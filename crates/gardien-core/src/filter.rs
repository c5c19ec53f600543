//! Device filter rule language (docs/reference/entra-semantics.md §3.8), and the same syntax over
//! custom security attributes for application and service-principal filters
//! (docs/reference/entra-semantics.md §1.3, §1.5).
//!
//! Rules are parsed once into a small tree; [`DeviceFilterRule::matches`] walks it without
//! allocating. Values compare case-insensitively; a null property (unregistered device, or a
//! property the device does not have) makes positive operators false and negative ones true.

use std::fmt;

use crate::device::DeviceInfo;

pub use crate::limits::{MAX_RULE_DEPTH, MAX_RULE_LENGTH};

/// A device property a filter can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceProperty {
    /// `deviceId`.
    DeviceId,
    /// `displayName`.
    DisplayName,
    /// `deviceOwnership`.
    DeviceOwnership,
    /// `enrollmentProfileName`.
    EnrollmentProfileName,
    /// `isCompliant`.
    IsCompliant,
    /// `manufacturer`.
    Manufacturer,
    /// `mdmAppId`.
    MdmAppId,
    /// `model`.
    Model,
    /// `operatingSystem`.
    OperatingSystem,
    /// `operatingSystemVersion`.
    OperatingSystemVersion,
    /// `physicalIds` (collection).
    PhysicalIds,
    /// `profileType`.
    ProfileType,
    /// `systemLabels` (collection).
    SystemLabels,
    /// `trustType`.
    TrustType,
    /// `extensionAttribute1` … `extensionAttribute15`.
    ExtensionAttribute(u8),
}

const SIMPLE_PROPERTIES: [DeviceProperty; 14] = [
    DeviceProperty::DeviceId,
    DeviceProperty::DisplayName,
    DeviceProperty::DeviceOwnership,
    DeviceProperty::EnrollmentProfileName,
    DeviceProperty::IsCompliant,
    DeviceProperty::Manufacturer,
    DeviceProperty::MdmAppId,
    DeviceProperty::Model,
    DeviceProperty::OperatingSystem,
    DeviceProperty::OperatingSystemVersion,
    DeviceProperty::PhysicalIds,
    DeviceProperty::ProfileType,
    DeviceProperty::SystemLabels,
    DeviceProperty::TrustType,
];

impl DeviceProperty {
    /// Canonical camelCase name.
    pub fn name(&self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow::Borrowed;
        match self {
            DeviceProperty::DeviceId => Borrowed("deviceId"),
            DeviceProperty::DisplayName => Borrowed("displayName"),
            DeviceProperty::DeviceOwnership => Borrowed("deviceOwnership"),
            DeviceProperty::EnrollmentProfileName => Borrowed("enrollmentProfileName"),
            DeviceProperty::IsCompliant => Borrowed("isCompliant"),
            DeviceProperty::Manufacturer => Borrowed("manufacturer"),
            DeviceProperty::MdmAppId => Borrowed("mdmAppId"),
            DeviceProperty::Model => Borrowed("model"),
            DeviceProperty::OperatingSystem => Borrowed("operatingSystem"),
            DeviceProperty::OperatingSystemVersion => Borrowed("operatingSystemVersion"),
            DeviceProperty::PhysicalIds => Borrowed("physicalIds"),
            DeviceProperty::ProfileType => Borrowed("profileType"),
            DeviceProperty::SystemLabels => Borrowed("systemLabels"),
            DeviceProperty::TrustType => Borrowed("trustType"),
            DeviceProperty::ExtensionAttribute(n) => {
                std::borrow::Cow::Owned(format!("extensionAttribute{n}"))
            }
        }
    }

    fn parse(name: &str) -> Option<DeviceProperty> {
        if let Some(p) = SIMPLE_PROPERTIES
            .iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
        {
            return Some(*p);
        }
        let lower = name.to_ascii_lowercase();
        let n = lower
            .strip_prefix("extensionattribute")?
            .parse::<u8>()
            .ok()?;
        (1..=15)
            .contains(&n)
            .then_some(DeviceProperty::ExtensionAttribute(n))
    }

    fn allowed(&self, op: Op) -> bool {
        use Op::*;
        match self {
            DeviceProperty::DeviceId | DeviceProperty::MdmAppId => {
                matches!(op, Eq | Ne | In | NotIn)
            }
            DeviceProperty::DeviceOwnership
            | DeviceProperty::IsCompliant
            | DeviceProperty::ProfileType
            | DeviceProperty::TrustType => {
                matches!(op, Eq | Ne)
            }
            DeviceProperty::PhysicalIds | DeviceProperty::SystemLabels => {
                matches!(op, Contains | NotContains)
            }
            _ => true,
        }
    }
}

/// Comparison operators of the rule language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
    Contains,
    NotContains,
    In,
    NotIn,
}

const OPS: [(Op, &str); 10] = [
    (Op::Eq, "-eq"),
    (Op::Ne, "-ne"),
    (Op::StartsWith, "-startsWith"),
    (Op::NotStartsWith, "-notStartsWith"),
    (Op::EndsWith, "-endsWith"),
    (Op::NotEndsWith, "-notEndsWith"),
    (Op::Contains, "-contains"),
    (Op::NotContains, "-notContains"),
    (Op::In, "-in"),
    (Op::NotIn, "-notIn"),
];

impl Op {
    fn text(self) -> &'static str {
        OPS.iter()
            .find(|(o, _)| *o == self)
            .map(|(_, t)| *t)
            .unwrap_or("-eq")
    }
    fn is_negative(self) -> bool {
        matches!(
            self,
            Op::Ne | Op::NotStartsWith | Op::NotEndsWith | Op::NotContains | Op::NotIn
        )
    }
    fn positive(self) -> Op {
        match self {
            Op::Ne => Op::Eq,
            Op::NotStartsWith => Op::StartsWith,
            Op::NotEndsWith => Op::EndsWith,
            Op::NotContains => Op::Contains,
            Op::NotIn => Op::In,
            other => other,
        }
    }
}

/// A literal on the right of an operator.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Literal {
    Str(Box<str>),
    Bool(bool),
    Null,
    List(Vec<Box<str>>),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quote = |f: &mut fmt::Formatter<'_>, s: &str| {
            write!(f, "\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        };
        match self {
            Literal::Str(s) => quote(f, s),
            Literal::Bool(b) => write!(f, "{}", if *b { "True" } else { "False" }),
            Literal::Null => write!(f, "null"),
            Literal::List(items) => {
                write!(f, "[")?;
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ",")?;
                    }
                    quote(f, s)?;
                }
                write!(f, "]")
            }
        }
    }
}

/// What a comparison reads.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Property {
    Device(DeviceProperty),
    Attribute(Box<str>),
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Property::Device(p) => write!(f, "device.{}", p.name()),
            Property::Attribute(a) => write!(f, "CustomSecurityAttribute.{a}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Comparison {
    property: Property,
    op: Op,
    value: Literal,
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.property, self.op.text(), self.value)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Cmp(Comparison),
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join =
            |f: &mut fmt::Formatter<'_>, items: &[Expr], sep: &str, wrap_or: bool| -> fmt::Result {
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, " {sep} ")?;
                    }
                    if wrap_or && matches!(e, Expr::Or(_)) {
                        write!(f, "({e})")?;
                    } else {
                        write!(f, "{e}")?;
                    }
                }
                Ok(())
            };
        match self {
            Expr::Or(items) => join(f, items, "-or", false),
            Expr::And(items) => join(f, items, "-and", true),
            // `-not` binds tighter than `-and`: only a list needs parentheses. Wrapping a
            // nested `-not` too would double the rule's depth and could push it past
            // `MAX_RULE_DEPTH`.
            Expr::Not(e) => match e.as_ref() {
                Expr::Cmp(_) | Expr::Not(_) => write!(f, "-not {e}"),
                _ => write!(f, "-not ({e})"),
            },
            Expr::Cmp(c) => write!(f, "{c}"),
        }
    }
}

/// Why a rule cannot be parsed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterErrorKind {
    /// Longer than [`MAX_RULE_LENGTH`].
    #[error("rule is {length} characters long; the limit is {}", MAX_RULE_LENGTH)]
    TooLong {
        /// Length in characters.
        length: usize,
    },
    /// Parentheses and `-not` nest deeper than [`MAX_RULE_DEPTH`].
    #[error(
        "rule nests more than {} levels of parentheses and `-not`; the limit is {}",
        MAX_RULE_DEPTH,
        MAX_RULE_DEPTH
    )]
    TooDeep,
    /// The rule is empty.
    #[error("empty rule")]
    Empty,
    /// A quote is never closed.
    #[error("unterminated string")]
    UnterminatedString,
    /// Parentheses do not balance.
    #[error("unbalanced `{0}`")]
    Unbalanced(char),
    /// Something else was expected.
    #[error("expected {expected}, found `{found}`")]
    Unexpected {
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
    /// The rule ends too early.
    #[error("expected {0} at the end of the rule")]
    UnexpectedEnd(String),
    /// Unknown property.
    #[error("unknown property `{name}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownProperty {
        /// As written.
        name: String,
        /// The nearest known property.
        suggestion: Option<String>,
    },
    /// An operator of dynamic groups that Conditional Access does not support.
    #[error("operator `{0}` is not supported in Conditional Access filters")]
    UnsupportedOperator(String),
    /// Not an operator at all.
    #[error("unknown operator `{0}`")]
    UnknownOperator(String),
    /// The operator cannot be used on that property.
    #[error("operator `{op}` cannot be used with `{property}`")]
    OperatorNotAllowed {
        /// Property.
        property: String,
        /// Operator.
        op: String,
    },
    /// A list where a single value belongs, or the reverse.
    #[error("operator `{op}` takes {expected}")]
    ValueShape {
        /// Operator.
        op: String,
        /// What it takes.
        expected: &'static str,
    },
}

/// A rule that cannot be parsed, with the position (1-based character) of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at character {offset}: {kind}")]
pub struct FilterError {
    /// 1-based character position.
    pub offset: usize,
    /// What is wrong.
    pub kind: FilterErrorKind,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
    Word(String),
    Str(String),
}

fn tokenize(rule: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
    let chars: Vec<char> = rule.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let at = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | '[' | ']' | ',' => {
                out.push((
                    at,
                    match c {
                        '(' => Tok::Open,
                        ')' => Tok::Close,
                        '[' => Tok::OpenList,
                        ']' => Tok::CloseList,
                        _ => Tok::Comma,
                    },
                ));
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(FilterError {
                                offset: at,
                                kind: FilterErrorKind::UnterminatedString,
                            });
                        }
                        Some('\\') if quote == '"' => {
                            if let Some(n) = chars.get(i + 1) {
                                s.push(*n);
                            }
                            i += 2;
                        }
                        Some(q) if *q == quote => {
                            if quote == '\'' && chars.get(i + 1) == Some(&'\'') {
                                s.push('\'');
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push((at, Tok::Str(s)));
            }
            _ => {
                let start = i;
                while let Some(ch) = chars.get(i) {
                    if ch.is_whitespace() || matches!(ch, '(' | ')' | '[' | ']' | ',' | '"' | '\'')
                    {
                        break;
                    }
                    i += 1;
                }
                out.push((
                    at,
                    Tok::Word(chars.get(start..i).unwrap_or_default().iter().collect()),
                ));
            }
        }
    }
    Ok(out)
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Open => "(".into(),
        Tok::Close => ")".into(),
        Tok::OpenList => "[".into(),
        Tok::CloseList => "]".into(),
        Tok::Comma => ",".into(),
        Tok::Word(w) => w.clone(),
        Tok::Str(s) => format!("\"{s}\""),
    }
}

/// Which kind of properties a rule may read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Subject {
    Device,
    Attributes,
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    subject: Subject,
    /// Parentheses and `-not` currently open.
    depth: usize,
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }
    fn offset(&self) -> usize {
        self.toks.get(self.pos).map(|(o, _)| *o).unwrap_or(self.end)
    }
    fn err<T>(&self, kind: FilterErrorKind) -> Result<T, FilterError> {
        Err(FilterError {
            offset: self.offset(),
            kind,
        })
    }
    fn keyword(&self, words: &[&str]) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if words.iter().any(|k| w.eq_ignore_ascii_case(k)))
    }
    fn or(&mut self) -> Result<Expr, FilterError> {
        self.chain(&["-or", "or"], Self::and, Expr::Or)
    }
    fn and(&mut self) -> Result<Expr, FilterError> {
        self.chain(&["-and", "and"], Self::unary, Expr::And)
    }
    /// `operand (keyword operand)*`, one level of the precedence ladder.
    fn chain(
        &mut self,
        keyword: &[&str],
        operand: fn(&mut Self) -> Result<Expr, FilterError>,
        combine: fn(Vec<Expr>) -> Expr,
    ) -> Result<Expr, FilterError> {
        let mut items = vec![operand(self)?];
        while self.keyword(keyword) {
            self.pos += 1;
            items.push(operand(self)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or_else(|| combine(Vec::new()))
        } else {
            combine(items)
        })
    }
    /// One more level of parentheses or `-not`, refused past [`MAX_RULE_DEPTH`].
    fn enter(&mut self) -> Result<(), FilterError> {
        if self.depth >= MAX_RULE_DEPTH {
            return self.err(FilterErrorKind::TooDeep);
        }
        self.depth += 1;
        Ok(())
    }
    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.keyword(&["-not", "not"]) {
            self.enter()?;
            self.pos += 1;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        match self.peek() {
            Some(Tok::Open) => {
                let open_at = self.offset();
                self.enter()?;
                self.pos += 1;
                let e = self.or()?;
                self.depth -= 1;
                match self.peek() {
                    Some(Tok::Close) => {
                        self.pos += 1;
                        Ok(e)
                    }
                    None => Err(FilterError {
                        offset: open_at,
                        kind: FilterErrorKind::Unbalanced('('),
                    }),
                    Some(t) => self.err(FilterErrorKind::Unexpected {
                        expected: "`)`, `-and` or `-or`".into(),
                        found: tok_text(t),
                    }),
                }
            }
            _ => self.comparison().map(Expr::Cmp),
        }
    }
    fn property(&mut self) -> Result<Property, FilterError> {
        let Some(tok) = self.peek().cloned() else {
            return self.err(FilterErrorKind::UnexpectedEnd("a property".into()));
        };
        let Tok::Word(word) = tok else {
            if tok == Tok::Close {
                return self.err(FilterErrorKind::Unbalanced(')'));
            }
            return self.err(FilterErrorKind::Unexpected {
                expected: "a property such as `device.trustType`".into(),
                found: tok_text(&tok),
            });
        };
        let (prefix, name) = word.split_once('.').unwrap_or(("", word.as_str()));
        let prop = match self.subject {
            Subject::Device if prefix.eq_ignore_ascii_case("device") => {
                match DeviceProperty::parse(name) {
                    Some(p) => Property::Device(p),
                    None => {
                        let suggestion = SIMPLE_PROPERTIES
                            .iter()
                            .map(|p| p.name().into_owned())
                            .chain(std::iter::once("extensionAttribute1".to_owned()))
                            .map(|n| (edit_distance(&n, name), n))
                            .filter(|(d, _)| *d <= 2)
                            .min()
                            .map(|(_, n)| n);
                        return self.err(FilterErrorKind::UnknownProperty {
                            name: word.clone(),
                            suggestion,
                        });
                    }
                }
            }
            Subject::Attributes
                if prefix.eq_ignore_ascii_case("CustomSecurityAttribute") && name.contains('_') =>
            {
                Property::Attribute(name.into())
            }
            Subject::Device => {
                return self.err(FilterErrorKind::Unexpected {
                    expected: "a property such as `device.trustType`".into(),
                    found: word.clone(),
                });
            }
            Subject::Attributes => {
                return self.err(FilterErrorKind::Unexpected {
                    expected: "a property such as `CustomSecurityAttribute.Set_Name`".into(),
                    found: word.clone(),
                });
            }
        };
        self.pos += 1;
        Ok(prop)
    }
    fn operator(&mut self) -> Result<Op, FilterError> {
        let Some(tok) = self.peek().cloned() else {
            return self.err(FilterErrorKind::UnexpectedEnd("an operator".into()));
        };
        let Tok::Word(word) = tok else {
            return self.err(FilterErrorKind::Unexpected {
                expected: "an operator such as `-eq`".into(),
                found: tok_text(&tok),
            });
        };
        let bare = word.strip_prefix('-').unwrap_or(&word);
        if let Some((op, _)) = OPS
            .iter()
            .find(|(_, t)| t.get(1..).is_some_and(|t| t.eq_ignore_ascii_case(bare)))
        {
            self.pos += 1;
            return Ok(*op);
        }
        if ["match", "notMatch", "any", "all", "le", "ge", "lt", "gt"]
            .iter()
            .any(|u| u.eq_ignore_ascii_case(bare))
        {
            return self.err(FilterErrorKind::UnsupportedOperator(word.clone()));
        }
        self.err(FilterErrorKind::UnknownOperator(word.clone()))
    }
    fn scalar(&mut self, op: Op) -> Result<Literal, FilterError> {
        let Some(tok) = self.peek().cloned() else {
            return self.err(FilterErrorKind::UnexpectedEnd(format!(
                "a value after `{}`",
                op.text()
            )));
        };
        let lit = match tok {
            Tok::Str(s) => Literal::Str(s.into()),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => Literal::Null,
            Tok::OpenList => {
                return self.err(FilterErrorKind::ValueShape {
                    op: op.text().into(),
                    expected: "a single value, not a list",
                });
            }
            other => {
                return self.err(FilterErrorKind::Unexpected {
                    expected: format!("a value after `{}`", op.text()),
                    found: tok_text(&other),
                });
            }
        };
        self.pos += 1;
        Ok(lit)
    }
    fn comparison(&mut self) -> Result<Comparison, FilterError> {
        let property = self.property()?;
        let op_at = self.offset();
        let op = self.operator()?;
        let allowed = match &property {
            Property::Device(p) => p.allowed(op),
            Property::Attribute(_) => true,
        };
        if !allowed {
            return Err(FilterError {
                offset: op_at,
                kind: FilterErrorKind::OperatorNotAllowed {
                    property: property.to_string(),
                    op: op.text().into(),
                },
            });
        }
        let value = if matches!(op, Op::In | Op::NotIn) {
            if self.peek() != Some(&Tok::OpenList) {
                return self.err(FilterErrorKind::ValueShape {
                    op: op.text().into(),
                    expected: "a list such as `[\"a\",\"b\"]`",
                });
            }
            let open_at = self.offset();
            self.pos += 1;
            let mut items = Vec::new();
            loop {
                match self.peek().cloned() {
                    Some(Tok::Str(s)) => items.push(s.into_boxed_str()),
                    Some(Tok::Word(w)) if !w.starts_with('-') => items.push(w.into_boxed_str()),
                    Some(Tok::CloseList) if items.is_empty() => {
                        self.pos += 1;
                        break;
                    }
                    None => {
                        return Err(FilterError {
                            offset: open_at,
                            kind: FilterErrorKind::Unbalanced('['),
                        });
                    }
                    Some(t) => {
                        return self.err(FilterErrorKind::Unexpected {
                            expected: "a string in the list".into(),
                            found: tok_text(&t),
                        });
                    }
                }
                self.pos += 1;
                match self.peek() {
                    Some(Tok::Comma) => self.pos += 1,
                    Some(Tok::CloseList) => {
                        self.pos += 1;
                        break;
                    }
                    None => {
                        return Err(FilterError {
                            offset: open_at,
                            kind: FilterErrorKind::Unbalanced('['),
                        });
                    }
                    Some(t) => {
                        return self.err(FilterErrorKind::Unexpected {
                            expected: "`,` or `]`".into(),
                            found: tok_text(t),
                        });
                    }
                }
            }
            Literal::List(items)
        } else {
            let lit = self.scalar(op)?;
            if lit == Literal::Null && !matches!(op, Op::Eq | Op::Ne) {
                return self.err(FilterErrorKind::ValueShape {
                    op: op.text().into(),
                    expected: "a string; only `-eq` and `-ne` compare with null",
                });
            }
            lit
        };
        // isCompliant compares booleans; accept "True"/"False" strings.
        let value = match (&property, value) {
            (Property::Device(DeviceProperty::IsCompliant), Literal::Str(s))
                if s.eq_ignore_ascii_case("true") =>
            {
                Literal::Bool(true)
            }
            (Property::Device(DeviceProperty::IsCompliant), Literal::Str(s))
                if s.eq_ignore_ascii_case("false") =>
            {
                Literal::Bool(false)
            }
            (_, v) => v,
        };
        Ok(Comparison {
            property,
            op,
            value,
        })
    }
}

fn parse(rule: &str, subject: Subject) -> Result<Expr, FilterError> {
    let length = rule.chars().count();
    if length > MAX_RULE_LENGTH {
        return Err(FilterError {
            offset: MAX_RULE_LENGTH + 1,
            kind: FilterErrorKind::TooLong { length },
        });
    }
    let toks = tokenize(rule)?;
    if toks.is_empty() {
        return Err(FilterError {
            offset: 1,
            kind: FilterErrorKind::Empty,
        });
    }
    let mut p = Parser {
        toks,
        pos: 0,
        end: length + 1,
        subject,
        depth: 0,
    };
    let e = p.or()?;
    match p.peek() {
        None => Ok(e),
        Some(Tok::Close) => p.err(FilterErrorKind::Unbalanced(')')),
        Some(t) => p.err(FilterErrorKind::Unexpected {
            expected: "`-and`, `-or` or the end of the rule".into(),
            found: tok_text(t),
        }),
    }
}

/// Lower-cased chars of a string, without allocating.
fn lower(s: &str) -> impl Iterator<Item = char> + Clone + '_ {
    s.chars().flat_map(char::to_lowercase)
}

fn eq_ci(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    lower(a).eq(lower(b))
}

fn starts_ci(a: &str, prefix: &str) -> bool {
    let mut a = lower(a);
    lower(prefix).all(|c| a.next() == Some(c))
}

fn ends_ci(a: &str, suffix: &str) -> bool {
    let mut a = a.chars().rev().flat_map(char::to_lowercase);
    suffix
        .chars()
        .rev()
        .flat_map(char::to_lowercase)
        .all(|c| a.next() == Some(c))
}

fn contains_ci(a: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    a.char_indices()
        .any(|(i, _)| a.get(i..).is_some_and(|rest| starts_ci(rest, needle)))
}

/// The value a comparison reads.
enum Actual<'a> {
    Null,
    Str(&'a str),
    Bool(bool),
    List(&'a [Box<str>]),
}

/// Sets one property of a device from a filter literal (the value a rule compares with):
/// how example devices are built from rules, here and in the gap analysis.
pub fn set_device_value(d: &mut DeviceInfo, p: DeviceProperty, value: &str) {
    let v = Some(Box::<str>::from(value));
    match p {
        DeviceProperty::DeviceId => d.device_id = v,
        DeviceProperty::DisplayName => d.display_name = v,
        DeviceProperty::DeviceOwnership => d.device_ownership = v,
        DeviceProperty::EnrollmentProfileName => d.enrollment_profile_name = v,
        DeviceProperty::IsCompliant => d.is_compliant = Some(value.eq_ignore_ascii_case("true")),
        DeviceProperty::Manufacturer => d.manufacturer = v,
        DeviceProperty::MdmAppId => d.mdm_app_id = v,
        DeviceProperty::Model => d.model = v,
        DeviceProperty::OperatingSystem => d.operating_system = v,
        DeviceProperty::OperatingSystemVersion => d.operating_system_version = v,
        DeviceProperty::PhysicalIds => d.physical_ids.push(value.into()),
        DeviceProperty::ProfileType => d.profile_type = v,
        DeviceProperty::SystemLabels => d.system_labels.push(value.into()),
        DeviceProperty::TrustType => d.trust_type = v,
        DeviceProperty::ExtensionAttribute(n) => {
            if let Some(slot) = d
                .extension_attributes
                .get_mut(usize::from(n).saturating_sub(1))
            {
                *slot = v;
            }
        }
    }
}

fn device_value<'a>(p: DeviceProperty, device: Option<&'a DeviceInfo>) -> Actual<'a> {
    let Some(d) = device else { return Actual::Null };
    let s = |v: &'a Option<Box<str>>| v.as_deref().map(Actual::Str).unwrap_or(Actual::Null);
    match p {
        DeviceProperty::DeviceId => s(&d.device_id),
        DeviceProperty::DisplayName => s(&d.display_name),
        DeviceProperty::DeviceOwnership => s(&d.device_ownership),
        DeviceProperty::EnrollmentProfileName => s(&d.enrollment_profile_name),
        DeviceProperty::IsCompliant => d.is_compliant.map(Actual::Bool).unwrap_or(Actual::Null),
        DeviceProperty::Manufacturer => s(&d.manufacturer),
        DeviceProperty::MdmAppId => s(&d.mdm_app_id),
        DeviceProperty::Model => s(&d.model),
        DeviceProperty::OperatingSystem => s(&d.operating_system),
        DeviceProperty::OperatingSystemVersion => s(&d.operating_system_version),
        DeviceProperty::PhysicalIds => Actual::List(&d.physical_ids),
        DeviceProperty::ProfileType => s(&d.profile_type),
        DeviceProperty::SystemLabels => Actual::List(&d.system_labels),
        DeviceProperty::TrustType => s(&d.trust_type),
        DeviceProperty::ExtensionAttribute(n) => {
            if !d.is_managed() {
                return Actual::Null;
            }
            d.extension_attributes
                .get(usize::from(n).saturating_sub(1))
                .map(s)
                .unwrap_or(Actual::Null)
        }
    }
}

fn compare(actual: &Actual<'_>, op: Op, value: &Literal) -> bool {
    if *value == Literal::Null {
        let is_null = matches!(actual, Actual::Null);
        return if op == Op::Eq { is_null } else { !is_null };
    }
    let positive = op.positive();
    let hit = |a: &str| -> bool {
        match (positive, value) {
            (Op::Eq, Literal::Str(v)) => eq_ci(a, v),
            (Op::Eq, Literal::Bool(b)) => eq_ci(a, if *b { "true" } else { "false" }),
            (Op::StartsWith, Literal::Str(v)) => starts_ci(a, v),
            (Op::EndsWith, Literal::Str(v)) => ends_ci(a, v),
            (Op::Contains, Literal::Str(v)) => contains_ci(a, v),
            (Op::In, Literal::List(items)) => items.iter().any(|v| eq_ci(a, v)),
            _ => false,
        }
    };
    let result = match actual {
        Actual::Null => return op.is_negative(),
        Actual::Str(a) => hit(a),
        Actual::Bool(b) => match value {
            Literal::Bool(v) => positive == Op::Eq && b == v,
            _ => hit(if *b { "true" } else { "false" }),
        },
        Actual::List(items) => match (positive, value) {
            (Op::Contains, Literal::Str(v)) => items.iter().any(|i| eq_ci(i, v)),
            _ => items.iter().any(|i| hit(i)),
        },
    };
    if op.is_negative() { !result } else { result }
}

fn eval<'a>(e: &Expr, read: &dyn Fn(&Property) -> Actual<'a>) -> bool {
    match e {
        Expr::Or(items) => items.iter().any(|i| eval(i, read)),
        Expr::And(items) => items.iter().all(|i| eval(i, read)),
        Expr::Not(inner) => !eval(inner, read),
        Expr::Cmp(c) => compare(&read(&c.property), c.op, &c.value),
    }
}

fn comparisons<'e>(e: &'e Expr, out: &mut Vec<&'e Comparison>) {
    match e {
        Expr::Or(items) | Expr::And(items) => items.iter().for_each(|i| comparisons(i, out)),
        Expr::Not(inner) => comparisons(inner, out),
        Expr::Cmp(c) => out.push(c),
    }
}

/// One comparison of a rule and its result on a device, for explanations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComparisonTrace {
    /// Canonical text, e.g. `device.trustType -eq "AzureAD"`.
    pub text: String,
    /// The property read.
    pub property: DeviceProperty,
    /// The device's value, `None` when null.
    pub actual: Option<String>,
    /// The comparison's result.
    pub result: bool,
}

/// A parsed device filter rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceFilterRule {
    expr: Expr,
    source: Box<str>,
}

impl DeviceFilterRule {
    /// Parses a rule; errors say where and why.
    pub fn parse(rule: &str) -> Result<DeviceFilterRule, FilterError> {
        Ok(DeviceFilterRule {
            expr: parse(rule, Subject::Device)?,
            source: rule.into(),
        })
    }

    /// Whether the device (`None`: unregistered) matches. Does not allocate.
    pub fn matches(&self, device: Option<&DeviceInfo>) -> bool {
        eval(&self.expr, &|p| match p {
            Property::Device(p) => device_value(*p, device),
            Property::Attribute(_) => Actual::Null,
        })
    }

    /// Each comparison in source order with its value and result on the device.
    pub fn explain(&self, device: Option<&DeviceInfo>) -> Vec<ComparisonTrace> {
        let mut list = Vec::new();
        comparisons(&self.expr, &mut list);
        list.into_iter()
            .filter_map(|c| {
                let Property::Device(p) = c.property else {
                    return None;
                };
                let actual = device_value(p, device);
                let shown = match &actual {
                    Actual::Null => None,
                    Actual::Str(s) => Some((*s).to_owned()),
                    Actual::Bool(b) => Some(if *b {
                        "True".to_owned()
                    } else {
                        "False".to_owned()
                    }),
                    Actual::List(items) => Some(format!("[{}]", items.join(","))),
                };
                Some(ComparisonTrace {
                    text: c.to_string(),
                    property: p,
                    actual: shown,
                    result: compare(&actual, c.op, &c.value),
                })
            })
            .collect()
    }

    /// Candidate devices for "use another device": `base` with the property of one
    /// comparison set to the comparison's value (for each comparison), then with all of them
    /// at once. Setting a value makes `-eq`/`-startsWith`/`-contains`/`-in` true and `-ne`…
    /// false, so an include filter can be escaped and an exclude filter met. Candidates
    /// only: callers verify them with the evaluator.
    pub fn candidate_devices(&self, base: &DeviceInfo) -> Vec<DeviceInfo> {
        let mut list = Vec::new();
        comparisons(&self.expr, &mut list);
        let mut all = base.clone();
        let mut out = Vec::new();
        for c in list {
            let Property::Device(p) = c.property else {
                continue;
            };
            let value = match &c.value {
                Literal::Str(v) => v.to_string(),
                Literal::Bool(b) => b.to_string(),
                Literal::List(items) => match items.first() {
                    Some(v) => v.to_string(),
                    None => continue,
                },
                Literal::Null => continue,
            };
            let mut one = base.clone();
            set_device_value(&mut one, p, &value);
            set_device_value(&mut all, p, &value);
            out.push(one);
        }
        out.push(all);
        out
    }

    /// Whether the rule reads a property.
    pub fn references(&self, property: DeviceProperty) -> bool {
        let mut list = Vec::new();
        comparisons(&self.expr, &mut list);
        list.iter()
            .any(|c| c.property == Property::Device(property))
    }

    /// The rule as written.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for DeviceFilterRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)
    }
}

/// A parsed filter over custom security attributes (applications, service principals).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeFilterRule {
    expr: Expr,
    source: Box<str>,
}

impl AttributeFilterRule {
    /// Parses a rule over `CustomSecurityAttribute.<Set>_<Name>` properties.
    pub fn parse(rule: &str) -> Result<AttributeFilterRule, FilterError> {
        Ok(AttributeFilterRule {
            expr: parse(rule, Subject::Attributes)?,
            source: rule.into(),
        })
    }

    /// Whether the object matches; `attribute("Set_Name")` gives its value.
    pub fn matches<'a>(&self, attribute: impl Fn(&str) -> Option<&'a str>) -> bool {
        eval(&self.expr, &|p| match p {
            Property::Attribute(name) => attribute(name).map(Actual::Str).unwrap_or(Actual::Null),
            Property::Device(_) => Actual::Null,
        })
    }

    /// The rule as written.
    pub fn source(&self) -> &str {
        &self.source
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn rule(s: &str) -> DeviceFilterRule {
        DeviceFilterRule::parse(s).unwrap()
    }
    fn err(s: &str) -> String {
        DeviceFilterRule::parse(s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }
    fn device() -> DeviceInfo {
        DeviceInfo {
            display_name: Some("WD-Shared-042".into()),
            trust_type: Some("AzureAD".into()),
            is_compliant: Some(true),
            device_ownership: Some("Company".into()),
            operating_system_version: Some("10.0.19045".into()),
            system_labels: vec!["M365Managed".into()],
            extension_attributes: {
                let mut e: [Option<Box<str>>; 15] = Default::default();
                e[0] = Some("SAW".into());
                e
            },
            ..Default::default()
        }
    }

    #[test]
    fn null_semantics_of_unregistered_devices() {
        assert!(rule("device.extensionAttribute1 -ne \"SAW\"").matches(None));
        assert!(!rule("device.trustType -eq \"AzureAD\"").matches(None));
        for op in ["-eq", "-startsWith", "-endsWith", "-contains"] {
            assert!(
                !rule(&format!("device.displayName {op} \"x\"")).matches(None),
                "{op}"
            );
        }
        for op in ["-ne", "-notStartsWith", "-notEndsWith", "-notContains"] {
            assert!(
                rule(&format!("device.displayName {op} \"x\"")).matches(None),
                "{op}"
            );
        }
        assert!(!rule("device.model -in [\"a\",\"b\"]").matches(None));
        assert!(rule("device.model -notIn [\"a\",\"b\"]").matches(None));
        assert!(rule("device.model -eq null").matches(None));
        assert!(!rule("device.systemLabels -contains \"M365Managed\"").matches(None));
    }

    #[test]
    fn registered_device_operators_are_case_insensitive() {
        let d = device();
        assert!(rule("device.trustType -eq \"azuread\"").matches(Some(&d)));
        assert!(rule("DEVICE.TRUSTTYPE -EQ 'AzureAD'").matches(Some(&d)));
        assert!(rule("device.displayName -startsWith \"wd-shared\"").matches(Some(&d)));
        assert!(rule("device.displayName -endsWith \"042\"").matches(Some(&d)));
        assert!(rule("device.displayName -contains \"SHARED\"").matches(Some(&d)));
        assert!(!rule("device.displayName -notContains \"shared\"").matches(Some(&d)));
        assert!(rule("device.isCompliant -eq True").matches(Some(&d)));
        assert!(rule("device.isCompliant -eq \"True\"").matches(Some(&d)));
        assert!(!rule("device.isCompliant -ne True").matches(Some(&d)));
        assert!(rule("device.systemLabels -contains \"m365managed\"").matches(Some(&d)));
        assert!(
            !rule("device.systemLabels -contains \"M365\"").matches(Some(&d)),
            "collections compare whole elements"
        );
        assert!(rule("device.extensionAttribute1 -eq \"SAW\"").matches(Some(&d)));
        assert!(
            rule("device.operatingSystemVersion -in [\"10.0.19045\", \"10.0.22631\"]")
                .matches(Some(&d))
        );
    }

    #[test]
    fn extension_attributes_are_hidden_on_unmanaged_devices() {
        let mut d = device();
        d.is_compliant = Some(false);
        d.trust_type = Some("Workplace".into());
        assert!(!rule("device.extensionAttribute1 -eq \"SAW\"").matches(Some(&d)));
        assert!(rule("device.extensionAttribute1 -ne \"SAW\"").matches(Some(&d)));
    }

    #[test]
    fn precedence_parentheses_and_not() {
        let d = device();
        // a -or b -and c == a -or (b -and c)
        assert!(rule("device.model -eq \"x\" -and device.model -eq \"y\" -or device.trustType -eq \"AzureAD\"").matches(Some(&d)));
        assert!(!rule("device.trustType -eq \"AzureAD\" -and (device.model -eq \"x\" -or device.model -eq \"y\")").matches(Some(&d)));
        assert!(rule("-not device.model -eq \"x\"").matches(Some(&d)));
        assert!(
            rule("device.trustType -eq \"AzureAD\" and device.isCompliant -eq true")
                .matches(Some(&d))
        );
    }

    #[test]
    fn corpus_rules_parse() {
        for r in [
            "device.deviceOwnership -eq \"Company\" -and device.isCompliant -eq True",
            "device.trustType -ne \"ServerAD\" -or device.isCompliant -ne True",
            "device.trustType -ne 'AzureAD' -and device.trustType -ne 'ServerAD' -and device.trustType -ne 'Workplace'",
            "device.displayName -startsWith \"WD-Shared\"",
            "device.isCompliant -eq True",
        ] {
            let parsed = rule(r);
            assert_eq!(
                rule(&parsed.to_string()),
                DeviceFilterRule {
                    source: parsed.to_string().into(),
                    ..parsed.clone()
                }
            );
        }
        assert!(
            rule("device.trustType -ne 'AzureAD' -and device.trustType -ne 'ServerAD'")
                .matches(None)
        );
    }

    #[test]
    fn errors_say_what_and_where() {
        assert_eq!(
            err("device.displayName -match \"x\""),
            "at character 20: operator `-match` is not supported in Conditional Access filters"
        );
        assert_eq!(
            err("device.dispayName -eq \"x\""),
            "at character 1: unknown property `device.dispayName`; did you mean `displayName`?"
        );
        assert_eq!(
            err("device.trustType -contains \"x\""),
            "at character 18: operator `-contains` cannot be used with `device.trustType`"
        );
        assert_eq!(
            err("device.model -eq"),
            "at character 17: expected a value after `-eq` at the end of the rule"
        );
        assert_eq!(
            err("device.model -eq \"x"),
            "at character 18: unterminated string"
        );
        assert_eq!(
            err("(device.model -eq \"x\""),
            "at character 1: unbalanced `(`"
        );
        assert_eq!(
            err("device.model -eq \"x\")"),
            "at character 21: unbalanced `)`"
        );
        assert_eq!(
            err("device.model -in \"x\""),
            "at character 18: operator `-in` takes a list such as `[\"a\",\"b\"]`"
        );
        assert_eq!(err(""), "at character 1: empty rule");
        let ok = format!("device.model -eq \"{}\"", "x".repeat(MAX_RULE_LENGTH - 19));
        assert_eq!(ok.chars().count(), MAX_RULE_LENGTH);
        assert!(DeviceFilterRule::parse(&ok).is_ok());
        let long = format!("{ok} ");
        assert_eq!(
            err(&long),
            "at character 3073: rule is 3073 characters long; the limit is 3072"
        );
    }

    #[test]
    fn nesting_is_limited() {
        let nest = |depth: usize, open: &str, close: &str| {
            format!(
                "{}device.model -eq \"x\"{}",
                open.repeat(depth),
                close.repeat(depth)
            )
        };
        let d = device();
        for open in ["(", "-not ", "-not ("] {
            let close = if open.contains('(') { ")" } else { "" };
            let levels = if open == "-not (" { 2 } else { 1 };
            let ok = nest(MAX_RULE_DEPTH / levels, open, close);
            assert!(DeviceFilterRule::parse(&ok).is_ok(), "{ok}");
            let too_deep = nest(MAX_RULE_DEPTH / levels + 1, open, close);
            let e = err(&too_deep);
            assert!(
                e.ends_with(
                    "rule nests more than 32 levels of parentheses and `-not`; the limit is 32"
                ),
                "{e}"
            );
        }
        // `device.model` is null: an odd number of `-not` matches, an even one does not.
        assert!(rule(&nest(MAX_RULE_DEPTH - 1, "-not ", "")).matches(Some(&d)));
        assert!(!rule(&nest(MAX_RULE_DEPTH, "-not ", "")).matches(Some(&d)));
        // The longest rule, all parentheses: refused at the limit, not by the stack.
        let deepest = format!("{}device.model -eq \"x\"", "(".repeat(MAX_RULE_LENGTH - 20));
        assert_eq!(
            err(&deepest),
            "at character 33: rule nests more than 32 levels of parentheses and `-not`; the limit is 32"
        );
        assert!(AttributeFilterRule::parse(&nest(33, "(", ")")).is_err());
    }

    #[test]
    fn canonical_text_of_the_deepest_rules_parses() {
        // Printing `-not -not x` as `-not (-not x)` doubled the depth: a rule at the limit
        // printed to one that no longer parsed.
        for rule_text in [
            format!("{}device.model -eq \"x\"", "-not ".repeat(MAX_RULE_DEPTH)),
            format!(
                "{}device.model -eq \"x\" -or device.model -eq \"y\"{}",
                "-not (".repeat(MAX_RULE_DEPTH / 2),
                ")".repeat(MAX_RULE_DEPTH / 2)
            ),
        ] {
            let parsed = rule(&rule_text);
            let canonical = parsed.to_string();
            let again = DeviceFilterRule::parse(&canonical);
            assert!(again.is_ok(), "{canonical}: {again:?}");
            assert_eq!(again.map(|r| r.expr).ok(), Some(parsed.expr));
        }
        assert_eq!(
            rule("-not -not device.model -eq \"x\"").to_string(),
            "-not -not device.model -eq \"x\""
        );
    }

    #[test]
    fn attribute_filters() {
        let r = AttributeFilterRule::parse("CustomSecurityAttribute.Engineering_Project -contains \"Baker\" -or CustomSecurityAttribute.Ops_Tier -eq \"1\"").unwrap();
        assert!(r.matches(|n| (n == "Engineering_Project").then_some("ProjectBaker")));
        assert!(!r.matches(|_| None));
        assert!(AttributeFilterRule::parse("device.trustType -eq \"x\"").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,200}") {
            let _ = DeviceFilterRule::parse(&s);
            let _ = AttributeFilterRule::parse(&s);
        }

        #[test]
        fn display_round_trips(props in proptest::collection::vec(0usize..14, 1..6), ors in proptest::collection::vec(proptest::bool::ANY, 6), values in proptest::collection::vec("[a-zA-Z0-9 '\"-]{0,8}", 6)) {
            let mut text = String::new();
            for (i, p) in props.iter().enumerate() {
                if i > 0 { text.push_str(if ors[i] { " -or " } else { " -and " }); }
                let prop = SIMPLE_PROPERTIES[*p];
                let op = [Op::Eq, Op::Ne, Op::StartsWith, Op::Contains, Op::NotContains].into_iter().find(|o| prop.allowed(*o)).unwrap();
                let v = Literal::Str(values[i].clone().into());
                text.push_str(&format!("device.{} {} {}", prop.name(), op.text(), v));
            }
            let parsed = DeviceFilterRule::parse(&text).unwrap();
            let again = DeviceFilterRule::parse(&parsed.to_string()).unwrap();
            proptest::prop_assert_eq!(parsed.expr, again.expr);
        }
    }
}

//! The reference interpreter of the filter rule language (docs/reference/entra-semantics.md §3.8),
//! used for device filters and, with `CustomSecurityAttribute.<Set>_<Name>` properties, for
//! application and service-principal filters (docs/reference/entra-semantics.md §1.3, §1.5).
//!
//! Written from the grammar in the spec, for readability rather than speed:
//!
//! ```text
//! rule       := orExpr
//! orExpr     := andExpr ( ("-or" | "or") andExpr )*
//! andExpr    := unary ( ("-and" | "and") unary )*
//! unary      := ["-not" | "not"] unary | "(" orExpr ")" | comparison
//! comparison := property operator value
//! value      := "string" | true | false | null | "[" "string" ("," "string")* "]"
//! ```
//!
//! Evaluation is two-valued: every comparison is first reduced to true or false, then the
//! booleans are combined. Values compare case-insensitively, property names too. A null
//! property (unregistered device, property not set) makes the positive operators (`-eq`,
//! `-startsWith`, `-endsWith`, `-contains`, `-in`) false and the negative ones (`-ne`,
//! `-notStartsWith`, `-notEndsWith`, `-notContains`, `-notIn`) true; `-eq null` and
//! `-ne null` test for null explicitly. On a collection (`physicalIds`, `systemLabels`),
//! `-contains` means "one element equals".

/// What a property reads on the subject of the filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actual {
    /// Not set (or the device is unregistered).
    Null,
    /// A string (booleans read as `"true"` / `"false"`).
    Str(String),
    /// A collection of strings.
    List(Vec<String>),
}

/// A literal on the right of an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Literal {
    Str(String),
    Null,
    List(Vec<String>),
}

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Either side.
    Or(Box<Rule>, Box<Rule>),
    /// Both sides.
    And(Box<Rule>, Box<Rule>),
    /// Negation.
    Not(Box<Rule>),
    /// `property operator value`; the property is kept as written (lower-cased).
    Compare {
        /// E.g. `device.trusttype`.
        property: String,
        /// Operator without its dash, lower-cased (`eq`, `notstartswith`, ...).
        operator: String,
        /// The right-hand side.
        value: LiteralBox,
    },
}

/// Opaque wrapper so that `Literal` stays private.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteralBox(Literal);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
    Word(String),
    Quoted(String),
}

fn tokenize(rule: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = rule.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            tokens.push(Token::Open);
            i += 1;
        } else if c == ')' {
            tokens.push(Token::Close);
            i += 1;
        } else if c == '[' {
            tokens.push(Token::OpenList);
            i += 1;
        } else if c == ']' {
            tokens.push(Token::CloseList);
            i += 1;
        } else if c == ',' {
            tokens.push(Token::Comma);
            i += 1;
        } else if c == '"' {
            // A double-quoted string; a backslash escapes the next character.
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("unterminated string in `{rule}`")),
                    Some('\\') => {
                        if let Some(next) = chars.get(i + 1) {
                            text.push(*next);
                        }
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(other) => {
                        text.push(*other);
                        i += 1;
                    }
                }
            }
            tokens.push(Token::Quoted(text));
        } else {
            let mut word = String::new();
            while i < chars.len() && !chars[i].is_whitespace() && !"()[],\"".contains(chars[i]) {
                word.push(chars[i]);
                i += 1;
            }
            tokens.push(Token::Word(word));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn at_word(&self, words: &[&str]) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if words.iter().any(|k| w.eq_ignore_ascii_case(k)))
    }

    fn or_expr(&mut self) -> Result<Rule, String> {
        let mut left = self.and_expr()?;
        while self.at_word(&["-or", "or"]) {
            self.pos += 1;
            let right = self.and_expr()?;
            left = Rule::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Rule, String> {
        let mut left = self.unary()?;
        while self.at_word(&["-and", "and"]) {
            self.pos += 1;
            let right = self.unary()?;
            left = Rule::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Rule, String> {
        if self.at_word(&["-not", "not"]) {
            self.pos += 1;
            return Ok(Rule::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.or_expr()?;
            return match self.next() {
                Some(Token::Close) => Ok(inner),
                other => Err(format!("expected `)`, found {other:?}")),
            };
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Rule, String> {
        let Some(Token::Word(property)) = self.next() else {
            return Err("expected a property".to_owned());
        };
        let Some(Token::Word(operator)) = self.next() else {
            return Err(format!("expected an operator after `{property}`"));
        };
        let operator = operator.trim_start_matches('-').to_lowercase();
        let value = match self.next() {
            Some(Token::Quoted(s)) => Literal::Str(s),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Literal::Null,
            // Bare `True` / `False`: the same as the quoted strings.
            Some(Token::Word(w)) => Literal::Str(w),
            Some(Token::OpenList) => {
                let mut items = Vec::new();
                loop {
                    match self.next() {
                        Some(Token::Quoted(s) | Token::Word(s)) => items.push(s),
                        Some(Token::CloseList) => break,
                        other => return Err(format!("bad list item {other:?}")),
                    }
                    match self.next() {
                        Some(Token::Comma) => {}
                        Some(Token::CloseList) => break,
                        other => return Err(format!("expected `,` or `]`, found {other:?}")),
                    }
                }
                Literal::List(items)
            }
            other => return Err(format!("expected a value, found {other:?}")),
        };
        Ok(Rule::Compare {
            property: property.to_lowercase(),
            operator,
            value: LiteralBox(value),
        })
    }
}

/// Parses a rule.
pub fn parse(rule: &str) -> Result<Rule, String> {
    let mut p = Parser {
        tokens: tokenize(rule)?,
        pos: 0,
    };
    let r = p.or_expr()?;
    if p.pos != p.tokens.len() {
        return Err(format!("trailing input in `{rule}`"));
    }
    Ok(r)
}

fn same(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// One comparison on a non-null string.
fn positive(operator: &str, actual: &str, value: &Literal) -> bool {
    let a = actual.to_lowercase();
    match (operator, value) {
        ("eq", Literal::Str(v)) => a == v.to_lowercase(),
        ("startswith", Literal::Str(v)) => a.starts_with(&v.to_lowercase()),
        ("endswith", Literal::Str(v)) => a.ends_with(&v.to_lowercase()),
        ("contains", Literal::Str(v)) => a.contains(&v.to_lowercase()),
        ("in", Literal::List(items)) => items.iter().any(|v| same(actual, v)),
        _ => false,
    }
}

/// Evaluates a rule; `read` gives the value of a property (lower-cased name as written,
/// e.g. `device.trusttype` or `customsecurityattribute.eng_tier`).
pub fn eval(rule: &Rule, read: &dyn Fn(&str) -> Actual) -> bool {
    match rule {
        Rule::Or(a, b) => eval(a, read) || eval(b, read),
        Rule::And(a, b) => eval(a, read) && eval(b, read),
        Rule::Not(a) => !eval(a, read),
        Rule::Compare {
            property,
            operator,
            value: LiteralBox(value),
        } => {
            let actual = read(property);
            if *value == Literal::Null {
                let is_null = actual == Actual::Null;
                return if operator == "eq" { is_null } else { !is_null };
            }
            let (negative, base) = match operator.strip_prefix("not") {
                Some(rest) => (true, rest.to_owned()),
                None if operator == "ne" => (true, "eq".to_owned()),
                None => (false, operator.clone()),
            };
            let hit = match &actual {
                Actual::Null => return negative,
                Actual::Str(s) => positive(&base, s, value),
                Actual::List(items) => match (base.as_str(), value) {
                    ("contains", Literal::Str(v)) => items.iter().any(|i| same(i, v)),
                    _ => items.iter().any(|i| positive(&base, i, value)),
                },
            };
            hit != negative
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(name: &str) -> Actual {
        match name {
            "device.trusttype" => Actual::Str("ServerAD".into()),
            "device.iscompliant" => Actual::Str("true".into()),
            "device.systemlabels" => Actual::List(vec!["M365Managed".into()]),
            _ => Actual::Null,
        }
    }

    #[test]
    fn the_interpreter_follows_the_spec_table() {
        let check = |rule: &str| {
            let r = parse(rule).unwrap();
            eval(&r, &device)
        };
        assert!(check("device.trustType -eq \"serverad\""));
        assert!(check("device.isCompliant -eq True"));
        assert!(!check("device.extensionAttribute1 -eq \"x\""));
        assert!(check("device.extensionAttribute1 -ne \"x\""));
        assert!(check("device.extensionAttribute1 -eq null"));
        assert!(check("device.systemLabels -contains \"m365managed\""));
        assert!(!check("device.systemLabels -contains \"m365\""));
        assert!(check(
            "-not (device.model -in [\"a\"]) and device.TrustType -startsWith \"Server\""
        ));
        assert!(check(
            "device.model -eq \"a\" -or device.trustType -eq \"ServerAD\" -and device.isCompliant -eq \"True\""
        ));
    }
}

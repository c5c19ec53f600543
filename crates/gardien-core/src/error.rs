//! Diagnostics: every problem found while reading input names the file, the JSON pointer and
//! the reason, with a stable code and a severity.
//!
//! [`Diagnostic`] is the one diagnostic type of gardien: loaders (tenant files, requests) fill
//! it, `validate`, `lint`, `test` and `replay` render it (human, JSON, SARIF). [`LoadError`] is
//! the same type under the name the loaders use for errors. Codes are listed in [`CODES`] and
//! documented in `docs/diagnostics.md` (a test keeps both in sync).

use std::fmt;

use crate::limits::MAX_ERRORS;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The input is rejected.
    Error,
    /// The input is accepted, but something in it is probably not what was meant
    /// (`validate --strict` and `lint` fail on warnings).
    Warning,
    /// Information: what gardien did with the input (a conversion, a skipped file).
    Note,
}

impl Severity {
    /// Lower-case name (`error`, `warning`, `note`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// A stable diagnostic code (`GV004`); [`CODES`] documents each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// `GV001`.
    InvalidJson,
    /// `GV002`.
    InvalidValue,
    /// `GV003`.
    MissingMember,
    /// `GV004`.
    UnknownMember,
    /// `GV005`.
    WrongObject,
    /// `GV006`.
    NotAnId,
    /// `GV007`.
    DuplicateId,
    /// `GV008`.
    DanglingReference,
    /// `GV009`.
    OverLimit,
    /// `GV010`.
    UnresolvedName,
    /// `GV011`.
    AmbiguousName,
    /// `GV012`.
    MissingDirectoryData,
    /// `GV013`.
    Converted,
    /// `GV014`.
    SkippedFile,
}

impl Code {
    /// The code as written in messages and documentation (`GV004`).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidJson => "GV001",
            Code::InvalidValue => "GV002",
            Code::MissingMember => "GV003",
            Code::UnknownMember => "GV004",
            Code::WrongObject => "GV005",
            Code::NotAnId => "GV006",
            Code::DuplicateId => "GV007",
            Code::DanglingReference => "GV008",
            Code::OverLimit => "GV009",
            Code::UnresolvedName => "GV010",
            Code::AmbiguousName => "GV011",
            Code::MissingDirectoryData => "GV012",
            Code::Converted => "GV013",
            Code::SkippedFile => "GV014",
        }
    }

    /// Its documentation.
    pub fn info(self) -> &'static CodeInfo {
        // CODES lists every code in declaration order.
        &CODES[self as usize]
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A documented diagnostic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    /// Stable code.
    pub code: Code,
    /// Kebab-case name (`unknown-member`).
    pub name: &'static str,
    /// One line: what it means.
    pub summary: &'static str,
}

/// Invalid JSON text: syntax, encoding, nesting depth, file size.
pub const INVALID_JSON: Code = Code::InvalidJson;
/// A value of the wrong type or outside its enum, or a rule of Entra broken.
pub const INVALID_VALUE: Code = Code::InvalidValue;
/// A required member is absent.
pub const MISSING_MEMBER: Code = Code::MissingMember;
/// A member that the Graph schema (or gardien's format) does not define.
pub const UNKNOWN_MEMBER: Code = Code::UnknownMember;
/// The object is not what this place expects (a template, a group, a PowerShell object...).
pub const WRONG_OBJECT: Code = Code::WrongObject;
/// A placeholder or a display name where an object id belongs.
pub const NOT_AN_ID: Code = Code::NotAnId;
/// Two objects with the same id.
pub const DUPLICATE_ID: Code = Code::DuplicateId;
/// A reference to a named location or authentication strength that is not defined.
pub const DANGLING_REFERENCE: Code = Code::DanglingReference;
/// More items, bytes or characters than gardien accepts.
pub const OVER_LIMIT: Code = Code::OverLimit;
/// A user principal name or display name that matches nothing in the directory.
pub const UNRESOLVED_NAME: Code = Code::UnresolvedName;
/// A display name that matches several directory objects.
pub const AMBIGUOUS_NAME: Code = Code::AmbiguousName;
/// Policies reference users, groups or roles that `directory.json` does not define.
pub const MISSING_DIRECTORY_DATA: Code = Code::MissingDirectoryData;
/// The file was converted from another serialisation (PowerShell SDK PascalCase).
pub const CONVERTED: Code = Code::Converted;
/// A file of an export folder that is not a tenant object was skipped.
pub const SKIPPED_FILE: Code = Code::SkippedFile;

/// Every diagnostic code, in order. `docs/diagnostics.md` documents each one.
pub const CODES: &[CodeInfo] = &[
    CodeInfo {
        code: INVALID_JSON,
        name: "invalid-json",
        summary: "the file is not valid JSON (syntax, encoding, nesting depth or size)",
    },
    CodeInfo {
        code: INVALID_VALUE,
        name: "invalid-value",
        summary: "a value has the wrong type, is not one of the allowed values, or breaks a rule of Entra",
    },
    CodeInfo {
        code: MISSING_MEMBER,
        name: "missing-member",
        summary: "a required member is absent",
    },
    CodeInfo {
        code: UNKNOWN_MEMBER,
        name: "unknown-member",
        summary: "a member the Graph schema (v1.0 or beta) or gardien's format does not define; a warning in exports, an error in hand-written input",
    },
    CodeInfo {
        code: WRONG_OBJECT,
        name: "wrong-object",
        summary: "the object is not what this place expects (a template, a group, an authentication strength, a named location)",
    },
    CodeInfo {
        code: NOT_AN_ID,
        name: "not-an-id",
        summary: "a template placeholder or a display name where an object id belongs",
    },
    CodeInfo {
        code: DUPLICATE_ID,
        name: "duplicate-id",
        summary: "two objects have the same id",
    },
    CodeInfo {
        code: DANGLING_REFERENCE,
        name: "dangling-reference",
        summary: "a policy references a named location or authentication strength that is not defined",
    },
    CodeInfo {
        code: OVER_LIMIT,
        name: "over-limit",
        summary: "more items, bytes, characters or nesting than gardien accepts",
    },
    CodeInfo {
        code: UNRESOLVED_NAME,
        name: "unresolved-name",
        summary: "a user principal name or service principal display name matches nothing in the directory",
    },
    CodeInfo {
        code: AMBIGUOUS_NAME,
        name: "ambiguous-name",
        summary: "a display name matches several service principals",
    },
    CodeInfo {
        code: MISSING_DIRECTORY_DATA,
        name: "missing-directory-data",
        summary: "policies reference users, groups or roles that directory.json does not define: membership in them is unknown (treated as not a member)",
    },
    CodeInfo {
        code: CONVERTED,
        name: "converted",
        summary: "the file was converted from the PowerShell SDK's PascalCase serialisation",
    },
    CodeInfo {
        code: SKIPPED_FILE,
        name: "skipped-file",
        summary: "a file of an export folder is not a tenant object and was skipped",
    },
];

/// The documentation of a code.
pub fn code_info(code: &str) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code.as_str() == code)
}

/// The code of an error from its reason, for the many places that only say what is wrong.
fn classify(reason: &str) -> Code {
    let starts = |p: &str| reason.starts_with(p);
    if starts("invalid JSON") || starts("invalid UTF") || starts("UTF-16") || starts("JSON nested")
    {
        INVALID_JSON
    } else if reason.contains("; the limit is") {
        OVER_LIMIT
    } else if starts("missing `") {
        MISSING_MEMBER
    } else if starts("duplicate ") {
        DUPLICATE_ID
    } else if reason.contains("is a template placeholder")
        || reason.contains("placeholder in GUID form")
        || reason.contains("looks like a display name")
        || reason == "empty id"
    {
        NOT_AN_ID
    } else if starts("this is a")
        || starts("not a Conditional Access policy")
        || starts("member names are PascalCase")
    {
        WRONG_OBJECT
    } else if reason.ends_with("does not exist") || reason.ends_with("is not defined") {
        DANGLING_REFERENCE
    } else if starts("unknown member") || starts("unknown field") {
        UNKNOWN_MEMBER
    } else {
        INVALID_VALUE
    }
}

/// One problem (or note) found while loading or validating a tenant or a request.
///
/// Displayed as `file: /json/pointer: reason` (the pointer is omitted when it is the whole
/// file), with the optional `help` on the next line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostic {
    /// Stable code (see [`CODES`]).
    pub code: Code,
    /// Severity.
    pub severity: Severity,
    /// File the problem is in, as given to the loader.
    pub file: String,
    /// RFC 6901 pointer inside that file (`""` for the whole document).
    pub pointer: String,
    /// 1-based line and column (in characters) of the pointed member in the file's text,
    /// when known.
    pub position: Option<(u32, u32)>,
    /// What is wrong, one lowercase line without a final period.
    pub reason: String,
    /// What to do about it (did-you-mean, the fix), when there is something useful to say.
    pub help: Option<Box<str>>,
    /// The policy the problem belongs to, when known: `(id, displayName)`.
    pub policy: Option<Box<(String, String)>>,
}

/// A diagnostic of severity error: what the loaders return.
pub type LoadError = Diagnostic;

impl Diagnostic {
    /// A new error at `file` / `pointer`; the code follows from the reason.
    pub fn new(
        file: impl Into<String>,
        pointer: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        let reason = reason.into();
        Diagnostic {
            code: classify(&reason),
            severity: Severity::Error,
            file: file.into(),
            pointer: pointer.into(),
            position: None,
            reason,
            help: None,
            policy: None,
        }
    }

    /// Sets the code.
    #[must_use]
    pub fn with_code(mut self, code: Code) -> Self {
        self.code = code;
        self
    }

    /// Sets the severity.
    #[must_use]
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Adds a help line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into().into_boxed_str());
        self
    }

    /// Records the policy the error belongs to.
    #[must_use]
    pub fn in_policy(mut self, id: &str, display_name: &str) -> Self {
        if self.policy.is_none() {
            self.policy = Some(Box::new((id.to_owned(), display_name.to_owned())));
        }
        self
    }

    /// Fills [`Diagnostic::position`] from the file's text (no-op when the pointer is not
    /// found).
    pub fn locate_in(&mut self, text: &str) {
        if self.position.is_none() {
            self.position = crate::json::position(text, &self.pointer);
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if !self.pointer.is_empty() {
            write!(f, ": {}", self.pointer)?;
        }
        if let Some(policy) = &self.policy {
            let (id, name) = policy.as_ref();
            if name.is_empty() {
                write!(f, ": policy `{id}`")?;
            } else {
                write!(f, ": policy `{name}`")?;
            }
        }
        write!(f, ": {}", self.reason)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found in a tenant; loading fails when it holds at least one error.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct LoadErrors {
    /// The problems, in file order.
    pub errors: Vec<LoadError>,
    /// Warnings and notes found beside the errors (unknown members, conversions).
    pub warnings: Vec<Diagnostic>,
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Records `e` unless `errors` already holds more than [`MAX_ERRORS`] (one more than is
/// listed, so that [`LoadErrors::capped`] knows that some were left out).
pub(crate) fn record(errors: &mut Vec<LoadError>, e: LoadError) {
    if errors.len() <= MAX_ERRORS {
        errors.push(e);
    }
}

impl LoadErrors {
    /// `errors`, cut to [`MAX_ERRORS`] with a last line saying that more were found.
    pub fn capped(mut errors: Vec<LoadError>) -> LoadErrors {
        if errors.len() > MAX_ERRORS {
            errors.truncate(MAX_ERRORS);
            let file = errors.last().map(|e| e.file.clone()).unwrap_or_default();
            errors.push(
                LoadError::new(
                    file,
                    "",
                    format!("more than {MAX_ERRORS} problems; the limit is {MAX_ERRORS} listed"),
                )
                .with_help("fix these and load again to see the others"),
            );
        }
        LoadErrors {
            errors,
            warnings: Vec::new(),
        }
    }
}

impl From<LoadError> for LoadErrors {
    fn from(e: LoadError) -> Self {
        LoadErrors {
            errors: vec![e],
            warnings: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_listed_in_order_and_unique() {
        for (i, info) in CODES.iter().enumerate() {
            assert_eq!(info.code as usize, i, "{}", info.code);
            assert_eq!(info.code.as_str(), format!("GV{:03}", i + 1));
            assert_eq!(info.code.info(), info);
        }
    }

    /// `docs/diagnostics.md` documents every code, and only these codes.
    #[test]
    fn docs_list_every_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/diagnostics.md");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        assert!(!doc.is_empty(), "cannot read {path}");
        for c in CODES {
            let heading = format!("### {} `{}`", c.code, c.name);
            assert!(
                doc.contains(&heading),
                "docs/diagnostics.md lacks `{heading}`"
            );
        }
        for line in doc.lines().filter(|l| l.starts_with("### GV")) {
            let code = line.trim_start_matches("### ").get(..5).unwrap_or("");
            assert!(
                code_info(code).is_some(),
                "docs/diagnostics.md documents unknown code {code}"
            );
        }
    }

    #[test]
    fn reasons_classify() {
        assert_eq!(classify("invalid JSON at line 1"), INVALID_JSON);
        assert_eq!(classify("3 items; the limit is 2"), OVER_LIMIT);
        assert_eq!(classify("missing `state`"), MISSING_MEMBER);
        assert_eq!(
            classify("named location `x` does not exist"),
            DANGLING_REFERENCE
        );
        assert_eq!(
            classify("`Office 365` looks like a display name, not an object id"),
            NOT_AN_ID
        );
        assert_eq!(classify("expected a string, found a number"), INVALID_VALUE);
    }
}

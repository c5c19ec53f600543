//! Load and validation errors: every one names the file, the JSON pointer and the reason.

use std::fmt;

use crate::limits::MAX_ERRORS;

/// One problem found while loading or validating a tenant or a request.
///
/// Displayed as `file: /json/pointer: reason` (the pointer is omitted when it is the whole
/// file), with the optional `help` on the next line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    /// File the problem is in, as given to the loader.
    pub file: String,
    /// RFC 6901 pointer inside that file (`""` for the whole document).
    pub pointer: String,
    /// What is wrong, one lowercase line without a final period.
    pub reason: String,
    /// What to do about it, when there is something useful to say.
    pub help: Option<Box<str>>,
    /// The policy the problem belongs to, when known: `(id, displayName)`.
    pub policy: Option<Box<(String, String)>>,
}

impl LoadError {
    /// A new error at `file` / `pointer`.
    pub fn new(
        file: impl Into<String>,
        pointer: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        LoadError {
            file: file.into(),
            pointer: pointer.into(),
            reason: reason.into(),
            help: None,
            policy: None,
        }
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
        LoadErrors { errors }
    }
}

impl From<LoadError> for LoadErrors {
    fn from(e: LoadError) -> Self {
        LoadErrors { errors: vec![e] }
    }
}

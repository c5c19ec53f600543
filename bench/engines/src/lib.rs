//! gardien side by side with Cedar (`cedar-policy`) and OPA/Rego (`regorus`), on one generated
//! Conditional Access tenant translated three ways.
//!
//! * [`model`] reads the tenant's Graph JSON (the files `gardien` itself loads) into a small
//!   engine-neutral model, refusing what the translations do not cover.
//! * [`filter`] parses the device filter rules of that model into a tree the translations turn
//!   into native Cedar and Rego expressions.
//! * [`host`] is what an integration does before calling a general-purpose engine: resolve the
//!   request's IP address to the named locations that contain it and the user to the
//!   transitive closure of their groups, and normalise case-insensitive values.
//! * [`cedar`] and [`rego`] are the two translations and their evaluators; [`fixture`] builds
//!   all of it for one tenant size and decides one request with every engine.
//!
//! The comparison reduces every decision to an [`Outcome`]: allow, challenge or deny.
#![deny(missing_docs)]

pub mod cedar;
pub mod filter;
pub mod fixture;
pub mod host;
pub mod model;
pub mod rego;

/// The generator of `crates/gardien-core/benches/support/synthetic.rs`, shared with
/// gardien-core's own decision bench.
#[path = "../../../crates/gardien-core/benches/support/synthetic.rs"]
#[allow(
    missing_docs,
    clippy::should_implement_trait,
    reason = "a generator shared with gardien-core's bench, documented and linted there"
)]
pub mod synthetic;

/// The decision of one sign-in, as every engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Token issued.
    Allow,
    /// The user can satisfy what is missing (MFA, password change, authentication strength).
    Challenge,
    /// Blocked, or a requirement that cannot be met in this sign-in (device state, app).
    Deny,
}

impl Outcome {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Challenge => "challenge",
            Outcome::Deny => "deny",
        }
    }

    /// Whether the sign-in is allowed.
    pub fn allowed(self) -> bool {
        self == Outcome::Allow
    }
}

/// An error of the translation or of an engine, with what failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Shorthand for an [`Error`] from anything printable.
pub(crate) fn error(message: impl Into<String>) -> Error {
    Error(message.into())
}

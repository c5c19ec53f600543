#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod compile;
pub mod dated;
pub mod device;
pub mod error;
pub mod eval;
pub mod explain;
pub mod filter;
pub mod ids;
pub mod json;
pub mod limits;
pub mod model;
mod names;
pub mod network;
pub mod report;
pub mod schema;
pub mod signin;
pub mod signin_key;
pub mod signin_log;
#[cfg(test)]
mod testing;
pub mod time;

pub use compile::{CompiledTenant, DirectoryUser};
pub use error::{Diagnostic, LoadError, LoadErrors, Severity};
pub use eval::{Decision, Evaluation, Verdict};
pub use model::tenant::{SourceFile, Tenant, TenantSource};
pub use signin::SignIn;

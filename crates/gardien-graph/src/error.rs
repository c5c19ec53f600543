//! Why a pull failed. Every variant names what was being read, so that the message alone tells
//! an administrator which permission, credential or URL to fix.

use std::path::PathBuf;

/// A pull that could not complete; nothing was written to the output folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PullError {
    /// A URL option is not usable.
    #[error("{option} `{url}`: {reason}")]
    BadUrl {
        /// The option (`--graph-url`, `--login-url`).
        option: &'static str,
        /// The value given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The credential could not be read or used.
    #[error("credential: {0}")]
    Credential(String),
    /// The token endpoint refused the credential.
    #[error("token request refused ({status}): {message}")]
    Token {
        /// HTTP status of the token endpoint.
        status: u16,
        /// The endpoint's `error` and `error_description`.
        message: String,
    },
    /// Graph refused the token (401).
    #[error("{what}: Graph refused the access token (401): {message}")]
    Unauthorized {
        /// The collection being read.
        what: String,
        /// Graph's error code and message.
        message: String,
    },
    /// Graph refused access (403): a permission is missing.
    #[error("{what}: access denied (403): the application needs {permission} ({message})")]
    Forbidden {
        /// The collection being read.
        what: String,
        /// The least-privileged permission that reads it.
        permission: &'static str,
        /// Graph's error code and message.
        message: String,
    },
    /// Throttled more often than the retry budget allows.
    #[error("{what}: still throttled ({status}) after {retries} retries")]
    Throttled {
        /// The collection being read.
        what: String,
        /// The last status (429, 503 or 504).
        status: u16,
        /// Retries made.
        retries: u32,
    },
    /// Any other error status.
    #[error("{what}: HTTP {status} from {path}: {message}")]
    Status {
        /// The collection being read.
        what: String,
        /// HTTP status.
        status: u16,
        /// Path and query of the request.
        path: String,
        /// Graph's error code and message.
        message: String,
    },
    /// The connection failed (after retries).
    #[error("{what}: {message}")]
    Transport {
        /// The collection being read.
        what: String,
        /// The transport error.
        message: String,
    },
    /// Graph answered something that is not the expected JSON.
    #[error("{what}: unexpected response: {reason}")]
    Response {
        /// The collection being read.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The output folder could not be written or replaced.
    #[error("{}: {reason}", path.display())]
    Output {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

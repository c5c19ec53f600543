#![doc = include_str!("../README.md")]
//!
//! ```no_run
//! use gardien_graph::{Credential, GraphClient, PullScope, RetryPolicy, pull};
//! let progress = |p: &gardien_graph::Progress| eprintln!("{p:?}");
//! let graph = GraphClient::new(
//!     "https://graph.microsoft.com",
//!     "https://login.microsoftonline.com",
//!     Credential::Token(std::env::var("GARDIEN_GRAPH_TOKEN")?),
//!     RetryPolicy::default(),
//!     &progress,
//! )?;
//! let summary = pull(&graph, "tenant".as_ref(), &PullScope::default())?;
//! println!("{} policies", summary.policies);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod auth;
mod client;
mod error;
mod layout;
mod output;
mod pull;
mod since;

pub use auth::{ClientCertificate, Credential};
pub use client::{GraphClient, Progress, RetryPolicy};
pub use error::PullError;
pub use layout::{LayoutSummary, write_tenant};
pub use pull::{PullScope, PullSummary, pull};
pub use since::since;

/// The Graph and login URLs of a national cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cloud {
    /// Name on the command line (`global`, `usgov`, `usgov-dod`, `china`).
    pub name: &'static str,
    /// Microsoft Graph root.
    pub graph_url: &'static str,
    /// Microsoft identity platform root.
    pub login_url: &'static str,
}

/// The national clouds, global first.
pub const CLOUDS: &[Cloud] = &[
    Cloud {
        name: "global",
        graph_url: "https://graph.microsoft.com",
        login_url: "https://login.microsoftonline.com",
    },
    Cloud {
        name: "usgov",
        graph_url: "https://graph.microsoft.us",
        login_url: "https://login.microsoftonline.us",
    },
    Cloud {
        name: "usgov-dod",
        graph_url: "https://dod-graph.microsoft.us",
        login_url: "https://login.microsoftonline.us",
    },
    Cloud {
        name: "china",
        graph_url: "https://microsoftgraph.chinacloudapi.cn",
        login_url: "https://login.chinacloudapi.cn",
    },
];

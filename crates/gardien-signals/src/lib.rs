//! gardien-signals: turns an HTTP request seen behind a reverse proxy into the
//! [`gardien_core::SignIn`] the core evaluates (docs/design.md;
//! docs/reference/entra-semantics.md §2.2, §3.6, §3.7, §3.9).
//!
//! The only gardien crate that reads headers. One module per signal:
//!
//! * [`client_ip`]: the client address, walking `Forwarded` / `X-Forwarded-For` /
//!   `X-Real-IP` only through configured trusted proxies;
//! * [`geoip`]: country and anonymous-network flags from MaxMind databases, hot-reloadable;
//! * [`useragent`]: device platform, OS version and client app type from the User-Agent;
//! * [`devices`]: the device registry and gardien's own compliance rules;
//! * [`risk`]: sign-in risk from facts (anonymous IP, impossible travel, unfamiliar country);
//! * [`headers`]: the headers a decision reads, found in one pass over the request's;
//! * [`request`]: reading a saved HTTP request head (for `gardien signin --headers`);
//! * [`signals`]: all of the above assembled into a sign-in, with a record of where each
//!   value came from.

pub mod client_ip;
pub mod devices;
pub mod geoip;
pub mod headers;
pub mod os_version;
pub mod path;
pub mod request;
pub mod risk;
pub mod signals;
pub mod useragent;
pub use signals::{Derived, RequestContext, Signals, SignalsConfig, SignalsError};

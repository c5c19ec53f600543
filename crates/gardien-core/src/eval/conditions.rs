//! One module per condition family. Every view (enforcement, what-if, traces, explanations)
//! calls these functions; no condition is implemented anywhere else.

pub(crate) mod apps;
pub(crate) mod client_apps;
pub(crate) mod device;
pub(crate) mod flows;
pub(crate) mod locations;
pub(crate) mod platforms;
pub(crate) mod risk;
pub(crate) mod users;

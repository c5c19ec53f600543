//! One module per command.

pub mod apply;
pub mod changes;
pub mod demo;
pub mod diff;
pub mod doc;
pub mod evaluate;
pub mod explain;
pub mod gaps;
pub mod lint;
pub mod pull;
pub mod replay;
pub mod serve;
pub mod signin;
pub mod test_suite;
pub mod validate;
pub mod whatif;

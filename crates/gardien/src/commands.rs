//! One module per command.

pub mod demo;
pub mod evaluate;
pub mod serve;
pub mod signin;
pub mod validate;
pub mod whatif;

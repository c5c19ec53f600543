//! One module per command.

pub mod evaluate;
pub mod validate;
pub mod whatif;

#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod device;
pub mod filter;
pub mod network;

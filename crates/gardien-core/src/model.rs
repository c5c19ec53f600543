//! The Graph model: policies, named locations, directory, and the tenant that holds them.

pub mod cross_tenant;
pub mod directory;
pub mod enums;
pub mod location;
pub mod policy;
pub mod powershell;
pub mod tenant;

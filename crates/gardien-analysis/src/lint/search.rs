//! Searches that several rules read: each evaluates its probe sign-ins once, and the rules
//! (`lint/rules/`) decide their findings from what it found.

pub(crate) mod countries;
pub(crate) mod dated;
pub(crate) mod families;
pub(crate) mod lockout;
pub(crate) mod references;

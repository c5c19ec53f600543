//! Device filter rule language (spec §3.8).

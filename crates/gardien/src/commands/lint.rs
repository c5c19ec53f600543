//! `gardien lint` (being written).

use crate::Exit;
use anyhow::{Result, bail};
use std::path::Path;

/// Runs the command.
pub fn run(_tenant: &Path, _format: &str, _fail_on: &str, _now: Option<&str>) -> Result<Exit> {
    bail!("`gardien lint` is not available yet")
}

//! `gardien gaps` (being written).

use crate::Exit;
use anyhow::{Result, bail};
use std::path::Path;

/// Runs the command.
pub fn run(_tenant: &Path, _json: bool) -> Result<Exit> {
    bail!("`gardien gaps` is not available yet")
}

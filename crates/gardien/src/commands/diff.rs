//! `gardien diff` (being written).

use crate::Exit;
use anyhow::{Result, bail};
use std::path::Path;

/// Runs the command.
pub fn run(_from: &Path, _to: &Path, _json: bool) -> Result<Exit> {
    bail!("`gardien diff` is not available yet")
}

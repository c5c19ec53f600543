//! `gardien replay` (being written).

use crate::Exit;
use anyhow::{Result, bail};
use std::path::Path;

/// Runs the command.
pub fn run(
    _tenant: &Path,
    _logs: &[std::path::PathBuf],
    _baseline: Option<&Path>,
    _json: bool,
) -> Result<Exit> {
    bail!("`gardien replay` is not available yet")
}

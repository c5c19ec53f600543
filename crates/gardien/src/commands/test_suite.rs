//! `gardien test` (being written).

use crate::Exit;
use anyhow::{Result, bail};
use std::path::Path;

/// Runs the command.
pub fn run(_suites: &[std::path::PathBuf], _junit: Option<&Path>) -> Result<Exit> {
    bail!("`gardien test` is not available yet")
}

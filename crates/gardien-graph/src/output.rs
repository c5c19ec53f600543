//! Atomic output: the pull writes into a hidden folder next to the target and renames it into
//! place at the end. A pull that fails (or is interrupted) removes its folder and leaves the
//! previous tenant untouched.

use crate::error::PullError;
use serde_json::Value;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Pretty JSON with a final newline: the form every pulled file has.
pub(crate) fn pretty(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// A folder being filled, renamed over the target by [`Staging::commit`].
pub(crate) struct Staging {
    tmp: PathBuf,
    out: PathBuf,
    committed: bool,
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> PullError {
    PullError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

impl Staging {
    /// Prepares `.NAME.pull-PID` next to `out`. Refuses an `out` that exists and is not a
    /// tenant folder (a file, or a non-empty folder without `policies/`): a pull never
    /// replaces something else.
    pub(crate) fn new(out: &Path) -> Result<Staging, PullError> {
        let name = out
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| io_error(out, "the output must name a folder"))?;
        if out.exists() {
            if !out.is_dir() {
                return Err(io_error(out, "exists and is not a folder"));
            }
            let empty = std::fs::read_dir(out)
                .map_err(|e| io_error(out, e))?
                .next()
                .is_none();
            if !empty && !out.join("policies").is_dir() {
                return Err(io_error(
                    out,
                    "exists and is not a tenant folder (no `policies/`); refusing to replace it",
                ));
            }
        }
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = parent.join(format!(".{name}.pull-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| io_error(&tmp, e))?;
        }
        std::fs::create_dir_all(tmp.join("policies")).map_err(|e| io_error(&tmp, e))?;
        Ok(Staging {
            tmp,
            out: out.to_path_buf(),
            committed: false,
        })
    }

    /// Writes `bytes` to `relative` inside the staging folder.
    pub(crate) fn write(&self, relative: &str, bytes: &[u8]) -> Result<(), PullError> {
        let path = self.tmp.join(relative);
        let mut file = File::create(&path).map_err(|e| io_error(&path, e))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error(&path, e))
    }

    /// Opens `relative` for streaming writes.
    pub(crate) fn create(&self, relative: &str) -> Result<(File, PathBuf), PullError> {
        let path = self.tmp.join(relative);
        let file = File::create(&path).map_err(|e| io_error(&path, e))?;
        Ok((file, path))
    }

    /// Puts the staging folder in place of the target.
    pub(crate) fn commit(mut self) -> Result<(), PullError> {
        if self.out.exists() {
            let old = self.tmp.with_file_name(format!(
                ".{}.old-{}",
                self.out
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("tenant"),
                std::process::id()
            ));
            std::fs::rename(&self.out, &old).map_err(|e| io_error(&self.out, e))?;
            if let Err(e) = std::fs::rename(&self.tmp, &self.out) {
                // Put the previous pull back before reporting.
                let _ = std::fs::rename(&old, &self.out);
                return Err(io_error(&self.out, e));
            }
            self.committed = true;
            std::fs::remove_dir_all(&old).map_err(|e| io_error(&old, e))?;
        } else {
            std::fs::rename(&self.tmp, &self.out).map_err(|e| io_error(&self.out, e))?;
            self.committed = true;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

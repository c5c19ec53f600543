//! Reading local files given on the command line or in `gardien.toml`: regular files only
//! (a FIFO with no writer would hang, `/dev/zero` would never end), at most a size limit
//! (checked before reading and enforced while reading, should the file grow), with an
//! error that names the file and says why.

use std::io::Read as _;
use std::path::Path;

/// The default limit: the core's file limit (64 MiB, `docs/limits.md`).
pub const DEFAULT_LIMIT: usize = gardien_core::limits::MAX_FILE_BYTES;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Opening or reading failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A FIFO, socket, device or directory.
    #[error("cannot read {path}: not a regular file (a pipe, device or directory); give a file")]
    NotRegular {
        /// The file.
        path: String,
    },
    /// Larger than the limit.
    #[error("{path}: more than {limit} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// The file.
        path: String,
        /// The limit.
        limit: usize,
    },
}

impl FileError {
    /// The reason alone (without the file name), as an I/O error.
    pub fn into_io(self) -> std::io::Error {
        match self {
            FileError::Io { source, .. } => source,
            FileError::NotRegular { .. } => std::io::Error::other(
                "not a regular file (a pipe, device or directory); give a file",
            ),
            FileError::TooLarge { limit, .. } => {
                std::io::Error::other(format!("more than {limit} bytes"))
            }
        }
    }
}

/// Reads a regular file of at most `limit` bytes.
pub fn read_regular(path: &Path, limit: usize) -> Result<Vec<u8>, FileError> {
    let name = || crate::clean::escape(&path.display().to_string(), 1024);
    let io = |source| FileError::Io {
        path: name(),
        source,
    };
    // Checked before opening: opening a FIFO without a writer blocks.
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular { path: name() });
    }
    if meta.len() > limit as u64 {
        return Err(FileError::TooLarge {
            path: name(),
            limit,
        });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    if !file.metadata().map_err(io)?.is_file() {
        return Err(FileError::NotRegular { path: name() });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0).min(limit));
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > limit {
        return Err(FileError::TooLarge {
            path: name(),
            limit,
        });
    }
    Ok(bytes)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_text(path: &Path, limit: usize) -> Result<String, FileError> {
    let bytes = read_regular(path, limit)?;
    String::from_utf8(bytes).map_err(|_| FileError::Io {
        path: crate::clean::escape(&path.display().to_string(), 1024),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn only_bounded_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.json");
        std::fs::write(&f, b"0123456789").unwrap();
        assert_eq!(read_regular(&f, 10).unwrap(), b"0123456789");
        assert!(matches!(
            read_regular(&f, 9),
            Err(FileError::TooLarge { .. })
        ));
        assert!(matches!(
            read_regular(dir.path(), 10),
            Err(FileError::NotRegular { .. })
        ));
        let e = read_regular(&dir.path().join("missing"), 10).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
        if Path::new("/dev/zero").exists() {
            assert!(matches!(
                read_regular(Path::new("/dev/zero"), 10),
                Err(FileError::NotRegular { .. })
            ));
        }
    }
}

//! A JSON-lines file rotated by size: when the next line would make `path` larger than
//! `max_bytes`, `path` becomes `path.1`, `path.1` becomes `path.2`, … up to `path.<keep>`
//! (the oldest, `path.<keep>`, is deleted first), and a new `path` is started. A line is
//! never split across files; a single line larger than `max_bytes` gets a file to itself.
//! On disk: at most `(keep + 1) × max_bytes` (plus one line).
//!
//! [`RotatingFile::reopen`] closes and reopens `path` (after an external `logrotate` moved
//! it, on `SIGHUP`). New files are created with mode 0640.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The file being written and its rotated predecessors.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    file: Option<BufWriter<File>>,
    size: u64,
}

fn open(path: &Path) -> std::io::Result<(BufWriter<File>, u64)> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o640);
    }
    let file = options.open(path)?;
    let size = file.metadata()?.len();
    Ok((BufWriter::with_capacity(64 * 1024, file), size))
}

impl RotatingFile {
    /// Opens (creating it and its directory if needed) `path` for appending.
    pub fn open(path: &Path, max_bytes: u64, keep: u32) -> std::io::Result<RotatingFile> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let (file, size) = open(path)?;
        Ok(RotatingFile {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(1),
            keep: keep.max(1),
            file: Some(file),
            size,
        })
    }

    /// `path.<n>`.
    pub fn rotated(&self, n: u32) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Appends one line (`line` without its newline), rotating first if it would not fit.
    pub fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        let len = line.len() as u64 + 1;
        if self.size > 0 && self.size + len > self.max_bytes {
            self.rotate()?;
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                let (f, size) = open(&self.path)?;
                self.size = size;
                self.file.insert(f)
            }
        };
        file.write_all(line)?;
        file.write_all(b"\n")?;
        self.size += len;
        Ok(())
    }

    /// Writes what is buffered to the file.
    pub fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }

    /// Closes `path` and opens it again (a new file if it was moved away).
    pub fn reopen(&mut self) -> std::io::Result<()> {
        if let Some(mut f) = self.file.take() {
            f.flush()?;
        }
        let (f, size) = open(&self.path)?;
        self.file = Some(f);
        self.size = size;
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        if let Some(mut f) = self.file.take() {
            f.flush()?;
        }
        let oldest = self.rotated(self.keep);
        match std::fs::remove_file(&oldest) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        for n in (1..self.keep).rev() {
            let from = self.rotated(n);
            if from.exists() {
                std::fs::rename(&from, self.rotated(n + 1))?;
            }
        }
        std::fs::rename(&self.path, self.rotated(1))?;
        let (f, size) = open(&self.path)?;
        self.file = Some(f);
        self.size = size;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn rotates_by_size_and_keeps_n_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/signins.jsonl");
        // 10-byte lines ("line-0000" + newline), 35 bytes per file: 3 lines each.
        let mut f = RotatingFile::open(&path, 35, 2).unwrap();
        for i in 0..20 {
            f.write_line(format!("line-{i:04}").as_bytes()).unwrap();
        }
        f.flush().unwrap();
        assert_eq!(lines(&path), ["line-0018", "line-0019"]);
        assert_eq!(
            lines(&f.rotated(1)),
            ["line-0015", "line-0016", "line-0017"]
        );
        assert_eq!(
            lines(&f.rotated(2)),
            ["line-0012", "line-0013", "line-0014"]
        );
        assert!(!f.rotated(3).exists(), "only `keep` rotated files");
        for p in [path.clone(), f.rotated(1), f.rotated(2)] {
            assert!(
                std::fs::metadata(&p).unwrap().len() <= 35,
                "{}",
                p.display()
            );
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, mode & 0o040, "not world-readable: {mode:o}");
        }
    }

    #[test]
    fn an_existing_file_is_appended_to_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        std::fs::write(&path, "old-00000\nold-00001\n").unwrap();
        let mut f = RotatingFile::open(&path, 30, 1).unwrap();
        f.write_line(b"new-00000").unwrap();
        f.write_line(b"new-00001").unwrap();
        f.flush().unwrap();
        assert_eq!(
            lines(&f.rotated(1)),
            ["old-00000", "old-00001", "new-00000"]
        );
        assert_eq!(lines(&path), ["new-00001"]);
    }

    #[test]
    fn a_line_larger_than_the_limit_gets_a_file_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let mut f = RotatingFile::open(&path, 8, 3).unwrap();
        f.write_line(b"a").unwrap();
        f.write_line(b"a-very-long-line").unwrap();
        f.write_line(b"b").unwrap();
        f.flush().unwrap();
        assert_eq!(lines(&f.rotated(2)), ["a"]);
        assert_eq!(lines(&f.rotated(1)), ["a-very-long-line"]);
        assert_eq!(lines(&path), ["b"]);
    }

    #[test]
    fn reopen_follows_an_external_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let mut f = RotatingFile::open(&path, 1000, 1).unwrap();
        f.write_line(b"before").unwrap();
        f.flush().unwrap();
        std::fs::rename(&path, dir.path().join("moved")).unwrap();
        f.reopen().unwrap();
        f.write_line(b"after").unwrap();
        f.flush().unwrap();
        assert_eq!(lines(&path), ["after"]);
        assert_eq!(lines(&dir.path().join("moved")), ["before"]);
    }
}

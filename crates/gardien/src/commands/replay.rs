//! `gardien replay`: sign-in logs (an Entra export or gardien's own log) decided again by a
//! proposed tenant, and what would change.
//!
//! Logs are streamed record by record (bounded memory); `-` reads standard input. With
//! `--json` the per-sign-in listing is written as it goes (`{"signIns": [...]` first, the
//! totals and changes after), so a run that stops on an unreadable file leaves an incomplete,
//! invalid JSON document on stdout and exits 1, never a valid-looking partial report. A
//! progress line is drawn on stderr when stderr is a terminal. docs/replay.md has the rest.

use anyhow::{Context, Result, anyhow};
use gardien_analysis::replay::{
    Change, Element, Outcome, Position, ReadError, Replay, SkippedEntry, read_log,
};
use std::cell::Cell;
use std::fmt::Write as _;
use std::io::{BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{Exit, print_out, tenant_fs};

/// Counts the bytes read from a file, for the progress line.
struct Counting<'a, R> {
    inner: R,
    read: &'a Cell<u64>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// The progress line on stderr (only when it is a terminal).
struct Progress {
    enabled: bool,
    total: u64,
    done_before: u64,
    records: u64,
    last: Instant,
}

impl Progress {
    fn new(total: u64) -> Progress {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            total,
            done_before: 0,
            records: 0,
            last: Instant::now(),
        }
    }

    fn tick(&mut self, file_bytes: u64, file: &str) {
        self.records += 1;
        if !self.enabled || !self.records.is_multiple_of(512) {
            return;
        }
        let now = Instant::now();
        if now.duration_since(self.last) < Duration::from_millis(100) {
            return;
        }
        self.last = now;
        let done = self.done_before + file_bytes;
        let mut err = std::io::stderr().lock();
        if self.total == 0 || done > self.total {
            let _ = write!(
                err,
                "\r\x1b[2Kreplay: {:.1} MB, {} records ({file})",
                done as f64 / 1e6,
                self.records
            );
        } else {
            let _ = write!(
                err,
                "\r\x1b[2Kreplay: {:5.1}% of {:.1} MB, {} records ({file})",
                done as f64 * 100.0 / self.total as f64,
                self.total as f64 / 1e6,
                self.records
            );
        }
        let _ = err.flush();
    }

    fn clear(&self) {
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// Replays the logs; exit 2 when sign-ins of a `--fail-on` category exist, else 0 with the
/// report; 1 when a tenant or a log cannot be read or a category is unknown.
pub fn run(
    tenant: &Path,
    logs: &[PathBuf],
    baseline: Option<&Path>,
    json: bool,
    fail_on: &[String],
) -> Result<Exit> {
    let mut failing: Vec<Change> = Vec::new();
    for name in fail_on.iter().map(|k| k.trim()).filter(|k| !k.is_empty()) {
        if name == "any" {
            failing.extend(Change::ALL.iter().filter(|c| **c != Change::Unchanged));
            continue;
        }
        match Change::parse(name).filter(|c| *c != Change::Unchanged) {
            Some(c) => failing.push(c),
            None => {
                let names: Vec<&str> = Change::ALL
                    .iter()
                    .filter(|c| **c != Change::Unchanged)
                    .map(|c| c.as_str())
                    .collect();
                return Err(anyhow!(
                    "--fail-on: unknown change category `{name}` (any, {})",
                    names.join(", ")
                ));
            }
        }
    }
    let proposed = tenant_fs::load_or_fail(tenant)?;
    let base = baseline.map(tenant_fs::load_or_fail).transpose()?;
    let mut files: Vec<(&PathBuf, Box<dyn Read>, u64)> = Vec::with_capacity(logs.len());
    for path in logs {
        if path.as_os_str() == "-" {
            files.push((path, Box::new(std::io::stdin()), 0));
            continue;
        }
        // Logs are streamed (no size limit), but only from a regular file or stdin (`-`):
        // a FIFO without a writer would hang.
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if !meta.is_file() {
            anyhow::bail!(
                "cannot read {}: not a regular file (a pipe, device or directory); give a file, or `-` for stdin",
                path.display()
            );
        }
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        files.push((path, Box::new(file), size));
    }
    let mut replay = Replay::new(&proposed, base.as_ref());
    let mut progress = Progress::new(files.iter().map(|f| f.2).sum());
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut first = true;
    let result = (|| -> Result<(), ReadError<std::io::Error>> {
        if json {
            out.write_all(b"{\"signIns\": [").map_err(ReadError::Sink)?;
        }
        for (path, file, size) in files {
            let name = path.display().to_string();
            let read = Cell::new(0u64);
            let reader = BufReader::with_capacity(
                1 << 16,
                Counting {
                    inner: file,
                    read: &read,
                },
            );
            read_log(
                &name,
                reader,
                |pos: Position, element: Element<'_>| -> std::io::Result<()> {
                    let outcome = replay.replay(&element, || pos.describe(&name));
                    if json {
                        out.write_all(if first { b"\n" } else { b",\n" })?;
                        first = false;
                        let source = pos.describe(&name);
                        match &outcome {
                            Outcome::Replayed(r) => serde_json::to_writer(
                                &mut out,
                                &replay.entry(&source, &r.rebuilt, &r.compared),
                            )?,
                            Outcome::Skipped(s) => serde_json::to_writer(
                                &mut out,
                                &SkippedEntry {
                                    source: &source,
                                    skipped: s.reason.as_str(),
                                    detail: &s.detail,
                                },
                            )?,
                        }
                    }
                    progress.tick(read.get(), &name);
                    Ok(())
                },
            )?;
            progress.done_before += size;
        }
        Ok(())
    })();
    progress.clear();
    match result {
        Ok(()) => {}
        Err(ReadError::Sink(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            return Ok(Exit::Ok);
        }
        Err(ReadError::Sink(e)) => return Err(anyhow!("cannot write the report: {e}")),
        Err(ReadError::Log(e)) => {
            let _ = out.flush();
            return Err(anyhow!("{e}"));
        }
    }
    let report = replay.report();
    let finish = if json {
        let mut summary = serde_json::to_value(&report)?;
        if let Some(o) = summary.as_object_mut() {
            o.insert("tenant".into(), tenant.display().to_string().into());
            o.insert(
                "baseline".into(),
                baseline.map(|b| b.display().to_string()).into(),
            );
            o.insert(
                "logs".into(),
                logs.iter()
                    .map(|l| l.display().to_string())
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        let mut tail = String::from(if first { "]" } else { "\n]" });
        if let Some(o) = summary.as_object() {
            for (k, v) in o {
                let _ = write!(tail, ",\n{}: {}", serde_json::to_string(k)?, v);
            }
        }
        tail.push_str("\n}\n");
        out.write_all(tail.as_bytes()).and_then(|()| out.flush())
    } else {
        drop(out);
        print_out(&crate::render::text::replay(
            &report, tenant, baseline, logs,
        ))
    };
    let failed = failing
        .iter()
        .any(|c| report.changes.get(*c).is_some_and(|g| g.count > 0));
    match finish {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow!("cannot write the report: {e}"))
        }
        _ if failed => Ok(Exit::Deny),
        _ => Ok(Exit::Ok),
    }
}

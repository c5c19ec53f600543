//! Shipping sign-in records as JSON lines (`[log.ship]`), besides the store, for SIEM
//! pipelines: to standard output or to a file rotated by size ([`rotate`]), each field
//! masked as configured ([`mask`]).
//!
//! # One record, two renderers
//!
//! A decision's `signIn` record is built once, as JSON text, by
//! [`crate::signin_record::build`]; the store keeps that text as it is, and the shipper
//! writes the same text — unchanged when no mask is configured, else parsed, masked and
//! serialized again. A shipped line is therefore always the stored record, minus what the
//! masks take out; nothing builds a second record that could drift from the first.
//!
//! # Delivery
//!
//! A record is handed to the shipper once the store accepted it (committed, or queued with
//! `[log] acknowledge = "queued"`), through a bounded queue (65 536 lines) to a thread of its
//! own (`gardien-ship`) that masks, writes and flushes in batches. Decisions never wait for
//! shipping: when the queue is full (stdout blocked, a slow disk), the line is dropped and
//! counted (`gardien_signin_ship_dropped_total`); a write error loses the batch's lines
//! (`gardien_signin_ship_errors_total`) and the file is reopened for the next. The store
//! remains the record of every decision. Lines are flushed to the OS after each batch, not
//! fsynced. Standard output carries only shipped lines (`gardien serve` logs to standard
//! error).

pub mod mask;
pub mod rotate;

use crate::config::{ShipConfig, ShipOutput};
use crate::metrics::ShipCounters;
use mask::Masker;
use rotate::RotatingFile;
use std::io::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// Lines the queue holds before new ones are dropped.
const QUEUE: usize = 65_536;
/// Most lines written between two flushes.
const BATCH: usize = 1024;
/// Shortest HMAC key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

/// A `[log.ship]` section that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("[log.ship] {0}")]
pub struct ShipError(pub String);

enum Msg {
    Line(String),
    Reopen,
    Flush(mpsc::SyncSender<()>),
}

/// The handle of the shipping thread; the thread ends when the last handle is dropped,
/// after writing what is queued.
#[derive(Debug, Clone)]
pub struct LogShipper {
    tx: mpsc::SyncSender<Msg>,
    counters: Arc<ShipCounters>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Line(_) => "Line",
            Msg::Reopen => "Reopen",
            Msg::Flush(_) => "Flush",
        })
    }
}

/// The HMAC key of `config`: the content of `hash_key_file` (a trailing newline removed) or
/// of the environment variable `hash_key_env`; at least [`MIN_KEY_BYTES`] bytes.
fn hash_key(config: &ShipConfig) -> Result<Option<Vec<u8>>, ShipError> {
    let key = match (&config.hash_key_file, &config.hash_key_env) {
        (Some(_), Some(_)) => {
            return Err(ShipError(
                "give hash_key_file or hash_key_env, not both".to_owned(),
            ));
        }
        (Some(path), None) => {
            let bytes = crate::files::read_regular(path, 64 * 1024)
                .map_err(|e| ShipError(format!("hash_key_file: {e}")))?;
            let mut bytes = bytes;
            while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                bytes.pop();
            }
            Some(bytes)
        }
        (None, Some(var)) => Some(
            std::env::var_os(var)
                .ok_or_else(|| {
                    ShipError(format!(
                        "hash_key_env: the environment variable `{var}` is not set"
                    ))
                })?
                .into_encoded_bytes(),
        ),
        (None, None) => None,
    };
    match key {
        Some(k) if k.len() < MIN_KEY_BYTES => Err(ShipError(format!(
            "the hash key has {} bytes; at least {MIN_KEY_BYTES} are required (e.g. `head -c 32 /dev/urandom | base64`)",
            k.len()
        ))),
        None if config.mask.hashes() => Err(ShipError(
            "a field is masked with `hash`: set hash_key_file or hash_key_env (the HMAC secret)"
                .to_owned(),
        )),
        other => Ok(other),
    }
}

/// Where lines go.
enum Output {
    Stdout,
    File(RotatingFile),
}

impl Output {
    fn write_batch(&mut self, lines: &[Vec<u8>]) -> std::io::Result<()> {
        match self {
            Output::Stdout => {
                let mut out = std::io::stdout().lock();
                for line in lines {
                    out.write_all(line)?;
                    out.write_all(b"\n")?;
                }
                out.flush()
            }
            Output::File(f) => {
                for line in lines {
                    f.write_line(line)?;
                }
                f.flush()
            }
        }
    }

    fn reopen(&mut self) -> std::io::Result<()> {
        match self {
            Output::Stdout => Ok(()),
            Output::File(f) => f.reopen(),
        }
    }
}

/// One record as shipped: the stored text itself without masks, else masked. `None` when
/// the text is not a JSON object (never shipped unmasked).
pub fn render(record: String, masker: Option<&Masker>) -> Option<Vec<u8>> {
    let Some(masker) = masker else {
        return Some(record.into_bytes());
    };
    let mut value: serde_json::Value = serde_json::from_str(&record).ok()?;
    if !value.is_object() {
        return None;
    }
    masker.apply(&mut value);
    serde_json::to_vec(&value).ok()
}

impl LogShipper {
    /// Checks `config`, opens the output and starts the shipping thread.
    pub fn start(
        config: &ShipConfig,
        counters: Arc<ShipCounters>,
    ) -> Result<LogShipper, ShipError> {
        let key = hash_key(config)?;
        let masker = (!config.mask.is_empty()).then(|| Masker::new(&config.mask, key.as_deref()));
        let output = match config.output {
            ShipOutput::Stdout => Output::Stdout,
            ShipOutput::File => {
                let path = config
                    .path
                    .as_deref()
                    .ok_or_else(|| ShipError("output = \"file\" needs a path".to_owned()))?;
                if config.max_bytes == 0 || config.keep == 0 {
                    return Err(ShipError(
                        "max_bytes and keep must be at least 1".to_owned(),
                    ));
                }
                Output::File(
                    RotatingFile::open(path, config.max_bytes, config.keep)
                        .map_err(|e| ShipError(format!("cannot open {}: {e}", path.display())))?,
                )
            }
        };
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let thread_counters = counters.clone();
        std::thread::Builder::new()
            .name("gardien-ship".to_owned())
            .spawn(move || run(rx, output, masker, &thread_counters))
            .map_err(|e| ShipError(format!("cannot start the shipping thread: {e}")))?;
        tracing::info!(
            output = match config.output {
                ShipOutput::Stdout => "stdout".to_owned(),
                ShipOutput::File => config
                    .path
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            },
            masks = ?config.mask.rules().iter().map(|(f, a)| format!("{f}={}", a.as_str())).collect::<Vec<_>>(),
            "sign-in lines shipped"
        );
        Ok(LogShipper { tx, counters })
    }

    /// Queues a stored record for shipping; never waits (a full queue drops it, counted).
    pub fn ship(&self, record: String) {
        match self.tx.try_send(Msg::Line(record)) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(_)) => {
                let n = self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                if n.is_multiple_of(10_000) {
                    tracing::warn!(
                        dropped = n + 1,
                        "sign-in shipping queue full; lines dropped (the store has them)"
                    );
                }
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Reopens the output file (after an external rotation; `SIGHUP`).
    pub fn reopen(&self) {
        if self.tx.try_send(Msg::Reopen).is_err() {
            tracing::warn!("sign-in shipping: reopen not queued");
        }
    }

    /// Waits (blocking, at most `timeout`) until every line queued before the call is
    /// written and flushed; `false` on timeout.
    pub fn flush(&self, timeout: Duration) -> bool {
        let (done, wait) = mpsc::sync_channel(1);
        if self.tx.send(Msg::Flush(done)).is_err() {
            return false;
        }
        wait.recv_timeout(timeout).is_ok()
    }
}

/// The shipping thread: batches lines, masks, writes, flushes.
fn run(
    rx: mpsc::Receiver<Msg>,
    mut output: Output,
    masker: Option<Masker>,
    counters: &ShipCounters,
) {
    let mut batch: Vec<Vec<u8>> = Vec::with_capacity(BATCH);
    let mut waiting: Vec<mpsc::SyncSender<()>> = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        let mut reopen = false;
        while let Some(msg) = next.take() {
            match msg {
                Msg::Line(record) => match render(record, masker.as_ref()) {
                    Some(line) => batch.push(line),
                    None => {
                        counters.errors.fetch_add(1, Ordering::Relaxed);
                    }
                },
                Msg::Reopen => reopen = true,
                Msg::Flush(done) => waiting.push(done),
            }
            if batch.len() < BATCH && !reopen {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            match output.write_batch(&batch) {
                Ok(()) => {
                    counters
                        .lines
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                }
                Err(e) => {
                    counters
                        .errors
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    tracing::error!(error = %e, lines = batch.len(), "sign-in lines not shipped");
                    reopen = true;
                }
            }
            batch.clear();
        }
        if reopen && let Err(e) = output.reopen() {
            tracing::error!(error = %e, "sign-in shipping: cannot reopen the output");
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

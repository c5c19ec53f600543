//! `[tenant] watch = true`: `gardien serve` follows a tenant folder (docs/policy-as-code.md).
//!
//! Every `watch_interval_ms` the folder's content is fingerprinted (every JSON file under
//! it, path and bytes). A changed fingerprint is read only once it has stayed the same for one
//! more interval, so a burst of edits (a `git pull`, an editor writing several files)
//! becomes one version. The folder is then loaded with the loader of `validate` and, when
//! it differs from the version in force, put in force as a new version through the same
//! path as an admin write ([`AppState::apply`]: validated, stored, swapped atomically). A
//! folder that does not load, or that the core rejects, is logged with every problem,
//! counted in `gardien_admin_rejected_writes_total` and ignored: the last good version stays
//! in force until a later edit fixes it.

use gardien_server::AppState;
use gardien_server::state::WriteError;
use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Deepest folder level read under the tenant folder (as the export-folder reader).
const MAX_DEPTH: usize = 4;

/// A fingerprint of a tenant (a folder or one file): relative paths and bytes of every JSON
/// file under the folder (hidden ones aside), in sorted order.
pub fn fingerprint(path: &Path) -> std::io::Result<u64> {
    let mut hasher = DefaultHasher::new();
    if path.is_file() {
        hasher.write(&std::fs::read(path)?);
        return Ok(hasher.finish());
    }
    let mut files = Vec::new();
    collect(path, 0, &mut files)?;
    files.sort();
    for file in &files {
        let relative = file.strip_prefix(path).unwrap_or(file);
        hasher.write(relative.as_os_str().as_encoded_bytes());
        hasher.write_u8(0);
        let bytes = std::fs::read(file)?;
        hasher.write_usize(bytes.len());
        hasher.write(&bytes);
    }
    Ok(hasher.finish())
}

fn collect(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        // Hidden files: editors' swap files and a `gardien export` staging folder.
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            if depth < MAX_DEPTH {
                collect(&path, depth + 1, out)?;
            }
        } else if path.is_file()
            && path
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("json"))
        {
            // Only what the tenant loader reads: a pull's `signIns.jsonl` may be large.
            out.push(path);
        }
    }
    Ok(())
}

/// What became of one reading of the folder.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Put in force as this version.
    Applied(i64),
    /// Identical to the version in force.
    Unchanged,
    /// Refused (logged); the version in force stays.
    Rejected,
    /// Not applied for a passing reason (the store, another replica); read again later.
    Retry,
}

/// Loads the folder and puts it in force if it differs from the version in force. With
/// `stable`, the fingerprint the folder was seen with: when the folder no longer has it
/// after the read (an edit landed meanwhile), nothing is applied nor logged (`Retry`), so a
/// file caught half-written is never taken for a bad edit.
pub async fn apply_folder(state: &AppState, path: &Path, stable: Option<u64>) -> Outcome {
    let owned = path.to_path_buf();
    let read = tokio::task::spawn_blocking(move || {
        let loaded = crate::tenant_fs::tenant_snapshot(&owned).map_err(|e| format!("{e:#}"));
        (loaded, fingerprint(&owned).ok())
    })
    .await;
    let (loaded, after) = match read {
        Ok(r) => r,
        Err(e) => (Err(format!("the reading task failed: {e}")), None),
    };
    if stable.is_some() && after != stable {
        tracing::debug!(tenant = %path.display(), "tenant folder changed while it was read; reading it again");
        return Outcome::Retry;
    }
    let shown = path.display().to_string();
    let snapshot = match loaded {
        Ok(s) => s,
        Err(e) => {
            // Counted with the admin writes validation rejected (alert on it).
            state
                .metrics
                .rejected_writes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::error!(tenant = %shown, "tenant folder rejected; the version in force stays:\n{e}");
            return Outcome::Rejected;
        }
    };
    let _order = state.admin_edits.lock().await;
    let live = state.live.load_full();
    if snapshot == live.snapshot {
        return Outcome::Unchanged;
    }
    let refused = gardien_core::dated::refused_policy_writes(
        gardien_server::snapshot::list(&live.snapshot, "policies"),
        gardien_server::snapshot::list(&snapshot, "policies"),
        gardien_server::clock::now_ms().div_euclid(1000),
        &shown,
    );
    if !refused.is_empty() {
        state
            .metrics
            .rejected_writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let errors = gardien_core::LoadErrors::capped(refused);
        tracing::error!(tenant = %shown, "tenant folder rejected; the version in force stays:\n{errors}");
        return Outcome::Rejected;
    }
    let prefix = format!("watch {shown}");
    match state
        .apply("watch", Some(live.version), snapshot, Some(&prefix))
        .await
    {
        Ok(version) => {
            tracing::info!(tenant = %shown, version, "tenant folder changed; now in force");
            Outcome::Applied(version)
        }
        Err(WriteError::Rejected(errors)) => {
            tracing::error!(tenant = %shown, "tenant folder rejected; the version in force stays:\n{errors}");
            Outcome::Rejected
        }
        Err(e) => {
            tracing::warn!(tenant = %shown, error = %e, "tenant folder not applied yet; trying again");
            if let Err(e) = state.sync_policy().await {
                tracing::warn!(error = %e, "could not catch up with the store");
            }
            Outcome::Retry
        }
    }
}

/// Follows `path` until the process ends. The first reading is applied at once (the folder
/// is the truth from the start); later ones once they are stable for one interval.
pub async fn follow(state: Arc<AppState>, path: PathBuf, interval: Duration) {
    tracing::info!(tenant = %path.display(), interval_ms = interval.as_millis() as u64, "following the tenant folder");
    // The fingerprint last read (applied, unchanged or rejected), and one seen changed but
    // not yet stable.
    let mut handled: Option<u64> = None;
    let mut pending: Option<u64> = None;
    let mut unreadable = false;
    let mut first = true;
    loop {
        let p = path.clone();
        let seen = tokio::task::spawn_blocking(move || fingerprint(&p))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
        match seen {
            Err(e) => {
                // A folder being replaced (renamed away and back) can vanish for a moment.
                if !unreadable {
                    tracing::warn!(tenant = %path.display(), error = %e, "tenant folder unreadable; the version in force stays");
                    unreadable = true;
                }
                pending = None;
            }
            Ok(fp) => {
                unreadable = false;
                if handled == Some(fp) {
                    pending = None;
                } else if first || pending == Some(fp) {
                    if apply_folder(&state, &path, Some(fp)).await != Outcome::Retry {
                        handled = Some(fp);
                    }
                    pending = None;
                } else {
                    pending = Some(fp);
                }
                first = false;
            }
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_follow_content_and_names_but_not_hidden_files() {
        let dir = std::env::temp_dir().join(format!("gardien-watch-fp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("policies")).unwrap();
        std::fs::write(dir.join("policies/a.json"), "{}").unwrap();
        let a = fingerprint(&dir).unwrap();
        assert_eq!(fingerprint(&dir).unwrap(), a, "stable");
        std::fs::write(dir.join(".a.json.swp"), "x").unwrap();
        assert_eq!(
            fingerprint(&dir).unwrap(),
            a,
            "hidden files are not the tenant"
        );
        std::fs::write(dir.join("policies/a.json"), "{ }").unwrap();
        let b = fingerprint(&dir).unwrap();
        assert_ne!(a, b, "content");
        std::fs::rename(dir.join("policies/a.json"), dir.join("policies/b.json")).unwrap();
        assert_ne!(fingerprint(&dir).unwrap(), b, "names");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

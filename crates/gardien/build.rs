//! Stamps `gardien --version` with the commit it was built from (`0.1.0 (1a2b3c4d 2026-12-07)`),
//! from `GARDIEN_COMMIT` when set (package builds), else from git when the source is a
//! checkout; a source tree without git gives the bare version.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=GARDIEN_COMMIT");
    let version = env!("CARGO_PKG_VERSION");
    let commit = std::env::var("GARDIEN_COMMIT").ok().or_else(|| {
        // Rebuild when HEAD moves (the git dir of a worktree is elsewhere: ask git).
        if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
            println!("cargo:rerun-if-changed={dir}/HEAD");
            if let Some(head) = git(&["rev-parse", "--symbolic-full-name", "HEAD"])
                && let Some(common) = git(&["rev-parse", "--git-common-dir"])
            {
                println!("cargo:rerun-if-changed={common}/{head}");
            }
        }
        let hash = git(&["rev-parse", "--short=8", "HEAD"])?;
        let date = git(&["log", "-1", "--format=%cs"]).unwrap_or_default();
        Some(format!("{hash} {date}").trim().to_owned())
    });
    let full = match commit {
        Some(c) => format!("{version} ({c})"),
        None => version.to_owned(),
    };
    println!("cargo:rustc-env=GARDIEN_VERSION={full}");
}

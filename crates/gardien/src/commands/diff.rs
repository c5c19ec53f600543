//! `gardien diff`: which classes of sign-ins change decision, error code or required
//! controls between two tenants (docs/gaps.md).

use anyhow::{Result, bail};
use gardien_analysis::diff::{Change, diff};
use std::path::Path;

use crate::{Exit, print_out};

/// The `--fail-on` kind of a change, from its decisions before and after.
fn kind(c: &Change) -> &'static str {
    match (c.from.decision.as_str(), c.to.decision.as_str()) {
        (_, "deny") if c.from.decision != "deny" => "newlyBlocked",
        ("allow", "challenge") => "newlyChallenged",
        ("deny", _) if c.to.decision != "deny" => "noLongerBlocked",
        ("challenge", "allow") => "noLongerChallenged",
        _ => "controlsChanged",
    }
}

const KINDS: [&str; 7] = [
    "any",
    "none",
    "newlyBlocked",
    "newlyChallenged",
    "noLongerBlocked",
    "noLongerChallenged",
    "controlsChanged",
];

/// Runs the command: exit 2 when a class changes in a way `--fail-on` names (default: any
/// change), else 0; 1 when a tenant cannot be loaded or a kind is unknown.
pub fn run(from: &Path, to: &Path, json: bool, fail_on: &[String]) -> Result<Exit> {
    let wanted: Vec<&str> = fail_on
        .iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
        .collect();
    if let Some(bad) = wanted.iter().find(|k| !KINDS.contains(k)) {
        bail!(
            "--fail-on: unknown change kind `{bad}` ({})",
            KINDS.join(", ")
        );
    }
    let from = crate::tenant_fs::load_uncompiled(from)?;
    let to = crate::tenant_fs::load_uncompiled(to)?;
    let report = diff(&from, &to)?;
    if json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        print_out(&crate::render::diff::text(&report))?;
    }
    let failed = report
        .changes
        .iter()
        .any(|c| wanted.contains(&"any") || wanted.contains(&kind(c)));
    Ok(if failed { Exit::Deny } else { Exit::Ok })
}

//! `gardien diff`: which classes of sign-ins change decision, error code or required
//! controls between two tenants (docs/gaps.md).

use anyhow::Result;
use gardien_analysis::diff::diff;
use std::path::Path;

use crate::{Exit, print_out};

/// Runs the command: exit 0 when no class changes, 2 when some do (for CI), 1 when a tenant
/// cannot be loaded.
pub fn run(from: &Path, to: &Path, json: bool) -> Result<Exit> {
    let from = crate::tenant_fs::load_uncompiled(from)?;
    let to = crate::tenant_fs::load_uncompiled(to)?;
    let report = diff(&from, &to)?;
    if json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        print_out(&report.to_text())?;
    }
    Ok(if report.has_changes() {
        Exit::Deny
    } else {
        Exit::Ok
    })
}

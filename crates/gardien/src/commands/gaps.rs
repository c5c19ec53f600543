//! `gardien gaps`: classes of sign-ins that reach a resource with no control or no strong
//! control, over the equivalence classes the policies distinguish (docs/gaps.md).

use anyhow::Result;
use gardien_analysis::gaps::find_gaps;
use std::path::Path;

use crate::{Exit, print_out, tenant_fs};

/// Runs the command: exit 0 whatever the gaps (the report is informational), 1 when the
/// tenant cannot be loaded.
pub fn run(tenant: &Path, json: bool) -> Result<Exit> {
    let tenant = tenant_fs::load_uncompiled(tenant)?;
    let report = find_gaps(&tenant)?;
    if json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        print_out(&report.to_text())?;
    }
    Ok(Exit::Ok)
}

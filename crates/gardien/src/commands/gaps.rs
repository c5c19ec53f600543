//! `gardien gaps`: classes of sign-ins that reach a resource with no control or no strong
//! control, over the equivalence classes the policies distinguish (docs/gaps.md).

use anyhow::{Result, bail};
use gardien_analysis::gaps::find_gaps;
use gardien_core::Tenant;
use std::path::Path;

use crate::{Exit, print_out, tenant_fs};

/// Loads a tenant without compiling it (the analysis compiles its own augmented copy).
pub(crate) fn load_tenant(path: &Path) -> Result<Tenant> {
    let source = tenant_fs::tenant_source(path)?;
    match Tenant::load(&source) {
        Ok(t) => Ok(t),
        Err(e) => bail!("invalid tenant `{}`:\n{e}", path.display()),
    }
}

/// Runs the command: exit 0 whatever the gaps (the report is informational), 1 when the
/// tenant cannot be loaded.
pub fn run(tenant: &Path, json: bool) -> Result<Exit> {
    let tenant = load_tenant(tenant)?;
    let report = find_gaps(&tenant)?;
    if json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        print_out(&report.to_text())?;
    }
    Ok(Exit::Ok)
}

//! `gardien gaps`: classes of sign-ins that reach a resource with no control or no strong
//! control, over the equivalence classes the policies distinguish (docs/gaps.md).

use anyhow::{Result, bail};
use gardien_analysis::gaps::{GapsOptions, find_gaps_with};
use std::path::Path;

use crate::{Exit, print_out, tenant_fs};

/// Runs the command: exit 2 when gaps of a `--fail-on` kind exist, else 0 (without
/// `--fail-on` the report is informational), 1 when the tenant cannot be loaded or a kind is
/// unknown. `options`: `--partial` and `--approximate-locations`.
pub fn run(tenant: &Path, json: bool, fail_on: &[String], options: GapsOptions) -> Result<Exit> {
    let mut kinds = (false, false);
    for k in fail_on.iter().map(|k| k.trim()).filter(|k| !k.is_empty()) {
        match k {
            "noControl" => kinds.0 = true,
            "noStrongControl" => kinds.1 = true,
            other => bail!("--fail-on: unknown gap kind `{other}` (noControl, noStrongControl)"),
        }
    }
    let tenant = tenant_fs::load_uncompiled(tenant)?;
    let report = find_gaps_with(&tenant, options)?;
    if json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        print_out(&crate::render::gaps::text(&report))?;
    }
    let s = &report.summary;
    let failed =
        (kinds.0 && s.no_control_classes > 0) || (kinds.1 && s.no_strong_control_classes > 0);
    Ok(if failed { Exit::Deny } else { Exit::Ok })
}

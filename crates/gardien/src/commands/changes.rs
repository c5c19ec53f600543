//! `gardien changes`: which policies behave differently before and after each dated change of
//! Entra (retired controls, enforcement changes), decided by the same evaluator.

use anyhow::Result;
use gardien_analysis::changes::changes;
use std::path::Path;

use crate::{Exit, print_out, tenant_fs};

/// Prints the report as of `now` (Unix seconds); exit 0 (it ran), 1 on bad input.
pub fn run(tenant: &Path, json: bool, now: i64) -> Result<Exit> {
    let compiled = tenant_fs::load_or_fail(tenant)?;
    let report = changes(&compiled, now);
    if json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        print_out(&crate::render::changes::text(&report))?;
    }
    Ok(Exit::Ok)
}

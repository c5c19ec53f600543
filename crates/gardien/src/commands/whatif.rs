//! `gardien whatif`: Graph's What If.

use anyhow::Result;
use gardien_core::report::WhatIfReport;
use std::path::Path;

use crate::{Exit, print_out, render, tenant_fs};

/// Runs what-if at `now` (Unix seconds) and prints Graph JSON or a table.
pub fn run(tenant: &Path, request: &Path, json: bool, now: i64) -> Result<Exit> {
    let compiled = tenant_fs::load_for_decisions(tenant)?;
    let mut signin = tenant_fs::read_request(request, &compiled.tenant)?;
    signin.at = Some(now);
    let report = WhatIfReport::new(&compiled, &signin);
    if json {
        print_out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report.to_graph_json(&compiled))?
        ))?;
    } else {
        print_out(&render::whatif_table(&compiled, &report, &signin))?;
    }
    Ok(Exit::Ok)
}

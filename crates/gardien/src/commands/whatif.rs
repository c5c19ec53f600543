//! `gardien whatif`: Graph's What If.

use anyhow::{Context, Result};
use gardien_core::SignIn;
use gardien_core::report::WhatIfReport;
use std::path::Path;

use crate::{Exit, print_out, render, tenant_fs};

/// Runs what-if at `now` (Unix seconds) and prints Graph JSON or a table.
pub fn run(tenant: &Path, request: &Path, json: bool, now: i64) -> Result<Exit> {
    let compiled = tenant_fs::load_or_fail(tenant)?;
    let bytes =
        std::fs::read(request).with_context(|| format!("cannot read {}", request.display()))?;
    let mut signin = SignIn::parse(&request.display().to_string(), &bytes)?;
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

//! `gardien whatif`: Graph's What If.

use anyhow::Result;
use gardien_core::SignIn;
use gardien_core::report::WhatIfReport;
use std::path::Path;

use crate::{Exit, print_out, render, tenant_fs};

/// Runs what-if and prints Graph JSON or a table.
pub fn run(tenant: &Path, request: &Path, json: bool) -> Result<Exit> {
    let compiled = tenant_fs::load_or_fail(tenant)?;
    let bytes = crate::tenant_fs::read_input(request)?;
    let signin = SignIn::parse(&request.display().to_string(), &bytes)?;
    let report = WhatIfReport::new(&compiled, &signin);
    if json {
        print_out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report.to_graph_json(&compiled))?
        ))?;
    } else {
        print_out(&render::whatif_table(&compiled, &report))?;
    }
    Ok(Exit::Ok)
}

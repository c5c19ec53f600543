//! `gardien evaluate`: the decision, with error code, trace and explanation.

use anyhow::Result;
use gardien_core::Decision;
use gardien_core::report::DecisionReport;
use std::path::Path;

use crate::commands::signin::SignalArgs;
use crate::{Exit, print_out, render, tenant_fs};

/// What to evaluate: a Graph evaluate body, or a saved HTTP request turned into one.
pub enum Input<'a> {
    /// `--request FILE`.
    Request(&'a Path),
    /// `--http-request FILE` with the signal options.
    HttpRequest(&'a Path, &'a SignalArgs),
}

/// Evaluates a sign-in; the exit code says allow (0), deny (2) or challenge (3).
/// `now` is the evaluation instant (Unix seconds) that Entra's dated changes are read at.
pub fn run(tenant: &Path, input: Input<'_>, json: bool, now: i64) -> Result<Exit> {
    let compiled = tenant_fs::load_for_decisions(tenant)?;
    let mut signin = match input {
        Input::Request(request) => tenant_fs::read_request(request, &compiled.tenant)?,
        Input::HttpRequest(file, args) => args.build(file)?.0,
    };
    signin.at = Some(now);
    let evaluation = compiled.evaluate(&signin);
    let report = DecisionReport::new(&compiled, &signin, &evaluation);
    if json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        print_out(&render::decision_text_in(
            Some(&compiled),
            &report,
            render::colour(),
        ))?;
    }
    Ok(match evaluation.verdict.decision {
        Decision::Allow => Exit::Ok,
        Decision::Deny => Exit::Deny,
        Decision::Challenge => Exit::Challenge,
    })
}

//! `gardien evaluate`: the decision, with error code, trace and explanation.

use anyhow::Result;
use gardien_core::report::DecisionReport;
use gardien_core::{Decision, SignIn};
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
pub fn run(tenant: &Path, input: Input<'_>, json: bool) -> Result<Exit> {
    let compiled = tenant_fs::load_or_fail(tenant)?;
    let signin = match input {
        Input::Request(request) => {
            let bytes = tenant_fs::read_input(request)?;
            SignIn::parse(&request.display().to_string(), &bytes)?
        }
        Input::HttpRequest(file, args) => args.build(file)?.0,
    };
    let evaluation = compiled.evaluate(&signin);
    let report = DecisionReport::new(&compiled, &signin, &evaluation);
    if json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        print_out(&render::decision_text(&report))?;
    }
    Ok(match evaluation.verdict.decision {
        Decision::Allow => Exit::Ok,
        Decision::Deny => Exit::Deny,
        Decision::Challenge => Exit::Challenge,
    })
}

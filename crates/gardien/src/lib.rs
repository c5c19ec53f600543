//! The `gardien` command line: `whatif`, `evaluate`, `validate`, `demo`.
//!
//! Each command calls a library function that returns one report; `--json` serialises it
//! and `render/` formats it for people. Results go to stdout, diagnostics to stderr.

pub mod commands;
pub mod render;
pub mod tenant_fs;

use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes are part of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Allowed, or the command succeeded.
    Ok = 0,
    /// The command could not run (bad input, I/O error).
    Failure = 1,
    /// `evaluate`: access denied.
    Deny = 2,
    /// `evaluate`: a challenge (MFA, terms of use, ...) is required.
    Challenge = 3,
}

/// Microsoft Entra Conditional Access, offline: decide, explain, analyse.
#[derive(Debug, Parser)]
#[command(name = "gardien", version, about)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Which policies apply to a sign-in, as Graph's What If (`conditionalAccess/evaluate`).
    Whatif {
        /// Tenant directory (policies/, namedLocations.json, directory.json) or single JSON file.
        #[arg(long)]
        tenant: PathBuf,
        /// Graph evaluate request body (JSON).
        #[arg(long)]
        request: PathBuf,
        /// Print Graph's `{"value":[whatIfAnalysisResult...]}` instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Decide a sign-in: allow, challenge or deny, with the error code and why.
    Evaluate {
        /// Tenant directory or single JSON file.
        #[arg(long)]
        tenant: PathBuf,
        /// Graph evaluate request body, optionally with gardien's `session` member.
        #[arg(long)]
        request: PathBuf,
        /// Print the decision as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Decide and explain the classic cases of the bundled demo tenant.
    Demo {
        /// Print the decisions as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Load a tenant and report every problem in it.
    Validate {
        /// Tenant directory or single JSON file.
        #[arg(long)]
        tenant: PathBuf,
        /// Print problems as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Writes to stdout, treating a closed pipe (`gardien … | head`) as success.
pub fn print_out(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Runs the command line and returns the process exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Whatif {
            tenant,
            request,
            json,
        } => commands::whatif::run(tenant, request, *json),
        Command::Evaluate {
            tenant,
            request,
            json,
        } => commands::evaluate::run(tenant, request, *json),
        Command::Validate { tenant, json } => commands::validate::run(tenant, *json),
        Command::Demo { json } => commands::demo::run(*json),
    };
    match result {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(Exit::Failure as u8)
        }
    }
}

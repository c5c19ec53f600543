//! The `gardien` command line: `whatif`, `evaluate`, `signin`, `validate`, `demo`.
//!
//! Each command calls a library function that returns one report; `--json` serialises it
//! and `render/` formats it for people. Results go to stdout, diagnostics to stderr.

pub mod commands;
pub mod diagnostics;
pub mod render;
pub mod tenant_fs;
pub mod watch;

use clap::{Parser, Subcommand};
use commands::signin::SignalArgs;
use gardien_analysis::doc::{DEFAULT_IP_BOUND, DocOptions};
use gardien_analysis::gaps::GapsOptions;
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
#[command(name = "gardien", version = env!("GARDIEN_VERSION"), about)]
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
        /// Evaluation time, for Entra's dated changes (RFC 3339, a date or epoch seconds;
        /// default: the clock).
        #[arg(long, value_parser = parse_now)]
        now: Option<i64>,
    },
    /// Decide a sign-in: allow, challenge or deny, with the error code and why.
    Evaluate {
        /// Tenant directory or single JSON file.
        #[arg(long)]
        tenant: PathBuf,
        /// Graph evaluate request body, optionally with gardien's `session` member.
        #[arg(
            long,
            required_unless_present = "http_request",
            conflicts_with = "http_request"
        )]
        request: Option<PathBuf>,
        /// A saved HTTP request head, turned into a sign-in with the signal options.
        #[arg(long)]
        http_request: Option<PathBuf>,
        /// Where signals come from (with --http-request).
        #[command(flatten)]
        signals: SignalArgs,
        /// Print the decision as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The sign-in an HTTP request would produce, and where each value came from.
    Signin {
        /// A saved HTTP request head: optional request line, then `Name: value` lines.
        #[arg(long)]
        headers: PathBuf,
        /// Where signals come from.
        #[command(flatten)]
        signals: SignalArgs,
        /// Print only the Graph evaluate request body (input for `evaluate --request`).
        #[arg(long)]
        json: bool,
    },
    /// Decide and explain the classic cases of the bundled demo tenant.
    Demo {
        /// Print the decisions as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Lint a tenant: lockout risks, dangling references, dead or shadowed policies, legacy
    /// authentication, admins without MFA... Stable rule ids; exit 2 when findings fail.
    Lint {
        /// Tenant directory or single JSON file.
        #[arg(long)]
        tenant: PathBuf,
        /// Output format: text, json or sarif.
        #[arg(long, default_value = "text")]
        format: String,
        /// Lowest severity that makes the exit code 2: error, warning or info.
        #[arg(long, default_value = "warning")]
        fail_on: String,
        /// Waiver file (TOML `[[waiver]]`: rule, policy/user/app, reason, expires): waived
        /// findings are listed apart; an expired waiver makes the run exit 2.
        #[arg(long)]
        waivers: Option<PathBuf>,
        /// "Now" for age-based and dated rules (RFC 3339, a date or epoch seconds; default:
        /// the clock).
        #[arg(long, value_parser = parse_now)]
        now: Option<i64>,
    },
    /// Classes of sign-ins that reach an application with no control or no strong control.
    Gaps {
        /// Tenant directory or single JSON file.
        #[arg(long)]
        tenant: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Exit 2 when gaps of these kinds exist (comma-separated: noControl,
        /// noStrongControl); default: exit 0 whatever the gaps.
        #[arg(long, value_delimiter = ',')]
        fail_on: Vec<String>,
        /// When the partition is too large to walk whole, walk the broadest users ×
        /// applications first, as many as fit, instead of refusing (the report says what was
        /// walked; gaps elsewhere are not looked for).
        #[arg(long)]
        partial: bool,
        /// Above 4096 IP range boundaries, one address per IP named location stands for its
        /// ranges (as `gardien doc` by default; the report says so): far fewer location
        /// classes on tenants with hundreds of thousands of ranges.
        #[arg(long)]
        approximate_locations: bool,
    },
    /// Replay sign-in logs (Entra export or gardien's) against a proposed tenant.
    Replay {
        /// The proposed tenant.
        #[arg(long)]
        tenant: PathBuf,
        /// Sign-in log files: JSON `{"value":[...]}`, a JSON array or JSON lines (`-`: stdin).
        #[arg(long, required = true, num_args = 1..)]
        logs: Vec<PathBuf>,
        /// Compare with this tenant's decisions instead of the logged outcomes.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Print JSON with a per-sign-in listing.
        #[arg(long)]
        json: bool,
        /// Exit 2 when sign-ins of these change categories exist (comma-separated, e.g.
        /// newlyBlocked,newlyChallenged; `any`: every category but unchanged); default: exit
        /// 0 whatever changes.
        #[arg(long, value_delimiter = ',')]
        fail_on: Vec<String>,
    },
    /// Semantic difference between two tenants: which sign-in classes change outcome.
    Diff {
        /// The current tenant.
        #[arg(long)]
        from: PathBuf,
        /// The proposed tenant.
        #[arg(long)]
        to: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Exit 2 only for changes of these kinds (comma-separated: newlyBlocked,
        /// newlyChallenged, noLongerBlocked, noLongerChallenged, controlsChanged; `any`, the
        /// default: every change; `none`: never).
        #[arg(long, value_delimiter = ',', default_value = "any")]
        fail_on: Vec<String>,
    },
    /// Documentation of a tenant for change boards and audits: overview, persona ×
    /// application matrix, each policy in plain words, named locations, lint summary, coverage
    /// chart. Deterministic (diffable in git).
    Doc {
        /// Tenant directory or single JSON file.
        #[arg(long)]
        tenant: PathBuf,
        /// Output format: markdown or html (one self-contained file).
        #[arg(long, default_value = "markdown")]
        format: String,
        /// Title (default: the tenant path).
        #[arg(long)]
        title: Option<String>,
        /// Location classes from every boundary of every named IP range, however many (by
        /// default, above 2048 ranges one address per IP location stands for its ranges,
        /// and the document says so).
        #[arg(long)]
        exact_locations: bool,
        /// Leave out the lint summary (on very large tenants lint is most of the time taken).
        #[arg(long)]
        no_lint: bool,
    },
    /// Run declarative policy test suites (TOML), with JUnit XML for CI.
    Test {
        /// Suite files.
        #[arg(required = true, num_args = 1..)]
        suites: Vec<PathBuf>,
        /// Write JUnit XML here.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Run every suite against this tenant (directory or single JSON file) instead of the
        /// one each suite names: for tenant-independent suites such as the baselines in
        /// examples/baselines/.
        #[arg(long)]
        tenant: Option<PathBuf>,
    },
    /// For a deny or challenge: the smallest changes (user's and admin's) that would allow it.
    Explain {
        /// Tenant directory or single JSON file.
        #[arg(long)]
        tenant: PathBuf,
        /// Graph evaluate request body (JSON).
        #[arg(long)]
        request: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Evaluation time (RFC 3339, a date or epoch seconds; default: the clock).
        #[arg(long, value_parser = parse_now)]
        now: Option<i64>,
    },
    /// Which policies behave differently before and after each dated change of Entra
    /// (retired controls, enforcement changes), decided by the same evaluator at both instants.
    Changes {
        /// Tenant directory or single JSON file.
        #[arg(long)]
        tenant: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// "Now", to say which changes are past (RFC 3339, a date or epoch seconds; default:
        /// the clock).
        #[arg(long, value_parser = parse_now)]
        now: Option<i64>,
    },
    /// Run the HTTP decision point: forward-auth, evaluate, denial page, sign-in log, admin API.
    Serve {
        /// Configuration file (gardien.toml).
        #[arg(long, required_unless_present = "demo", conflicts_with = "demo")]
        config: Option<PathBuf>,
        /// Bundled demo tenant and devices on loopback, admin API open, curl examples printed.
        #[arg(long)]
        demo: bool,
        /// Listen address (overrides the configuration; demo default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Store: a PostgreSQL URL (`postgres://user@host/db`) shared by several replicas, or
        /// a SQLite file (overrides `[store]`; the demo default is a temporary SQLite file).
        #[arg(long, value_name = "URL")]
        database: Option<String>,
        /// Logs as JSON lines instead of text.
        #[arg(long)]
        log_json: bool,
    },
    /// Print the SHA-256 of an admin token, for `[[admin.tokens]] sha256` or
    /// `admin.token_sha256` (reads stdin without TOKEN).
    HashToken {
        /// The token (prefer stdin: arguments show in the process list).
        token: Option<String>,
    },
    /// Replace the policy set of a running `gardien serve` with a tenant folder, as one new
    /// version, after validation (`--dry-run`: the semantic diff and lint findings only).
    Apply(commands::apply::ApplyArgs),
    /// Write the policy set in force on a running `gardien serve` as the tenant folder
    /// `apply` reads.
    Export(commands::apply::ExportArgs),
    /// Read a live tenant through Microsoft Graph into a tenant folder (policies, named
    /// locations, the directory the policies need, cross-tenant access; devices, sign-ins).
    Pull(commands::pull::PullArgs),
    /// Load a tenant and report every problem, warning and note in it, and which policies
    /// reference directory objects that directory.json lacks.
    Validate {
        /// Tenant directory, export folder or single JSON file.
        #[arg(long)]
        tenant: PathBuf,
        /// Print the report as JSON (same as `--format json`).
        #[arg(long)]
        json: bool,
        /// Output format: text, json or sarif.
        #[arg(long, default_value = "text")]
        format: String,
        /// Fail (exit 1) on warnings too: unknown members, missing directory data.
        #[arg(long)]
        strict: bool,
    },
}

/// Reads `--now`: an RFC 3339 timestamp, a date or Unix epoch seconds (the one time format of
/// every command).
pub fn parse_now(text: &str) -> Result<i64, String> {
    gardien_core::time::parse_instant(text).ok_or_else(|| gardien_core::time::instant_help(text))
}

/// `--now` if given, else the clock (Unix seconds).
pub fn now_or_clock(now: Option<i64>) -> i64 {
    now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    })
}

/// Writes to stdout, treating a closed pipe (`gardien … | head`) as success. Control
/// characters from the input (terminal escape sequences) are shown escaped.
pub fn print_out(text: &str) -> std::io::Result<()> {
    let text = gardien_server::clean::printable(text);
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Structured logs on stderr; the level comes from `GARDIEN_LOG` (error, warn, info, debug,
/// trace; default info).
fn init_logs(json: bool) {
    let level = std::env::var("GARDIEN_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing_subscriber::filter::LevelFilter>().ok())
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    // Colours only on a terminal (journald and log files get plain text).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Runs the command line and returns the process exit code.
pub fn run() -> ExitCode {
    // Usage errors exit 1 like every other failure (clap's default 2 means "deny" here).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Exit::Failure as u8
            } else {
                Exit::Ok as u8
            });
        }
    };
    let result = match &cli.command {
        Command::Whatif {
            tenant,
            request,
            json,
            now,
        } => commands::whatif::run(tenant, request, *json, now_or_clock(*now)),
        Command::Evaluate {
            tenant,
            request,
            http_request,
            signals,
            json,
        } => {
            let input = match (request, http_request) {
                (Some(r), _) => commands::evaluate::Input::Request(r),
                (None, Some(h)) => commands::evaluate::Input::HttpRequest(h, signals),
                (None, None) => {
                    eprintln!("error: give --request or --http-request");
                    return ExitCode::from(Exit::Failure as u8);
                }
            };
            commands::evaluate::run(tenant, input, *json, now_or_clock(signals.now))
        }
        Command::Signin {
            headers,
            signals,
            json,
        } => commands::signin::run(headers, signals, *json),
        Command::Validate {
            tenant,
            json,
            format,
            strict,
        } => {
            let format = if *json {
                Ok(commands::validate::Format::Json)
            } else {
                commands::validate::Format::parse(format)
            };
            format.and_then(|f| commands::validate::run(tenant, f, *strict))
        }
        Command::Demo { json } => commands::demo::run(*json),
        Command::Serve {
            config,
            demo,
            listen,
            database,
            log_json,
        } => {
            init_logs(*log_json);
            commands::serve::run(config.as_deref(), *demo, *listen, database.as_deref())
        }
        Command::HashToken { token } => commands::serve::hash_token(token.as_deref()),
        Command::Lint {
            tenant,
            format,
            fail_on,
            waivers,
            now,
        } => commands::lint::run(
            tenant,
            format,
            fail_on,
            waivers.as_deref(),
            now_or_clock(*now),
        ),
        Command::Explain {
            tenant,
            request,
            json,
            now,
        } => commands::explain::run(tenant, request, *json, now_or_clock(*now)),
        Command::Changes { tenant, json, now } => {
            commands::changes::run(tenant, *json, now_or_clock(*now))
        }
        Command::Gaps {
            tenant,
            json,
            fail_on,
            partial,
            approximate_locations,
        } => commands::gaps::run(
            tenant,
            *json,
            fail_on,
            GapsOptions {
                partial: *partial,
                ip_bound: approximate_locations.then_some(DEFAULT_IP_BOUND),
            },
        ),
        Command::Replay {
            tenant,
            logs,
            baseline,
            json,
            fail_on,
        } => commands::replay::run(tenant, logs, baseline.as_deref(), *json, fail_on),
        Command::Diff {
            from,
            to,
            json,
            fail_on,
        } => commands::diff::run(from, to, *json, fail_on),
        Command::Doc {
            tenant,
            format,
            title,
            exact_locations,
            no_lint,
        } => commands::doc::run(
            tenant,
            format,
            title.as_deref(),
            DocOptions {
                exact_locations: *exact_locations,
                no_lint: *no_lint,
            },
        ),
        Command::Test {
            suites,
            junit,
            tenant,
        } => commands::test_suite::run(suites, junit.as_deref(), tenant.as_deref()),
        Command::Pull(args) => commands::pull::run(args),
        Command::Apply(args) => commands::apply::apply(args),
        Command::Export(args) => commands::apply::export(args),
    };
    match result {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(e) => {
            // Messages quote their input (file names, header lines, JSON values): control
            // characters in it are shown escaped, never sent to the terminal.
            match e.downcast_ref::<diagnostics::Rendered>() {
                Some(rendered) => eprintln!(
                    "{}",
                    gardien_server::clean::printable(&rendered.to_string())
                ),
                None => eprintln!(
                    "error: {}",
                    gardien_server::clean::printable(&format!("{e:#}"))
                ),
            }
            ExitCode::from(Exit::Failure as u8)
        }
    }
}

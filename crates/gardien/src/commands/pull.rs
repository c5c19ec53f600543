//! `gardien pull`: read a live tenant through Microsoft Graph into the tenant layout
//! (the work is in `gardien-graph`; this module picks the credential and prints progress).

use crate::Exit;
use anyhow::{Context, Result, bail};
use clap::Args;
use gardien_graph::{CLOUDS, ClientCertificate, Credential, GraphClient, Progress, PullScope};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Options of `gardien pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Folder to write (replaced only when the pull succeeds).
    #[arg(long)]
    pub out: PathBuf,
    /// Directory (tenant) id or domain, for the client-credentials grant.
    #[arg(long, requires = "client_id")]
    pub tenant_id: Option<String>,
    /// Application (client) id, for the client-credentials grant.
    #[arg(long, requires = "tenant_id")]
    pub client_id: Option<String>,
    /// Environment variable holding the client secret (never a flag: flags show in `ps`).
    #[arg(long, default_value = "GARDIEN_CLIENT_SECRET", value_name = "VAR")]
    pub client_secret_env: String,
    /// PEM file with the application's certificate and unencrypted private key (RSA): the
    /// pull signs a client assertion instead of sending a secret.
    #[arg(long, requires = "client_id", value_name = "PEM")]
    pub certificate: Option<PathBuf>,
    /// Environment variable holding a ready Graph access token (e.g. from
    /// `az account get-access-token --resource-type ms-graph`).
    #[arg(long, default_value = "GARDIEN_GRAPH_TOKEN", value_name = "VAR")]
    pub token_env: String,
    /// File holding a ready Graph access token (`-`: standard input).
    #[arg(long, conflicts_with_all = ["client_id", "certificate"], value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// National cloud: global, usgov, usgov-dod or china (sets both URLs).
    #[arg(long, default_value = "global")]
    pub cloud: String,
    /// Microsoft Graph root URL (overrides --cloud).
    #[arg(long)]
    pub graph_url: Option<String>,
    /// Microsoft identity platform root URL (overrides --cloud).
    #[arg(long)]
    pub login_url: Option<String>,
    /// Do not read beta members (clouds without the beta endpoint).
    #[arg(long)]
    pub no_beta: bool,
    /// Also write devices.json (Device.Read.All).
    #[arg(long)]
    pub devices: bool,
    /// Also write signIns.jsonl, JSON lines for `replay` (AuditLog.Read.All).
    #[arg(long)]
    pub signins: bool,
    /// With --signins: how far back (`7d`, `12h`, `30m`) or from when (`2026-12-01T08:00:00Z`).
    #[arg(long, default_value = "7d", requires = "signins")]
    pub since: String,
    /// Retries per request when throttled (429/503/504) or disconnected.
    #[arg(long, default_value_t = 6)]
    pub max_retries: u32,
    /// Longest wait before a retry, in seconds, whatever `Retry-After` says.
    #[arg(long, default_value_t = 120)]
    pub max_wait: u64,
}

fn read_token_file(path: &Path) -> Result<String> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("cannot read the token from stdin")?
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the token file {}", path.display()))?
    };
    let token = text.trim();
    if token.is_empty() {
        bail!("the token file {} is empty", path.display());
    }
    Ok(token.to_owned())
}

fn credential(args: &PullArgs) -> Result<Credential> {
    if let Some(path) = &args.token_file {
        return Ok(Credential::Token(read_token_file(path)?));
    }
    if let (Some(tenant_id), Some(client_id)) = (&args.tenant_id, &args.client_id) {
        let (tenant_id, client_id) = (tenant_id.clone(), client_id.clone());
        if let Some(pem) = &args.certificate {
            let text = std::fs::read_to_string(pem)
                .with_context(|| format!("cannot read the certificate {}", pem.display()))?;
            let certificate = ClientCertificate::from_pem(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", pem.display()))?;
            return Ok(Credential::Certificate {
                tenant_id,
                client_id,
                certificate: Box::new(certificate),
            });
        }
        let secret = std::env::var(&args.client_secret_env)
            .ok()
            .filter(|s| !s.trim().is_empty())
            .with_context(|| {
                format!(
                    "no client secret: set the environment variable {} (or give --certificate)",
                    args.client_secret_env
                )
            })?;
        return Ok(Credential::ClientSecret {
            tenant_id,
            client_id,
            secret,
        });
    }
    match std::env::var(&args.token_env) {
        Ok(t) if !t.trim().is_empty() => Ok(Credential::Token(t.trim().to_owned())),
        _ => bail!(
            "no credential: give --tenant-id and --client-id (secret in ${}, or --certificate), \
             --token-file, or a token in ${} (see docs/pull.md)",
            args.client_secret_env,
            args.token_env
        ),
    }
}

fn print_progress(p: &Progress) {
    match p {
        Progress::Collection { name, summary } => eprintln!("pull: {name}: {summary}"),
        Progress::Retry { name, reason, wait } => eprintln!(
            "pull: {name}: {reason}, retrying in {:.1} s",
            wait.as_secs_f64()
        ),
        Progress::Note(text) => eprintln!("pull: note: {text}"),
    }
}

/// Runs `gardien pull`.
pub fn run(args: &PullArgs) -> Result<Exit> {
    let Some(cloud) = CLOUDS
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(&args.cloud))
    else {
        bail!(
            "unknown cloud `{}`; expected one of {}",
            args.cloud,
            CLOUDS.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
        );
    };
    let graph_url = args.graph_url.as_deref().unwrap_or(cloud.graph_url);
    let login_url = args.login_url.as_deref().unwrap_or(cloud.login_url);
    let signins_since = if args.signins {
        Some(gardien_graph::since(&args.since, SystemTime::now()).map_err(anyhow::Error::msg)?)
    } else {
        None
    };
    let retry = gardien_graph::RetryPolicy {
        max_retries: args.max_retries,
        max_wait: Duration::from_secs(args.max_wait),
    };
    let progress = print_progress;
    let graph = GraphClient::new(graph_url, login_url, credential(args)?, retry, &progress)?;
    let scope = PullScope {
        no_beta: args.no_beta,
        devices: args.devices,
        signins_since,
    };
    let s = gardien_graph::pull(&graph, &args.out, &scope)
        .with_context(|| format!("pull failed; {} was left as it was", args.out.display()))?;
    let mut extra = String::new();
    if args.devices {
        extra.push_str(&format!(", {} devices", s.devices));
    }
    if args.signins {
        extra.push_str(&format!(", {} sign-ins", s.signins));
    }
    eprintln!(
        "pull: wrote {}: {} policies, {} named locations, {} users, {} groups, {} service principals{extra}",
        args.out.display(),
        s.policies,
        s.named_locations,
        s.users,
        s.groups,
        s.service_principals
    );
    Ok(Exit::Ok)
}

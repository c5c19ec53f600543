//! `gardien apply` and `gardien export`: policy as code against a running `gardien serve`
//! (docs/policy-as-code.md).
//!
//! `apply DIR --server URL` loads DIR with the loader of `validate` (every problem reported,
//! nothing sent when one is found), then replaces policies, named locations, directory and
//! cross-tenant settings with it as one new version (`PUT /v1/admin/tenant`). `--dry-run`
//! sends nothing: it reads the version in force (`GET /v1/admin/tenant`) and prints what
//! would change (the structural summary and the semantic diff of `gardien diff`) and the
//! lint findings of the new tenant. `--if-match N` applies only if version N is still in
//! force. `export --server URL DIR` writes the version in force as the layout `apply`
//! reads (the writer of `gardien pull`), so `export` then `apply` is a no-op.
//!
//! The admin token comes from an environment variable (`GARDIEN_ADMIN_TOKEN` by default),
//! never from a flag (flags show in the process list).

use crate::{Exit, print_out};
use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use gardien_core::{SourceFile, Tenant, TenantSource};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// Largest answer read from the server (a tenant snapshot; the core's file limit).
const MAX_ANSWER_BYTES: u64 = 64 * 1024 * 1024;

/// Where the server is and how to reach its admin API.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The gardien server (`http://127.0.0.1:8080`).
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// Environment variable holding the admin token (unset: no token, for `serve --demo`).
    #[arg(long, default_value = "GARDIEN_ADMIN_TOKEN", value_name = "VAR")]
    pub token_env: String,
    /// PEM file of the certificate authorities that sign the server's certificate (an
    /// internal CA), instead of the public web roots.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
}

/// The trust roots of `--ca-file`: every certificate of the PEM file.
fn roots(path: &std::path::Path) -> Result<ureq::tls::RootCerts> {
    let pem = crate::tenant_fs::read_input(path)?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let ureq::tls::PemItem::Certificate(c) =
            item.with_context(|| format!("{}: invalid PEM", path.display()))?
        {
            certs.push(c);
        }
    }
    if certs.is_empty() {
        bail!("{}: no certificate in the PEM file", path.display());
    }
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}

/// Options of `gardien apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Tenant folder (policies/, namedLocations.json, directory.json, crossTenantAccess.json),
    /// export folder or single JSON file.
    pub dir: PathBuf,
    /// The server.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Send nothing: print the semantic diff against the version in force and the lint
    /// findings of the new tenant.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply only if this version is still in force (`If-Match`; 409 otherwise).
    #[arg(long, value_name = "VERSION")]
    pub if_match: Option<i64>,
    /// Who applies, recorded with the version (`X-Gardien-Author`).
    #[arg(long, default_value = "gardien apply")]
    pub author: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// "Now" for lint's age-based and dated rules (RFC 3339, a date or epoch seconds).
    #[arg(long, value_parser = crate::parse_now)]
    pub now: Option<i64>,
}

/// Options of `gardien export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The server.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Folder to write (replaced only when everything was written; a folder that is not a
    /// tenant layout is never replaced).
    pub dir: PathBuf,
}

/// An answer of the admin API.
struct Answer {
    status: u16,
    etag: Option<String>,
    body: String,
}

/// The admin API of one server.
struct Admin {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

impl Admin {
    fn new(args: &ServerArgs) -> Result<Admin> {
        let base = args.server.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!(
                "--server `{}`: expected an http:// or https:// URL",
                args.server
            );
        }
        let token = std::env::var(&args.token_env)
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = &args.ca_file {
            tls = tls.root_certs(roots(path)?);
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_global(Some(Duration::from_secs(300)))
            .user_agent(concat!("gardien/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Admin { agent, base, token })
    }

    fn url(&self) -> String {
        format!("{}/v1/admin/tenant", self.base)
    }

    fn read(
        &self,
        sent: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Answer> {
        let mut response = sent.with_context(|| format!("cannot reach {}", self.url()))?;
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_matches('"').to_owned());
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .with_context(|| format!("cannot read the answer of {}", self.url()))?;
        Ok(Answer { status, etag, body })
    }

    /// The version in force and its snapshot.
    fn current(&self) -> Result<(i64, Value)> {
        let mut request = self.agent.get(&self.url());
        if let Some(t) = &self.token {
            request = request.header("authorization", &format!("Bearer {t}"));
        }
        let answer = self.read(request.call())?;
        if answer.status != 200 {
            bail!("GET {}: {}", self.url(), refusal(&answer));
        }
        let version = answer
            .etag
            .as_deref()
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(|| anyhow!("GET {}: no version (ETag) in the answer", self.url()))?;
        let snapshot: Value = serde_json::from_str(&answer.body)
            .with_context(|| format!("GET {}: the answer is not JSON", self.url()))?;
        Ok((version, snapshot))
    }

    fn put(&self, snapshot: &Value, if_match: Option<i64>, author: &str) -> Result<Answer> {
        let mut request = self
            .agent
            .put(&self.url())
            .header("content-type", "application/json")
            .header("x-gardien-author", author);
        if let Some(t) = &self.token {
            request = request.header("authorization", &format!("Bearer {t}"));
        }
        if let Some(v) = if_match {
            request = request.header("if-match", &format!("\"{v}\""));
        }
        let body = serde_json::to_vec(snapshot)?;
        self.read(request.send(&body[..]))
    }
}

/// What the server said when it refused: its problem document's detail and each error
/// (file, JSON path, reason), else the status and body.
fn refusal(answer: &Answer) -> String {
    let Ok(problem) = serde_json::from_str::<Value>(&answer.body) else {
        return format!("HTTP {}: {}", answer.status, answer.body.trim());
    };
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut out = format!("HTTP {}: {}", answer.status, text(&problem, "detail"));
    for e in problem
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let _ = write!(
            out,
            "\n  {} {}: {}",
            text(e, "file"),
            text(e, "pointer"),
            text(e, "reason")
        );
        let help = text(e, "help");
        if !help.is_empty() {
            let _ = write!(out, " ({help})");
        }
    }
    if answer.status == 413 {
        out.push_str(
            "\n  the whole tenant is one body: raise `[http] admin_body_bytes` (and `max_json_values`) on the server, or let it follow the folder (`[tenant] watch = true`)",
        );
    }
    out
}

/// The tenant a stored snapshot stands for, loaded as the server loads it.
fn tenant_of(name: &str, snapshot: &Value) -> Result<Tenant> {
    let source = TenantSource {
        combined: Some(SourceFile::new(name, serde_json::to_vec(snapshot)?)),
        ..TenantSource::default()
    };
    Tenant::load(&source).map_err(|e| anyhow!("{name}:\n{e}"))
}

/// Runs `gardien apply`.
pub fn apply(args: &ApplyArgs) -> Result<Exit> {
    // The loader of `validate`: every problem, with file and JSON path; warnings on stderr.
    let proposed = crate::tenant_fs::load_uncompiled(&args.dir)?;
    let snapshot = crate::tenant_fs::tenant_snapshot(&args.dir)?;
    let admin = Admin::new(&args.server)?;
    if args.dry_run {
        return dry_run(args, &admin, proposed, &snapshot);
    }
    let answer = admin.put(&snapshot, args.if_match, &args.author)?;
    if answer.status != 200 {
        bail!("apply {}: {}", args.dir.display(), refusal(&answer));
    }
    let done: Value = serde_json::from_str(&answer.body).context("the answer is not JSON")?;
    if args.json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&done)?))?;
    } else {
        let version = done.get("version").and_then(Value::as_i64).unwrap_or(0);
        let summary = done.get("summary").and_then(Value::as_str).unwrap_or("");
        if done.get("changed").and_then(Value::as_bool) == Some(false) {
            print_out(&format!(
                "no change: version {version} is already this tenant\n"
            ))?;
        } else {
            print_out(&format!("applied: version {version} ({summary})\n"))?;
        }
    }
    Ok(Exit::Ok)
}

/// `--dry-run`: the version in force, the structural summary, the semantic diff and lint.
fn dry_run(args: &ApplyArgs, admin: &Admin, proposed: Tenant, snapshot: &Value) -> Result<Exit> {
    let (version, current) = admin.current()?;
    let summary =
        gardien_server::snapshot::summary(&gardien_server::snapshot::diff(&current, snapshot));
    let changed = &current != snapshot;
    let from = tenant_of(&format!("{} (version {version})", admin.url()), &current)?;
    let diff = gardien_analysis::diff::diff(&from, &proposed)?;
    let options = gardien_analysis::lint::LintOptions {
        now: Some(crate::now_or_clock(args.now)),
        tenant_name: args.dir.display().to_string(),
        ..gardien_analysis::lint::LintOptions::default()
    };
    let lint =
        gardien_analysis::lint::lint(&gardien_core::CompiledTenant::compile(proposed), &options);
    if args.json {
        let out = json!({
            "version": version,
            "changed": changed,
            "summary": summary,
            "diff": diff,
            "lint": lint,
        });
        print_out(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
        return Ok(Exit::Ok);
    }
    let mut out = format!(
        "dry run: version {version} in force; applying {} would {}\n\n",
        args.dir.display(),
        if changed {
            format!("make version {} ({summary})", version + 1)
        } else {
            "change nothing".to_owned()
        }
    );
    out.push_str(&crate::render::diff::text(&diff));
    let _ = writeln!(
        out,
        "\nLint of the new tenant: {} finding(s)",
        lint.findings.len()
    );
    for f in &lint.findings {
        let policy = f
            .policy
            .as_ref()
            .map(|p| format!(" policy `{}`", p.display_name))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}[{}]{policy}: {}",
            f.severity.as_str(),
            f.code,
            f.message
        );
    }
    let _ = writeln!(
        out,
        "\nTo apply exactly this change: gardien apply {} --server {} --if-match {version}",
        args.dir.display(),
        args.server.server
    );
    print_out(&out)?;
    Ok(Exit::Ok)
}

/// Runs `gardien export`.
pub fn export(args: &ExportArgs) -> Result<Exit> {
    let admin = Admin::new(&args.server)?;
    let (version, snapshot) = admin.current()?;
    let written = gardien_graph::write_tenant(&args.dir, &snapshot)
        .map_err(|e| anyhow!("export to {}: {e}", args.dir.display()))?;
    eprintln!(
        "exported version {version}: {} policies, {} named locations{} to {}",
        written.policies,
        written.named_locations,
        if written.cross_tenant_access {
            ", cross-tenant access"
        } else {
            ""
        },
        args.dir.display()
    );
    Ok(Exit::Ok)
}

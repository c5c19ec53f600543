//! `gardien signin`: the sign-in an HTTP request would produce, and where each value came
//! from ("why does gardien think I am on Linux in Brazil"). `evaluate --http-request` uses
//! the same builder.

use anyhow::{Context, Result, bail};
use clap::Args;
use gardien_core::SignIn;
use gardien_core::model::directory::parse_combination;
use gardien_core::model::enums::AuthMethods;
use gardien_signals::client_ip::{ForwardedHeader, TrustedProxies};
use gardien_signals::devices::{ComplianceRules, DeviceRegistry};
use gardien_signals::geoip::GeoIp;
use gardien_signals::request::parse_request_head;
use gardien_signals::risk::RiskConfig;
use gardien_signals::{Derived, RequestContext, Signals, SignalsConfig};
use http::HeaderName;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::{Exit, print_out};

/// Where signals come from when a sign-in is built from an HTTP request.
#[derive(Debug, Clone, Args)]
pub struct SignalArgs {
    /// TCP peer address the request came from (the proxy, when there is one).
    #[arg(long)]
    pub peer: Option<IpAddr>,
    /// Proxy address or CIDR whose forwarding and identity headers are believed (repeat).
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    pub trusted_proxies: Vec<String>,
    /// Header that carries the client chain: x-forwarded-for, forwarded or x-real-ip.
    #[arg(long, default_value = "x-forwarded-for")]
    pub forwarded_header: String,
    /// The user's object id (otherwise read from --user-header).
    #[arg(long)]
    pub user: Option<String>,
    /// Header a trusted proxy puts the user's id in (e.g. x-forwarded-user).
    #[arg(long)]
    pub user_header: Option<String>,
    /// Resource application id the request is for.
    #[arg(long)]
    pub app: Option<String>,
    /// Header a trusted proxy puts the device identifier in (e.g. x-client-cert-sha256).
    #[arg(long)]
    pub device_header: Option<String>,
    /// Device registry (Graph devices JSON).
    #[arg(long)]
    pub devices: Option<PathBuf>,
    /// Compliance rules JSON.
    #[arg(long)]
    pub compliance: Option<PathBuf>,
    /// Country or City MaxMind database (.mmdb).
    #[arg(long)]
    pub geoip: Option<PathBuf>,
    /// Anonymous-IP MaxMind database (.mmdb).
    #[arg(long)]
    pub geoip_anonymous: Option<PathBuf>,
    /// Authentication methods completed in the session, comma-separated (e.g. password,fido2).
    #[arg(long)]
    pub methods: Option<String>,
    /// Evaluation time: RFC 3339, a date or Unix epoch seconds (default: the clock).
    #[arg(long, value_parser = crate::parse_now)]
    pub now: Option<i64>,
}

fn header_name(flag: &str, value: &Option<String>) -> Result<Option<HeaderName>> {
    value
        .as_deref()
        .map(|v| {
            HeaderName::from_bytes(v.trim().as_bytes())
                .with_context(|| format!("{flag}: `{v}` is not a header name"))
        })
        .transpose()
}

impl SignalArgs {
    /// Opens every configured source; any error names the file.
    pub fn signals(&self) -> Result<Signals> {
        let trusted_proxies =
            TrustedProxies::parse(self.trusted_proxies.iter().map(String::as_str))
                .map_err(anyhow::Error::msg)?;
        let Some(forwarded_header) = ForwardedHeader::parse(&self.forwarded_header) else {
            bail!(
                "--forwarded-header: `{}` is not one of x-forwarded-for, forwarded, x-real-ip",
                self.forwarded_header
            );
        };
        let read = |p: &Path| crate::tenant_fs::read_input(p);
        let devices = match &self.devices {
            Some(p) => DeviceRegistry::from_json(&p.display().to_string(), &read(p)?)?,
            None => DeviceRegistry::default(),
        };
        let compliance = match &self.compliance {
            Some(p) => ComplianceRules::from_json(&p.display().to_string(), &read(p)?)?,
            None => ComplianceRules::default(),
        };
        Ok(Signals {
            config: SignalsConfig {
                trusted_proxies,
                forwarded_header,
                user_header: header_name("--user-header", &self.user_header)?,
                device_header: header_name("--device-header", &self.device_header)?,
                country_header: None,
                risk: RiskConfig::default(),
            },
            geoip: std::sync::Arc::new(GeoIp::open(
                self.geoip.as_deref(),
                self.geoip_anonymous.as_deref(),
            )?),
            devices: std::sync::Arc::new(devices),
            compliance: std::sync::Arc::new(compliance),
            history: None,
        })
    }

    fn methods(&self) -> Result<AuthMethods> {
        match &self.methods {
            None => Ok(AuthMethods::default()),
            Some(m) => parse_combination(m).map_err(|e| anyhow::anyhow!("--methods: {e}")),
        }
    }

    /// Builds the sign-in of the request head saved in `file`.
    pub fn build(&self, file: &Path) -> Result<(SignIn, Derived)> {
        let bytes = crate::tenant_fs::read_input(file)?;
        let head = parse_request_head(&file.display().to_string(), &bytes)?;
        let signals = self.signals()?;
        let now = crate::now_or_clock(self.now);
        let ctx = RequestContext {
            peer: self.peer,
            headers: &head.headers,
            user: self.user.as_deref(),
            application: self.app.as_deref(),
            methods: self.methods()?,
            now: u64::try_from(now).unwrap_or(0),
        };
        let (mut signin, derived) = signals.sign_in(&ctx)?;
        signin.at = Some(now);
        Ok((signin, derived))
    }
}

/// Prints the sign-in a request would produce: the evaluate request body with `--json`
/// (ready for `gardien evaluate --request`), otherwise where each value came from.
pub fn run(headers: &Path, args: &SignalArgs, json: bool) -> Result<Exit> {
    let (signin, derived) = args.build(headers)?;
    if json {
        print_out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&signin.to_request_json())?
        ))?;
    } else {
        let mut text = String::new();
        for line in derived.describe() {
            text.push_str(&line);
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&serde_json::to_string_pretty(&signin.to_request_json())?);
        text.push('\n');
        print_out(&text)?;
    }
    Ok(Exit::Ok)
}

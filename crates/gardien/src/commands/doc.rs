//! `gardien doc`: documentation of a tenant as Markdown or one self-contained HTML file.

use anyhow::{Result, bail};
use gardien_analysis::doc::{DocOptions, Format, document_with};
use std::path::Path;

use crate::{Exit, print_out, tenant_fs};

/// Runs the command: exit 0 with the document on stdout, 1 when the tenant cannot be loaded
/// or the format is unknown.
pub fn run(tenant: &Path, format: &str, title: Option<&str>, options: DocOptions) -> Result<Exit> {
    let format = match format.to_ascii_lowercase().as_str() {
        "markdown" | "md" => Format::Markdown,
        "html" => Format::Html,
        other => bail!("unknown format `{other}`; expected `markdown` or `html`"),
    };
    let loaded = tenant_fs::load_uncompiled(tenant)?;
    let title = title.map_or_else(|| tenant.display().to_string(), str::to_owned);
    print_out(&document_with(&loaded, &title, format, options))?;
    Ok(Exit::Ok)
}

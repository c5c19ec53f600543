//! Reading a tenant from disk: a directory (`policies/*.json`, `namedLocations.json`,
//! `directory.json`) or a single JSON file. Core does no I/O; this is where files are read.

use anyhow::{Context, Result, bail};
use gardien_core::{CompiledTenant, LoadErrors, SourceFile, Tenant, TenantSource};
use std::path::Path;

/// Reads an input file: a regular file of at most 64 MiB (the core's file limit), never a
/// FIFO or device (which could hang or never end); the error names the file.
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    // The core refuses oversized files too; checking first spares reading them.
    let limit = gardien_core::limits::MAX_FILE_BYTES;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.is_file()
        && meta.len() > limit as u64
    {
        bail!(
            "{}: {} bytes; the limit is {limit} bytes (64 MiB)",
            path.display(),
            meta.len()
        );
    }
    Ok(gardien_server::files::read_regular(path, limit)?)
}

fn read(path: &Path) -> Result<SourceFile> {
    let bytes = read_input(path)?;
    Ok(SourceFile::new(path.display().to_string(), bytes))
}

fn json_files(dir: &Path) -> Result<Vec<SourceFile>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("json"))
        })
        .collect();
    paths.sort();
    paths.iter().map(|p| read(p)).collect()
}

/// Collects the files of a tenant.
pub fn tenant_source(path: &Path) -> Result<TenantSource> {
    let mut source = TenantSource::default();
    if path.is_file() {
        source.combined = Some(read(path)?);
        return Ok(source);
    }
    if !path.is_dir() {
        bail!("tenant `{}` does not exist", path.display());
    }
    let policies = path.join("policies");
    if !policies.is_dir() {
        bail!(
            "tenant directory `{}` has no `policies/` folder",
            path.display()
        );
    }
    source.policy_files = json_files(&policies)?;
    let locations = path.join("namedLocations.json");
    let locations_dir = path.join("namedLocations");
    if locations.is_file() {
        source.location_files.push(read(&locations)?);
    } else if locations_dir.is_dir() {
        source.location_files = json_files(&locations_dir)?;
    }
    let directory = path.join("directory.json");
    if directory.is_file() {
        source.directory = Some(read(&directory)?);
    }
    Ok(source)
}

/// The outcome of loading: the tenant, or every problem found.
pub enum Loaded {
    /// Loaded and compiled.
    Tenant(Box<CompiledTenant>),
    /// Rejected.
    Invalid(LoadErrors),
}

/// Loads and compiles a tenant.
pub fn load(path: &Path) -> Result<Loaded> {
    let source = tenant_source(path)?;
    Ok(match Tenant::load(&source) {
        Ok(t) => Loaded::Tenant(Box::new(CompiledTenant::compile(t))),
        Err(e) => Loaded::Invalid(e),
    })
}

/// Loads a tenant without compiling it (analyses that compile their own augmented copy),
/// or fails with every problem in the message.
pub fn load_uncompiled(path: &Path) -> Result<Tenant> {
    match Tenant::load(&tenant_source(path)?) {
        Ok(t) => Ok(t),
        Err(e) => bail!("invalid tenant `{}`:\n{e}", path.display()),
    }
}

/// Loads a tenant or fails with every problem in the message.
pub fn load_or_fail(path: &Path) -> Result<CompiledTenant> {
    load_uncompiled(path).map(CompiledTenant::compile)
}

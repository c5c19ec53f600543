//! Reading a tenant from disk: a directory (`policies/*.json`, `namedLocations.json`,
//! `directory.json`, `crossTenantAccess.json`) or a single JSON file. Core does no I/O; this is where files are read.

use anyhow::{Context, Result, bail};
use gardien_core::{
    CompiledTenant, Diagnostic, LoadErrors, Severity, SourceFile, Tenant, TenantSource,
};
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

/// Collects the files of a tenant: a single JSON file, the `policies/` layout, or an export
/// folder as the common tools write it (see [`export_folder`]).
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
        return export_folder(path);
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
    let cross = path.join("crossTenantAccess.json");
    if cross.is_file() {
        source.cross_tenant_access = Some(read(&cross)?);
    }
    Ok(source)
}

/// What a file of an export folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Policies,
    Locations,
    Strengths,
    Directory,
    /// Group objects (members are not exported with them).
    Groups,
    /// Anything else: a tool's configuration, a migration table.
    Other,
}

/// The kind of a file from its folder and name, when they say it.
fn kind_by_name(relative: &Path) -> Option<Kind> {
    let name = relative
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name == "directory.json" {
        return Some(Kind::Directory);
    }
    for folder in relative.parent().into_iter().flat_map(Path::components) {
        let folder = folder.as_os_str().to_string_lossy().to_ascii_lowercase();
        match folder.as_str() {
            "namedlocations" | "locations" | "named locations" => return Some(Kind::Locations),
            "authenticationstrengths" | "authentication strengths" => {
                return Some(Kind::Strengths);
            }
            "groups" => return Some(Kind::Groups),
            "conditionalaccess" | "policies" | "conditionalaccesspolicies" => {
                return Some(Kind::Policies);
            }
            _ => {}
        }
    }
    if name.contains("namedlocation") || name.contains("locations") {
        return Some(Kind::Locations);
    }
    None
}

/// The kind of a file from its JSON: the first object of a collection or array, or the
/// object itself.
fn kind_by_content(file: &SourceFile) -> Kind {
    let Ok(text) = gardien_core::json::decode_text(&file.name, &file.bytes) else {
        // Unreadable: the policy loader says why.
        return Kind::Policies;
    };
    let Ok(value) = gardien_core::json::parse_value(&file.name, &text) else {
        return Kind::Policies;
    };
    let first = match &value {
        serde_json::Value::Array(items) => items.first(),
        serde_json::Value::Object(o) => match o.get("value").or_else(|| o.get("Value")) {
            Some(serde_json::Value::Array(items)) => items.first(),
            _ => Some(&value),
        },
        _ => None,
    };
    let Some(first) = first.and_then(serde_json::Value::as_object) else {
        return Kind::Policies;
    };
    let odata = first
        .get("@odata.type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    let has = |k: &str| first.contains_key(k);
    if has("conditions") || has("Conditions") || (has("details") && has("scenarios")) {
        Kind::Policies
    } else if odata.contains("namedlocation")
        || has("ipRanges")
        || has("countriesAndRegions")
        || has("compliantNetworkType")
    {
        Kind::Locations
    } else if odata.ends_with("authenticationstrengthpolicy") || has("allowedCombinations") {
        Kind::Strengths
    } else if odata.ends_with(".group") || has("securityEnabled") || has("groupTypes") {
        Kind::Groups
    } else {
        Kind::Other
    }
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            if depth < 4 {
                walk(&p, depth + 1, out)?;
            }
        } else if p
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("json"))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// An export folder as the common tools write it: `ConditionalAccess/*.json`,
/// `NamedLocations/*.json`, `AuthenticationStrengths/*.json` (UTF-16 or UTF-8, one object or
/// a Graph collection per file), or any folder of Graph collection files and policies (sub
/// folders included). Each file is taken by its folder or name, else by its content. Group
/// objects (exported without their members) and files that are no tenant object are skipped
/// with a note; a folder without any policy is an error.
fn export_folder(path: &Path) -> Result<TenantSource> {
    let mut files = Vec::new();
    walk(path, 0, &mut files)?;
    let mut source = TenantSource::default();
    let mut groups = Vec::new();
    for p in files {
        let relative = p.strip_prefix(path).unwrap_or(&p).to_path_buf();
        let file = read(&p)?;
        let kind = kind_by_name(&relative).unwrap_or_else(|| kind_by_content(&file));
        match kind {
            Kind::Policies => source.policy_files.push(file),
            Kind::Locations => source.location_files.push(file),
            Kind::Strengths => source.strength_files.push(file),
            Kind::Directory => source.directory = Some(file),
            Kind::Groups => groups.push(file.name),
            Kind::Other => source.notes.push(
                Diagnostic::new(
                    file.name,
                    "",
                    "skipped: not a policy, named location or authentication strength",
                )
                .with_code(gardien_core::error::SKIPPED_FILE)
                .with_severity(Severity::Note)
                .with_help("move it out of the tenant folder to silence this note"),
            ),
        }
    }
    if let Some(first) = groups.first() {
        source.notes.push(
            Diagnostic::new(
                first.clone(),
                "",
                format!(
                    "{} group object file(s) skipped (this one and the others beside it): exports carry no members",
                    groups.len()
                ),
            )
            .with_code(gardien_core::error::SKIPPED_FILE)
            .with_severity(Severity::Note)
            .with_help(
                "put groups with their members in directory.json (`gardien pull --out DIR` writes it)",
            ),
        );
    }
    if source.policy_files.is_empty() {
        bail!(
            "tenant directory `{}` has no `policies/` folder and no policy file (searched its JSON files and sub folders)",
            path.display()
        );
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

/// Loads a tenant without compiling it and without printing anything, or fails with every
/// problem in the message.
pub fn load_quiet(path: &Path) -> Result<Tenant> {
    match Tenant::load(&tenant_source(path)?) {
        Ok(t) => Ok(t),
        Err(e) => bail!("invalid tenant `{}`:\n{e}", path.display()),
    }
}

/// Loads a tenant without compiling it (analyses that compile their own augmented copy),
/// printing its warnings and notes on stderr, or fails with every problem in the message.
pub fn load_uncompiled(path: &Path) -> Result<Tenant> {
    let tenant = load_quiet(path)?;
    for w in &tenant.warnings {
        eprintln!("{}", crate::diagnostics::short(w));
    }
    Ok(tenant)
}

/// Loads a tenant (warnings and notes on stderr) or fails with every problem in the message.
pub fn load_or_fail(path: &Path) -> Result<CompiledTenant> {
    load_uncompiled(path).map(CompiledTenant::compile)
}

/// Like [`load_or_fail`], and also warns on stderr when policies reference users, groups or
/// roles that `directory.json` does not define (`evaluate`, `whatif`, `explain`).
pub fn load_for_decisions(path: &Path) -> Result<CompiledTenant> {
    let tenant = load_uncompiled(path)?;
    if let Some(d) = tenant
        .missing_directory()
        .diagnostic(&path.display().to_string())
    {
        eprintln!("{}", crate::diagnostics::short(&d));
    }
    Ok(CompiledTenant::compile(tenant))
}

/// Reads and parses a request file, resolving user principal names and service principal
/// display names through the tenant's directory. A rejected request fails with the
/// diagnostic rendered for people (the offending line shown).
pub fn read_request(path: &Path, tenant: &Tenant) -> Result<gardien_core::SignIn> {
    let bytes = read_input(path)?;
    let name = path.display().to_string();
    gardien_core::SignIn::parse_in(&name, &bytes, &tenant.directory).map_err(|e| {
        anyhow::Error::new(crate::diagnostics::Rendered(crate::diagnostics::human(
            &e,
            &mut crate::diagnostics::Sources::default(),
        )))
    })
}

/// The tenant at `path` as the server stores it (`{"policies", "namedLocations",
/// "directory", "crossTenantAccess"}`), after the same loader as `validate` accepted it:
/// what `gardien apply` sends, what `serve` imports and what `[tenant] watch` puts in force.
/// `crossTenantAccess.json` of a tenant folder (a pull or an export writes it) is carried
/// along; it must be a JSON object.
pub fn tenant_snapshot(path: &Path) -> Result<serde_json::Value> {
    let source = tenant_source(path)?;
    let mut snapshot = gardien_server::snapshot::from_source(&source)
        .map_err(|e| anyhow::anyhow!("invalid tenant `{}`:\n{e}", path.display()))?;
    let cross = path.join("crossTenantAccess.json");
    if path.is_dir() && cross.is_file() {
        let file = read(&cross)?;
        let text = gardien_core::json::decode_text(&file.name, &file.bytes)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let value = gardien_core::json::parse_value(&file.name, &text)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if !value.is_object() {
            bail!("{}: expected a JSON object", file.name);
        }
        snapshot["crossTenantAccess"] = value;
    }
    Ok(snapshot)
}

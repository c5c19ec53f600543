//! Assembling a tenant from its files: policies, named locations, directory and the
//! cross-tenant access policy.

use serde_json::Value;

use super::cross_tenant::{CrossTenantAccess, read_cross_tenant_access};
use super::directory::{Directory, read_directory, read_strength};
use super::location::{LocationKind, MAX_NAMED_LOCATIONS, NamedLocation, read_named_location};
use super::policy::{LocationToken, Policy, read_policy};
use crate::error::{
    Diagnostic, LoadError, LoadErrors, MISSING_DIRECTORY_DATA, Severity, UNKNOWN_MEMBER, record,
};
use crate::ids::{
    COMPLIANT_NETWORK_LOCATION, MFA_TRUSTED_IPS_LOCATION, STRENGTH_MFA, STRENGTH_PASSWORDLESS,
    STRENGTH_PHISHING_RESISTANT,
};
use crate::json::{Node, decode_text, escape_token, parse_value};
use crate::limits::MAX_ERRORS;
use crate::schema::{self, Type};

pub use crate::limits::MAX_POLICIES;

/// The raw bytes of one file and the name to use in errors.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Name shown in errors (usually the path as the user gave it).
    pub name: String,
    /// File content (UTF-8 or UTF-16 with BOM).
    pub bytes: Vec<u8>,
}

impl SourceFile {
    /// A source file from a name and bytes.
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        SourceFile {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

/// The files a tenant is made of. The caller reads them (core does no I/O).
#[derive(Debug, Clone, Default)]
pub struct TenantSource {
    /// Policy files: one policy, a bare array, or a Graph collection `{"value":[...]}`.
    pub policy_files: Vec<SourceFile>,
    /// Named-location files: a collection, an array or a single location.
    pub location_files: Vec<SourceFile>,
    /// `directory.json`.
    pub directory: Option<SourceFile>,
    /// A single-file tenant `{"policies":[...], "namedLocations":[...], "directory":{...},
    /// "crossTenantAccess":{...}}`.
    pub combined: Option<SourceFile>,
    /// `crossTenantAccess.json` (Graph's cross-tenant access policy `default` and `partners`).
    pub cross_tenant_access: Option<SourceFile>,
    /// `authenticationStrengthPolicy` files of an export folder (one object, an array or a
    /// collection each), added to the directory's authentication strengths.
    pub strength_files: Vec<SourceFile>,
    /// Notes from whoever collected the files (a skipped file of an export folder), kept with
    /// the tenant's warnings.
    pub notes: Vec<Diagnostic>,
}

/// A loaded, validated tenant: typed policies in tenant order, locations and directory.
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    /// Policies in tenant order (file order, then order inside each file).
    pub policies: Vec<Policy>,
    /// Named locations.
    pub named_locations: Vec<NamedLocation>,
    /// Directory data.
    pub directory: Directory,
    /// The cross-tenant access policy (Graph's defaults, nothing trusted, when absent).
    pub cross_tenant_access: CrossTenantAccess,
    /// Warnings and notes found while loading (unknown members, conversions), in file
    /// order. Loading succeeds with them; `validate --strict` and `lint` fail on warnings.
    pub warnings: Vec<Diagnostic>,
}

/// Policies that reference users, groups or roles the directory does not define.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MissingDirectory {
    /// User ids referenced by policies and absent from `directory.json` `users`.
    pub users: Vec<Box<str>>,
    /// Group ids referenced by policies and absent from `directory.json` (neither in
    /// `groups` nor in any `memberOf`).
    pub groups: Vec<Box<str>>,
    /// Role template ids referenced by policies that no directory user holds.
    pub roles: Vec<Box<str>>,
    /// The policies concerned, `(id, displayName)`, in tenant order.
    pub policies: Vec<(String, String)>,
}

impl MissingDirectory {
    /// Whether nothing is missing.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// One diagnostic (code GV012, warning) summarising what is missing, or `None`.
    pub fn diagnostic(&self, tenant_name: &str) -> Option<Diagnostic> {
        if self.is_empty() {
            return None;
        }
        let count =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = Vec::new();
        for (n, one, many) in [
            (self.users.len(), "user", "users"),
            (self.groups.len(), "group", "groups"),
            (self.roles.len(), "role", "roles"),
        ] {
            if n > 0 {
                parts.push(count(n, one, many));
            }
        }
        let names: Vec<String> = self
            .policies
            .iter()
            .take(5)
            .map(|(id, name)| format!("`{}`", if name.is_empty() { id } else { name }))
            .collect();
        let more = self.policies.len().saturating_sub(names.len());
        let mut list = names.join(", ");
        if more > 0 {
            list.push_str(&format!(" and {more} more"));
        }
        Some(
            Diagnostic::new(
                tenant_name,
                "",
                format!(
                    "{} {} {} that directory.json does not define ({list}); membership in them is unknown and treated as not a member",
                    count(self.policies.len(), "policy", "policies"),
                    if self.policies.len() == 1 { "references" } else { "reference" },
                    parts.join(", "),
                ),
            )
            .with_code(MISSING_DIRECTORY_DATA)
            .with_severity(Severity::Warning)
            .with_help("add them to directory.json (`gardien pull --out DIR` writes it from Graph)"),
        )
    }
}

fn items<'v>(value: &'v Value, collection_key: &str) -> (Vec<(String, &'v Value)>, bool) {
    match value {
        Value::Array(a) => (
            a.iter()
                .enumerate()
                .map(|(i, v)| (format!("/{i}"), v))
                .collect(),
            true,
        ),
        Value::Object(o) => match o.get(collection_key) {
            Some(Value::Array(a)) if !o.contains_key("conditions") => (
                a.iter()
                    .enumerate()
                    .map(|(i, v)| (format!("/{collection_key}/{i}"), v))
                    .collect(),
                true,
            ),
            _ => (vec![(String::new(), value)], false),
        },
        _ => (vec![(String::new(), value)], false),
    }
}

/// How many items [`items`] walks in `value`, without listing them.
fn count_items(value: &Value, collection_key: &str) -> usize {
    match value {
        Value::Array(a) => a.len(),
        Value::Object(o) => match o.get(collection_key) {
            Some(Value::Array(a)) if !o.contains_key("conditions") => a.len(),
            _ => 1,
        },
        _ => 1,
    }
}

/// The pointer of the list [`items`] walks in `value` (the collection itself, or the value
/// when it is a single object).
fn collection_pointer(base: &str, value: &Value, collection_key: &str) -> String {
    match value {
        Value::Object(o)
            if !o.contains_key("conditions")
                && o.get(collection_key).is_some_and(Value::is_array) =>
        {
            format!("{base}/{}", escape_token(collection_key))
        }
        _ => base.to_owned(),
    }
}

/// An error when the files hold more than `limit` items in all, naming the file whose items
/// pass the limit.
fn over_limit(
    values: &[(String, String, Value)],
    what: &str,
    limit: usize,
    help: &str,
) -> Option<LoadError> {
    let counts: Vec<usize> = values
        .iter()
        .map(|(_, _, v)| count_items(v, "value"))
        .collect();
    let total: usize = counts.iter().sum();
    if total <= limit {
        return None;
    }
    let mut running = 0;
    let at = counts
        .iter()
        .position(|n| {
            running += n;
            running > limit
        })
        .unwrap_or(0);
    let (file, base, value) = values.get(at)?;
    let files = values.len();
    let reason = if files > 1 {
        format!("{total} {what} in {files} files; the limit is {limit}")
    } else {
        format!("{total} {what}; the limit is {limit}")
    };
    Some(LoadError::new(file, collection_pointer(base, value, "value"), reason).with_help(help))
}

/// Warnings for the members of `value` that `ty` does not define.
fn member_warnings(
    file: &str,
    base: &str,
    value: &Value,
    ty: &'static Type,
    warnings: &mut Vec<Diagnostic>,
) {
    let policy = (ty.name == schema::POLICY.name).then(|| {
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        (text("id"), text("displayName"))
    });
    for u in schema::unknown_members(value, ty) {
        if warnings.len() > MAX_ERRORS {
            return;
        }
        let mut d = Diagnostic::new(file, format!("{base}{}", u.pointer), u.reason())
            .with_code(UNKNOWN_MEMBER)
            .with_severity(Severity::Warning)
            .with_help(u.help(false));
        if let Some((id, name)) = &policy {
            d = d.in_policy(id, name);
        }
        warnings.push(d);
    }
}

/// Fills the line and column of each diagnostic from the text of its file (decoded again
/// only for the files that have diagnostics).
fn locate_all(source: &TenantSource, diagnostics: &mut [Diagnostic]) {
    let files = source
        .policy_files
        .iter()
        .chain(&source.location_files)
        .chain(&source.strength_files)
        .chain(source.directory.iter())
        .chain(source.cross_tenant_access.iter())
        .chain(source.combined.iter());
    for file in files {
        if !diagnostics.iter().any(|d| d.file == file.name) {
            continue;
        }
        let Ok(text) = decode_text(&file.name, &file.bytes) else {
            continue;
        };
        for d in diagnostics.iter_mut().filter(|d| d.file == file.name) {
            d.locate_in(&text);
        }
    }
}

fn parse_file(file: &SourceFile, errors: &mut Vec<LoadError>) -> Option<Value> {
    let text = match decode_text(&file.name, &file.bytes) {
        Ok(t) => t,
        Err(e) => {
            record(errors, e);
            return None;
        }
    };
    match parse_value(&file.name, &text) {
        Ok(v) => Some(v),
        Err(e) => {
            record(errors, e);
            None
        }
    }
}

impl Tenant {
    /// Loads and validates a tenant. All problems are reported together; nothing partial is
    /// ever returned.
    pub fn load(source: &TenantSource) -> Result<Tenant, LoadErrors> {
        let mut errors = Vec::new();
        let mut tenant = Tenant::default();
        let mut policy_values: Vec<(String, String, Value)> = Vec::new();
        let mut location_values: Vec<(String, String, Value)> = Vec::new();
        let mut directory_value: Option<(String, String, Value)> = None;
        let mut cross_value: Option<(String, String, Value)> = None;
        let mut warnings: Vec<Diagnostic> = source.notes.clone();

        if let Some(file) = &source.combined
            && let Some(v) = parse_file(file, &mut errors)
        {
            match v {
                Value::Object(mut o) => {
                    let policy_like = o.contains_key("conditions")
                        || o.contains_key("Conditions")
                        || o.get("value").is_some_and(Value::is_array);
                    if !o.contains_key("policies") && policy_like {
                        policy_values.push((file.name.clone(), String::new(), Value::Object(o)));
                    } else {
                        // Top-level members only: the parts are checked on their own below.
                        for key in o.keys() {
                            if schema::COMBINED_TENANT.member(key).is_none()
                                && !schema::is_annotation(key)
                            {
                                let mut one = serde_json::Map::new();
                                one.insert(key.clone(), Value::Null);
                                member_warnings(
                                    &file.name,
                                    "",
                                    &Value::Object(one),
                                    &schema::COMBINED_TENANT,
                                    &mut warnings,
                                );
                            }
                        }
                        if let Some(c) = o.remove("crossTenantAccess").filter(|c| !c.is_null()) {
                            cross_value =
                                Some((file.name.clone(), "/crossTenantAccess".to_owned(), c));
                        }
                        match o.remove("policies") {
                                Some(p) => policy_values.push((file.name.clone(), "/policies".to_owned(), p)),
                                None => record(&mut errors, LoadError::new(&file.name, "", "missing `policies`").with_help(
                                    "a single-file tenant is {\"policies\":[...], \"namedLocations\":[...], \"directory\":{...}}",
                                )),
                            }
                        if let Some(l) = o.remove("namedLocations") {
                            location_values.push((
                                file.name.clone(),
                                "/namedLocations".to_owned(),
                                l,
                            ));
                        }
                        if let Some(d) = o.remove("directory") {
                            directory_value = Some((file.name.clone(), "/directory".to_owned(), d));
                        }
                    }
                }
                Value::Array(a) => {
                    policy_values.push((file.name.clone(), String::new(), Value::Array(a)))
                }
                other => record(
                    &mut errors,
                    LoadError::new(
                        &file.name,
                        "",
                        format!(
                            "expected a tenant object, found {}",
                            crate::json::kind(&other)
                        ),
                    ),
                ),
            }
        }
        for file in &source.policy_files {
            if let Some(v) = parse_file(file, &mut errors) {
                policy_values.push((file.name.clone(), String::new(), v));
            }
        }
        for file in &source.location_files {
            if let Some(v) = parse_file(file, &mut errors) {
                location_values.push((file.name.clone(), String::new(), v));
            }
        }
        if let Some(file) = &source.directory
            && let Some(v) = parse_file(file, &mut errors)
        {
            directory_value = Some((file.name.clone(), String::new(), v));
        }

        // PowerShell SDK output (PascalCase, /Date(n)/, objects of nulls) reads as Graph JSON.
        // The originals of converted files, to name members as the file spells them.
        let mut converted: Vec<(String, String, Value)> = Vec::new();
        for (file, base, value) in &mut policy_values {
            if super::powershell::is_pascal_case(value) {
                let original = std::mem::replace(value, Value::Null);
                *value = super::powershell::convert(&original);
                converted.push((file.clone(), base.clone(), original));
                warnings.push(
                    Diagnostic::new(
                        file.as_str(),
                        "",
                        "PowerShell SDK output (PascalCase members, /Date(n)/ dates) converted to Graph JSON",
                    )
                    .with_code(crate::error::CONVERTED)
                    .with_severity(Severity::Note)
                    .with_help("export with `Invoke-MgGraphRequest` or `gardien pull` to get Graph JSON as is"),
                );
            }
        }
        // Counts are checked before anything is read, so that an oversized file costs no
        // more than its parse.
        let too_many_locations = over_limit(
            &location_values,
            "named locations",
            MAX_NAMED_LOCATIONS,
            "Entra allows 195 named locations per tenant",
        );
        let too_many_policies = over_limit(
            &policy_values,
            "policies",
            MAX_POLICIES,
            "Entra allows 195 policies per tenant; gardien loads up to 512",
        );
        errors.extend(too_many_locations.iter().cloned());
        errors.extend(too_many_policies.iter().cloned());
        for (file, base, value) in location_values
            .iter()
            .filter(|_| too_many_locations.is_none())
        {
            let (list, _) = items(value, "value");
            for (suffix, v) in list {
                if errors.len() > MAX_ERRORS {
                    break;
                }
                let pointer = format!("{base}{suffix}");
                member_warnings(file, &pointer, v, &schema::NAMED_LOCATION, &mut warnings);
                let node = Node::root(file, &pointer, v);
                if let Some(l) = read_named_location(&node, &mut errors) {
                    if *l.id == *COMPLIANT_NETWORK_LOCATION
                        && !matches!(l.kind, LocationKind::CompliantNetwork)
                    {
                        // Found by the `named_locations` fuzz target: such a location was
                        // indexed as the compliant network, its ranges or countries ignored.
                        record(
                            &mut errors,
                            node.error(format!(
                                "named location id `{}` is reserved for \"All Compliant Network locations\"",
                                l.id
                            ))
                            .with_help("give the location its own id"),
                        );
                    } else if tenant.named_locations.iter().any(|x| x.id == l.id) {
                        record(
                            &mut errors,
                            node.error(format!("duplicate named location id `{}`", l.id)),
                        );
                    } else {
                        tenant.named_locations.push(l);
                    }
                }
            }
        }
        if let Some(file) = &source.cross_tenant_access
            && let Some(v) = parse_file(file, &mut errors)
        {
            cross_value = Some((file.name.clone(), String::new(), v));
        }
        if let Some((file, pointer, value)) = &cross_value {
            member_warnings(
                file,
                pointer,
                value,
                &schema::CROSS_TENANT_ACCESS,
                &mut warnings,
            );
            let node = Node::root(file, pointer, value);
            tenant.cross_tenant_access = read_cross_tenant_access(&node, &mut errors);
        }
        if let Some((file, pointer, value)) = &directory_value {
            member_warnings(file, pointer, value, &schema::DIRECTORY, &mut warnings);
            let node = Node::root(file, pointer, value);
            tenant.directory = read_directory(&node, &mut errors);
        }
        for file in &source.strength_files {
            let Some(value) = parse_file(file, &mut errors) else {
                continue;
            };
            let (list, _) = items(&value, "value");
            for (pointer, v) in list {
                member_warnings(
                    &file.name,
                    &pointer,
                    v,
                    &schema::AUTHENTICATION_STRENGTH,
                    &mut warnings,
                );
                let node = Node::root(&file.name, &pointer, v);
                if let Some(s) = read_strength(&node, &mut errors) {
                    if tenant
                        .directory
                        .authentication_strengths
                        .iter()
                        .any(|x| x.id == s.id)
                    {
                        record(
                            &mut errors,
                            node.error(format!("duplicate authentication strength id `{}`", s.id)),
                        );
                    } else {
                        tenant.directory.authentication_strengths.push(s);
                    }
                }
            }
        }
        for (file, base, value) in policy_values.iter().filter(|_| too_many_policies.is_none()) {
            let (list, _) = items(value, "value");
            for (suffix, v) in list {
                if errors.len() > MAX_ERRORS {
                    break;
                }
                let pointer = format!("{base}{suffix}");
                if v.get("conditions").is_some() {
                    member_warnings(file, &pointer, v, &schema::POLICY, &mut warnings);
                }
                let node = Node::root(file, &pointer, v);
                if let Some(mut p) = read_policy(&node, &mut errors) {
                    if p.id.is_empty() {
                        p.id = synthetic_id(file, tenant.policies.len());
                    }
                    if tenant
                        .policies
                        .iter()
                        .any(|x| x.id.eq_ignore_ascii_case(&p.id))
                    {
                        record(
                            &mut errors,
                            node.error(format!("duplicate policy id `{}`", p.id)),
                        );
                        continue;
                    }
                    tenant.policies.push(p);
                }
            }
        }
        tenant.check_references(&mut errors);
        warnings.extend(report_only_user_action_warnings(&tenant.policies));
        if warnings.len() > MAX_ERRORS {
            warnings.truncate(MAX_ERRORS);
            let file = warnings.last().map(|w| w.file.clone()).unwrap_or_default();
            warnings.push(
                Diagnostic::new(
                    file,
                    "",
                    format!("more than {MAX_ERRORS} warnings; the limit is {MAX_ERRORS} listed"),
                )
                .with_code(UNKNOWN_MEMBER)
                .with_severity(Severity::Warning),
            );
        }
        for (file, base, original) in &converted {
            for d in errors.iter_mut().chain(warnings.iter_mut()) {
                if d.file == *file
                    && let Some(inner) = d.pointer.strip_prefix(base.as_str())
                    && (inner.is_empty() || inner.starts_with('/'))
                {
                    d.pointer = format!(
                        "{base}{}",
                        super::powershell::original_pointer(original, inner)
                    );
                }
            }
        }
        locate_all(source, &mut warnings);
        if errors.is_empty() {
            tenant.warnings = warnings;
            Ok(tenant)
        } else {
            let mut errors = LoadErrors::capped(errors);
            locate_all(source, &mut errors.errors);
            errors.warnings = warnings;
            Err(errors)
        }
    }

    /// Users, groups and roles that policies reference and `directory.json` does not define.
    pub fn missing_directory(&self) -> MissingDirectory {
        use rustc_hash::FxHashSet;
        let d = &self.directory;
        let users: FxHashSet<&str> = d.users.iter().map(|u| &*u.id).collect();
        let mut groups: FxHashSet<&str> = d.groups.iter().map(|g| &*g.id).collect();
        groups.extend(
            d.users
                .iter()
                .flat_map(|u| u.member_of.iter().map(|g| &**g)),
        );
        groups.extend(
            d.groups
                .iter()
                .flat_map(|g| g.member_of.iter().map(|g| &**g)),
        );
        let roles: FxHashSet<&str> = d
            .users
            .iter()
            .flat_map(|u| u.roles.iter().map(|r| &**r))
            .collect();
        let mut out = MissingDirectory::default();
        for p in &self.policies {
            let Some(u) = &p.conditions.users else {
                continue;
            };
            let mut missing = false;
            for side in [&u.include, &u.exclude] {
                for (list, known, sink) in [
                    (&side.users, &users, &mut out.users),
                    (&side.groups, &groups, &mut out.groups),
                    (&side.roles, &roles, &mut out.roles),
                ] {
                    for id in list {
                        if !known.contains(&**id) {
                            missing = true;
                            if !sink.contains(id) {
                                sink.push(id.clone());
                            }
                        }
                    }
                }
            }
            if missing {
                out.policies.push((p.id.clone(), p.display_name.clone()));
            }
        }
        out
    }

    /// Whether a location id exists (named locations and pseudo-locations).
    pub fn location_exists(&self, id: &str) -> bool {
        id == MFA_TRUSTED_IPS_LOCATION
            || id == COMPLIANT_NETWORK_LOCATION
            || self.named_locations.iter().any(|l| &*l.id == id)
    }

    fn check_references(&self, errors: &mut Vec<LoadError>) {
        for p in &self.policies {
            if let Some(l) = &p.conditions.locations {
                for (key, tokens) in [
                    ("includeLocations", &l.include),
                    ("excludeLocations", &l.exclude),
                ] {
                    for (i, t) in tokens.iter().enumerate() {
                        if let LocationToken::Id(id) = t
                            && !self.location_exists(id)
                        {
                            let index = raw_index(&p.raw, key, id).unwrap_or(i);
                            record(
                                errors,
                                LoadError::new(
                                    &p.file,
                                    format!("{}/conditions/locations/{key}/{index}", p.pointer),
                                    format!("named location `{id}` does not exist"),
                                )
                                .with_help(
                                    "add it to namedLocations.json or remove it from the policy",
                                )
                                .in_policy(&p.id, &p.display_name),
                            );
                        }
                    }
                }
            }
            if let Some(g) = &p.grant
                && let Some(s) = &g.authentication_strength
            {
                let builtin = [
                    STRENGTH_MFA,
                    STRENGTH_PASSWORDLESS,
                    STRENGTH_PHISHING_RESISTANT,
                ]
                .contains(&&*s.id);
                let known = builtin
                    || s.inline.is_some()
                    || self
                        .directory
                        .authentication_strengths
                        .iter()
                        .any(|a| a.id == s.id);
                if !known {
                    record(
                        errors,
                        LoadError::new(
                            &p.file,
                            format!("{}/grantControls/authenticationStrength/id", p.pointer),
                            format!("authentication strength `{}` is not defined", s.id),
                        )
                        .with_help("add it to directory.json `authenticationStrengthPolicies`")
                        .in_policy(&p.id, &p.display_name),
                    );
                }
                if let Some((_, combos)) = &s.inline {
                    for (i, c) in combos.iter().enumerate() {
                        if let Err(reason) = super::directory::parse_combination(c) {
                            record(errors, LoadError::new(&p.file, format!(
                                    "{}/grantControls/authenticationStrength/allowedCombinations/{i}",
                                    p.pointer
                                ), reason).in_policy(&p.id, &p.display_name));
                        }
                    }
                }
            }
        }
    }
}

/// Finds the array index of an id inside the raw policy JSON, for precise pointers.
fn raw_index(raw: &Value, key: &str, id: &str) -> Option<usize> {
    raw.get("conditions")?
        .get("locations")?
        .get(key)?
        .as_array()?
        .iter()
        .position(|v| {
            v.as_str()
                .is_some_and(|s| s.trim().eq_ignore_ascii_case(id))
        })
}

fn synthetic_id(file: &str, index: usize) -> String {
    let stem = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let stem = stem.strip_suffix(".json").unwrap_or(stem);
    format!("{stem}#{index}")
}

/// Report-only policies that target user actions: Microsoft documents that report-only mode
/// does not apply to them (the portal does not offer it), yet Graph stores such policies and
/// real exports contain them. Entra does not evaluate them, so they have no effect until
/// enabled: a warning, not a load error. gardien still lists them among report-only results.
fn report_only_user_action_warnings(policies: &[super::policy::Policy]) -> Vec<Diagnostic> {
    policies
        .iter()
        .filter(|p| {
            p.state == super::policy::PolicyState::ReportOnly
                && !p.conditions.applications.user_actions.is_empty()
        })
        .map(|p| {
            Diagnostic::new(
                p.file.as_str(),
                format!("{}/state", p.pointer),
                "report-only mode does not apply to policies that target user actions: Entra does not evaluate this policy",
            )
            .with_code(crate::error::INVALID_VALUE)
            .with_severity(Severity::Warning)
            .with_help("enable the policy, or disable it; its report-only results in gardien have no counterpart in the sign-in logs")
            .in_policy(&p.id, &p.display_name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::{SourceFile, Tenant, TenantSource};
    use serde_json::json;

    /// Real exports (CISA's test tenants, Microsoft's security-info template) hold report-only
    /// policies on user actions, which Entra does not evaluate: loaded with a warning at
    /// `/state`, not refused.
    #[test]
    fn report_only_user_action_policies_load_with_a_warning() {
        let tenant = json!({"policies": [{"id": "p1", "displayName": "Register from the office",
            "state": "enabledForReportingButNotEnforced",
            "conditions": {"users": {"includeUsers": ["All"]},
                           "applications": {"includeUserActions": ["urn:user:registersecurityinfo"]},
                           "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}]});
        let source = TenantSource {
            combined: Some(SourceFile::new("t.json", tenant.to_string())),
            ..Default::default()
        };
        let loaded = Tenant::load(&source);
        assert!(loaded.is_ok(), "{:?}", loaded.err());
        let warnings: Vec<(String, String)> = loaded
            .map(|t| t.warnings)
            .unwrap_or_default()
            .into_iter()
            .map(|w| (w.pointer, w.reason))
            .collect();
        assert_eq!(
            warnings,
            vec![(
                "/policies/0/state".to_owned(),
                "report-only mode does not apply to policies that target user actions: Entra does not evaluate this policy".to_owned()
            )]
        );
    }
}

#[cfg(test)]
mod reserved_ids {
    use super::*;

    /// Found by the `named_locations` fuzz target: an IP location with the compliant
    /// network's reserved id was compiled as the compliant network and its ranges ignored.
    #[test]
    fn an_ip_location_cannot_take_the_compliant_network_id() {
        let file = serde_json::json!({"value": [{
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "id": COMPLIANT_NETWORK_LOCATION, "displayName": "HQ", "isTrusted": true,
            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange",
                          "cidrAddress": "198.51.100.0/24"}]
        }]});
        let source = TenantSource {
            location_files: vec![SourceFile::new(
                "namedLocations.json",
                file.to_string().into_bytes(),
            )],
            ..Default::default()
        };
        let errors = Tenant::load(&source)
            .err()
            .map(|e| e.errors)
            .unwrap_or_default();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].reason.contains("reserved"), "{}", errors[0]);
        assert!(file.pointer(&errors[0].pointer).is_some());
    }
}

//! Assembling a tenant from its files: policies, named locations and directory.

use serde_json::Value;

use super::directory::{Directory, read_directory};
use super::location::{MAX_NAMED_LOCATIONS, NamedLocation, read_named_location};
use super::policy::{LocationToken, Policy, read_policy};
use crate::error::{LoadError, LoadErrors, record};
use crate::ids::{
    COMPLIANT_NETWORK_LOCATION, MFA_TRUSTED_IPS_LOCATION, STRENGTH_MFA, STRENGTH_PASSWORDLESS,
    STRENGTH_PHISHING_RESISTANT,
};
use crate::json::{Node, decode_text, escape_token, parse_value};
use crate::limits::MAX_ERRORS;

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
    /// A single-file tenant `{"policies":[...], "namedLocations":[...], "directory":{...}}`.
    pub combined: Option<SourceFile>,
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

        if let Some(file) = &source.combined
            && let Some(v) = parse_file(file, &mut errors)
        {
            match v {
                Value::Object(mut o) => {
                    if !o.contains_key("policies") && o.contains_key("conditions") {
                        policy_values.push((file.name.clone(), String::new(), Value::Object(o)));
                    } else {
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
                let node = Node::root(file, &pointer, v);
                if let Some(l) = read_named_location(&node, &mut errors) {
                    if tenant.named_locations.iter().any(|x| x.id == l.id) {
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
        if let Some((file, pointer, value)) = &directory_value {
            let node = Node::root(file, pointer, value);
            tenant.directory = read_directory(&node, &mut errors);
        }
        for (file, base, value) in policy_values.iter().filter(|_| too_many_policies.is_none()) {
            let (list, _) = items(value, "value");
            for (suffix, v) in list {
                if errors.len() > MAX_ERRORS {
                    break;
                }
                let pointer = format!("{base}{suffix}");
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
        if errors.is_empty() {
            Ok(tenant)
        } else {
            Err(LoadErrors::capped(errors))
        }
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

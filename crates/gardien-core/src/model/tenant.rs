//! Assembling a tenant from its files: policies, named locations and directory.

use serde_json::Value;

use super::directory::{Directory, read_directory};
use super::location::{MAX_NAMED_LOCATIONS, NamedLocation, read_named_location};
use super::policy::{LocationToken, Policy, read_policy};
use crate::error::{LoadError, LoadErrors};
use crate::ids::{
    COMPLIANT_NETWORK_LOCATION, MFA_TRUSTED_IPS_LOCATION, STRENGTH_MFA, STRENGTH_PASSWORDLESS,
    STRENGTH_PHISHING_RESISTANT,
};
use crate::json::{Node, decode_text, parse_value};

/// At most this many policies per tenant (Entra allows 195).
pub const MAX_POLICIES: usize = 512;

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

fn parse_file(file: &SourceFile, errors: &mut Vec<LoadError>) -> Option<Value> {
    let text = match decode_text(&file.name, &file.bytes) {
        Ok(t) => t,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    match parse_value(&file.name, &text) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(e);
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
                                None => errors.push(LoadError::new(&file.name, "", "missing `policies`").with_help(
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
                other => errors.push(LoadError::new(
                    &file.name,
                    "",
                    format!(
                        "expected a tenant object, found {}",
                        crate::json::kind(&other)
                    ),
                )),
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

        for (file, base, value) in &location_values {
            let (list, _) = items(value, "value");
            for (suffix, v) in list {
                let pointer = format!("{base}{suffix}");
                let node = Node::root(file, &pointer, v);
                if let Some(l) = read_named_location(&node, &mut errors) {
                    if tenant.named_locations.iter().any(|x| x.id == l.id) {
                        errors.push(node.error(format!("duplicate named location id `{}`", l.id)));
                    } else {
                        tenant.named_locations.push(l);
                    }
                }
            }
        }
        if tenant.named_locations.len() > MAX_NAMED_LOCATIONS {
            errors.push(LoadError::new(
                location_values.first().map(|f| f.0.as_str()).unwrap_or(""),
                "",
                format!(
                    "{} named locations; Entra allows at most {MAX_NAMED_LOCATIONS}",
                    tenant.named_locations.len()
                ),
            ));
        }
        if let Some((file, pointer, value)) = &directory_value {
            let node = Node::root(file, pointer, value);
            tenant.directory = read_directory(&node, &mut errors);
        }
        for (file, base, value) in &policy_values {
            let (list, _) = items(value, "value");
            for (suffix, v) in list {
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
                        errors.push(node.error(format!("duplicate policy id `{}`", p.id)));
                        continue;
                    }
                    tenant.policies.push(p);
                }
            }
        }
        if tenant.policies.len() > MAX_POLICIES {
            errors.push(LoadError::new("", "", format!(
                "{} policies; gardien evaluates at most {MAX_POLICIES} per tenant (Entra allows 195)",
                tenant.policies.len()
            )));
        }
        tenant.check_references(&mut errors);
        if errors.is_empty() {
            Ok(tenant)
        } else {
            Err(LoadErrors { errors })
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
                            errors.push(
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
                    errors.push(
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
                            errors.push(LoadError::new(&p.file, format!(
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

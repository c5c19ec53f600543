//! Graph named locations: `ipNamedLocation`, `countryNamedLocation`, compliant network.

use serde_json::Value;

use crate::error::{LoadError, record};
use crate::ids::{id_problem, normalize_id};
use crate::json::{Node, opt_bool, opt_name, opt_string, string_list, with_member};
use crate::network::{Cidr, parse_cidr};

pub use crate::limits::{MAX_NAMED_LOCATIONS, MAX_RANGES_PER_LOCATION};

/// What a named location matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationKind {
    /// IP ranges.
    Ip {
        /// The ranges, in file order.
        ranges: Vec<Cidr>,
        /// Whether the location counts for `AllTrusted`.
        trusted: bool,
    },
    /// Countries or regions.
    Country {
        /// Upper-case ISO 3166-1 alpha-2 codes.
        countries: Vec<[u8; 2]>,
        /// Whether addresses that map to no country are inside.
        include_unknown: bool,
        /// Country from the Authenticator app's GPS instead of the IP address.
        gps: bool,
    },
    /// The Global Secure Access compliant network.
    CompliantNetwork,
}

/// One named location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedLocation {
    /// Id (normalised).
    pub id: Box<str>,
    /// Display name.
    pub display_name: String,
    /// What it matches.
    pub kind: LocationKind,
}

impl NamedLocation {
    /// Whether the location is trusted (only IP and compliant-network locations can be).
    pub fn is_trusted(&self) -> bool {
        match &self.kind {
            LocationKind::Ip { trusted, .. } => *trusted,
            LocationKind::Country { .. } => false,
            LocationKind::CompliantNetwork => true,
        }
    }
}

/// Reads one named location object.
pub(crate) fn read_named_location(
    node: &Node<'_>,
    errors: &mut Vec<LoadError>,
) -> Option<NamedLocation> {
    let obj = match node.object("a named location") {
        Ok(o) => o,
        Err(e) => {
            record(errors, e);
            return None;
        }
    };
    let before = errors.len();
    let take = |r: Result<Option<String>, LoadError>, errors: &mut Vec<LoadError>| match r {
        Ok(v) => v,
        Err(e) => {
            record(errors, e);
            None
        }
    };
    let id = take(opt_string(node, "id"), errors);
    let display_name = take(opt_name(node, "displayName"), errors).unwrap_or_default();
    let odata = obj
        .get("@odata.type")
        .or_else(|| obj.get("locationType"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim_start_matches("#microsoft.graph.")
        .to_owned();
    let id = match id {
        Some(id) => {
            if let Some(p) = id_problem(&id) {
                record(
                    errors,
                    LoadError::new(node.file, format!("{}/id", node.pointer()), p),
                );
            }
            normalize_id(&id)
        }
        // POST bodies and hand-written files carry no id: name the location after where it
        // is, so that it loads (no policy can refer to it by a real id anyway).
        None => format!(
            "{}#{}",
            node.file.rsplit(['/', '\\']).next().unwrap_or(node.file),
            node.pointer()
        )
        .into_boxed_str(),
    };
    let kind = if odata.eq_ignore_ascii_case("ipNamedLocation")
        || (odata.is_empty() && obj.contains_key("ipRanges"))
    {
        read_ip(node, errors)
    } else if odata.eq_ignore_ascii_case("countryNamedLocation")
        || (odata.is_empty() && obj.contains_key("countriesAndRegions"))
    {
        read_country(node, errors)
    } else if odata.eq_ignore_ascii_case("compliantNetworkNamedLocation") {
        Some(LocationKind::CompliantNetwork)
    } else {
        record(errors, node.error(format!(
            "unknown named location type `{odata}`; expected `#microsoft.graph.ipNamedLocation`, `#microsoft.graph.countryNamedLocation` or `#microsoft.graph.compliantNetworkNamedLocation`"
        )));
        None
    };
    if errors.len() > before {
        return None;
    }
    kind.map(|kind| NamedLocation {
        id,
        display_name,
        kind,
    })
}

fn read_ip(node: &Node<'_>, errors: &mut Vec<LoadError>) -> Option<LocationKind> {
    let trusted = match opt_bool(node, "isTrusted") {
        Ok(t) => t.unwrap_or(false),
        Err(e) => {
            record(errors, e);
            false
        }
    };
    let r = with_member(node, "ipRanges", |ranges| {
        let Some(ranges) = ranges else {
            return Err(node.error("missing `ipRanges`"));
        };
        let items = ranges
            .value
            .as_array()
            .ok_or_else(|| ranges.error("expected an array of IP ranges"))?;
        if items.len() > MAX_RANGES_PER_LOCATION {
            return Err(ranges.error(format!(
                "{} IP ranges; the limit is {MAX_RANGES_PER_LOCATION} per named location",
                items.len()
            )));
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let cell = ranges.index_cell(i);
            let item = ranges.child(&cell, item);
            let text = match item.value {
                Value::String(s) => s.clone(),
                _ => match opt_string(&item, "cidrAddress")? {
                    Some(s) => s,
                    None => {
                        record(errors, item.error("IP range has no `cidrAddress`"));
                        continue;
                    }
                },
            };
            // A bare string range is its own value; an object holds it in `cidrAddress`.
            let at = if item.value.is_string() {
                item.pointer()
            } else {
                format!("{}/cidrAddress", item.pointer())
            };
            match parse_cidr(&text) {
                Ok(cidr) if cidr.is_too_broad() => record(
                    errors,
                    LoadError::new(
                        item.file,
                        at,
                        format!(
                            "prefix /{} of `{text}` is too broad: Entra only accepts prefixes longer than /8",
                            cidr.prefix_len()
                        ),
                    ),
                ),
                Ok(cidr) => out.push(cidr),
                Err(e) => record(errors, LoadError::new(item.file, at, e.to_string())),
            }
        }
        Ok(out)
    });
    match r {
        Ok(ranges) => Some(LocationKind::Ip { ranges, trusted }),
        Err(e) => {
            record(errors, e);
            None
        }
    }
}

fn read_country(node: &Node<'_>, errors: &mut Vec<LoadError>) -> Option<LocationKind> {
    let list = match string_list(node, "countriesAndRegions") {
        Ok(l) => l,
        Err(e) => {
            record(errors, e);
            return None;
        }
    };
    let mut countries = Vec::with_capacity(list.len());
    for (i, c) in list.iter().enumerate() {
        let t = c.trim();
        match t.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                countries.push([a.to_ascii_uppercase(), b.to_ascii_uppercase()]);
            }
            _ => record(
                errors,
                LoadError::new(
                    node.file,
                    format!("{}/countriesAndRegions/{i}", node.pointer()),
                    format!("`{c}` is not a two-letter country or region code"),
                ),
            ),
        }
    }
    let include_unknown = match opt_bool(node, "includeUnknownCountriesAndRegions") {
        Ok(v) => v.unwrap_or(false),
        Err(e) => {
            record(errors, e);
            false
        }
    };
    let gps = match opt_string(node, "countryLookupMethod") {
        Ok(None) => false,
        Ok(Some(m)) if m.eq_ignore_ascii_case("clientIpAddress") => false,
        Ok(Some(m)) if m.eq_ignore_ascii_case("authenticatorAppGps") => true,
        Ok(Some(m)) => {
            record(
                errors,
                LoadError::new(
                    node.file,
                    format!("{}/countryLookupMethod", node.pointer()),
                    format!(
                        "unknown country lookup method `{m}`; expected `clientIpAddress` or `authenticatorAppGps`"
                    ),
                ),
            );
            false
        }
        Err(e) => {
            record(errors, e);
            false
        }
    };
    Some(LocationKind::Country {
        countries,
        include_unknown,
        gps,
    })
}

#[cfg(test)]
mod tests {
    use crate::{SourceFile, Tenant, TenantSource};

    fn errors(text: &str) -> Vec<String> {
        let source = TenantSource {
            location_files: vec![SourceFile::new("namedLocations.json", text)],
            ..Default::default()
        };
        match Tenant::load(&source) {
            Ok(_) => Vec::new(),
            Err(e) => e.errors.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn range_errors_point_at_the_range_text() {
        // Found by the `named_locations` fuzz target: a range written as a bare string was
        // reported at `…/0/cidrAddress`, a member that does not exist.
        assert_eq!(
            errors(
                r##"{"value":[{"@odata.type":"#microsoft.graph.ipNamedLocation","ipRanges":["46.50.52.52/7","x"]}]}"##
            ),
            [
                "namedLocations.json: /value/0/ipRanges/0: prefix /7 of `46.50.52.52/7` is too broad: Entra only accepts prefixes longer than /8",
                "namedLocations.json: /value/0/ipRanges/1: invalid CIDR range `x`: `x` is not a valid IP address",
            ]
        );
        assert_eq!(
            errors(r#"[{"ipRanges":[{"cidrAddress":"10.0.0.0/8"}]}]"#),
            [
                "namedLocations.json: /0/ipRanges/0/cidrAddress: prefix /8 of `10.0.0.0/8` is too broad: Entra only accepts prefixes longer than /8"
            ]
        );
    }
}

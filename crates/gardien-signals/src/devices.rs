//! The device registry and gardien's own compliance rules (docs/reference/entra-semantics.md §3.8
//! properties).
//!
//! A request names its device with an identifier a trusted proxy passes (an mTLS client
//! certificate's SHA-256 fingerprint, or the Entra `deviceId`). The registry holds devices
//! with the Entra properties the device filter reads, in Graph's `device` shape:
//!
//! ```json
//! {"value": [{"deviceId": "…", "displayName": "LAPTOP-42", "operatingSystem": "Windows",
//!             "operatingSystemVersion": "10.0.22631", "trustType": "AzureAD",
//!             "extensionAttributes": {"extensionAttribute1": "finance"},
//!             "identifiers": ["sha256:AB:CD:…"]}]}
//! ```
//!
//! `isCompliant` is not taken from the file: gardien computes it with [`ComplianceRules`]
//! (minimum OS version and required property values per platform), so a non-compliant
//! device has a reason the user can act on ("Windows 10.0.19044 is below 10.0.19045").
//! A device without a rule for its platform is not compliant unless the rules say
//! otherwise (Intune's "mark devices with no compliance policy as not compliant", the
//! secure choice). An identifier that is not in the registry means an unregistered device:
//! no `deviceInfo`, exactly like Entra.

use crate::os_version::OsVersion;
use gardien_core::device::DeviceInfo;
use gardien_core::json::escape_token;
use gardien_core::model::enums::DevicePlatform;
use gardien_core::schema::{REQUEST_DEVICE, Shape, Type, is_annotation, suggest};
use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A registry or rules file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {pointer}: {reason}")]
pub struct DeviceError {
    /// The file.
    pub file: String,
    /// JSON pointer of the offending value.
    pub pointer: String,
    /// What is wrong.
    pub reason: String,
}

/// Parses a JSON file with the core's reader: the same size and depth limits, encodings
/// (BOM, UTF-16) and pointed errors as tenant files.
fn parse_file(file: &str, bytes: &[u8]) -> Result<Value, DeviceError> {
    let from_load = |e: gardien_core::LoadError| DeviceError {
        file: e.file,
        pointer: e.pointer,
        reason: e.reason,
    };
    let text = gardien_core::json::decode_text(file, bytes).map_err(from_load)?;
    gardien_core::json::parse_value(file, &text).map_err(from_load)
}

/// One registered device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// The Entra properties (`is_compliant` is computed, not stored).
    pub info: DeviceInfo,
    /// The platform its operating system maps to.
    pub platform: DevicePlatform,
}

/// Why a device is not compliant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComplianceFailure {
    /// The OS version is below the platform's minimum.
    OsVersionTooLow {
        /// The minimum.
        minimum: OsVersion,
        /// What the device reports (`None`: no version recorded).
        actual: Option<OsVersion>,
    },
    /// A required property has another value (or none).
    Property {
        /// The property (Graph name).
        name: String,
        /// The accepted values.
        expected: Vec<String>,
        /// The device's value.
        actual: Option<String>,
    },
    /// No compliance rule covers the device's platform.
    NoRuleForPlatform(DevicePlatform),
}

impl std::fmt::Display for ComplianceFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ComplianceFailure::OsVersionTooLow {
                minimum,
                actual: Some(actual),
            } => write!(f, "OS version {actual} is below the minimum {minimum}"),
            ComplianceFailure::OsVersionTooLow {
                minimum,
                actual: None,
            } => write!(f, "no OS version recorded; the minimum is {minimum}"),
            ComplianceFailure::Property {
                name,
                expected,
                actual,
            } => write!(
                f,
                "`{name}` is {} where {} is required",
                actual
                    .as_deref()
                    .map_or("not set".to_owned(), |a| format!("`{a}`")),
                expected
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            ComplianceFailure::NoRuleForPlatform(p) => {
                write!(f, "no compliance rule covers the {} platform", p.as_str())
            }
        }
    }
}

/// The rule for one platform.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlatformRule {
    /// Minimum OS version, if any.
    pub minimum_os_version: Option<OsVersion>,
    /// Property name (Graph spelling, e.g. `trustType`) → accepted values (case-insensitive).
    pub required_properties: BTreeMap<String, Vec<String>>,
}

/// gardien's compliance rules, per platform.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComplianceRules {
    rules: Vec<(DevicePlatform, PlatformRule)>,
    /// Whether a device whose platform has no rule counts as compliant (default: no).
    pub compliant_without_rule: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRule {
    minimum_os_version: Option<String>,
    #[serde(default)]
    required_properties: BTreeMap<String, Value>,
}

impl ComplianceRules {
    /// Reads rules: `{"platforms": {"windows": {"minimumOsVersion": "10.0.19045",
    /// "requiredProperties": {"trustType": ["AzureAD", "ServerAD"]}}},
    /// "compliantWithoutRule": false}`.
    pub fn from_json(file: &str, bytes: &[u8]) -> Result<Self, DeviceError> {
        let error = |pointer: String, reason: String| DeviceError {
            file: file.to_owned(),
            pointer,
            reason,
        };
        let value = parse_file(file, bytes)?;
        let mut out = ComplianceRules {
            compliant_without_rule: match value.get("compliantWithoutRule") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    return Err(error(
                        "/compliantWithoutRule".into(),
                        "expected true or false".into(),
                    ));
                }
            },
            rules: Vec::new(),
        };
        let Some(platforms) = value.get("platforms").and_then(Value::as_object) else {
            return Err(error(
                "/platforms".into(),
                "expected an object of platform rules".into(),
            ));
        };
        for (name, raw) in platforms {
            let pointer = format!("/platforms/{name}");
            let platform = DevicePlatform::parse(name).ok_or_else(|| {
                error(
                    pointer.clone(),
                    format!(
                        "unknown platform; expected one of {}",
                        DevicePlatform::expected()
                    ),
                )
            })?;
            let raw: RawRule = serde_json::from_value(raw.clone())
                .map_err(|e| error(pointer.clone(), e.to_string()))?;
            let minimum_os_version = raw
                .minimum_os_version
                .map(|v| {
                    OsVersion::parse(&v).ok_or_else(|| {
                        error(
                            format!("{pointer}/minimumOsVersion"),
                            format!("`{v}` is not a version such as 10.0.19045"),
                        )
                    })
                })
                .transpose()?;
            let mut required_properties = BTreeMap::new();
            for (property, accepted) in raw.required_properties {
                let values = match accepted {
                    Value::String(s) => vec![s],
                    Value::Bool(b) => vec![b.to_string()],
                    Value::Array(items) => items
                        .into_iter()
                        .map(|v| match v {
                            Value::String(s) => Some(s),
                            Value::Bool(b) => Some(b.to_string()),
                            _ => None,
                        })
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| {
                            error(
                                format!("{pointer}/requiredProperties/{property}"),
                                "expected strings".into(),
                            )
                        })?,
                    _ => {
                        return Err(error(
                            format!("{pointer}/requiredProperties/{property}"),
                            "expected a string or a list of strings".into(),
                        ));
                    }
                };
                if property_value(&DeviceInfo::default(), &property).is_err() {
                    return Err(error(
                        format!("{pointer}/requiredProperties/{property}"),
                        "not a device property gardien knows".into(),
                    ));
                }
                required_properties.insert(property, values);
            }
            out.rules.push((
                platform,
                PlatformRule {
                    minimum_os_version,
                    required_properties,
                },
            ));
        }
        Ok(out)
    }

    /// The rule for a platform.
    pub fn rule(&self, platform: DevicePlatform) -> Option<&PlatformRule> {
        self.rules
            .iter()
            .find(|(p, _)| *p == platform)
            .map(|(_, r)| r)
    }

    /// Every reason the device is not compliant (empty: compliant).
    pub fn check(&self, device: &DeviceRecord) -> Vec<ComplianceFailure> {
        let Some(rule) = self.rule(device.platform) else {
            return if self.compliant_without_rule {
                Vec::new()
            } else {
                vec![ComplianceFailure::NoRuleForPlatform(device.platform)]
            };
        };
        let mut failures = Vec::new();
        if let Some(minimum) = rule.minimum_os_version {
            let actual = device
                .info
                .operating_system_version
                .as_deref()
                .and_then(OsVersion::parse);
            if actual.is_none_or(|a| a < minimum) {
                failures.push(ComplianceFailure::OsVersionTooLow { minimum, actual });
            }
        }
        for (name, expected) in &rule.required_properties {
            let actual = property_value(&device.info, name).ok().flatten();
            if !actual
                .as_deref()
                .is_some_and(|a| expected.iter().any(|e| e.eq_ignore_ascii_case(a)))
            {
                failures.push(ComplianceFailure::Property {
                    name: name.clone(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        failures
    }
}

/// A device property by Graph name; `Err` when the name is not one.
fn property_value(d: &DeviceInfo, name: &str) -> Result<Option<String>, ()> {
    let s = |v: &Option<Box<str>>| v.as_deref().map(str::to_owned);
    Ok(match name {
        "deviceId" => s(&d.device_id),
        "displayName" => s(&d.display_name),
        "deviceOwnership" => s(&d.device_ownership),
        "enrollmentProfileName" => s(&d.enrollment_profile_name),
        "manufacturer" => s(&d.manufacturer),
        "mdmAppId" => s(&d.mdm_app_id),
        "model" => s(&d.model),
        "operatingSystem" => s(&d.operating_system),
        "profileType" => s(&d.profile_type),
        "trustType" => s(&d.trust_type),
        _ => {
            let n = name
                .strip_prefix("extensionAttribute")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| (1..=15).contains(n))
                .ok_or(())?;
            d.extension_attributes.get(n - 1).and_then(s)
        }
    })
}

/// The platform an `operatingSystem` string names (Graph device values such as `Windows`,
/// `iOS`, `IPad`, `MacMDM`, `macOS`, `Android`, `AndroidForWork`, `Linux`).
pub fn platform_of_os(os: &str) -> DevicePlatform {
    let os = os.trim().to_ascii_lowercase();
    if os.starts_with("windowsphone") || os.starts_with("windows phone") {
        DevicePlatform::WindowsPhone
    } else if os.starts_with("windows") {
        DevicePlatform::Windows
    } else if os.starts_with("android") {
        DevicePlatform::Android
    } else if os == "ios" || os == "ipados" || os == "ipad" || os == "iphone" {
        DevicePlatform::IOS
    } else if os.starts_with("mac") || os == "osx" {
        DevicePlatform::MacOS
    } else if os == "linux" || os == "ubuntu" || os == "redhat" || os == "fedora" {
        DevicePlatform::Linux
    } else {
        DevicePlatform::Unknown
    }
}

/// Normalises a device identifier: certificate fingerprints lose `sha256:` prefixes, colons
/// and case; other identifiers are trimmed and lower-cased.
pub fn normalize_identifier(raw: &str) -> String {
    let raw = raw.trim();
    let raw = raw
        .strip_prefix("sha256:")
        .or_else(|| raw.strip_prefix("SHA256:"))
        .unwrap_or(raw);
    // Byte by byte into a buffer of the right size (not char by char into a growing
    // string): dropping `:` and lower-casing ASCII bytes keeps UTF-8 text UTF-8.
    let mut bytes = Vec::with_capacity(raw.len());
    bytes.extend(
        raw.bytes()
            .filter(|b| *b != b':')
            .map(|b| b.to_ascii_lowercase()),
    );
    String::from_utf8(bytes).unwrap_or_default()
}

/// A registry entry: the members of a What If `deviceInfo` (what the device filter reads),
/// the other properties of Graph's `device` resource (v1.0 and beta: an export of
/// `GET /devices` loads as it is, unused members included) and gardien's `identifiers`.
/// Anything else is an error with a did-you-mean: a registry is written by hand or by a
/// script, and a misspelt `trustTyp` would otherwise leave the device filter blind.
static REGISTRY_DEVICE: Type = Type {
    name: "device",
    members: &[
        ("identifiers", Shape::Any),
        ("id", Shape::Any),
        ("accountEnabled", Shape::Any),
        ("alternativeSecurityIds", Shape::Any),
        ("approximateLastSignInDateTime", Shape::Any),
        ("complianceExpirationDateTime", Shape::Any),
        ("createdDateTime", Shape::Any),
        ("deletedDateTime", Shape::Any),
        ("deviceCategory", Shape::Any),
        ("deviceMetadata", Shape::Any),
        ("deviceVersion", Shape::Any),
        ("domainName", Shape::Any),
        ("enrollmentType", Shape::Any),
        ("hostnames", Shape::Any),
        ("isManaged", Shape::Any),
        ("isManagementRestricted", Shape::Any),
        ("isRooted", Shape::Any),
        ("kind", Shape::Any),
        ("managementType", Shape::Any),
        ("name", Shape::Any),
        ("onPremisesLastSyncDateTime", Shape::Any),
        ("onPremisesSecurityIdentifier", Shape::Any),
        ("onPremisesSyncEnabled", Shape::Any),
        ("platform", Shape::Any),
        ("registrationDateTime", Shape::Any),
        ("status", Shape::Any),
    ],
};

/// The first member of a registry entry that neither `deviceInfo` nor Graph's `device`
/// defines, as an error naming it, with a did-you-mean over both.
fn unknown_member(file: &str, pointer: &str, item: &Value) -> Result<(), DeviceError> {
    let Value::Object(members) = item else {
        return Ok(());
    };
    let Some(name) = members.keys().find(|name| {
        !is_annotation(name)
            && REGISTRY_DEVICE.member(name).is_none()
            && REQUEST_DEVICE.member(name).is_none()
    }) else {
        return Ok(());
    };
    let known = REQUEST_DEVICE.members.iter().chain(REGISTRY_DEVICE.members);
    Err(DeviceError {
        file: file.to_owned(),
        pointer: format!("{pointer}/{}", escape_token(name)),
        reason: match suggest(name, known.map(|(n, _)| *n)) {
            Some(s) => format!("unknown member `{name}` of device; did you mean `{s}`?"),
            None => format!(
                "unknown member `{name}` of device (neither Graph's device nor gardien's `identifiers`)"
            ),
        },
    })
}

/// Devices by identifier.
#[derive(Debug, Clone, Default)]
pub struct DeviceRegistry {
    devices: Vec<DeviceRecord>,
    by_identifier: FxHashMap<String, usize>,
}

impl DeviceRegistry {
    /// Reads a registry file (Graph `{"value": [device, …]}` or a bare array).
    pub fn from_json(file: &str, bytes: &[u8]) -> Result<Self, DeviceError> {
        let error = |pointer: String, reason: String| DeviceError {
            file: file.to_owned(),
            pointer,
            reason,
        };
        let value = parse_file(file, bytes)?;
        let (items, base) = match &value {
            Value::Array(a) => (a, String::new()),
            Value::Object(o) => match o.get("value") {
                Some(Value::Array(a)) => (a, "/value".to_owned()),
                _ => {
                    return Err(error(
                        String::new(),
                        "expected {\"value\": [devices]}".into(),
                    ));
                }
            },
            _ => return Err(error(String::new(), "expected a list of devices".into())),
        };
        let mut registry = DeviceRegistry::default();
        for (i, item) in items.iter().enumerate() {
            let pointer = format!("{base}/{i}");
            let record = read_device(file, &pointer, item)?;
            unknown_member(file, &pointer, item)?;
            let mut keys: Vec<String> = Vec::new();
            if let Some(id) = &record.info.device_id {
                keys.push(normalize_identifier(id));
            }
            match item.get("identifiers") {
                None | Some(Value::Null) => {}
                Some(Value::Array(ids)) => {
                    for (j, id) in ids.iter().enumerate() {
                        let Some(id) = id.as_str().filter(|s| !s.trim().is_empty()) else {
                            return Err(error(
                                format!("{pointer}/identifiers/{j}"),
                                "expected a non-empty string".into(),
                            ));
                        };
                        keys.push(normalize_identifier(id));
                    }
                }
                Some(_) => {
                    return Err(error(
                        format!("{pointer}/identifiers"),
                        "expected a list of strings".into(),
                    ));
                }
            }
            if keys.is_empty() {
                return Err(error(
                    pointer,
                    "a device needs a `deviceId` or `identifiers` to be found".into(),
                ));
            }
            let index = registry.devices.len();
            for key in keys {
                if let Some(other) = registry.by_identifier.insert(key.clone(), index)
                    && other != index
                {
                    return Err(error(
                        pointer,
                        format!("identifier `{key}` already belongs to device #{other}"),
                    ));
                }
            }
            registry.devices.push(record);
        }
        Ok(registry)
    }

    /// The device an identifier names.
    pub fn find(&self, identifier: &str) -> Option<&DeviceRecord> {
        self.by_identifier
            .get(&normalize_identifier(identifier))
            .and_then(|i| self.devices.get(*i))
    }

    /// Every registered device, in the registry's order (read-only listings: the console's
    /// device page).
    pub fn iter(&self) -> impl Iterator<Item = &DeviceRecord> {
        self.devices.iter()
    }

    /// How many devices are registered.
    pub fn len(&self) -> usize {
        self.devices.len()
    }

    /// Whether no device is registered.
    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }
}

/// Reads one Graph `device` object with the core's reader (the same one What If
/// `deviceInfo` goes through); `isCompliant` is dropped: gardien computes it.
fn read_device(file: &str, pointer: &str, v: &Value) -> Result<DeviceRecord, DeviceError> {
    let mut info = DeviceInfo::from_json(file, pointer, v).map_err(|e| DeviceError {
        file: e.file,
        pointer: e.pointer,
        reason: e.reason,
    })?;
    info.is_compliant = None;
    if let Some(version) = &info.operating_system_version
        && OsVersion::parse(version).is_none()
    {
        return Err(DeviceError {
            file: file.to_owned(),
            pointer: format!("{pointer}/operatingSystemVersion"),
            reason: format!("`{version}` is not a version such as 10.0.22631"),
        });
    }
    let platform = info
        .operating_system
        .as_deref()
        .map_or(DevicePlatform::Unknown, platform_of_os);
    Ok(DeviceRecord { info, platform })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The identifier normalised as before, char by char.
    fn normalized_by_chars(raw: &str) -> String {
        let raw = raw.trim();
        let raw = raw
            .strip_prefix("sha256:")
            .or_else(|| raw.strip_prefix("SHA256:"))
            .unwrap_or(raw);
        raw.chars()
            .filter(|c| *c != ':')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    }

    #[test]
    fn identifiers_normalise_as_char_by_char() {
        for raw in [
            "",
            ":",
            "::",
            "sha256:",
            "SHA256:0A:0B:0C:0D",
            " sha256:AB:CD:EF:01 ",
            "Sha256:AB:cd",
            "0A:0B:0C:0D",
            "serial-ÉCRAN:Ünï:ẞ",
            ":lead:trail:",
            "plain",
        ] {
            assert_eq!(
                normalize_identifier(raw),
                normalized_by_chars(raw),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn device_files_are_read_like_tenant_files() {
        // A UTF-8 BOM (PowerShell exports) is accepted.
        let bom = [&b"\xEF\xBB\xBF"[..], REGISTRY.as_bytes()].concat();
        assert!(DeviceRegistry::from_json("devices.json", &bom).is_ok());
        // Nesting beyond the core's limit is refused with a pointer, before serde_json's
        // own recursion limit.
        let deep = format!(
            "{{\"value\": [{{\"deviceId\": \"d\", \"x\": {}1{}}}]}}",
            "[".repeat(100),
            "]".repeat(100)
        );
        let Err(e) = DeviceRegistry::from_json("devices.json", deep.as_bytes()) else {
            unreachable!("too deep");
        };
        assert!(e.reason.contains("the limit is 64"), "{e:?}");
        assert!(e.pointer.starts_with("/value/0/x"), "{e:?}");
    }

    #[test]
    fn unknown_members_are_refused_graph_device_members_are_not() {
        let typo = r#"{"value": [{"deviceId": "d1"}, {"deviceId": "d2", "trustTyp": "AzureAD"}]}"#;
        let Err(e) = DeviceRegistry::from_json("devices.json", typo.as_bytes()) else {
            unreachable!("a misspelt member must not load");
        };
        assert_eq!(e.pointer, "/value/1/trustTyp");
        assert!(e.reason.contains("did you mean `trustType`?"), "{e:?}");
        let odd = r#"[{"deviceId": "d1", "colour": "blue"}]"#;
        let Err(e) = DeviceRegistry::from_json("devices.json", odd.as_bytes()) else {
            unreachable!("an unknown member must not load");
        };
        assert!(e.reason.contains("unknown member `colour`"), "{e:?}");
        // An export of Graph's `GET /devices` loads as it is.
        let export = r#"{"@odata.context": "x", "value": [{"id": "o1", "deviceId": "d1",
            "accountEnabled": true, "registrationDateTime": "2024-01-01T00:00:00Z",
            "isManaged": true, "alternativeSecurityIds": [], "@odata.etag": "e"}]}"#;
        assert!(DeviceRegistry::from_json("devices.json", export.as_bytes()).is_ok());
    }

    const REGISTRY: &str = r#"{"value": [
        {"deviceId": "d1", "displayName": "LAPTOP-1", "operatingSystem": "Windows",
         "operatingSystemVersion": "10.0.22631.4460", "trustType": "AzureAD",
         "isCompliant": true,
         "extensionAttributes": {"extensionAttribute1": "finance", "extensionAttribute15": null},
         "identifiers": ["SHA256:AB:CD:EF"]},
        {"deviceId": "d2", "operatingSystem": "Windows", "operatingSystemVersion": "10.0.19044",
         "trustType": "Workplace"},
        {"deviceId": "d3", "operatingSystem": "iOS", "operatingSystemVersion": "17.5"},
        {"deviceId": "d4", "operatingSystem": "Linux"}
    ]}"#;

    const RULES: &str = r#"{"platforms": {
        "windows": {"minimumOsVersion": "10.0.19045",
                    "requiredProperties": {"trustType": ["AzureAD", "ServerAD"]}},
        "iOS": {"minimumOsVersion": "17.0"}
    }}"#;

    fn registry() -> DeviceRegistry {
        DeviceRegistry::from_json("devices.json", REGISTRY.as_bytes()).unwrap_or_default()
    }

    fn rules() -> ComplianceRules {
        ComplianceRules::from_json("compliance.json", RULES.as_bytes()).unwrap_or_default()
    }

    #[test]
    fn finds_devices_by_id_and_fingerprint() {
        let r = registry();
        assert_eq!(r.len(), 4);
        let ids: Vec<Option<&str>> = r.iter().map(|d| d.info.device_id.as_deref()).collect();
        assert_eq!(ids, [Some("d1"), Some("d2"), Some("d3"), Some("d4")]);
        let by_fingerprint = r.find("abcdef").map(|d| d.info.display_name.clone());
        assert_eq!(by_fingerprint, Some(Some("LAPTOP-1".into())));
        assert!(r.find("sha256:ab:cd:ef").is_some());
        assert!(r.find("D1").is_some());
        assert!(r.find("unknown").is_none());
        let d1 = r.find("d1");
        assert_eq!(
            d1.and_then(|d| d.info.extension_attributes[0].clone()),
            Some("finance".into())
        );
        assert_eq!(
            d1.and_then(|d| d.info.is_compliant),
            None,
            "never taken from the file"
        );
    }

    #[test]
    fn compliance_with_reasons() {
        let (r, rules) = (registry(), rules());
        let check = |id: &str| r.find(id).map(|d| rules.check(d)).unwrap_or_default();
        assert!(check("d1").is_empty());
        let d2 = check("d2");
        assert_eq!(d2.len(), 2);
        assert_eq!(
            d2[0].to_string(),
            "OS version 10.0.19044 is below the minimum 10.0.19045"
        );
        assert_eq!(
            d2[1].to_string(),
            "`trustType` is `Workplace` where `AzureAD` or `ServerAD` is required"
        );
        assert!(check("d3").is_empty());
        assert_eq!(
            check("d4"),
            vec![ComplianceFailure::NoRuleForPlatform(DevicePlatform::Linux)]
        );
        let lenient = ComplianceRules {
            compliant_without_rule: true,
            ..rules.clone()
        };
        assert!(r.find("d4").is_some_and(|d| lenient.check(d).is_empty()));
    }

    #[test]
    fn bad_files_say_where() {
        for (text, pointer) in [
            (r#"{"value": [{"deviceId": 7}]}"#, "/value/0/deviceId"),
            (r#"{"value": [{"displayName": "x"}]}"#, "/value/0"),
            (
                r#"{"value": [{"deviceId": "a", "operatingSystemVersion": "ten"}]}"#,
                "/value/0/operatingSystemVersion",
            ),
            (
                r#"{"value": [{"deviceId": "a", "extensionAttributes": {"extensionAttribute16": "x"}}]}"#,
                "/value/0/extensionAttributes/extensionAttribute16",
            ),
            (
                r#"[{"deviceId": "a"}, {"deviceId": "b", "identifiers": ["A"]}]"#,
                "/1",
            ),
        ] {
            let e = DeviceRegistry::from_json("devices.json", text.as_bytes()).err();
            assert_eq!(e.map(|e| e.pointer), Some(pointer.to_owned()), "{text}");
        }
        for (text, pointer) in [
            (r#"{"platforms": {"amiga": {}}}"#, "/platforms/amiga"),
            (
                r#"{"platforms": {"windows": {"minimumOsVersion": "latest"}}}"#,
                "/platforms/windows/minimumOsVersion",
            ),
            (
                r#"{"platforms": {"windows": {"requiredProperties": {"colour": "blue"}}}}"#,
                "/platforms/windows/requiredProperties/colour",
            ),
        ] {
            let e = ComplianceRules::from_json("compliance.json", text.as_bytes()).err();
            assert_eq!(e.map(|e| e.pointer), Some(pointer.to_owned()), "{text}");
        }
    }

    #[test]
    fn operating_system_names() {
        for (os, platform) in [
            ("Windows", DevicePlatform::Windows),
            ("WindowsPhone", DevicePlatform::WindowsPhone),
            ("IPad", DevicePlatform::IOS),
            ("iOS", DevicePlatform::IOS),
            ("MacMDM", DevicePlatform::MacOS),
            ("AndroidForWork", DevicePlatform::Android),
            ("Linux", DevicePlatform::Linux),
            ("ChromeOS", DevicePlatform::Unknown),
        ] {
            assert_eq!(platform_of_os(os), platform, "{os}");
        }
    }
}

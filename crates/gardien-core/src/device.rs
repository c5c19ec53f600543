//! The device a sign-in comes from, with the Entra properties the device filter reads.

use crate::error::LoadError;
use crate::json::{Node, opt_string, string_list_max};
use crate::limits::{MAX_DEVICE_VALUE_LENGTH, MAX_REQUEST_LIST_ITEMS};
use crate::model::enums::graph_enum;
use serde_json::Value;

/// A registered device as Entra knows it (`signInConditions.deviceInfo`).
///
/// `None` in a sign-in means the device is unregistered or did not present its identity:
/// every filter property then reads as null (docs/reference/entra-semantics.md §3.8).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Entra device id.
    pub device_id: Option<Box<str>>,
    /// User-changeable display name.
    pub display_name: Option<Box<str>>,
    /// `Personal` or `Company` (`ownership` in Graph requests, `deviceOwnership` in filters).
    pub device_ownership: Option<Box<str>>,
    /// Autopilot / ADE enrollment profile name.
    pub enrollment_profile_name: Option<Box<str>>,
    /// Compliance state reported by the MDM.
    pub is_compliant: Option<bool>,
    /// Manufacturer string.
    pub manufacturer: Option<Box<str>>,
    /// Application id of the MDM that manages the device.
    pub mdm_app_id: Option<Box<str>>,
    /// Model string.
    pub model: Option<Box<str>>,
    /// Operating system name, e.g. `Windows`.
    pub operating_system: Option<Box<str>>,
    /// Operating system version, e.g. `10.0.19045`.
    pub operating_system_version: Option<Box<str>>,
    /// Physical ids such as `[ZTDId]:…`.
    pub physical_ids: Vec<Box<str>>,
    /// `RegisteredDevice`, `SecureVM`, `Printer`, `Shared`, `IoT`.
    pub profile_type: Option<Box<str>>,
    /// System labels such as `M365Managed`.
    pub system_labels: Vec<Box<str>>,
    /// `AzureAD` (joined), `ServerAD` (hybrid joined), `Workplace` (registered).
    pub trust_type: Option<Box<str>>,
    /// `extensionAttribute1` … `extensionAttribute15` (index 0 is attribute 1).
    pub extension_attributes: [Option<Box<str>>; 15],
}

impl DeviceInfo {
    /// Whether the device is Microsoft Entra hybrid joined (`trustType` `ServerAD`).
    pub fn is_hybrid_joined(&self) -> bool {
        self.trust_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("ServerAD"))
    }

    /// Whether the device is managed: compliant, hybrid joined or enrolled in an MDM.
    ///
    /// Extension attributes are only visible to filters for managed devices
    /// (docs/reference/entra-semantics.md §3.8).
    pub fn is_managed(&self) -> bool {
        self.is_compliant == Some(true) || self.is_hybrid_joined() || self.mdm_app_id.is_some()
    }
}

/// `extensionAttributeN` → index N-1.
fn extension_index(key: &str) -> Option<usize> {
    key.strip_prefix("extensionAttribute")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| (1..=15).contains(n))
        .map(|n| n - 1)
}

impl DeviceInfo {
    /// Reads a Graph device object (What If `deviceInfo` or a `device` export), naming the
    /// file and JSON pointer on error.
    pub fn from_json(file: &str, pointer: &str, value: &Value) -> Result<DeviceInfo, LoadError> {
        read_device(&Node::root(file, pointer, value))
    }

    /// The What If `deviceInfo` object (only the properties that are set).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(DeviceJson(self)).unwrap_or_default()
    }

    /// The string properties set, with their `deviceInfo` names, in [`DeviceStringField`]
    /// order.
    fn strings(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        DeviceStringField::ALL.iter().copied().filter_map(|field| {
            let value = match field {
                DeviceStringField::DeviceId => &self.device_id,
                DeviceStringField::DisplayName => &self.display_name,
                DeviceStringField::Ownership => &self.device_ownership,
                DeviceStringField::EnrollmentProfileName => &self.enrollment_profile_name,
                DeviceStringField::Manufacturer => &self.manufacturer,
                DeviceStringField::MdmAppId => &self.mdm_app_id,
                DeviceStringField::Model => &self.model,
                DeviceStringField::OperatingSystem => &self.operating_system,
                DeviceStringField::OperatingSystemVersion => &self.operating_system_version,
                DeviceStringField::ProfileType => &self.profile_type,
                DeviceStringField::TrustType => &self.trust_type,
            };
            value.as_deref().map(|v| (field.as_str(), v))
        })
    }
}

/// `deviceInfo` of a request ([`DeviceInfo::to_json`]), serialized without building a JSON
/// tree (the sign-in log writes one per decision).
#[derive(Debug, Clone, Copy)]
pub struct DeviceJson<'a>(pub &'a DeviceInfo);

impl serde::Serialize for DeviceJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let d = self.0;
        let mut m = s.serialize_map(None)?;
        for (name, value) in d.strings() {
            m.serialize_entry(name, value)?;
        }
        if let Some(c) = d.is_compliant {
            m.serialize_entry("isCompliant", &c)?;
        }
        if !d.physical_ids.is_empty() {
            m.serialize_entry("physicalIds", &d.physical_ids)?;
        }
        if !d.system_labels.is_empty() {
            m.serialize_entry("systemLabels", &d.system_labels)?;
        }
        for (i, v) in d.extension_attributes.iter().enumerate() {
            if let Some(v) = v {
                m.serialize_entry(&format!("extensionAttribute{}", i + 1), v)?;
            }
        }
        m.end()
    }
}

graph_enum! {
    /// Device properties of `deviceInfo` read as plain strings.
    DeviceStringField {
        /// `deviceId`.
        DeviceId = "deviceId",
        /// `displayName`.
        DisplayName = "displayName",
        /// `ownership` (Graph) / `deviceOwnership` (filters).
        Ownership = "ownership",
        /// `enrollmentProfileName`.
        EnrollmentProfileName = "enrollmentProfileName",
        /// `manufacturer`.
        Manufacturer = "manufacturer",
        /// `mdmAppId`.
        MdmAppId = "mdmAppId",
        /// `model`.
        Model = "model",
        /// `operatingSystem`.
        OperatingSystem = "operatingSystem",
        /// `operatingSystemVersion`.
        OperatingSystemVersion = "operatingSystemVersion",
        /// `profileType`.
        ProfileType = "profileType",
        /// `trustType`.
        TrustType = "trustType",
    }
}

/// Refuses a device property value longer than [`MAX_DEVICE_VALUE_LENGTH`] characters.
fn check_length(
    file: &str,
    pointer: impl FnOnce() -> String,
    value: &str,
) -> Result<(), LoadError> {
    // Most values are short: a byte count under the limit is a character count under it.
    if value.len() <= MAX_DEVICE_VALUE_LENGTH {
        return Ok(());
    }
    let length = value.chars().count();
    if length > MAX_DEVICE_VALUE_LENGTH {
        return Err(LoadError::new(
            file,
            pointer(),
            format!("value is {length} characters long; the limit is {MAX_DEVICE_VALUE_LENGTH}"),
        ));
    }
    Ok(())
}

/// The flat extension attribute members, `extensionAttribute1` … `extensionAttribute15`.
const EXTENSION_KEYS: [&str; 15] = [
    "extensionAttribute1",
    "extensionAttribute2",
    "extensionAttribute3",
    "extensionAttribute4",
    "extensionAttribute5",
    "extensionAttribute6",
    "extensionAttribute7",
    "extensionAttribute8",
    "extensionAttribute9",
    "extensionAttribute10",
    "extensionAttribute11",
    "extensionAttribute12",
    "extensionAttribute13",
    "extensionAttribute14",
    "extensionAttribute15",
];

/// Reads a Graph device object (`signInConditions.deviceInfo`, or a `device` export):
/// extension attributes either flat (`extensionAttribute1`, What If) or nested under
/// `extensionAttributes` (Graph `device`).
pub(crate) fn read_device(node: &Node<'_>) -> Result<DeviceInfo, LoadError> {
    let obj = node.object("deviceInfo")?;
    let mut d = DeviceInfo::default();
    for field in DeviceStringField::ALL {
        let mut key = field.as_str();
        let mut value = opt_string(node, key)?;
        if value.is_none() && *field == DeviceStringField::Ownership {
            key = "deviceOwnership";
            value = opt_string(node, key)?;
        }
        if let Some(v) = &value {
            check_length(node.file, || format!("{}/{key}", node.pointer()), v)?;
        }
        let value = value.map(String::into_boxed_str);
        match field {
            DeviceStringField::DeviceId => d.device_id = value,
            DeviceStringField::DisplayName => d.display_name = value,
            DeviceStringField::Ownership => d.device_ownership = value,
            DeviceStringField::EnrollmentProfileName => d.enrollment_profile_name = value,
            DeviceStringField::Manufacturer => d.manufacturer = value,
            DeviceStringField::MdmAppId => d.mdm_app_id = value,
            DeviceStringField::Model => d.model = value,
            DeviceStringField::OperatingSystem => d.operating_system = value,
            DeviceStringField::OperatingSystemVersion => d.operating_system_version = value,
            DeviceStringField::ProfileType => d.profile_type = value,
            DeviceStringField::TrustType => d.trust_type = value,
        }
    }
    d.is_compliant = match obj.get("isCompliant") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        Some(_) => {
            return Err(LoadError::new(
                node.file,
                format!("{}/isCompliant", node.pointer()),
                "expected true or false",
            ));
        }
    };
    let list = |key: &'static str| -> Result<Vec<Box<str>>, LoadError> {
        let items = string_list_max(node, key, MAX_REQUEST_LIST_ITEMS)?;
        for (i, v) in items.iter().enumerate() {
            check_length(node.file, || format!("{}/{key}/{i}", node.pointer()), v)?;
        }
        Ok(items.into_iter().map(String::into_boxed_str).collect())
    };
    d.physical_ids = list("physicalIds")?;
    d.system_labels = list("systemLabels")?;
    let nested = match obj.get("extensionAttributes") {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) => Some(o),
        Some(_) => {
            return Err(LoadError::new(
                node.file,
                format!("{}/extensionAttributes", node.pointer()),
                "expected an object of extensionAttribute1 … extensionAttribute15",
            ));
        }
    };
    if let Some(key) = nested.and_then(|o| o.keys().find(|k| extension_index(k).is_none())) {
        return Err(LoadError::new(
            node.file,
            format!("{}/extensionAttributes/{key}", node.pointer()),
            "expected extensionAttribute1 … extensionAttribute15",
        ));
    }
    // Pointers are built only for an error: a device without extension attributes (most
    // sign-ins) costs one pass over its member names.
    let flat = obj.keys().any(|k| k.starts_with("extensionAttribute"));
    if nested.is_some() || flat {
        for (slot, key) in d.extension_attributes.iter_mut().zip(EXTENSION_KEYS) {
            let (found, in_nested) = match nested.and_then(|o| o.get(key)) {
                Some(v) => (Some(v), true),
                None => (obj.get(key), false),
            };
            let pointer = || {
                if in_nested {
                    format!("{}/extensionAttributes/{key}", node.pointer())
                } else {
                    format!("{}/{key}", node.pointer())
                }
            };
            if let Some(v) = found {
                *slot = match v {
                    Value::Null => None,
                    Value::String(s) => {
                        check_length(node.file, pointer, s)?;
                        Some(s.clone().into_boxed_str())
                    }
                    _ => {
                        return Err(LoadError::new(node.file, pointer(), "expected a string"));
                    }
                };
            }
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flat_and_nested_extension_attributes_round_trip() {
        let graph = json!({"deviceId": "d1", "operatingSystem": "Windows", "isCompliant": true,
                           "extensionAttributes": {"extensionAttribute2": "finance"},
                           "systemLabels": ["M365Managed"]});
        let d = DeviceInfo::from_json("devices.json", "/value/0", &graph);
        assert!(d.is_ok(), "{d:?}");
        let Ok(d) = d else { return };
        assert_eq!(d.extension_attributes[1].as_deref(), Some("finance"));
        let flat = d.to_json();
        assert_eq!(flat["extensionAttribute2"], "finance");
        assert_eq!(DeviceInfo::from_json("r.json", "", &flat).ok(), Some(d));
    }

    #[test]
    fn errors_point_inside_the_object() {
        let bad = json!({"extensionAttributes": {"extensionAttribute16": "x"}});
        let e = DeviceInfo::from_json("devices.json", "/value/3", &bad).err();
        assert_eq!(
            e.map(|e| e.pointer),
            Some("/value/3/extensionAttributes/extensionAttribute16".to_owned())
        );
        let bad = json!({"extensionAttributes": {"extensionAttribute1": 7}});
        let e = DeviceInfo::from_json("devices.json", "/value/3", &bad).err();
        assert_eq!(
            e.map(|e| e.pointer),
            Some("/value/3/extensionAttributes/extensionAttribute1".to_owned())
        );
    }
}

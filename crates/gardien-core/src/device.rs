//! The device a sign-in comes from, with the Entra properties the device filter reads.

/// A registered device as Entra knows it (`signInConditions.deviceInfo`).
///
/// `None` in a sign-in means the device is unregistered or did not present its identity:
/// every filter property then reads as null (spec §3.8).
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
    /// Extension attributes are only visible to filters for managed devices (spec §3.8).
    pub fn is_managed(&self) -> bool {
        self.is_compliant == Some(true) || self.is_hybrid_joined() || self.mdm_app_id.is_some()
    }
}

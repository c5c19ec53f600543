//! Devices: Graph `device` objects keyed by their `deviceId`.

use std::collections::HashMap;

use crate::backend::Backend as _;
use crate::{Store, StoreError, dispatch};

impl Store {
    /// Every stored device, ordered by `deviceId` (byte order).
    pub async fn devices(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        dispatch!(&self.db, b => b.devices().await)
    }

    /// Creates or replaces device `device_id`; returns `true` if it was created. Bumps
    /// [`Store::devices_revision`] and announces [`crate::Change::Devices`].
    ///
    /// `device` must be a JSON object. If it has no `deviceId` member, one is added with
    /// `device_id`; if it has one, it must be the string `device_id`.
    pub async fn put_device(
        &self,
        device_id: &str,
        device: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let what = || format!("{device_id:?}");
        let serde_json::Value::Object(object) = device else {
            return Err(StoreError::InvalidDevice {
                what: what(),
                reason: "not a JSON object".to_owned(),
            });
        };
        let body = match object.get("deviceId") {
            Some(serde_json::Value::String(id)) if id == device_id => to_json(device, what)?,
            Some(other) => {
                return Err(StoreError::InvalidDevice {
                    what: what(),
                    reason: format!("its deviceId member is {other}, not {device_id:?}"),
                });
            }
            None => {
                let mut object = object.clone();
                object.insert(
                    "deviceId".to_owned(),
                    serde_json::Value::String(device_id.to_owned()),
                );
                to_json(&serde_json::Value::Object(object), what)?
            }
        };
        let created = dispatch!(&self.db, b => b.put_device(device_id, &body).await)?;
        tracing::debug!(device_id, created, "device stored");
        Ok(created)
    }

    /// Deletes device `device_id`; returns `true` if it existed (and then bumps
    /// [`Store::devices_revision`] and announces [`crate::Change::Devices`]).
    pub async fn delete_device(&self, device_id: &str) -> Result<bool, StoreError> {
        let existed = dispatch!(&self.db, b => b.delete_device(device_id).await)?;
        tracing::debug!(device_id, existed, "device deleted");
        Ok(existed)
    }

    /// Replaces every stored device with `devices`, in one transaction. Each must be a JSON
    /// object with a string `deviceId`, unique in the list; otherwise the error names the
    /// index of the first offending device and nothing is written. Bumps
    /// [`Store::devices_revision`] and announces [`crate::Change::Devices`].
    pub async fn replace_devices(&self, devices: &[serde_json::Value]) -> Result<(), StoreError> {
        let mut rows: Vec<(&str, String)> = Vec::with_capacity(devices.len());
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(devices.len());
        for (index, device) in devices.iter().enumerate() {
            let what = || format!("at index {index}");
            let id = match device {
                serde_json::Value::Object(object) => match object.get("deviceId") {
                    Some(serde_json::Value::String(id)) => id.as_str(),
                    Some(other) => {
                        return Err(StoreError::InvalidDevice {
                            what: what(),
                            reason: format!("deviceId must be a string, found {other}"),
                        });
                    }
                    None => {
                        return Err(StoreError::InvalidDevice {
                            what: what(),
                            reason: "no deviceId member".to_owned(),
                        });
                    }
                },
                _ => {
                    return Err(StoreError::InvalidDevice {
                        what: what(),
                        reason: "not a JSON object".to_owned(),
                    });
                }
            };
            if let Some(first) = seen.insert(id, index) {
                return Err(StoreError::InvalidDevice {
                    what: what(),
                    reason: format!("deviceId {id:?} already used by the device at index {first}"),
                });
            }
            rows.push((id, to_json(device, what)?));
        }
        dispatch!(&self.db, b => b.replace_devices(&rows).await)?;
        tracing::info!(devices = rows.len(), "devices replaced");
        Ok(())
    }
}

fn to_json(device: &serde_json::Value, what: impl Fn() -> String) -> Result<String, StoreError> {
    serde_json::to_string(device).map_err(|source| StoreError::Json {
        what: format!("device {}", what()),
        source,
    })
}

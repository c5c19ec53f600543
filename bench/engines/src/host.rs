//! What an integration does before it calls Cedar or a Rego engine: resolve the sign-in's IP
//! address to the named locations that contain it, the user to the transitive closure of their
//! groups (plus roles and guest kind), and normalise values Entra compares case-insensitively
//! (ids, enum values and device properties are lower-cased; the translations lower-case their
//! literals). Nothing of a policy is evaluated here.
//!
//! The IP lookup is gardien-core's interval index ([`IpIndex`]) built over the same ranges;
//! the group closure is computed here from the directory, independently of gardien-core.
//!
//! Two input rules the host applies, as gardien's evaluator does: a legacy `other` client
//! cannot present its device (the device then reads as unregistered), and a missing risk level
//! is `none`.

use std::collections::{BTreeSet, HashMap};

use gardien_core::network::{IpIndex, IpIndexBuilder, parse_cidr, parse_ip};
use serde_json::Value;

use crate::filter::{IS_COMPLIANT, STRING_PROPERTIES};
use crate::model::Model;
use crate::{Error, error};

/// A device property value, after normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceValue {
    /// A string property, lower-cased.
    Str(String),
    /// `isCompliant`.
    Bool(bool),
}

/// A sign-in with everything a general-purpose engine cannot do itself resolved.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolved {
    /// User id.
    pub user: String,
    /// Every group the user is in, directly or through nesting.
    pub groups: Vec<String>,
    /// Directory role template ids.
    pub roles: Vec<String>,
    /// Guest or external user kind.
    pub guest_kind: Option<String>,
    /// An external user (every guest or external kind but a local guest). No cross-tenant
    /// trust is translated (the model refuses `crossTenantAccess`), so none of their home
    /// tenant's claims count: the host keeps only the methods done here that this tenant
    /// offers external users ([`METHODS_HERE`](crate::model::METHODS_HERE)).
    pub external: bool,
    /// A B2B direct connect user: cannot do MFA here at all (no methods count).
    pub direct_connect: bool,
    /// The resource application id.
    pub app: String,
    /// Client app type (lower-case).
    pub client_app_type: String,
    /// Device platform (lower-case, `unknown` when not given).
    pub platform: String,
    /// Ids of the named locations that contain the IP address.
    pub locations: Vec<String>,
    /// Sign-in risk level (`none` when not given).
    pub sign_in_risk: String,
    /// User risk level.
    pub user_risk: String,
    /// The device's filter properties that are present (canonical filter names); empty for an
    /// unregistered device or an `other` client.
    pub device: Vec<(&'static str, DeviceValue)>,
    /// Authentication methods done in the session (lower-case).
    pub methods: Vec<String>,
    /// Approved client app.
    pub approved_client_app: bool,
    /// App protection policy.
    pub app_protection_policy: bool,
    /// Password changed in this session.
    pub password_changed: bool,
}

/// What the host knows of a directory user.
#[derive(Debug, Clone, Default)]
pub struct UserFacts {
    /// Every group the user is in, directly or through nesting (sorted).
    pub groups: Vec<String>,
    /// Directory role template ids.
    pub roles: Vec<String>,
    /// Guest or external user kind.
    pub guest_kind: Option<String>,
}

/// The host-side resolver of one tenant.
#[derive(Debug)]
pub struct Host {
    index: IpIndex,
    location_ids: Vec<String>,
    users: HashMap<String, UserFacts>,
}

impl Host {
    /// Builds the IP index and every user's group closure.
    pub fn new(model: &Model) -> Result<Host, Error> {
        let mut builder = IpIndexBuilder::new();
        for (i, location) in model.locations.iter().enumerate() {
            let bit = u8::try_from(i)
                .map_err(|_| error("more than 256 named locations are not supported"))?;
            for range in &location.ranges {
                let cidr = parse_cidr(range).map_err(|e| error(format!("`{range}`: {e}")))?;
                builder.add(&cidr, bit);
            }
        }
        let parents: HashMap<&str, &[String]> = model
            .groups
            .iter()
            .map(|g| (g.id.as_str(), g.member_of.as_slice()))
            .collect();
        let users = model
            .users
            .iter()
            .map(|u| {
                let mut seen = BTreeSet::new();
                let mut stack: Vec<&str> = u.member_of.iter().map(String::as_str).collect();
                while let Some(g) = stack.pop() {
                    if seen.insert(g.to_owned()) {
                        stack.extend(
                            parents
                                .get(g)
                                .into_iter()
                                .flat_map(|p| p.iter().map(String::as_str)),
                        );
                    }
                }
                let facts = UserFacts {
                    groups: seen.into_iter().collect(),
                    roles: u.roles.clone(),
                    guest_kind: u.guest_kind.clone(),
                };
                (u.id.clone(), facts)
            })
            .collect();
        Ok(Host {
            index: builder.build(),
            location_ids: model.locations.iter().map(|l| l.id.clone()).collect(),
            users,
        })
    }

    /// The resolved facts of a directory user.
    pub fn user_facts(&self, id: &str) -> Option<&UserFacts> {
        self.users.get(id)
    }

    /// Resolves one What If request body (the generator's subset: a user sign-in to one
    /// application).
    pub fn resolve(&self, request: &Value) -> Result<Resolved, Error> {
        let str_at = |pointer: &str| request.pointer(pointer).and_then(Value::as_str);
        let user = str_at("/signInIdentity/userId")
            .ok_or_else(|| error("only user sign-ins are translated"))?
            .trim()
            .to_ascii_lowercase();
        let apps = request
            .pointer("/signInContext/includeApplications")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let [app] = apps else {
            return Err(error(
                "only sign-ins to exactly one application are translated",
            ));
        };
        let app = app
            .as_str()
            .ok_or_else(|| error("application id: expected a string"))?
            .trim()
            .to_ascii_lowercase();
        let lower = |pointer: &str, default: &str| {
            str_at(pointer)
                .map(|s| s.trim().to_ascii_lowercase())
                .unwrap_or_else(|| default.to_owned())
        };
        let client_app_type = lower("/signInConditions/clientAppType", "");
        if client_app_type.is_empty() {
            return Err(error(
                "a sign-in without a client app type is not translated",
            ));
        }
        let mut locations = Vec::new();
        if let Some(ip) = str_at("/signInConditions/ipAddress") {
            let ip = parse_ip(ip).map_err(|e| error(format!("`{ip}`: {e}")))?;
            for bit in self.index.lookup(ip).iter() {
                if let Some(id) = self.location_ids.get(usize::from(bit)) {
                    locations.push(id.clone());
                }
            }
        } else {
            return Err(error("a sign-in without an IP address is not translated"));
        }
        let risk = |pointer: &str| {
            let level = lower(pointer, "none");
            if level == "hidden" || level == "unknownfuturevalue" {
                "none".to_owned()
            } else {
                level
            }
        };
        let mut device = Vec::new();
        if client_app_type != "other"
            && let Some(info) = request
                .pointer("/signInConditions/deviceInfo")
                .and_then(Value::as_object)
        {
            for &property in STRING_PROPERTIES {
                let key = if property == "deviceOwnership" {
                    "ownership"
                } else {
                    property
                };
                let value = info
                    .get(key)
                    .or_else(|| (key == "ownership").then(|| info.get(property)).flatten());
                if let Some(Value::String(s)) = value {
                    device.push((property, DeviceValue::Str(s.to_lowercase())));
                }
            }
            match info.get(IS_COMPLIANT) {
                Some(Value::Bool(b)) => device.push((IS_COMPLIANT, DeviceValue::Bool(*b))),
                Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => {
                    device.push((IS_COMPLIANT, DeviceValue::Bool(true)));
                }
                Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => {
                    device.push((IS_COMPLIANT, DeviceValue::Bool(false)));
                }
                _ => {}
            }
        }
        let session = request.get("session").unwrap_or(&Value::Null);
        let mut methods: Vec<String> = Vec::new();
        for m in session
            .get("authenticationMethods")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            // A combination may be written "password,sms".
            methods.extend(m.split(',').map(|x| x.trim().to_ascii_lowercase()));
        }
        methods.sort();
        methods.dedup();
        let flag = |key: &str| session.get(key).and_then(Value::as_bool).unwrap_or(false);
        let facts = self.users.get(&user).cloned().unwrap_or_default();
        let external = facts
            .guest_kind
            .as_deref()
            .is_some_and(|k| k != "internalguest");
        let direct_connect = facts.guest_kind.as_deref() == Some("b2bdirectconnectuser");
        if direct_connect {
            methods.clear();
        } else if external {
            methods.retain(|m| crate::model::METHODS_HERE.contains(&m.as_str()));
        }
        Ok(Resolved {
            user,
            groups: facts.groups,
            roles: facts.roles,
            guest_kind: facts.guest_kind,
            external,
            direct_connect,
            app,
            client_app_type,
            platform: lower("/signInConditions/devicePlatform", "unknown"),
            locations,
            sign_in_risk: risk("/signInConditions/signInRiskLevel"),
            user_risk: risk("/signInConditions/userRiskLevel"),
            device,
            methods,
            approved_client_app: flag("approvedClientApp"),
            app_protection_policy: flag("appProtectionPolicy"),
            password_changed: flag("passwordChanged"),
        })
    }
}

//! Per-field masking of shipped sign-in lines (`[log.ship.mask]`).
//!
//! A field is named as in the Graph `signIn` record (`ipAddress`, `deviceDetail.deviceId`,
//! `gardien.request`); [`FIELDS`] is the one table of what may be masked and where each
//! field's value appears in the record: masking a field masks every copy of it, including
//! the one in the exact request gardien keeps for replay (`gardien.request`), so an address
//! truncated at the top level is not left whole further down. Three actions:
//!
//! - `drop`: the member is removed.
//! - `hash`: the value becomes the lowercase hex HMAC-SHA256 of its text under the secret
//!   key (`hash_key_file` or `hash_key_env`), so one value always gives one hash (records
//!   can still be joined) but the value cannot be recovered, nor guessed by hashing
//!   candidates, without the key. Identifiers and names that Entra compares
//!   case-insensitively (user ids, UPNs, device ids) are lowercased first.
//! - `truncate` (addresses only): IPv4 keeps its /24 (`198.51.100.0`), IPv6 its /48
//!   (`2001:db8:1234::`), still valid addresses for parsers; an IPv4-mapped IPv6 address is
//!   treated as IPv4. A value that is not an address is removed.
//!
//! Anything a mask cannot apply is removed rather than shipped as it was.

use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What to do with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskAction {
    /// Remove the member.
    Drop,
    /// Replace the value with its keyed HMAC-SHA256 (hex).
    Hash,
    /// Keep the address's /24 (IPv4) or /48 (IPv6).
    Truncate,
}

impl MaskAction {
    fn parse(text: &str) -> Option<MaskAction> {
        match text {
            "drop" => Some(MaskAction::Drop),
            "hash" => Some(MaskAction::Hash),
            "truncate" => Some(MaskAction::Truncate),
            _ => None,
        }
    }

    /// `drop`, `hash` or `truncate`.
    pub fn as_str(self) -> &'static str {
        match self {
            MaskAction::Drop => "drop",
            MaskAction::Hash => "hash",
            MaskAction::Truncate => "truncate",
        }
    }
}

/// What kind of value a field holds, which decides the actions it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text compared as it is: drop, hash.
    Text,
    /// An identifier or name Entra compares case-insensitively: drop, hash (lowercased).
    Folded,
    /// An IP address: drop, hash, truncate.
    Ip,
    /// An object or list: drop.
    Structure,
}

/// A maskable field of the `signIn` record.
#[derive(Debug)]
pub struct Field {
    /// Its name in `[log.ship.mask]`.
    pub name: &'static str,
    /// Every JSON pointer its value appears at.
    pointers: &'static [&'static str],
    kind: Kind,
}

const REQUEST: &str = "/gardien/request";

/// Every field that may be masked, with every place its value appears.
pub static FIELDS: &[Field] = &[
    Field {
        name: "userId",
        pointers: &[
            "/userId",
            "/gardien/request/signInIdentity/userId",
            "/gardien/request/signInIdentity/servicePrincipalId",
        ],
        kind: Kind::Folded,
    },
    Field {
        name: "userPrincipalName",
        pointers: &["/userPrincipalName"],
        kind: Kind::Folded,
    },
    Field {
        name: "userDisplayName",
        pointers: &["/userDisplayName"],
        kind: Kind::Text,
    },
    Field {
        name: "ipAddress",
        pointers: &["/ipAddress", "/gardien/request/signInConditions/ipAddress"],
        kind: Kind::Ip,
    },
    Field {
        name: "userAgent",
        pointers: &["/userAgent"],
        kind: Kind::Text,
    },
    Field {
        name: "appDisplayName",
        pointers: &["/appDisplayName"],
        kind: Kind::Text,
    },
    Field {
        name: "deviceDetail.deviceId",
        pointers: &[
            "/deviceDetail/deviceId",
            "/gardien/request/signInConditions/deviceInfo/deviceId",
        ],
        kind: Kind::Folded,
    },
    Field {
        name: "deviceDetail.displayName",
        pointers: &[
            "/deviceDetail/displayName",
            "/gardien/request/signInConditions/deviceInfo/displayName",
        ],
        kind: Kind::Text,
    },
    Field {
        name: "deviceDetail.gardienIdentifier",
        pointers: &["/deviceDetail/gardienIdentifier"],
        kind: Kind::Folded,
    },
    Field {
        name: "location.countryOrRegion",
        pointers: &[
            "/location/countryOrRegion",
            "/gardien/request/signInConditions/country",
        ],
        kind: Kind::Text,
    },
    Field {
        name: "location.geoCoordinates",
        pointers: &["/location/geoCoordinates"],
        kind: Kind::Structure,
    },
    Field {
        name: "gardien.request",
        pointers: &[REQUEST],
        kind: Kind::Structure,
    },
    Field {
        name: "gardien.denial",
        pointers: &["/gardien/denial"],
        kind: Kind::Structure,
    },
];

/// The masks of `[log.ship.mask]`, checked: known fields, actions their kind takes.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(try_from = "toml::Table")]
pub struct MaskRules {
    rules: Vec<(&'static str, MaskAction)>,
}

/// Flattens `{deviceDetail = {deviceId = "hash"}}` and `"deviceDetail.deviceId" = "hash"`
/// alike into `("deviceDetail.deviceId", "hash")`.
fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, toml::Value)>) {
    for (key, value) in table {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(t) => flatten(&name, t, out),
            other => out.push((name, other.clone())),
        }
    }
}

impl TryFrom<toml::Table> for MaskRules {
    type Error = String;

    fn try_from(table: toml::Table) -> Result<MaskRules, String> {
        let mut flat = Vec::new();
        flatten("", &table, &mut flat);
        let mut rules = Vec::new();
        for (name, value) in flat {
            let Some(field) = FIELDS.iter().find(|f| f.name == name) else {
                let names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
                let hint = gardien_core::schema::suggest(&name, names.iter().copied())
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                return Err(format!(
                    "unknown field `{name}`{hint} (maskable: {})",
                    names.join(", ")
                ));
            };
            let action = value.as_str().and_then(MaskAction::parse).ok_or_else(|| {
                let shown = match &value {
                    toml::Value::String(t) => format!("\"{}\"", crate::clean::escape(t, 64)),
                    other => other.type_str().to_owned(),
                };
                format!("`{name}`: expected \"drop\", \"hash\" or \"truncate\", not {shown}")
            })?;
            let fits = matches!(
                (field.kind, action),
                (_, MaskAction::Drop)
                    | (Kind::Text | Kind::Folded | Kind::Ip, MaskAction::Hash)
                    | (Kind::Ip, MaskAction::Truncate)
            );
            if !fits {
                let allowed = match field.kind {
                    Kind::Ip => "drop, hash or truncate",
                    Kind::Text | Kind::Folded => "drop or hash (truncate is for ipAddress)",
                    Kind::Structure => "drop",
                };
                return Err(format!(
                    "`{name}` cannot be masked with `{}`: it takes {allowed}",
                    action.as_str()
                ));
            }
            rules.push((field.name, action));
        }
        Ok(MaskRules { rules })
    }
}

impl MaskRules {
    /// No mask at all: lines are shipped as the store keeps them.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether some field is hashed (a key is then required).
    pub fn hashes(&self) -> bool {
        self.rules.iter().any(|(_, a)| *a == MaskAction::Hash)
    }

    /// The rules, field name and action.
    pub fn rules(&self) -> &[(&'static str, MaskAction)] {
        &self.rules
    }
}

/// Applies [`MaskRules`] to records.
pub struct Masker {
    rules: Vec<(&'static Field, MaskAction)>,
    key: Option<ring::hmac::Key>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Masker")
            .field("rules", &self.rules)
            .field("key", &self.key.is_some())
            .finish()
    }
}

impl Masker {
    /// A masker for `rules`; `key` is the HMAC secret (required when a field is hashed: the
    /// caller checks that).
    pub fn new(rules: &MaskRules, key: Option<&[u8]>) -> Masker {
        let rules = rules
            .rules
            .iter()
            .filter_map(|(name, action)| {
                FIELDS
                    .iter()
                    .find(|f| f.name == *name)
                    .map(|f| (f, *action))
            })
            .collect();
        Masker {
            rules,
            key: key.map(|k| ring::hmac::Key::new(ring::hmac::HMAC_SHA256, k)),
        }
    }

    /// Masks one record in place. Rules on `gardien.request` come last in effect: dropping
    /// it also drops the copies other rules would have masked.
    pub fn apply(&self, record: &mut Value) {
        for (field, action) in &self.rules {
            for pointer in field.pointers {
                self.apply_at(record, pointer, field.kind, *action);
            }
        }
    }

    fn apply_at(&self, record: &mut Value, pointer: &str, kind: Kind, action: MaskAction) {
        let Some((parent, member)) = pointer.rsplit_once('/') else {
            return;
        };
        let parent = if parent.is_empty() {
            Some(record)
        } else {
            record.pointer_mut(parent)
        };
        let Some(Value::Object(object)) = parent else {
            return;
        };
        let Some(value) = object.get_mut(member) else {
            return;
        };
        if value.is_null() {
            return;
        }
        let masked = match action {
            MaskAction::Drop => None,
            MaskAction::Hash => match (&self.key, value.as_str()) {
                (Some(key), Some(text)) => {
                    let text = if kind == Kind::Folded {
                        text.to_lowercase()
                    } else {
                        text.to_owned()
                    };
                    let tag = ring::hmac::sign(key, text.as_bytes());
                    Some(Value::String(crate::clock::hex(tag.as_ref())))
                }
                _ => None,
            },
            MaskAction::Truncate => value
                .as_str()
                .and_then(|t| t.parse::<IpAddr>().ok())
                .map(|ip| Value::String(truncate_ip(ip).to_string())),
        };
        match masked {
            Some(v) => *value = v,
            None => {
                object.remove(member);
            }
        }
    }
}

/// The /24 of an IPv4 address or the /48 of an IPv6 one (an IPv4-mapped IPv6 address is
/// IPv4).
pub fn truncate_ip(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(text: &str) -> Result<MaskRules, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        MaskRules::try_from(table)
    }

    /// A record as `signin_record::build` writes it (the members masking concerns).
    fn record() -> Value {
        json!({
            "id": "c1",
            "userId": "A1A1A1A1-0000-4000-8000-000000000001",
            "userPrincipalName": "Alice@Contoso.example",
            "userDisplayName": "Alice",
            "appDisplayName": "Payroll",
            "ipAddress": "198.51.100.77",
            "userAgent": "Mozilla/5.0",
            "deviceDetail": {"deviceId": "D1", "displayName": "Alice's laptop", "isCompliant": true},
            "location": {"city": null, "countryOrRegion": "FR",
                         "geoCoordinates": {"latitude": 48.8, "longitude": 2.3, "altitude": null}},
            "gardien": {"decision": "deny",
                        "denial": {"keySha256": "ab"},
                        "request": {"signInIdentity": {"userId": "A1A1A1A1-0000-4000-8000-000000000001"},
                                    "signInConditions": {"ipAddress": "198.51.100.77", "country": "FR",
                                                         "deviceInfo": {"deviceId": "D1", "displayName": "Alice's laptop"}}}}
        })
    }

    #[test]
    fn drop_removes_every_copy() {
        let r = rules("ipAddress = \"drop\"\nuserDisplayName = \"drop\"\n\"location.geoCoordinates\" = \"drop\"\n").unwrap();
        let mut v = record();
        Masker::new(&r, None).apply(&mut v);
        assert!(v.get("ipAddress").is_none());
        assert!(v.get("userDisplayName").is_none());
        assert!(v.pointer("/location/geoCoordinates").is_none());
        assert_eq!(v["location"]["countryOrRegion"], "FR", "untouched");
        assert!(
            v.pointer("/gardien/request/signInConditions/ipAddress")
                .is_none()
        );
        assert_eq!(v["userPrincipalName"], "Alice@Contoso.example");
        // The whole request, when asked.
        let r = rules("gardien.request = \"drop\"").unwrap();
        Masker::new(&r, None).apply(&mut v);
        assert!(v.pointer(REQUEST).is_none());
        assert_eq!(v["gardien"]["decision"], "deny");
    }

    #[test]
    fn hash_is_a_keyed_hmac_sha256() {
        // RFC 4231, test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        let r = rules("userDisplayName = \"hash\"").unwrap();
        let mut v = json!({"userDisplayName": "what do ya want for nothing?"});
        Masker::new(&r, Some(b"Jefe")).apply(&mut v);
        assert_eq!(
            v["userDisplayName"],
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Another key, another hash.
        let mut w = json!({"userDisplayName": "what do ya want for nothing?"});
        Masker::new(&r, Some(b"Jeff")).apply(&mut w);
        assert_ne!(v, w);
    }

    #[test]
    fn hash_folds_case_of_identifiers_and_masks_the_request_copy() {
        let r = rules("userId = \"hash\"\nuserPrincipalName = \"hash\"\n[deviceDetail]\ndeviceId = \"hash\"\n").unwrap();
        let m = Masker::new(&r, Some(b"0123456789abcdef"));
        let mut v = record();
        m.apply(&mut v);
        let user = v["userId"].as_str().unwrap().to_owned();
        assert_eq!(user.len(), 64);
        assert_eq!(
            v.pointer("/gardien/request/signInIdentity/userId").unwrap(),
            &json!(user),
            "the request's copy gets the same hash"
        );
        let mut lower = json!({"userPrincipalName": "alice@contoso.example", "userId": "a1a1a1a1-0000-4000-8000-000000000001"});
        m.apply(&mut lower);
        assert_eq!(lower["userPrincipalName"], v["userPrincipalName"]);
        assert_eq!(lower["userId"], v["userId"]);
        assert_ne!(v["deviceDetail"]["deviceId"], "D1");
        assert_eq!(
            v.pointer("/gardien/request/signInConditions/deviceInfo/deviceId"),
            v.pointer("/deviceDetail/deviceId")
        );
        // Display names are not folded.
        let r = rules("userDisplayName = \"hash\"").unwrap();
        let m = Masker::new(&r, Some(b"0123456789abcdef"));
        let (mut a, mut b) = (
            json!({"userDisplayName": "Alice"}),
            json!({"userDisplayName": "alice"}),
        );
        m.apply(&mut a);
        m.apply(&mut b);
        assert_ne!(a, b);
    }

    #[test]
    fn truncate_keeps_the_slash_24_or_slash_48() {
        let r = rules("ipAddress = \"truncate\"").unwrap();
        let m = Masker::new(&r, None);
        let mut v = record();
        m.apply(&mut v);
        assert_eq!(v["ipAddress"], "198.51.100.0");
        assert_eq!(
            v.pointer("/gardien/request/signInConditions/ipAddress")
                .unwrap(),
            "198.51.100.0"
        );
        for (ip, want) in [
            ("2001:db8:1234:5678:9abc::1", "2001:db8:1234::"),
            ("::ffff:203.0.113.9", "203.0.113.0"),
            ("10.1.2.255", "10.1.2.0"),
        ] {
            let mut v = json!({"ipAddress": ip});
            m.apply(&mut v);
            assert_eq!(v["ipAddress"], want, "{ip}");
        }
        // Not an address: removed, never shipped as it was.
        let mut v = json!({"ipAddress": "not-an-ip"});
        m.apply(&mut v);
        assert!(v.get("ipAddress").is_none());
        // A null stays null.
        let mut v = json!({"ipAddress": null});
        m.apply(&mut v);
        assert_eq!(v, json!({"ipAddress": null}));
    }

    #[test]
    fn bad_rules_are_named() {
        let e = rules("ipAdress = \"drop\"").unwrap_err();
        assert!(e.contains("did you mean `ipAddress`?"), "{e}");
        let e = rules("userAgent = \"truncate\"").unwrap_err();
        assert!(e.contains("cannot be masked with `truncate`"), "{e}");
        let e = rules("\"gardien.request\" = \"hash\"").unwrap_err();
        assert!(e.contains("it takes drop"), "{e}");
        let e = rules("ipAddress = \"blur\"").unwrap_err();
        assert!(
            e.contains("expected \"drop\", \"hash\" or \"truncate\""),
            "{e}"
        );
        assert!(rules("").unwrap().is_empty());
        assert!(rules("userId = \"hash\"").unwrap().hashes());
    }
}

//! The Graph `signIn` record, defined once: what `gardien serve` writes to its sign-in log
//! and what replay (and any other reader: the denial page of another replica, a log shipper)
//! reads back, from gardien's own log or from an Entra export.
//!
//! # Format
//!
//! [`Record`] holds the Graph v1.0/beta members gardien writes or reads, plus gardien's own
//! member `gardien` ([`GardienMember`]: the decision, the pending controls, the policy
//! version, the denial page's key hash and device line, and the exact evaluate request).
//! Serializing a record gives its one JSON rendering: members in declaration order, absent
//! members (`None`, [`Member::Absent`], [`Items::Absent`], [`List::Absent`]) left out, a
//! present `null` written as `null`. Reading that text back gives the same record, so
//! write → read → write is byte-identical (tested in `crates/gardien/tests/signin_log_roundtrip.rs`).
//!
//! # Reading
//!
//! Every member is read leniently: a member of an unexpected JSON type is kept as
//! [`Scalar::Other`] (or [`Member::Wrong`]) and reported when the sign-in is rebuilt, never
//! as a parse error, so one odd record cannot stop a stream of millions. Member names are
//! matched without regard to ASCII case: Graph writes camelCase, the PowerShell SDK's
//! `ConvertTo-Json` PascalCase. Strings are borrowed from the record's bytes (unless they
//! hold escapes), so reading a record allocates only for its non-empty arrays (the
//! elements of [`Items`] and [`List`]) and the few strings replay keeps.
//!
//! Limits of the rendering of a record read from elsewhere: unknown members are not kept,
//! a `null` `conditionalAccessAudiences` reads as absent, an object or array where a scalar
//! was expected is written back as `null`, and numbers that are not whole go through `f64`.
//!
//! # Writing
//!
//! The server fills a record from the decision with borrowed strings and the vocabularies of
//! [`crate::signin_log`]; its `appliedConditionalAccessPolicies` are rendered from the
//! evaluation ([`Policies::Evaluation`], or the same text kept: [`Policies::Text`]) and its
//! request from the sign-in ([`RequestMember::Written`]), both without building a JSON tree;
//! they read back as [`Policies::Logged`] and [`RequestMember::Read`].

use crate::SignIn;
use crate::report::AppliedPoliciesJson;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeSeq, SerializeStruct, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// A JSON value where replay expects a scalar: the scalar, or the kind of what was found.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A whole number that fits in 64 bits.
    Int(i64),
    /// Any other number.
    Number(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// An object or an array (its kind, for messages).
    Other(&'static str),
}

impl<'a> Scalar<'a> {
    /// A string, or `null` when there is none (Graph writes absent values as `null`).
    pub fn or_null(s: Option<&'a str>) -> Scalar<'a> {
        s.map_or(Scalar::Null, |s| Scalar::Str(Cow::Borrowed(s)))
    }

    /// The string, when the value is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The JSON kind, for messages (`a string`, `a number`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Bool(_) => "a boolean",
            Scalar::Int(_) | Scalar::Number(_) => "a number",
            Scalar::Str(_) => "a string",
            Scalar::Other(kind) => kind,
        }
    }
}

impl<'a> From<&'a str> for Scalar<'a> {
    fn from(s: &'a str) -> Scalar<'a> {
        Scalar::Str(Cow::Borrowed(s))
    }
}

impl From<String> for Scalar<'_> {
    fn from(s: String) -> Self {
        Scalar::Str(Cow::Owned(s))
    }
}

impl Serialize for Scalar<'_> {
    /// The value itself; [`Scalar::Other`] (an object or array that was not read) as `null`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Scalar::Null | Scalar::Other(_) => s.serialize_unit(),
            Scalar::Bool(b) => s.serialize_bool(*b),
            Scalar::Int(n) => s.serialize_i64(*n),
            Scalar::Number(n) => s.serialize_f64(*n),
            Scalar::Str(t) => s.serialize_str(t),
        }
    }
}

/// Whether a member is in the record (serialized) or absent (left out).
trait Present {
    fn present(&self) -> bool;
}

impl<T> Present for Option<T> {
    fn present(&self) -> bool {
        self.is_some()
    }
}

/// How a member's value is read from its object: with its own `Deserialize`, except that a
/// scalar member keeps a `null` (`Some(Scalar::Null)`: present, written back as `null`)
/// apart from an absent one (`None`).
trait ReadMember<'de>: Sized {
    fn read_member<A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error>;
}

impl<'de> ReadMember<'de> for Option<Scalar<'de>> {
    fn read_member<A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        map.next_value::<Scalar<'de>>().map(Some)
    }
}

/// Members read with their own `Deserialize`.
macro_rules! read_by_deserialize {
    ($($t:ty),+) => {$(
        impl<'de> ReadMember<'de> for $t {
            fn read_member<A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
                map.next_value()
            }
        }
    )+};
}

/// The trimmed, non-empty string of an optional member.
pub fn text<'s>(s: &'s Option<Scalar<'_>>) -> Option<&'s str> {
    s.as_ref()
        .and_then(Scalar::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// A boolean member (`"true"`/`"false"` strings accepted, as some exports write them).
pub fn flag(s: &Option<Scalar<'_>>) -> Option<bool> {
    match s {
        Some(Scalar::Bool(b)) => Some(*b),
        Some(Scalar::Str(t)) if t.trim().eq_ignore_ascii_case("true") => Some(true),
        Some(Scalar::Str(t)) if t.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A whole-number member (digit strings accepted).
pub fn integer(s: &Option<Scalar<'_>>) -> Option<i64> {
    match s {
        Some(Scalar::Int(n)) => Some(*n),
        Some(Scalar::Str(t)) => t.trim().parse().ok(),
        _ => None,
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(Scalar::Number(v as f64), Scalar::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an object"))
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// An object read member by member (never failing on a member's type).
pub trait Object<'de>: Sized + Default {
    /// Reads the members of the object.
    fn read<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// A member that should hold an object.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Member<T> {
    /// Not in the record.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// The object.
    Value(T),
    /// Something else (its kind).
    Wrong(&'static str),
}

impl<T> Member<T> {
    /// The object, when there is one.
    pub fn get(&self) -> Option<&T> {
        match self {
            Member::Value(t) => Some(t),
            _ => None,
        }
    }
}

impl<T> Present for Member<T> {
    fn present(&self) -> bool {
        !matches!(self, Member::Absent)
    }
}

impl<T: Serialize> Serialize for Member<T> {
    /// The object; `null` for anything else (an absent member is left out of its record).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Member::Value(t) => t.serialize(s),
            _ => s.serialize_unit(),
        }
    }
}

struct MemberVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Object<'de>> Visitor<'de> for MemberVisitor<T> {
    type Value = Member<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::read(map).map(Member::Value)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Member::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Member::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Member::Wrong("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Member::Wrong("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Member::Wrong("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Member::Wrong("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Member::Wrong("a string"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Member::Wrong("an array"))
    }
}

impl<'de, T: Object<'de>> Deserialize<'de> for Member<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MemberVisitor(std::marker::PhantomData))
    }
}

/// A member that should hold an array of objects.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Items<T> {
    /// Not in the record.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// The elements, each read leniently.
    Value(Vec<Member<T>>),
    /// Something else (its kind).
    Wrong(&'static str),
}

impl<T> Items<T> {
    /// The objects of the array (elements of another type are left out).
    pub fn objects(&self) -> impl Iterator<Item = &T> {
        let list: &[Member<T>] = match self {
            Items::Value(v) => v,
            _ => &[],
        };
        list.iter().filter_map(Member::get)
    }
}

impl<T> Present for Items<T> {
    fn present(&self) -> bool {
        !matches!(self, Items::Absent)
    }
}

impl<T: Serialize> Serialize for Items<T> {
    /// The array (elements that were not objects as `null`); `null` for anything else.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Items::Value(v) => v.serialize(s),
            _ => s.serialize_unit(),
        }
    }
}

struct ItemsVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Object<'de>> Visitor<'de> for ItemsVisitor<T> {
    type Value = Items<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(m) = seq.next_element::<Member<T>>()? {
            out.push(m);
        }
        Ok(Items::Value(out))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Items::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Items::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Items::Wrong("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Items::Wrong("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Items::Wrong("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Items::Wrong("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Items::Wrong("a string"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Items::Wrong("an object"))
    }
}

impl<'de, T: Object<'de>> Deserialize<'de> for Items<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemsVisitor(std::marker::PhantomData))
    }
}

/// A member that should hold an array of scalars (`enforcedGrantControls`,
/// `riskEventTypes_v2`, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum List<'a> {
    /// Not in the record.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// The elements (objects and arrays among them as [`Scalar::Other`]).
    Value(Vec<Scalar<'a>>),
    /// Something else (its kind).
    Wrong(&'static str),
}

impl<'a> List<'a> {
    /// A list of static names (what the server writes).
    pub fn names(names: impl IntoIterator<Item = &'static str>) -> List<'a> {
        List::Value(names.into_iter().map(Scalar::from).collect())
    }

    /// The strings of the list (other elements left out).
    pub fn strings(&self) -> impl Iterator<Item = &str> {
        let list: &[Scalar<'a>] = match self {
            List::Value(v) => v,
            _ => &[],
        };
        list.iter().filter_map(Scalar::as_str)
    }
}

impl Present for List<'_> {
    fn present(&self) -> bool {
        !matches!(self, List::Absent)
    }
}

impl Serialize for List<'_> {
    /// The array; `null` for anything else.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            List::Value(v) => v.serialize(s),
            _ => s.serialize_unit(),
        }
    }
}

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = List<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(m) = seq.next_element::<Scalar<'de>>()? {
            out.push(m);
        }
        Ok(List::Value(out))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(List::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(List::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(List::Wrong("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(List::Wrong("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(List::Wrong("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(List::Wrong("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(List::Wrong("a string"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(List::Wrong("an object"))
    }
}

impl<'de> Deserialize<'de> for List<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor)
    }
}

/// Declares the member names of an object, matched without regard to ASCII case, its
/// [`Object`] implementation (each named member is read with its field's `Deserialize`,
/// every other member is skipped) and its `Serialize` implementation (the members in
/// declaration order under their Graph names, absent ones left out).
macro_rules! object {
    (
        $(#[$meta:meta])*
        pub struct $name:ident<$lt:lifetime> / $keys:ident {
            $($(#[$fmeta:meta])* pub $field:ident: $ty:ty = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name<$lt> {
            $($(#[$fmeta])* pub $field: $ty,)+
        }

        #[allow(non_camel_case_types, reason = "one variant per member, named like the field")]
        enum $keys { $($field,)+ Other }

        impl<'de> Deserialize<'de> for $keys {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $keys;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a member name")
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$keys, E> {
                        $(if v.eq_ignore_ascii_case($text) { return Ok($keys::$field); })+
                        Ok($keys::Other)
                    }
                }
                d.deserialize_identifier(V)
            }
        }

        impl<'de> Object<'de> for $name<'de> {
            fn read<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
                let mut out = $name::default();
                while let Some(key) = map.next_key::<$keys>()? {
                    match key {
                        $($keys::$field => out.$field = ReadMember::read_member(&mut map)?,)+
                        $keys::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
        }

        impl Serialize for $name<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let len = 0 $(+ usize::from(self.$field.present()))+;
                let mut out = s.serialize_struct(stringify!($name), len)?;
                $(
                    if self.$field.present() {
                        out.serialize_field($text, &self.$field)?;
                    } else {
                        out.skip_field($text)?;
                    }
                )+
                out.end()
            }
        }
    };
}

object! {
    /// `status`.
    pub struct Status<'a> / StatusKey {
        /// `errorCode`: 0, or the AADSTS code ([`crate::signin_log::status_code`]).
        pub error_code: Option<Scalar<'a>> = "errorCode",
        /// `failureReason` ([`crate::signin_log::failure_reason`]).
        pub failure_reason: Option<Scalar<'a>> = "failureReason",
        /// `additionalDetails` (`AADSTS53003`).
        pub additional_details: Option<Scalar<'a>> = "additionalDetails",
    }
}

object! {
    /// `deviceDetail`.
    pub struct DeviceDetail<'a> / DeviceDetailKey {
        /// `deviceId` (empty for an unregistered device).
        pub device_id: Option<Scalar<'a>> = "deviceId",
        /// `displayName`.
        pub display_name: Option<Scalar<'a>> = "displayName",
        /// `operatingSystem` as Entra detected it (`Windows 10`, `Ios 17.1`, ...).
        pub operating_system: Option<Scalar<'a>> = "operatingSystem",
        /// `browser`.
        pub browser: Option<Scalar<'a>> = "browser",
        /// `isCompliant`.
        pub is_compliant: Option<Scalar<'a>> = "isCompliant",
        /// `isManaged`.
        pub is_managed: Option<Scalar<'a>> = "isManaged",
        /// `trustType`.
        pub trust_type: Option<Scalar<'a>> = "trustType",
        /// gardien: the device identifier the server derived (certificate, header), when any.
        pub gardien_identifier: Option<Scalar<'a>> = "gardienIdentifier",
    }
}

object! {
    /// `location.geoCoordinates`.
    pub struct Coordinates<'a> / CoordinatesKey {
        /// `latitude`.
        pub latitude: Option<Scalar<'a>> = "latitude",
        /// `longitude`.
        pub longitude: Option<Scalar<'a>> = "longitude",
        /// `altitude`.
        pub altitude: Option<Scalar<'a>> = "altitude",
    }
}

object! {
    /// `location`.
    pub struct Location<'a> / LocationKey {
        /// `city`.
        pub city: Option<Scalar<'a>> = "city",
        /// `state`.
        pub state: Option<Scalar<'a>> = "state",
        /// `countryOrRegion`.
        pub country_or_region: Option<Scalar<'a>> = "countryOrRegion",
        /// `geoCoordinates`.
        pub geo_coordinates: Member<Coordinates<'a>> = "geoCoordinates",
    }
}

object! {
    /// One `authenticationDetails` element.
    pub struct AuthDetail<'a> / AuthDetailKey {
        /// `authenticationMethod` (display name: `Password`, `Mobile app notification`, ...).
        pub method: Option<Scalar<'a>> = "authenticationMethod",
        /// `succeeded`.
        pub succeeded: Option<Scalar<'a>> = "succeeded",
    }
}

object! {
    /// `tokenProtectionStatusDetails` (beta).
    pub struct TokenProtection<'a> / TokenProtectionKey {
        /// `signInSessionStatus` (`none`, `bound`, `unbound`).
        pub sign_in_session_status: Option<Scalar<'a>> = "signInSessionStatus",
    }
}

object! {
    /// `agent` (beta `microsoft.graph.agentic.agentSignIn`).
    pub struct Agent<'a> / AgentKey {
        /// `agentType` (`notAgentic`, `agenticApp`, `agenticAppInstance`,
        /// `agentIdentityBlueprintPrincipal`, `agentIDuser`).
        pub agent_type: Option<Scalar<'a>> = "agentType",
    }
}

object! {
    /// `mfaDetail`.
    pub struct MfaDetail<'a> / MfaDetailKey {
        /// `authMethod`.
        pub auth_method: Option<Scalar<'a>> = "authMethod",
    }
}

object! {
    /// One `appliedConditionalAccessPolicies` element, as read.
    pub struct LoggedPolicy<'a> / LoggedPolicyKey {
        /// `id`.
        pub id: Option<Scalar<'a>> = "id",
        /// `displayName`.
        pub display_name: Option<Scalar<'a>> = "displayName",
        /// `result`.
        pub result: Option<Scalar<'a>> = "result",
        /// `enforcedGrantControls`.
        pub enforced_grant_controls: List<'a> = "enforcedGrantControls",
        /// `enforcedSessionControls`.
        pub enforced_session_controls: List<'a> = "enforcedSessionControls",
        /// `conditionsSatisfied` (flags: `application,users`).
        pub conditions_satisfied: Option<Scalar<'a>> = "conditionsSatisfied",
        /// `conditionsNotSatisfied`.
        pub conditions_not_satisfied: Option<Scalar<'a>> = "conditionsNotSatisfied",
    }
}

/// `appliedConditionalAccessPolicies`: as read from a log, or, in a record being written,
/// rendered from the evaluation ([`AppliedPoliciesJson`]: the Graph shape of
/// [`crate::report::AppliedPolicy`], what `evaluate --json` prints under the same name) or
/// that rendering kept from an earlier evaluation with the same outcomes.
#[derive(Debug, Clone)]
pub enum Policies<'a> {
    /// Read from a log (leniently).
    Logged(Items<LoggedPolicy<'a>>),
    /// Written from an evaluation.
    Evaluation(AppliedPoliciesJson<'a>),
    /// Written: the text an earlier evaluation with the same outcomes rendered.
    Text(&'a RawValue),
}

impl PartialEq for Policies<'_> {
    /// Read lists compare by content, written texts by text; an evaluation equals nothing.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Policies::Logged(a), Policies::Logged(b)) => a == b,
            (Policies::Text(a), Policies::Text(b)) => a.get() == b.get(),
            _ => false,
        }
    }
}

impl Default for Policies<'_> {
    fn default() -> Self {
        Policies::Logged(Items::Absent)
    }
}

/// One policy of [`Policies`], whichever way it came: trimmed, non-empty strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyEntry<'s> {
    /// `id`.
    pub id: Option<&'s str>,
    /// `displayName`.
    pub display_name: Option<&'s str>,
    /// `result` (`success`, `failure`, `notApplied`, ...).
    pub result: Option<&'s str>,
}

impl Policies<'_> {
    /// Whether the member is an array (absent, `null` or another type: not).
    pub fn is_list(&self) -> bool {
        !matches!(
            self,
            Policies::Logged(Items::Absent | Items::Null | Items::Wrong(_))
        )
    }

    /// The policy objects of a list read from a log (elements of another type are left
    /// out). A record being written is rendered, not read: it gives none.
    pub fn entries(&self) -> impl Iterator<Item = PolicyEntry<'_>> {
        let logged = match self {
            Policies::Logged(items) => Some(items),
            Policies::Evaluation(_) | Policies::Text(_) => None,
        };
        logged.into_iter().flat_map(|items| {
            items.objects().map(|p| PolicyEntry {
                id: text(&p.id),
                display_name: text(&p.display_name),
                result: text(&p.result),
            })
        })
    }
}

impl Present for Policies<'_> {
    fn present(&self) -> bool {
        !matches!(self, Policies::Logged(Items::Absent))
    }
}

impl Serialize for Policies<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Policies::Logged(items) => items.serialize(s),
            Policies::Evaluation(records) => records.serialize(s),
            Policies::Text(text) => text.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Policies<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Items::deserialize(d).map(Policies::Logged)
    }
}

object! {
    /// One `conditionalAccessAudiences` element when it is an object (beta).
    pub struct Audience<'a> / AudienceKey {
        /// `applicationId`.
        pub application_id: Option<Scalar<'a>> = "applicationId",
    }
}

object! {
    /// `gardien.denial.device`: the device line of the denial page.
    pub struct DenialDevice<'a> / DenialDeviceKey {
        /// `registered`: known to the directory.
        pub registered: Option<Scalar<'a>> = "registered",
        /// `compliant` (`null` when unknown).
        pub compliant: Option<Scalar<'a>> = "compliant",
        /// `trustType`: `AzureAD`, `ServerAD`, `Workplace` or `null`.
        pub trust_type: Option<Scalar<'a>> = "trustType",
        /// `platform`: Graph `devicePlatform`.
        pub platform: Option<Scalar<'a>> = "platform",
        /// `osVersion`, when known.
        pub os_version: Option<Scalar<'a>> = "osVersion",
        /// `clientApp`: Graph `clientAppType`.
        pub client_app: Option<Scalar<'a>> = "clientApp",
    }
}

object! {
    /// `gardien.denial`: what another replica needs to show a deny's or challenge's page.
    pub struct Denial<'a> / DenialKey {
        /// `keySha256`: hex SHA-256 of the page key's secret (the key itself is never logged).
        pub key_sha256: Option<Scalar<'a>> = "keySha256",
        /// `device`: the page's device line.
        pub device: Member<DenialDevice<'a>> = "device",
    }
}

/// `gardien.request`: the exact evaluate request, as read from a log (a JSON value) or, in
/// a record being written, the sign-in itself (rendered as [`SignIn::to_request_json`]
/// renders it, without the caller building the value first).
#[derive(Debug, Clone, PartialEq)]
pub enum RequestMember<'a> {
    /// Read from a log.
    Read(Value),
    /// Written from a decided sign-in.
    Written(&'a SignIn),
}

impl RequestMember<'_> {
    /// The request as read; `None` for a record being written.
    pub fn value(&self) -> Option<&Value> {
        match self {
            RequestMember::Read(v) => Some(v),
            RequestMember::Written(_) => None,
        }
    }
}

impl Serialize for RequestMember<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestMember::Read(v) => v.serialize(s),
            RequestMember::Written(signin) => crate::signin::RequestJson(signin).serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for RequestMember<'_> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(RequestMember::Read)
    }
}

object! {
    /// gardien's own member.
    pub struct GardienMember<'a> / GardienKey {
        /// `decision`: `allow`, `challenge` or `deny`.
        pub decision: Option<Scalar<'a>> = "decision",
        /// `requiredControls`: the pending controls of a challenge (`mfa`, ...).
        pub required_controls: List<'a> = "requiredControls",
        /// `policyVersion`: the version of the policy set that decided.
        pub policy_version: Option<Scalar<'a>> = "policyVersion",
        /// `denial`: for a deny or challenge, the page's key hash and device line.
        pub denial: Member<Denial<'a>> = "denial",
        /// `request`: the exact evaluate request that was decided.
        pub request: Option<RequestMember<'a>> = "request",
        /// `evaluatedAt`: the instant it was decided as of, when not `createdDateTime`
        /// (RFC 3339).
        pub evaluated_at: Option<Scalar<'a>> = "evaluatedAt",
    }
}

/// `conditionalAccessAudiences`: application ids as strings or `{applicationId}` objects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Audiences<'a>(pub Vec<Scalar<'a>>);

struct AudiencesVisitor;

impl<'de> Visitor<'de> for AudiencesVisitor {
    type Value = Audiences<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element::<AudienceItem<'de>>()? {
            out.push(item.0);
        }
        Ok(Audiences(out))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Audiences::default())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Audiences::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Audiences::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Audiences::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Audiences::default())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Audiences::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Audiences::default())
    }
}

impl<'de> Deserialize<'de> for Audiences<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AudiencesVisitor)
    }
}

/// One audience: a string, or an object's `applicationId`.
struct AudienceItem<'a>(Scalar<'a>);

struct AudienceItemVisitor;

impl<'de> Visitor<'de> for AudienceItemVisitor {
    type Value = AudienceItem<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an application id")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let a = Audience::read(map)?;
        Ok(AudienceItem(a.application_id.unwrap_or(Scalar::Null)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ScalarVisitor.visit_seq(seq).map(AudienceItem)
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(AudienceItem(Scalar::Str(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(AudienceItem(Scalar::Str(Cow::Owned(v.to_owned()))))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(AudienceItem(Scalar::Null))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(AudienceItem(Scalar::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(AudienceItem(Scalar::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        ScalarVisitor.visit_u64(v).map(AudienceItem)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(AudienceItem(Scalar::Number(v)))
    }
}

impl<'de> Deserialize<'de> for AudienceItem<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AudienceItemVisitor)
    }
}

impl Serialize for Audiences<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for a in &self.0 {
            seq.serialize_element(a)?;
        }
        seq.end()
    }
}

read_by_deserialize!(
    Option<RequestMember<'de>>,
    Option<Audiences<'de>>,
    List<'de>,
    Policies<'de>,
    Member<Status<'de>>,
    Member<DeviceDetail<'de>>,
    Member<Coordinates<'de>>,
    Member<Location<'de>>,
    Member<MfaDetail<'de>>,
    Member<TokenProtection<'de>>,
    Member<Agent<'de>>,
    Member<Denial<'de>>,
    Member<DenialDevice<'de>>,
    Member<GardienMember<'de>>,
    Items<AuthDetail<'de>>
);

object! {
    /// A Graph `signIn` record (the v1.0 and beta members gardien writes or replay reads),
    /// plus gardien's member. Members are declared in the order gardien writes them.
    pub struct Record<'a> / RecordKey {
        /// `id` (gardien: the correlation id).
        pub id: Option<Scalar<'a>> = "id",
        /// `createdDateTime`.
        pub created_date_time: Option<Scalar<'a>> = "createdDateTime",
        /// `userId`.
        pub user_id: Option<Scalar<'a>> = "userId",
        /// `userPrincipalName`.
        pub user_principal_name: Option<Scalar<'a>> = "userPrincipalName",
        /// `userDisplayName`.
        pub user_display_name: Option<Scalar<'a>> = "userDisplayName",
        /// `userType` (beta: `member`, `guest`).
        pub user_type: Option<Scalar<'a>> = "userType",
        /// `crossTenantAccessType` (beta).
        pub cross_tenant_access_type: Option<Scalar<'a>> = "crossTenantAccessType",
        /// `homeTenantId`.
        pub home_tenant_id: Option<Scalar<'a>> = "homeTenantId",
        /// `resourceTenantId`.
        pub resource_tenant_id: Option<Scalar<'a>> = "resourceTenantId",
        /// `servicePrincipalId` (workload identity sign-ins).
        pub service_principal_id: Option<Scalar<'a>> = "servicePrincipalId",
        /// `appId` (the client application).
        pub app_id: Option<Scalar<'a>> = "appId",
        /// `appDisplayName`.
        pub app_display_name: Option<Scalar<'a>> = "appDisplayName",
        /// `resourceId` (the resource the token is for).
        pub resource_id: Option<Scalar<'a>> = "resourceId",
        /// `conditionalAccessAudiences` (beta: every resource CA evaluated).
        pub audiences: Option<Audiences<'a>> = "conditionalAccessAudiences",
        /// `ipAddress`.
        pub ip_address: Option<Scalar<'a>> = "ipAddress",
        /// `ipAddressFromResourceProvider` (beta: the address the resource saw, continuous
        /// access evaluation).
        pub ip_address_from_resource_provider: Option<Scalar<'a>> = "ipAddressFromResourceProvider",
        /// `tokenProtectionStatusDetails` (beta).
        pub token_protection: Member<TokenProtection<'a>> = "tokenProtectionStatusDetails",
        /// `agent` (beta).
        pub agent: Member<Agent<'a>> = "agent",
        /// `clientAppUsed`.
        pub client_app_used: Option<Scalar<'a>> = "clientAppUsed",
        /// `userAgent`.
        pub user_agent: Option<Scalar<'a>> = "userAgent",
        /// `correlationId`.
        pub correlation_id: Option<Scalar<'a>> = "correlationId",
        /// `isInteractive`.
        pub is_interactive: Option<Scalar<'a>> = "isInteractive",
        /// `status`.
        pub status: Member<Status<'a>> = "status",
        /// `deviceDetail`.
        pub device_detail: Member<DeviceDetail<'a>> = "deviceDetail",
        /// `location`.
        pub location: Member<Location<'a>> = "location",
        /// `riskLevelDuringSignIn`.
        pub risk_level_during_sign_in: Option<Scalar<'a>> = "riskLevelDuringSignIn",
        /// `riskEventTypes_v2`.
        pub risk_event_types_v2: List<'a> = "riskEventTypes_v2",
        /// `conditionalAccessStatus`.
        pub conditional_access_status: Option<Scalar<'a>> = "conditionalAccessStatus",
        /// `authenticationRequirement` (beta).
        pub authentication_requirement: Option<Scalar<'a>> = "authenticationRequirement",
        /// `authenticationDetails` (beta).
        pub authentication_details: Items<AuthDetail<'a>> = "authenticationDetails",
        /// `mfaDetail`.
        pub mfa_detail: Member<MfaDetail<'a>> = "mfaDetail",
        /// `authenticationProtocol` (beta: `deviceCode`, `ropc`, ...).
        pub authentication_protocol: Option<Scalar<'a>> = "authenticationProtocol",
        /// `originalTransferMethod` (beta).
        pub original_transfer_method: Option<Scalar<'a>> = "originalTransferMethod",
        /// `appliedConditionalAccessPolicies`.
        pub applied_policies: Policies<'a> = "appliedConditionalAccessPolicies",
        /// gardien's member (`decision`, `request`, ...).
        pub gardien: Member<GardienMember<'a>> = "gardien",
    }
}

/// One element of a log: a record, or the kind of a non-object element.
#[derive(Debug, Clone, PartialEq)]
pub enum Element<'a> {
    /// A JSON object.
    Record(Box<Record<'a>>),
    /// Anything else (its kind: `an array`, `a string`, ...).
    NotAnObject(&'static str),
}

struct ElementVisitor;

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = Element<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sign-in record")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Record::read(map).map(|r| Element::Record(Box::new(r)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ScalarVisitor
            .visit_seq(seq)
            .map(|s| Element::NotAnObject(s.kind()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Element::NotAnObject("null"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Element::NotAnObject("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Element::NotAnObject("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Element::NotAnObject("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Element::NotAnObject("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Element::NotAnObject("a string"))
    }
}

impl<'de> Deserialize<'de> for Element<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ElementVisitor)
    }
}

#[cfg(test)]
#[allow(clippy::panic, reason = "test failures report through panics")]
mod tests {
    use super::*;

    fn record(text: &str) -> Record<'_> {
        match serde_json::from_str::<Element<'_>>(text) {
            Ok(Element::Record(r)) => *r,
            other => panic!("not a record: {other:?}"),
        }
    }

    #[test]
    fn members_of_the_wrong_type_do_not_fail_the_record() {
        let r = record(
            r#"{"userId": 42, "status": "oops", "deviceDetail": [1, {"a": 2}],
                "appliedConditionalAccessPolicies": {"id": "x"}, "ipAddress": null,
                "location": {"countryOrRegion": ["FR"]}}"#,
        );
        assert_eq!(r.user_id, Some(Scalar::Int(42)));
        assert_eq!(r.status, Member::Wrong("a string"));
        assert_eq!(r.device_detail, Member::Wrong("an array"));
        assert_eq!(
            r.applied_policies,
            Policies::Logged(Items::Wrong("an object"))
        );
        assert!(!r.applied_policies.is_list());
        assert_eq!(
            r.ip_address,
            Some(Scalar::Null),
            "null is kept (written back)"
        );
        assert_eq!(text(&r.ip_address), None, "and reads as no value");
        assert_eq!(
            r.location.get().and_then(|l| l.country_or_region.clone()),
            Some(Scalar::Other("an array"))
        );
    }

    #[test]
    fn names_match_without_case_and_strings_are_borrowed() {
        let r =
            record(r#"{"UserId": "u1", "Status": {"ErrorCode": 53003}, "x": {"userId": "no"}}"#);
        assert!(matches!(r.user_id, Some(Scalar::Str(Cow::Borrowed("u1")))));
        assert_eq!(
            r.status.get().and_then(|s| integer(&s.error_code)),
            Some(53003)
        );
    }

    #[test]
    fn audiences_accept_strings_and_objects() {
        let r = record(
            r#"{"conditionalAccessAudiences": ["a", {"applicationId": "b", "audienceReasons": "none"}, 3]}"#,
        );
        let list = r.audiences.map(|a| a.0).unwrap_or_default();
        let texts: Vec<_> = list.iter().map(Scalar::as_str).collect();
        assert_eq!(texts, vec![Some("a"), Some("b"), None]);
    }

    #[test]
    fn non_objects_are_elements_too() {
        for (text, kind) in [("[1]", "an array"), ("\"x\"", "a string"), ("null", "null")] {
            let e = serde_json::from_str::<Element<'_>>(text).ok();
            assert_eq!(e, Some(Element::NotAnObject(kind)), "{text}");
        }
    }

    #[test]
    fn a_read_record_renders_the_members_it_read() {
        let text = r#"{"id":"c1","userId":"u1","userPrincipalName":null,"unknownMember":{"a":1},"ipAddress":"203.0.113.9","status":{"errorCode":53003,"failureReason":null},"location":{"countryOrRegion":"FR","geoCoordinates":{"latitude":48.5,"longitude":2.25,"altitude":null}},"riskEventTypes_v2":["unfamiliarFeatures"],"appliedConditionalAccessPolicies":[{"id":"p1","result":"failure","enforcedGrantControls":["Block"]},7],"gardien":{"decision":"deny","policyVersion":3}}"#;
        let r = record(text);
        let written = serde_json::to_value(&r).ok();
        let mut expected: Option<Value> = serde_json::from_str(text).ok();
        if let Some(Value::Object(o)) = &mut expected {
            o.remove("unknownMember");
            o["appliedConditionalAccessPolicies"][1] = Value::Null;
        }
        assert_eq!(written, expected);
        assert_eq!(
            r.risk_event_types_v2.strings().collect::<Vec<_>>(),
            ["unfamiliarFeatures"]
        );
    }
}

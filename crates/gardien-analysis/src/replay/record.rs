//! A `signIn` record as read from a log: only the members replay uses, each read leniently.
//!
//! A member of an unexpected JSON type is kept as [`Scalar::Other`] (or
//! [`Member::Wrong`]) and reported when the sign-in is rebuilt, never as a parse error, so
//! one odd record cannot stop a stream of millions. Member names are matched without regard
//! to ASCII case: Graph writes camelCase, the PowerShell SDK's `ConvertTo-Json` PascalCase.
//! Strings are borrowed from the record's bytes (unless they hold escapes), so reading a
//! record allocates only for the few strings replay keeps.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
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

impl Scalar<'_> {
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

/// Declares the member names of an object, matched without regard to ASCII case, and its
/// [`Object`] implementation: each named member is read with its field's `Deserialize`,
/// every other member is skipped.
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
                        $($keys::$field => out.$field = map.next_value()?,)+
                        $keys::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
        }
    };
}

object! {
    /// `status`.
    pub struct Status<'a> / StatusKey {
        /// `errorCode`.
        pub error_code: Option<Scalar<'a>> = "errorCode",
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
        /// `isCompliant`.
        pub is_compliant: Option<Scalar<'a>> = "isCompliant",
        /// `isManaged`.
        pub is_managed: Option<Scalar<'a>> = "isManaged",
        /// `trustType`.
        pub trust_type: Option<Scalar<'a>> = "trustType",
    }
}

object! {
    /// `location`.
    pub struct Location<'a> / LocationKey {
        /// `countryOrRegion`.
        pub country_or_region: Option<Scalar<'a>> = "countryOrRegion",
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
    /// One `appliedConditionalAccessPolicies` element.
    pub struct LoggedPolicy<'a> / LoggedPolicyKey {
        /// `id`.
        pub id: Option<Scalar<'a>> = "id",
        /// `displayName`.
        pub display_name: Option<Scalar<'a>> = "displayName",
        /// `result`.
        pub result: Option<Scalar<'a>> = "result",
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
    /// gardien's own member.
    pub struct GardienMember<'a> / GardienKey {
        /// `decision`: `allow`, `challenge` or `deny`.
        pub decision: Option<Scalar<'a>> = "decision",
        /// The exact evaluate request that was decided.
        pub request: Option<Value> = "request",
        /// The instant it was decided as of, when not `createdDateTime` (RFC 3339).
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

object! {
    /// A Graph `signIn` record (v1.0 and beta members replay reads), plus gardien's member.
    pub struct Record<'a> / RecordKey {
        /// `id`.
        pub id: Option<Scalar<'a>> = "id",
        /// `createdDateTime`.
        pub created_date_time: Option<Scalar<'a>> = "createdDateTime",
        /// `correlationId`.
        pub correlation_id: Option<Scalar<'a>> = "correlationId",
        /// `userId`.
        pub user_id: Option<Scalar<'a>> = "userId",
        /// `userPrincipalName`.
        pub user_principal_name: Option<Scalar<'a>> = "userPrincipalName",
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
        pub applied_policies: Items<LoggedPolicy<'a>> = "appliedConditionalAccessPolicies",
        /// gardien's member (`decision`, `request`).
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
        assert_eq!(r.applied_policies, Items::Wrong("an object"));
        assert_eq!(r.ip_address, None, "null reads as absent");
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
}

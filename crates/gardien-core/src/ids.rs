//! Object ids, well-known ids and special tokens of Conditional Access.

use rustc_hash::FxHashMap;

use crate::limits::MAX_ID_LENGTH;

/// The "MFA trusted IPs" pseudo-location id (not a `namedLocation` object,
/// docs/reference/entra-semantics.md §1.8).
pub const MFA_TRUSTED_IPS_LOCATION: &str = "00000000-0000-0000-0000-000000000000";
/// The Global Secure Access "All Compliant Network locations" object id (beta).
pub const COMPLIANT_NETWORK_LOCATION: &str = "3d46dbda-8382-466a-856d-eb00cbc6b910";
/// Windows Azure Active Directory (Azure AD Graph): the audience of baseline-scope requests.
pub const AZURE_AD_GRAPH_APP: &str = "00000002-0000-0000-c000-000000000000";
/// Microsoft Graph: an umbrella resource that policies cannot target
/// (docs/reference/entra-semantics.md §1.3).
pub const MICROSOFT_GRAPH_APP: &str = "00000003-0000-0000-c000-000000000000";
/// `AAD Token Exchange Endpoint: Public`: the resource of the intermediate token exchanges of
/// agent identity blueprints and agent identities, which Conditional Access never evaluates
/// (Learn, "Conditional Access for agent identities", boundaries and limitations).
pub const AGENT_TOKEN_EXCHANGE_APP: &str = "fb60f99c-7a34-4190-8149-302f77469936";
/// Built-in authentication strength "Multifactor authentication".
pub const STRENGTH_MFA: &str = "00000000-0000-0000-0000-000000000002";
/// Built-in authentication strength "Passwordless MFA".
pub const STRENGTH_PASSWORDLESS: &str = "00000000-0000-0000-0000-000000000003";
/// Built-in authentication strength "Phishing-resistant MFA".
pub const STRENGTH_PHISHING_RESISTANT: &str = "00000000-0000-0000-0000-000000000004";

/// Application ids in the `Office365` suite that gardien knows by default (Microsoft does not
/// publish the whole list; a tenant can add more in `directory.json` `office365AppIds`).
pub const OFFICE365_APPS: &[&str] = &[
    "00000002-0000-0ff1-ce00-000000000000", // Office 365 Exchange Online
    "00000003-0000-0ff1-ce00-000000000000", // Office 365 SharePoint Online
    "00000004-0000-0ff1-ce00-000000000000", // Skype for Business Online
    "00000005-0000-0ff1-ce00-000000000000", // Yammer
    "00000006-0000-0ff1-ce00-000000000000", // Microsoft Office 365 Portal
    "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe", // Microsoft Teams Services
    "1fec8e78-bce4-4aaf-ab1b-5451cc387264", // Microsoft Teams
    "4765445b-32c6-49b0-83e6-1d93765276ca", // OfficeHome
    "c9a559d2-7aab-4f13-a6ed-e7e9c52aec87", // Microsoft Forms
    "09abbdfd-ed23-44ee-a2d9-a627aa1c90f3", // Microsoft Planner
    "cf53fce8-def6-4aeb-8d30-b158e7b1cf83", // Microsoft Stream
    "ab9b8c07-8f02-4f72-87fa-80105867a763", // OneDrive SyncEngine
    "d3590ed6-52b3-4102-aeff-aad2292ab01c", // Microsoft Office
];

/// Application ids behind `MicrosoftAdminPortals` that gardien knows by default (tenants can
/// add more in `directory.json` `adminPortalAppIds`).
pub const ADMIN_PORTAL_APPS: &[&str] = &[
    "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", // Azure portal
    "00000006-0000-0ff1-ce00-000000000000", // Microsoft 365 admin center (Office 365 Portal)
    "497effe9-df71-4043-a8bb-14cf78c4b63b", // Exchange admin center
    "5926fc8e-304e-4f59-8bed-58ca97cc39a4", // Intune admin center
    "80ccca67-54bd-44ab-8625-4b79c4dc7775", // Microsoft 365 Defender portal
    "a4fd7c30-fbd3-4a5c-ae6b-03e4ca8f1a39", // Microsoft Purview portal
    "12128f48-ec9e-42f0-b203-ea49fb6af367", // Teams admin center
];

/// Microsoft first-party applications every tenant has, `(appId, display name)`: a request
/// may name them by display name even when `directory.json` does not list them.
pub const WELL_KNOWN_APPS: &[(&str, &str)] = &[
    (
        "00000002-0000-0ff1-ce00-000000000000",
        "Office 365 Exchange Online",
    ),
    (
        "00000003-0000-0ff1-ce00-000000000000",
        "Office 365 SharePoint Online",
    ),
    (
        "00000004-0000-0ff1-ce00-000000000000",
        "Skype for Business Online",
    ),
    ("00000005-0000-0ff1-ce00-000000000000", "Yammer"),
    (
        "00000006-0000-0ff1-ce00-000000000000",
        "Microsoft Office 365 Portal",
    ),
    (
        "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",
        "Microsoft Teams Services",
    ),
    ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"),
    ("4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome"),
    ("d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office"),
    (
        "ab9b8c07-8f02-4f72-87fa-80105867a763",
        "OneDrive SyncEngine",
    ),
    ("c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Azure Portal"),
    (
        "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        "Windows Azure Service Management API",
    ),
    (
        "00000002-0000-0000-c000-000000000000",
        "Windows Azure Active Directory",
    ),
    ("00000003-0000-0000-c000-000000000000", "Microsoft Graph"),
    (
        "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9",
        "Device Registration Service",
    ),
    (
        "d4ebce55-015a-49b5-a083-c84d1797ae8c",
        "Microsoft Intune Enrollment",
    ),
    ("0000000a-0000-0000-c000-000000000000", "Microsoft Intune"),
    (
        "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        "Microsoft Azure CLI",
    ),
    (
        "0000000c-0000-0000-c000-000000000000",
        "Microsoft App Access Panel",
    ),
    ("de8bc8b5-d9f9-48b1-a8ad-b748da725064", "Graph Explorer"),
    (
        "1950a258-227b-4e31-a9cf-717495945fc2",
        "Microsoft Azure PowerShell",
    ),
    (
        "14d82eec-204b-4c2f-b7e8-296a70dab67e",
        "Microsoft Graph Command Line Tools",
    ),
    ("c9a559d2-7aab-4f13-a6ed-e7e9c52aec87", "Microsoft Forms"),
    ("09abbdfd-ed23-44ee-a2d9-a627aa1c90f3", "Microsoft Planner"),
    ("cf53fce8-def6-4aeb-8d30-b158e7b1cf83", "Microsoft Stream"),
    (
        "497effe9-df71-4043-a8bb-14cf78c4b63b",
        "Exchange admin center",
    ),
    (
        "5926fc8e-304e-4f59-8bed-58ca97cc39a4",
        "Intune admin center",
    ),
    (
        "80ccca67-54bd-44ab-8625-4b79c4dc7775",
        "Microsoft 365 Defender portal",
    ),
    (
        "a4fd7c30-fbd3-4a5c-ae6b-03e4ca8f1a39",
        "Microsoft Purview portal",
    ),
    ("12128f48-ec9e-42f0-b203-ea49fb6af367", "Teams admin center"),
];

/// Display names of common built-in directory role templates, for explanations.
pub const ROLE_NAMES: &[(&str, &str)] = &[
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
    ),
    (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Security Administrator",
    ),
    (
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
        "SharePoint Administrator",
    ),
    (
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        "Exchange Administrator",
    ),
    (
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        "Conditional Access Administrator",
    ),
    (
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Helpdesk Administrator",
    ),
    (
        "b0f54661-2d74-4c50-afa3-1ec803f12efe",
        "Billing Administrator",
    ),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    (
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
        "Authentication Administrator",
    ),
    (
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Application Administrator",
    ),
    (
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "Cloud Application Administrator",
    ),
    (
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Privileged Role Administrator",
    ),
    (
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        "Privileged Authentication Administrator",
    ),
    (
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
        "Intune Administrator",
    ),
    (
        "d29b2b05-8046-44ba-8758-1e26182fcf32",
        "Directory Synchronization Accounts",
    ),
];

/// The display name of a built-in role template, or the id itself.
pub fn role_name(id: &str) -> &str {
    ROLE_NAMES
        .iter()
        .find(|(r, _)| r.eq_ignore_ascii_case(id))
        .map(|(_, n)| *n)
        .unwrap_or(id)
}

/// Normalises an object id for comparison: ids compare case-insensitively
/// (docs/reference/entra-semantics.md §1.15).
pub fn normalize_id(id: &str) -> Box<str> {
    id.trim().to_ascii_lowercase().into_boxed_str()
}

/// Eight bytes of `b` from `AT`, the first in the lowest byte.
#[inline(always)]
fn load8<const AT: usize>(b: &[u8; 36]) -> u64 {
    u64::from_le_bytes([
        b[AT],
        b[AT + 1],
        b[AT + 2],
        b[AT + 3],
        b[AT + 4],
        b[AT + 5],
        b[AT + 6],
        b[AT + 7],
    ])
}

/// Four bytes of `b` from `AT`, the first in the lowest byte.
#[inline(always)]
fn load4<const AT: usize>(b: &[u8; 36]) -> u64 {
    u64::from(u32::from_le_bytes([b[AT], b[AT + 1], b[AT + 2], b[AT + 3]]))
}

/// The 32 characters of an id shaped like a GUID (36 bytes, `-` at 8, 13, 18 and 23, as
/// in `62e90394-69f5-4237-9190-012177145e10`), without the dashes, as four words; `None`
/// for any other id. Two such ids have the same words exactly when they are the same
/// text, so a table can key them by the words: compared in its own buckets, without
/// following a pointer to the text.
#[inline]
pub fn guid_words(id: &str) -> Option<[u64; 4]> {
    let b: &[u8; 36] = id.as_bytes().try_into().ok()?;
    if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    Some([
        load8::<0>(b),
        load4::<9>(b) | load4::<14>(b) << 32,
        load4::<19>(b) | load4::<24>(b) << 32,
        load8::<28>(b),
    ])
}

/// A table keyed by ids: GUID-shaped ids by their characters ([`guid_words`]), in the
/// table's own buckets, and any other id by its text. A lookup reads the id once and compares
/// integers, instead of hashing the text and following the stored key's pointer to compare
/// it (a cache miss per lookup on a large directory).
#[derive(Debug, Clone)]
pub struct IdTable<V> {
    guids: FxHashMap<[u64; 4], V>,
    others: FxHashMap<Box<str>, V>,
}

impl<V> Default for IdTable<V> {
    fn default() -> Self {
        IdTable {
            guids: FxHashMap::default(),
            others: FxHashMap::default(),
        }
    }
}

impl<V> IdTable<V> {
    /// The value of an id.
    #[inline]
    pub fn get(&self, id: &str) -> Option<&V> {
        match guid_words(id) {
            Some(v) => self.guids.get(&v),
            None => self.others.get(id),
        }
    }

    /// Whether the table has a value for `id`.
    pub fn contains_key(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Sets the value of an id; returns the value it replaces.
    pub fn insert(&mut self, id: &str, value: V) -> Option<V> {
        match guid_words(id) {
            Some(v) => self.guids.insert(v, value),
            None => self.others.insert(Box::from(id), value),
        }
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.guids.len() + self.others.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a string cannot be an object id, if it cannot.
///
/// gardien accepts any opaque id (tests and hand-written tenants use short ids), but refuses
/// what is clearly not one: template placeholders (`<AdminGroup>`, `xxxxxxxx-xxxx-…`) and
/// display names written where an id belongs (`Office 365`).
///
/// Ids longer than [`MAX_ID_LENGTH`] are refused without quoting them.
pub fn id_problem(id: &str) -> Option<String> {
    let trimmed = id.trim();
    if trimmed.is_empty() {
        return Some("empty id".to_owned());
    }
    let length = trimmed.chars().count();
    if length > MAX_ID_LENGTH {
        return Some(format!(
            "id is {length} characters long; the limit is {MAX_ID_LENGTH}"
        ));
    }
    if trimmed.contains(['<', '>', '{', '}']) {
        return Some(format!(
            "`{trimmed}` is a template placeholder, not an object id"
        ));
    }
    if looks_like_placeholder_guid(trimmed) {
        return Some(format!(
            "`{trimmed}` is a placeholder in GUID form, not an object id"
        ));
    }
    if trimmed.chars().any(char::is_whitespace) {
        return Some(format!(
            "`{trimmed}` looks like a display name, not an object id"
        ));
    }
    None
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`: the GUID shape with non-hex digits.
fn looks_like_placeholder_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let shape = groups.len() == 5 && groups.iter().map(|g| g.len()).eq([8usize, 4, 4, 4, 12]);
    shape && !s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_display_names_are_not_ids() {
        assert!(id_problem("<AdministratorGroup>").is_some());
        assert!(id_problem("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx").is_some());
        assert!(id_problem("Office 365").is_some());
        assert!(id_problem("Current administrator will be excluded").is_some());
        assert!(id_problem("").is_some());
        assert_eq!(id_problem("62e90394-69f5-4237-9190-012177145e10"), None);
        assert_eq!(id_problem("user-1"), None);
        assert_eq!(id_problem(&"a".repeat(MAX_ID_LENGTH)), None);
        assert_eq!(
            id_problem(&"a".repeat(MAX_ID_LENGTH + 1)),
            Some("id is 257 characters long; the limit is 256".to_owned())
        );
    }

    #[test]
    fn ids_compare_case_insensitively() {
        assert_eq!(normalize_id(" ABC-def "), normalize_id("abc-DEF"));
    }

    #[test]
    fn guid_words_are_read_from_guid_shaped_ids_only() {
        let id = "62e90394-69f5-4237-9190-012177145e10";
        assert!(guid_words(id).is_some());
        assert_ne!(guid_words(id), guid_words(&id.to_uppercase()));
        for not in [
            "62e90394-69f5-4237-9190-012177145e1",
            "62e90394-69f5-4237-9190-012177145e100",
            "62e9039469f5-4237-9190-012177145e10-",
            "62e90394-69f5-4237-9190_012177145e10",
            "user-1",
            "",
        ] {
            assert_eq!(guid_words(not), None, "{not}");
        }
        let mut table = IdTable::default();
        assert_eq!(table.insert(id, 1), None);
        assert_eq!(table.insert("user-1", 2), None);
        assert_eq!(table.insert(id, 3), Some(1));
        assert_eq!(
            (table.get(id), table.get("user-1"), table.len()),
            (Some(&3), Some(&2), 2)
        );
        assert_eq!(table.get(&id.to_uppercase()), None);
        assert!(!table.contains_key("62e90394-69f5-4237-9190-012177145e11"));
    }

    proptest::proptest! {
        /// Equal words exactly for equal text: a table keyed by the words answers like one
        /// keyed by the text.
        #[test]
        fn guid_words_name_one_text(
            v in proptest::prelude::any::<u128>(),
            at in 0usize..36,
            c in "[0-9a-gA-G_\\-\u{e9}]",
            w in proptest::prelude::any::<u128>(),
        ) {
            let text = |v: u128| {
                let h = format!("{v:032x}");
                format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
            };
            let mut s = text(v);
            if s.is_char_boundary(at) && s.is_char_boundary(at + 1) {
                s.replace_range(at..=at, &c);
            }
            for t in [text(v), text(w), text(v).to_uppercase()] {
                if let (Some(a), Some(b)) = (guid_words(&s), guid_words(&t)) {
                    proptest::prop_assert_eq!(a == b, s == t);
                }
            }
        }
    }
}

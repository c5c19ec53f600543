//! Object ids, well-known ids and special tokens of Conditional Access.

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
}

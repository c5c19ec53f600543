//! What Microsoft Graph defines: the members of `conditionalAccessPolicy` and every nested
//! type (v1.0 and beta, plus members live exports carry), of `namedLocation`,
//! `authenticationStrengthPolicy`, `crossTenantAccessPolicy`, of the `evaluate` request body
//! and of gardien's own `directory.json` and `session`.
//!
//! [`unknown_members`] walks a JSON value against a [`Type`] and reports every member the type
//! does not define, at every nesting level, with the nearest known name (edit distance). The
//! loaders turn these into warnings (exports) or errors (hand-written input). OData
//! annotations (`@odata.type`, `includeUsers@odata.type`) and advertised actions
//! (`#microsoft.graph.restore`) are always allowed.

use serde_json::Value;

use crate::json::escape_token;

/// What a member holds, as far as the member check is concerned.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A scalar, a list of scalars, or anything the check does not look into.
    Any,
    /// An object of this type (or null).
    Object(&'static Type),
    /// An array of objects of this type (or null).
    List(&'static Type),
}

/// A Graph (or gardien) object type: its name and its members.
#[derive(Debug)]
pub struct Type {
    /// Graph type name (`conditionalAccessUsers`).
    pub name: &'static str,
    /// Members and what they hold.
    pub members: &'static [(&'static str, Shape)],
}

impl Type {
    /// The shape of a member, when the type defines it.
    pub fn member(&self, name: &str) -> Option<Shape> {
        self.members
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, shape)| *shape)
    }
}

use Shape::{Any, List, Object};

/// `conditionalAccessFilter` (`applicationFilter`, `deviceFilter`, `servicePrincipalFilter`).
pub static FILTER: Type = Type {
    name: "conditionalAccessFilter",
    members: &[("mode", Any), ("rule", Any)],
};

/// `conditionalAccessExternalTenants` and its `all` / `enumerated` subtypes.
pub static EXTERNAL_TENANTS: Type = Type {
    name: "conditionalAccessExternalTenants",
    members: &[("membershipKind", Any), ("members", Any)],
};

/// `conditionalAccessGuestsOrExternalUsers`.
pub static GUESTS: Type = Type {
    name: "conditionalAccessGuestsOrExternalUsers",
    members: &[
        ("guestOrExternalUserTypes", Any),
        ("externalTenants", Object(&EXTERNAL_TENANTS)),
    ],
};

/// `conditionalAccessUsers`.
pub static USERS: Type = Type {
    name: "conditionalAccessUsers",
    members: &[
        ("includeUsers", Any),
        ("excludeUsers", Any),
        ("includeGroups", Any),
        ("excludeGroups", Any),
        ("includeRoles", Any),
        ("excludeRoles", Any),
        ("includeGuestsOrExternalUsers", Object(&GUESTS)),
        ("excludeGuestsOrExternalUsers", Object(&GUESTS)),
    ],
};

/// `conditionalAccessNetworkAccess` / `conditionalAccessGlobalSecureAccess` (beta).
pub static NETWORK_ACCESS: Type = Type {
    name: "conditionalAccessNetworkAccess",
    members: &[
        ("includeTrafficProfiles", Any),
        ("excludeTrafficProfiles", Any),
    ],
};

/// `conditionalAccessApplications`.
pub static APPLICATIONS: Type = Type {
    name: "conditionalAccessApplications",
    members: &[
        ("includeApplications", Any),
        ("excludeApplications", Any),
        ("includeUserActions", Any),
        ("includeAuthenticationContextClassReferences", Any),
        ("applicationFilter", Object(&FILTER)),
        // beta
        ("globalSecureAccess", Object(&NETWORK_ACCESS)),
        ("networkAccess", Object(&NETWORK_ACCESS)),
    ],
};

/// `conditionalAccessClientApplications` (workload identities).
pub static CLIENT_APPLICATIONS: Type = Type {
    name: "conditionalAccessClientApplications",
    members: &[
        ("includeServicePrincipals", Any),
        ("excludeServicePrincipals", Any),
        ("servicePrincipalFilter", Object(&FILTER)),
        // beta (agent identities)
        ("includeAgentIdServicePrincipals", Any),
        ("excludeAgentIdServicePrincipals", Any),
        ("agentIdServicePrincipalFilter", Object(&FILTER)),
    ],
};

/// `conditionalAccessPlatforms`.
pub static PLATFORMS: Type = Type {
    name: "conditionalAccessPlatforms",
    members: &[("includePlatforms", Any), ("excludePlatforms", Any)],
};

/// `conditionalAccessLocations`.
pub static LOCATIONS: Type = Type {
    name: "conditionalAccessLocations",
    members: &[("includeLocations", Any), ("excludeLocations", Any)],
};

/// `conditionalAccessDevices` (beta keeps the deprecated device-state members).
pub static DEVICES: Type = Type {
    name: "conditionalAccessDevices",
    members: &[
        ("deviceFilter", Object(&FILTER)),
        ("includeDevices", Any),
        ("excludeDevices", Any),
        ("includeDeviceStates", Any),
        ("excludeDeviceStates", Any),
    ],
};

/// `conditionalAccessDeviceStates` (beta, deprecated).
pub static DEVICE_STATES: Type = Type {
    name: "conditionalAccessDeviceStates",
    members: &[("includeStates", Any), ("excludeStates", Any)],
};

/// `conditionalAccessAuthenticationFlows`.
pub static AUTHENTICATION_FLOWS: Type = Type {
    name: "conditionalAccessAuthenticationFlows",
    members: &[("transferMethods", Any)],
};

/// `conditionalAccessAgents` (beta, agent identities as users).
pub static AGENTS: Type = Type {
    name: "conditionalAccessAgents",
    members: &[
        ("includeAgentUsers", Any),
        ("excludeAgentUsers", Any),
        ("agentFilter", Object(&FILTER)),
    ],
};

/// `conditionalAccessAgentContext` (beta).
pub static AGENT_CONTEXT: Type = Type {
    name: "conditionalAccessAgentContext",
    members: &[("includeAgentContexts", Any), ("excludeAgentContexts", Any)],
};

/// `conditionalAccessConditionSet`.
pub static CONDITIONS: Type = Type {
    name: "conditionalAccessConditionSet",
    members: &[
        ("users", Object(&USERS)),
        ("applications", Object(&APPLICATIONS)),
        ("clientApplications", Object(&CLIENT_APPLICATIONS)),
        ("clientAppTypes", Any),
        ("platforms", Object(&PLATFORMS)),
        ("locations", Object(&LOCATIONS)),
        ("devices", Object(&DEVICES)),
        ("signInRiskLevels", Any),
        ("userRiskLevels", Any),
        ("servicePrincipalRiskLevels", Any),
        ("insiderRiskLevels", Any),
        ("authenticationFlows", Object(&AUTHENTICATION_FLOWS)),
        // beta
        ("deviceStates", Object(&DEVICE_STATES)),
        ("agentIdRiskLevels", Any),
        ("agents", Object(&AGENTS)),
        ("agentContext", Object(&AGENT_CONTEXT)),
        // legacy members Graph still returns as null
        ("clients", Any),
        ("times", Any),
    ],
};

/// `authenticationStrengthPolicy`.
pub static AUTHENTICATION_STRENGTH: Type = Type {
    name: "authenticationStrengthPolicy",
    members: &[
        ("id", Any),
        ("displayName", Any),
        ("description", Any),
        ("policyType", Any),
        ("requirementsSatisfied", Any),
        ("allowedCombinations", Any),
        ("combinationConfigurations", Any),
        ("createdDateTime", Any),
        ("modifiedDateTime", Any),
    ],
};

/// `conditionalAccessGrantControls`.
pub static GRANT: Type = Type {
    name: "conditionalAccessGrantControls",
    members: &[
        ("operator", Any),
        ("builtInControls", Any),
        ("customAuthenticationFactors", Any),
        ("termsOfUse", Any),
        ("authenticationStrength", Object(&AUTHENTICATION_STRENGTH)),
    ],
};

/// `conditionalAccessSessionControl` subtypes: the union of their members.
pub static SESSION_CONTROL: Type = Type {
    name: "conditionalAccessSessionControl",
    members: &[
        ("isEnabled", Any),
        // cloudAppSecuritySessionControl
        ("cloudAppSecurityType", Any),
        // signInFrequencySessionControl
        ("type", Any),
        ("value", Any),
        ("authenticationType", Any),
        ("frequencyInterval", Any),
        // persistentBrowserSessionControl, continuousAccessEvaluationSessionControl
        ("mode", Any),
        // globalSecureAccessFilteringProfileSessionControl (beta)
        ("profileId", Any),
        // networkAccessSecurity (beta, responses)
        ("policyId", Any),
    ],
};

/// `conditionalAccessSessionControls`.
pub static SESSION: Type = Type {
    name: "conditionalAccessSessionControls",
    members: &[
        ("applicationEnforcedRestrictions", Object(&SESSION_CONTROL)),
        ("cloudAppSecurity", Object(&SESSION_CONTROL)),
        ("signInFrequency", Object(&SESSION_CONTROL)),
        ("persistentBrowser", Object(&SESSION_CONTROL)),
        ("disableResilienceDefaults", Any),
        ("secureSignInSession", Object(&SESSION_CONTROL)),
        // beta
        ("continuousAccessEvaluation", Object(&SESSION_CONTROL)),
        (
            "globalSecureAccessFilteringProfile",
            Object(&SESSION_CONTROL),
        ),
        ("networkAccessSecurity", Object(&SESSION_CONTROL)),
        ("blockSensitiveActions", Any),
    ],
};

/// `conditionalAccessPolicy`.
pub static POLICY: Type = Type {
    name: "conditionalAccessPolicy",
    members: &[
        ("id", Any),
        ("displayName", Any),
        ("description", Any),
        ("state", Any),
        ("conditions", Object(&CONDITIONS)),
        ("grantControls", Object(&GRANT)),
        ("sessionControls", Object(&SESSION)),
        ("createdDateTime", Any),
        ("modifiedDateTime", Any),
        ("deletedDateTime", Any),
        ("templateId", Any),
        // returned by Graph (What If, beta exports), not in the published schema
        ("partialEnablementStrategy", Any),
    ],
};

/// `ipRange` (`iPv4CidrRange`, `iPv6CidrRange`).
pub static IP_RANGE: Type = Type {
    name: "ipRange",
    members: &[("cidrAddress", Any)],
};

/// `namedLocation` and its subtypes (`ipNamedLocation`, `countryNamedLocation`, beta
/// `compliantNetworkNamedLocation`, `privateLinkNamedLocation`, `serviceTagNamedLocation`):
/// the union of their members.
pub static NAMED_LOCATION: Type = Type {
    name: "namedLocation",
    members: &[
        ("id", Any),
        ("displayName", Any),
        ("createdDateTime", Any),
        ("modifiedDateTime", Any),
        ("deletedDateTime", Any),
        ("ipRanges", List(&IP_RANGE)),
        ("isTrusted", Any),
        ("countriesAndRegions", Any),
        ("includeUnknownCountriesAndRegions", Any),
        ("countryLookupMethod", Any),
        ("compliantNetworkType", Any),
        ("privateLinkResourcePolicyIds", Any),
        ("serviceTags", Any),
    ],
};

/// `crossTenantAccessPolicyInboundTrust`.
pub static INBOUND_TRUST: Type = Type {
    name: "crossTenantAccessPolicyInboundTrust",
    members: &[
        ("isMfaAccepted", Any),
        ("isCompliantDeviceAccepted", Any),
        ("isHybridAzureADJoinedDeviceAccepted", Any),
    ],
};

/// A cross-tenant access configuration (`crossTenantAccessPolicyConfigurationDefault` or
/// `...Partner`): the union of their members.
pub static CROSS_TENANT_CONFIGURATION: Type = Type {
    name: "crossTenantAccessPolicyConfiguration",
    members: &[
        ("tenantId", Any),
        ("isServiceDefault", Any),
        ("isServiceProvider", Any),
        ("isInMultiTenantOrganization", Any),
        ("inboundTrust", Object(&INBOUND_TRUST)),
        ("b2bCollaborationInbound", Any),
        ("b2bCollaborationOutbound", Any),
        ("b2bDirectConnectInbound", Any),
        ("b2bDirectConnectOutbound", Any),
        ("automaticUserConsentSettings", Any),
        ("tenantRestrictions", Any),
        ("invitationRedemptionIdentityProviderConfiguration", Any),
        ("identitySynchronization", Any),
    ],
};

/// gardien's `crossTenantAccess.json`: Graph's `default` and `partners`, plus the
/// `crossTenantAccessPolicy` members a pull may keep.
pub static CROSS_TENANT_ACCESS: Type = Type {
    name: "crossTenantAccessPolicy",
    members: &[
        ("default", Object(&CROSS_TENANT_CONFIGURATION)),
        ("partners", List(&CROSS_TENANT_CONFIGURATION)),
        ("id", Any),
        ("displayName", Any),
        ("definition", Any),
        ("isOrganizationDefault", Any),
        ("allowedCloudEndpoints", Any),
        ("templates", Any),
    ],
};

/// A user of `directory.json`.
pub static DIRECTORY_USER: Type = Type {
    name: "directory user",
    members: &[
        ("id", Any),
        ("userPrincipalName", Any),
        ("displayName", Any),
        ("mail", Any),
        ("userType", Any),
        ("externalUserType", Any),
        ("homeTenantId", Any),
        ("accountEnabled", Any),
        ("memberOf", Any),
        ("roles", Any),
    ],
};

/// A group of `directory.json`.
pub static DIRECTORY_GROUP: Type = Type {
    name: "directory group",
    members: &[
        ("id", Any),
        ("displayName", Any),
        ("description", Any),
        ("mailNickname", Any),
        ("securityEnabled", Any),
        ("mailEnabled", Any),
        ("groupTypes", Any),
        ("isAssignableToRole", Any),
        ("memberOf", Any),
    ],
};

/// A service principal of `directory.json`.
pub static DIRECTORY_SERVICE_PRINCIPAL: Type = Type {
    name: "directory service principal",
    members: &[
        ("id", Any),
        ("appId", Any),
        ("displayName", Any),
        ("servicePrincipalType", Any),
        ("accountEnabled", Any),
        ("appOwnerOrganizationId", Any),
        ("customSecurityAttributes", Any),
    ],
};

/// gardien's `directory.json`.
pub static DIRECTORY: Type = Type {
    name: "directory",
    members: &[
        ("users", List(&DIRECTORY_USER)),
        ("groups", List(&DIRECTORY_GROUP)),
        ("servicePrincipals", List(&DIRECTORY_SERVICE_PRINCIPAL)),
        (
            "authenticationStrengthPolicies",
            List(&AUTHENTICATION_STRENGTH),
        ),
        ("mfaTrustedIps", Any),
        ("office365AppIds", Any),
        ("adminPortalAppIds", Any),
        ("baselineScopesMode", Any),
    ],
};

/// The single-file tenant `{"policies", "namedLocations", "directory", "crossTenantAccess"}`.
pub static COMBINED_TENANT: Type = Type {
    name: "tenant",
    members: &[
        ("policies", Any),
        ("namedLocations", Any),
        ("directory", Any),
        ("crossTenantAccess", Object(&CROSS_TENANT_ACCESS)),
    ],
};

/// `signInIdentity` (`userSignIn`, `servicePrincipalSignIn`, beta `agentSignIn`; the older
/// `userSubject`, `servicePrincipalSubject`).
pub static REQUEST_IDENTITY: Type = Type {
    name: "signInIdentity",
    members: &[
        ("userId", Any),
        ("externalTenantId", Any),
        ("externalUserType", Any),
        ("servicePrincipalId", Any),
        ("agentServicePrincipalId", Any),
    ],
};

/// `signInContext` (`applicationContext`, `userActionContext`, `authContext` and the older
/// `whatIf…` names).
pub static REQUEST_CONTEXT: Type = Type {
    name: "signInContext",
    members: &[
        ("includeApplications", Any),
        ("userAction", Any),
        ("authenticationContextValue", Any),
        ("authenticationContext", Any),
    ],
};

/// `authenticationFlow` of a request.
pub static REQUEST_FLOW: Type = Type {
    name: "authenticationFlow",
    members: &[("transferMethod", Any)],
};

/// `deviceInfo` of a request.
pub static REQUEST_DEVICE: Type = Type {
    name: "deviceInfo",
    members: &[
        ("deviceId", Any),
        ("displayName", Any),
        ("enrollmentProfileName", Any),
        ("extensionAttribute1", Any),
        ("extensionAttribute2", Any),
        ("extensionAttribute3", Any),
        ("extensionAttribute4", Any),
        ("extensionAttribute5", Any),
        ("extensionAttribute6", Any),
        ("extensionAttribute7", Any),
        ("extensionAttribute8", Any),
        ("extensionAttribute9", Any),
        ("extensionAttribute10", Any),
        ("extensionAttribute11", Any),
        ("extensionAttribute12", Any),
        ("extensionAttribute13", Any),
        ("extensionAttribute14", Any),
        ("extensionAttribute15", Any),
        ("isCompliant", Any),
        ("manufacturer", Any),
        ("mdmAppId", Any),
        ("model", Any),
        ("operatingSystem", Any),
        ("operatingSystemVersion", Any),
        ("ownership", Any),
        // the device-filter spelling of `ownership`, and Graph `device`'s nested attributes
        ("deviceOwnership", Any),
        ("extensionAttributes", Any),
        ("physicalIds", Any),
        ("profileType", Any),
        ("systemLabels", Any),
        ("trustType", Any),
    ],
};

/// `signInConditions` of a request.
pub static REQUEST_CONDITIONS: Type = Type {
    name: "signInConditions",
    members: &[
        ("authenticationFlow", Object(&REQUEST_FLOW)),
        ("clientAppType", Any),
        ("country", Any),
        ("deviceInfo", Object(&REQUEST_DEVICE)),
        ("devicePlatform", Any),
        ("insiderRiskLevel", Any),
        ("ipAddress", Any),
        ("servicePrincipalRiskLevel", Any),
        ("signInRiskLevel", Any),
        ("userRiskLevel", Any),
        ("agentIdRiskLevel", Any),
    ],
};

/// gardien's `session` member of a request.
pub static REQUEST_SESSION: Type = Type {
    name: "session",
    members: &[
        ("authenticationMethods", Any),
        ("homeTenantAuthenticationMethods", Any),
        ("acceptedTermsOfUse", Any),
        ("passwordChanged", Any),
        ("approvedClientApp", Any),
        ("appProtectionPolicy", Any),
        ("compliantNetwork", Any),
        ("anonymousNetwork", Any),
        ("refresh", Any),
        ("originalTransferMethod", Any),
        ("gpsCountry", Any),
        ("requestedScopes", Any),
        ("confidentialClient", Any),
        ("secondsSinceAuthentication", Any),
        ("secondsSinceMfa", Any),
    ],
};

/// The body of `POST /identity/conditionalAccess/evaluate` plus gardien's `session`.
pub static REQUEST: Type = Type {
    name: "evaluate request",
    members: &[
        ("signInIdentity", Object(&REQUEST_IDENTITY)),
        ("signInContext", Object(&REQUEST_CONTEXT)),
        ("signInConditions", Object(&REQUEST_CONDITIONS)),
        ("appliedPoliciesOnly", Any),
        ("conditionalAccessWhatIfSubject", Object(&REQUEST_IDENTITY)),
        ("conditionalAccessContext", Object(&REQUEST_CONTEXT)),
        (
            "conditionalAccessWhatIfConditions",
            Object(&REQUEST_CONDITIONS),
        ),
        ("session", Object(&REQUEST_SESSION)),
    ],
};

/// One member a type does not define.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMember {
    /// Pointer of the member (relative to the walked value).
    pub pointer: String,
    /// The member name as written.
    pub name: String,
    /// The type that does not define it.
    pub type_name: &'static str,
    /// The nearest known member, when one is close enough.
    pub suggestion: Option<&'static str>,
}

impl UnknownMember {
    /// The diagnostic reason: `unknown member `x` of conditionalAccessUsers`.
    pub fn reason(&self) -> String {
        format!("unknown member `{}` of {}", self.name, self.type_name)
    }

    /// The help line: the did-you-mean, or what to do.
    pub fn help(&self, hand_written: bool) -> String {
        match (self.suggestion, hand_written) {
            (Some(s), _) => format!("did you mean `{s}`?"),
            (None, true) => "remove it: gardien does not know this member".to_owned(),
            (None, false) => "Graph does not define it (v1.0 or beta); it is ignored".to_owned(),
        }
    }
}

/// Whether a member name is an OData annotation or action, always allowed.
pub fn is_annotation(name: &str) -> bool {
    // The byte test first: a substring search sets up a searcher for every member name, and
    // almost no name holds an `@`.
    name.starts_with('@')
        || name.starts_with('#')
        || (name.as_bytes().contains(&b'@') && name.contains("@odata."))
}

/// Every member of `value` (at every nesting level) that `ty` does not define, with pointers
/// relative to `value`. Allocates nothing while every member is known (it runs on every
/// object of every tenant file, 390k IP ranges included).
pub fn unknown_members(value: &Value, ty: &'static Type) -> Vec<UnknownMember> {
    let mut out = Vec::new();
    let mut path: Vec<Segment<'_>> = Vec::new();
    walk(value, ty, &mut path, &mut out);
    out
}

/// One step of the path being walked.
#[derive(Clone, Copy)]
enum Segment<'v> {
    Key(&'v str),
    Index(usize),
}

fn pointer(path: &[Segment<'_>]) -> String {
    let mut out = String::new();
    for segment in path {
        out.push('/');
        match segment {
            Segment::Key(k) => out.push_str(&escape_token(k)),
            Segment::Index(i) => out.push_str(&i.to_string()),
        }
    }
    out
}

fn walk<'v>(
    value: &'v Value,
    ty: &'static Type,
    path: &mut Vec<Segment<'v>>,
    out: &mut Vec<UnknownMember>,
) {
    let Value::Object(members) = value else {
        return;
    };
    for (name, child) in members {
        if is_annotation(name) {
            continue;
        }
        path.push(Segment::Key(name));
        match ty.member(name) {
            None => out.push(UnknownMember {
                pointer: pointer(path),
                name: name.clone(),
                type_name: ty.name,
                suggestion: suggest(name, ty.members.iter().map(|(n, _)| *n)),
            }),
            Some(Shape::Any) => {}
            Some(Shape::Object(inner)) => walk(child, inner, path, out),
            Some(Shape::List(inner)) => {
                if let Value::Array(items) = child {
                    for (i, item) in items.iter().enumerate() {
                        path.push(Segment::Index(i));
                        walk(item, inner, path, out);
                        path.pop();
                    }
                }
            }
        }
        path.pop();
    }
}

/// The candidate nearest to `name` (case-insensitive edit distance), when it is close enough
/// to be a typo: at most a third of the name's length, and at least 1.
///
/// When no candidate is that close, an abbreviation is recognised: a candidate that starts
/// like `name` and contains its letters in order (`authMethods` → `authenticationMethods`).
pub fn suggest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    let candidates: Vec<&'c str> = candidates.into_iter().collect();
    let close = candidates
        .iter()
        .map(|c| (distance(&lower, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    close.or_else(|| {
        if lower.chars().count() < 4 {
            return None;
        }
        candidates
            .iter()
            .filter(|c| {
                let c = c.to_lowercase();
                c.get(..2) == lower.get(..2) && is_subsequence(&lower, &c)
            })
            .min_by_key(|c| c.len())
            .copied()
    })
}

/// Whether the characters of `short` appear in `long` in order.
fn is_subsequence(short: &str, long: &str) -> bool {
    let mut rest = long.chars();
    short.chars().all(|c| rest.any(|l| l == c))
}

/// A did-you-mean for a serde "unknown field" message (`unknown field `decison`, expected one
/// of `decision`, `errorCode``): `did you mean `decision`?`, when one expected name is close.
/// Used for gardien's hand-written TOML (suites, configuration).
pub fn unknown_field_hint(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    let (field, expected) = rest.split_once('`')?;
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    suggest(field, names).map(|s| format!("did you mean `{s}`?"))
}

/// The candidates nearest to `name` (at most `max`, closest first), for error messages that
/// list what exists.
pub fn nearest<'c>(
    name: &str,
    candidates: impl IntoIterator<Item = &'c str>,
    max: usize,
) -> Vec<&'c str> {
    let lower = name.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (distance(&lower, &c.to_lowercase()), c))
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(max).map(|(_, c)| c).collect()
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), over
/// characters.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut rows = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        rows[at(i, 0)] = i;
    }
    for j in 0..=b.len() {
        rows[at(0, j)] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[at(i - 1, j)] + 1)
                .min(rows[at(i, j - 1)] + 1)
                .min(rows[at(i - 1, j - 1)] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[at(i - 2, j - 2)] + 1);
            }
            rows[at(i, j)] = d;
        }
    }
    rows[at(a.len(), b.len())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serde_messages_get_a_hint() {
        assert_eq!(
            unknown_field_hint("unknown field `decison`, expected one of `decision`, `errorCode`")
                .as_deref(),
            Some("did you mean `decision`?")
        );
        assert_eq!(
            unknown_field_hint("unknown field `listn`, expected `listen` or `tls`").as_deref(),
            Some("did you mean `listen`?")
        );
        assert_eq!(
            unknown_field_hint("unknown field `zzz`, expected `listen`"),
            None
        );
    }

    #[test]
    fn distances() {
        assert_eq!(distance("includeuser", "includeusers"), 1);
        assert_eq!(distance("deviceplatfrom", "deviceplatform"), 1);
        assert_eq!(distance("abc", "abc"), 0);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(
            suggest("signinConditions", REQUEST.members.iter().map(|m| m.0)),
            Some("signInConditions")
        );
        assert_eq!(suggest("zzzz", ["includeUsers"]), None);
    }

    /// A typo at every nesting level of a policy is found, with its pointer and the nearest
    /// known name.
    #[test]
    fn did_you_mean_on_every_nesting_level() {
        let policy = json!({
            "id": "p", "displayNam": "x", "state": "enabled",
            "conditions": {
                "user": {},
                "users": {"includeUser": ["All"],
                          "excludeGuestsOrExternalUsers": {"guestOrExternalUserType": "internalGuest",
                              "externalTenants": {"membershipKind": "all", "member": []}}},
                "applications": {"includeApplication": ["All"], "applicationFilter": {"mode": "include", "rul": "x"}},
                "clientApplications": {"includeServicePrincipal": []},
                "platforms": {"includePlatform": ["all"]},
                "locations": {"excludeLocation": []},
                "devices": {"deviceFilters": null},
                "authenticationFlows": {"transferMethod": "deviceCodeFlow"},
                "clientAppType": ["all"]
            },
            "grantControls": {"operater": "OR", "authenticationStrength": {"ids": "x"}},
            "sessionControls": {"signInFrequency": {"isEnable": true}, "persistentBrowsers": null}
        });
        let found: Vec<(String, Option<&str>)> = unknown_members(&policy, &POLICY)
            .into_iter()
            .map(|u| (u.pointer, u.suggestion))
            .collect();
        let expected = [
            ("/displayNam", Some("displayName")),
            ("/conditions/user", Some("users")),
            ("/conditions/users/includeUser", Some("includeUsers")),
            (
                "/conditions/users/excludeGuestsOrExternalUsers/guestOrExternalUserType",
                Some("guestOrExternalUserTypes"),
            ),
            (
                "/conditions/users/excludeGuestsOrExternalUsers/externalTenants/member",
                Some("members"),
            ),
            (
                "/conditions/applications/includeApplication",
                Some("includeApplications"),
            ),
            (
                "/conditions/applications/applicationFilter/rul",
                Some("rule"),
            ),
            (
                "/conditions/clientApplications/includeServicePrincipal",
                Some("includeServicePrincipals"),
            ),
            (
                "/conditions/platforms/includePlatform",
                Some("includePlatforms"),
            ),
            (
                "/conditions/locations/excludeLocation",
                Some("excludeLocations"),
            ),
            ("/conditions/devices/deviceFilters", Some("deviceFilter")),
            (
                "/conditions/authenticationFlows/transferMethod",
                Some("transferMethods"),
            ),
            ("/conditions/clientAppType", Some("clientAppTypes")),
            ("/grantControls/operater", Some("operator")),
            ("/grantControls/authenticationStrength/ids", Some("id")),
            (
                "/sessionControls/signInFrequency/isEnable",
                Some("isEnabled"),
            ),
            (
                "/sessionControls/persistentBrowsers",
                Some("persistentBrowser"),
            ),
        ];
        for (pointer, suggestion) in expected {
            assert!(
                found.iter().any(|(p, s)| p == pointer && *s == suggestion),
                "{pointer} not reported with {suggestion:?}: {found:?}"
            );
        }
        assert_eq!(found.len(), expected.len(), "{found:?}");
    }

    #[test]
    fn annotations_and_known_members_pass() {
        let policy = json!({
            "@odata.context": "x", "id": "p", "state": "enabled", "templateId": null,
            "partialEnablementStrategy": null, "#microsoft.graph.restore": {"title": "restore"},
            "conditions": {"users": {"includeUsers@odata.type": "#Collection(String)", "includeUsers": ["All"]},
                           "times": null, "deviceStates": null, "clients": null},
        });
        assert_eq!(unknown_members(&policy, &POLICY), vec![]);
        let location = json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "ipRanges": [{"cidrAddress": "1.2.3.4/32", "descripton": "x"}]});
        let found = unknown_members(&location, &NAMED_LOCATION);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].pointer, "/ipRanges/0/descripton");
    }

    #[test]
    fn request_members_are_checked_at_every_level() {
        let request = json!({
            "signInIdentity": {"userId": "u", "userID": "x"},
            "signInContext": {"includeApplications": ["a"]},
            "signinConditions": {},
            "session": {"authMethods": []}
        });
        let found: Vec<(String, Option<&str>)> = unknown_members(&request, &REQUEST)
            .into_iter()
            .map(|u| (u.pointer, u.suggestion))
            .collect();
        assert!(
            found.contains(&("/signInIdentity/userID".to_owned(), Some("userId"))),
            "{found:?}"
        );
        assert!(
            found.contains(&("/signinConditions".to_owned(), Some("signInConditions"))),
            "{found:?}"
        );
        assert!(
            found.contains(&(
                "/session/authMethods".to_owned(),
                Some("authenticationMethods")
            )),
            "{found:?}"
        );
    }
}

//! `directory.json`: users, groups, roles, service principals, authentication strengths,
//! MFA trusted IPs and gardien tenant settings (gardien's own format, see docs/design.md).

use serde_json::Value;

use super::enums::{AuthMethod, AuthMethods, ExternalUserType};
use crate::error::{LoadError, record};
use crate::ids::{id_problem, normalize_id};
use crate::json::{Node, opt_name, opt_string, string_list, with_member};
use crate::limits::{MAX_DIRECTORY_OBJECTS, MAX_EXPANDED_MEMBERSHIPS, MAX_GROUPS_PER_USER};
use crate::network::{Cidr, parse_cidr};
use rustc_hash::{FxHashMap, FxHashSet};

pub use crate::limits::MAX_MFA_TRUSTED_IPS;

/// A user of the directory.
#[derive(Debug, Clone)]
pub struct DirectoryUser {
    /// Object id (normalised).
    pub id: Box<str>,
    /// User principal name.
    pub user_principal_name: String,
    /// Display name (`displayName`), when the export has it.
    pub display_name: Option<String>,
    /// `Member` or `Guest`.
    pub is_guest: bool,
    /// Kind of external user, when the directory says so (gardien extension).
    pub external_user_type: Option<ExternalUserType>,
    /// Home tenant of an external user (gardien extension).
    pub home_tenant_id: Option<Box<str>>,
    /// Direct group memberships (normalised ids).
    pub member_of: Vec<Box<str>>,
    /// Built-in directory role template ids actively assigned tenant-wide.
    pub roles: Vec<Box<str>>,
}

/// A group of the directory.
#[derive(Debug, Clone)]
pub struct DirectoryGroup {
    /// Object id (normalised).
    pub id: Box<str>,
    /// Display name.
    pub display_name: String,
    /// Parent groups (normalised ids).
    pub member_of: Vec<Box<str>>,
}

/// A service principal owned by the tenant.
#[derive(Debug, Clone)]
pub struct ServicePrincipal {
    /// Object id (normalised).
    pub id: Box<str>,
    /// Application id (normalised).
    pub app_id: Option<Box<str>>,
    /// Display name.
    pub display_name: String,
    /// Custom security attributes, flattened as `Set_Name` → value.
    pub attributes: Vec<(String, String)>,
}

/// An authentication strength policy.
#[derive(Debug, Clone)]
pub struct AuthenticationStrength {
    /// Id (normalised).
    pub id: Box<str>,
    /// Display name.
    pub display_name: String,
    /// Allowed method combinations.
    pub combinations: Vec<AuthMethods>,
}

/// How requests for only baseline scopes (OIDC scopes, `User.Read` and the other baseline
/// directory scopes) are treated by `All`-resources policies with exclusions
/// (docs/reference/entra-semantics.md §3.3.4), as the tenant's "Baseline scopes settings" choose.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BaselineScopesMode {
    /// Nothing chosen (`"rollout"` or absent): the historic behaviour before Microsoft's
    /// rollout date, enforcement from it ([`crate::dated::DatedChange::BaselineScopesEnforcement`]).
    #[default]
    Rollout,
    /// "Enable enforcement": the request's audience is Windows Azure Active Directory, whatever
    /// the date.
    Enforced,
    /// "Disable enforcement": such requests are exempt from `All` policies with exclusions.
    Legacy,
    /// "Customize behavior": the request's audience is this placeholder application (app id,
    /// normalised), so a policy that excludes it keeps the historic behaviour.
    CustomTarget(Box<str>),
}

/// The directory data a tenant carries beside its policies.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Users.
    pub users: Vec<DirectoryUser>,
    /// Groups.
    pub groups: Vec<DirectoryGroup>,
    /// Service principals.
    pub service_principals: Vec<ServicePrincipal>,
    /// Custom authentication strengths.
    pub authentication_strengths: Vec<AuthenticationStrength>,
    /// MFA trusted IPs (IPv4 only).
    pub mfa_trusted_ips: Vec<Cidr>,
    /// Extra application ids in the `Office365` suite.
    pub office365_app_ids: Vec<Box<str>>,
    /// Extra application ids behind `MicrosoftAdminPortals`.
    pub admin_portal_app_ids: Vec<Box<str>>,
    /// Baseline-scope handling.
    pub baseline_scopes_mode: BaselineScopesMode,
}

/// Parses one allowed combination such as `"password,microsoftAuthenticatorPush"`.
pub fn parse_combination(text: &str) -> Result<AuthMethods, String> {
    let mut set = AuthMethods::default();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match AuthMethod::parse(part) {
            Some(m) => set.insert(m),
            None => return Err(format!("unknown authentication method `{part}`")),
        }
    }
    if set.0 == 0 {
        return Err("empty authentication method combination".to_owned());
    }
    Ok(set)
}

/// Reads a list of ids; `memberOf` lists hold at most [`MAX_GROUPS_PER_USER`].
fn ids<'a>(node: &Node<'a>, key: &'a str, errors: &mut Vec<LoadError>) -> Vec<Box<str>> {
    match string_list(node, key) {
        Ok(list) if key == "memberOf" && list.len() > MAX_GROUPS_PER_USER => {
            record(
                errors,
                LoadError::new(
                    node.file,
                    format!("{}/{key}", node.pointer()),
                    format!("{} groups; the limit is {MAX_GROUPS_PER_USER}", list.len()),
                ),
            );
            Vec::new()
        }
        Ok(list) => list
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match id_problem(s) {
                Some(p) => {
                    record(
                        errors,
                        LoadError::new(node.file, format!("{}/{key}/{i}", node.pointer()), p),
                    );
                    None
                }
                None => Some(normalize_id(s)),
            })
            .collect(),
        Err(e) => {
            record(errors, e);
            Vec::new()
        }
    }
}

/// The `displayName`, empty when absent; a name that is not a string or is too long is an
/// error.
fn name(node: &Node<'_>, errors: &mut Vec<LoadError>) -> String {
    match opt_name(node, "displayName") {
        Ok(name) => name.unwrap_or_default(),
        Err(e) => {
            record(errors, e);
            String::new()
        }
    }
}

fn required_id(node: &Node<'_>, errors: &mut Vec<LoadError>) -> Option<Box<str>> {
    match opt_string(node, "id") {
        Ok(Some(id)) => match id_problem(&id) {
            Some(p) => {
                record(
                    errors,
                    LoadError::new(node.file, format!("{}/id", node.pointer()), p),
                );
                None
            }
            None => Some(normalize_id(&id)),
        },
        Ok(None) => {
            record(errors, node.error("missing `id`"));
            None
        }
        Err(e) => {
            record(errors, e);
            None
        }
    }
}

fn each<'a>(
    node: &Node<'a>,
    key: &'a str,
    errors: &mut Vec<LoadError>,
    mut f: impl FnMut(&Node<'_>, &mut Vec<LoadError>),
) {
    let r = with_member(node, key, |list| {
        let Some(list) = list else { return Ok(()) };
        let items = list
            .value
            .as_array()
            .ok_or_else(|| list.error("expected an array"))?;
        if items.len() > MAX_DIRECTORY_OBJECTS {
            return Err(list.error(format!(
                "{} {key}; the limit is {MAX_DIRECTORY_OBJECTS}",
                items.len()
            )));
        }
        for (i, item) in items.iter().enumerate() {
            let cell = list.index_cell(i);
            let item = list.child(&cell, item);
            match item.object("an object") {
                Ok(_) => f(&item, errors),
                Err(e) => record(errors, e),
            }
        }
        Ok(())
    });
    if let Err(e) = r {
        record(errors, e);
    }
}

/// Refuses a user in more than [`MAX_GROUPS_PER_USER`] groups once nesting is expanded, and a
/// directory whose expansion takes more than [`MAX_EXPANDED_MEMBERSHIPS`] steps, walking the
/// groups the way the compiler does (cycles tolerated, groups named only in `memberOf` count).
fn check_nesting(node: &Node<'_>, d: &Directory, errors: &mut Vec<LoadError>) {
    check_nesting_within(node, d, errors, MAX_EXPANDED_MEMBERSHIPS);
}

/// [`check_nesting`] with the step budget as a parameter (tests use a small one).
fn check_nesting_within(
    node: &Node<'_>,
    d: &Directory,
    errors: &mut Vec<LoadError>,
    max_steps: usize,
) {
    let mut index: FxHashMap<&str, usize> = FxHashMap::default();
    let ids = d.groups.iter().map(|g| &g.id).chain(
        d.users
            .iter()
            .flat_map(|u| &u.member_of)
            .chain(d.groups.iter().flat_map(|g| &g.member_of)),
    );
    for id in ids {
        let next = index.len();
        index.entry(id).or_insert(next);
    }
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); index.len()];
    for g in &d.groups {
        if let Some(slot) = index.get(&*g.id).and_then(|&i| parents.get_mut(i)) {
            slot.extend(g.member_of.iter().filter_map(|p| index.get(&**p).copied()));
        }
    }
    let mut steps = 0usize;
    let mut seen = FxHashSet::default();
    let mut stack = Vec::new();
    for (i, u) in d.users.iter().enumerate() {
        seen.clear();
        stack.clear();
        stack.extend(u.member_of.iter().filter_map(|g| index.get(&**g).copied()));
        while let Some(g) = stack.pop() {
            steps += 1;
            if steps > max_steps {
                record(
                    errors,
                    LoadError::new(
                        node.file,
                        format!("{}/users", node.pointer()),
                        format!(
                            "group nesting expands to more than {max_steps} memberships; the limit is {max_steps}"
                        ),
                    ),
                );
                return;
            }
            if seen.insert(g) {
                if seen.len() > MAX_GROUPS_PER_USER {
                    record(
                        errors,
                        LoadError::new(
                            node.file,
                            format!("{}/users/{i}/memberOf", node.pointer()),
                            format!(
                                "user `{}` is in more than {MAX_GROUPS_PER_USER} groups (direct and nested); the limit is {MAX_GROUPS_PER_USER}",
                                u.id
                            ),
                        ),
                    );
                    break;
                }
                stack.extend(parents.get(g).into_iter().flatten().copied());
            }
        }
    }
}

/// Reads the directory object.
/// Reads one `authenticationStrengthPolicy` object (a `directory.json` entry, or a file of an
/// export folder).
pub(crate) fn read_strength(
    s: &Node<'_>,
    errors: &mut Vec<LoadError>,
) -> Option<AuthenticationStrength> {
    let id = required_id(s, errors)?;
    let display_name = name(s, errors);
    let combos = match string_list(s, "allowedCombinations") {
        Ok(c) => c,
        Err(e) => {
            record(errors, e);
            return None;
        }
    };
    let mut combinations = Vec::new();
    for (i, c) in combos.iter().enumerate() {
        match parse_combination(c) {
            Ok(m) => combinations.push(m),
            Err(reason) => record(
                errors,
                LoadError::new(
                    s.file,
                    format!("{}/allowedCombinations/{i}", s.pointer()),
                    reason,
                ),
            ),
        }
    }
    Some(AuthenticationStrength {
        id,
        display_name,
        combinations,
    })
}

pub(crate) fn read_directory(node: &Node<'_>, errors: &mut Vec<LoadError>) -> Directory {
    let before = errors.len();
    let mut d = Directory::default();
    if let Err(e) = node.object("the directory") {
        record(errors, e);
        return d;
    }
    each(node, "users", errors, |u, errors| {
        let Some(id) = required_id(u, errors) else {
            return;
        };
        let upn = opt_string(u, "userPrincipalName")
            .ok()
            .flatten()
            .unwrap_or_default();
        let user_type = opt_string(u, "userType")
            .ok()
            .flatten()
            .unwrap_or_else(|| "Member".to_owned());
        let is_guest = user_type.eq_ignore_ascii_case("guest");
        if !is_guest && !user_type.eq_ignore_ascii_case("member") {
            record(
                errors,
                LoadError::new(
                    u.file,
                    format!("{}/userType", u.pointer()),
                    format!("unknown user type `{user_type}`; expected `Member` or `Guest`"),
                ),
            );
        }
        let external_user_type = match opt_string(u, "externalUserType") {
            Ok(Some(t)) => match ExternalUserType::parse(&t) {
                Some(k) => Some(k),
                None => {
                    record(
                        errors,
                        LoadError::new(
                            u.file,
                            format!("{}/externalUserType", u.pointer()),
                            format!(
                                "unknown external user type `{t}`; expected one of {}",
                                ExternalUserType::expected()
                            ),
                        ),
                    );
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                record(errors, e);
                None
            }
        };
        let home_tenant_id = opt_string(u, "homeTenantId")
            .ok()
            .flatten()
            .map(|t| normalize_id(&t));
        let display_name = match opt_string(u, "displayName") {
            Ok(name) => name,
            Err(e) => {
                record(errors, e);
                None
            }
        };
        d.users.push(DirectoryUser {
            id,
            user_principal_name: upn,
            display_name,
            is_guest,
            external_user_type,
            home_tenant_id,
            member_of: ids(u, "memberOf", errors),
            roles: ids(u, "roles", errors),
        });
    });
    each(node, "groups", errors, |g, errors| {
        let Some(id) = required_id(g, errors) else {
            return;
        };
        let display_name = name(g, errors);
        d.groups.push(DirectoryGroup {
            id,
            display_name,
            member_of: ids(g, "memberOf", errors),
        });
    });
    each(node, "servicePrincipals", errors, |s, errors| {
        let Some(id) = required_id(s, errors) else {
            return;
        };
        let app_id = opt_string(s, "appId")
            .ok()
            .flatten()
            .map(|a| normalize_id(&a));
        let display_name = name(s, errors);
        let mut attributes = Vec::new();
        if let Some(Value::Object(sets)) = s.value.get("customSecurityAttributes") {
            for (set, values) in sets {
                if let Value::Object(values) = values {
                    for (name, v) in values {
                        if let Some(v) = v.as_str() {
                            attributes.push((format!("{set}_{name}"), v.to_owned()));
                        }
                    }
                }
            }
        }
        d.service_principals.push(ServicePrincipal {
            id,
            app_id,
            display_name,
            attributes,
        });
    });
    each(
        node,
        "authenticationStrengthPolicies",
        errors,
        |s, errors| {
            if let Some(strength) = read_strength(s, errors) {
                d.authentication_strengths.push(strength);
            }
        },
    );
    match string_list(node, "mfaTrustedIps") {
        Ok(list) => {
            let over = list.len() > MAX_MFA_TRUSTED_IPS;
            if over {
                record(
                    errors,
                    LoadError::new(
                        node.file,
                        format!("{}/mfaTrustedIps", node.pointer()),
                        format!(
                            "{} MFA trusted IP ranges; the limit is {MAX_MFA_TRUSTED_IPS}",
                            list.len()
                        ),
                    ),
                );
            }
            for (i, text) in list.iter().enumerate().filter(|_| !over) {
                let at = format!("{}/mfaTrustedIps/{i}", node.pointer());
                match parse_cidr(text) {
                    Ok(c) if c.is_too_broad() => record(
                        errors,
                        LoadError::new(
                            node.file,
                            at,
                            format!(
                                "prefix /{} of `{text}` is too broad: Entra only accepts prefixes longer than /8",
                                c.prefix_len()
                            ),
                        ),
                    ),
                    Ok(c) if !c.is_ipv4() => record(
                        errors,
                        LoadError::new(
                            node.file,
                            at,
                            format!("`{text}`: MFA trusted IPs are IPv4 only"),
                        ),
                    ),
                    Ok(c) => d.mfa_trusted_ips.push(c),
                    Err(e) => record(errors, LoadError::new(node.file, at, e.to_string())),
                }
            }
        }
        Err(e) => record(errors, e),
    }
    d.office365_app_ids = ids(node, "office365AppIds", errors);
    d.admin_portal_app_ids = ids(node, "adminPortalAppIds", errors);
    let target = opt_string(node, "baselineScopesTarget");
    match opt_string(node, "baselineScopesMode") {
        Ok(None) => {}
        Ok(Some(m)) if m.eq_ignore_ascii_case("rollout") => {
            d.baseline_scopes_mode = BaselineScopesMode::Rollout
        }
        Ok(Some(m)) if m.eq_ignore_ascii_case("enforced") => {
            d.baseline_scopes_mode = BaselineScopesMode::Enforced
        }
        Ok(Some(m)) if m.eq_ignore_ascii_case("legacy") => {
            d.baseline_scopes_mode = BaselineScopesMode::Legacy
        }
        Ok(Some(m)) if m.eq_ignore_ascii_case("customTarget") => match &target {
            Ok(Some(app)) if !app.trim().is_empty() => {
                d.baseline_scopes_mode = BaselineScopesMode::CustomTarget(normalize_id(app))
            }
            _ => record(
                errors,
                LoadError::new(
                    node.file,
                    format!("{}/baselineScopesTarget", node.pointer()),
                    "`customTarget` needs `baselineScopesTarget`: the app id of the placeholder application",
                ),
            ),
        },
        Ok(Some(m)) => record(
            errors,
            LoadError::new(
                node.file,
                format!("{}/baselineScopesMode", node.pointer()),
                format!(
                    "unknown baseline scopes mode `{m}`; expected `rollout`, `enforced`, `legacy` or `customTarget`"
                ),
            ),
        ),
        Err(e) => record(errors, e),
    }
    match target {
        Ok(Some(_)) if !matches!(d.baseline_scopes_mode, BaselineScopesMode::CustomTarget(_)) => {
            record(
                errors,
                LoadError::new(
                    node.file,
                    format!("{}/baselineScopesTarget", node.pointer()),
                    "`baselineScopesTarget` is only read with `\"baselineScopesMode\": \"customTarget\"`",
                ),
            )
        }
        Err(e) => record(errors, e),
        _ => {}
    }
    if errors.len() == before {
        // Users are then at their array index, for the pointers.
        check_nesting(node, &d, errors);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nesting_expansion_is_bounded() {
        // Two users in a chain of three groups: three steps each.
        let value = json!({"groups": [{"id": "g0", "memberOf": ["g1"]}, {"id": "g1", "memberOf": ["g2"]}],
                           "users": [{"id": "u0", "memberOf": ["g0"]}, {"id": "u1", "memberOf": ["g0"]}]});
        let node = Node::root("directory.json", "", &value);
        let mut errors = Vec::new();
        let d = read_directory(&node, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        check_nesting_within(&node, &d, &mut errors, 6);
        assert!(errors.is_empty(), "{errors:?}");
        check_nesting_within(&node, &d, &mut errors, 5);
        assert_eq!(
            errors.iter().map(LoadError::to_string).collect::<Vec<_>>(),
            [
                "directory.json: /users: group nesting expands to more than 5 memberships; the limit is 5"
            ]
        );
    }
}

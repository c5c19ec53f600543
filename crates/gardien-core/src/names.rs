//! Names where ids belong, in a request: a user principal name for `userId`, a service
//! principal display name for an application or a workload identity. Each resolves through
//! the directory to exactly one object; anything else is an error naming the candidates, never
//! a user or application of that literal id.

use serde_json::Value;

use crate::error::{AMBIGUOUS_NAME, LoadError, UNRESOLVED_NAME};
use crate::ids::{WELL_KNOWN_APPS, id_problem};
use crate::json::escape_token;
use crate::model::directory::{Directory, ServicePrincipal};
use crate::schema::nearest;

/// Tokens of `includeApplications` that are not names.
const APP_TOKENS: &[&str] = &["All", "None", "Office365", "MicrosoftAdminPortals"];

/// How many candidates an error lists.
const CANDIDATES: usize = 5;

/// The request with every name replaced by its id, `None` when it has no names (the common
/// case: nothing is copied).
pub(crate) fn resolve_request(
    file: &str,
    request: &Value,
    directory: &Directory,
) -> Result<Option<Value>, LoadError> {
    let mut changes: Vec<(String, String)> = Vec::new();
    for identity_key in ["signInIdentity", "conditionalAccessWhatIfSubject"] {
        let Some(identity) = request.get(identity_key) else {
            continue;
        };
        if let Some(user) = identity.get("userId").and_then(Value::as_str) {
            let pointer = format!("/{identity_key}/userId");
            if let Some(id) = resolve_user(file, &pointer, user, directory)? {
                changes.push((pointer, id));
            }
        }
        if let Some(sp) = identity.get("servicePrincipalId").and_then(Value::as_str) {
            let pointer = format!("/{identity_key}/servicePrincipalId");
            if let Some(id) = resolve_app(file, &pointer, sp, directory, AppKey::ObjectId)? {
                changes.push((pointer, id));
            }
        }
    }
    for context_key in ["signInContext", "conditionalAccessContext"] {
        let Some(apps) = request
            .get(context_key)
            .and_then(|c| c.get("includeApplications"))
            .and_then(Value::as_array)
        else {
            continue;
        };
        for (i, app) in apps.iter().enumerate() {
            let Some(app) = app.as_str() else { continue };
            let pointer = format!("/{}/includeApplications/{i}", escape_token(context_key));
            if let Some(id) = resolve_app(file, &pointer, app, directory, AppKey::AppId)? {
                changes.push((pointer, id));
            }
        }
    }
    if changes.is_empty() {
        return Ok(None);
    }
    let mut out = request.clone();
    for (pointer, id) in changes {
        if let Some(slot) = out.pointer_mut(&pointer) {
            *slot = Value::String(id);
        }
    }
    Ok(Some(out))
}

/// The object id of the user named by `text` when it is a user principal name (has an `@`)
/// that is not itself a directory id; `None` when `text` is an id.
fn resolve_user(
    file: &str,
    pointer: &str,
    text: &str,
    directory: &Directory,
) -> Result<Option<String>, LoadError> {
    let text = text.trim();
    if !text.contains('@')
        || directory
            .users
            .iter()
            .any(|u| u.id.eq_ignore_ascii_case(text))
    {
        return Ok(None);
    }
    let matches: Vec<&str> = directory
        .users
        .iter()
        .filter(|u| u.user_principal_name.eq_ignore_ascii_case(text))
        .map(|u| &*u.id)
        .collect();
    match matches.as_slice() {
        [one] => Ok(Some((*one).to_owned())),
        [] => {
            let names = nearest(
                text,
                directory
                    .users
                    .iter()
                    .map(|u| u.user_principal_name.as_str())
                    .filter(|n| !n.is_empty()),
                CANDIDATES,
            );
            let help = if names.is_empty() {
                "directory.json defines no user principal names: give the user's object id, or add the user to directory.json (`gardien pull` writes it)".to_owned()
            } else {
                format!("users in directory.json: {}", quoted(&names))
            };
            Err(LoadError::new(
                file,
                pointer,
                format!("no user with userPrincipalName `{text}` in directory.json"),
            )
            .with_code(UNRESOLVED_NAME)
            .with_help(help))
        }
        several => Err(LoadError::new(
            file,
            pointer,
            format!(
                "userPrincipalName `{text}` matches {} users in directory.json",
                several.len()
            ),
        )
        .with_code(AMBIGUOUS_NAME)
        .with_help(format!("give one of these object ids: {}", quoted(several)))),
    }
}

/// What an application reference resolves to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AppKey {
    /// `includeApplications`: the application (client) id.
    AppId,
    /// `servicePrincipalId`: the service principal object id.
    ObjectId,
}

fn is_id_of(sp: &ServicePrincipal, text: &str) -> bool {
    sp.id.eq_ignore_ascii_case(text)
        || sp
            .app_id
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case(text))
}

/// The id named by `text` when it is a service principal display name; `None` when it is an
/// id or a token. A text with blanks cannot be an id: it must resolve. A text without blanks
/// that matches a display name (and no id) resolves; otherwise it is an opaque id.
fn resolve_app(
    file: &str,
    pointer: &str,
    text: &str,
    directory: &Directory,
    key: AppKey,
) -> Result<Option<String>, LoadError> {
    let text = text.trim();
    if (key == AppKey::AppId && APP_TOKENS.iter().any(|t| t.eq_ignore_ascii_case(text)))
        || directory
            .service_principals
            .iter()
            .any(|sp| is_id_of(sp, text))
        || (key == AppKey::AppId
            && WELL_KNOWN_APPS
                .iter()
                .any(|(id, _)| id.eq_ignore_ascii_case(text)))
    {
        return Ok(None);
    }
    let by_name: Vec<&ServicePrincipal> = directory
        .service_principals
        .iter()
        .filter(|sp| sp.display_name.eq_ignore_ascii_case(text))
        .collect();
    let id_of = |sp: &ServicePrincipal| -> String {
        match key {
            AppKey::AppId => sp.app_id.as_deref().unwrap_or(&sp.id).to_owned(),
            AppKey::ObjectId => sp.id.to_string(),
        }
    };
    match by_name.as_slice() {
        [one] => return Ok(Some(id_of(one))),
        [] => {}
        several => {
            let list: Vec<String> = several
                .iter()
                .map(|sp| format!("`{}`", id_of(sp)))
                .collect();
            return Err(LoadError::new(
                file,
                pointer,
                format!(
                    "`{text}` is the display name of {} service principals in directory.json",
                    several.len()
                ),
            )
            .with_code(AMBIGUOUS_NAME)
            .with_help(format!(
                "give one of these ids instead: {}",
                list.join(", ")
            )));
        }
    }
    if key == AppKey::AppId
        && let Some((id, _)) = WELL_KNOWN_APPS
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
    {
        return Ok(Some((*id).to_owned()));
    }
    if id_problem(text).is_none() {
        // No blank, no placeholder: an opaque id.
        return Ok(None);
    }
    let mut names: Vec<&str> = directory
        .service_principals
        .iter()
        .map(|sp| sp.display_name.as_str())
        .filter(|n| !n.is_empty())
        .collect();
    if key == AppKey::AppId {
        names.extend(WELL_KNOWN_APPS.iter().map(|(_, n)| *n));
    }
    let candidates = nearest(text, names, CANDIDATES);
    Err(LoadError::new(
        file,
        pointer,
        format!("no service principal named `{text}` in directory.json"),
    )
    .with_code(UNRESOLVED_NAME)
    .with_help(format!(
        "give the application id, or one of these names: {}",
        quoted(&candidates)
    )))
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SignIn;
    use crate::signin::{Subject, Target};
    use serde_json::json;

    fn directory() -> Directory {
        let v = json!({
            "users": [{"id": "u-jan", "userPrincipalName": "jan@contoso.nl"},
                      {"id": "u-ann", "userPrincipalName": "ann@contoso.nl"}],
            "servicePrincipals": [
                {"id": "sp-pay", "appId": "app-pay", "displayName": "Payroll"},
                {"id": "sp-crm1", "appId": "app-crm1", "displayName": "CRM"},
                {"id": "sp-crm2", "appId": "app-crm2", "displayName": "crm"}]
        });
        let node = crate::json::Node::root("d.json", "", &v);
        let mut errors = Vec::new();
        let d = crate::model::directory::read_directory(&node, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        d
    }

    fn request(user: &str, app: &str) -> Value {
        json!({
            "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": user},
            "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [app]},
            "signInConditions": {}
        })
    }

    #[test]
    fn upn_and_display_names_resolve() {
        let d = directory();
        let s = SignIn::from_value_in("r.json", &request("JAN@contoso.nl", "Payroll"), &d);
        assert!(s.is_ok(), "{s:?}");
        let Ok(s) = s else { return };
        assert!(matches!(&s.subject, Subject::User { id, .. } if &**id == "u-jan"));
        assert_eq!(s.target, Target::Applications(vec!["app-pay".into()]));
        let s = SignIn::from_value_in(
            "r.json",
            &request("u-ann", "Office 365 SharePoint Online"),
            &d,
        );
        assert_eq!(
            s.map(|s| s.target).ok(),
            Some(Target::Applications(vec![
                "00000003-0000-0ff1-ce00-000000000000".into()
            ]))
        );
    }

    #[test]
    fn unresolvable_and_ambiguous_names_are_errors_with_candidates() {
        let d = directory();
        let e = SignIn::from_value_in("r.json", &request("jna@contoso.nl", "Payroll"), &d)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("/signInIdentity/userId: no user with userPrincipalName `jna@contoso.nl`"),
            "{e}"
        );
        assert!(e.contains("`jan@contoso.nl`"), "{e}");
        let e = SignIn::from_value_in("r.json", &request("u-jan", "CRM"), &d)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("display name of 2 service principals"), "{e}");
        assert!(e.contains("`app-crm1`") && e.contains("`app-crm2`"), "{e}");
        let e = SignIn::from_value_in("r.json", &request("u-jan", "Pay roll app"), &d)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains(
                "/signInContext/includeApplications/0: no service principal named `Pay roll app`"
            ),
            "{e}"
        );
        assert!(e.contains("`Payroll`"), "{e}");
        // With an empty directory, a UPN never becomes a user of that literal id.
        let e = SignIn::from_value_in(
            "r.json",
            &request("jan@contoso.nl", "app"),
            &Directory::default(),
        )
        .err()
        .map(|e| e.code);
        assert_eq!(e, Some(UNRESOLVED_NAME));
        // gardien's own records are read with ids as written.
        assert!(SignIn::from_value("r.json", &request("jan@contoso.nl", "app")).is_ok());
    }

    #[test]
    fn ids_and_tokens_are_left_alone() {
        let d = directory();
        let r = request("u-jan", "All");
        assert_eq!(resolve_request("r", &r, &d).ok(), Some(None));
        let r = request("11111111-1111-1111-1111-111111111111", "app-opaque");
        assert_eq!(resolve_request("r", &r, &d).ok(), Some(None));
    }
}

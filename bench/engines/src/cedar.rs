//! The tenant as a Cedar policy set over schema-less entities, and its evaluation with
//! [`Authorizer::is_authorized`].
//!
//! Shape of a request: principal `User::"<id>"` (an entity whose parents are the host-resolved
//! closure of its groups, `Group::"<id>"`, and its roles, `Role::"<id>"`; attribute
//! `guestKind` for guests), action `Action::"signIn"`, resource `Application::"<appId>"` (the
//! `Office365` suite is the parent `AppGroup::"office365"` of its applications), and a context
//! record: `clientAppType`, `platform`, `locations` (the set of named-location ids the host
//! found for the IP address), `signInRisk`, `userRisk`, `device` (a record of the device's
//! filter properties that are present), `methods` (set of authentication methods),
//! `approvedClientApp`, `appProtectionPolicy`, `passwordChanged`.
//!
//! Policy set: one `permit` for everything, and for every enforced Conditional Access policy a
//! `forbid` whose `when` is the conjunction of its conditions.
//!
//! * [`Mode::AllowOrNot`]: one `forbid ... when { <conditions> } unless { <grant met> }` per
//!   policy (a block has no `unless`). Cedar's answer is the allow / not-allow decision.
//! * [`Mode::Full`]: two `forbid`s per policy, `<id>/deny` when the grant cannot be met in this
//!   sign-in (block, device state, app, legacy client) and `<id>/challenge` when the user can
//!   still meet it; the decision is deny if a `/deny` policy is among Cedar's reasons,
//!   challenge if only `/challenge` ones are.

use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, EntityUid, Policy as CedarPolicy, PolicyId, PolicySet,
    Request, RestrictedExpression,
};
use serde_json::{Value, json};

use crate::filter::{Cmp, Expr, Op, Value as Lit};
use crate::host::{DeviceValue, Resolved};
use crate::model::{Apps, Control, Model, Policy, Principals};
use crate::{Error, Outcome, error};

/// Which answer the policy set gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One `forbid` per policy: allow or not.
    AllowOrNot,
    /// Two `forbid`s per policy: allow, challenge or deny.
    Full,
}

/// A Cedar string literal.
fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A `like` pattern: `*` in the literal is escaped, `star_before` / `star_after` add wildcards.
fn pattern(s: &str, star_before: bool, star_after: bool) -> String {
    let escaped = lit(s);
    let inner = escaped
        .get(1..escaped.len().saturating_sub(1))
        .unwrap_or_default()
        .replace('*', "\\*");
    format!(
        "\"{}{inner}{}\"",
        if star_before { "*" } else { "" },
        if star_after { "*" } else { "" }
    )
}

/// `x == "a" || x == "b"`: membership in a constant list without building a set.
fn one_of(x: &str, items: &[String]) -> String {
    any_of(items.iter().map(|i| format!("{x} == {}", lit(i))).collect())
}

/// `principal in K::"a" || principal in K::"b"`.
fn in_any(x: &str, kind: &str, items: &[String]) -> String {
    any_of(
        items
            .iter()
            .map(|i| format!("{x} in {kind}::{}", lit(i)))
            .collect(),
    )
}

/// `set.contains("a") || set.contains("b")`.
fn contains_any(set: &str, items: &[String]) -> String {
    any_of(
        items
            .iter()
            .map(|i| format!("{set}.contains({})", lit(i)))
            .collect(),
    )
}

/// `set.contains("a") && set.contains("b")`.
fn contains_all(set: &str, items: &[String]) -> String {
    all_of(
        items
            .iter()
            .map(|i| format!("{set}.contains({})", lit(i)))
            .collect(),
    )
}

fn any_of(parts: Vec<String>) -> String {
    match parts.len() {
        0 => "false".to_owned(),
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(" || ")),
    }
}

fn all_of(parts: Vec<String>) -> String {
    match parts.len() {
        0 => "true".to_owned(),
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(" && ")),
    }
}

fn not(x: &str) -> String {
    format!("!({x})")
}

fn principals(p: &Principals) -> String {
    let mut parts = Vec::new();
    if p.all {
        parts.push("true".to_owned());
    }
    if !p.users.is_empty() {
        parts.push(any_of(
            p.users
                .iter()
                .map(|u| format!("principal == User::{}", lit(u)))
                .collect(),
        ));
    }
    if !p.groups.is_empty() {
        parts.push(in_any("principal", "Group", &p.groups));
    }
    if !p.roles.is_empty() {
        parts.push(in_any("principal", "Role", &p.roles));
    }
    if !p.guest_kinds.is_empty() {
        parts.push(format!(
            "(principal has guestKind && {})",
            one_of("principal.guestKind", &p.guest_kinds)
        ));
    }
    any_of(parts)
}

fn apps(a: &Apps) -> String {
    let mut parts = Vec::new();
    if a.all {
        parts.push("true".to_owned());
    }
    if a.office365 {
        parts.push("resource in AppGroup::\"office365\"".to_owned());
    }
    if !a.apps.is_empty() {
        parts.push(in_any("resource", "Application", &a.apps));
    }
    any_of(parts)
}

fn device_cmp(c: &Cmp) -> String {
    let value = format!("context.device.{}", c.property);
    let has = format!("context.device has {}", c.property);
    let positive = match (&c.op, &c.value) {
        (Op::Eq, Lit::Null) => not(&has),
        (Op::Eq, Lit::Bool(b)) => format!("({has} && {value} == {b})"),
        (Op::Eq, Lit::Str(s)) => format!("({has} && {value} == {})", lit(s)),
        (Op::StartsWith, Lit::Str(s)) => {
            format!("({has} && {value} like {})", pattern(s, false, true))
        }
        (Op::EndsWith, Lit::Str(s)) => {
            format!("({has} && {value} like {})", pattern(s, true, false))
        }
        (Op::Contains, Lit::Str(s)) => {
            format!("({has} && {value} like {})", pattern(s, true, true))
        }
        (Op::In, Lit::List(items)) => format!("({has} && {})", one_of(&value, items)),
        // The parser never builds these shapes.
        _ => "false".to_owned(),
    };
    if c.negated { not(&positive) } else { positive }
}

/// A device filter rule as a Cedar expression.
pub fn device_expr(e: &Expr) -> String {
    match e {
        Expr::Or(items) => any_of(items.iter().map(device_expr).collect()),
        Expr::And(items) => all_of(items.iter().map(device_expr).collect()),
        Expr::Not(inner) => not(&device_expr(inner)),
        Expr::Cmp(c) => device_cmp(c),
    }
}

/// The conditions of a policy as one Cedar expression.
pub fn conditions(p: &Policy) -> String {
    let mut parts = vec![principals(&p.include)];
    if !p.exclude.is_empty() {
        parts.push(not(&principals(&p.exclude)));
    }
    parts.push(apps(&p.include_apps));
    if !p.exclude_apps.is_empty() {
        parts.push(not(&apps(&p.exclude_apps)));
    }
    if let Some(types) = &p.client_app_types {
        parts.push(one_of("context.clientAppType", types));
    }
    if let Some(pl) = &p.platforms {
        if !pl.all {
            parts.push(one_of("context.platform", &pl.include));
        }
        if !pl.exclude.is_empty() {
            parts.push(not(&one_of("context.platform", &pl.exclude)));
        }
    }
    if let Some(f) = &p.device_filter {
        let rule = device_expr(&f.rule);
        parts.push(if f.include { rule } else { not(&rule) });
    }
    if let Some(l) = &p.locations {
        if !l.all {
            parts.push(contains_any("context.locations", &l.include));
        }
        if !l.exclude.is_empty() {
            parts.push(not(&contains_any("context.locations", &l.exclude)));
        }
    }
    if let Some(levels) = &p.sign_in_risk {
        parts.push(one_of("context.signInRisk", levels));
    }
    if let Some(levels) = &p.user_risk {
        parts.push(one_of("context.userRisk", levels));
    }
    parts.retain(|x| x != "true");
    parts.join("\n    && ")
}

const LEGACY: &str =
    "(context.clientAppType == \"exchangeactivesync\" || context.clientAppType == \"other\")";

fn strength(model: &Model, id: &str) -> String {
    let combos = model
        .strengths
        .iter()
        .find(|s| s.id == id)
        .map(|s| s.combinations.as_slice())
        .unwrap_or_default();
    any_of(
        combos
            .iter()
            .map(|c| match c.as_slice() {
                [one] => format!("context.methods.contains({})", lit(one)),
                _ => contains_all("context.methods", c),
            })
            .collect(),
    )
}

/// Whether a control is met by this sign-in, as a Cedar expression. Device, app and
/// password-change controls cannot be met by external users (no cross-tenant trust).
fn satisfied(model: &Model, c: &Control) -> String {
    let here = match c {
        Control::Strength(_) => "",
        _ => "!context.external && ",
    };
    let inner = match c {
        Control::Strength(id) => format!(
            "(context.clientAppType != \"other\" && {})",
            strength(model, id)
        ),
        Control::CompliantDevice => {
            "(context.device has isCompliant && context.device.isCompliant)".to_owned()
        }
        Control::DomainJoinedDevice => {
            "(context.device has trustType && context.device.trustType == \"serverad\")".to_owned()
        }
        Control::ApprovedApplication => {
            format!("(context.approvedClientApp && {})", not(LEGACY))
        }
        Control::CompliantApplication => {
            format!("(context.appProtectionPolicy && {})", not(LEGACY))
        }
        Control::PasswordChange => format!("(context.passwordChanged && {})", not(LEGACY)),
    };
    if here.is_empty() {
        inner
    } else {
        format!("({here}{inner})")
    }
}

/// An interactive control that cannot be met interactively by this user: an external user
/// cannot change a password here, a direct connect user cannot do MFA here, and a strength
/// no method offered to external users meets cannot be met here.
fn not_here(model: &Model, c: &Control) -> &'static str {
    match c {
        Control::PasswordChange => "context.external",
        Control::Strength(id)
            if !model
                .strengths
                .iter()
                .find(|s| &s.id == id)
                .is_some_and(|s| s.meetable_here()) =>
        {
            "context.external"
        }
        _ => "context.directConnect",
    }
}

/// The grant of a policy is met.
fn granted(model: &Model, p: &Policy) -> String {
    let sat: Vec<String> = p
        .grant
        .controls
        .iter()
        .map(|c| satisfied(model, c))
        .collect();
    if p.grant.and {
        all_of(sat)
    } else {
        any_of(sat)
    }
}

/// A control that is not met and cannot be met interactively in this sign-in.
fn cannot(model: &Model, c: &Control) -> String {
    if c.interactive() {
        format!(
            "({} && ({LEGACY} || {}))",
            not(&satisfied(model, c)),
            not_here(model, c)
        )
    } else {
        not(&satisfied(model, c))
    }
}

fn forbid(when: &str, extra: Option<&str>, unless: Option<&str>) -> String {
    let mut text = format!("forbid (principal, action, resource)\nwhen {{\n    {when}");
    if let Some(extra) = extra {
        text.push_str(&format!("\n    && {extra}"));
    }
    text.push_str("\n}");
    if let Some(unless) = unless {
        text.push_str(&format!("\nunless {{ {unless} }}"));
    }
    text.push(';');
    text
}

/// The Cedar policies of one Conditional Access policy, each with its policy id.
pub fn translate_policy(model: &Model, p: &Policy, mode: Mode) -> Vec<(String, String)> {
    let mut when = conditions(p);
    if when.is_empty() {
        when = "true".to_owned();
    }
    if p.grant.block {
        let id = match mode {
            Mode::AllowOrNot => p.id.clone(),
            Mode::Full => format!("{}/deny", p.id),
        };
        return vec![(id, forbid(&when, None, None))];
    }
    let granted = granted(model, p);
    match mode {
        Mode::AllowOrNot => vec![(p.id.clone(), forbid(&when, None, Some(&granted)))],
        Mode::Full => {
            let (deny, challenge) = if p.grant.and {
                let any_cannot =
                    any_of(p.grant.controls.iter().map(|c| cannot(model, c)).collect());
                (
                    format!("{} && {any_cannot}", not(&granted)),
                    format!("{} && {}", not(&granted), not(&any_cannot)),
                )
            } else if p.grant.controls.iter().any(Control::interactive) {
                // OR: a deny when no control can still be met interactively.
                let all_cannot =
                    all_of(p.grant.controls.iter().map(|c| cannot(model, c)).collect());
                (
                    format!("{} && {all_cannot}", not(&granted)),
                    format!("{} && {}", not(&granted), not(&all_cannot)),
                )
            } else {
                (not(&granted), "false".to_owned())
            };
            let mut out = vec![(format!("{}/deny", p.id), forbid(&when, Some(&deny), None))];
            if challenge != "false" {
                out.push((
                    format!("{}/challenge", p.id),
                    forbid(&when, Some(&challenge), None),
                ));
            }
            out
        }
    }
}

/// The whole policy set as Cedar text (for reading; [`CedarEngine::new`] parses policy by
/// policy so that each keeps its id).
pub fn policy_text(model: &Model, mode: Mode) -> String {
    let mut out = String::from("@id(\"baseline\")\npermit (principal, action, resource);\n");
    for p in &model.policies {
        out.push_str(&format!("\n// {}\n", p.name));
        for (id, text) in translate_policy(model, p, mode) {
            out.push_str(&format!("@id({})\n{text}\n", lit(&id)));
        }
    }
    out
}

/// The directory as Cedar entities (JSON form): users with their group closure and roles as
/// parents, groups, roles, and applications under their suite.
pub fn entities_json(model: &Model, host: &crate::host::Host) -> Value {
    let uid = |kind: &str, id: &str| json!({"type": kind, "id": id});
    let mut out = Vec::new();
    for u in &model.users {
        let facts = host.user_facts(&u.id).cloned().unwrap_or_default();
        let mut parents: Vec<Value> = facts.groups.iter().map(|g| uid("Group", g)).collect();
        parents.extend(facts.roles.iter().map(|r| uid("Role", r)));
        let mut attrs = serde_json::Map::new();
        if let Some(kind) = &facts.guest_kind {
            attrs.insert("guestKind".to_owned(), json!(kind));
        }
        out.push(json!({"uid": uid("User", &u.id), "attrs": attrs, "parents": parents}));
    }
    for g in &model.groups {
        out.push(json!({"uid": uid("Group", &g.id), "attrs": {}, "parents": []}));
    }
    for a in &model.office365 {
        out.push(json!({
            "uid": uid("Application", a),
            "attrs": {},
            "parents": [uid("AppGroup", "office365")]
        }));
    }
    out.push(json!({"uid": uid("AppGroup", "office365"), "attrs": {}, "parents": []}));
    Value::Array(out)
}

/// A compiled Cedar policy set with its entities.
#[derive(Debug)]
pub struct CedarEngine {
    mode: Mode,
    policies: PolicySet,
    entities: Entities,
    authorizer: Authorizer,
    action: EntityUid,
}

fn euid(kind: &str, id: &str) -> Result<EntityUid, Error> {
    EntityUid::from_str(&format!("{kind}::{}", lit(id)))
        .map_err(|e| error(format!("cedar entity `{kind}::{id}`: {e}")))
}

impl CedarEngine {
    /// Translates and parses the policy set, and loads the entities.
    pub fn new(model: &Model, host: &crate::host::Host, mode: Mode) -> Result<CedarEngine, Error> {
        let mut policies = PolicySet::new();
        let baseline = CedarPolicy::parse(
            Some(PolicyId::new("baseline")),
            "permit (principal, action, resource);",
        )
        .map_err(|e| error(format!("cedar: {e}")))?;
        policies
            .add(baseline)
            .map_err(|e| error(format!("cedar: {e}")))?;
        for p in &model.policies {
            for (id, text) in translate_policy(model, p, mode) {
                let parsed = CedarPolicy::parse(Some(PolicyId::new(&id)), &text)
                    .map_err(|e| error(format!("cedar policy `{id}`: {e:?}\n{text}")))?;
                policies
                    .add(parsed)
                    .map_err(|e| error(format!("cedar policy `{id}`: {e}")))?;
            }
        }
        let entities = Entities::from_json_value(entities_json(model, host), None)
            .map_err(|e| error(format!("cedar entities: {e}")))?;
        Ok(CedarEngine {
            mode,
            policies,
            entities,
            authorizer: Authorizer::new(),
            action: euid("Action", "signIn")?,
        })
    }

    /// Number of Cedar policies (the baseline permit included).
    pub fn policy_count(&self) -> usize {
        self.policies.policies().count()
    }

    /// The Cedar request of a resolved sign-in (built by the host, outside timed regions).
    pub fn request(&self, r: &Resolved) -> Result<Request, Error> {
        let s = |v: &str| RestrictedExpression::new_string(v.to_owned());
        let set = |items: &[String]| RestrictedExpression::new_set(items.iter().map(|i| s(i)));
        let device = RestrictedExpression::new_record(r.device.iter().map(|(k, v)| {
            let value = match v {
                DeviceValue::Str(x) => s(x),
                DeviceValue::Bool(b) => RestrictedExpression::new_bool(*b),
            };
            ((*k).to_owned(), value)
        }))
        .map_err(|e| error(format!("cedar device record: {e}")))?;
        let context = Context::from_pairs([
            ("clientAppType".to_owned(), s(&r.client_app_type)),
            ("platform".to_owned(), s(&r.platform)),
            ("locations".to_owned(), set(&r.locations)),
            ("signInRisk".to_owned(), s(&r.sign_in_risk)),
            ("userRisk".to_owned(), s(&r.user_risk)),
            ("device".to_owned(), device),
            ("methods".to_owned(), set(&r.methods)),
            (
                "external".to_owned(),
                RestrictedExpression::new_bool(r.external),
            ),
            (
                "directConnect".to_owned(),
                RestrictedExpression::new_bool(r.direct_connect),
            ),
            (
                "approvedClientApp".to_owned(),
                RestrictedExpression::new_bool(r.approved_client_app),
            ),
            (
                "appProtectionPolicy".to_owned(),
                RestrictedExpression::new_bool(r.app_protection_policy),
            ),
            (
                "passwordChanged".to_owned(),
                RestrictedExpression::new_bool(r.password_changed),
            ),
        ])
        .map_err(|e| error(format!("cedar context: {e}")))?;
        Request::new(
            euid("User", &r.user)?,
            self.action.clone(),
            euid("Application", &r.app)?,
            context,
            None,
        )
        .map_err(|e| error(format!("cedar request: {e}")))
    }

    /// The timed call: Cedar's decision on a prepared request.
    #[inline]
    pub fn is_authorized(&self, request: &Request) -> Decision {
        self.authorizer
            .is_authorized(request, &self.policies, &self.entities)
            .decision()
    }

    /// The decision with its reasons read back: an evaluation error in any policy is an
    /// [`Error`] (Cedar would skip that policy, which here would hide a translation bug).
    pub fn decide(&self, request: &Request) -> Result<Outcome, Error> {
        let response = self
            .authorizer
            .is_authorized(request, &self.policies, &self.entities);
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(ToString::to_string)
            .collect();
        if !errors.is_empty() {
            return Err(error(format!(
                "cedar evaluation errors: {}",
                errors.join("; ")
            )));
        }
        if response.decision() == Decision::Allow {
            return Ok(Outcome::Allow);
        }
        Ok(match self.mode {
            Mode::AllowOrNot => Outcome::Deny,
            Mode::Full => {
                if response
                    .diagnostics()
                    .reason()
                    .any(|id| id.to_string().ends_with("/deny"))
                {
                    Outcome::Deny
                } else {
                    Outcome::Challenge
                }
            }
        })
    }
}

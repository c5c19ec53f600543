//! The tenant as one Rego module (`package ca`): a data document holding the enforced
//! policies (`data.ca.policies`), the `Office365` suite and the authentication strengths,
//! generic rules over it (written once, below), and one generated partial-set rule per device
//! filter (`device_match`), so that filters are native Rego expressions.
//!
//! Entry points: `data.ca.allow` (true or false) and `data.ca.decision` (`"allow"`,
//! `"challenge"`, `"deny"`). Evaluated with regorus's interpreter ([`Engine::eval_rule`]) and
//! with its register VM ([`RegoVM`], the Rego → RVM bytecode compiler).
//!
//! Input document (built by the host): `user`, `groups` / `roles` / `locations` / `methods`
//! as objects used as sets (`{"id": true}`), `guestKind`, `app`, `clientAppType`,
//! `platform`, `signInRisk`, `userRisk`, `device` (the present filter properties), and the
//! session flags `approvedClientApp`, `appProtectionPolicy`, `passwordChanged`.

use std::sync::Arc;

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::RegoVM;
use regorus::rvm::program::Program;
use regorus::{Engine, Value as RegoValue};
use serde_json::{Map, Value, json};

use crate::filter::{Cmp, Expr, Op, Value as Lit};
use crate::host::{DeviceValue, Resolved};
use crate::model::{Apps, Control, Model, Policy, Principals};
use crate::{Error, Outcome, error};

/// The rules that read the data document (everything but the device filters).
pub const RULES: &str = r#"package ca

import rego.v1

legacy if input.clientAppType == "exchangeactivesync"

legacy if input.clientAppType == "other"

principal_in(s) if s.all

principal_in(s) if s.users[input.user]

principal_in(s) if {
	some g in s.groups
	input.groups[g]
}

principal_in(s) if {
	some r in s.roles
	input.roles[r]
}

principal_in(s) if s.guestKinds[input.guestKind]

app_in(s) if s.all

app_in(s) if s.apps[input.app]

app_in(s) if {
	s.office365
	data.ca.office365[input.app]
}

users_ok(p) if {
	principal_in(p.include)
	not principal_in(p.exclude)
}

apps_ok(p) if {
	app_in(p.includeApps)
	not app_in(p.excludeApps)
}

client_ok(p) if not p.clientAppTypes

client_ok(p) if p.clientAppTypes[input.clientAppType]

platform_included(s) if s.all

platform_included(s) if s.include[input.platform]

platform_ok(p) if not p.platforms

platform_ok(p) if {
	platform_included(p.platforms)
	not p.platforms.exclude[input.platform]
}

device_ok(p) if not p.deviceFilter

device_ok(p) if {
	p.deviceFilter == "include"
	device_match[p.id]
}

device_ok(p) if {
	p.deviceFilter == "exclude"
	not device_match[p.id]
}

location_in(ids) if {
	some l in ids
	input.locations[l]
}

location_included(s) if s.all

location_included(s) if location_in(s.include)

location_ok(p) if not p.locations

location_ok(p) if {
	location_included(p.locations)
	not location_in(p.locations.exclude)
}

sign_in_risk_ok(p) if not p.signInRisk

sign_in_risk_ok(p) if p.signInRisk[input.signInRisk]

user_risk_ok(p) if not p.userRisk

user_risk_ok(p) if p.userRisk[input.userRisk]

applies(p) if {
	users_ok(p)
	apps_ok(p)
	client_ok(p)
	platform_ok(p)
	device_ok(p)
	location_ok(p)
	sign_in_risk_ok(p)
	user_risk_ok(p)
}

# `every` is avoided on purpose: regorus 0.14.1's RVM treats an undefined body of `every`
# (a missing set member here) as true. The negated forms mean the same in both engines.
missing_method(combo) if {
	some m in combo
	not input.methods[m]
}

strength_ok(id) if {
	some combo in data.ca.strengths[id]
	not missing_method(combo)
}

satisfied(c) if {
	c.kind == "strength"
	input.clientAppType != "other"
	strength_ok(c.id)
}

satisfied(c) if {
	c.kind == "compliantDevice"
	not input.external
	input.device.isCompliant == true
}

satisfied(c) if {
	c.kind == "domainJoinedDevice"
	not input.external
	input.device.trustType == "serverad"
}

satisfied(c) if {
	c.kind == "approvedApplication"
	not input.external
	input.approvedClientApp == true
	not legacy
}

satisfied(c) if {
	c.kind == "compliantApplication"
	not input.external
	input.appProtectionPolicy == true
	not legacy
}

satisfied(c) if {
	c.kind == "passwordChange"
	not input.external
	input.passwordChanged == true
	not legacy
}

# External users (no cross-tenant trust translated): no password change here, no MFA at
# all for direct connect users, and no strength that the methods offered here cannot meet.
not_here(c) if {
	c.kind == "passwordChange"
	input.external
}

not_here(c) if {
	c.kind == "strength"
	input.directConnect
}

not_here(c) if {
	c.kind == "strength"
	input.external
	not data.ca.meetableHere[c.id]
}

granted(p) if {
	not p.grant.block
	not p.grant.and
	some c in p.grant.controls
	satisfied(c)
}

some_unsatisfied(p) if {
	some c in p.grant.controls
	not satisfied(c)
}

granted(p) if {
	not p.grant.block
	p.grant.and
	not some_unsatisfied(p)
}

interactive_now(c) if {
	c.interactive
	not legacy
	not not_here(c)
}

cannot(c) if {
	not satisfied(c)
	not interactive_now(c)
}

some_interactive(p) if {
	some c in p.grant.controls
	interactive_now(c)
}

fails(p) if p.grant.block

fails(p) if {
	not p.grant.and
	not granted(p)
	not some_interactive(p)
}

fails(p) if {
	p.grant.and
	some c in p.grant.controls
	cannot(c)
}

# Some enforced policy applies and its grant is not met.
unmet if {
	some p in data.ca.policies
	applies(p)
	not granted(p)
}

default allow := false

allow if not unmet

denied if {
	some p in data.ca.policies
	applies(p)
	fails(p)
}

default decision := "challenge"

decision := "allow" if allow

decision := "deny" if denied
"#;

fn set(items: &[String]) -> Value {
    Value::Object(items.iter().map(|i| (i.clone(), json!(true))).collect())
}

fn principals(p: &Principals) -> Value {
    json!({
        "all": p.all,
        "users": set(&p.users),
        "groups": p.groups,
        "roles": p.roles,
        "guestKinds": set(&p.guest_kinds),
    })
}

fn apps(a: &Apps) -> Value {
    json!({"all": a.all, "office365": a.office365, "apps": set(&a.apps)})
}

fn policy(p: &Policy) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(p.id));
    o.insert("include".into(), principals(&p.include));
    o.insert("exclude".into(), principals(&p.exclude));
    o.insert("includeApps".into(), apps(&p.include_apps));
    o.insert("excludeApps".into(), apps(&p.exclude_apps));
    if let Some(t) = &p.client_app_types {
        o.insert("clientAppTypes".into(), set(t));
    }
    if let Some(pl) = &p.platforms {
        o.insert(
            "platforms".into(),
            json!({"all": pl.all, "include": set(&pl.include), "exclude": set(&pl.exclude)}),
        );
    }
    if let Some(f) = &p.device_filter {
        o.insert(
            "deviceFilter".into(),
            json!(if f.include { "include" } else { "exclude" }),
        );
    }
    if let Some(l) = &p.locations {
        o.insert(
            "locations".into(),
            json!({"all": l.all, "include": l.include, "exclude": l.exclude}),
        );
    }
    if let Some(levels) = &p.sign_in_risk {
        o.insert("signInRisk".into(), set(levels));
    }
    if let Some(levels) = &p.user_risk {
        o.insert("userRisk".into(), set(levels));
    }
    let controls: Vec<Value> = p
        .grant
        .controls
        .iter()
        .map(|c| {
            let kind = match c {
                Control::Strength(_) => "strength",
                Control::CompliantDevice => "compliantDevice",
                Control::DomainJoinedDevice => "domainJoinedDevice",
                Control::ApprovedApplication => "approvedApplication",
                Control::CompliantApplication => "compliantApplication",
                Control::PasswordChange => "passwordChange",
            };
            let mut c_json = json!({"kind": kind, "interactive": c.interactive()});
            if let Control::Strength(id) = c {
                c_json["id"] = json!(id);
            }
            c_json
        })
        .collect();
    o.insert(
        "grant".into(),
        json!({"block": p.grant.block, "and": p.grant.and, "controls": controls}),
    );
    Value::Object(o)
}

/// The data document: `{"ca": {"policies": [...], "office365": {...}, "strengths": {...}}}`.
pub fn data(model: &Model) -> Value {
    let strengths: Map<String, Value> = model
        .strengths
        .iter()
        .map(|s| (s.id.clone(), json!(s.combinations)))
        .collect();
    let meetable: Vec<String> = model
        .strengths
        .iter()
        .filter(|s| s.meetable_here())
        .map(|s| s.id.clone())
        .collect();
    json!({"ca": {
        "policies": model.policies.iter().map(policy).collect::<Vec<_>>(),
        "office365": set(&model.office365),
        "strengths": strengths,
        "meetableHere": set(&meetable),
    }})
}

fn lit(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// Generates the device filter rules: helper rules for nested `-or` / `-not`.
struct FilterRules {
    out: String,
    next: usize,
}

impl FilterRules {
    /// The positive comparison as one Rego expression.
    fn positive(c: &Cmp) -> String {
        let v = format!("input.device.{}", c.property);
        match (&c.op, &c.value) {
            (Op::Eq, Lit::Null) => format!(
                "object.get(input.device, {}, null) == null",
                lit(c.property)
            ),
            (Op::Eq, Lit::Bool(b)) => format!("{v} == {b}"),
            (Op::Eq, Lit::Str(s)) => format!("{v} == {}", lit(s)),
            (Op::StartsWith, Lit::Str(s)) => format!("startswith({v}, {})", lit(s)),
            (Op::EndsWith, Lit::Str(s)) => format!("endswith({v}, {})", lit(s)),
            (Op::Contains, Lit::Str(s)) => format!("contains({v}, {})", lit(s)),
            (Op::In, Lit::List(items)) => {
                let items: Vec<String> = items.iter().map(|i| lit(i)).collect();
                format!("{v} in {{{}}}", items.join(", "))
            }
            _ => "false".to_owned(),
        }
    }

    /// A new rule that holds when one of `bodies` holds; its name.
    fn helper(&mut self, bodies: &[Vec<String>]) -> String {
        let name = format!("df_{}", self.next);
        self.next += 1;
        for body in bodies {
            self.rule(&name, body);
        }
        name
    }

    fn rule(&mut self, head: &str, body: &[String]) {
        if body.is_empty() {
            self.out.push_str(&format!("{head} if true\n\n"));
        } else {
            self.out.push_str(&format!("{head} if {{\n"));
            for stmt in body {
                self.out.push_str(&format!("\t{stmt}\n"));
            }
            self.out.push_str("}\n\n");
        }
    }

    /// `e` as alternative rule bodies (each a conjunction of statements).
    fn bodies(&mut self, e: &Expr) -> Vec<Vec<String>> {
        match e {
            Expr::Or(items) => items.iter().flat_map(|i| self.bodies(i)).collect(),
            Expr::And(items) => {
                let mut body = Vec::new();
                for item in items {
                    let alternatives = self.bodies(item);
                    if let [only] = alternatives.as_slice() {
                        body.extend(only.iter().cloned());
                    } else {
                        body.push(self.helper(&alternatives));
                    }
                }
                vec![body]
            }
            Expr::Not(inner) => {
                if let Expr::Cmp(c) = inner.as_ref() {
                    return vec![vec![if c.negated {
                        Self::positive(c)
                    } else {
                        format!("not {}", Self::positive(c))
                    }]];
                }
                let alternatives = self.bodies(inner);
                let name = self.helper(&alternatives);
                vec![vec![format!("not {name}")]]
            }
            Expr::Cmp(c) => vec![vec![if c.negated {
                format!("not {}", Self::positive(c))
            } else {
                Self::positive(c)
            }]],
        }
    }
}

/// The whole Rego module: [`RULES`] plus the generated device filter rules.
pub fn module(model: &Model) -> String {
    let mut rules = FilterRules {
        out: String::new(),
        next: 0,
    };
    for p in &model.policies {
        if let Some(f) = &p.device_filter {
            rules.out.push_str(&format!("# {}: {}\n", p.name, f.source));
            let head = format!("device_match contains {}", lit(&p.id));
            for body in rules.bodies(&f.rule) {
                rules.rule(&head, &body);
            }
        }
    }
    format!(
        "{RULES}\n# Device filters, one partial-set rule per policy.\n\n{}",
        rules.out
    )
}

/// The input document of a resolved sign-in (built by the host, outside timed regions).
pub fn input(r: &Resolved) -> Value {
    let device: Map<String, Value> = r
        .device
        .iter()
        .map(|(k, v)| {
            let value = match v {
                DeviceValue::Str(s) => json!(s),
                DeviceValue::Bool(b) => json!(b),
            };
            ((*k).to_owned(), value)
        })
        .collect();
    let mut o = json!({
        "user": r.user,
        "groups": set(&r.groups),
        "roles": set(&r.roles),
        "app": r.app,
        "clientAppType": r.client_app_type,
        "platform": r.platform,
        "locations": set(&r.locations),
        "signInRisk": r.sign_in_risk,
        "userRisk": r.user_risk,
        "device": device,
        "methods": set(&r.methods),
        "external": r.external,
        "directConnect": r.direct_connect,
        "approvedClientApp": r.approved_client_app,
        "appProtectionPolicy": r.app_protection_policy,
        "passwordChanged": r.password_changed,
    });
    if let Some(kind) = &r.guest_kind {
        o["guestKind"] = json!(kind);
    }
    o
}

/// Entry point of the allow / not-allow answer.
pub const ALLOW: &str = "data.ca.allow";
/// Entry point of the allow / challenge / deny answer.
pub const DECISION: &str = "data.ca.decision";

fn outcome(v: &RegoValue) -> Result<Outcome, Error> {
    match v.as_string().map(|s| s.as_ref().to_owned()) {
        Ok(s) if s == "allow" => Ok(Outcome::Allow),
        Ok(s) if s == "challenge" => Ok(Outcome::Challenge),
        Ok(s) if s == "deny" => Ok(Outcome::Deny),
        _ => Err(error(format!("rego decision: unexpected {v}"))),
    }
}

fn allowed(v: &RegoValue) -> Result<bool, Error> {
    v.as_bool()
        .copied()
        .map_err(|_| error(format!("rego allow: unexpected {v}")))
}

/// The regorus interpreter loaded with the module and the data document.
#[derive(Clone)]
pub struct RegoEngine {
    engine: Engine,
}

impl RegoEngine {
    /// Parses the module and loads the data.
    pub fn new(model: &Model) -> Result<RegoEngine, Error> {
        let mut engine = Engine::new();
        engine
            .add_policy("ca.rego".to_owned(), module(model))
            .map_err(|e| error(format!("rego module: {e}")))?;
        engine
            .add_data(RegoValue::from(data(model)))
            .map_err(|e| error(format!("rego data: {e}")))?;
        Ok(RegoEngine { engine })
    }

    /// The timed call: set the input, evaluate `rule`.
    #[inline]
    pub fn eval(&mut self, input: &RegoValue, rule: &str) -> Result<RegoValue, Error> {
        self.engine.set_input(input.clone());
        self.engine
            .eval_rule(rule.to_owned())
            .map_err(|e| error(format!("rego {rule}: {e}")))
    }

    /// Allowed or not (`data.ca.allow`).
    pub fn allow(&mut self, input: &RegoValue) -> Result<bool, Error> {
        allowed(&self.eval(input, ALLOW)?)
    }

    /// Allow, challenge or deny (`data.ca.decision`).
    pub fn decide(&mut self, input: &RegoValue) -> Result<Outcome, Error> {
        outcome(&self.eval(input, DECISION)?)
    }
}

/// Instruction budget of one RVM evaluation.
pub const MAX_INSTRUCTIONS: usize = 10_000_000;

/// The module compiled to RVM bytecode, in a VM with the data document loaded.
pub struct RegoVm {
    vm: RegoVM,
    program: Arc<Program>,
}

impl RegoVm {
    /// Compiles the module (both entry points) and loads the data.
    pub fn new(model: &Model) -> Result<RegoVm, Error> {
        let mut engine = Engine::new();
        engine
            .add_policy("ca.rego".to_owned(), module(model))
            .map_err(|e| error(format!("rego module: {e}")))?;
        engine
            .add_data(RegoValue::from(data(model)))
            .map_err(|e| error(format!("rego data: {e}")))?;
        let compiled = engine
            .compile_with_entrypoint(&ALLOW.into())
            .map_err(|e| error(format!("rego compile: {e}")))?;
        let program = Compiler::compile_from_policy(&compiled, &[ALLOW, DECISION])
            .map_err(|e| error(format!("rvm compile: {e}")))?;
        let mut vm = RegoVM::new();
        // The default budget (25,000 instructions) is below what 160 policies need.
        vm.set_max_instructions(MAX_INSTRUCTIONS);
        vm.load_program(program.clone());
        vm.set_data(RegoValue::from(data(model)))
            .map_err(|e| error(format!("rvm data: {e}")))?;
        Ok(RegoVm { vm, program })
    }

    /// Instructions in the compiled program.
    pub fn instruction_count(&self) -> usize {
        self.program.instructions.len()
    }

    /// The timed call: set the input, run one entry point.
    #[inline]
    pub fn eval(&mut self, input: &RegoValue, entry: &str) -> Result<RegoValue, Error> {
        self.vm.set_input(input.clone());
        self.vm
            .execute_entry_point_by_name(entry)
            .map_err(|e| error(format!("rvm {entry}: {e}")))
    }

    /// Allowed or not.
    pub fn allow(&mut self, input: &RegoValue) -> Result<bool, Error> {
        allowed(&self.eval(input, ALLOW)?)
    }

    /// Allow, challenge or deny.
    pub fn decide(&mut self, input: &RegoValue) -> Result<Outcome, Error> {
        outcome(&self.eval(input, DECISION)?)
    }
}

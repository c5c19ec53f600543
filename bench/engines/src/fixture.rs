//! One tenant size, ready for every engine: the generated tenant and requests, gardien's
//! compiled tenant and parsed sign-ins, the host's resolved requests, the Cedar policy sets
//! and requests, the Rego engines and inputs. Everything here is built once, outside timed
//! regions.

use cedar_policy::Request;
use gardien_core::eval::Decision;
use gardien_core::{CompiledTenant, SignIn, Tenant};
use serde_json::Value;

use crate::cedar::{CedarEngine, Mode};
use crate::host::{Host, Resolved};
use crate::model::Model;
use crate::rego::{self, RegoEngine, RegoVm};
use crate::{Error, Outcome, error, synthetic};

/// Seed of the generated tenant (gardien-core's decision bench uses the same one).
pub const SEED: u64 = 0x6a72_6469_656e;

/// Every engine's answer to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answers {
    /// gardien `decide`.
    pub gardien: Outcome,
    /// Cedar, one `forbid` per policy: allowed or not.
    pub cedar_allow: bool,
    /// Cedar, deny / challenge split.
    pub cedar: Outcome,
    /// regorus interpreter, `data.ca.allow`.
    pub rego_allow: bool,
    /// regorus interpreter, `data.ca.decision`.
    pub rego: Outcome,
    /// regorus RVM, `data.ca.allow`.
    pub rvm_allow: bool,
    /// regorus RVM, `data.ca.decision`.
    pub rvm: Outcome,
}

impl Answers {
    /// Whether every engine gives the same allow / not-allow answer.
    pub fn allow_agrees(&self) -> bool {
        let a = self.gardien.allowed();
        [
            self.cedar_allow,
            self.cedar.allowed(),
            self.rego_allow,
            self.rego.allowed(),
            self.rvm_allow,
            self.rvm.allowed(),
        ]
        .iter()
        .all(|x| *x == a)
    }

    /// Whether every engine that tells deny from challenge gives gardien's decision.
    pub fn decision_agrees(&self) -> bool {
        [self.cedar, self.rego, self.rvm]
            .iter()
            .all(|x| *x == self.gardien)
    }
}

/// A tenant size with every engine loaded.
pub struct Fixture {
    /// Policies in the generated tenant (enabled, report-only and disabled).
    pub policies: usize,
    /// The translated model.
    pub model: Model,
    /// Request bodies (What If JSON).
    pub bodies: Vec<Value>,
    /// gardien's compiled tenant.
    pub gardien: CompiledTenant,
    /// gardien's sign-ins.
    pub signins: Vec<SignIn>,
    /// The host resolver.
    pub host: Host,
    /// Resolved requests.
    pub resolved: Vec<Resolved>,
    /// Cedar, allow / not-allow policy set.
    pub cedar_allow: CedarEngine,
    /// Cedar, deny / challenge policy set.
    pub cedar_full: CedarEngine,
    /// Cedar requests for [`Fixture::cedar_allow`].
    pub cedar_requests: Vec<Request>,
    /// Cedar requests for [`Fixture::cedar_full`].
    pub cedar_full_requests: Vec<Request>,
    /// regorus interpreter.
    pub rego: RegoEngine,
    /// regorus RVM.
    pub rvm: RegoVm,
    /// Rego input documents.
    pub rego_inputs: Vec<regorus::Value>,
}

/// gardien's decision as an [`Outcome`].
pub fn gardien_outcome(d: Decision) -> Outcome {
    match d {
        Decision::Allow => Outcome::Allow,
        Decision::Challenge => Outcome::Challenge,
        Decision::Deny => Outcome::Deny,
    }
}

impl Fixture {
    /// Generates a tenant of `policies` policies (varied shape) and `requests` requests, and
    /// loads every engine.
    pub fn build(policies: usize, requests: usize) -> Result<Fixture, Error> {
        let generated = synthetic::generate_sized(SEED, policies, requests);
        Fixture::from_parts(policies, &generated.source, generated.requests, None)
    }

    /// Loads every engine from a tenant's files and request bodies; `model` replaces the
    /// translation read from the files (to check that a broken one is caught).
    pub fn from_parts(
        policies: usize,
        source: &gardien_core::TenantSource,
        bodies: Vec<Value>,
        model: Option<Model>,
    ) -> Result<Fixture, Error> {
        let tenant = Tenant::load(source).map_err(|e| error(format!("gardien: {e}")))?;
        let gardien = CompiledTenant::compile(tenant);
        let signins = bodies
            .iter()
            .map(|b| SignIn::from_value("request.json", b).map_err(|e| error(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let model = match model {
            Some(m) => m,
            None => Model::load(source)?,
        };
        let host = Host::new(&model)?;
        let resolved = bodies
            .iter()
            .map(|b| host.resolve(b))
            .collect::<Result<Vec<_>, _>>()?;
        let cedar_allow = CedarEngine::new(&model, &host, Mode::AllowOrNot)?;
        let cedar_full = CedarEngine::new(&model, &host, Mode::Full)?;
        let cedar_requests = resolved
            .iter()
            .map(|r| cedar_allow.request(r))
            .collect::<Result<Vec<_>, _>>()?;
        let cedar_full_requests = resolved
            .iter()
            .map(|r| cedar_full.request(r))
            .collect::<Result<Vec<_>, _>>()?;
        let rego = RegoEngine::new(&model)?;
        let rvm = RegoVm::new(&model)?;
        let rego_inputs = resolved
            .iter()
            .map(|r| regorus::Value::from(rego::input(r)))
            .collect();
        Ok(Fixture {
            policies,
            model,
            bodies,
            gardien,
            signins,
            host,
            resolved,
            cedar_allow,
            cedar_full,
            cedar_requests,
            cedar_full_requests,
            rego,
            rvm,
            rego_inputs,
        })
    }

    /// Number of requests.
    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    /// Whether there are no requests.
    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }

    /// gardien's and Cedar's (deny / challenge policy set) answers to request `i`: the cheap
    /// pair, for checks that need only one translation.
    pub fn gardien_and_cedar(&self, i: usize) -> Result<(Outcome, Outcome), Error> {
        let missing = || error(format!("no request {i}"));
        let signin = self.signins.get(i).ok_or_else(missing)?;
        let request = self.cedar_full_requests.get(i).ok_or_else(missing)?;
        Ok((
            gardien_outcome(self.gardien.decide(signin).decision),
            self.cedar_full.decide(request)?,
        ))
    }

    /// Every engine's answer to request `i`.
    pub fn answers(&mut self, i: usize) -> Result<Answers, Error> {
        let missing = || error(format!("no request {i}"));
        let signin = self.signins.get(i).ok_or_else(missing)?;
        let cedar_request = self.cedar_requests.get(i).ok_or_else(missing)?;
        let cedar_full_request = self.cedar_full_requests.get(i).ok_or_else(missing)?;
        let input = self.rego_inputs.get(i).ok_or_else(missing)?;
        Ok(Answers {
            gardien: gardien_outcome(self.gardien.decide(signin).decision),
            cedar_allow: self.cedar_allow.decide(cedar_request)?.allowed(),
            cedar: self.cedar_full.decide(cedar_full_request)?,
            rego_allow: self.rego.allow(input)?,
            rego: self.rego.decide(input)?,
            rvm_allow: self.rvm.allow(input)?,
            rvm: self.rvm.decide(input)?,
        })
    }
}

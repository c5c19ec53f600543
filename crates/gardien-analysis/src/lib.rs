//! Offline analysis of a tenant with the same evaluator as enforcement (never a second
//! implementation of a condition): lint rules with stable codes, coverage gaps over the
//! equivalence classes the policies distinguish, replay of sign-in logs against a proposed
//! tenant, semantic diff between tenants, declarative policy test suites, and the smallest
//! changes that would turn a deny or challenge into an allow.

#![deny(missing_docs)]

pub mod changes;
pub mod counterfactual;
pub mod diff;
pub mod doc;
pub mod gaps;
pub mod lint;
pub mod replay;
pub mod suite;

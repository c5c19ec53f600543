//! Agent identities and agents' user accounts (Microsoft Entra Agent ID, preview): who an
//! agent policy assigns, and agent risk (docs/semantics.md "Agent identities (preview)").
//!
//! Source: Microsoft Learn, "Conditional Access for agent identities" and "Target agent
//! identities in Microsoft Entra Conditional Access policies"; Graph beta
//! `conditionalAccessClientApplications` (`includeAgentIdServicePrincipals`,
//! `excludeAgentIdServicePrincipals`, `agentIdServicePrincipalFilter`),
//! `conditionalAccessUsers` (`AllAgentIdUsers`), `conditionalAccessConditionSet`
//! (`agentIdRiskLevels`).

use crate::eval::input::{AgentView, Input, Mode, Outcome, UserView};
use crate::eval::trace::Tracer;
use crate::model::enums::{EnumSet, RiskLevel};
use crate::model::policy::{AgentIdentitiesCondition, FilterMode, Policy, UserCondition};
use crate::signin::Subject;

/// Whether an entry of `include/excludeAgentIdServicePrincipals` names the agent: its object
/// id, its app id, or the blueprint it derives from ("targeting a blueprint automatically
/// covers all agent identities derived from it").
fn names(list: &[Box<str>], agent: &AgentView<'_>) -> Option<&'static str> {
    list.iter().find_map(|x| {
        let x = x.as_ref();
        if x == agent.id || agent.app_id == Some(x) {
            Some("by id")
        } else if agent.blueprint == Some(x) {
            Some("through its blueprint")
        } else {
            None
        }
    })
}

/// Whether the custom-security-attribute filter of mode `mode` matches the agent. An agent
/// identity the directory does not list has no known attributes and matches no filter
/// (so an exclude-mode filter never exempts it: fail closed).
fn filter_matches(c: &AgentIdentitiesCondition, mode: FilterMode, agent: &AgentView<'_>) -> bool {
    c.filter.as_ref().is_some_and(|f| {
        f.mode == mode
            && agent.attributes.is_some_and(|attrs| {
                f.rule.matches(|name| {
                    attrs
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.as_str())
                })
            })
    })
}

/// The agent-identity assignment of a policy for an agent identity (or an exempt blueprint)
/// signing in with its own identity.
pub(crate) fn check_agent_identity<T: Tracer>(
    policy: &Policy,
    agent: &AgentView<'_>,
    t: &mut T,
) -> Outcome {
    if let Some(why) = agent.exempt {
        t.note(|| why.describe().to_owned());
        return Outcome::NotSatisfied;
    }
    let Some(c) = &policy.conditions.agent_identities else {
        t.note(|| {
            format!(
                "agent identity `{}`: the policy does not assign agent identities (policies for users or workload identities do not cover them)",
                agent.id
            )
        });
        return Outcome::NotSatisfied;
    };
    let how = if c.include_all {
        Some("`All` agent identities")
    } else {
        names(&c.include, agent).or_else(|| {
            filter_matches(c, FilterMode::Include, agent)
                .then_some("through the custom security attribute filter")
        })
    };
    let Some(how) = how else {
        t.note(|| {
            if c.filter.is_some() && agent.attributes.is_none() {
                format!(
                    "agent identity `{}` is not included (the directory does not list it, so its custom security attributes are unknown)",
                    agent.id
                )
            } else {
                format!("agent identity `{}` is not included", agent.id)
            }
        });
        return Outcome::NotSatisfied;
    };
    if let Some(why) = names(&c.exclude, agent) {
        t.note(|| {
            format!(
                "agent identity `{}` is included {how} but excluded {why}",
                agent.id
            )
        });
        return Outcome::NotSatisfied;
    }
    if filter_matches(c, FilterMode::Exclude, agent) {
        t.note(|| {
            format!(
                "agent identity `{}` is included {how} but excluded by the custom security attribute filter",
                agent.id
            )
        });
        return Outcome::NotSatisfied;
    }
    t.note(|| format!("agent identity `{}` is included {how}", agent.id));
    Outcome::Satisfied
}

/// The user assignment of a policy for an agent's user account: only `AllAgentIdUsers` or the
/// account's own id includes it (policies for `All` users do not), only its id excludes it
/// (Learn: group membership and custom security attributes cannot scope agent users).
pub(crate) fn check_agent_user<T: Tracer>(
    policy: &Policy,
    user: &UserView<'_>,
    t: &mut T,
) -> Outcome {
    let Some(UserCondition { include, exclude }) = &policy.conditions.users else {
        t.note(|| "the policy targets workload or agent identities, not users".to_owned());
        return Outcome::NotSatisfied;
    };
    let how = if include.all_agent_users {
        "`AllAgentIdUsers`"
    } else if include.users.iter().any(|u| u.as_ref() == user.id) {
        "by id"
    } else {
        t.note(|| {
            if include.all {
                format!(
                    "agent user `{}` is not included: `All` users does not cover agents' user accounts (only `AllAgentIdUsers` does)",
                    user.id
                )
            } else {
                format!(
                    "agent user `{}` is not included (groups, roles and attributes do not scope agents' user accounts)",
                    user.id
                )
            }
        });
        return Outcome::NotSatisfied;
    };
    if exclude.users.iter().any(|u| u.as_ref() == user.id) {
        t.note(|| {
            format!(
                "agent user `{}` is included {how} but excluded by id",
                user.id
            )
        });
        return Outcome::NotSatisfied;
    }
    t.note(|| format!("agent user `{}` is included {how}", user.id));
    Outcome::Satisfied
}

/// Agent risk (`agentIdRiskLevels`): the agent's level must be selected. A request without
/// `agentIdRiskLevel` has no agent risk (`none`) in enforcement, and in what-if when no agent
/// signs in (a person or a workload has no agent risk); an agent's missing level is
/// undecidable in what-if.
pub(crate) fn check_agent_risk<T: Tracer>(
    levels: EnumSet,
    input: &Input<'_>,
    t: &mut T,
) -> Outcome {
    let level = match (input.signin.agent_risk, input.mode) {
        (Some(l), _) => l,
        (None, Mode::WhatIf) if is_agent(input) => {
            t.note(|| "the request gives no agent risk level".to_owned());
            return Outcome::Unknown;
        }
        (None, _) => RiskLevel::None,
    };
    let hit = levels.contains(level.index());
    t.note(|| {
        format!(
            "agent risk `{level}` is {}selected",
            if hit { "" } else { "not " }
        )
    });
    Outcome::of(hit)
}

/// Whether an agent signs in (an agent identity, an exempt blueprint or an agent's user
/// account, or a request that says `agentSignIn`).
pub(crate) fn is_agent(input: &Input<'_>) -> bool {
    input.agent.is_some() || matches!(input.signin.subject, Subject::Agent { .. })
}

/// Whether every agent identity that `inner` assigns is assigned by `outer` too. `None`
/// assigns no agent identity; a filter on either side is never compared (conservative).
pub fn agent_identities_contain(
    outer: Option<&AgentIdentitiesCondition>,
    inner: Option<&AgentIdentitiesCondition>,
) -> bool {
    let subset = |small: &[Box<str>], big: &[Box<str>]| small.iter().all(|x| big.contains(x));
    match (outer, inner) {
        (_, None) => true,
        (Some(q), Some(p)) if q.filter.is_none() && p.filter.is_none() => {
            let include = q.include_all || (!p.include_all && subset(&p.include, &q.include));
            include && subset(&q.exclude, &p.exclude)
        }
        _ => false,
    }
}

/// Whether every sign-in that the agent risk levels `inner` select is selected by `outer` too
/// (`None`: not configured, every level).
pub fn agent_risk_contains(outer: Option<EnumSet>, inner: Option<EnumSet>) -> bool {
    let selects = |set: Option<EnumSet>, l: RiskLevel| set.is_none_or(|s| s.contains(l.index()));
    RiskLevel::ALL
        .iter()
        .all(|&l| !selects(inner, l) || selects(outer, l))
}

#[cfg(test)]
mod tests {
    use super::{agent_identities_contain, agent_risk_contains};
    use crate::eval::Decision;
    use crate::model::enums::{EnumSet, RiskLevel};
    use crate::model::policy::AgentIdentitiesCondition;
    use crate::{SignIn, SourceFile, Tenant, TenantSource};
    use serde_json::{Value, json};

    fn agent_policy(grant: Value) -> Value {
        json!({"policies": [{"id": "p", "displayName": "p", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["None"]},
                           "applications": {"includeApplications": ["All"]},
                           "clientApplications": {"includeAgentIdServicePrincipals": ["All"]}},
            "grantControls": grant}],
            "directory": {"servicePrincipals": [
                {"@odata.type": "#microsoft.graph.agentIdentity", "id": "agent1", "displayName": "Agent"}]}})
    }

    /// Block is the only control for agent identities: a policy that assigns only agent
    /// identities with another control is refused, naming the pointer.
    #[test]
    fn agent_identity_policies_can_only_block() {
        let source = |t: &Value| TenantSource {
            combined: Some(SourceFile::new("t.json", t.to_string())),
            ..Default::default()
        };
        let mfa = agent_policy(json!({"operator": "OR", "builtInControls": ["mfa"]}));
        let errors = Tenant::load(&source(&mfa)).err().map(|e| e.to_string());
        assert!(
            errors
                .as_deref()
                .is_some_and(|e| e.contains("/policies/0/grantControls")
                    && e.contains("agent identities can only `block`")),
            "{errors:?}"
        );
        let block = agent_policy(json!({"operator": "OR", "builtInControls": ["block"]}));
        assert!(Tenant::load(&source(&block)).is_ok());
    }

    /// A `servicePrincipalSignIn` of a service principal the directory types as an agent
    /// identity is an agent identity: agent policies decide it, never workload policies.
    #[test]
    fn a_typed_service_principal_signs_in_as_an_agent() {
        let Some(tenant) = crate::testing::compile(&agent_policy(
            json!({"operator": "OR", "builtInControls": ["block"]}),
        )) else {
            unreachable!("the tenant loads");
        };
        let request = |identity: Value| {
            SignIn::from_value(
                "r.json",
                &json!({"signInIdentity": identity,
                        "signInContext": {"@odata.type": "#microsoft.graph.applicationContext",
                                          "includeApplications": ["a1"]},
                        "signInConditions": {}}),
            )
            .ok()
        };
        for identity in [
            json!({"@odata.type": "#microsoft.graph.servicePrincipalSignIn", "servicePrincipalId": "agent1"}),
            json!({"@odata.type": "#microsoft.graph.agentSignIn", "agentServicePrincipalId": "agent1"}),
        ] {
            let Some(signin) = request(identity) else {
                unreachable!("the request parses");
            };
            let v = tenant.decide(&signin);
            assert_eq!(v.decision, Decision::Deny);
            assert_eq!(tenant.evaluate(&signin).verdict, v);
        }
    }

    #[test]
    fn containment_of_agent_assignments() {
        let all = AgentIdentitiesCondition {
            include_all: true,
            ..Default::default()
        };
        let one = AgentIdentitiesCondition {
            include: vec!["a1".into()],
            ..Default::default()
        };
        let all_but_one = AgentIdentitiesCondition {
            include_all: true,
            exclude: vec!["a1".into()],
            ..Default::default()
        };
        assert!(agent_identities_contain(Some(&all), Some(&one)));
        assert!(!agent_identities_contain(Some(&one), Some(&all)));
        assert!(!agent_identities_contain(Some(&all_but_one), Some(&all)));
        assert!(agent_identities_contain(Some(&all), Some(&all_but_one)));
        assert!(!agent_identities_contain(None, Some(&one)));
        assert!(agent_identities_contain(None, None));

        let mut high = EnumSet::default();
        high.insert(RiskLevel::High.index());
        assert!(agent_risk_contains(None, Some(high)));
        assert!(!agent_risk_contains(Some(high), None));
    }
}

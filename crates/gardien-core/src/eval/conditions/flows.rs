//! Authentication flows with protocol tracking (docs/reference/entra-semantics.md §1.11, §3.2 item
//! 9).

use crate::eval::input::{Input, Mode, Outcome};
use crate::eval::trace::Tracer;
use crate::model::enums::{EnumSet, TransferMethod};

/// Whether a transfer method counts for a selected set (`none` never does).
fn method_selected(methods: EnumSet, m: TransferMethod) -> bool {
    m != TransferMethod::None && methods.contains(m.index())
}

/// Whether every sign-in that the authentication flows `inner` select is selected by `outer`
/// too (`None`: not configured, every sign-in). A configured condition selects a sign-in whose
/// current or original transfer method it lists ([`check_flows`]), so it contains another one
/// exactly when it lists every method the other lists; it never contains "not configured"
/// (a sign-in with no transfer method).
pub fn flows_contain(outer: Option<EnumSet>, inner: Option<EnumSet>) -> bool {
    match (outer, inner) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(q), Some(p)) => TransferMethod::ALL
            .iter()
            .all(|&m| !method_selected(p, m) || method_selected(q, m)),
    }
}

/// Matches when the request's transfer method, or the one that created its session
/// (protocol tracking survives refreshes), is selected. In what-if, a request without a
/// transfer method is undecidable unless protocol tracking already matches.
pub(crate) fn check_flows<T: Tracer>(methods: EnumSet, input: &Input<'_>, t: &mut T) -> Outcome {
    let current = input.signin.transfer_method;
    let original = input.signin.session.original_transfer_method;
    let selected = |m: Option<TransferMethod>| m.is_some_and(|m| method_selected(methods, m));
    if selected(current) {
        t.note(|| {
            format!(
                "transfer method `{}` is selected",
                current.map(|m| m.as_str()).unwrap_or("")
            )
        });
        return Outcome::Satisfied;
    }
    if selected(original) {
        t.note(|| {
            format!(
                "the session was created by `{}` (protocol tracking)",
                original.map(|m| m.as_str()).unwrap_or("")
            )
        });
        return Outcome::Satisfied;
    }
    if current.is_none() && input.mode == Mode::WhatIf {
        t.note(|| "the request gives no authentication flow".to_owned());
        return Outcome::Unknown;
    }
    t.note(|| {
        format!(
            "transfer method `{}` is not selected",
            current.unwrap_or(TransferMethod::None)
        )
    });
    Outcome::NotSatisfied
}

#[cfg(test)]
mod tests {
    use super::flows_contain;
    use crate::eval::input::Outcome;
    use crate::model::enums::{EnumSet, TransferMethod};

    #[test]
    fn containment_of_authentication_flows() {
        let set = |ms: &[TransferMethod]| {
            let mut s = EnumSet::default();
            for m in ms {
                s.insert(m.index());
            }
            s
        };
        let code = set(&[TransferMethod::DeviceCodeFlow]);
        let both = set(&[
            TransferMethod::DeviceCodeFlow,
            TransferMethod::AuthenticationTransfer,
        ]);
        assert!(flows_contain(Some(both), Some(code)));
        assert!(!flows_contain(Some(code), Some(both)));
        assert!(flows_contain(None, Some(code)));
        assert!(!flows_contain(Some(both), None));
        // `none` listed selects nothing more.
        let code_and_none = set(&[TransferMethod::DeviceCodeFlow, TransferMethod::None]);
        assert!(flows_contain(Some(code), Some(code_and_none)));
    }

    use serde_json::json;

    /// What-if outcome of the authentication-flow condition of a device-code policy.
    fn flow_outcome(conditions: serde_json::Value, session: serde_json::Value) -> Option<Outcome> {
        let tenant = json!({"policies": [{"id": "p", "displayName": "p", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]},
                           "applications": {"includeApplications": ["All"]},
                           "authenticationFlows": {"transferMethods": "deviceCodeFlow"}},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}}]});
        let tenant = crate::testing::compile(&tenant)?;
        let signin = crate::testing::signin(conditions, session)?;
        let records = tenant.what_if(&signin);
        let record = records.first()?;
        record
            .conditions
            .iter()
            .find(|c| c.condition == crate::eval::Condition::AuthenticationFlow)
            .map(|c| c.outcome)
    }

    /// Found by the differential test against the reference evaluator: a what-if request
    /// without a transfer method, in a session whose tracked original method is not
    /// selected, was reported `notSatisfied` although the current flow could be device code
    /// (docs/reference/entra-semantics.md §3.5: a missing input makes the condition undecidable).
    #[test]
    fn r7_what_if_without_a_transfer_method_is_undecidable_despite_an_unselected_original() {
        let original = json!({"originalTransferMethod": "authenticationTransfer"});
        assert_eq!(
            flow_outcome(json!({}), original.clone()),
            Some(Outcome::Unknown)
        );
        assert_eq!(flow_outcome(json!({}), json!({})), Some(Outcome::Unknown));
        // Protocol tracking decides on its own when the original method is selected.
        let tracked = json!({"originalTransferMethod": "deviceCodeFlow"});
        assert_eq!(flow_outcome(json!({}), tracked), Some(Outcome::Satisfied));
        // A given, unselected current method decides.
        let given = json!({"authenticationFlow": {"transferMethod": "authenticationTransfer"}});
        assert_eq!(flow_outcome(given, original), Some(Outcome::NotSatisfied));
    }
}

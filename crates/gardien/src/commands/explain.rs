//! `gardien explain`: for a deny or challenge, the smallest sets of changes the user or an
//! administrator could make that turn it into an allow, found with the same evaluator.

use anyhow::Result;
use gardien_analysis::counterfactual::{AdminChangeKind, what_would_let_me_in};
use gardien_core::explain::UserAction;
use std::fmt::Write as _;
use std::path::Path;

use crate::{Exit, print_out, tenant_fs};

/// A user action in plain words.
fn words(a: UserAction) -> &'static str {
    match a {
        UserAction::RegisterDevice => "register this device",
        UserAction::MakeDeviceCompliant => "make this device compliant",
        UserAction::UpdateOs => "update the operating system",
        UserAction::UseAnotherDevice => "use another (managed) device",
        UserAction::DisconnectVpn => "disconnect from the VPN or proxy",
        UserAction::SignInFromAllowedLocation => "sign in from an allowed location",
        UserAction::UseDesktopApp => "use the desktop or mobile app instead of the browser",
        UserAction::UseBrowser => "use the browser instead of the app",
        UserAction::UseApprovedApp => "use an approved client app",
        UserAction::UseModernClient => "use a modern-authentication client",
        UserAction::CompleteMfa => "complete multifactor authentication",
        UserAction::CompleteMfaInHomeOrganization => {
            "complete multifactor authentication in your own organisation"
        }
        UserAction::UseStrongerMethod => "use a stronger authentication method",
        UserAction::ChangePassword => "change the password",
        UserAction::AcceptTermsOfUse => "accept the terms of use",
        UserAction::WaitAndRetry => "wait until the risk is cleared and retry",
        UserAction::ContactSupport => "contact support",
    }
}

/// Prints the search result (evaluated at `now`, Unix seconds); exit 0 (the search ran), 1 on
/// bad input.
pub fn run(tenant: &Path, request: &Path, json: bool, now: i64) -> Result<Exit> {
    let compiled = tenant_fs::load_for_decisions(tenant)?;
    let mut signin = tenant_fs::read_request(request, &compiled.tenant)?;
    signin.at = Some(now);
    let result = what_would_let_me_in(&compiled, &signin);
    if json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&result)?))?;
        return Ok(Exit::Ok);
    }
    let mut out = String::new();
    let _ = writeln!(out, "decision now: {}", result.decision);
    if result.decision == gardien_core::Decision::Allow {
        let _ = writeln!(out, "nothing to change");
    } else {
        let _ = writeln!(
            out,
            "\nwhat the user can do (each line is enough on its own):"
        );
        if result.user_paths.is_empty() {
            let _ = writeln!(out, "  nothing within reach: contact support");
        }
        for p in &result.user_paths {
            let steps: Vec<&str> = p.actions.iter().map(|a| words(*a)).collect();
            let _ = writeln!(out, "  - {}", steps.join(", and "));
        }
        let _ = writeln!(out, "\nwhat an administrator could change:");
        if result.admin_paths.is_empty() {
            let _ = writeln!(out, "  no exclusion from the applying policies is enough");
        }
        for p in &result.admin_paths {
            let steps: Vec<String> = p
                .changes
                .iter()
                .map(|c| match c.kind {
                    AdminChangeKind::ExcludeUser => {
                        format!(
                            "exclude the user from `{}` ({})",
                            c.display_name, c.policy_id
                        )
                    }
                    AdminChangeKind::DisablePolicy => {
                        format!("disable `{}` ({})", c.display_name, c.policy_id)
                    }
                })
                .collect();
            let _ = writeln!(out, "  - {}", steps.join(", and "));
        }
        let _ = writeln!(out, "\n({} sign-ins evaluated)", result.evaluations);
    }
    print_out(&out)?;
    Ok(Exit::Ok)
}

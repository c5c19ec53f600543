//! `GA003` no-emergency-access-exclusion: an enabled policy can deny administrators the admin
//! tools in some circumstance and excludes no user or group.
//!
//! Found by the emergency-access search ([`crate::lint::search::lockout`]); the lowest tier
//! of GA001 and GA002.

use crate::lint::Context;
use crate::lint::registry::NO_EMERGENCY_EXCLUSION;
use crate::lint::search::lockout::Lockout;

pub(super) fn check(cx: &mut Context<'_>, search: &Lockout) {
    let tenant = cx.tenant;
    for d in search.denying(tenant).iter().filter(|d| {
        d.excludes_nobody()
            && !super::lockout_all_users::holds(d)
            && !super::admin_portal_lockout::holds(d)
    }) {
        let name = cx.policy_name(d.index);
        cx.report(
            NO_EMERGENCY_EXCLUSION,
            Some(d.index),
            "/conditions/users",
            format!(
                "policy {name} excludes no user or group, yet it {}",
                d.witness
            ),
            None,
        );
    }
}

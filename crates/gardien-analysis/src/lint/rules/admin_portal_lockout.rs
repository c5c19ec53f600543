//! `GA002` admin-portal-lockout: an enabled policy denies every Global Administrator the
//! Microsoft admin portals everywhere, and excludes no user or group.
//!
//! Found by the emergency-access search ([`crate::lint::search::lockout`]); a policy that
//! also holds for GA001 (the more severe tier) is reported there only.

use crate::lint::Context;
use crate::lint::registry::ADMIN_PORTAL_LOCKOUT;
use crate::lint::search::lockout::{Denying, Lockout};

/// Whether the finding holds for a denying policy (and GA001 does not).
pub(super) fn holds(d: &Denying<'_>) -> bool {
    d.excludes_nobody() && d.tally.everywhere(0) && !super::lockout_all_users::holds(d)
}

pub(super) fn check(cx: &mut Context<'_>, search: &Lockout) {
    let tenant = cx.tenant;
    for d in search.denying(tenant).iter().filter(|d| holds(d)) {
        let name = cx.policy_name(d.index);
        cx.report(
            ADMIN_PORTAL_LOCKOUT,
            Some(d.index),
            "/conditions/users",
            format!(
                "policy {name} denies every Global Administrator the Microsoft admin portals on every platform, client and location, and excludes no user or group (it {})",
                d.witness
            ),
            None,
        );
    }
}

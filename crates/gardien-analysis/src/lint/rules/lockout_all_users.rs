//! `GA001` lockout-all-users: an enabled policy denies every user, emergency-access accounts
//! included, the admin tools everywhere, and excludes no user or group.
//!
//! Found by the emergency-access search ([`crate::lint::search::lockout`]): every admin tool
//! is denied in every variant tried, and a member with no group or role is in scope too.

use crate::lint::Context;
use crate::lint::registry::LOCKOUT_ALL_USERS;
use crate::lint::search::lockout::{Denying, Lockout};

/// Whether the finding holds for a denying policy.
pub(super) fn holds(d: &Denying<'_>) -> bool {
    d.excludes_nobody() && d.tally.all_targets_everywhere() && d.tally.member_in_scope
}

pub(super) fn check(cx: &mut Context<'_>, search: &Lockout) {
    let tenant = cx.tenant;
    for d in search.denying(tenant).iter().filter(|d| holds(d)) {
        let name = cx.policy_name(d.index);
        cx.report(
            LOCKOUT_ALL_USERS,
            Some(d.index),
            "/conditions/users",
            format!(
                "policy {name} denies every user, emergency-access accounts included, the Azure portal, Azure management and Microsoft Graph on every platform, client and location, and excludes no user or group (it {})",
                d.witness
            ),
            None,
        );
    }
}

//! `GA101` unknown-user: a policy includes or excludes a user id that is not in the directory.
//!
//! Compared against [`crate::lint::search::references::Known`]; skipped when the directory
//! does not list users.

use crate::lint::Context;
use crate::lint::registry::UNKNOWN_USER;
use crate::lint::search::references::{Known, UsersMember, report_unknown_users_member, skip};

pub(super) fn check(cx: &mut Context<'_>, known: &Known<'_>) {
    if !known.has_users {
        return skip(cx, UNKNOWN_USER);
    }
    let users = UsersMember {
        include: "includeUsers",
        exclude: "excludeUsers",
        what: "user",
        exclude_help: "an excluded account that does not exist protects nobody: if it is an emergency-access account, exclude the account that exists (better: a group)",
        ids: |p| &p.users,
    };
    report_unknown_users_member(cx, UNKNOWN_USER, &users, &|id| known.user(id));
}

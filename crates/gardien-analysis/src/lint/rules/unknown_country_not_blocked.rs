//! `GA305` unknown-country-not-blocked: a block of selected countries lets addresses that map
//! to no country through. Found by [`crate::lint::search::countries`].

use crate::lint::Context;
use crate::lint::registry::UNKNOWN_COUNTRY_NOT_BLOCKED;
use crate::lint::search::countries::{Side, search};

pub(super) fn check(cx: &mut Context<'_>) {
    for hit in search(cx, Side::Blocked) {
        let name = cx.policy_name(hit.index);
        cx.report(
            UNKNOWN_COUNTRY_NOT_BLOCKED,
            Some(hit.index),
            &hit.pointer,
            format!(
                "policy {name} blocks `{}` but lets sign-ins from addresses that map to no country through: the location does not include unknown countries and regions",
                hit.location
            ),
            None,
        );
    }
}

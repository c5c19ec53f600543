//! `GA304` unknown-country-blocked: a block that excludes allowed countries also blocks
//! addresses that map to no country. Found by [`crate::lint::search::countries`].

use crate::lint::Context;
use crate::lint::registry::UNKNOWN_COUNTRY_BLOCKED;
use crate::lint::search::countries::{Side, search};

pub(super) fn check(cx: &mut Context<'_>) {
    for hit in search(cx, Side::Exempted) {
        let name = cx.policy_name(hit.index);
        cx.report(
            UNKNOWN_COUNTRY_BLOCKED,
            Some(hit.index),
            &hit.pointer,
            format!(
                "policy {name} also blocks sign-ins from addresses that map to no country: the location it exempts, `{}`, does not include unknown countries and regions",
                hit.location
            ),
            None,
        );
    }
}

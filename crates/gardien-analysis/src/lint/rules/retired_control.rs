//! `GA306` retired-control: an enabled or report-only policy relies on a grant control that Microsoft has retired or
//! made read-only (at the lint's `now`). Found by [`crate::lint::search::dated`].

use crate::lint::Context;
use crate::lint::registry::RETIRED_CONTROL;

pub(super) fn check(cx: &mut Context<'_>) {
    crate::lint::search::dated::report(cx, RETIRED_CONTROL);
}

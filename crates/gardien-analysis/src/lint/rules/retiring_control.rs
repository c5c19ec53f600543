//! `GA307` retiring-control: an enabled or report-only policy relies on a grant control whose retirement is
//! announced but not yet in force (at the lint's `now`). Found by [`crate::lint::search::dated`].

use crate::lint::Context;
use crate::lint::registry::RETIRING_CONTROL;

pub(super) fn check(cx: &mut Context<'_>) {
    crate::lint::search::dated::report(cx, RETIRING_CONTROL);
}

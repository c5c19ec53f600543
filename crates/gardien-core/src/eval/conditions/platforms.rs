//! Device platforms (docs/reference/entra-semantics.md §1.7, §3.2 item 5).

use crate::eval::input::{Input, Outcome};
use crate::eval::trace::Tracer;
use crate::model::enums::DevicePlatform;
use crate::model::policy::PlatformCondition;

/// Whether a platform is in scope of a platform condition. `Unknown` is matched only by
/// `all` and can never be excluded: the "block unknown platforms" recipe relies on it.
pub(crate) fn check_platforms<T: Tracer>(
    cond: &PlatformCondition,
    input: &Input<'_>,
    t: &mut T,
) -> Outcome {
    let Some(platform) = input.platform else {
        if cond.include_all && cond.exclude.is_empty() {
            return Outcome::Satisfied;
        }
        t.note(|| "the request gives no device platform".to_owned());
        return Outcome::Unknown;
    };
    let included = cond.include_all
        || (platform != DevicePlatform::Unknown && cond.include.contains(platform.index()));
    if !included {
        t.note(|| format!("platform `{platform}` is not included"));
        return Outcome::NotSatisfied;
    }
    if platform != DevicePlatform::Unknown && cond.exclude.contains(platform.index()) {
        t.note(|| format!("platform `{platform}` is excluded"));
        return Outcome::NotSatisfied;
    }
    t.note(|| {
        format!(
            "platform `{platform}` is included{}",
            if cond.include_all {
                " through `all`"
            } else {
                ""
            }
        )
    });
    Outcome::Satisfied
}

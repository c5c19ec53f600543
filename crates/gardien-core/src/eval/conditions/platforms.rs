//! Device platforms (docs/reference/entra-semantics.md §1.7, §3.2 item 5).

use crate::eval::input::{Input, Outcome};
use crate::eval::trace::Tracer;
use crate::model::enums::DevicePlatform;
use crate::model::policy::PlatformCondition;

/// Whether `platform` is on the include side (`Unknown` only through `all`).
fn included(cond: &PlatformCondition, platform: DevicePlatform) -> bool {
    cond.include_all
        || (platform != DevicePlatform::Unknown && cond.include.contains(platform.index()))
}

/// Whether `platform` is on the exclude side (`Unknown` never is).
fn excluded(cond: &PlatformCondition, platform: DevicePlatform) -> bool {
    platform != DevicePlatform::Unknown && cond.exclude.contains(platform.index())
}

/// Whether a sign-in from `platform` is in scope of `cond` (`None`: no platform condition).
fn in_scope(cond: Option<&PlatformCondition>, platform: DevicePlatform) -> bool {
    cond.is_none_or(|c| included(c, platform) && !excluded(c, platform))
}

/// Whether every sign-in whose platform `inner` selects is selected by `outer` too (`None`:
/// the policy has no platform condition, so every platform). Exact: the platform domain is
/// finite and each platform is decided by the same rule as [`check_platforms`].
pub fn platforms_contain(
    outer: Option<&PlatformCondition>,
    inner: Option<&PlatformCondition>,
) -> bool {
    DevicePlatform::ALL
        .iter()
        .all(|&p| !in_scope(inner, p) || in_scope(outer, p))
}

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
    if !included(cond, platform) {
        t.note(|| format!("platform `{platform}` is not included"));
        return Outcome::NotSatisfied;
    }
    if excluded(cond, platform) {
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

#[cfg(test)]
mod tests {
    use super::platforms_contain;
    use crate::model::enums::{DevicePlatform, EnumSet};
    use crate::model::policy::PlatformCondition;

    fn cond(
        all: bool,
        include: &[DevicePlatform],
        exclude: &[DevicePlatform],
    ) -> PlatformCondition {
        let set = |ps: &[DevicePlatform]| {
            let mut s = EnumSet::default();
            for p in ps {
                s.insert(p.index());
            }
            s
        };
        PlatformCondition {
            include_all: all,
            include: set(include),
            exclude: set(exclude),
        }
    }

    #[test]
    fn containment_follows_include_exclude_and_unknown() {
        use DevicePlatform::{Android, IOS, Windows};
        let mobile = cond(false, &[Android, IOS], &[]);
        let ios = cond(false, &[IOS], &[]);
        assert!(platforms_contain(Some(&mobile), Some(&ios)));
        assert!(!platforms_contain(Some(&ios), Some(&mobile)));
        // No condition is every platform, `Unknown` included: only `all` without exclusions
        // contains it.
        assert!(platforms_contain(None, Some(&mobile)));
        assert!(!platforms_contain(Some(&mobile), None));
        assert!(platforms_contain(Some(&cond(true, &[], &[])), None));
        assert!(!platforms_contain(Some(&cond(true, &[], &[Windows])), None));
        // `all` minus Windows contains `all` minus Windows and Android, not the reverse.
        let but_windows = cond(true, &[], &[Windows]);
        let but_two = cond(true, &[], &[Windows, Android]);
        assert!(platforms_contain(Some(&but_windows), Some(&but_two)));
        assert!(!platforms_contain(Some(&but_two), Some(&but_windows)));
        // A list never contains `all`: `Unknown` is matched only by `all`.
        let every_listed = cond(false, DevicePlatform::ALL, &[]);
        assert!(!platforms_contain(
            Some(&every_listed),
            Some(&cond(true, &[], &[]))
        ));
        // An include cancelled by its exclude selects nothing: anything contains it.
        let nothing = cond(false, &[IOS], &[IOS]);
        assert!(platforms_contain(Some(&ios), Some(&nothing)));
    }
}

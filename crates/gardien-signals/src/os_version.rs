//! Operating-system versions as compliance rules compare them: `10.0.19045`, `17.5`,
//! `10_15_7` as Apple user agents write it, `10.0.22631.4460` with Windows' revision.
//! One type for the User-Agent classifier, the device registry and the compliance rules.

use std::fmt;

/// A numeric OS version, ordered component by component (`10.9 < 10.10`); missing
/// components are zero, so `17` = `17.0` = `17.0.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct OsVersion {
    /// Major version (`17` in iOS 17.4.1, `10` in Windows NT 10.0).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch (Windows: build) number.
    pub patch: u32,
    /// Fourth component (Windows: update revision, `4460` in `10.0.22631.4460`).
    pub revision: u32,
}

impl OsVersion {
    /// A version from its first three components.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        OsVersion {
            major,
            minor,
            patch,
            revision: 0,
        }
    }

    /// The same version with a fourth component.
    pub const fn with_revision(self, revision: u32) -> Self {
        OsVersion { revision, ..self }
    }

    /// Parses one to four numeric components separated by `.` or `_` (surrounding
    /// whitespace ignored). Anything else (letters, signs, empty components, a fifth
    /// component, numbers over nine digits) gives `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = [0u32; 4];
        for (count, piece) in text.trim().split(['.', '_']).enumerate() {
            if count == 4
                || piece.is_empty()
                || piece.len() > 9
                || !piece.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            parts[count] = piece.parse().ok()?;
        }
        let [major, minor, patch, revision] = parts;
        Some(OsVersion::new(major, minor, patch).with_revision(revision))
    }
}

impl fmt::Display for OsVersion {
    /// `major.minor.patch`, and `.revision` when there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if self.revision != 0 {
            write!(f, ".{}", self.revision)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_compare_display() {
        let v = |s: &str| OsVersion::parse(s);
        assert!(v("10.0.19044") < v("10.0.19045"));
        assert!(v("10.0.22631.4460") > v("10.0.19045"));
        assert!(v("10.0.19045.1") > v("10.0.19045"));
        assert!(v("10.9") < v("10.10"));
        assert_eq!(v("17"), v("17.0"));
        assert_eq!(v(" 10_15_7 "), Some(OsVersion::new(10, 15, 7)));
        for bad in [
            "",
            "ten",
            "1..2",
            "10.",
            "v10",
            "1.2.3.4.5",
            "10.0 beta",
            "10.0-beta",
            "-1",
            "1234567890",
        ] {
            assert_eq!(v(bad), None, "{bad}");
        }
        assert_eq!(
            v("10.0.19045").map(|v| v.to_string()),
            Some("10.0.19045".into())
        );
        assert_eq!(v("17").map(|v| v.to_string()), Some("17.0.0".into()));
        assert_eq!(
            v("10.0.22631.4460").map(|v| v.to_string()),
            Some("10.0.22631.4460".into())
        );
    }

    proptest! {
        #[test]
        fn display_parses_back(a in 0u32..1_000_000_000, b in 0u32..1_000, c in 0u32..100_000, d in 0u32..10_000) {
            let version = OsVersion::new(a, b, c).with_revision(d);
            prop_assert_eq!(OsVersion::parse(&version.to_string()), Some(version));
        }
    }
}

//! Operating-system versions as compliance rules compare them (`10.0.19045`, `17.5`,
//! `14_4_1` as iOS user agents write it).

use std::fmt;

/// A numeric OS version: up to four components, missing ones are zero, so `17` = `17.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct OsVersion(pub [u32; 4]);

impl OsVersion {
    /// Parses `major[.minor[.build[.revision]]]` with `.` or `_` separators; trailing
    /// non-numeric text after the last number (`10.0.19045 (build)`) is not accepted.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let mut parts = [0u32; 4];
        let mut count = 0;
        for piece in text.split(['.', '_']) {
            if count == 4 || piece.is_empty() || !piece.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            parts[count] = piece.parse().ok()?;
            count += 1;
        }
        (count > 0).then_some(OsVersion(parts))
    }

    /// The major version.
    pub fn major(self) -> u32 {
        self.0[0]
    }
}

impl fmt::Display for OsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        match (c, d) {
            (0, 0) => write!(f, "{a}.{b}"),
            (_, 0) => write!(f, "{a}.{b}.{c}"),
            _ => write!(f, "{a}.{b}.{c}.{d}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_compare_display() {
        let v = |s: &str| OsVersion::parse(s);
        assert!(v("10.0.19044") < v("10.0.19045"));
        assert!(v("10.0.22631.4460") > v("10.0.19045"));
        assert_eq!(v("17"), v("17.0"));
        assert_eq!(v("14_4_1"), v("14.4.1"));
        assert!(v("9.9") < v("10"));
        for bad in [
            "",
            "ten",
            "1..2",
            "1.2.3.4.5",
            "10.0 beta",
            "-1",
            "99999999999",
        ] {
            assert_eq!(v(bad), None, "{bad}");
        }
        assert_eq!(
            v("10.0.19045").map(|v| v.to_string()),
            Some("10.0.19045".into())
        );
        assert_eq!(v("17").map(|v| v.to_string()), Some("17.0".into()));
    }
}

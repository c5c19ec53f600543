//! Wall-clock time and correlation ids: the only place the server reads the clock or makes
//! identifiers, so the rest stays deterministic under test.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `2026-11-25T10:48:07.123Z` for a time in milliseconds since the epoch.
pub fn rfc3339(ms: i64) -> String {
    gardien_core::time::format_rfc3339_ms(ms)
}

/// `N` bytes from the operating system's secure random source, `None` when it fails (the
/// caller then refuses rather than use a predictable value).
pub fn random_bytes<const N: usize>() -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).ok()?;
    Some(bytes)
}

/// Lower-case hex digits.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// Makes unique correlation ids: a random 64-bit prefix per process (so replicas differ)
/// and a counter, formatted as a UUID. Unique, not secret.
#[derive(Debug)]
pub struct CorrelationIds {
    prefix: u64,
    counter: AtomicU64,
}

impl CorrelationIds {
    /// A generator with a fresh random prefix.
    pub fn new() -> Self {
        let prefix = match random_bytes::<8>() {
            Some(bytes) => u64::from_le_bytes(bytes),
            // No OS randomness: fall back to the clock, still distinct per start.
            None => now_ms().unsigned_abs().rotate_left(29),
        };
        CorrelationIds {
            prefix,
            counter: AtomicU64::new(0),
        }
    }

    /// The next id: `pppppppp-pppp-4ppp-8nnn-nnnnnnnnnnnn` (prefix bits, then the counter).
    pub fn next(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let p = self.prefix;
        // Written digit by digit (one per request; `format!` cost several times more).
        let mut out = String::with_capacity(36);
        let hex = |out: &mut String, value: u64, digits: u32, after: &str| {
            for d in (0..digits).rev() {
                out.push(char::from(HEX[((value >> (4 * d)) & 0xf) as usize]));
            }
            out.push_str(after);
        };
        hex(&mut out, p >> 32, 8, "-");
        hex(&mut out, (p >> 16) & 0xffff, 4, "-4");
        hex(&mut out, p & 0xfff, 3, "-");
        hex(&mut out, 0x8000 | ((n >> 48) & 0x3fff), 4, "-");
        hex(&mut out, n & 0xffff_ffff_ffff, 12, "");
        out
    }
}

impl Default for CorrelationIds {
    fn default() -> Self {
        CorrelationIds::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_603_687_123), "2026-11-25T10:48:07.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn ids_are_written_as_before() {
        let ids = CorrelationIds {
            prefix: 0x0123_4567_89ab_cdef,
            counter: AtomicU64::new(0x0001_0000_0000_002a),
        };
        let (p, n) = (ids.prefix, 0x0001_0000_0000_002a_u64);
        let expected = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            p >> 32,
            (p >> 16) & 0xffff,
            p & 0xfff,
            0x8000 | ((n >> 48) & 0x3fff),
            n & 0xffff_ffff_ffff
        );
        assert_eq!(ids.next(), expected);
        assert_eq!(expected, "01234567-89ab-4def-8001-00000000002a");
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }

    #[test]
    fn ids_are_unique_uuids() {
        let ids = CorrelationIds::new();
        let (a, b) = (ids.next(), ids.next());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
    }
}

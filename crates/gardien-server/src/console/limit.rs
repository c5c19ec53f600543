//! The console's sign-in rate limit: at most `[console] login_attempts_per_minute` sign-in
//! attempts (token logins and OpenID Connect callbacks) per client address and minute.
//!
//! Memory is fixed: [`SLOTS`] counters, an address picking its slot by a keyed hash (the
//! key is random per process, so nobody can aim at someone else's slot). Two addresses
//! sharing a slot share its count, which can only make the limit stricter for them. IPv6
//! addresses count per `/64`, the block a single host usually holds. A counter is for one
//! fixed minute (Unix seconds / 60); the next minute starts from zero.

use std::hash::BuildHasher as _;
use std::net::IpAddr;
use std::sync::Mutex;

/// Counters kept (16 bytes each: 64 KiB).
pub const SLOTS: usize = 4096;

/// One counter: the minute it counts in, and how many attempts.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    minute: u64,
    count: u32,
}

/// Per-address sign-in attempt counters, in fixed memory.
#[derive(Debug)]
pub struct LoginLimiter {
    per_minute: u32,
    hasher: std::collections::hash_map::RandomState,
    slots: Mutex<Vec<Slot>>,
}

/// The part of an address that is counted: IPv4 whole, IPv6 by `/64` (an IPv4-mapped IPv6
/// address as its IPv4 address).
fn counted(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl LoginLimiter {
    /// A limiter allowing `per_minute` attempts per address and minute.
    pub fn new(per_minute: u32) -> LoginLimiter {
        LoginLimiter {
            per_minute,
            hasher: std::collections::hash_map::RandomState::new(),
            slots: Mutex::new(vec![Slot::default(); SLOTS]),
        }
    }

    /// Counts an attempt from `ip` at `now_s` (Unix seconds): `Ok` when within the limit,
    /// else `Err` with the seconds until the next minute (the attempt is refused and not
    /// counted). Fails closed: a poisoned lock refuses.
    pub fn attempt(&self, ip: IpAddr, now_s: u64) -> Result<(), u64> {
        let minute = now_s / 60;
        let retry_after = 60 - now_s % 60;
        let index = usize::try_from(self.hasher.hash_one(counted(ip)) % SLOTS as u64).unwrap_or(0);
        let Ok(mut slots) = self.slots.lock() else {
            return Err(retry_after);
        };
        let Some(slot) = slots.get_mut(index) else {
            return Err(retry_after);
        };
        if slot.minute != minute {
            *slot = Slot { minute, count: 0 };
        }
        if slot.count >= self.per_minute {
            return Err(retry_after);
        }
        slot.count += 1;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_attempts_per_minute_then_waits_for_the_next() {
        let l = LoginLimiter::new(3);
        let a: IpAddr = "198.51.100.7".parse().unwrap();
        let t = 6_000_000; // a minute's start
        for _ in 0..3 {
            assert_eq!(l.attempt(a, t + 10), Ok(()));
        }
        assert_eq!(l.attempt(a, t + 10), Err(50));
        assert_eq!(l.attempt(a, t + 59), Err(1), "refusals are not counted");
        assert_eq!(l.attempt(a, t + 60), Ok(()), "a new minute");
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let l = LoginLimiter::new(1);
        let t = 6_000_000;
        assert!(l.attempt("2001:db8:1:2::1".parse().unwrap(), t).is_ok());
        assert!(l.attempt("2001:db8:1:2::ffff".parse().unwrap(), t).is_err());
        assert!(l.attempt("192.0.2.1".parse().unwrap(), t).is_ok());
        assert!(l.attempt("::ffff:192.0.2.1".parse().unwrap(), t).is_err());
    }

    #[test]
    fn memory_is_fixed_whatever_the_number_of_addresses() {
        let l = LoginLimiter::new(1_000_000);
        for i in 0..100_000u32 {
            let _ = l.attempt(IpAddr::V4(i.into()), 60);
        }
        assert_eq!(l.slots.lock().unwrap().len(), SLOTS);
    }
}

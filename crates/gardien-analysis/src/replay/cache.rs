//! Verdicts of repeated sign-ins, remembered.
//!
//! A day of sign-in logs repeats itself: the same user, on the same device, from the same
//! address, to the same application, many times (token refreshes, reconnections). `decide`
//! is a pure function of the tenant and the sign-in, so an equal sign-in can reuse the
//! verdict computed the first time.
//!
//! A sign-in is remembered by its *encoding* ([`gardien_core::signin_key::encode`]): equal
//! bytes exactly when the sign-ins are equal (the instant counts only by the dated changes in
//! force). Lookups compare whole encodings, so a hash collision costs nothing but a probe.
//!
//! Memory is bounded: at most `capacity` sign-ins, and the cache is emptied when full. When
//! a log does not repeat (fewer than one hit in ten over a window of 8,192 sign-ins), the
//! cache steps aside for 32 windows, so that a log without repetition pays little for it.
//! The first 2,048 sign-ins are judged on their own as well: with fewer than one hit in 50
//! among them, the cache steps aside at once (a log of distinct sign-ins then pays for
//! 2,048 remembered sign-ins instead of 8,192; a log drawn from 10,000 distinct sign-ins
//! already has about one hit in ten by then).

use gardien_core::signin_key::encode;
use gardien_core::{CompiledTenant, SignIn, Verdict};
use rustc_hash::FxHashMap;

/// Default number of remembered sign-ins (about 200 bytes of key each, plus the verdicts).
pub const DEFAULT_CAPACITY: usize = 1 << 15;

/// Lookups per window when judging whether the log repeats.
const WINDOW: u64 = 1 << 13;
/// Windows the cache stays aside after a window with fewer than one hit in ten.
const ASIDE: u64 = 32;
/// Lookups of the first, quick judgement.
const FIRST: u64 = 1 << 11;
/// The first judgement steps aside with fewer than one hit in this many lookups.
const FIRST_RATE: u64 = 50;

/// Remembered verdicts of the proposed (and baseline) tenant.
#[derive(Debug)]
pub struct VerdictCache {
    /// The proposed tenant's verdict by encoded sign-in (no baseline).
    single: FxHashMap<Box<[u8]>, Verdict>,
    /// The proposed and the baseline tenant's verdicts by encoded sign-in.
    pair: FxHashMap<Box<[u8]>, (Verdict, Verdict)>,
    capacity: usize,
    buffer: Vec<u8>,
    hits: u64,
    lookups: u64,
    window_hits: u64,
    window_lookups: u64,
    aside: u64,
}

impl VerdictCache {
    /// A cache of at most `capacity` sign-ins (0: no cache).
    pub fn new(capacity: usize) -> VerdictCache {
        VerdictCache {
            single: FxHashMap::default(),
            pair: FxHashMap::default(),
            capacity: capacity.min(u32::MAX as usize),
            buffer: Vec::with_capacity(256),
            hits: 0,
            lookups: 0,
            window_hits: 0,
            window_lookups: 0,
            aside: 0,
        }
    }

    /// The proposed tenant's verdict and, when there is one, the baseline's.
    #[inline]
    pub fn decide(
        &mut self,
        signin: &SignIn,
        proposed: &CompiledTenant,
        baseline: Option<&CompiledTenant>,
    ) -> (Verdict, Option<Verdict>) {
        if self.capacity == 0 || self.aside() {
            return (proposed.decide(signin), baseline.map(|b| b.decide(signin)));
        }
        self.remembered(signin, proposed, baseline)
    }

    /// The proposed tenant's verdict, when there is no baseline: [`VerdictCache::decide`]'s
    /// first verdict, returned alone (an `Option<Verdict>` beside it is a few hundred bytes
    /// to move even when `None`).
    #[inline]
    pub fn decide_proposed(&mut self, signin: &SignIn, proposed: &CompiledTenant) -> Verdict {
        if self.capacity == 0 || self.aside() {
            return proposed.decide(signin);
        }
        self.remembered(signin, proposed, None).0
    }

    /// Counts a lookup and tells whether the cache stands aside for it (the log does not
    /// repeat enough).
    #[inline]
    fn aside(&mut self) -> bool {
        self.lookups += 1;
        self.window_lookups += 1;
        if self.lookups == FIRST {
            if self.window_hits * FIRST_RATE < self.window_lookups {
                // Not one hit in 50 among the first sign-ins: nothing repeats here.
                self.aside = ASIDE;
                self.window_lookups = 0;
                self.window_hits = 0;
            } else {
                // The log repeats: the table is sized for the whole capacity now, so that
                // filling it never rehashes (sized so at once, a log of distinct sign-ins
                // would pay for touching a table of `capacity` entries).
                let more = self
                    .capacity
                    .saturating_sub(self.single.len() + self.pair.len());
                if self.pair.is_empty() {
                    self.single.reserve(more);
                } else {
                    self.pair.reserve(more);
                }
            }
        } else if self.window_lookups >= WINDOW {
            self.aside = match self.aside {
                0 if self.window_hits * 10 < self.window_lookups => ASIDE,
                0 => 0,
                n => n - 1,
            };
            self.window_lookups = 0;
            self.window_hits = 0;
        }
        self.aside > 0
    }

    /// The verdicts of a sign-in from the cache, else decided and remembered.
    fn remembered(
        &mut self,
        signin: &SignIn,
        proposed: &CompiledTenant,
        baseline: Option<&CompiledTenant>,
    ) -> (Verdict, Option<Verdict>) {
        encode(signin, &mut self.buffer);
        let key = self.buffer.as_slice();
        let found = match baseline {
            None => self.single.get(key).map(|v| (*v, None)),
            Some(_) => self.pair.get(key).map(|(a, b)| (*a, Some(*b))),
        };
        if let Some(v) = found {
            self.hits += 1;
            self.window_hits += 1;
            return v;
        }
        let after = proposed.decide(signin);
        let before = baseline.map(|b| b.decide(signin));
        let map_len = self.single.len() + self.pair.len();
        if map_len >= self.capacity {
            self.single.clear();
            self.pair.clear();
        } else if map_len == 0 && self.single.capacity() + self.pair.capacity() == 0 {
            // Sized for the first judgement only (see `aside`), then for the capacity.
            let first = self.capacity.min(FIRST as usize);
            match baseline {
                None => self.single.reserve(first),
                Some(_) => self.pair.reserve(first),
            }
        }
        let key: Box<[u8]> = Box::from(self.buffer.as_slice());
        match before {
            None => {
                self.single.insert(key, after);
            }
            Some(b) => {
                self.pair.insert(key, (after, b));
            }
        }
        (after, before)
    }

    /// Lookups answered from the cache, and all lookups.
    pub fn hits(&self) -> (u64, u64) {
        (self.hits, self.lookups)
    }
}

//! The interval index: every range of every IP named location, compiled into sorted disjoint
//! intervals per address family, each labelled with the set of locations covering it.
//!
//! Build: each range contributes two boundary events, `(start, +location)` and
//! `(end + 1, -location)` (none when the range reaches the last address of the family). The
//! events are sorted and swept once, keeping a per-location count of open ranges and the
//! current [`LocationSet`]; an interval is emitted wherever the set changes, and sets are
//! interned. The sweep writes the intervals over the sorted events in place. On large inputs
//! the build is dominated by memory traffic (cache misses and fresh pages), which is what the
//! packed layouts below are for.

use std::fmt;
use std::net::IpAddr;

use super::cidr::{Cidr, normalize_ip};
use super::set::LocationSet;

/// Fallback for a set id out of range (cannot happen for a built index).
static EMPTY_SET: LocationSet = LocationSet::EMPTY;

/// Id of [`LocationSet::EMPTY`] in every index's set table.
const EMPTY_ID: u32 = 0;

/// Bits of an IPv4 event key below the position: 8 for the location, 1 for start/end.
const V4_TAG_BITS: u32 = 9;

/// Mask of the tag in an IPv4 event key.
const V4_TAG_MASK: u64 = (1 << V4_TAG_BITS) - 1;

/// Tag of a boundary event: location in bits 1..9, bit 0 set for a range start.
const fn tag(location: u8, is_start: bool) -> u16 {
    ((location as u16) << 1) | is_start as u16
}

/// An IPv6 boundary event while building (`payload` is its tag), then an interval of the
/// built index (`payload` is its set id). Two `u64` halves keep it at 24 bytes.
#[derive(Debug, Clone, Copy)]
struct V6Entry {
    /// High 64 bits of the position.
    hi: u64,
    /// Low 64 bits of the position.
    lo: u64,
    /// Tag (events) or set id (intervals).
    payload: u32,
}

impl V6Entry {
    const fn new(position: u128, payload: u32) -> Self {
        Self {
            hi: (position >> 64) as u64,
            lo: position as u64,
            payload,
        }
    }

    const fn position(self) -> u128 {
        (self.hi as u128) << 64 | self.lo as u128
    }
}

/// Collects `(range, location)` pairs and builds an [`IpIndex`].
///
/// Ranges may overlap freely, within one location or across locations.
#[derive(Debug, Clone, Default)]
pub struct IpIndexBuilder {
    /// IPv4 boundary events packed as `position << 9 | tag` (position < 2^32); after the
    /// sweep, IPv4 intervals packed as `start << 32 | set id`.
    v4: Vec<u64>,
    /// IPv6 boundary events.
    v6: Vec<V6Entry>,
}

impl IpIndexBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty builder with room for `ranges` ranges without reallocating, whatever their
    /// address families.
    pub fn with_capacity(ranges: usize) -> Self {
        Self {
            v4: Vec::with_capacity(ranges.saturating_mul(2)),
            v6: Vec::with_capacity(ranges.saturating_mul(2)),
        }
    }

    /// Records that every address of `cidr` is inside named location `location`.
    pub fn add(&mut self, cidr: &Cidr, location: u8) {
        let network = cidr.network_repr();
        if let Some((start, end)) = network.bounds_v4() {
            self.v4
                .push(u64::from(start) << V4_TAG_BITS | u64::from(tag(location, true)));
            // A range reaching the last address never ends.
            if let Some(after) = end.checked_add(1) {
                self.v4
                    .push(u64::from(after) << V4_TAG_BITS | u64::from(tag(location, false)));
            }
        } else if let Some((start, end)) = network.bounds_v6() {
            self.v6
                .push(V6Entry::new(start, u32::from(tag(location, true))));
            if let Some(after) = end.checked_add(1) {
                self.v6
                    .push(V6Entry::new(after, u32::from(tag(location, false))));
            }
        }
    }

    /// Sorts the boundaries and sweeps them into disjoint intervals.
    pub fn build(self) -> IpIndex {
        let Self { mut v4, mut v6 } = self;
        // Only the position matters: events at one position are applied together.
        radix_sort(&mut v4, V4_TAG_BITS, 32 + V4_TAG_BITS);
        v6.sort_unstable_by_key(|entry| entry.position());

        let mut interner = Interner::with_capacity(v4.len() + v6.len());
        sweep(
            &mut v4,
            // The position was a u32 shifted left by 9 bits; the tag fits in 9 bits.
            |key| ((key >> V4_TAG_BITS) as u32, (key & V4_TAG_MASK) as u16),
            |start, id| u64::from(start) << 32 | u64::from(id),
            &mut interner,
        );
        sweep(
            &mut v6,
            // Tags fit in 9 bits.
            |entry| (entry.position(), entry.payload as u16),
            V6Entry::new,
            &mut interner,
        );
        let v4 = shrink(v4);
        let v6 = shrink(v6);
        IpIndex {
            v4_jump: Jump::new(v4.len(), |i| v4.get(i).map_or(0, |&e| v4_start(e))),
            v6_jump: Jump::new(v6.len(), |i| v6.get(i).map_or(0, |e| e.position())),
            v4,
            v6,
            sets: shrink(interner.sets),
        }
    }
}

/// Releases spare capacity when it is more than the used part (a copy is not worth less).
fn shrink<T>(mut entries: Vec<T>) -> Vec<T> {
    if entries.capacity() / 2 > entries.len() {
        entries.shrink_to_fit();
    }
    entries
}

/// Bits per LSD radix-sort digit.
const RADIX_BITS: u32 = 11;

/// Sorts `keys` by their bits `low..high` with an LSD radix sort (digits of [`RADIX_BITS`]
/// bits; digits equal in every key are skipped). Bits below `low` are ignored: keys equal in
/// `low..high` end up in any order.
fn radix_sort(keys: &mut Vec<u64>, low: u32, high: u32) {
    const BUCKETS: usize = 1 << RADIX_BITS;
    const MASK: u64 = (1 << RADIX_BITS) - 1;
    // Tests radix-sort from tiny sizes on so that the property tests exercise it.
    if keys.len() < if cfg!(test) { 4 } else { 256 } {
        keys.sort_unstable();
        return;
    }
    let shifts: Vec<u32> = (low..high).step_by(RADIX_BITS as usize).collect();
    let mut counts = vec![[0usize; BUCKETS]; shifts.len()];
    for &key in keys.iter() {
        for (&shift, count) in shifts.iter().zip(counts.iter_mut()) {
            if let Some(n) = count.get_mut(((key >> shift) & MASK) as usize) {
                *n += 1;
            }
        }
    }
    let mut buffer = vec![0u64; keys.len()];
    for (&shift, count) in shifts.iter().zip(counts.iter_mut()) {
        if count.contains(&keys.len()) {
            continue;
        }
        let mut offset = 0;
        for n in count.iter_mut() {
            let here = *n;
            *n = offset;
            offset += here;
        }
        for &key in keys.iter() {
            let Some(next) = count.get_mut(((key >> shift) & MASK) as usize) else {
                continue;
            };
            if let Some(slot) = buffer.get_mut(*next) {
                *slot = key;
            }
            *next += 1;
        }
        std::mem::swap(keys, &mut buffer);
    }
}

/// Zobrist keys: a location set's hash is the XOR of the keys of its members, so the sweep
/// updates it in O(1) per membership change and the empty set hashes to 0.
const ZOBRIST: [u64; 256] = {
    let mut keys = [0u64; 256];
    let mut state: u64 = 0x853c_49e6_748f_ea9b;
    let mut i = 0;
    while i < 256 {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        keys[i] = z ^ (z >> 31);
        i += 1;
    }
    keys
};

/// Slots of the direct-mapped cache of recently interned sets (a power of two).
const RECENT_SLOTS: usize = 1024;

/// Initial slot count of the interner's hash table (a power of two).
const INITIAL_SLOTS: usize = 1 << 12;

/// Deduplicates location sets; id 0 is always the empty set.
///
/// Sets are keyed by their Zobrist hash, maintained incrementally by the sweep. A set is looked
/// up first in a small direct-mapped cache of recent sets (the sweep often returns to a set it
/// saw a few intervals before), then in a compact open-addressing table (linear probing, load
/// at most 3/4) whose slots pack the id with the low half of the hash. Hash and set are both
/// compared before an id is reused, so interning is exact. Building big indexes is dominated by
/// memory traffic, hence the small slots and the dense per-id hash array.
struct Interner {
    /// Open-addressing table: 0 for an empty slot, otherwise `(id + 1) << 32 | (hash as u32)`.
    /// The slot is chosen by the high hash bits, so the low half stored here is an independent
    /// check. The length is a power of two.
    slots: Vec<u64>,
    /// `64 - log2(slots.len())`: the table index is the top bits of the hash.
    shift: u32,
    /// Zobrist hash of each set, by id.
    hashes: Vec<u64>,
    /// Distinct sets by id.
    sets: Vec<LocationSet>,
    /// Ids of recently interned sets, indexed by the low hash bits.
    recent: Box<[u32; RECENT_SLOTS]>,
}

/// Slot value for `id` with hash `hash` (never 0).
const fn slot_entry(hash: u64, id: u32) -> u64 {
    (id as u64 + 1) << 32 | (hash & HASH_LOW)
}

/// Mask of the hash bits kept in a slot.
const HASH_LOW: u64 = u32::MAX as u64;

impl Interner {
    /// An interner expecting up to about `capacity` distinct sets.
    fn with_capacity(capacity: usize) -> Self {
        let slots = (capacity / 2).next_power_of_two().max(INITIAL_SLOTS);
        let mut interner = Self {
            slots: vec![0; slots],
            shift: 64 - slots.trailing_zeros(),
            hashes: Vec::with_capacity(capacity),
            sets: Vec::with_capacity(capacity),
            // Id 0 is the empty set, so the initial entries are valid.
            recent: Box::new([EMPTY_ID; RECENT_SLOTS]),
        };
        interner.intern(0, LocationSet::EMPTY);
        interner
    }

    /// Whether id `id` holds `set`, whose hash is `hash`.
    fn holds(&self, id: u32, hash: u64, set: &LocationSet) -> bool {
        self.hashes.get(id as usize) == Some(&hash) && self.sets.get(id as usize) == Some(set)
    }

    /// Id of `set`, whose Zobrist hash is `hash`.
    fn intern(&mut self, hash: u64, set: LocationSet) -> u32 {
        let recent = (hash as usize) % RECENT_SLOTS;
        let cached = self.recent.get(recent).copied();
        if let Some(id) = cached.filter(|&id| self.holds(id, hash, &set)) {
            return id;
        }
        let id = self.find_or_insert(hash, set);
        if let Some(entry) = self.recent.get_mut(recent) {
            *entry = id;
        }
        id
    }

    fn find_or_insert(&mut self, hash: u64, set: LocationSet) -> u32 {
        let mask = self.slots.len() - 1;
        let mut slot = (hash >> self.shift) as usize;
        loop {
            match self.slots.get(slot).copied() {
                Some(0) | None => break,
                Some(entry) => {
                    // The high half is id + 1 (never 0).
                    let id = ((entry >> 32) as u32).wrapping_sub(1);
                    if entry & HASH_LOW == hash & HASH_LOW && self.holds(id, hash, &set) {
                        return id;
                    }
                }
            }
            slot = (slot + 1) & mask;
        }
        // Ids are bounded by the number of intervals: reaching u32::MAX would take more than
        // 128 GiB of distinct sets, so this saturation is unreachable in practice.
        let id = u32::try_from(self.sets.len()).unwrap_or(u32::MAX - 1);
        self.sets.push(set);
        self.hashes.push(hash);
        if let Some(entry) = self.slots.get_mut(slot) {
            *entry = slot_entry(hash, id);
        }
        if self.sets.len() * 4 > self.slots.len() * 3 {
            self.grow();
        }
        id
    }

    /// Doubles the table and re-inserts every id.
    fn grow(&mut self) {
        let len = self.slots.len() * 2;
        self.slots.clear();
        self.slots.resize(len, 0);
        self.shift -= 1;
        let mask = len - 1;
        for (id, &hash) in (0u32..).zip(self.hashes.iter()) {
            let mut slot = (hash >> self.shift) as usize;
            while let Some(entry) = self.slots.get_mut(slot) {
                if *entry == 0 {
                    *entry = slot_entry(hash, id);
                    break;
                }
                slot = (slot + 1) & mask;
            }
        }
    }
}

/// Sweeps boundary events sorted by position into intervals, written over the events.
///
/// `decode` splits an event into position and tag, `encode` makes an interval from its start
/// and set id. An interval is emitted only where the covering set changes, so adjacent
/// intervals always carry different sets; addresses before the first interval belong to no
/// location. There are never more intervals than events, and an interval is written only
/// after the event at its index was read, so the rewrite in place is safe.
fn sweep<E: Copy, P: Copy + PartialEq>(
    entries: &mut Vec<E>,
    decode: impl Fn(E) -> (P, u16),
    encode: impl Fn(P, u32) -> E,
    interner: &mut Interner,
) {
    // Number of currently open ranges per location.
    let mut open = [0u32; 256];
    let mut current = LocationSet::EMPTY;
    let mut hash = 0u64;
    let mut emitted = LocationSet::EMPTY;
    let mut pending: Option<P> = None;
    let mut written = 0;

    let mut read = 0;
    while let Some(&event) = entries.get(read) {
        read += 1;
        let (position, tag) = decode(event);
        // Leaving a position: emit an interval there if the set changed.
        if let Some(previous) = pending.filter(|&p| p != position && current != emitted) {
            let interval = encode(previous, interner.intern(hash, current));
            if let Some(slot) = entries.get_mut(written) {
                *slot = interval;
            }
            written += 1;
            emitted = current;
        }
        pending = Some(position);
        // Events at one position are applied together before the set is compared, so
        // their order does not matter; a counter never goes below zero because every end
        // follows its own start at a strictly smaller position.
        let location = (tag >> 1) as u8;
        let count = &mut open[usize::from(location)];
        if tag & 1 == 1 {
            *count += 1;
            if *count == 1 {
                current.insert(location);
                hash ^= ZOBRIST[usize::from(location)];
            }
        } else {
            *count = count.saturating_sub(1);
            if *count == 0 && current.remove(location) {
                hash ^= ZOBRIST[usize::from(location)];
            }
        }
    }
    if let Some(last) = pending.filter(|_| current != emitted) {
        let interval = encode(last, interner.intern(hash, current));
        if let Some(slot) = entries.get_mut(written) {
            *slot = interval;
        }
        written += 1;
    }
    entries.truncate(written);
}

/// Which named locations contain an address: sorted disjoint intervals per address family,
/// each pointing to an interned [`LocationSet`]. Built by [`IpIndexBuilder`].
#[derive(Clone)]
pub struct IpIndex {
    /// IPv4 intervals packed as `start << 32 | set id`, sorted by start; interval `i` ends
    /// where interval `i + 1` starts, the last one at the end of the address space.
    v4: Vec<u64>,
    /// IPv6 intervals (`payload` is the set id), sorted by start.
    v6: Vec<V6Entry>,
    /// Distinct location sets; index 0 is the empty set.
    sets: Vec<LocationSet>,
    /// Narrows the IPv4 binary search.
    v4_jump: Jump,
    /// Narrows the IPv6 binary search.
    v6_jump: Jump,
}

/// Start of a packed IPv4 interval, widened.
const fn v4_start(interval: u64) -> u128 {
    (interval >> 32) as u128
}

/// Indexes below which a binary search is left alone (it stays in a few cache lines). Tests
/// use jump tables from tiny sizes on so that the property tests exercise them.
const JUMP_MIN_INTERVALS: usize = if cfg!(test) { 2 } else { 64 };

/// At most `2^JUMP_MAX_BITS` buckets per jump table.
const JUMP_MAX_BITS: u32 = 16;

/// A jump table narrowing the binary search over sorted interval starts to a few cache lines.
///
/// The span from the first to the last start is cut into equal power-of-two buckets (about
/// four intervals per bucket when evenly spread, at most 2^16 buckets); `table[b]` is the index
/// of the first interval starting at or after the beginning of bucket `b`, and the last entry
/// is the number of intervals. Clustered starts only make some buckets fuller: the search
/// inside a bucket is still a binary search.
#[derive(Debug, Clone, Default)]
struct Jump {
    /// Start of the first interval.
    first: u128,
    /// Bucket `b` covers `first + (b << shift) .. first + ((b + 1) << shift)`.
    shift: u32,
    /// Bucket boundaries as interval indices; empty when no table is used.
    table: Vec<u32>,
}

impl Jump {
    /// Jump table over `len` sorted starts given by `start(i)`.
    fn new(len: usize, start: impl Fn(usize) -> u128) -> Self {
        if len < JUMP_MIN_INTERVALS || u32::try_from(len).is_err() {
            return Self::default();
        }
        let first = start(0);
        let span = start(len - 1).saturating_sub(first);
        // About four intervals per bucket: floor(log2(len)) - 2 bits, at least 1.
        let bits = (usize::BITS - 1 - len.leading_zeros())
            .saturating_sub(2)
            .clamp(1, JUMP_MAX_BITS);
        let span_bits = u128::BITS - span.leading_zeros();
        // shift < 128 because bits >= 1.
        let shift = span_bits.saturating_sub(bits);
        let buckets = (span >> shift) + 1;
        let width = 1u128 << shift;
        let mut table = Vec::with_capacity(usize::try_from(buckets).unwrap_or(0) + 1);
        let mut i = 0;
        for bucket in 0..=buckets {
            match bucket.checked_mul(width).and_then(|o| o.checked_add(first)) {
                Some(bucket_start) => {
                    while i < len && start(i) < bucket_start {
                        i += 1;
                    }
                }
                None => i = len,
            }
            // len fits in u32 (checked above).
            table.push(i as u32);
        }
        Self {
            first,
            shift,
            table,
        }
    }

    /// Index range `lo..hi` of intervals that holds the last interval starting at or before
    /// `address` (`None` when every interval starts after it), for an index of `len` intervals.
    #[inline]
    fn window(&self, address: u128, len: usize) -> Option<(usize, usize)> {
        if self.table.is_empty() {
            return Some((0, len));
        }
        let offset = address.checked_sub(self.first)?;
        let buckets = self.table.len() - 1;
        let bucket = usize::try_from(offset >> self.shift).map_or(buckets, |b| b.min(buckets));
        if bucket == buckets {
            return Some((len.saturating_sub(1), len));
        }
        let lo = self.table.get(bucket).map_or(0, |&i| i as usize);
        let hi = self.table.get(bucket + 1).map_or(len, |&i| i as usize);
        Some((lo.saturating_sub(1), hi))
    }
}

/// The last of the sorted `entries` whose start (by `start`) is at or before `address`.
#[inline]
fn locate<'a, E>(
    entries: &'a [E],
    jump: &Jump,
    address: u128,
    start: impl Fn(&E) -> u128,
) -> Option<&'a E> {
    let (lo, hi) = jump.window(address, entries.len())?;
    let window = entries.get(lo..hi)?;
    let after = window.partition_point(|entry| start(entry) <= address);
    window.get(after.checked_sub(1)?)
}

impl Default for IpIndex {
    fn default() -> Self {
        IpIndexBuilder::new().build()
    }
}

impl fmt::Debug for IpIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IpIndex")
            .field("v4_intervals", &self.v4.len())
            .field("v6_intervals", &self.v6.len())
            .field("distinct_sets", &self.sets.len())
            .finish()
    }
}

impl IpIndex {
    /// The locations whose ranges contain `ip` (empty if none), by binary search without
    /// allocating. IPv4-mapped IPv6 addresses are looked up as IPv4.
    pub fn lookup(&self, ip: IpAddr) -> &LocationSet {
        let id = match normalize_ip(ip) {
            IpAddr::V4(v4) => locate(&self.v4, &self.v4_jump, u32::from(v4).into(), |&e| {
                v4_start(e)
            })
            .map_or(EMPTY_ID, |&interval| interval as u32),
            IpAddr::V6(v6) => locate(&self.v6, &self.v6_jump, u128::from(v6), |e| e.position())
                .map_or(EMPTY_ID, |interval| interval.payload),
        };
        self.sets.get(id as usize).unwrap_or(&EMPTY_SET)
    }

    /// Number of stored intervals (IPv4 plus IPv6), including gaps that belong to no location.
    pub fn interval_count(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Number of distinct location sets the intervals point to, counting the empty set.
    pub fn distinct_sets(&self) -> usize {
        self.sets.len()
    }

    /// One address per distinct non-empty set of locations: the start of the first interval
    /// (IPv4 first, then IPv6, each in address order) that carries the set. Every set an
    /// address can be in, enumerated without looking every range boundary up.
    pub fn set_representatives(&self) -> Vec<(IpAddr, &LocationSet)> {
        let mut seen = vec![false; self.sets.len()];
        let mut out = Vec::new();
        let mut take = |address: IpAddr, id: u32| {
            if id != EMPTY_ID
                && let (Some(slot), Some(set)) =
                    (seen.get_mut(id as usize), self.sets.get(id as usize))
                && !*slot
            {
                *slot = true;
                out.push((address, set));
            }
        };
        for &interval in &self.v4 {
            // The start is the high 32 bits (see `v4`).
            let start = (interval >> 32) as u32;
            take(IpAddr::V4(start.into()), interval as u32);
        }
        for interval in &self.v6 {
            take(IpAddr::V6(interval.position().into()), interval.payload);
        }
        out
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;
    use crate::network::parse_cidr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn index(ranges: &[(&str, u8)]) -> IpIndex {
        let mut builder = IpIndexBuilder::new();
        for (cidr, location) in ranges {
            builder.add(&parse_cidr(cidr).unwrap(), *location);
        }
        builder.build()
    }

    fn locs(index: &IpIndex, address: &str) -> Vec<u8> {
        index.lookup(ip(address)).iter().collect()
    }

    /// Each distinct non-empty set once, at the first address that is in it.
    #[test]
    fn set_representatives_enumerate_every_set_once() {
        let index = index(&[
            ("10.0.0.0/8", 1),
            ("10.1.0.0/16", 2),
            ("10.200.0.0/16", 2),
            ("192.0.2.0/24", 1),
            ("2001:db8::/32", 3),
        ]);
        let got: Vec<(String, Vec<u8>)> = index
            .set_representatives()
            .into_iter()
            .map(|(ip, set)| (ip.to_string(), set.iter().collect()))
            .collect();
        let want: Vec<(String, Vec<u8>)> = vec![
            ("10.0.0.0".to_owned(), vec![1]),
            ("10.1.0.0".to_owned(), vec![1, 2]),
            ("2001:db8::".to_owned(), vec![3]),
        ];
        assert_eq!(got, want);
        for (ip, set) in index.set_representatives() {
            assert_eq!(index.lookup(ip), set);
        }
        assert!(IpIndex::default().set_representatives().is_empty());
    }

    #[test]
    fn empty_index() {
        let index = IpIndex::default();
        assert!(index.lookup(ip("1.2.3.4")).is_empty());
        assert!(index.lookup(ip("::")).is_empty());
        assert_eq!(index.interval_count(), 0);
        assert_eq!(index.distinct_sets(), 1);
    }

    #[test]
    fn overlapping_in_one_location() {
        let index = index(&[("203.0.113.0/24", 4), ("203.0.113.128/25", 4)]);
        assert_eq!(locs(&index, "203.0.112.255"), [] as [u8; 0]);
        assert_eq!(locs(&index, "203.0.113.0"), [4]);
        assert_eq!(locs(&index, "203.0.113.127"), [4]);
        assert_eq!(locs(&index, "203.0.113.128"), [4]);
        assert_eq!(locs(&index, "203.0.113.255"), [4]);
        assert_eq!(locs(&index, "203.0.114.0"), [] as [u8; 0]);
        // One interval for the location plus the gap after it.
        assert_eq!(index.interval_count(), 2);
    }

    #[test]
    fn overlapping_across_locations() {
        let index = index(&[
            ("203.0.113.0/24", 1),
            ("203.0.113.128/25", 2),
            ("203.0.113.200/32", 200),
        ]);
        assert_eq!(locs(&index, "203.0.113.0"), [1]);
        assert_eq!(locs(&index, "203.0.113.127"), [1]);
        assert_eq!(locs(&index, "203.0.113.128"), [1, 2]);
        assert_eq!(locs(&index, "203.0.113.199"), [1, 2]);
        assert_eq!(locs(&index, "203.0.113.200"), [1, 2, 200]);
        assert_eq!(locs(&index, "203.0.113.201"), [1, 2]);
        assert_eq!(locs(&index, "203.0.113.255"), [1, 2]);
        assert_eq!(locs(&index, "203.0.114.0"), [] as [u8; 0]);
        assert_eq!(locs(&index, "::ffff:203.0.113.200"), [1, 2, 200]);
        assert_eq!(locs(&index, "::203.0.113.200"), [] as [u8; 0]);
        // {1}, {1,2}, {1,2,200}, {1,2}, {} → 5 intervals, 4 distinct sets with the empty one.
        assert_eq!(index.interval_count(), 5);
        assert_eq!(index.distinct_sets(), 4);
    }

    #[test]
    fn adjacent_ranges_merge() {
        let index = index(&[("10.0.0.0/25", 3), ("10.0.0.128/25", 3), ("10.0.1.0/24", 3)]);
        assert_eq!(index.interval_count(), 2);
        assert_eq!(locs(&index, "10.0.0.127"), [3]);
        assert_eq!(locs(&index, "10.0.0.128"), [3]);
        assert_eq!(locs(&index, "10.0.1.255"), [3]);
        assert_eq!(locs(&index, "10.0.2.0"), [] as [u8; 0]);
        assert_eq!(locs(&index, "9.255.255.255"), [] as [u8; 0]);
    }

    #[test]
    fn host_bits_and_mapped_ranges() {
        let index = index(&[("62.214.191.50/29", 7), ("::ffff:1.2.3.4/120", 8)]);
        assert_eq!(locs(&index, "62.214.191.47"), [] as [u8; 0]);
        assert_eq!(locs(&index, "62.214.191.48"), [7]);
        assert_eq!(locs(&index, "62.214.191.55"), [7]);
        assert_eq!(locs(&index, "62.214.191.56"), [] as [u8; 0]);
        assert_eq!(locs(&index, "1.2.3.0"), [8]);
        assert_eq!(locs(&index, "::ffff:1.2.3.255"), [8]);
        assert_eq!(locs(&index, "1.2.4.0"), [] as [u8; 0]);
    }

    #[test]
    fn full_and_last_ipv4_ranges() {
        let index = index(&[
            ("0.0.0.0/0", 0),
            ("255.255.255.255/32", 1),
            ("0.0.0.0/32", 2),
            ("255.255.255.0/24", 3),
        ]);
        assert_eq!(locs(&index, "0.0.0.0"), [0, 2]);
        assert_eq!(locs(&index, "0.0.0.1"), [0]);
        assert_eq!(locs(&index, "128.0.0.0"), [0]);
        assert_eq!(locs(&index, "255.255.254.255"), [0]);
        assert_eq!(locs(&index, "255.255.255.0"), [0, 3]);
        assert_eq!(locs(&index, "255.255.255.254"), [0, 3]);
        assert_eq!(locs(&index, "255.255.255.255"), [0, 1, 3]);
        assert_eq!(locs(&index, "::"), [] as [u8; 0]);
        assert_eq!(locs(&index, "::1"), [] as [u8; 0]);
    }

    #[test]
    fn full_and_last_ipv6_ranges() {
        let last = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        let index = index(&[
            ("::/0", 10),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 11),
            ("2001:db8::/32", 12),
            ("2001:db8:1::/48", 13),
            ("::/128", 14),
        ]);
        assert_eq!(locs(&index, "::"), [10, 14]);
        assert_eq!(locs(&index, "::1"), [10]);
        assert_eq!(locs(&index, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"), [10]);
        assert_eq!(locs(&index, "2001:db8::"), [10, 12]);
        assert_eq!(locs(&index, "2001:db8:1::"), [10, 12, 13]);
        assert_eq!(
            locs(&index, "2001:db8:1:ffff:ffff:ffff:ffff:ffff"),
            [10, 12, 13]
        );
        assert_eq!(locs(&index, "2001:db8:2::"), [10, 12]);
        assert_eq!(
            locs(&index, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
            [10, 12]
        );
        assert_eq!(locs(&index, "2001:db9::"), [10]);
        assert_eq!(
            locs(&index, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"),
            [10]
        );
        assert_eq!(locs(&index, last), [10, 11]);
        // IPv4 (and IPv4-mapped) addresses are never in IPv6 ranges.
        assert_eq!(locs(&index, "1.2.3.4"), [] as [u8; 0]);
        assert_eq!(locs(&index, "::ffff:1.2.3.4"), [] as [u8; 0]);
    }

    #[test]
    fn many_locations_up_to_255() {
        let mut builder = IpIndexBuilder::new();
        let wide = parse_cidr("100.64.0.0/10").unwrap();
        for location in 0..=255u8 {
            builder.add(&wide, location);
        }
        let index = builder.build();
        assert_eq!(index.lookup(ip("100.64.0.0")).len(), 256);
        assert_eq!(index.lookup(ip("100.127.255.255")).len(), 256);
        assert!(index.lookup(ip("100.128.0.0")).is_empty());
        assert_eq!(index.interval_count(), 2);
    }

    /// Reference: every location with a range containing the address.
    fn naive(ranges: &[(Cidr, u8)], address: IpAddr) -> LocationSet {
        ranges
            .iter()
            .filter(|(cidr, _)| cidr.contains(address))
            .map(|&(_, location)| location)
            .collect()
    }

    fn build(ranges: &[(Cidr, u8)]) -> IpIndex {
        let mut builder = IpIndexBuilder::new();
        for (cidr, location) in ranges {
            builder.add(cidr, *location);
        }
        builder.build()
    }

    /// IPv4 ranges crowded into a few /16s so that they overlap often.
    fn v4_range() -> impl Strategy<Value = (Cidr, u8)> {
        (0u32..4, any::<u16>(), 0u8..=32, 0u8..6).prop_map(|(hi, lo, len, location)| {
            let base = [0u32, 0x0a00_0000, 0x0a01_0000, u32::MAX - 0xffff][hi as usize];
            let address = Ipv4Addr::from(base | u32::from(lo));
            (parse_cidr(&format!("{address}/{len}")).unwrap(), location)
        })
    }

    /// IPv6 ranges crowded near `::`, inside `2001:db8::/32` and at the top of the space.
    fn v6_range() -> impl Strategy<Value = (Cidr, u8)> {
        (0usize..3, any::<u16>(), 0u8..=128, 0u8..6).prop_map(|(area, bits, len, location)| {
            let address = match area {
                0 => u128::from(bits),
                1 => 0x2001_0db8 << 96 | u128::from(bits) << 80,
                _ => u128::MAX << 16 | u128::from(bits),
            };
            let text = format!("{}/{len}", Ipv6Addr::from(address));
            (parse_cidr(&text).unwrap(), location)
        })
    }

    /// Addresses at, just inside and just outside the edges of the ranges, plus random ones.
    fn probes(ranges: &[(Cidr, u8)], random: &[IpAddr]) -> Vec<IpAddr> {
        let mut out = random.to_vec();
        for (cidr, _) in ranges {
            for edge in [cidr.first_address(), cidr.last_address()] {
                out.push(edge);
                match edge {
                    IpAddr::V4(a) => {
                        let a = u32::from(a);
                        out.push(IpAddr::V4(a.wrapping_sub(1).into()));
                        out.push(IpAddr::V4(a.wrapping_add(1).into()));
                        // Same address written as IPv4-mapped IPv6.
                        out.push(IpAddr::V6(Ipv4Addr::from(a).to_ipv6_mapped()));
                    }
                    IpAddr::V6(a) => {
                        let a = u128::from(a);
                        out.push(IpAddr::V6(a.wrapping_sub(1).into()));
                        out.push(IpAddr::V6(a.wrapping_add(1).into()));
                    }
                }
            }
        }
        out
    }

    fn random_address() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>().prop_map(|a| IpAddr::V4(a.into())),
            (0u32..=0xffff).prop_map(|a| IpAddr::V4((0x0a00_0000 | a).into())),
            any::<u128>().prop_map(|a| IpAddr::V6(a.into())),
            (0u128..=0xffff).prop_map(|a| IpAddr::V6(a.into())),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn lookup_matches_linear_scan(
            v4 in prop::collection::vec(v4_range(), 0..40),
            v6 in prop::collection::vec(v6_range(), 0..40),
            random in prop::collection::vec(random_address(), 0..64),
        ) {
            let ranges: Vec<(Cidr, u8)> = v4.into_iter().chain(v6).collect();
            let index = build(&ranges);
            for address in probes(&ranges, &random) {
                prop_assert_eq!(*index.lookup(address), naive(&ranges, address), "{}", address);
            }
        }
    }

    /// Enough intervals for full-size jump tables, compared with the linear scan.
    #[test]
    fn large_index_matches_linear_scan() {
        let mut rng = XorShift(7);
        let mut ranges = Vec::new();
        for i in 0..1500u32 {
            let r = rng.next();
            let location = (r % 200) as u8;
            let text = match i % 4 {
                0 => format!("{}/{}", Ipv4Addr::from((r >> 32) as u32), 9 + (r >> 8) % 24),
                // Clustered at the top of the IPv4 space.
                1 => format!(
                    "{}/{}",
                    Ipv4Addr::from(u32::MAX - (r >> 48) as u32),
                    16 + (r >> 8) % 17
                ),
                2 => {
                    let address = u128::from(rng.next()) << 64 | u128::from(rng.next());
                    format!("{}/{}", Ipv6Addr::from(address), 9 + (r >> 8) % 120)
                }
                // Clustered in 2001:db8::/32, like real tenants.
                _ => {
                    let address = 0x2001_0db8 << 96 | u128::from(rng.next()) << 32;
                    format!("{}/{}", Ipv6Addr::from(address), 32 + (r >> 8) % 97)
                }
            };
            ranges.push((parse_cidr(&text).unwrap(), location));
        }
        let index = build(&ranges);
        assert!(index.interval_count() > 2000);
        let extremes = [
            ip("0.0.0.0"),
            ip("255.255.255.255"),
            ip("::"),
            ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ];
        for address in probes(&ranges, &extremes) {
            assert_eq!(*index.lookup(address), naive(&ranges, address), "{address}");
        }
    }

    /// Deterministic xorshift generator for the large comparison test.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }
}

//! A fixed-size bitset of named-location indices.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::iter::FusedIterator;

/// Number of named-location indices a [`LocationSet`] can hold (`0..256`).
///
/// Entra allows at most 195 named locations per tenant (docs/reference/entra-semantics.md §2.3), so
/// `u8` indices suffice.
pub const MAX_LOCATIONS: usize = 256;

/// Number of `u64` words in a [`LocationSet`].
const WORDS: usize = MAX_LOCATIONS / 64;

/// A set of named-location indices `0..`[`MAX_LOCATIONS`], stored as a 256-bit bitset.
///
/// `Copy`, allocation-free, iterates in ascending order.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocationSet([u64; WORDS]);

impl LocationSet {
    /// The set with no location.
    pub const EMPTY: Self = Self([0; WORDS]);

    /// The set holding only `location`.
    pub const fn single(location: u8) -> Self {
        let mut set = Self::EMPTY;
        set.insert(location);
        set
    }

    /// Word index and bit mask of `location`.
    const fn slot(location: u8) -> (usize, u64) {
        ((location >> 6) as usize, 1 << (location & 63))
    }

    /// Adds `location`; returns whether it was absent before.
    pub const fn insert(&mut self, location: u8) -> bool {
        let (word, bit) = Self::slot(location);
        let absent = self.0[word] & bit == 0;
        self.0[word] |= bit;
        absent
    }

    /// Removes `location`; returns whether it was present before.
    pub const fn remove(&mut self, location: u8) -> bool {
        let (word, bit) = Self::slot(location);
        let present = self.0[word] & bit != 0;
        self.0[word] &= !bit;
        present
    }

    /// Whether `location` is in the set.
    pub const fn contains(&self, location: u8) -> bool {
        let (word, bit) = Self::slot(location);
        self.0[word] & bit != 0
    }

    /// Locations in either set.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        let (a, b) = (self.0, other.0);
        Self([a[0] | b[0], a[1] | b[1], a[2] | b[2], a[3] | b[3]])
    }

    /// Locations in both sets.
    #[must_use]
    pub const fn intersection(self, other: Self) -> Self {
        let (a, b) = (self.0, other.0);
        Self([a[0] & b[0], a[1] & b[1], a[2] & b[2], a[3] & b[3]])
    }

    /// Whether the two sets share at least one location.
    pub const fn intersects(&self, other: &Self) -> bool {
        !self.intersection(*other).is_empty()
    }

    /// Whether the set holds no location.
    pub const fn is_empty(&self) -> bool {
        let w = self.0;
        (w[0] | w[1] | w[2] | w[3]) == 0
    }

    /// Number of locations in the set.
    pub const fn len(&self) -> usize {
        let w = self.0;
        (w[0].count_ones() + w[1].count_ones() + w[2].count_ones() + w[3].count_ones()) as usize
    }

    /// The locations in ascending order, without allocating.
    pub const fn iter(&self) -> LocationSetIter {
        LocationSetIter {
            words: self.0,
            word: 0,
        }
    }
}

impl Hash for LocationSet {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Four plain words: no length prefix, cheap with FxHasher.
        for word in self.0 {
            state.write_u64(word);
        }
    }
}

impl fmt::Debug for LocationSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<u8> for LocationSet {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> Self {
        let mut set = Self::EMPTY;
        set.extend(iter);
        set
    }
}

impl Extend<u8> for LocationSet {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, iter: I) {
        for location in iter {
            self.insert(location);
        }
    }
}

impl IntoIterator for LocationSet {
    type Item = u8;
    type IntoIter = LocationSetIter;

    fn into_iter(self) -> LocationSetIter {
        self.iter()
    }
}

impl IntoIterator for &LocationSet {
    type Item = u8;
    type IntoIter = LocationSetIter;

    fn into_iter(self) -> LocationSetIter {
        self.iter()
    }
}

/// Ascending iterator over the indices of a [`LocationSet`] (see [`LocationSet::iter`]).
#[derive(Debug, Clone)]
pub struct LocationSetIter {
    /// Remaining bits (visited bits are cleared).
    words: [u64; WORDS],
    /// First word that may still have bits.
    word: usize,
}

impl Iterator for LocationSetIter {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        while let Some(w) = self.words.get_mut(self.word) {
            if *w != 0 {
                let bit = w.trailing_zeros() as usize;
                *w &= *w - 1;
                // word < 4 and bit < 64, so the index is below 256.
                return Some((self.word * 64 + bit) as u8);
            }
            self.word += 1;
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = LocationSet(self.words).len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for LocationSetIter {}

impl FusedIterator for LocationSetIter {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_contains_remove() {
        let mut s = LocationSet::EMPTY;
        assert!(s.is_empty());
        assert_eq!(s.len(), 0);
        assert!(s.insert(0));
        assert!(!s.insert(0));
        assert!(s.insert(63));
        assert!(s.insert(64));
        assert!(s.insert(255));
        assert!(s.contains(0) && s.contains(63) && s.contains(64) && s.contains(255));
        assert!(!s.contains(1) && !s.contains(128) && !s.contains(254));
        assert_eq!(s.len(), 4);
        assert!(s.remove(63));
        assert!(!s.remove(63));
        assert!(!s.contains(63));
        assert_eq!(s.len(), 3);
        assert_eq!(LocationSet::single(200).iter().collect::<Vec<_>>(), [200]);
        assert_eq!(LocationSet::default(), LocationSet::EMPTY);
    }

    #[test]
    fn iterates_ascending() {
        let s: LocationSet = [255, 3, 64, 0, 127, 128, 3].into_iter().collect();
        let it = s.iter();
        assert_eq!(it.len(), 6);
        assert_eq!(it.collect::<Vec<_>>(), [0, 3, 64, 127, 128, 255]);
        assert_eq!((&s).into_iter().count(), 6);
        assert_eq!(LocationSet::EMPTY.iter().next(), None);
        let all: LocationSet = (0..=255).collect();
        assert_eq!(all.len(), MAX_LOCATIONS);
        assert!(all.iter().map(usize::from).eq(0..MAX_LOCATIONS));
        assert_eq!(format!("{s:?}"), "{0, 3, 64, 127, 128, 255}");
    }

    #[test]
    fn set_algebra() {
        let a: LocationSet = [1, 70, 200].into_iter().collect();
        let b: LocationSet = [2, 70].into_iter().collect();
        let c: LocationSet = [3, 199].into_iter().collect();
        assert_eq!(a.union(b).iter().collect::<Vec<_>>(), [1, 2, 70, 200]);
        assert_eq!(a.intersection(b).iter().collect::<Vec<_>>(), [70]);
        assert!(a.intersects(&b));
        assert!(b.intersects(&a));
        assert!(!a.intersects(&c));
        assert!(!a.intersects(&LocationSet::EMPTY));
        assert!(a.intersection(c).is_empty());
    }
}

//! The exhaustive walk over the product of the classes, and the grouping of its results
//! into readable boxes.
//!
//! Users × targets (the "outer" pairs) and the nine other dimensions (the "inner" tuples)
//! are each deduplicated by the policies whose conditions they satisfy; every outer key is
//! then combined with every inner key. The decision of a combination comes from
//! [`CompiledTenant::decide`](gardien_core::CompiledTenant::decide) on a representative
//! sign-in, shared by every combination with the same applying policies and grant-phase
//! inputs (client app type, device, session, kind of target) — the only inputs the core's
//! decision reads besides the conditions.

use std::collections::BTreeMap;
use std::hash::Hash;

use gardien_core::{SignIn, Verdict};
use rustc_hash::FxHashMap;

use super::{Sets, TargetKind, Universe, and};

/// Number of inner dimensions: platform, client app type, location, device, sign-in risk,
/// user risk, insider risk, authentication flow, session.
pub(crate) const INNER: usize = 9;

/// One class per inner dimension.
pub(crate) type Tuple = [u16; INNER];

/// A box: for each inner dimension, the classes it spans (sorted).
pub(crate) type Scope = [Vec<u16>; INNER];

/// Largest number of inner tuples walked.
pub(crate) const MAX_INNER: usize = 1 << 24;
/// Largest number of (outer key, inner key) combinations walked.
pub(crate) const MAX_COMBINATIONS: u128 = 1 << 30;

/// Mixed-radix numbering of inner tuples.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Radix {
    sizes: [usize; INNER],
    total: usize,
}

impl Radix {
    /// A radix over these dimension sizes.
    pub(crate) fn new(sizes: [usize; INNER]) -> Radix {
        let total = sizes.iter().try_fold(1usize, |a, s| a.checked_mul(*s));
        Radix {
            sizes,
            total: total.unwrap_or(usize::MAX),
        }
    }

    /// Number of tuples.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// Size of one dimension.
    pub(crate) fn size(&self, d: usize) -> usize {
        self.sizes.get(d).copied().unwrap_or(0)
    }

    /// The same radix with dimension `d` reduced to one class (class 0).
    pub(crate) fn without(&self, d: usize) -> Radix {
        let mut sizes = self.sizes;
        if let Some(s) = sizes.get_mut(d) {
            *s = 1;
        }
        Radix::new(sizes)
    }

    /// The number of a tuple.
    pub(crate) fn encode(&self, t: &Tuple) -> usize {
        t.iter()
            .zip(self.sizes.iter())
            .fold(0usize, |acc, (v, size)| {
                acc * size.max(&1) + usize::from(*v)
            })
    }

    /// The tuple numbered `i`.
    pub(crate) fn decode(&self, mut i: usize) -> Tuple {
        let mut t = [0u16; INNER];
        for d in (0..INNER).rev() {
            let size = self.sizes[d].max(1);
            t[d] = u16::try_from(i % size).unwrap_or(u16::MAX);
            i /= size;
        }
        t
    }
}

/// What the walk found for one label: the outer pairs (user class, target class) and, for all
/// of them alike, the inner tuples (numbers) carrying the label.
#[derive(Debug, Clone)]
pub(crate) struct Found<L> {
    /// The label (gap kind, or change of outcome).
    pub label: L,
    /// (user class, target class) pairs.
    pub pairs: Vec<(u32, u32)>,
    /// Inner tuple numbers, sorted.
    pub tuples: Vec<u32>,
}

/// The result of a walk.
#[derive(Debug, Clone)]
pub(crate) struct Walked<L> {
    /// Everything labelled, grouped.
    pub found: Vec<Found<L>>,
    /// `decide` calls made (per tenant).
    pub evaluations: usize,
    /// Distinct inner keys.
    pub inner_keys: usize,
    /// Distinct outer keys.
    pub outer_keys: usize,
    /// When the walk did not fit and only part of the outer side was walked
    /// ([`walk_partial`]): what was.
    pub truncated: Option<Truncated>,
}

/// What a walk too large to finish walked ([`walk_partial`]): the outer keys with the broadest
/// users and targets first, as many as the combination bound allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Truncated {
    /// Outer keys walked.
    pub outer_walked: usize,
    /// Outer keys in all.
    pub outer_total: usize,
    /// (user class, target class) pairs walked.
    pub pairs_walked: usize,
    /// (user class, target class) pairs in all.
    pub pairs_total: usize,
    /// Combinations of the whole walk (more than the bound).
    pub combinations: u128,
}

/// Why a walk did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WalkError {
    /// The product is too large to walk.
    TooLarge {
        /// Combinations that would be walked.
        combinations: u128,
    },
    /// A class index had no value (a bug).
    Internal(String),
}

/// The rest of an inner tuple (everything but the location): its policies and the grant
/// inputs (client app type, device, session classes).
type RestKey = (Sets, u16, u16, u16);

/// Walks every combination of classes; `classify` turns the verdicts of the tenants (in the
/// universe's order) into a label, or `None` for combinations not to report.
///
/// The inner side is the product of location groups (distinct location policy sets) and
/// "rest" groups (distinct policy sets and grant inputs of the other inner dimensions); an
/// inner key is one (location group, rest group) pair.
pub(crate) fn walk<L, F>(u: &Universe, classify: F) -> Result<Walked<L>, WalkError>
where
    L: Clone + Eq + Hash + Send,
    F: Fn(&[Verdict]) -> Option<L> + Sync,
{
    walk_signin(u, |v: &[Verdict], _: &SignIn| classify(v), None)
}

/// [`walk`] with the number of threads forced (tests), or chosen from the machine (`None`).
#[cfg(test)]
pub(crate) fn walk_threads<L, F>(
    u: &Universe,
    classify: F,
    threads: Option<usize>,
) -> Result<Walked<L>, WalkError>
where
    L: Clone + Eq + Hash + Send,
    F: Fn(&[Verdict]) -> Option<L> + Sync,
{
    walk_signin(u, |v: &[Verdict], _: &SignIn| classify(v), threads)
}

/// [`walk`] whose `classify` also receives the representative sign-in of the combination,
/// to decide it with other tenants whose policies are each a policy of the universe's tenants
/// (same conditions, so the same decision for every sign-in of the combination: `diff`'s
/// attribution).
pub(crate) fn walk_signin<L, F>(
    u: &Universe,
    classify: F,
    threads: Option<usize>,
) -> Result<Walked<L>, WalkError>
where
    L: Clone + Eq + Hash + Send,
    F: Fn(&[Verdict], &SignIn) -> Option<L> + Sync,
{
    walk_impl(u, classify, threads, None)
}

/// [`walk`], except that a walk with more than [`MAX_COMBINATIONS`] combinations walks the
/// outer keys with the broadest users and targets first, as many as fit, instead of being
/// refused ([`Walked::truncated`] says what was walked). An inner side larger than
/// [`MAX_INNER`], or one inner side alone over the bound, is still refused.
pub(crate) fn walk_partial<L, F>(u: &Universe, classify: F) -> Result<Walked<L>, WalkError>
where
    L: Clone + Eq + Hash + Send,
    F: Fn(&[Verdict]) -> Option<L> + Sync,
{
    walk_partial_within(u, classify, MAX_COMBINATIONS)
}

/// [`walk_partial`] with another bound than [`MAX_COMBINATIONS`] (tests).
pub(crate) fn walk_partial_within<L, F>(
    u: &Universe,
    classify: F,
    limit: u128,
) -> Result<Walked<L>, WalkError>
where
    L: Clone + Eq + Hash + Send,
    F: Fn(&[Verdict]) -> Option<L> + Sync,
{
    walk_impl(
        u,
        |v: &[Verdict], _: &SignIn| classify(v),
        None,
        Some(limit),
    )
}

fn walk_impl<L, F>(
    u: &Universe,
    classify: F,
    threads: Option<usize>,
    partial: Option<u128>,
) -> Result<Walked<L>, WalkError>
where
    L: Clone + Eq + Hash + Send,
    F: Fn(&[Verdict], &SignIn) -> Option<L> + Sync,
{
    let radix = u.radix();
    if radix.total() > MAX_INNER {
        return Err(WalkError::TooLarge {
            combinations: u.total_classes(),
        });
    }
    // Location groups.
    let mut l_index: FxHashMap<Sets, usize> = FxHashMap::default();
    let mut lsets: Vec<Sets> = Vec::new();
    let mut l_members: Vec<Vec<u16>> = Vec::new();
    for (l, sets) in u.location_sets.iter().enumerate() {
        let l = u16::try_from(l).unwrap_or(u16::MAX);
        match l_index.get(sets) {
            Some(&g) => {
                if let Some(m) = l_members.get_mut(g) {
                    m.push(l);
                }
            }
            None => {
                l_index.insert(*sets, lsets.len());
                lsets.push(*sets);
                l_members.push(vec![l]);
            }
        }
    }
    // Rest groups, over every tuple with the location left at class 0.
    let rest = radix.without(2);
    let mut r_index: FxHashMap<RestKey, usize> = FxHashMap::default();
    let mut rkeys: Vec<RestKey> = Vec::new();
    let mut r_members: Vec<Vec<u32>> = Vec::new();
    for i in 0..rest.total() {
        let t = rest.decode(i);
        // A flow that carries no device state (device code, authentication transfer) is told
        // apart by the device slot: the core decides it as if no device were presented.
        let transferred = u
            .flows
            .get(usize::from(t[7]))
            .is_some_and(|f| f.value.is_some());
        let device = if transferred { t[3] | 0x8000 } else { t[3] };
        let key = (u.rest_sets(&t), t[1], device, t[8]);
        let n = u32::try_from(i).unwrap_or(u32::MAX);
        match r_index.get(&key) {
            Some(&g) => {
                if let Some(m) = r_members.get_mut(g) {
                    m.push(n);
                }
            }
            None => {
                r_index.insert(key, rkeys.len());
                rkeys.push(key);
                r_members.push(vec![n]);
            }
        }
    }
    // Outer keys.
    let mut outer_index: FxHashMap<(Sets, TargetKind, u32), usize> = FxHashMap::default();
    let mut outer: Vec<(Sets, TargetKind, u32)> = Vec::new();
    let mut outer_pairs: Vec<Vec<(u32, u32)>> = Vec::new();
    for (ui, us) in u.user_sets.iter().enumerate() {
        for (ai, ts) in u.target_sets.iter().enumerate() {
            let kind = u.target_kinds.get(ai).copied().unwrap_or(TargetKind::App);
            let grant = u.user_grant.get(ui).copied().unwrap_or(0);
            let key = (and(us, ts), kind, grant);
            let pair = (
                u32::try_from(ui).unwrap_or(u32::MAX),
                u32::try_from(ai).unwrap_or(u32::MAX),
            );
            match outer_index.get(&key) {
                Some(&j) => {
                    if let Some(list) = outer_pairs.get_mut(j) {
                        list.push(pair);
                    }
                }
                None => {
                    outer_index.insert(key, outer.len());
                    outer.push(key);
                    outer_pairs.push(vec![pair]);
                }
            }
        }
    }
    let inner_keys = lsets.len() * rkeys.len();
    let combinations = (outer.len() as u128) * (inner_keys as u128);
    let mut truncated = None;
    let limit = partial.unwrap_or(MAX_COMBINATIONS).min(MAX_COMBINATIONS);
    if combinations > limit {
        let fit = usize::try_from(limit / (inner_keys.max(1) as u128)).unwrap_or(0);
        if partial.is_none() || fit == 0 {
            return Err(WalkError::TooLarge { combinations });
        }
        let pairs_total = outer_pairs.iter().map(Vec::len).sum();
        // The broadest users × targets first (the exposure's first factors), then the keys
        // that stand for more pairs.
        let breadth = |pairs: &[(u32, u32)]| {
            pairs
                .iter()
                .map(|(ui, ai)| {
                    let user = u.users.get(*ui as usize).map_or(0, |c| u64::from(c.weight));
                    let target = u
                        .targets
                        .get(*ai as usize)
                        .map_or(0, |c| u64::from(c.weight));
                    user * target
                })
                .max()
                .unwrap_or(0)
        };
        let mut order: Vec<usize> = (0..outer.len()).collect();
        order.sort_by_cached_key(|j| {
            let pairs = outer_pairs.get(*j).map_or(&[][..], Vec::as_slice);
            (
                std::cmp::Reverse(breadth(pairs)),
                std::cmp::Reverse(pairs.len()),
                *j,
            )
        });
        order.truncate(fit);
        order.sort_unstable();
        let keep: Vec<bool> = {
            let mut k = vec![false; outer.len()];
            for j in &order {
                if let Some(x) = k.get_mut(*j) {
                    *x = true;
                }
            }
            k
        };
        let mut flags = keep.iter();
        outer.retain(|_| flags.next().copied().unwrap_or(false));
        let mut flags = keep.iter();
        outer_pairs.retain(|_| flags.next().copied().unwrap_or(false));
        truncated = Some(Truncated {
            outer_walked: outer.len(),
            outer_total: keep.len(),
            pairs_walked: outer_pairs.iter().map(Vec::len).sum(),
            pairs_total,
            combinations,
        });
    }
    // Policy bits that differ between inner keys; the others are constant over the inner
    // side (always satisfied, or never), so each outer key fixes them once.
    let fold = |sets: &mut dyn Iterator<Item = &Sets>| {
        let (mut always, mut ever) = ([!0u64; WORDS], [0u64; WORDS]);
        for s in sets {
            let f = flat(s);
            for i in 0..WORDS {
                always[i] &= f[i];
                ever[i] |= f[i];
            }
        }
        (always, ever)
    };
    let (l_always, l_ever) = fold(&mut lsets.iter());
    let (r_always, r_ever) = fold(&mut rkeys.iter().map(|(s, ..)| s));
    let mut always = [0u64; WORDS];
    let mut varying_words = [0u64; WORDS];
    for i in 0..WORDS {
        always[i] = l_always[i] & r_always[i];
        varying_words[i] = l_ever[i] & r_ever[i] & !always[i];
    }
    let varying: Vec<u16> = (0..WORDS * 64)
        .filter(|b| varying_words[b / 64] >> (b % 64) & 1 == 1)
        .filter_map(|b| u16::try_from(b).ok())
        .collect();
    let ctx = Ctx {
        u,
        rest: &rest,
        lsets: &lsets,
        l_members: &l_members,
        rkeys: &rkeys,
        r_members: &r_members,
        outer: &outer,
        outer_pairs: &outer_pairs,
        always,
        varying: &varying,
        threads,
    };
    let labelled = match varying.len().div_ceil(64) {
        0 | 1 => label_all::<1, L, F>(&ctx, classify)?,
        2 => label_all::<2, L, F>(&ctx, classify)?,
        3 | 4 => label_all::<4, L, F>(&ctx, classify)?,
        5..=8 => label_all::<8, L, F>(&ctx, classify)?,
        _ => label_all::<WORDS, L, F>(&ctx, classify)?,
    };
    let Labelled {
        labels,
        patterns,
        mut pattern_outer,
        evaluations,
    } = labelled;
    let mut ordered: Vec<(usize, Pattern)> = patterns.into_iter().map(|(p, i)| (i, p)).collect();
    for list in &mut pattern_outer {
        list.sort_unstable();
    }
    ordered.sort_by_key(|(i, _)| pattern_outer.get(*i).and_then(|l| l.first()).copied());
    let n_rest = rkeys.len().max(1);
    let mut found = Vec::new();
    for (p, pattern) in ordered {
        let pairs: Vec<(u32, u32)> = pattern_outer
            .get(p)
            .into_iter()
            .flatten()
            .filter_map(|j| outer_pairs.get(*j))
            .flatten()
            .copied()
            .collect();
        for (l, ks) in pattern {
            let Some(label) = labels.get(l as usize) else {
                continue;
            };
            let mut tuples: Vec<u32> = Vec::new();
            for k in ks {
                let (lg, rg) = (k as usize / n_rest, k as usize % n_rest);
                for loc in l_members.get(lg).into_iter().flatten() {
                    for r in r_members.get(rg).into_iter().flatten() {
                        let mut t = rest.decode(*r as usize);
                        t[2] = *loc;
                        tuples.push(u32::try_from(radix.encode(&t)).unwrap_or(u32::MAX));
                    }
                }
            }
            tuples.sort_unstable();
            found.push(Found {
                label: label.clone(),
                pairs: pairs.clone(),
                tuples,
            });
        }
    }
    Ok(Walked {
        found,
        evaluations,
        inner_keys,
        outer_keys: outer.len(),
        truncated,
    })
}

/// Words of a [`Sets`] seen as one bit vector.
const WORDS: usize = 8 * super::TENANTS;

fn flat(s: &Sets) -> [u64; WORDS] {
    let mut out = [0u64; WORDS];
    for (chunk, set) in out.chunks_mut(8).zip(s.iter()) {
        chunk.copy_from_slice(&set.0);
    }
    out
}

/// The bits of `f` at the `varying` positions, packed.
fn pack<const W: usize>(f: &[u64; WORDS], varying: &[u16]) -> [u64; W] {
    let mut out = [0u64; W];
    for (i, b) in varying.iter().enumerate() {
        let b = usize::from(*b);
        if f[b / 64] >> (b % 64) & 1 == 1
            && let Some(w) = out.get_mut(i / 64)
        {
            *w |= 1 << (i % 64);
        }
    }
    out
}

fn and_packed<const W: usize>(a: &[u64; W], b: &[u64; W]) -> [u64; W] {
    let mut out = *a;
    for (x, y) in out.iter_mut().zip(b.iter()) {
        *x &= *y;
    }
    out
}

struct Ctx<'a> {
    u: &'a Universe,
    rest: &'a Radix,
    lsets: &'a [Sets],
    l_members: &'a [Vec<u16>],
    rkeys: &'a [RestKey],
    r_members: &'a [Vec<u32>],
    outer: &'a [(Sets, TargetKind, u32)],
    outer_pairs: &'a [Vec<(u32, u32)>],
    always: [u64; WORDS],
    varying: &'a [u16],
    threads: Option<usize>,
}

type Pattern = Vec<(u32, Vec<u32>)>;

/// An outer key in labelling order: its index, packed varying bits and constant bits.
type Ordered<const W: usize> = (usize, [u64; W], [u64; WORDS]);

/// Outer key's constant bits (interned), kind of target, applying varying bits, grant inputs.
type MemoKey<const W: usize> = (u32, TargetKind, u32, [u64; W], u16, u16, u16);

struct Labelled<L> {
    labels: Vec<L>,
    patterns: FxHashMap<Pattern, usize>,
    pattern_outer: Vec<Vec<usize>>,
    evaluations: usize,
}

/// Interns values into dense ids.
fn intern<K: Eq + Hash + Copy>(map: &mut FxHashMap<K, u32>, reps: &mut Vec<K>, key: K) -> u32 {
    let next = u32::try_from(reps.len()).unwrap_or(u32::MAX);
    *map.entry(key).or_insert_with(|| {
        reps.push(key);
        next
    })
}

/// Labels every (outer key, inner key) combination.
///
/// The applying policies of a combination are the outer key's bits that are constant over
/// the inner side, plus the AND of the varying bits (packed into `W` words) of the outer key,
/// the location group and the rest group. Combinations with the same applying policies and
/// grant inputs share one decision. Outer keys with the same packed bits split the inner
/// keys the same way ("grouping"): it is computed once for them — locations and rests are
/// first restricted to those bits, which merges most of them — and each outer key then looks
/// up one label per group.
fn label_all<const W: usize, L, F>(ctx: &Ctx<'_>, classify: F) -> Result<Labelled<L>, WalkError>
where
    L: Clone + Eq + Hash + Send,
    F: Fn(&[Verdict], &SignIn) -> Option<L> + Sync,
{
    let l_packed: Vec<[u64; W]> = ctx
        .lsets
        .iter()
        .map(|s| pack::<W>(&flat(s), ctx.varying))
        .collect();
    let r_packed: Vec<([u64; W], u16, u16, u16)> = ctx
        .rkeys
        .iter()
        .map(|(sets, c, d, s)| (pack::<W>(&flat(sets), ctx.varying), *c, *d, *s))
        .collect();
    // Outer keys by packed varying bits, so that one grouping is alive at a time.
    let mut order: Vec<Ordered<W>> = ctx
        .outer
        .iter()
        .enumerate()
        .map(|(j, (sets, _, _))| {
            let f = flat(sets);
            let mut base = f;
            for (b, a) in base.iter_mut().zip(ctx.always.iter()) {
                *b &= *a;
            }
            (j, pack::<W>(&f, ctx.varying), base)
        })
        .collect();
    order.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));

    // Outer keys are cut into one chunk per thread, at grouping boundaries; each thread has
    // its own memo (a decision is rarely needed by two chunks), the results are merged.
    let threads = match ctx.threads {
        Some(n) => n.max(1),
        None if order.len() < 64 => 1,
        None => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8),
    };
    let mut chunks: Vec<&[Ordered<W>]> = Vec::new();
    let mut rest: &[Ordered<W>] = &order;
    for t in (1..=threads).rev() {
        let mut cut = rest.len().div_ceil(t).min(rest.len());
        while cut > 0
            && cut < rest.len()
            && rest.get(cut).map(|x| x.1) == rest.get(cut - 1).map(|x| x.1)
        {
            cut += 1;
        }
        let (chunk, tail) = rest.split_at(cut);
        if !chunk.is_empty() {
            chunks.push(chunk);
        }
        rest = tail;
    }
    let results: Vec<Result<Labelled<L>, WalkError>> = if chunks.len() <= 1 {
        chunks
            .iter()
            .map(|c| label_chunk::<W, L, F>(ctx, &l_packed, &r_packed, c, &classify))
            .collect()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|c| {
                    let (l_packed, r_packed, classify) = (&l_packed, &r_packed, &classify);
                    scope
                        .spawn(move || label_chunk::<W, L, F>(ctx, l_packed, r_packed, c, classify))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(WalkError::Internal("a labelling thread failed".to_owned()))
                    })
                })
                .collect()
        })
    };
    // Merge: labels by value, patterns by their (relabelled) content.
    let mut merged = Labelled {
        labels: Vec::new(),
        patterns: FxHashMap::default(),
        pattern_outer: Vec::new(),
        evaluations: 0,
    };
    let mut label_ids: FxHashMap<L, u32> = FxHashMap::default();
    for result in results {
        let part = result?;
        merged.evaluations += part.evaluations;
        let relabel: Vec<u32> = part
            .labels
            .into_iter()
            .map(|l| {
                let next = u32::try_from(merged.labels.len()).unwrap_or(u32::MAX);
                *label_ids.entry(l.clone()).or_insert_with(|| {
                    merged.labels.push(l);
                    next
                })
            })
            .collect();
        let mut parts: Vec<(usize, Pattern)> =
            part.patterns.into_iter().map(|(p, i)| (i, p)).collect();
        parts.sort_by_key(|(i, _)| *i);
        for (i, pattern) in parts {
            let mut pattern: Pattern = pattern
                .into_iter()
                .map(|(l, ks)| (relabel.get(l as usize).copied().unwrap_or(u32::MAX), ks))
                .collect();
            pattern.sort_by_key(|(l, _)| *l);
            let next = merged.pattern_outer.len();
            let p = *merged.patterns.entry(pattern).or_insert(next);
            if p == next {
                merged.pattern_outer.push(Vec::new());
            }
            if let (Some(list), Some(js)) =
                (merged.pattern_outer.get_mut(p), part.pattern_outer.get(i))
            {
                list.extend(js.iter().copied());
            }
        }
    }
    Ok(merged)
}

/// Labels the outer keys of one chunk (sorted by packed bits).
fn label_chunk<const W: usize, L, F>(
    ctx: &Ctx<'_>,
    l_packed: &[[u64; W]],
    r_packed: &[([u64; W], u16, u16, u16)],
    order: &[Ordered<W>],
    classify: &F,
) -> Result<Labelled<L>, WalkError>
where
    L: Clone + Eq + Hash,
    F: Fn(&[Verdict], &SignIn) -> Option<L>,
{
    let u = ctx.u;
    let n_rest = r_packed.len();
    let mut bases: FxHashMap<[u64; WORDS], u32> = FxHashMap::default();
    let mut memo: FxHashMap<MemoKey<W>, Option<u32>> = FxHashMap::default();
    let mut labels: Vec<L> = Vec::new();
    let mut label_ids: FxHashMap<L, u32> = FxHashMap::default();
    let mut evaluations = 0usize;
    let mut patterns: FxHashMap<Pattern, usize> = FxHashMap::default();
    let mut pattern_outer: Vec<Vec<usize>> = Vec::new();
    let mut verdicts: Vec<Verdict> = Vec::with_capacity(u.tenants.len());

    // The current grouping.
    let mut current: Option<[u64; W]> = None;
    let mut l_map: FxHashMap<[u64; W], u32> = FxHashMap::default();
    let mut l_reps: Vec<[u64; W]> = Vec::new();
    let mut l_of: Vec<u32> = Vec::new();
    let mut r_map: FxHashMap<([u64; W], u16, u16, u16), u32> = FxHashMap::default();
    let mut r_reps: Vec<([u64; W], u16, u16, u16)> = Vec::new();
    let mut r_of: Vec<u32> = Vec::new();
    let mut g_map: FxHashMap<([u64; W], u16, u16, u16), u32> = FxHashMap::default();
    let mut g_reps: Vec<([u64; W], u16, u16, u16)> = Vec::new();
    let mut g_first: Vec<(usize, usize)> = Vec::new();
    let mut combos: Vec<u32> = Vec::new();
    let mut by_labels: FxHashMap<Vec<Option<u32>>, usize> = FxHashMap::default();
    let mut group_labels: Vec<Option<u32>> = Vec::new();
    for (j, packed, base) in order {
        if current != Some(*packed) {
            current = Some(*packed);
            l_map.clear();
            l_reps.clear();
            r_map.clear();
            r_reps.clear();
            g_map.clear();
            g_reps.clear();
            g_first.clear();
            by_labels.clear();
            l_of = l_packed
                .iter()
                .map(|l| intern(&mut l_map, &mut l_reps, and_packed(l, packed)))
                .collect();
            r_of = r_packed
                .iter()
                .map(|(r, c, d, s)| {
                    intern(&mut r_map, &mut r_reps, (and_packed(r, packed), *c, *d, *s))
                })
                .collect();
            // First location and rest group behind each restricted one.
            let mut l_first = vec![usize::MAX; l_reps.len()];
            for (lg, lp) in l_of.iter().enumerate() {
                if let Some(f) = l_first.get_mut(*lp as usize) {
                    *f = (*f).min(lg);
                }
            }
            let mut r_first = vec![usize::MAX; r_reps.len()];
            for (rg, rp) in r_of.iter().enumerate() {
                if let Some(f) = r_first.get_mut(*rp as usize) {
                    *f = (*f).min(rg);
                }
            }
            combos.clear();
            for (lp, l_bits) in l_reps.iter().enumerate() {
                for (rp, (r_bits, c, d, s)) in r_reps.iter().enumerate() {
                    let key = (and_packed(l_bits, r_bits), *c, *d, *s);
                    let before = g_reps.len();
                    let g = intern(&mut g_map, &mut g_reps, key);
                    if g_reps.len() > before {
                        g_first.push((
                            l_first.get(lp).copied().unwrap_or(0),
                            r_first.get(rp).copied().unwrap_or(0),
                        ));
                    }
                    combos.push(g);
                }
            }
        }
        let next = u32::try_from(bases.len()).unwrap_or(u32::MAX);
        let base = *bases.entry(*base).or_insert(next);
        let (kind, grant) = ctx
            .outer
            .get(*j)
            .map(|(_, k, g)| (*k, *g))
            .unwrap_or((TargetKind::App, 0));
        group_labels.clear();
        for ((applying, c, d, s), (lg, rg)) in g_reps.iter().zip(g_first.iter()) {
            let key = (base, kind, grant, *applying, *c, *d, *s);
            let label = match memo.get(&key) {
                Some(l) => *l,
                None => {
                    let (ui, ai) = ctx
                        .outer_pairs
                        .get(*j)
                        .and_then(|p| p.first())
                        .copied()
                        .ok_or_else(|| WalkError::Internal("empty outer key".to_owned()))?;
                    let r = ctx
                        .r_members
                        .get(*rg)
                        .and_then(|m| m.first())
                        .copied()
                        .unwrap_or(0);
                    let mut t = ctx.rest.decode(r as usize);
                    t[2] = ctx
                        .l_members
                        .get(*lg)
                        .and_then(|m| m.first())
                        .copied()
                        .unwrap_or(0);
                    let signin = u.signin(ui as usize, ai as usize, &t).ok_or_else(|| {
                        WalkError::Internal(format!("no sign-in for classes {ui}, {ai}, {t:?}"))
                    })?;
                    verdicts.clear();
                    verdicts.extend(u.tenants.iter().map(|tenant| tenant.decide(&signin)));
                    evaluations += 1;
                    let label = classify(&verdicts, &signin).map(|l| match label_ids.get(&l) {
                        Some(id) => *id,
                        None => {
                            let id = u32::try_from(labels.len()).unwrap_or(u32::MAX);
                            label_ids.insert(l.clone(), id);
                            labels.push(l);
                            id
                        }
                    });
                    memo.insert(key, label);
                    label
                }
            };
            group_labels.push(label);
        }
        if group_labels.iter().all(Option::is_none) {
            continue;
        }
        let p = match by_labels.get(&group_labels) {
            Some(p) => *p,
            None => {
                // Inner key k = location group × rests + rest group.
                let n_restricted = r_reps.len();
                let mut by_label: std::collections::BTreeMap<u32, Vec<u32>> =
                    std::collections::BTreeMap::new();
                for (lg, lp) in l_of.iter().enumerate() {
                    for (rg, rp) in r_of.iter().enumerate() {
                        let g = combos
                            .get(*lp as usize * n_restricted + *rp as usize)
                            .copied()
                            .unwrap_or(0);
                        if let Some(l) = group_labels.get(g as usize).copied().flatten() {
                            by_label
                                .entry(l)
                                .or_default()
                                .push(u32::try_from(lg * n_rest + rg).unwrap_or(u32::MAX));
                        }
                    }
                }
                let pattern: Pattern = by_label.into_iter().collect();
                let p = match patterns.get(&pattern) {
                    Some(p) => *p,
                    None => {
                        patterns.insert(pattern, pattern_outer.len());
                        pattern_outer.push(Vec::new());
                        pattern_outer.len() - 1
                    }
                };
                by_labels.insert(group_labels.clone(), p);
                p
            }
        };
        if let Some(list) = pattern_outer.get_mut(p) {
            list.push(*j);
        }
    }
    Ok(Labelled {
        labels,
        patterns,
        pattern_outer,
        evaluations,
    })
}

/// Order in which a set of tuples that is not a box is split: the dimensions an
/// administrator reasons about first.
const SPLIT_ORDER: [usize; INNER] = [8, 1, 3, 4, 5, 6, 7, 0, 2];

fn projections(ts: &[Tuple]) -> Scope {
    let mut p: Scope = Default::default();
    for t in ts {
        for (d, v) in t.iter().enumerate() {
            p[d].push(*v);
        }
    }
    for list in &mut p {
        list.sort_unstable();
        list.dedup();
    }
    p
}

fn split(ts: &[Tuple]) -> Vec<Scope> {
    let proj = projections(ts);
    let product = proj
        .iter()
        .try_fold(1usize, |a, p| a.checked_mul(p.len()))
        .unwrap_or(usize::MAX);
    if product == ts.len() {
        return vec![proj];
    }
    let Some(dim) = SPLIT_ORDER.iter().copied().find(|d| proj[*d].len() > 1) else {
        return vec![proj];
    };
    let mut out: Vec<Scope> = Vec::new();
    for v in &proj[dim] {
        let sub: Vec<Tuple> = ts.iter().filter(|t| t[dim] == *v).copied().collect();
        for b in split(&sub) {
            let same = out
                .iter_mut()
                .find(|e| (0..INNER).all(|i| i == dim || e[i] == b[i]));
            match same {
                Some(e) => e[dim].push(*v),
                None => out.push(b),
            }
        }
    }
    out
}

/// Cuts a set of inner tuples into disjoint boxes (products of classes), few and large.
pub(crate) fn boxes(radix: &Radix, tuples: &[u32]) -> Vec<Scope> {
    let decoded: Vec<Tuple> = tuples.iter().map(|i| radix.decode(*i as usize)).collect();
    if decoded.is_empty() {
        return Vec::new();
    }
    split(&decoded)
}

/// A label, a box, and the (user, target) pairs that have that label in that box.
type Gathered<L> = (L, Scope, Vec<(u32, u32)>);

/// One reported group: a label, users × targets, and a box of the inner dimensions.
pub(crate) struct Group<L> {
    /// The label.
    pub label: L,
    /// User classes.
    pub users: Vec<u32>,
    /// Target classes.
    pub targets: Vec<u32>,
    /// The box.
    pub scope: Scope,
}

/// Cuts what the walk found into groups: boxes of the inner tuples, with the (user, target)
/// pairs that share a label and a box gathered (whatever else differs between them), then
/// cut into blocks users × targets. The groups are disjoint and cover everything found.
pub(crate) fn groups<L: Clone + Eq + Hash>(radix: &Radix, found: &[Found<L>]) -> Vec<Group<L>> {
    let mut index: FxHashMap<(L, Scope), usize> = FxHashMap::default();
    let mut gathered: Vec<Gathered<L>> = Vec::new();
    for f in found {
        for scope in boxes(radix, &f.tuples) {
            let key = (f.label.clone(), scope);
            match index.get(&key) {
                Some(&i) => {
                    if let Some((_, _, pairs)) = gathered.get_mut(i) {
                        pairs.extend(f.pairs.iter().copied());
                    }
                }
                None => {
                    index.insert(key.clone(), gathered.len());
                    gathered.push((key.0, key.1, f.pairs.clone()));
                }
            }
        }
    }
    let mut out = Vec::new();
    for (label, scope, pairs) in gathered {
        for (users, targets) in blocks(&pairs) {
            out.push(Group {
                label: label.clone(),
                users,
                targets,
                scope: scope.clone(),
            });
        }
    }
    out
}

/// Groups (user, target) pairs into blocks users × targets.
pub(crate) fn blocks(pairs: &[(u32, u32)]) -> Vec<(Vec<u32>, Vec<u32>)> {
    let mut by_user: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (u, a) in pairs {
        by_user.entry(*u).or_default().push(*a);
    }
    let mut by_targets: BTreeMap<Vec<u32>, Vec<u32>> = BTreeMap::new();
    for (u, mut targets) in by_user {
        targets.sort_unstable();
        targets.dedup();
        by_targets.entry(targets).or_default().push(u);
    }
    let mut out: Vec<(Vec<u32>, Vec<u32>)> = by_targets.into_iter().map(|(t, u)| (u, t)).collect();
    out.sort_by_key(|(u, t)| (u.first().copied(), t.first().copied()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_cover_exactly_and_merge() {
        let radix = Radix::new([2, 3, 1, 1, 1, 1, 1, 1, 2]);
        // Everything except (p=1, c=2, s=1).
        let all: Vec<u32> = (0..radix.total() as u32)
            .filter(|i| {
                let t = radix.decode(*i as usize);
                !(t[0] == 1 && t[1] == 2 && t[8] == 1)
            })
            .collect();
        let b = boxes(&radix, &all);
        let mut covered: Vec<u32> = Vec::new();
        for scope in &b {
            for i in 0..radix.total() {
                let t = radix.decode(i);
                if (0..INNER).all(|d| scope[d].contains(&t[d])) {
                    covered.push(i as u32);
                }
            }
        }
        covered.sort_unstable();
        assert_eq!(covered, all, "boxes cover the set exactly, without overlap");
        assert!(b.len() <= 3, "{b:?}");
        let full: Vec<u32> = (0..radix.total() as u32).collect();
        assert_eq!(boxes(&radix, &full).len(), 1);
    }

    #[test]
    fn blocks_group_users_with_the_same_targets() {
        let b = blocks(&[(0, 1), (0, 2), (1, 1), (1, 2), (2, 1)]);
        assert_eq!(b, vec![(vec![0, 1], vec![1, 2]), (vec![2], vec![1])]);
    }
}

//! Rank markers: what lets SPOP and SRANDMEMBER pick uniformly random members of a big set without
//! reading it each time.
//!
//! Members are stored in byte order and RocksDB cannot jump to "the i-th member", and a random seek into
//! the member range is badly biased (hex ids, words, clustered names put most of the byte space in front of
//! a few members). So the set is scanned once and cut into buckets of about `n / 8192` consecutive members
//! (at least 8); a bucket is remembered by its first member and its size. The member of rank `r` is then
//! one seek to its bucket's first member plus at most a bucket's worth of steps.
//!
//! The sizes are kept exact as the set changes: every set mutation applied on this core reports the
//! members it added and removed ([`note`]), which land in the bucket whose range holds them. A bucket
//! grown past four times its target size, a total that disagrees with the set's count, or a walk that does
//! not find what the sizes promise drops the markers, and the next pick scans again. Versions key the
//! cache, so DEL, expiry, RENAME or a STORE over the set simply leave an entry nobody asks for; the cache
//! is a small LRU per core (thread-local: one executor thread per core), so its memory is bounded.
//!
//! Costs: building is O(n) (like SMEMBERS), once per set and core while it stays in the cache; a pick is one
//! seek plus about `n / 16384` steps on average (measured: with 1024 buckets the steps were 40% of an SPOP's
//! cost on a 63k-member set; 8192 buckets took SPOP from 30k to 40k/s); noting a write is one hash lookup (plus a binary search
//! over at most 8193 markers when the set is cached). The sizes sit in a Fenwick tree, so finding the bucket
//! of a rank and counting a write are O(log buckets) (a linear walk over the sizes was 12% of an SPOP).

use std::cell::RefCell;
use std::num::NonZeroUsize;

use bytes::Bytes;
use lru::LruCache;

use super::algebra::SetRef;
use crate::cmd::CmdError;
use crate::slot::SlotId;
use crate::storage::collection::Family;
use crate::storage::Store;

/// Sets whose markers one core keeps.
const CACHED_SETS: usize = 16;
/// Buckets a set is cut into (at most).
const BUCKETS: u64 = 8192;
/// The smallest bucket.
const MIN_BUCKET: u64 = 8;

/// Which set (and which store: tests may run several in one thread) the markers describe.
type CacheKey = (usize, u16, u8, u64, Bytes);

fn cache_key(store: &Store, slot: SlotId, db: u8, key: &Bytes, version: u64) -> CacheKey {
    (
        store as *const Store as usize,
        slot.0,
        db,
        version,
        key.clone(),
    )
}

thread_local! {
    static CACHE: RefCell<LruCache<CacheKey, Markers, ahash::RandomState>> = RefCell::new(
        LruCache::with_hasher(NonZeroUsize::new(CACHED_SETS).unwrap(), ahash::RandomState::new()),
    );
}

/// One set's buckets.
struct Markers {
    /// Bucket `j` holds the members in `bounds[j] .. bounds[j + 1]` (the last one: to the end).
    bounds: Vec<Bytes>,
    sizes: Vec<u64>,
    /// Fenwick tree over `sizes` (1-based: `tree[i]` sums the `i & i.wrapping_neg()` sizes ending at `i`).
    tree: Vec<u64>,
    total: u64,
    /// The bucket size it was built with.
    target: u64,
}

impl Markers {
    /// Scans the set once.
    fn build(store: &Store, db: u8, set: &SetRef) -> Result<Markers, CmdError> {
        let target = (set.count / BUCKETS).max(MIN_BUCKET);
        let mut c = store.member_cursor(Family::Sub, set.slot, db, &set.key, set.version);
        c.seek_to_first();
        let (mut bounds, mut sizes) = (Vec::new(), Vec::new());
        let mut total = 0;
        while c.valid() {
            if total % target == 0 {
                bounds.push(Bytes::copy_from_slice(c.member()));
                sizes.push(0);
            }
            *sizes.last_mut().expect("a bucket was opened") += 1;
            total += 1;
            c.next();
        }
        c.status()?;
        Ok(Markers::new(bounds, sizes, target))
    }

    fn new(bounds: Vec<Bytes>, sizes: Vec<u64>, target: u64) -> Markers {
        let n = sizes.len();
        let mut tree = vec![0; n + 1];
        for i in 1..=n {
            tree[i] += sizes[i - 1];
            let up = i + (i & i.wrapping_neg());
            if up <= n {
                tree[up] += tree[i];
            }
        }
        Markers {
            total: sizes.iter().sum(),
            bounds,
            sizes,
            tree,
            target,
        }
    }

    /// Adds `delta` to bucket `j`'s size.
    fn bump(&mut self, j: usize, delta: i64) {
        self.sizes[j] = self.sizes[j].wrapping_add_signed(delta);
        self.total = self.total.wrapping_add_signed(delta);
        let mut i = j + 1;
        while i < self.tree.len() {
            self.tree[i] = self.tree[i].wrapping_add_signed(delta);
            i += i & i.wrapping_neg();
        }
    }

    /// The bucket holding rank `r` and the rank of its first member; `None` past the last member.
    fn locate(&self, r: u64) -> Option<(usize, u64)> {
        let n = self.sizes.len();
        if n == 0 {
            return None;
        }
        let (mut pos, mut rem) = (0usize, r);
        let mut step = 1usize << (usize::BITS - 1 - n.leading_zeros());
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] <= rem {
                pos = next;
                rem -= self.tree[next];
            }
            step >>= 1;
        }
        (pos < n).then_some((pos, r - rem))
    }

    /// The bucket whose range holds `member`.
    fn bucket_of(&self, member: &[u8]) -> usize {
        self.bounds
            .partition_point(|b| b.as_ref() <= member)
            .saturating_sub(1)
    }

    /// Counts an added member; false when the markers should be rebuilt.
    fn add(&mut self, member: &Bytes) -> bool {
        if self.bounds.is_empty() {
            return false;
        }
        let j = self.bucket_of(member);
        if j == 0 && member < &self.bounds[0] {
            self.bounds[0] = member.clone();
        }
        self.bump(j, 1);
        self.sizes[j] <= 4 * self.target
    }

    /// Counts a removed member (its bound, if it was one, still separates the buckets).
    fn remove(&mut self, member: &Bytes) -> bool {
        if self.bounds.is_empty() {
            return false;
        }
        let j = self.bucket_of(member);
        if self.sizes[j] == 0 || self.total == 0 {
            return false;
        }
        self.bump(j, -1);
        true
    }

    /// The members at `ranks` (ascending, each below `total`), walking each bucket once at most. `None`
    /// when the store disagrees with the sizes.
    fn at_ranks(
        &self,
        store: &Store,
        db: u8,
        set: &SetRef,
        ranks: &[u64],
    ) -> Result<Option<Vec<Bytes>>, CmdError> {
        let mut c = store.member_cursor(Family::Sub, set.slot, db, &set.key, set.version);
        let mut out = Vec::with_capacity(ranks.len());
        // The bucket the cursor is in, the rank of that bucket's first member, and the cursor's offset
        // in it (`None`: not positioned in this bucket yet).
        let (mut j, mut start, mut at) = (0usize, 0u64, None::<u64>);
        for &r in ranks {
            if at.is_none() || r >= start + self.sizes[j] {
                let Some((bucket, first)) = self.locate(r) else {
                    return Ok(None);
                };
                (j, start, at) = (bucket, first, None);
            }
            let want = r - start;
            let mut pos = match at {
                Some(p) => p,
                None => {
                    c.seek(&self.bounds[j]);
                    0
                }
            };
            while pos < want && c.valid() {
                c.next();
                pos += 1;
            }
            c.status()?;
            let next_bound = self.bounds.get(j + 1);
            if !c.valid() || next_bound.is_some_and(|b| c.member() >= b.as_ref()) {
                return Ok(None);
            }
            out.push(Bytes::copy_from_slice(c.member()));
            at = Some(pos);
        }
        Ok(Some(out))
    }
}

/// The members of `set` at `ranks` (ascending, each below `set.count`), using (and if needed building)
/// the set's markers.
pub fn at_ranks(
    store: &Store,
    db: u8,
    set: &SetRef,
    ranks: &[u64],
) -> Result<Vec<Bytes>, CmdError> {
    let key = cache_key(store, set.slot, db, &set.key, set.version);
    for _ in 0..2 {
        let cached = CACHE.with(|c| c.borrow_mut().pop(&key));
        let markers = match cached {
            Some(m) if m.total == set.count => m,
            _ => Markers::build(store, db, set)?,
        };
        let found = markers.at_ranks(store, db, set, ranks)?;
        if let Some(members) = found {
            CACHE.with(|c| c.borrow_mut().put(key, markers));
            return Ok(members);
        }
    }
    // The store changed under fresh markers: impossible while this runs, but never loop.
    Err(CmdError::msg("ERR set changed while sampling"))
}

/// Whether writes to this set should be reported with [`note`].
pub fn tracked(store: &Store, slot: SlotId, db: u8, key: &Bytes, version: u64) -> bool {
    CACHE.with(|c| {
        let c = c.borrow();
        !c.is_empty() && c.contains(&cache_key(store, slot, db, key, version))
    })
}

/// Reports members added to and removed from a set (called while a mutation is applied).
pub fn note(
    store: &Store,
    slot: SlotId,
    db: u8,
    key: &Bytes,
    version: u64,
    added: &[Bytes],
    removed: &[Bytes],
) {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let k = cache_key(store, slot, db, key, version);
        let Some(m) = c.peek_mut(&k) else {
            return;
        };
        let ok = added.iter().all(|a| m.add(a)) && removed.iter().all(|r| m.remove(r));
        if !ok {
            c.pop(&k);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn buckets_follow_adds_and_removes() {
        let mut m = Markers::new(vec![b("c"), b("m")], vec![3, 2], 2);
        assert_eq!(m.bucket_of(b"a"), 0);
        assert_eq!(m.bucket_of(b"c"), 0);
        assert_eq!(m.bucket_of(b"l"), 0);
        assert_eq!(m.bucket_of(b"m"), 1);
        assert_eq!(m.bucket_of(b"z"), 1);
        // A member before the first bound becomes the first bound.
        assert!(m.add(&b("a")));
        assert_eq!(m.bounds[0], b("a"));
        assert_eq!((m.sizes.clone(), m.total), (vec![4, 2], 6));
        assert!(m.remove(&b("m")));
        assert_eq!((m.sizes.clone(), m.total), (vec![4, 1], 5));
        // Growing past four times the target asks for a rebuild.
        assert!(m.add(&b("d")) && m.add(&b("e")) && m.add(&b("f")) && m.add(&b("g")));
        assert!(!m.add(&b("h")));
        // Removing from an empty bucket means the sizes are wrong.
        assert!(m.remove(&b("n")));
        assert!(!m.remove(&b("o")));
    }

    #[test]
    fn locate_agrees_with_a_walk_over_the_sizes() {
        let mut rng = 0x9e3779b97f4a7c15u64;
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        for n in [1usize, 2, 3, 7, 8, 100, 8193] {
            let sizes: Vec<u64> = (0..n).map(|_| next(12)).collect();
            let bounds = (0..n).map(|i| Bytes::from(format!("{i:06}"))).collect();
            let mut m = Markers::new(bounds, sizes, 8);
            for round in 0..3 {
                for _ in 0..n {
                    let j = next(n as u64) as usize;
                    if m.sizes[j] > 0 && next(2) == 0 {
                        m.bump(j, -1);
                    } else {
                        m.bump(j, 1);
                    }
                }
                assert_eq!(m.total, m.sizes.iter().sum::<u64>());
                let mut start = 0;
                for (j, &size) in m.sizes.iter().enumerate() {
                    for r in start..start + size {
                        assert_eq!(
                            m.locate(r),
                            Some((j, start)),
                            "n {n} round {round} rank {r}"
                        );
                    }
                    start += size;
                }
                assert_eq!(m.locate(start), None);
                assert_eq!(m.locate(start + 5), None);
            }
        }
    }
}

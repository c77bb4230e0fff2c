//! Random members for SPOP and SRANDMEMBER, chosen by the proposer (never while applying).
//!
//! Small sets, and requests for a large share of a set, read every member and sample exactly uniformly:
//! O(set size). Otherwise the set is never read whole; each pick costs one seek plus a few steps:
//!
//! 1. *Learn the shape of the members* once per command: the first and last [`LEARN`] members (two seeks
//!    and a bounded read). Members are stored in byte order and all share the first and last members'
//!    common prefix; for each of the next [`WINDOW`] byte positions we note the smallest and largest byte
//!    seen there.
//! 2. *Pick*: seek to `prefix · b0 b1 ... b7`, each `bi` uniform within the range learnt for position i,
//!    take the first member at or after it (wrapping to the first member past the end), then step forward
//!    a random 0..[`SKIP`] members (wrapping too).
//!
//! A member's chance is proportional to the share of that byte grid falling just before it, smoothed over
//! its [`SKIP`] predecessors: close to uniform for members drawn from one alphabet (decimal ids, hex
//! hashes, UUIDs, base64), skewed when member names cluster unevenly. Redis's own random picks are not
//! exactly uniform either (its dict sampling favours sparse buckets). Distinct picks that keep colliding
//! fall back to walking forward from the last pick, so a request always completes in O(count) steps.

use ahash::AHashSet;
use bytes::Bytes;
use rand::seq::index;
use rand::Rng;

use super::algebra::{self, SetRef};
use crate::cmd::CmdError;
use crate::storage::collection::{Family, MemberCursor};
use crate::storage::Store;

/// Sets up to this size are read whole and sampled exactly.
pub const READ_ALL_MAX: u64 = 128;
/// Members read at each end of the set to learn its byte ranges.
const LEARN: usize = 32;
/// Byte positions (after the common prefix) a seek target spells out.
const WINDOW: usize = 8;
/// A pick steps forward a random number of members below this.
const SKIP: usize = 8;

/// Whether picking `k` members should read the whole set instead of seeking.
fn read_all(set: &SetRef, k: usize) -> bool {
    set.count <= READ_ALL_MAX || (k as u64).saturating_mul(4) >= set.count
}

/// `k` distinct random members (all of them, in random order, when `k >= count`).
pub fn distinct(
    store: &Store,
    db: u8,
    set: &SetRef,
    k: usize,
    rng: &mut impl Rng,
) -> Result<Vec<Bytes>, CmdError> {
    if read_all(set, k) {
        let all = algebra::members(store, db, set)?;
        let k = k.min(all.len());
        return Ok(index::sample(rng, all.len(), k)
            .into_iter()
            .map(|i| all[i].clone())
            .collect());
    }
    let mut seeker = Seeker::new(store, db, set)?;
    let mut seen = AHashSet::with_capacity(k);
    let mut out = Vec::with_capacity(k);
    let mut attempts = 4 * k + 32;
    while out.len() < k && attempts > 0 {
        attempts -= 1;
        let m = seeker.pick(rng)?;
        if seen.insert(m.clone()) {
            out.push(m);
        }
    }
    // Unlucky (or very skewed) picks: walk on from the last one. `k` is below a quarter of the set, so
    // this ends within `k + count / 4` steps... and never loops, since `count > k`.
    while out.len() < k {
        let m = seeker.step()?;
        if seen.insert(m.clone()) {
            out.push(m);
        }
    }
    Ok(out)
}

/// `k` random members, repeats allowed (SRANDMEMBER with a negative count).
pub fn repeated(
    store: &Store,
    db: u8,
    set: &SetRef,
    k: usize,
    rng: &mut impl Rng,
) -> Result<Vec<Bytes>, CmdError> {
    if read_all(set, k) {
        let all = algebra::members(store, db, set)?;
        if all.is_empty() {
            return Ok(Vec::new());
        }
        return Ok((0..k)
            .map(|_| all[rng.gen_range(0..all.len())].clone())
            .collect());
    }
    let mut seeker = Seeker::new(store, db, set)?;
    (0..k).map(|_| seeker.pick(rng)).collect()
}

/// Random seeks into one set's member range (see the module docs).
struct Seeker<'a> {
    cursor: MemberCursor<'a>,
    prefix: Vec<u8>,
    /// Per byte position after the prefix: the smallest and largest byte seen (stops at the first
    /// position no sampled member reaches).
    ranges: Vec<(u8, u8)>,
}

impl<'a> Seeker<'a> {
    fn new(store: &'a Store, db: u8, set: &SetRef) -> Result<Seeker<'a>, CmdError> {
        let mut cursor = store.member_cursor(Family::Sub, set.slot, db, &set.key, set.version);
        let mut head: Vec<Vec<u8>> = Vec::with_capacity(LEARN);
        cursor.seek_to_first();
        while cursor.valid() && head.len() < LEARN {
            head.push(cursor.member().to_vec());
            cursor.next();
        }
        let mut tail: Vec<Vec<u8>> = Vec::with_capacity(LEARN);
        cursor.seek_to_last();
        while cursor.valid() && tail.len() < LEARN {
            tail.push(cursor.member().to_vec());
            cursor.prev();
        }
        cursor.status()?;
        let (Some(first), Some(last)) = (head.first(), tail.first()) else {
            return Err(CmdError::msg("ERR set changed while sampling"));
        };
        let p = first.iter().zip(last).take_while(|(a, b)| a == b).count();
        let prefix = first[..p].to_vec();
        let mut ranges: Vec<(u8, u8)> = Vec::with_capacity(WINDOW);
        for i in 0..WINDOW {
            let bytes = head
                .iter()
                .chain(&tail)
                .filter_map(|m| m.get(p + i).copied());
            let (lo, hi) = bytes.fold((u8::MAX, u8::MIN), |(lo, hi), b| (lo.min(b), hi.max(b)));
            if lo > hi {
                break;
            }
            ranges.push((lo, hi));
        }
        Ok(Seeker {
            cursor,
            prefix,
            ranges,
        })
    }

    /// Wraps to the first member when the cursor ran past the last.
    fn wrap(&mut self) -> Result<(), CmdError> {
        if !self.cursor.valid() {
            self.cursor.status()?;
            self.cursor.seek_to_first();
        }
        Ok(())
    }

    /// The member under the cursor.
    fn current(&mut self) -> Result<Bytes, CmdError> {
        self.cursor.status()?;
        if !self.cursor.valid() {
            return Err(CmdError::msg("ERR set changed while sampling"));
        }
        Ok(Bytes::copy_from_slice(self.cursor.member()))
    }

    fn pick(&mut self, rng: &mut impl Rng) -> Result<Bytes, CmdError> {
        let mut target = Vec::with_capacity(self.prefix.len() + self.ranges.len());
        target.extend_from_slice(&self.prefix);
        target.extend(self.ranges.iter().map(|&(lo, hi)| rng.gen_range(lo..=hi)));
        self.cursor.seek(&target);
        self.wrap()?;
        for _ in 0..rng.gen_range(0..SKIP) {
            self.cursor.next();
            self.wrap()?;
        }
        self.current()
    }

    /// The member after the current one (wrapping).
    fn step(&mut self) -> Result<Bytes, CmdError> {
        self.cursor.next();
        self.wrap()?;
        self.current()
    }
}

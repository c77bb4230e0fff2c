//! Random members for SPOP and SRANDMEMBER, chosen by the proposer (never while applying), uniformly.
//!
//! Ranks are drawn first (`k` distinct ranks, or `k` ranks with repeats), then turned into members:
//!
//! * sets of at most [`READ_ALL_MAX`] members are read whole — unless the set already has rank markers:
//!   a set that shrank (SPOP after SPOP) leaves its removed members as tombstones in front of the live
//!   ones, and reading it whole walks all of them every time (measured: SPOP fell from 43k/s to 1k/s, p99
//!   over a second, once a 63k-member set drained below 512), while the markers skip to the right bucket;
//! * bigger sets go through their rank markers ([`super::markers`]): the sorted ranks are resolved in one
//!   forward sweep, each costing at most one seek plus the steps to its rank inside its bucket (about
//!   `n / 16384` on average), and never more than one pass over the set in total, whatever `k` — without
//!   holding the whole set in memory. The first pick on a set builds its markers with one O(n) scan; later
//!   picks and writes keep them.
//!
//! The members come back in random order.

use bytes::Bytes;
use rand::seq::{index, SliceRandom};
use rand::Rng;

use super::algebra::{self, SetRef};
use super::markers;
use crate::cmd::CmdError;
use crate::storage::Store;

/// Sets up to this size are read whole.
pub const READ_ALL_MAX: u64 = 512;

/// Whether to read `set` whole rather than pick through its markers.
fn read_whole(store: &Store, db: u8, set: &SetRef) -> bool {
    set.count <= READ_ALL_MAX && !markers::tracked(store, set.slot, db, &set.key, set.version)
}

/// `k` distinct random members (the whole set when `k >= count`).
pub fn distinct(
    store: &Store,
    db: u8,
    set: &SetRef,
    k: usize,
    rng: &mut impl Rng,
) -> Result<Vec<Bytes>, CmdError> {
    let n = set.count as usize;
    let k = k.min(n);
    if read_whole(store, db, set) {
        let all = algebra::members(store, db, set)?;
        let k = k.min(all.len());
        return Ok(index::sample(rng, all.len(), k)
            .into_iter()
            .map(|i| all[i].clone())
            .collect());
    }
    let mut ranks: Vec<u64> = index::sample(rng, n, k)
        .into_iter()
        .map(|i| i as u64)
        .collect();
    ranks.sort_unstable();
    let mut out = markers::at_ranks(store, db, set, &ranks)?;
    out.shuffle(rng);
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
    if set.count == 0 || k == 0 {
        return Ok(Vec::new());
    }
    if read_whole(store, db, set) {
        let all = algebra::members(store, db, set)?;
        if all.is_empty() {
            return Ok(Vec::new());
        }
        return Ok((0..k)
            .map(|_| all[rng.gen_range(0..all.len())].clone())
            .collect());
    }
    let mut ranks: Vec<u64> = (0..k).map(|_| rng.gen_range(0..set.count)).collect();
    ranks.sort_unstable();
    let mut out = markers::at_ranks(store, db, set, &ranks)?;
    out.shuffle(rng);
    Ok(out)
}

//! Set algebra across cores: each core computes its share with [`algebra`] on its own store and hands the
//! (sorted, distinct) result on; the spreading core only routes lists of members.
//!
//! * Intersection: the cores are visited smallest set first (a first pass asks each core for its sets'
//!   sizes and types), and each core narrows the candidates with its own sets — the candidates never
//!   exceed the smallest set.
//! * Difference: the first key's core computes `first - (its other keys)`; every other core removes its
//!   sets' members from that.
//! * Union: each core's union, merged.
//!
//! Every core involved is visited even when the result is already empty, so a WRONGTYPE key anywhere is
//! reported, as Redis does. Each core's step is one consistent read of that core, but the steps happen at
//! different instants: across cores the result is not one snapshot of the node.
//!
//! Work on another core goes through [`with_core`], the keyspace family's mesh helper.

use bytes::Bytes;

use super::algebra::{self, Algebra};
use crate::cmd::keys::remote::with_core;
use crate::cmd::{CmdError, Spread};
use crate::shard::Shard;
use crate::slot::SlotId;

/// The cores owning `keys`, each with its keys in argument order, in order of first appearance.
fn by_core(shard: &Shard, keys: &[Bytes]) -> Vec<(usize, Vec<Bytes>)> {
    let mut groups: Vec<(usize, Vec<Bytes>)> = Vec::new();
    for k in keys {
        let core = shard.node.layout.core_of(SlotId::of_key(k));
        match groups.iter_mut().find(|(c, _)| *c == core) {
            Some((_, v)) => v.push(k.clone()),
            None => groups.push((core, vec![k.clone()])),
        }
    }
    groups
}

/// `algebra` over `keys` wherever they live (SINTERCARD's `limit` only shortens the work on the core that
/// starts an intersection; the caller caps the count).
pub async fn compute(
    s: &Spread,
    algebra: Algebra,
    keys: &[Bytes],
    limit: usize,
) -> Result<Vec<Bytes>, CmdError> {
    let (db, now) = (s.db, s.now_ms);
    match algebra {
        Algebra::Union => {
            let mut out = Vec::new();
            for (core, ks) in by_core(&s.shard, keys) {
                let part = with_core(&s.shard, core, move |sh| {
                    algebra::union(&sh.store, db, now, &ks)
                })
                .await?;
                out.extend(part);
            }
            algebra::merge_distinct(&mut out);
            Ok(out)
        }
        Algebra::Diff => {
            let Some((first, _)) = keys.split_first() else {
                return Ok(Vec::new());
            };
            let mut groups = by_core(&s.shard, keys);
            // The first key's core goes first; `by_core` keeps first appearance, so it is groups[0].
            let (core, ks) = groups.remove(0);
            debug_assert_eq!(ks.first(), Some(first));
            let mut c = with_core(&s.shard, core, move |sh| {
                algebra::diff(&sh.store, db, now, ks.first(), &ks[1..], None)
            })
            .await?;
            for (core, ks) in groups {
                c = with_core(&s.shard, core, move |sh| {
                    algebra::diff(&sh.store, db, now, None, &ks, Some(c))
                })
                .await?;
            }
            Ok(c)
        }
        Algebra::Inter => {
            // Sizes first: the core with the smallest set starts; a missing key empties the result (but
            // every core still checks its keys' types).
            let mut groups = Vec::new();
            let mut empty = false;
            for (core, ks) in by_core(&s.shard, keys) {
                let probe = ks.clone();
                let sizes = with_core(&s.shard, core, move |sh| {
                    algebra::open_all(&sh.store, db, now, &probe)
                        .map(|v| v.iter().map(|s| s.as_ref().map_or(0, |s| s.count)).min())
                })
                .await?;
                let smallest = sizes.unwrap_or(0);
                empty |= smallest == 0;
                groups.push((smallest, core, ks));
            }
            if empty {
                return Ok(Vec::new());
            }
            groups.sort_by_key(|g| g.0);
            let mut c: Option<Vec<Bytes>> = None;
            for (_, core, ks) in groups {
                let part = with_core(&s.shard, core, move |sh| {
                    algebra::inter(&sh.store, db, now, &ks, c, limit)
                })
                .await?;
                c = Some(part);
            }
            Ok(c.unwrap_or_default())
        }
    }
}

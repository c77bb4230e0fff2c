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
//! The two mesh helpers at the end mirror `keys::remote` (private to the keyspace family).

use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use super::algebra::{self, Algebra};
use crate::cmd::{CmdError, Spread};
use crate::shard::Shard;
use crate::slot::SlotId;
use crate::statemachine::LogEntry;

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
                let part = on_core(&s.shard, core, move |sh| {
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
            let mut c = on_core(&s.shard, core, move |sh| {
                algebra::diff(&sh.store, db, now, ks.first(), &ks[1..], None)
            })
            .await?;
            for (core, ks) in groups {
                c = on_core(&s.shard, core, move |sh| {
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
                let sizes = on_core(&s.shard, core, move |sh| {
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
                let part = on_core(&s.shard, core, move |sh| {
                    algebra::inter(&sh.store, db, now, &ks, c, limit)
                })
                .await?;
                c = Some(part);
            }
            Ok(c.unwrap_or_default())
        }
    }
}

/// Runs `f` with the shard of `core` (this core included).
pub async fn on_core<T, F>(shard: &Rc<Shard>, core: usize, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce(&Rc<Shard>) -> T + Send + 'static,
{
    if core == shard.core {
        return f(shard);
    }
    shard
        .mesh
        .call(core, move |sh: &Rc<Shard>| {
            let v = f(sh);
            Box::pin(async move { v })
        })
        .await
}

/// Proposes `entry` on the core owning its slot; replies once the write is durable.
pub async fn propose_durable(shard: &Rc<Shard>, entry: LogEntry) -> Result<Reply, CmdError> {
    let core = shard.node.layout.core_of(entry.slot);
    let run = move |sh: Rc<Shard>| async move {
        let (reply, seq) = sh.propose(&entry)?;
        if seq != 0 {
            sh.durability.wait(seq).await;
        }
        Ok(reply)
    };
    if core == shard.core {
        return run(shard.clone()).await;
    }
    shard
        .mesh
        .call(core, move |sh: &Rc<Shard>| Box::pin(run(sh.clone())))
        .await
}

//! RANDOMKEY — a random live key of the selected database, or nil.
//!
//! A core picks a slot weighted by its key count, then a random position inside that slot, and walks the
//! slot to it (slots are small: the keys of a core divided over ~1000 slots). Records past their deadline
//! still count until the expiry cycle deletes them, so a pick can land on a slot whose keys are all dead;
//! after a few such tries the core falls back to the first live key from a random slot on, and answers nil
//! only when it has none. Across cores (`spread`), every core proposes one key along with its key count
//! and a core is chosen with probability proportional to its count, so every key is about equally likely.

use std::rc::Rc;

use bytes::Bytes;
use rand::Rng;
use resp::Reply;

use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::shard::Shard;
use crate::slot::SlotId;

const TRIES: usize = 8;

/// This core's key count in `db` and one random live key of it.
fn pick(shard: &Rc<Shard>, db: u8, now_ms: u64) -> Result<(i64, Option<Bytes>), CmdError> {
    let mut slots = Vec::new();
    let mut total = 0i64;
    for slot in shard.node.layout.slots_of(shard.core) {
        let n = shard.store.counts(SlotId(slot), db)?.keys;
        if n > 0 {
            total += n;
            slots.push((SlotId(slot), total));
        }
    }
    if total == 0 {
        return Ok((0, None));
    }
    let mut rng = rand::thread_rng();
    for _ in 0..TRIES {
        let r = rng.gen_range(0..total);
        let i = slots.partition_point(|&(_, end)| end <= r);
        let (slot, end) = slots[i];
        let start = if i == 0 { 0 } else { slots[i - 1].1 };
        let mut skip = r - start;
        debug_assert!(skip < end - start);
        let mut found = None;
        shard.store.scan_slot(slot, db, b"", now_ms, |key, _| {
            found = Some(Bytes::copy_from_slice(key));
            skip -= 1;
            skip >= 0
        })?;
        if found.is_some() {
            return Ok((total, found));
        }
    }
    let from = rng.gen_range(0..slots.len());
    for &(slot, _) in slots[from..].iter().chain(&slots[..from]) {
        let mut found = None;
        shard.store.scan_slot(slot, db, b"", now_ms, |key, _| {
            found = Some(Bytes::copy_from_slice(key));
            false
        })?;
        if found.is_some() {
            return Ok((total, found));
        }
    }
    Ok((total, None))
}

pub fn local(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Ok(match pick(ctx.shard, ctx.db, ctx.now_ms)?.1 {
        Some(key) => Reply::Bulk(key),
        None => Reply::Null,
    })
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let (db, now) = (s.db, s.now_ms);
        let mut candidates = Vec::new();
        let mut total = 0i64;
        for r in s.shard.on_every_core(move |sh| pick(sh, db, now)).await {
            match r {
                Ok((n, Some(key))) => {
                    total += n;
                    candidates.push((total, key));
                }
                Ok((_, None)) => {}
                Err(e) => return e.to_reply(),
            }
        }
        if total == 0 {
            return Reply::Null;
        }
        let r = rand::thread_rng().gen_range(0..total);
        let i = candidates.partition_point(|&(end, _)| end <= r);
        Reply::Bulk(candidates[i].1.clone())
    })
}

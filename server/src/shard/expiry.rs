//! The active expiry cycle of one core.
//!
//! Lazy expiry alone hides an expired key from readers but never frees it if nobody asks again. `hz` times
//! a second each core reads the front of its expire index (ordered by deadline, so one seek finds every key
//! due now), and deletes the keys that really are due through the normal write seam — a replicated delete,
//! as Redis propagates a DEL for an expired key. Index entries whose key has since been deleted, persisted
//! or given another deadline are stale and are just removed. A cycle does at most `BATCH` keys per pass and
//! stops after a time budget, so a burst of expirations never stalls requests.

use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{now_ms, Shard};
use crate::cmd::keys::KeyOp;
use crate::slot::SlotId;
use crate::statemachine::{LogEntry, Mutation};

const BATCH: usize = 256;
/// Time budget of one cycle (Redis uses 25% of a 100 ms tick; we stay well below).
const BUDGET: Duration = Duration::from_millis(5);

/// One cycle; returns how many keys it expired.
pub fn run_cycle(shard: &Rc<Shard>) -> usize {
    let started = Instant::now();
    let mut expired = 0;
    loop {
        let now = now_ms();
        let due = match shard.store.due_expirations(now, BATCH) {
            Ok(d) => d,
            Err(e) => {
                log::warn!("core {}: expiry scan failed: {e}", shard.core);
                return expired;
            }
        };
        let full = due.len() == BATCH;
        // Group by (slot, db): each group is one replicated entry.
        let mut groups: Vec<((SlotId, u8), Vec<(Bytes, u64, Bytes)>)> = Vec::new();
        for (index_key, deadline, slot, db, key) in due {
            let item = (Bytes::from(index_key), deadline, key);
            match groups.iter_mut().find(|(k, _)| *k == (slot, db)) {
                Some((_, v)) => v.push(item),
                None => groups.push(((slot, db), vec![item])),
            }
        }
        for ((slot, db), entries) in groups {
            if shard.node.layout.core_of(slot) != shard.core {
                continue;
            }
            let entry = LogEntry {
                slot,
                db,
                now_ms: now,
                mutation: Mutation::Key(KeyOp::ExpireDue { entries }),
            };
            match shard.propose(&entry) {
                Ok((resp::Reply::Integer(n), _)) => expired += n as usize,
                Ok(_) => {}
                Err(e) => log::warn!("core {}: expiry failed: {e}", shard.core),
            }
        }
        if !full || started.elapsed() > BUDGET {
            break;
        }
    }
    shard
        .stats
        .expired_keys
        .set(shard.stats.expired_keys.get() + expired as u64);
    expired
}

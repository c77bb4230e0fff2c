//! Active expiry: deleting keys whose deadline has passed even if nobody asks for them again.
//!
//! Each slot keeps an exact expire index inside its own key range (`slot · FE · db · deadline · key`, see
//! `storage::keycodec`), so within one slot and database the keys due now are the first entries of one
//! prefix. A core keeps, in memory, a schedule of the earliest deadline of every `slot · db` it owns that
//! has one — a min-heap fed by every write that sets a deadline, seeded at start-up with one seek per
//! indexed database. `hz` times a second the cycle takes the due `slot · db`s off the heap, reads their due
//! entries and deletes those keys through the normal write seam — a replicated delete, as Redis
//! propagates a DEL for an expired key — then looks up the next deadline of that prefix. Idle cores and
//! slots without deadlines cost nothing; a burst of expirations is worked off in bounded steps (`BATCH`
//! keys per entry, `BUDGET` per cycle) so requests are never stalled.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::{now_ms, Shard};
use crate::cmd::keys::KeyOp;
use crate::slot::SlotId;
use crate::statemachine::{LogEntry, Mutation};

const BATCH: usize = 256;
/// Time budget of one cycle (Redis allows 25% of a 100 ms tick; we stay well below).
const BUDGET: Duration = Duration::from_millis(5);

/// How often a cycle that keeps failing (RocksDB refusing writes) says so in the log.
const FAILURE_LOG_EVERY: Duration = Duration::from_secs(60);

/// The earliest deadline of every `slot · db` of this core that has one.
#[derive(Default)]
pub struct ExpirySchedule {
    heap: RefCell<BinaryHeap<Reverse<(u64, u16, u8)>>>,
    earliest: RefCell<ahash::AHashMap<(u16, u8), u64>>,
    /// While cycles fail: when the failure was last logged, and failures since.
    failing: std::cell::Cell<Option<(Instant, u64)>>,
}

impl ExpirySchedule {
    /// Records that `slot · db` has a key due at `deadline`.
    pub fn note(&self, slot: SlotId, db: u8, deadline: u64) {
        let mut earliest = self.earliest.borrow_mut();
        let known = earliest.entry((slot.0, db)).or_insert(u64::MAX);
        if deadline < *known {
            *known = deadline;
            self.heap.borrow_mut().push(Reverse((deadline, slot.0, db)));
        }
    }

    /// Takes the next `slot · db` due at `now`, if any.
    fn pop_due(&self, now: u64) -> Option<(SlotId, u8)> {
        let mut heap = self.heap.borrow_mut();
        let mut earliest = self.earliest.borrow_mut();
        while let Some(&Reverse((deadline, slot, db))) = heap.peek() {
            if deadline > now {
                return None;
            }
            heap.pop();
            // Skip superseded heap entries: only the recorded earliest deadline counts.
            if earliest.get(&(slot, db)) == Some(&deadline) {
                earliest.remove(&(slot, db));
                return Some((SlotId(slot), db));
            }
        }
        None
    }

    /// Number of `slot · db`s with a scheduled deadline (for INFO).
    pub fn len(&self) -> usize {
        self.earliest.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Seeds the schedule from the stored index (start-up).
pub fn seed(shard: &Shard) -> Result<(), crate::storage::StorageError> {
    for slot in shard.node.layout.slots_of(shard.core) {
        for (db, deadline) in shard.store.slot_deadlines(SlotId(slot))? {
            shard.expiry.note(SlotId(slot), db, deadline);
        }
    }
    Ok(())
}

/// One cycle; returns how many keys it expired.
pub fn run_cycle(shard: &Rc<Shard>) -> usize {
    let started = Instant::now();
    let mut expired = 0;
    let now = now_ms();
    while let Some((slot, db)) = shard.expiry.pop_due(now) {
        let result = expire_some(shard, slot, db, now);
        // Whatever is left in this prefix goes back on the schedule.
        match shard.store.next_deadline(slot, db) {
            Ok(Some(next)) => shard.expiry.note(slot, db, next),
            Ok(None) => {}
            Err(e) => log::warn!(
                "core {}: expiry index of slot {} unreadable: {e}",
                shard.core,
                slot.0
            ),
        }
        match result {
            Ok(n) => {
                expired += n;
                // Only a write proves the writes work again (a prefix with nothing due writes nothing).
                if n > 0 {
                    if let Some((_, failures)) = shard.expiry.failing.take() {
                        log::warn!(
                            "core {}: active expiry works again ({failures} failed attempts)",
                            shard.core
                        );
                    }
                }
            }
            Err(e) => {
                // The same slot is due again at once: retrying within this cycle would only spin (and
                // log) until the budget runs out. The next cycle tries again.
                let failures = match shard.expiry.failing.get() {
                    Some((logged, n)) if logged.elapsed() < FAILURE_LOG_EVERY => {
                        shard.expiry.failing.set(Some((logged, n + 1)));
                        break;
                    }
                    Some((_, n)) => n + 1,
                    None => 1,
                };
                log::warn!(
                    "core {}: expiry of slot {} db {db} failed ({failures} failures so far; \
                     logged at most once a minute): {e}",
                    shard.core,
                    slot.0
                );
                shard.expiry.failing.set(Some((Instant::now(), failures)));
                break;
            }
        }
        if started.elapsed() > BUDGET {
            break;
        }
    }
    shard
        .stats
        .expired_keys
        .set(shard.stats.expired_keys.get() + expired as u64);
    expired
}

fn expire_some(
    shard: &Rc<Shard>,
    slot: SlotId,
    db: u8,
    now: u64,
) -> Result<usize, crate::cmd::CmdError> {
    let entries = shard.store.due_expirations(slot, db, now, BATCH)?;
    if entries.is_empty() {
        return Ok(0);
    }
    let entry = LogEntry {
        slot,
        db,
        now_ms: now,
        mutation: Mutation::Key(KeyOp::ExpireDue { entries }),
    };
    // No client waits for the reply, so nothing waits for the batch either.
    match shard.propose(&entry).map_err(|r| r.into_parts().0)? {
        (resp::Reply::Integer(n), _) => Ok(n as usize),
        _ => Ok(0),
    }
}

//! WATCH bookkeeping of one core: which of this core's keys connections watch, and how often each was
//! written since.
//!
//! Optimistic locking (WATCH ... MULTI ... EXEC) asks one question at EXEC: was a watched key modified since
//! WATCH? A connection may watch keys owned by any core, but only the owning core sees a key's writes, and
//! cores share no memory. So each core keeps a registry of its own watched keys: `(db, key)` → a counter of
//! committed writes, bumped from [`Shard::keys_written`](super::Shard::keys_written), plus the number of
//! watchers. WATCH registers a key on its owning core and gives the connection a [`WatchTicket`] (the
//! counter it saw and what the key looked like); EXEC (or UNWATCH, DISCARD, RESET, a disconnect) hands the
//! tickets back to their cores, which say whether the key was touched and drop the watcher. Counting
//! watchers rather than naming them makes registration and release commute, so a release may travel the
//! mesh after a new WATCH of the same key without harm. A key nobody watches has no entry, and a core
//! without entries skips all of this on writes ([`Shard::has_watched_keys`]).
//!
//! Expiry follows Redis 7.0 (`isWatchedKeyExpired`, `watchedKey.expired`): a key that was live at WATCH and
//! whose deadline has passed by EXEC aborts the transaction, whether or not expiry has deleted it yet; a key
//! already expired (stored, past its deadline) at WATCH may be deleted — by expiry, DEL or a flush — without
//! aborting, as nothing changed for the client; any other write aborts. FLUSHDB and FLUSHALL touch only
//! watched keys that were stored, as in Redis: a watched key that did not exist stays untouched.
//!
//! Where the registry lives: in the core's [`ClientRegistry`](crate::net::client::ClientRegistry), next to
//! the connections that watch.

use std::cell::{Ref, RefCell};

use bytes::Bytes;

use super::keyevents::WrittenKeys;
use super::Shard;
use crate::slot::SlotId;
use crate::storage::Store;

/// What a connection keeps for a key it watches: handed back to the owning core at EXEC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchTicket {
    /// The key's write counter at WATCH.
    pub seen: u64,
    /// The key was stored but already expired at WATCH.
    pub expired: bool,
    /// The deadline of the live key at WATCH (0: no deadline or no live key).
    pub deadline: u64,
}

/// One watched key.
struct WatchedKey {
    /// Committed writes of the key since the entry was created.
    writes: u64,
    watchers: u32,
    /// A record (live or expired) is stored, as of the last write seen (or of registration).
    stored: bool,
}

impl WatchedKey {
    /// Whether a watcher holding `t` must abort at `now`.
    fn touched(&self, t: &WatchTicket, now: u64) -> bool {
        if self.writes == t.seen {
            // Unchanged, unless it expired since (an expired-at-WATCH key does not count).
            return !t.expired && t.deadline != 0 && t.deadline <= now;
        }
        // The one change allowed: the expired key was deleted.
        !(t.expired && self.writes == t.seen + 1 && !self.stored)
    }
}

/// This core's watched keys.
#[derive(Default)]
pub struct WatchRegistry {
    keys: RefCell<ahash::AHashMap<(u8, Bytes), WatchedKey>>,
}

impl WatchRegistry {
    pub fn is_empty(&self) -> bool {
        self.keys.borrow().is_empty()
    }

    /// Number of watched keys (for INFO and tests of leaks).
    pub fn len(&self) -> usize {
        self.keys.borrow().len()
    }

    fn watch(&self, store: &Store, db: u8, key: Bytes, now: u64) -> WatchTicket {
        let rec = store
            .get(SlotId::of_key(&key), db, &key)
            .unwrap_or_else(|e| {
                // Unreadable: assume a live key without deadline; any write will abort the transaction.
                log::warn!("WATCH could not read a key: {e}");
                None
            });
        let mut keys = self.keys.borrow_mut();
        let entry = keys.entry((db, key)).or_insert(WatchedKey {
            writes: 0,
            watchers: 0,
            stored: rec.is_some(),
        });
        entry.watchers += 1;
        let expired = rec.as_ref().is_some_and(|r| r.is_expired(now));
        WatchTicket {
            seen: entry.writes,
            expired,
            deadline: rec.filter(|_| !expired).map_or(0, |r| r.expire_at),
        }
    }

    /// Drops one watcher of `key`; returns whether its ticket was touched (when `now` is given).
    fn release(&self, db: u8, key: Bytes, ticket: &WatchTicket, now: Option<u64>) -> bool {
        let mut keys = self.keys.borrow_mut();
        let id = (db, key);
        let Some(entry) = keys.get_mut(&id) else {
            // Not registered: cannot tell, so the transaction must not run.
            return true;
        };
        let touched = now.is_some_and(|now| entry.touched(ticket, now));
        entry.watchers -= 1;
        if entry.watchers == 0 {
            keys.remove(&id);
        }
        touched
    }

    /// Counts the writes of a committed entry against the watched keys it wrote or wiped.
    fn written(&self, store: &Store, events: &WrittenKeys) {
        let mut keys = self.keys.borrow_mut();
        let stored = |db: u8, key: &Bytes| {
            store
                .get(SlotId::of_key(key), db, key)
                .map_or(true, |r| r.is_some())
        };
        for key in &events.keys {
            if let Some(entry) = keys.get_mut(&(events.db, key.clone())) {
                entry.writes += 1;
                entry.stored = stored(events.db, key);
            }
        }
        if let Some(wiped) = events.wiped {
            // A flush is per slot and keeps no list of what it deleted: a watched key that was stored and
            // is not any more went with it.
            for ((db, key), entry) in keys.iter_mut() {
                if entry.stored && wiped.is_none_or(|w| w == *db) && !stored(*db, key) {
                    entry.writes += 1;
                    entry.stored = false;
                }
            }
        }
    }
}

impl Shard {
    fn watch_registry(&self) -> Ref<'_, WatchRegistry> {
        Ref::map(self.clients.borrow(), |c| &c.watches)
    }

    /// Whether a connection watches any key of this core.
    #[inline]
    pub fn has_watched_keys(&self) -> bool {
        !self.watch_registry().is_empty()
    }

    /// Registers a watcher for each of `keys` (all owned by this core) in `db`.
    pub fn watch_keys(&self, db: u8, keys: Vec<Bytes>, now: u64) -> Vec<(Bytes, WatchTicket)> {
        debug_assert!(keys
            .iter()
            .all(|k| self.node.layout.core_of(SlotId::of_key(k)) == self.core));
        let registry = self.watch_registry();
        keys.into_iter()
            .map(|k| {
                let t = registry.watch(&self.store, db, k.clone(), now);
                (k, t)
            })
            .collect()
    }

    /// Drops the watchers of `tickets` (keys of this core). With `now`, also checks them: returns whether any
    /// was touched, in which case the transaction must not run.
    pub fn release_watches(
        &self,
        tickets: Vec<(u8, Bytes, WatchTicket)>,
        now: Option<u64>,
    ) -> bool {
        let registry = self.watch_registry();
        let mut touched = false;
        for (db, key, t) in tickets {
            touched |= registry.release(db, key, &t, now);
        }
        touched
    }

    /// Counts a committed entry's writes against this core's watched keys.
    pub fn watched_keys_written(&self, events: &WrittenKeys) {
        self.watch_registry().written(&self.store, events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statemachine::SlotWriter;
    use crate::storage::record::Record;

    fn key(writes: u64, stored: bool) -> WatchedKey {
        WatchedKey {
            writes,
            watchers: 1,
            stored,
        }
    }

    fn ticket(seen: u64, expired: bool, deadline: u64) -> WatchTicket {
        WatchTicket {
            seen,
            expired,
            deadline,
        }
    }

    #[test]
    fn touched_rules() {
        // Untouched, no deadline.
        assert!(!key(3, true).touched(&ticket(3, false, 0), 100));
        // Any write.
        assert!(key(4, true).touched(&ticket(3, false, 0), 100));
        assert!(key(4, false).touched(&ticket(3, false, 0), 100));
        // Live at WATCH, expired by EXEC, not deleted yet.
        assert!(key(3, true).touched(&ticket(3, false, 100), 100));
        assert!(!key(3, true).touched(&ticket(3, false, 101), 100));
        // Expired at WATCH: still there, or deleted once, is no change.
        assert!(!key(3, true).touched(&ticket(3, true, 0), 100));
        assert!(!key(4, false).touched(&ticket(3, true, 0), 100));
        // ... but written over, or deleted and written again, is.
        assert!(key(4, true).touched(&ticket(3, true, 0), 100));
        assert!(key(5, false).touched(&ticket(3, true, 0), 100));
    }

    /// The registry against a real store: writes, flushes, watchers, and nothing left after release.
    #[test]
    fn registry_counts_writes_flushes_and_watchers() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 1, &tuning::RocksConfig::default()).unwrap();
        let reg = WatchRegistry::default();
        let now = 1_000_000;
        let commit = |w: SlotWriter<'_>| {
            let (written, wiped) = w.written();
            let events = WrittenKeys {
                db: 0,
                keys: written.into(),
                wiped,
            };
            w.commit().unwrap();
            events
        };
        let set = |key: &Bytes| {
            let mut w = SlotWriter::new(&store, SlotId::of_key(key), 0, now);
            w.put(key, Record::string(Bytes::from_static(b"v"), 0, 0))
                .unwrap();
            commit(w)
        };
        let k = Bytes::from_static(b"k");
        let absent = Bytes::from_static(b"absent");
        let other = Bytes::from_static(b"other");
        assert_ne!(SlotId::of_key(&k), SlotId::of_key(&other));

        // Two watchers of one key are one entry; a write touches both, not a watcher that came after it.
        let t1 = reg.watch(&store, 0, k.clone(), now);
        let t2 = reg.watch(&store, 0, k.clone(), now);
        assert_eq!(reg.len(), 1);
        reg.written(&store, &set(&k));
        let t3 = reg.watch(&store, 0, k.clone(), now);
        assert!(reg.release(0, k.clone(), &t1, Some(now)));
        assert!(!reg.release(0, k.clone(), &t3, Some(now)));
        assert!(reg.release(0, k.clone(), &t2, Some(now)));
        assert!(reg.is_empty(), "released watchers leave nothing behind");

        // A flush of k's slot touches k (stored), not an absent key nor a key of another slot.
        reg.written(&store, &set(&other));
        let (tk, ta, to) = (
            reg.watch(&store, 0, k.clone(), now),
            reg.watch(&store, 0, absent.clone(), now),
            reg.watch(&store, 0, other.clone(), now),
        );
        let mut w = SlotWriter::new(&store, SlotId::of_key(&k), 0, now);
        w.delete_all(Some(0));
        reg.written(&store, &commit(w));
        assert!(reg.release(0, k, &tk, Some(now)));
        assert!(!reg.release(0, absent, &ta, Some(now)));
        assert!(!reg.release(0, other, &to, Some(now)));
        assert!(reg.is_empty());
    }
}

//! Storage tests against a real RocksDB instance in a temporary folder.

use bytes::Bytes;

use super::record::Record;
use super::{StorageError, Store};
use crate::slot::SlotId;
use crate::statemachine::SlotWriter;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 1, &tuning::RocksConfig::default()).unwrap();
    (dir, store)
}

fn put(store: &Store, slot: SlotId, db: u8, key: &str, expire_at: u64, now: u64) {
    let mut w = SlotWriter::new(store, slot, db, now);
    w.put(
        &Bytes::copy_from_slice(key.as_bytes()),
        Record::string(Bytes::from_static(b"v"), expire_at, 0),
    )
    .unwrap();
    assert!(w.commit().unwrap());
}

#[test]
fn compaction_drops_expired_records_and_keeps_live_ones() {
    let (_dir, store) = open();
    let slot = SlotId(5);
    let now = crate::shard::now_ms();
    put(&store, slot, 0, "gone", now - 1000, now - 2000);
    put(&store, slot, 0, "kept", now + 3_600_000, now);
    put(&store, slot, 0, "forever", 0, now);
    // Lazy expiry already hides it; the record is still stored.
    assert!(store.get_live(slot, 0, b"gone", now).unwrap().is_none());
    assert!(store.get(slot, 0, b"gone").unwrap().is_some());
    store.db.flush().unwrap();
    store.db.compact_range::<&[u8], &[u8]>(None, None);
    assert!(
        store.get(slot, 0, b"gone").unwrap().is_none(),
        "compaction filter must drop it"
    );
    assert!(store.get(slot, 0, b"kept").unwrap().is_some());
    assert!(store.get(slot, 0, b"forever").unwrap().is_some());
}

#[test]
fn expire_index_is_exact_and_lists_due_keys_in_deadline_order() {
    let (_dir, store) = open();
    let now = 1_000_000;
    let slot = SlotId(3);
    put(&store, slot, 0, "late", now + 50, now);
    put(&store, slot, 0, "early", now + 10, now);
    put(&store, slot, 0, "never", 0, now);
    put(&store, SlotId(9), 0, "elsewhere", now + 1, now);
    let due = store.due_expirations(slot, 0, now + 20, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].1, &due[0].2[..]), (now + 10, &b"early"[..]));
    let keys: Vec<_> = store
        .due_expirations(slot, 0, now + 100, 10)
        .unwrap()
        .into_iter()
        .map(|d| d.2)
        .collect();
    assert_eq!(
        keys,
        vec![Bytes::from_static(b"early"), Bytes::from_static(b"late")]
    );
    assert_eq!(
        store.due_expirations(slot, 0, now + 100, 1).unwrap().len(),
        1,
        "limit honoured"
    );
    assert_eq!(store.next_deadline(slot, 0).unwrap(), Some(now + 10));
    assert_eq!(store.slot_deadlines(slot).unwrap(), vec![(0, now + 10)]);
    // Re-timing a key moves its entry; persisting or deleting removes it.
    put(&store, slot, 0, "early", now + 70, now);
    put(&store, slot, 0, "late", 0, now);
    let keys: Vec<_> = store
        .due_expirations(slot, 0, u64::MAX - 1, 10)
        .unwrap()
        .into_iter()
        .map(|d| (d.1, d.2))
        .collect();
    assert_eq!(keys, vec![(now + 70, Bytes::from_static(b"early"))]);
    let mut w = SlotWriter::new(&store, slot, 0, now);
    w.delete(&Bytes::from_static(b"early")).unwrap();
    w.commit().unwrap();
    assert_eq!(store.next_deadline(slot, 0).unwrap(), None);
}

#[test]
fn compaction_dropped_records_are_settled_by_the_expiry_entry() {
    let (_dir, store) = open();
    let slot = SlotId(11);
    let now = crate::shard::now_ms();
    put(&store, slot, 0, "k", now + 1, now);
    put(&store, slot, 0, "other", 0, now);
    assert_eq!(store.counts(slot, 0).unwrap().keys, 2);
    std::thread::sleep(std::time::Duration::from_millis(5));
    store.db.flush().unwrap();
    store.db.compact_range::<&[u8], &[u8]>(None, None);
    assert!(
        store.get(slot, 0, b"k").unwrap().is_none(),
        "filter dropped the expired record"
    );
    // The index entry is still there; applying it settles the count without a record to delete.
    let later = crate::shard::now_ms();
    let due = store.due_expirations(slot, 0, later, 10).unwrap();
    assert_eq!(due.len(), 1);
    let mut w = SlotWriter::new(&store, slot, 0, later);
    for (index_key, _, _) in &due {
        w.settle_dropped(index_key).unwrap();
    }
    w.commit().unwrap();
    let c = store.counts(slot, 0).unwrap();
    assert_eq!((c.keys, c.volatile), (1, 0));
    assert_eq!(store.next_deadline(slot, 0).unwrap(), None);
}

#[test]
fn key_counts_follow_puts_deletes_and_flushes_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let slot = SlotId(100);
    {
        let store = Store::open(dir.path(), 1, &tuning::RocksConfig::default()).unwrap();
        let now = 5_000;
        put(&store, slot, 0, "a", 0, now);
        put(&store, slot, 0, "b", now + 10, now);
        put(&store, slot, 0, "a", 0, now); // overwrite: no change
        put(&store, slot, 1, "a", 0, now);
        let c = store.counts(slot, 0).unwrap();
        assert_eq!((c.keys, c.volatile), (2, 1));
        let mut w = SlotWriter::new(&store, slot, 0, now);
        assert!(w.delete(&Bytes::from_static(b"b")).unwrap());
        assert!(!w.delete(&Bytes::from_static(b"missing")).unwrap());
        w.commit().unwrap();
        let c = store.counts(slot, 0).unwrap();
        assert_eq!((c.keys, c.volatile), (1, 0));
        assert_eq!(store.counts(slot, 1).unwrap().keys, 1);
        store.flush_all().unwrap();
    }
    let store = Store::open(dir.path(), 1, &tuning::RocksConfig::default()).unwrap();
    assert_eq!(
        store.counts(slot, 0).unwrap().keys,
        1,
        "counts are persisted with the data"
    );
    let mut w = SlotWriter::new(&store, slot, 0, 6_000);
    w.delete_all(Some(0));
    w.commit().unwrap();
    assert_eq!(store.counts(slot, 0).unwrap().keys, 0);
    assert!(store.get(slot, 0, b"a").unwrap().is_none());
    assert_eq!(
        store.counts(slot, 1).unwrap().keys,
        1,
        "other databases untouched"
    );
    assert!(store.get(slot, 1, b"a").unwrap().is_some());
}

#[test]
fn scans_stay_inside_their_slot_and_database() {
    let (_dir, store) = open();
    let now = 1;
    for (slot, db, key) in [
        (1, 0, "x"),
        (1, 0, "y"),
        (1, 1, "z"),
        (2, 0, "w"),
        (0, 0, "v"),
    ] {
        put(&store, SlotId(slot), db, key, 0, now);
    }
    let mut seen = Vec::new();
    store
        .scan_slot(SlotId(1), 0, b"", now, |k, _| {
            seen.push(k.to_vec());
            true
        })
        .unwrap();
    seen.sort();
    assert_eq!(seen, vec![b"x".to_vec(), b"y".to_vec()]);
}

#[test]
fn a_scan_resumed_at_any_key_visits_exactly_the_rest() {
    let (_dir, store) = open();
    let slot = SlotId(3);
    let scan = |from: &[u8]| {
        let mut seen = Vec::new();
        store
            .scan_slot(slot, 0, from, 1, |k, _| {
                seen.push(k.to_vec());
                true
            })
            .unwrap();
        seen
    };
    // Half the keys reach SST files, half stay in the memtable; every bucket gets some.
    for i in 0..100 {
        put(&store, slot, 0, &format!("k{i}"), 0, 1);
        if i == 49 {
            store.db.flush().unwrap();
        }
    }
    put(&store, slot, 0, "", 0, 1);
    let all = scan(b"");
    assert_eq!(all.len(), 101);
    assert_eq!(all[0], b"");
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 101, "every key once");
    for (i, key) in all.iter().enumerate() {
        assert_eq!(scan(key), all[i..], "resumed at {key:?}");
    }
}

// ---- value cache ----

fn cached_store(budget: usize) -> (tempfile::TempDir, Store) {
    let (dir, store) = open();
    store.set_cache_budget(budget);
    (dir, store)
}

fn is_cached(store: &Store, slot: SlotId, db: u8, key: &str) -> bool {
    store
        .value_cache()
        .contains(&super::keycodec::KeyCodec::data_key(
            slot,
            db,
            key.as_bytes(),
        ))
}

fn put_value(store: &Store, slot: SlotId, key: &str, value: &[u8]) {
    let mut w = SlotWriter::new(store, slot, 0, 1);
    w.put(
        &Bytes::copy_from_slice(key.as_bytes()),
        Record::string(Bytes::copy_from_slice(value), 0, 0),
    )
    .unwrap();
    assert!(w.commit().unwrap());
}

fn payload(store: &Store, slot: SlotId, key: &str) -> Option<Bytes> {
    store
        .get(slot, 0, key.as_bytes())
        .unwrap()
        .map(|r| r.payload)
}

#[test]
fn cache_hit_after_miss() {
    let (_dir, store) = open();
    let slot = SlotId(7);
    put_value(&store, slot, "k", b"v1"); // written while the cache is off: not cached
    store.set_cache_budget(1 << 20);
    assert!(!is_cached(&store, slot, 0, "k"));
    assert_eq!(payload(&store, slot, "k").as_deref(), Some(&b"v1"[..]));
    assert_eq!(
        (store.value_cache().hits(), store.value_cache().misses()),
        (0, 1)
    );
    assert!(is_cached(&store, slot, 0, "k"));
    assert_eq!(payload(&store, slot, "k").as_deref(), Some(&b"v1"[..]));
    assert_eq!(store.value_cache().hits(), 1);
    // Absent keys are not cached: each lookup asks RocksDB again.
    assert!(store.get(slot, 0, b"absent").unwrap().is_none());
    assert!(store.get(slot, 0, b"absent").unwrap().is_none());
    assert_eq!(
        (store.value_cache().misses(), store.value_cache().entries()),
        (3, 1)
    );
    // Same user key, other database or slot: another entry.
    assert!(store.get(slot, 1, b"k").unwrap().is_none());
    assert!(store.get(SlotId(8), 0, b"k").unwrap().is_none());
}

#[test]
fn cache_stays_within_its_budget() {
    let budget = 64 * 1024;
    let (_dir, store) = cached_store(budget);
    let slot = SlotId(1);
    let value = vec![b'x'; 300];
    for i in 0..1000 {
        put_value(&store, slot, &format!("key:{i}"), &value);
        assert!(store.value_cache().bytes() <= budget);
    }
    let c = store.value_cache();
    assert!(c.evictions() > 0 && c.entries() < 1000, "{}", c.entries());
    assert!(
        c.bytes() > budget - 600,
        "evicts only what it must: {}",
        c.bytes()
    );
    assert!(is_cached(&store, slot, 0, "key:999") && !is_cached(&store, slot, 0, "key:0"));
    drop(c);
    // Evicted keys are still served, from RocksDB.
    for i in 0..1000 {
        assert_eq!(
            payload(&store, slot, &format!("key:{i}")).as_deref(),
            Some(&value[..])
        );
    }
    assert!(store.value_cache().bytes() <= budget);
    // Values over 1/8 of the budget are not cached.
    put_value(&store, slot, "big", &vec![b'b'; budget / 8]);
    assert_eq!(payload(&store, slot, "big").unwrap().len(), budget / 8);
    assert!(!is_cached(&store, slot, 0, "big"));
}

#[test]
fn cache_follows_puts_and_deletes_of_the_slot_writer() {
    let (_dir, store) = cached_store(1 << 20);
    let slot = SlotId(2);
    put_value(&store, slot, "k", b"one");
    assert_eq!(payload(&store, slot, "k").as_deref(), Some(&b"one"[..]));
    put_value(&store, slot, "k", b"two");
    let hits = store.value_cache().hits();
    assert_eq!(payload(&store, slot, "k").as_deref(), Some(&b"two"[..]));
    assert_eq!(
        store.value_cache().hits(),
        hits + 1,
        "updated in the cache, not just dropped"
    );
    // Several writes of one key in one entry: the last one wins.
    let mut w = SlotWriter::new(&store, slot, 0, 1);
    let k = Bytes::from_static(b"k");
    w.put(&k, Record::string(Bytes::from_static(b"three"), 0, 0))
        .unwrap();
    assert!(w.delete(&k).unwrap());
    w.put(&k, Record::string(Bytes::from_static(b"four"), 0, 0))
        .unwrap();
    w.put(
        &Bytes::from_static(b"gone"),
        Record::string(Bytes::from_static(b"x"), 0, 0),
    )
    .unwrap();
    assert!(w.delete(&Bytes::from_static(b"gone")).unwrap());
    // Nothing reaches the cache before the commit.
    assert_eq!(payload(&store, slot, "k").as_deref(), Some(&b"two"[..]));
    w.commit().unwrap();
    assert_eq!(payload(&store, slot, "k").as_deref(), Some(&b"four"[..]));
    assert!(!is_cached(&store, slot, 0, "gone"));
    assert!(store.get(slot, 0, b"gone").unwrap().is_none());
    let mut w = SlotWriter::new(&store, slot, 0, 1);
    assert!(w.delete(&k).unwrap());
    w.commit().unwrap();
    assert!(!is_cached(&store, slot, 0, "k"));
    assert!(store.get(slot, 0, b"k").unwrap().is_none());
    // A dropped entry (an op that failed after staging writes) leaves the cache alone.
    put_value(&store, slot, "k", b"five");
    let mut w = SlotWriter::new(&store, slot, 0, 1);
    w.put(&k, Record::string(Bytes::from_static(b"six"), 0, 0))
        .unwrap();
    drop(w);
    assert_eq!(payload(&store, slot, "k").as_deref(), Some(&b"five"[..]));
}

#[test]
fn cached_payload_does_not_pin_the_argument_buffer() {
    let (_dir, store) = cached_store(1 << 20);
    let slot = SlotId(3);
    // Arguments are slices of the connection's read buffer; caching them would keep it alive.
    let read_buffer = Bytes::from(vec![b'r'; 64 * 1024]);
    let value = read_buffer.slice(100..110);
    let mut w = SlotWriter::new(&store, slot, 0, 1);
    w.put(&Bytes::from_static(b"k"), Record::string(value, 0, 0))
        .unwrap();
    w.commit().unwrap();
    let hits = store.value_cache().hits();
    let cached = payload(&store, slot, "k").unwrap();
    assert_eq!(store.value_cache().hits(), hits + 1);
    assert_eq!(&cached[..], &read_buffer[100..110]);
    let range = read_buffer.as_ptr_range();
    assert!(!range.contains(&cached.as_ptr()));
}

#[test]
fn an_entry_that_writes_after_wiping_is_refused_whole() {
    let (_dir, store) = cached_store(1 << 20);
    let slot = SlotId(4);
    put(&store, slot, 0, "a", 0, 1);
    let mut w = SlotWriter::new(&store, slot, 0, 1);
    w.delete_all(Some(0));
    w.put(
        &Bytes::from_static(b"after"),
        Record::string(Bytes::from_static(b"x"), 0, 0),
    )
    .unwrap();
    assert!(matches!(w.commit(), Err(StorageError::StoredAfterWipe)));
    assert!(
        store.get(slot, 0, b"a").unwrap().is_some(),
        "nothing was written"
    );
    assert!(store.get(slot, 0, b"after").unwrap().is_none());
    assert_eq!(store.counts(slot, 0).unwrap().keys, 1);
}

#[test]
fn flush_clears_the_cache() {
    let (_dir, store) = cached_store(1 << 20);
    let slot = SlotId(4);
    put(&store, slot, 0, "a", 0, 1);
    put(&store, slot, 1, "a", 0, 1);
    put(&store, SlotId(5), 0, "b", 0, 1);
    assert_eq!(store.value_cache().entries(), 3);
    let mut w = SlotWriter::new(&store, slot, 0, 1);
    w.put(
        &Bytes::from_static(b"before"),
        Record::string(Bytes::from_static(b"x"), 0, 0),
    )
    .unwrap();
    w.delete_all(Some(0));
    w.commit().unwrap();
    assert_eq!(store.value_cache().entries(), 0);
    put(&store, slot, 0, "after", 0, 1);
    assert!(is_cached(&store, slot, 0, "after"));
    assert!(store.get(slot, 0, b"a").unwrap().is_none());
    assert!(store.get(slot, 0, b"before").unwrap().is_none());
    assert!(store.get(slot, 1, b"a").unwrap().is_some());
    assert!(store.get(SlotId(5), 0, b"b").unwrap().is_some());
    let mut w = SlotWriter::new(&store, slot, 0, 1);
    w.delete_all(None);
    w.commit().unwrap();
    assert_eq!(store.value_cache().entries(), 0);
    assert!(store.get(slot, 1, b"a").unwrap().is_none());
    assert!(store.get(slot, 0, b"after").unwrap().is_none());
}

#[test]
fn failed_write_leaves_no_stale_entry() {
    let (_dir, mut store) = cached_store(1 << 20);
    let slot = SlotId(6);
    put_value(&store, slot, "k", b"old");
    assert!(is_cached(&store, slot, 0, "k"));
    // RocksDB refuses a synced write without a WAL: every write now fails.
    store.write_opts.set_sync(true);
    store.write_opts.disable_wal(true);
    let mut w = SlotWriter::new(&store, slot, 0, 1);
    w.put(
        &Bytes::from_static(b"k"),
        Record::string(Bytes::from_static(b"new"), 0, 0),
    )
    .unwrap();
    assert!(w.commit().is_err());
    assert!(
        !is_cached(&store, slot, 0, "k"),
        "the entry's keys are dropped"
    );
    assert_eq!(payload(&store, slot, "k").as_deref(), Some(&b"old"[..]));
    let mut w = SlotWriter::new(&store, slot, 0, 1);
    w.delete_all(Some(0));
    assert!(w.commit().is_err());
    assert_eq!(payload(&store, slot, "k").as_deref(), Some(&b"old"[..]));
    assert_eq!(
        store.counts(slot, 0).unwrap().keys,
        1,
        "a failed wipe keeps the counts"
    );
}

#[test]
fn cache_never_serves_a_record_the_compaction_filter_dropped() {
    let (_dir, store) = cached_store(1 << 20);
    let slot = SlotId(9);
    let deadline = crate::shard::now_ms() + 30;
    put(&store, slot, 0, "t", deadline, deadline - 30);
    assert!(is_cached(&store, slot, 0, "t"));
    while crate::shard::now_ms() <= deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    store.db.flush().unwrap();
    store.db.compact_range::<&[u8], &[u8]>(None, None);
    // RocksDB no longer has it; neither may the cache (expired or not, `get` reports stored records).
    assert!(store.get(slot, 0, b"t").unwrap().is_none());
    assert_eq!(store.value_cache().entries(), 0);
}

/// Prints the per-lookup cost of a GET served by RocksDB's memtable and by the value cache (the numbers in
/// cache.rs's module doc), and checks the cache is clearly cheaper.
#[test]
fn cache_hit_is_cheaper_than_rocksdb() {
    let (_dir, store) = open();
    let keys: Vec<String> = (0..10_000).map(|i| format!("user:{i:08}")).collect();
    for (i, k) in keys.iter().enumerate() {
        put_value(&store, SlotId((i % 2048) as u16), k, &[b'v'; 64]);
    }
    let round = |store: &Store| {
        let start = std::time::Instant::now();
        for (i, k) in keys.iter().enumerate() {
            let r = store
                .get(SlotId((i % 2048) as u16), 0, k.as_bytes())
                .unwrap();
            assert!(r.is_some());
        }
        start.elapsed().as_nanos() as f64 / keys.len() as f64
    };
    let rocks = (0..5).map(|_| round(&store)).fold(f64::MAX, f64::min);
    store.set_cache_budget(64 << 20);
    round(&store); // fills the cache
    let cached = (0..5).map(|_| round(&store)).fold(f64::MAX, f64::min);
    assert_eq!(store.value_cache().entries(), keys.len());
    eprintln!("get from memtable: {rocks:.0} ns; from the value cache: {cached:.0} ns");
    assert!(cached * 2.0 < rocks, "{cached} vs {rocks}");
}

mod collections {
    use super::*;
    use crate::storage::collection::{CollectionMeta, Family, Value};
    use crate::storage::record::ValueType;

    /// Creates (or replaces) hash `key` with `fields` through the writer, as a command would.
    fn hset(store: &Store, slot: SlotId, key: &str, fields: &[(&str, &str)]) -> u64 {
        let key = Bytes::copy_from_slice(key.as_bytes());
        let mut w = SlotWriter::new(store, slot, 0, 1000);
        let mut rec = w.new_collection(ValueType::Hash).unwrap();
        for (f, v) in fields {
            w.put_member(Family::Sub, &key, rec.version, f.as_bytes(), v.as_bytes());
        }
        let mut meta = CollectionMeta::of(&rec).unwrap();
        meta.count = fields.len() as u64;
        rec.payload = meta.encode(ValueType::Hash);
        let version = rec.version;
        w.put(&key, rec).unwrap();
        assert!(w.commit().unwrap());
        version
    }

    fn members(store: &Store, slot: SlotId, key: &str, version: u64) -> Vec<(Bytes, Bytes)> {
        let mut out = Vec::new();
        let mut c = store.member_cursor(Family::Sub, slot, 0, key.as_bytes(), version);
        c.seek_to_first();
        while c.valid() {
            out.push((
                Bytes::copy_from_slice(c.member()),
                Bytes::copy_from_slice(c.value()),
            ));
            c.next();
        }
        c.status().unwrap();
        out
    }

    fn compact_all(store: &Store) {
        store.flush_all().unwrap();
        store.db.compact_range::<&[u8], &[u8]>(None, None);
        for f in Family::ALL {
            store
                .db
                .compact_range_cf::<&[u8], &[u8]>(store.cf(f), None, None);
        }
    }

    #[test]
    fn versions_are_unique_per_slot_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let slot = SlotId(11);
        let (v1, v2) = {
            let store = Store::open(dir.path(), 1, &tuning::RocksConfig::default()).unwrap();
            let v1 = hset(&store, slot, "a", &[("f", "1")]);
            let v2 = hset(&store, slot, "b", &[("f", "1")]);
            store.flush_all().unwrap();
            (v1, v2)
        };
        assert!(v2 > v1);
        let store = Store::open(dir.path(), 1, &tuning::RocksConfig::default()).unwrap();
        let v3 = hset(&store, slot, "a", &[("g", "2")]);
        assert!(v3 > v2, "a reopened store must not hand out {v3} again");
        // The member cursor sees exactly the live version's members, in member order.
        assert_eq!(
            members(&store, slot, "a", v3),
            vec![("g".into(), "2".into())]
        );
        assert_eq!(
            members(&store, slot, "b", v2),
            vec![("f".into(), "1".into())]
        );
    }

    #[test]
    fn compaction_drops_members_of_deleted_overwritten_and_expired_collections_only() {
        let (_dir, store) = open();
        let slot = SlotId(3);
        let now = crate::shard::now_ms();
        let kept = hset(&store, slot, "kept", &[("a", "1"), ("b", "2")]);
        let deleted = hset(&store, slot, "deleted", &[("a", "1")]);
        let old = hset(&store, slot, "recreated", &[("old", "1")]);
        let new = hset(&store, slot, "recreated", &[("new", "1")]);
        let to_string = hset(&store, slot, "now-a-string", &[("a", "1")]);
        let expired = hset(&store, slot, "expired", &[("a", "1")]);
        let mut w = SlotWriter::new(&store, slot, 0, now);
        w.delete(&Bytes::from_static(b"deleted")).unwrap();
        w.put(
            &Bytes::from_static(b"now-a-string"),
            Record::string(Bytes::from_static(b"v"), 0, 0),
        )
        .unwrap();
        let mut rec = w.get(b"expired").unwrap().unwrap();
        rec.expire_at = now - 1;
        w.put(&Bytes::from_static(b"expired"), rec).unwrap();
        w.commit().unwrap();
        // Before compaction the orphans are still stored (nothing reads them).
        assert_eq!(members(&store, slot, "deleted", deleted).len(), 1);
        compact_all(&store);
        assert_eq!(members(&store, slot, "kept", kept).len(), 2);
        assert_eq!(members(&store, slot, "recreated", new).len(), 1);
        for (key, version) in [
            ("deleted", deleted),
            ("recreated", old),
            ("now-a-string", to_string),
            ("expired", expired),
        ] {
            assert!(
                members(&store, slot, key, version).is_empty(),
                "members of {key} v{version} must be dropped"
            );
        }
    }

    #[test]
    fn flushdb_wipes_members_and_put_value_moves_a_collection() {
        let (_dir, store) = open();
        let slot = SlotId(8);
        let v = hset(&store, slot, "h", &[("f1", "x"), ("f2", "y")]);
        let rec = store.get(slot, 0, b"h").unwrap().unwrap();
        let value = Value {
            members: store.members_of(slot, 0, b"h", &rec).unwrap(),
            record: rec,
        };
        let mut w = SlotWriter::new(&store, slot, 0, 1000);
        w.put_value(&Bytes::from_static(b"h2"), &value).unwrap();
        w.commit().unwrap();
        let moved = store.get(slot, 0, b"h2").unwrap().unwrap();
        assert_ne!(moved.version, v);
        assert_eq!(
            store.members_of(slot, 0, b"h2", &moved).unwrap(),
            value.members
        );
        let mut w = SlotWriter::new(&store, slot, 0, 1000);
        w.delete_all(Some(0));
        w.commit().unwrap();
        assert!(members(&store, slot, "h", v).is_empty());
        assert!(members(&store, slot, "h2", moved.version).is_empty());
    }
}

/// The switch a range delete owes (`Store::write_range_delete`) is made by the next write, before its
/// batch; and `switch_memtables_at` switches only once a memtable reaches the size.
#[test]
fn an_owed_memtable_switch_comes_before_the_next_write() {
    let (_dir, store) = open();
    let active = |store: &Store| {
        store
            .db
            .property_int_value("rocksdb.num-entries-active-mem-table")
            .unwrap()
            .unwrap()
    };
    for i in 0..10 {
        put(&store, SlotId(1), 0, &format!("k{i}"), 0, 1);
    }
    assert!(active(&store) >= 10);
    assert!(
        !store.switch_memtables_at(u64::MAX).unwrap(),
        "nothing is that large"
    );
    assert!(active(&store) >= 10);
    // Wipes of two slots (as a FLUSHALL makes one per slot) owe the switch and do not make it.
    for (slot, db) in [(SlotId(1), Some(0)), (SlotId(2), None)] {
        let mut w = SlotWriter::new(&store, slot, 0, 1);
        w.delete_all(db);
        assert!(w.commit().unwrap());
        assert!(store.switch_owed.get());
        assert!(active(&store) >= 10);
    }
    assert!(store.get(SlotId(1), 0, b"k0").unwrap().is_none());
    assert_eq!(store.counts(SlotId(1), 0).unwrap(), Default::default());
    put(&store, SlotId(1), 0, "after", 0, 1);
    assert!(!store.switch_owed.get());
    // The data family's new memtable holds only what the write after the switch wrote: the record and
    // the slot's key counts.
    assert_eq!(active(&store), 2);
    assert!(
        store.switch_memtables_at(1).unwrap(),
        "any memtable is 1 byte"
    );
    assert_eq!(active(&store), 0);
}

#[test]
fn an_instance_of_another_storage_format_is_refused_and_refuses_older_builds() {
    assert_eq!(
        super::FORMAT_CF,
        format!("{}{}", super::FORMAT_CF_PREFIX, super::STORAGE_FORMAT)
    );
    let cfg = tuning::RocksConfig::default();
    let open_err = |dir: &std::path::Path| match Store::open(dir, 1, &cfg) {
        Ok(_) => panic!("opened"),
        Err(e) => e.to_string(),
    };
    let mut plain = rocksdb::Options::default();
    plain.create_if_missing(true);
    plain.create_missing_column_families(true);
    // A format-1 instance (what builds before the bucket byte left): the four families, no marker.
    let old = tempfile::tempdir().unwrap();
    {
        let db = rocksdb::DB::open_cf(&plain, old.path(), ["sub", "score", "raft"]).unwrap();
        db.put([0, 4, 0, b'a'], b"record").unwrap();
    }
    let e = open_err(old.path());
    assert!(
        e.contains("holds storage format 1; this build reads format 2 only"),
        "{e}"
    );
    // Refused before anything was written: the folder is as it was.
    let families = rocksdb::DB::list_cf(&plain, old.path()).unwrap();
    assert!(
        !families.iter().any(|f| f.starts_with("storage-format")),
        "{families:?}"
    );
    // A later format's marker.
    let newer = tempfile::tempdir().unwrap();
    drop(rocksdb::DB::open_cf(&plain, newer.path(), ["storage-format-7"]).unwrap());
    assert!(open_err(newer.path()).contains("holds storage format 7"));
    // A new instance gets the marker and reopens; a build that knows only the four families cannot
    // open it.
    let fresh = tempfile::tempdir().unwrap();
    {
        let store = Store::open(fresh.path(), 1, &cfg).unwrap();
        put(&store, SlotId(4), 0, "a", 0, 1);
    }
    drop(Store::open(fresh.path(), 1, &cfg).unwrap());
    let e = match rocksdb::DB::open_cf(&plain, fresh.path(), ["sub", "score", "raft"]) {
        Ok(_) => panic!("a build without the marker family opened the instance"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("storage-format-2"), "{e}");
}

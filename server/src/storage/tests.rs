//! Storage tests against a real RocksDB instance in a temporary folder.

use bytes::Bytes;

use super::record::Record;
use super::Store;
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
    assert_eq!(seen, vec![b"x".to_vec(), b"y".to_vec()]);
    assert!(store.slot_db_has_keys(SlotId(1), 1).unwrap());
    assert!(!store.slot_db_has_keys(SlotId(3), 0).unwrap());
}

//! Tests of the string mutations against a real RocksDB instance: type errors on every read-modify-write op
//! (no other data type has commands yet, so this is where WRONGTYPE is exercised), time to live kept or
//! dropped, expiry judged by the entry's clock, and determinism of `apply`.

use bytes::Bytes;
use resp::Reply;

use super::*;
use crate::slot::SlotId;
use crate::storage::Store;

const NOW: u64 = 1_700_000_000_000;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 1, &tuning::RocksConfig::default()).unwrap();
    (dir, store)
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Applies `op` to the slot of `key` at `now` and commits what it wrote.
fn apply(store: &Store, key: &str, now: u64, op: StringOp) -> Result<Reply, CmdError> {
    let mut w = SlotWriter::new(store, SlotId::of_key(key.as_bytes()), 0, now);
    let reply = op.apply(&mut w);
    if reply.is_ok() {
        w.commit().unwrap();
    }
    reply
}

fn record(store: &Store, key: &str) -> Option<Record> {
    store
        .get(SlotId::of_key(key.as_bytes()), 0, key.as_bytes())
        .unwrap()
}

fn put(store: &Store, key: &str, rec: Record) {
    let mut w = SlotWriter::new(store, SlotId::of_key(key.as_bytes()), 0, NOW);
    w.put(&b(key), rec).unwrap();
    w.commit().unwrap();
}

fn set(key: &str, value: &str, expire: ExpireAction, get: bool) -> StringOp {
    StringOp::Set(SetOp {
        key: b(key),
        value: b(value),
        cond: SetCond::Always,
        expire,
        get,
    })
}

fn every_read_modify_write(key: &str) -> Vec<StringOp> {
    let k = b(key);
    vec![
        set(key, "v", ExpireAction::Clear, true),
        StringOp::GetDel(GetDelOp { key: k.clone() }),
        StringOp::GetEx(GetExOp {
            key: k.clone(),
            action: GetExAction::Persist,
        }),
        StringOp::GetEx(GetExOp {
            key: k.clone(),
            action: GetExAction::NotInteger,
        }),
        StringOp::IncrBy(IncrByOp {
            key: k.clone(),
            by: 1,
        }),
        StringOp::IncrByFloat(IncrByFloatOp {
            key: k.clone(),
            by: b("1.5"),
        }),
        StringOp::IncrByFloat(IncrByFloatOp {
            key: k.clone(),
            by: b("abc"),
        }),
        StringOp::Append(AppendOp {
            key: k.clone(),
            value: b("x"),
            max_len: 1 << 20,
        }),
        StringOp::SetRange(SetRangeOp {
            key: k.clone(),
            offset: 0,
            value: b("x"),
            max_len: 1 << 20,
        }),
        StringOp::SetRange(SetRangeOp {
            key: k,
            offset: 0,
            value: Bytes::new(),
            max_len: 1 << 20,
        }),
    ]
}

#[test]
fn every_read_modify_write_refuses_another_type() {
    let (_dir, store) = open();
    let hash = Record {
        vtype: ValueType::Hash,
        expire_at: 0,
        version: 7,
        payload: b("meta"),
    };
    put(&store, "h", hash.clone());
    for op in every_read_modify_write("h") {
        let got = apply(&store, "h", NOW, op.clone());
        assert!(matches!(got, Err(CmdError::WrongType)), "{op:?}: {got:?}");
        assert_eq!(
            record(&store, "h").as_ref(),
            Some(&hash),
            "{op:?} must not write"
        );
    }
    // MSETNX sees the key; SET and MSET overwrite whatever is there.
    let msetnx = StringOp::MSet(MSetOp {
        pairs: vec![(b("h"), b("v"))],
        nx: true,
    });
    assert_eq!(apply(&store, "h", NOW, msetnx).unwrap(), Reply::Integer(0));
    assert_eq!(
        apply(&store, "h", NOW, set("h", "s", ExpireAction::Clear, false)).unwrap(),
        Reply::Ok
    );
    assert_eq!(record(&store, "h").unwrap().vtype, ValueType::String);
}

#[test]
fn time_to_live_follows_redis_and_the_entry_clock() {
    let (_dir, store) = open();
    let later = NOW + 60_000;
    put(&store, "n", Record::string(b("41"), later, 0));
    let incr = |key: &str| StringOp::IncrBy(IncrByOp { key: b(key), by: 1 });
    assert_eq!(
        apply(&store, "n", NOW, incr("n")).unwrap(),
        Reply::Integer(42)
    );
    assert_eq!(
        record(&store, "n").unwrap().expire_at,
        later,
        "INCR keeps the TTL"
    );
    assert_eq!(
        apply(&store, "n", NOW, set("n", "1", ExpireAction::Keep, false)).unwrap(),
        Reply::Ok
    );
    assert_eq!(
        record(&store, "n").unwrap().expire_at,
        later,
        "KEEPTTL keeps it"
    );
    // Applied with a clock past the deadline, the same op sees no key: it starts from zero, without a TTL.
    assert_eq!(
        apply(&store, "n", later, incr("n")).unwrap(),
        Reply::Integer(1)
    );
    assert_eq!(record(&store, "n").unwrap().expire_at, 0);
    assert_eq!(
        apply(&store, "n", NOW, set("n", "1", ExpireAction::Clear, true)).unwrap(),
        Reply::Bulk(b("1"))
    );
    // A deadline at or before the entry's clock leaves no key.
    assert_eq!(
        apply(&store, "n", NOW, set("n", "2", ExpireAction::At(NOW), true)).unwrap(),
        Reply::Bulk(b("1"))
    );
    assert_eq!(record(&store, "n"), None);
    // GETEX: a past absolute deadline deletes after replying; PERSIST removes the deadline.
    put(&store, "g", Record::string(b("v"), later, 0));
    let getex = |action| {
        StringOp::GetEx(GetExOp {
            key: b("g"),
            action,
        })
    };
    assert_eq!(
        apply(&store, "g", NOW, getex(GetExAction::Persist)).unwrap(),
        Reply::Bulk(b("v"))
    );
    assert_eq!(record(&store, "g").unwrap().expire_at, 0);
    assert_eq!(
        apply(&store, "g", NOW, getex(GetExAction::At(NOW - 1))).unwrap(),
        Reply::Bulk(b("v"))
    );
    assert_eq!(record(&store, "g"), None);
    assert_eq!(
        apply(&store, "g", NOW, getex(GetExAction::InvalidExpire)).unwrap(),
        Reply::Null,
        "a missing key answers nil before the bad argument is reported"
    );
}

#[test]
fn apply_is_deterministic() {
    let ops = |key: &str| {
        let mut v = vec![
            set(key, "10.5", ExpireAction::At(NOW + 5_000), false),
            StringOp::IncrByFloat(IncrByFloatOp {
                key: b(key),
                by: b("0.1"),
            }),
            StringOp::Append(AppendOp {
                key: b(key),
                value: b("0"),
                max_len: 1 << 20,
            }),
            StringOp::SetRange(SetRangeOp {
                key: b(key),
                offset: 8,
                value: b("!"),
                max_len: 1 << 20,
            }),
        ];
        v.extend(every_read_modify_write(key));
        v
    };
    let run = || {
        let (dir, store) = open();
        let replies: Vec<String> = ops("d")
            .into_iter()
            .map(|op| format!("{:?}", apply(&store, "d", NOW, op)))
            .collect();
        let rec = record(&store, "d");
        drop(store);
        drop(dir);
        (replies, rec)
    };
    let (first, rec) = run();
    assert_eq!(run(), (first.clone(), rec));
    assert!(first[1].contains("10.6"), "{first:?}");
}

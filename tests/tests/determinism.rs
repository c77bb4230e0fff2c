//! Determinism of the write path: two servers given the same writes end with byte-identical RocksDB
//! contents — every record, member, score entry, expire-index entry, key count and version counter, in all
//! three column families of every core.
//!
//! This is what replication will rely on: a replica applying the same log must reach the same state. The
//! writes cover every data type and the commands whose effect depends on stored state (versions handed to
//! new collections, RENAME/COPY under fresh versions, STORE forms, moves between keys); only commands whose
//! outcome depends on the wall clock or on randomness are left out (relative TTLs, SPOP) — the entry carries
//! those choices already made. The run is small enough that neither server compacts, so orphaned members
//! (reclaimed by compaction filters at times of RocksDB's choosing) are compared too.

use std::collections::BTreeMap;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use slotkv_tests::{Server, ServerOptions};

fn pick<'a>(rng: &mut StdRng, v: &[&'a str]) -> &'a str {
    v[rng.gen_range(0..v.len())]
}

fn command(rng: &mut StdRng) -> Vec<String> {
    // Keys per type (one pair hash-tagged into one slot), so most commands find their own type.
    let family = pick(rng, &["h", "l", "s", "z", "k"]);
    let keys: Vec<String> = ["a", "b", "{t}c", "{t}d"]
        .iter()
        .map(|k| format!("{family}:{k}"))
        .collect();
    let key = |rng: &mut StdRng| keys[rng.gen_range(0..keys.len())].clone();
    let m = |rng: &mut StdRng| format!("m{}", rng.gen_range(0..12));
    let n = |rng: &mut StdRng| rng.gen_range(-5..20).to_string();
    let k = key(rng);
    let k2 = key(rng);
    let general = rng.gen_range(0..10) == 0;
    if general {
        return match rng.gen_range(0..4) {
            0 => vec!["RENAME".into(), k, k2],
            1 => vec!["COPY".into(), k, k2, "REPLACE".into()],
            2 => vec!["DEL".into(), k],
            // An absolute deadline far in the future: the same on both servers.
            _ => vec!["PEXPIREAT".into(), k, "4102444800000".into()],
        };
    }
    match family {
        "h" => match rng.gen_range(0..3) {
            0 => vec!["HSET".into(), k, m(rng), n(rng), m(rng), n(rng)],
            1 => vec!["HDEL".into(), k, m(rng)],
            _ => vec!["HINCRBY".into(), k, m(rng), n(rng)],
        },
        "l" => match rng.gen_range(0..6) {
            0 | 1 => vec!["RPUSH".into(), k, m(rng), m(rng), m(rng)],
            2 => vec!["LPUSH".into(), k, m(rng)],
            3 => vec![pick(rng, &["LPOP", "RPOP"]).into(), k],
            4 => vec!["LINSERT".into(), k, "BEFORE".into(), m(rng), m(rng)],
            _ => vec!["LMOVE".into(), k, k2, "LEFT".into(), "RIGHT".into()],
        },
        "s" => match rng.gen_range(0..4) {
            0 | 1 => vec!["SADD".into(), k, m(rng), m(rng)],
            2 => vec!["SREM".into(), k, m(rng)],
            _ => vec![
                pick(rng, &["SMOVE", "SUNIONSTORE"]).into(),
                k,
                k2,
                if rng.gen_bool(0.5) { m(rng) } else { key(rng) },
            ],
        },
        "z" => match rng.gen_range(0..5) {
            0 | 1 => vec!["ZADD".into(), k, n(rng), m(rng), n(rng), m(rng)],
            2 => vec!["ZINCRBY".into(), k, n(rng), m(rng)],
            3 => vec!["ZREM".into(), k, m(rng)],
            _ => vec!["ZUNIONSTORE".into(), k, "2".into(), k2, key(rng)],
        },
        _ => match rng.gen_range(0..3) {
            0 => vec!["SET".into(), k, n(rng)],
            1 => vec!["APPEND".into(), k, m(rng)],
            _ => vec!["INCRBY".into(), k, n(rng)],
        },
    }
}

/// Key-value pairs in key order.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Every key and value of every column family of every core's instance, by (core, family).
fn contents(dir: &Path) -> BTreeMap<(String, String), Entries> {
    let mut out = BTreeMap::new();
    let mut cores: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("core-"))
        .map(|e| e.path())
        .collect();
    cores.sort();
    assert!(!cores.is_empty(), "no core folders in {}", dir.display());
    for core in cores {
        let opts = rocksdb::Options::default();
        let families = rocksdb::DB::list_cf(&opts, &core).unwrap();
        let db = rocksdb::DB::open_cf_for_read_only(&opts, &core, &families, false).unwrap();
        for f in &families {
            let cf = db.cf_handle(f).unwrap();
            let items: Entries = db
                .iterator_cf(cf, rocksdb::IteratorMode::Start)
                .map(|kv| {
                    let (k, v) = kv.unwrap();
                    (k.to_vec(), v.to_vec())
                })
                .collect();
            let name = core.file_name().unwrap().to_string_lossy().into_owned();
            out.insert((name, f.clone()), items);
        }
    }
    out
}

#[test]
fn the_same_writes_give_byte_identical_stores() {
    let opts = || ServerOptions {
        cores: 2,
        ..Default::default()
    };
    let (mut one, mut two) = (Server::with(opts()), Server::with(opts()));
    let (mut r1, mut r2) = (one.raw(), two.raw());
    let mut rng = StdRng::seed_from_u64(0xD37E_2A11);
    let mut errors = 0;
    for _ in 0..3000 {
        let c = command(&mut rng);
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        let (a, b) = (r1.cmd_str(&args), r2.cmd_str(&args));
        assert_eq!(a, b, "{args:?}");
        errors += a.starts_with('-') as usize;
    }
    assert!(
        errors < 600,
        "{errors} of 3000 commands failed: the run must mostly write"
    );
    one.stop();
    two.stop();
    let (x, y) = (contents(one.dir()), contents(two.dir()));
    let total: usize = x.values().map(Vec::len).sum();
    assert!(total > 200, "only {total} entries stored");
    for (place, items) in &x {
        let other = y.get(place).unwrap_or_else(|| panic!("{place:?} missing"));
        assert_eq!(items.len(), other.len(), "{place:?}: entry counts differ");
        for (i, (p, q)) in items.iter().zip(other).enumerate() {
            assert_eq!(p, q, "{place:?}: entry {i} differs");
        }
    }
    assert_eq!(x.len(), y.len());
}

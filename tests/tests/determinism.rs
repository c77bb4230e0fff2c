//! Determinism of the write path: one Raft log applied to two stores gives byte-identical RocksDB
//! contents — every record, member, score entry, expire-index entry, key count, version counter and
//! applied log index, in all three column families of every core.
//!
//! This is what replication relies on: a replica applying the leader's log must reach the leader's state.
//! Server A takes writes of every type, including those whose outcome depends on the clock or on chance
//! (relative TTLs, SPOP): the entry carries the deadline and the members already chosen, so applying it
//! later, elsewhere, must not choose again. A is killed; a fresh server B gets a copy of A's log and
//! nothing else, so it replays every entry into empty instances. A restarts on what its RocksDB kept — a
//! prefix applied live and flushed (a small memtable makes RocksDB flush mid-run) — plus a replay of the
//! tail it lost. Both stop cleanly and the stores are compared. The run is small enough that neither
//! store compacts, so orphaned members (reclaimed by compaction filters at times of RocksDB's choosing)
//! are compared too.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use slotkv_tests::{config_file, core_of, key_on, replayed, Raw, Server, ServerOptions};

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
        return match rng.gen_range(0..5) {
            0 => vec!["RENAME".into(), k, k2],
            1 => vec!["COPY".into(), k, k2, "REPLACE".into()],
            2 => vec!["DEL".into(), k],
            3 => vec!["PEXPIREAT".into(), k, "4102444800000".into()],
            // Relative: the entry must carry the deadline, not the TTL (B applies it seconds later).
            _ => vec!["EXPIRE".into(), k, rng.gen_range(1000..100_000).to_string()],
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
        "s" => match rng.gen_range(0..5) {
            0 | 1 => vec!["SADD".into(), k, m(rng), m(rng)],
            2 => vec!["SREM".into(), k, m(rng)],
            // Random members: the entry must carry the ones chosen.
            3 => vec!["SPOP".into(), k, rng.gen_range(1..3).to_string()],
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
        _ => match rng.gen_range(0..4) {
            0 => vec!["SET".into(), k, n(rng)],
            1 => vec!["APPEND".into(), k, m(rng)],
            2 => vec!["INCRBY".into(), k, n(rng)],
            _ => vec!["SET".into(), k, n(rng), "EX".into(), "100000".into()],
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

/// Copies a folder tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// How many compactions the RocksDB instances under `dir` ran, from their info logs (`LOG*`).
fn compactions(dir: &Path) -> usize {
    let mut n = 0;
    for core in std::fs::read_dir(dir).unwrap().flatten() {
        if !core.file_name().to_string_lossy().starts_with("core-") {
            continue;
        }
        for f in std::fs::read_dir(core.path()).unwrap().flatten() {
            if f.file_name().to_string_lossy().starts_with("LOG") {
                let text = String::from_utf8_lossy(&std::fs::read(f.path()).unwrap()).into_owned();
                n += text.matches("\"event\": \"compaction_started\"").count();
            }
        }
    }
    n
}

/// Sends `n` workload commands pipelined in batches; returns how many failed.
fn run_workload(r: &mut Raw, rng: &mut StdRng, n: usize) -> usize {
    let mut errors = 0;
    for _ in 0..n / 100 {
        let cmds: Vec<Vec<String>> = (0..100).map(|_| command(rng)).collect();
        errors += r
            .pipeline(&cmds)
            .iter()
            .filter(|reply| reply.starts_with(b"-"))
            .count();
    }
    errors
}

#[test]
fn one_log_applied_to_two_stores_gives_byte_identical_stores() {
    // 2 MiB memtables (of which the data family's hash buckets take 0.5 MiB), so that the bulk writes
    // below make each core's RocksDB flush once — A keeps a prefix of the log applied live — while every
    // family stays below the four level-0 files that start a compaction.
    let config = config_file("[rocksdb]\nwrite-buffer-mb = 2\n");
    let opts = ServerOptions {
        cores: 2,
        fsync: "always",
        extra: vec!["--config".into(), config.display().to_string()],
        ..Default::default()
    };
    let mut a = Server::with(opts.clone());
    let mut r = a.raw();
    let mut rng = StdRng::seed_from_u64(0xD37E_2A11);
    let mut errors = run_workload(&mut r, &mut rng, 3000);
    // 1.5 MiB of large strings per core: each core's memtable fills and is flushed once.
    let bulk: Vec<Vec<String>> = (0..2)
        .flat_map(|core| {
            (0..)
                .map(|i| format!("bulk:{i}"))
                .filter(move |k| core_of(k, 2) == core)
                .take(24)
        })
        .map(|key| vec!["SET".into(), key, "v".repeat(64 << 10)])
        .collect();
    for reply in r.pipeline(&bulk) {
        assert_eq!(&reply[..], b"+OK\r\n");
    }
    errors += run_workload(&mut r, &mut rng, 3000);
    // A write after the flushes on each core, so that both have a tail to replay.
    for core in 0..2 {
        assert_eq!(
            r.cmd_str(&["SET", &key_on(core, 2, "tail"), "x"]),
            "+OK\r\n"
        );
    }
    assert!(
        errors < 1200,
        "{errors} of 6000 commands failed: the run must mostly write"
    );
    drop(r);
    a.kill9();

    // B: A's log and layout, no RocksDB instances.
    let mut b = Server::with_prepared(opts, |dir| {
        copy_tree(&a.dir().join("raftlog"), &dir.join("raftlog"));
        std::fs::copy(a.dir().join("layout.toml"), dir.join("layout.toml")).unwrap();
    });
    let before = a.log().len();
    a.restart();
    let both = |l: &str| l.matches(": replayed ").count() == 2;
    let (in_a, in_b) = (
        replayed(&a.wait_log(before, Duration::from_secs(30), both)).0,
        replayed(&b.wait_log(0, Duration::from_secs(30), both)).0,
    );
    eprintln!("A replayed {in_a} entries on top of its flushed prefix, B replayed {in_b}");
    assert!(in_a > 0, "A replayed nothing: the test needs a lost tail");
    assert!(
        in_a < in_b,
        "A replayed {in_a} entries, B {in_b}: A's RocksDB kept no flushed prefix"
    );
    assert_eq!(a.stop(), Some(0));
    assert_eq!(b.stop(), Some(0));

    // The comparison includes orphaned members, which only a compaction reclaims: none may have run.
    for d in [a.dir(), b.dir()] {
        assert_eq!(
            compactions(d),
            0,
            "{}: RocksDB compacted, so orphaned members may differ: make the run smaller",
            d.display()
        );
    }
    let (x, y) = (contents(a.dir()), contents(b.dir()));
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

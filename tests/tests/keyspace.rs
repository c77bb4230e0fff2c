//! Black-box tests of the keyspace commands: DEL UNLINK EXISTS TOUCH TYPE, the EXPIRE / TTL families,
//! PERSIST, RENAME RENAMENX COPY, KEYS SCAN RANDOMKEY DBSIZE FLUSHDB FLUSHALL — every option and error text
//! (raw RESP), expiry really happening (lazily and by the active cycle), database isolation, keys spread
//! over two cores, TTLs across a restart, and a seeded random run compared byte for byte with a real
//! redis-server. Longer than most test files because it covers a whole command family in one place.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::{Rng, SeedableRng};
use redis_protocol::resp2::types::OwnedFrame;
use slotkv_tests::{config_file, Raw, RedisServer, Server, ServerOptions};

/// A key named `{prefix}N` that lives on `core` of a 2-core node.
fn key_on(core: usize, prefix: &str) -> String {
    slotkv_tests::key_on(core, 2, prefix)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Parses one RESP2 reply.
fn frame(raw: &[u8]) -> OwnedFrame {
    redis_protocol::resp2::decode::decode(raw)
        .unwrap()
        .unwrap()
        .0
}

fn bulk_set(f: &OwnedFrame) -> BTreeSet<Vec<u8>> {
    match f {
        OwnedFrame::Array(items) => items
            .iter()
            .map(|i| match i {
                OwnedFrame::BulkString(b) => b.clone(),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

/// KEYS, order-free.
fn keys(r: &mut Raw, pattern: &str) -> BTreeSet<Vec<u8>> {
    bulk_set(&frame(&r.cmd(&["KEYS", pattern])))
}

/// A full SCAN iteration; returns every key seen (with duplicates counted) and the number of calls.
fn scan_all(r: &mut Raw, extra: &[&str]) -> (HashMap<Vec<u8>, usize>, usize) {
    let mut seen = HashMap::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(extra);
        let f = frame(&r.cmd(&args));
        calls += 1;
        let OwnedFrame::Array(parts) = f else {
            panic!("SCAN reply {f:?}")
        };
        let OwnedFrame::BulkString(next) = &parts[0] else {
            panic!("cursor {:?}", parts[0])
        };
        for k in bulk_set(&parts[1]) {
            *seen.entry(k).or_insert(0) += 1;
        }
        cursor = String::from_utf8(next.clone()).unwrap();
        if cursor == "0" {
            return (seen, calls);
        }
        assert!(calls < 100_000, "SCAN does not terminate");
    }
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn del_unlink_exists_touch_type() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["SET", "a", "1"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["SET", "b", "2"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["EXISTS", "a", "a", "b", "c"]), ":3\r\n");
    assert_eq!(r.cmd_str(&["TOUCH", "a", "a", "c"]), ":2\r\n");
    assert_eq!(r.cmd_str(&["TYPE", "a"]), "+string\r\n");
    assert_eq!(r.cmd_str(&["TYPE", "nope"]), "+none\r\n");
    assert_eq!(r.cmd_str(&["DEL", "a", "a", "c"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["UNLINK", "b", "b"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["EXISTS", "a", "b"]), ":0\r\n");
    for (cmd, name) in [
        (&["DEL"][..], "del"),
        (&["UNLINK"], "unlink"),
        (&["EXISTS"], "exists"),
        (&["TOUCH"], "touch"),
        (&["TYPE"], "type"),
        (&["TYPE", "a", "b"], "type"),
        (&["TTL", "a", "b"], "ttl"),
        (&["EXPIRE", "a"], "expire"),
        (&["RENAME", "a"], "rename"),
        (&["COPY", "a"], "copy"),
        (&["KEYS"], "keys"),
        (&["SCAN"], "scan"),
        (&["RANDOMKEY", "x"], "randomkey"),
        (&["DBSIZE", "x"], "dbsize"),
    ] {
        assert_eq!(
            r.cmd_str(cmd),
            format!("-ERR wrong number of arguments for '{name}' command\r\n")
        );
    }
}

#[test]
fn expire_family_options_and_errors() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&["SET", "k", "v"]);
    assert_eq!(r.cmd_str(&["EXPIRE", "missing", "10"]), ":0\r\n");
    assert_eq!(
        r.cmd_str(&["EXPIRE", "k", "10", "foo"]),
        "-ERR Unsupported option foo\r\n"
    );
    // Options are checked before the time argument.
    assert_eq!(
        r.cmd_str(&["EXPIRE", "k", "x", "nx", "xx"]),
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
    );
    for opts in [["nx", "gt"], ["lt", "NX"]] {
        assert_eq!(
            r.cmd_str(&["PEXPIRE", "k", "10", opts[0], opts[1]]),
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
        );
    }
    assert_eq!(
        r.cmd_str(&["EXPIREAT", "k", "10", "gt", "lt"]),
        "-ERR GT and LT options at the same time are not compatible\r\n"
    );
    assert_eq!(
        r.cmd_str(&["EXPIRE", "k", "1.5"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    for (cmd, t) in [
        ("expire", "9223372036854776"),
        ("expire", "-9223372036854776"),
        ("pexpire", "9223372036854775807"),
        ("expireat", "9223372036854776"),
    ] {
        assert_eq!(
            r.cmd_str(&[cmd, "k", t]),
            format!("-ERR invalid expire time in '{cmd}' command\r\n")
        );
    }
    // No deadline yet: XX and GT refuse, NX and LT accept.
    assert_eq!(r.cmd_str(&["EXPIRE", "k", "100", "XX"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["EXPIRE", "k", "100", "GT"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["TTL", "k"]), ":-1\r\n");
    assert_eq!(r.cmd_str(&["EXPIRE", "k", "100", "LT"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["EXPIRE", "k", "200", "NX"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["TTL", "k"]), ":100\r\n");
    assert_eq!(r.cmd_str(&["EXPIRE", "k", "50", "GT"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["EXPIRE", "k", "200", "GT", "XX"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["EXPIRE", "k", "300", "LT"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["EXPIRE", "k", "150", "lt"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["TTL", "k"]), ":150\r\n");
    let pttl: i64 = r.cmd_str(&["PTTL", "k"])[1..].trim().parse().unwrap();
    assert!((149_000..=150_000).contains(&pttl), "{pttl}");
    // Absolute deadlines, read back exactly.
    let at = now_ms() / 1000 + 1000;
    assert_eq!(r.cmd_str(&["EXPIREAT", "k", &at.to_string()]), ":1\r\n");
    assert_eq!(r.cmd_str(&["EXPIRETIME", "k"]), format!(":{at}\r\n"));
    assert_eq!(
        r.cmd_str(&["PEXPIRETIME", "k"]),
        format!(":{}\r\n", at * 1000)
    );
    let pat = now_ms() + 500_000;
    assert_eq!(r.cmd_str(&["PEXPIREAT", "k", &pat.to_string()]), ":1\r\n");
    assert_eq!(r.cmd_str(&["PEXPIRETIME", "k"]), format!(":{pat}\r\n"));
    assert_eq!(
        r.cmd_str(&["EXPIRETIME", "k"]),
        format!(":{}\r\n", (pat + 500) / 1000)
    );
    // PERSIST.
    assert_eq!(r.cmd_str(&["PERSIST", "k"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["PERSIST", "k"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["PERSIST", "missing"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["PEXPIRETIME", "k"]), ":-1\r\n");
    assert_eq!(r.cmd_str(&["EXPIRETIME", "missing"]), ":-2\r\n");
    assert_eq!(r.cmd_str(&["TTL", "missing"]), ":-2\r\n");
    assert_eq!(r.cmd_str(&["PTTL", "missing"]), ":-2\r\n");
    // The largest deadline, rounded as Redis does.
    assert_eq!(
        r.cmd_str(&["PEXPIREAT", "k", "9223372036854775807"]),
        ":1\r\n"
    );
    assert_eq!(r.cmd_str(&["EXPIRETIME", "k"]), ":9223372036854776\r\n");
    // A deadline in the past deletes the key and still replies 1 (all four commands).
    for (cmd, t) in [
        ("EXPIRE", "-1"),
        ("PEXPIRE", "0"),
        ("EXPIREAT", "1"),
        ("PEXPIREAT", "-5"),
    ] {
        r.cmd(&["SET", "k", "v"]);
        assert_eq!(r.cmd_str(&[cmd, "k", t]), ":1\r\n", "{cmd}");
        assert_eq!(r.cmd_str(&["EXISTS", "k"]), ":0\r\n", "{cmd}");
        assert_eq!(r.cmd_str(&["DBSIZE"]), ":0\r\n", "{cmd}");
    }
    // ...unless a condition refuses it.
    r.cmd(&["SET", "k", "v", "EX", "100"]);
    assert_eq!(r.cmd_str(&["EXPIRE", "k", "-1", "GT"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["EXISTS", "k"]), ":1\r\n");
}

#[test]
fn expired_keys_disappear_lazily_and_actively() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&["SET", "lazy", "v"]);
    r.cmd(&["SET", "active", "v"]);
    r.cmd(&["SET", "kept", "v"]);
    assert_eq!(r.cmd_str(&["PEXPIRE", "lazy", "30"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["PEXPIRE", "active", "30"]), ":1\r\n");
    let pttl: i64 = r.cmd_str(&["PTTL", "lazy"])[1..].trim().parse().unwrap();
    assert!((0..=30).contains(&pttl), "{pttl}");
    // Lazily: invisible to readers as soon as the deadline passes.
    wait_until("lazy expiry", Duration::from_secs(5), || {
        r.cmd_str(&["GET", "lazy"]) == "$-1\r\n"
    });
    assert_eq!(r.cmd_str(&["EXISTS", "lazy"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["TTL", "lazy"]), ":-2\r\n");
    assert_eq!(r.cmd_str(&["TYPE", "lazy"]), "+none\r\n");
    assert_eq!(
        keys(&mut r, "*"),
        BTreeSet::from([b"kept".to_vec()]),
        "KEYS skips expired keys"
    );
    // Actively: the expiry cycle deletes both without anyone touching `active`.
    wait_until("active expiry", Duration::from_secs(5), || {
        r.cmd_str(&["DBSIZE"]) == ":1\r\n"
    });
    assert_eq!(r.cmd_str(&["EXISTS", "kept"]), ":1\r\n");
    // A persisted key does not expire; a re-armed one expires at its new deadline.
    r.cmd(&["SET", "p", "v", "PX", "40"]);
    assert_eq!(r.cmd_str(&["PERSIST", "p"]), ":1\r\n");
    r.cmd(&["SET", "q", "v", "PX", "40"]);
    assert_eq!(r.cmd_str(&["PEXPIRE", "q", "100000"]), ":1\r\n");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(r.cmd_str(&["EXISTS", "p", "q"]), ":2\r\n");
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":3\r\n");
}

#[test]
fn rename_and_renamenx() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["RENAME", "nope", "x"]), "-ERR no such key\r\n");
    assert_eq!(
        r.cmd_str(&["RENAMENX", "nope", "x"]),
        "-ERR no such key\r\n"
    );
    assert_eq!(
        r.cmd_str(&["RENAME", "nope", "nope"]),
        "-ERR no such key\r\n"
    );
    r.cmd(&["SET", "a", "1", "EX", "100"]);
    assert_eq!(r.cmd_str(&["RENAME", "a", "a"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["RENAMENX", "a", "a"]), ":0\r\n");
    // Different slots; the deadline travels with the value.
    assert_eq!(r.cmd_str(&["RENAME", "a", "b"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["GET", "b"]), "$1\r\n1\r\n");
    assert_eq!(r.cmd_str(&["TTL", "b"]), ":100\r\n");
    assert_eq!(r.cmd_str(&["EXISTS", "a"]), ":0\r\n");
    // Overwrites (and drops the destination's own deadline).
    r.cmd(&["SET", "c", "3"]);
    assert_eq!(r.cmd_str(&["RENAME", "c", "b"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["GET", "b"]), "$1\r\n3\r\n");
    assert_eq!(r.cmd_str(&["TTL", "b"]), ":-1\r\n");
    r.cmd(&["SET", "c", "4"]);
    assert_eq!(r.cmd_str(&["RENAMENX", "c", "b"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["RENAMENX", "c", "d"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["GET", "d"]), "$1\r\n4\r\n");
    // Same slot (hash tag): one mutation.
    r.cmd(&["SET", "{t}x", "x", "PX", "100000"]);
    assert_eq!(r.cmd_str(&["RENAME", "{t}x", "{t}y"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["EXISTS", "{t}x", "{t}y"]), ":1\r\n");
    r.cmd(&["SET", "{t}x", "x2"]);
    assert_eq!(r.cmd_str(&["RENAMENX", "{t}x", "{t}y"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["RENAMENX", "{t}x", "{t}z"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":4\r\n");
}

#[test]
fn copy_options_and_databases() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&["SET", "src", "v", "EX", "100"]);
    assert_eq!(
        r.cmd_str(&["COPY", "src", "src"]),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        r.cmd_str(&["COPY", "src", "src", "DB", "0"]),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        r.cmd_str(&["COPY", "src", "dst", "foo"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        r.cmd_str(&["COPY", "src", "dst", "DB"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        r.cmd_str(&["COPY", "src", "dst", "DB", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        r.cmd_str(&["COPY", "src", "dst", "DB", "16"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        r.cmd_str(&["COPY", "src", "dst", "DB", "-1"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        r.cmd_str(&["COPY", "src", "dst", "DB", "99999999999"]),
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
    );
    assert_eq!(r.cmd_str(&["COPY", "missing", "dst"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["COPY", "src", "dst"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["TTL", "dst"]), ":100\r\n");
    r.cmd(&["SET", "src", "w"]);
    assert_eq!(r.cmd_str(&["COPY", "src", "dst"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["GET", "dst"]), "$1\r\nv\r\n");
    assert_eq!(r.cmd_str(&["COPY", "src", "dst", "REPLACE"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["GET", "dst"]), "$1\r\nw\r\n");
    assert_eq!(r.cmd_str(&["TTL", "dst"]), ":-1\r\n");
    // Into another database, same name allowed.
    assert_eq!(r.cmd_str(&["COPY", "src", "src", "db", "3"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["COPY", "src", "src", "db", "3"]), ":0\r\n");
    assert_eq!(
        r.cmd_str(&["COPY", "src", "src", "REPLACE", "db", "3"]),
        ":1\r\n"
    );
    assert_eq!(r.cmd_str(&["SELECT", "3"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["GET", "src"]), "$1\r\nw\r\n");
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":1\r\n");
    // ... and back, from the selected database.
    r.cmd(&["SET", "only3", "x"]);
    assert_eq!(r.cmd_str(&["COPY", "only3", "from3", "DB", "0"]), ":1\r\n");
    r.cmd(&["SELECT", "0"]);
    assert_eq!(r.cmd_str(&["GET", "from3"]), "$1\r\nx\r\n");
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":3\r\n");
}

#[test]
fn databases_are_isolated_and_flushes_scope_right() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&["SET", "k", "db0"]);
    r.cmd(&["SET", "only0", "x"]);
    r.cmd(&["SELECT", "1"]);
    assert_eq!(r.cmd_str(&["GET", "k"]), "$-1\r\n");
    r.cmd(&["SET", "k", "db1"]);
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":1\r\n");
    assert_eq!(keys(&mut r, "*"), BTreeSet::from([b"k".to_vec()]));
    assert_eq!(scan_all(&mut r, &[]).0.len(), 1);
    assert_eq!(r.cmd_str(&["FLUSHDB"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":0\r\n");
    r.cmd(&["SELECT", "0"]);
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":2\r\n");
    assert_eq!(r.cmd_str(&["GET", "k"]), "$3\r\ndb0\r\n");
    for bad in [
        &["FLUSHDB", "x"][..],
        &["FLUSHDB", "async", "sync"],
        &["FLUSHALL", "now"],
    ] {
        assert_eq!(r.cmd_str(bad), "-ERR syntax error\r\n");
    }
    assert_eq!(r.cmd_str(&["FLUSHDB", "ASYNC"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":0\r\n");
    for db in ["0", "5", "15"] {
        r.cmd(&["SELECT", db]);
        r.cmd(&["SET", "k", db]);
        r.cmd(&["SET", "t", db, "PX", "100000"]);
    }
    assert_eq!(r.cmd_str(&["FLUSHALL", "sync"]), "+OK\r\n");
    for db in ["0", "5", "15"] {
        r.cmd(&["SELECT", db]);
        assert_eq!(r.cmd_str(&["DBSIZE"]), ":0\r\n", "db {db}");
        assert_eq!(r.cmd_str(&["RANDOMKEY"]), "$-1\r\n");
    }
    // Writing after a flush works and counts from zero.
    r.cmd(&["SET", "k", "again"]);
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["FLUSHALL"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["FLUSHALL"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":0\r\n");
}

/// Memtable switches RocksDB's LOG records on every core (one per switch, whatever made it).
fn memtable_switches(s: &Server, cores: usize) -> usize {
    (0..cores)
        .map(|core| {
            std::fs::read_to_string(s.dir().join(format!("core-{core}/LOG")))
                .unwrap()
                .matches("Manual atomic flush start")
                .count()
        })
        .sum()
}

/// FLUSHDB and FLUSHALL of keys in every slot: the flushed databases are empty (strings, keys with a
/// deadline, collections whose members must not come back), the others untouched. Which slots to flush
/// is read from the key counts, and the memtable switch a range delete needs is made once per core and
/// command, not once per slot: a switch per slot (and a seek per slot and database) made a FLUSHALL of
/// 20,000 keys take seconds (measured by hand, not asserted; see docs/commands.md).
#[test]
fn flushes_of_keys_in_every_slot_switch_memtables_once_per_core() {
    let s = Server::with_cores(2);
    let mut r = s.raw();
    let fill = |r: &mut Raw, prefix: &str, n: usize| {
        let cmds: Vec<Vec<String>> = (0..n)
            .map(|i| {
                let key = format!("{prefix}:{i}");
                match i % 10 {
                    0 => vec!["SET".into(), key, "v".into(), "PX".into(), "100000".into()],
                    1 => vec!["HSET".into(), key, "old".into(), "v".into()],
                    2 => vec!["ZADD".into(), key, "1".into(), "old".into()],
                    3 => vec!["RPUSH".into(), key, "old".into()],
                    4 => vec!["SADD".into(), key, "old".into()],
                    _ => vec!["SET".into(), key, "v".into()],
                }
            })
            .collect();
        for chunk in cmds.chunks(1000) {
            for reply in r.pipeline(chunk) {
                assert!(reply[0] == b'+' || reply[0] == b':', "{reply:?}");
            }
        }
    };
    fill(&mut r, "k", 20_000);
    r.cmd(&["SELECT", "3"]);
    fill(&mut r, "other", 100);
    r.cmd(&["SELECT", "0"]);
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":20000\r\n");

    let before = memtable_switches(&s, 2);
    assert_eq!(r.cmd_str(&["FLUSHDB"]), "+OK\r\n");
    assert!(memtable_switches(&s, 2) - before <= 2, "a switch per slot");
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":0\r\n");
    assert!(keys(&mut r, "*").is_empty());
    for key in ["k:0", "k:5", "k:19999"] {
        assert_eq!(r.cmd_str(&["GET", key]), "$-1\r\n");
    }
    assert_eq!(r.cmd_str(&["HGETALL", "k:1"]), "*0\r\n");
    // A collection made again after the flush has none of the old members.
    for (cmd, key) in [
        ("HSET", "k:1"),
        ("ZADD", "k:2"),
        ("RPUSH", "k:3"),
        ("SADD", "k:4"),
    ] {
        let args: &[&str] = match cmd {
            "HSET" => &[cmd, key, "new", "v"],
            "ZADD" => &[cmd, key, "2", "new"],
            _ => &[cmd, key, "new"],
        };
        assert_eq!(r.cmd_str(args), ":1\r\n", "{cmd}");
    }
    assert_eq!(r.cmd_str(&["HKEYS", "k:1"]), "*1\r\n$3\r\nnew\r\n");
    assert_eq!(
        r.cmd_str(&["ZRANGE", "k:2", "0", "-1"]),
        "*1\r\n$3\r\nnew\r\n"
    );
    assert_eq!(
        r.cmd_str(&["LRANGE", "k:3", "0", "-1"]),
        "*1\r\n$3\r\nnew\r\n"
    );
    assert_eq!(r.cmd_str(&["SMEMBERS", "k:4"]), "*1\r\n$3\r\nnew\r\n");
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":4\r\n");
    // The other database was left alone.
    r.cmd(&["SELECT", "3"]);
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":100\r\n");
    assert_eq!(r.cmd_str(&["SMEMBERS", "other:4"]), "*1\r\n$3\r\nold\r\n");
    assert_ne!(r.cmd_str(&["PTTL", "other:0"]), ":-2\r\n");

    fill(&mut r, "k", 20_000);
    let before = memtable_switches(&s, 2);
    assert_eq!(r.cmd_str(&["FLUSHALL"]), "+OK\r\n");
    assert!(memtable_switches(&s, 2) - before <= 2, "a switch per slot");
    for db in ["3", "0"] {
        r.cmd(&["SELECT", db]);
        assert_eq!(r.cmd_str(&["DBSIZE"]), ":0\r\n", "db {db}");
        assert!(keys(&mut r, "*").is_empty(), "db {db}");
    }
    assert_eq!(r.cmd_str(&["SCARD", "k:4"]), ":0\r\n");
    assert!(!r.cmd_str(&["INFO", "keyspace"]).contains("db"));
    // Writes after the flush count from zero and stay visible.
    r.cmd(&["SET", "k:5", "again"]);
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["GET", "k:5"]), "$5\r\nagain\r\n");
}

#[test]
fn keys_globs() {
    let s = Server::start();
    let mut r = s.raw();
    let all = [
        "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo", "a[b", "a\\b", "x-y", "é",
    ];
    for k in all {
        r.cmd(&["SET", k, "1"]);
    }
    let set = |v: &[&str]| {
        v.iter()
            .map(|s| s.as_bytes().to_vec())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(keys(&mut r, "*"), set(&all));
    assert_eq!(
        keys(&mut r, "h?llo"),
        set(&["hello", "hallo", "hxllo", "h*llo", "h?llo"])
    );
    assert_eq!(
        keys(&mut r, "h*llo"),
        set(&["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo"])
    );
    assert_eq!(keys(&mut r, "h[ae]llo"), set(&["hello", "hallo"]));
    assert_eq!(
        keys(&mut r, "h[^e]llo"),
        set(&["hallo", "hxllo", "h*llo", "h?llo"])
    );
    assert_eq!(keys(&mut r, "h[a-e]llo"), set(&["hello", "hallo"]));
    assert_eq!(keys(&mut r, "h\\*llo"), set(&["h*llo"]));
    assert_eq!(keys(&mut r, "h\\?llo"), set(&["h?llo"]));
    assert_eq!(keys(&mut r, "a[\\[]b"), set(&["a[b"]));
    assert_eq!(keys(&mut r, "a\\\\b"), set(&["a\\b"]));
    assert_eq!(keys(&mut r, "x[-a]y"), set(&["x-y"]));
    // Redis quirks: `[a-]` is a range up to `]` (and leaves the class open), `[^]` is any byte.
    assert_eq!(keys(&mut r, "x[a-]y"), set(&[]));
    assert_eq!(keys(&mut r, "x[^]y"), set(&["x-y"]));
    assert_eq!(keys(&mut r, "nothing*"), set(&[]));
    assert_eq!(r.cmd_str(&["KEYS", "zz*"]), "*0\r\n");
}

#[test]
fn scan_options_and_errors() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["SCAN", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(r.cmd_str(&["SCAN", "x"]), "-ERR invalid cursor\r\n");
    assert_eq!(r.cmd_str(&["SCAN", " 0"]), "-ERR invalid cursor\r\n");
    assert_eq!(
        r.cmd_str(&["SCAN", "18446744073709551616"]),
        "-ERR invalid cursor\r\n"
    );
    assert_eq!(
        r.cmd_str(&["SCAN", "0", "COUNT", "0"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(r.cmd_str(&["SCAN", "0", "COUNT"]), "-ERR syntax error\r\n");
    assert_eq!(
        r.cmd_str(&["SCAN", "0", "MATCH", "a", "x"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        r.cmd_str(&["SCAN", "0", "COUNT", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    for i in 0..300 {
        r.cmd(&["SET", &format!("user:{i}"), "v"]);
        r.cmd(&["SET", &format!("item:{i}"), "v"]);
    }
    let (all, calls) = scan_all(&mut r, &[]);
    assert_eq!(all.len(), 600);
    assert!(calls >= 600 / 10, "COUNT 10 by default: {calls} calls");
    let (big, calls) = scan_all(&mut r, &["COUNT", "1000"]);
    assert_eq!((big.len(), calls), (600, 1));
    let (users, _) = scan_all(&mut r, &["MATCH", "user:*", "COUNT", "50"]);
    assert_eq!(users.len(), 300);
    assert!(users.keys().all(|k| k.starts_with(b"user:")));
    let (strings, _) = scan_all(&mut r, &["TYPE", "STRING", "COUNT", "100"]);
    assert_eq!(strings.len(), 600);
    let (hashes, _) = scan_all(&mut r, &["TYPE", "hash", "COUNT", "100"]);
    assert!(hashes.is_empty());
    // COUNT bounds keys visited, not keys returned: a rare MATCH may return nothing with a live cursor.
    let f = frame(&r.cmd(&["SCAN", "0", "MATCH", "user:7", "COUNT", "5"]));
    let OwnedFrame::Array(parts) = f else {
        panic!()
    };
    assert_ne!(parts[0], OwnedFrame::BulkString(b"0".to_vec()));
    assert!(bulk_set(&parts[1]).len() <= 1);
    // A cursor past the last slot ends the iteration.
    assert_eq!(
        r.cmd_str(&["SCAN", "18446744073709551615"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
}

#[test]
fn scan_never_misses_keys_that_stay_and_survives_evicted_cursors() {
    let s = Server::with_cores(2);
    let mut r = s.raw();
    let mut pipe = Vec::new();
    for i in 0..5000 {
        pipe.extend(slotkv_tests::encode_cmd(&[
            b"SET",
            format!("k:{i}").as_bytes(),
            b"v",
        ]));
    }
    r.send(&pipe);
    for _ in 0..5000 {
        assert_eq!(&r.read_reply()[..], b"+OK\r\n");
    }
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":5000\r\n");
    let (seen, _) = scan_all(&mut r, &["COUNT", "97"]);
    assert_eq!(seen.len(), 5000);
    assert!(seen.values().all(|&n| n == 1), "no churn, no duplicates");

    // Keys 0..2500 stay for the whole scan; others are deleted and new ones added while it runs. Halfway, a
    // flood of other scans evicts the resume point of ours: it may repeat keys, never skip them.
    let mut seen = HashMap::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    let mut other = s.raw();
    loop {
        let f = frame(&r.cmd(&["SCAN", &cursor, "COUNT", "50"]));
        let OwnedFrame::Array(parts) = f else {
            panic!()
        };
        for k in bulk_set(&parts[1]) {
            *seen.entry(k).or_insert(0usize) += 1;
        }
        let OwnedFrame::BulkString(next) = &parts[0] else {
            panic!()
        };
        cursor = String::from_utf8(next.clone()).unwrap();
        calls += 1;
        if calls % 5 == 0 {
            let i = 2500 + calls;
            other.cmd(&["DEL", &format!("k:{i}")]);
            other.cmd(&["SET", &format!("new:{i}"), "v"]);
        }
        if calls == 40 {
            for _ in 0..4200 {
                other.cmd(&["SCAN", "0", "COUNT", "1"]);
            }
        }
        if cursor == "0" {
            break;
        }
    }
    for i in 0..2500 {
        assert!(
            seen.contains_key(format!("k:{i}").as_bytes()),
            "k:{i} missed"
        );
    }
}

#[test]
fn keys_on_two_cores() {
    let s = Server::with_cores(2);
    let mut r = s.raw();
    let (a0, b0) = (key_on(0, "a"), key_on(0, "b"));
    let (a1, b1) = (key_on(1, "a"), key_on(1, "b"));
    for k in [&a0, &b0, &a1, &b1] {
        r.cmd(&["SET", k, k]);
    }
    assert_eq!(r.cmd_str(&["EXISTS", &a0, &a1, "nope", &a1]), ":3\r\n");
    assert_eq!(r.cmd_str(&["TOUCH", &a0, &a1, &b1]), ":3\r\n");
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":4\r\n");
    assert_eq!(keys(&mut r, "*").len(), 4);
    let (seen, _) = scan_all(&mut r, &["COUNT", "1"]);
    assert_eq!(seen.len(), 4);
    let mut randoms = BTreeSet::new();
    for _ in 0..200 {
        let f = frame(&r.cmd(&["RANDOMKEY"]));
        let OwnedFrame::BulkString(k) = f else {
            panic!("{f:?}")
        };
        randoms.insert(k);
    }
    assert_eq!(randoms.len(), 4, "RANDOMKEY reaches keys of both cores");

    // RENAME between cores keeps value and deadline; the source goes.
    r.cmd(&["PEXPIRE", &a0, "100000"]);
    assert_eq!(r.cmd_str(&["RENAME", &a0, &a1]), "+OK\r\n");
    assert_eq!(
        r.cmd_str(&["GET", &a1]),
        format!("${}\r\n{a0}\r\n", a0.len())
    );
    assert_eq!(r.cmd_str(&["TTL", &a1]), ":100\r\n");
    assert_eq!(r.cmd_str(&["EXISTS", &a0]), ":0\r\n");
    assert_eq!(r.cmd_str(&["RENAME", &a0, &a1]), "-ERR no such key\r\n");
    assert_eq!(r.cmd_str(&["RENAMENX", &a1, &b0]), ":0\r\n");
    assert_eq!(r.cmd_str(&["RENAMENX", &a1, &a0]), ":1\r\n");
    assert_eq!(r.cmd_str(&["EXISTS", &a0, &a1]), ":1\r\n");
    assert_eq!(
        r.cmd_str(&["RENAMENX", "nope", &a1]),
        "-ERR no such key\r\n"
    );
    // COPY between cores, and into another database.
    assert_eq!(r.cmd_str(&["COPY", &a0, &a1]), ":1\r\n");
    assert_eq!(r.cmd_str(&["COPY", &a0, &b1]), ":0\r\n");
    assert_eq!(r.cmd_str(&["COPY", &a0, &b1, "REPLACE"]), ":1\r\n");
    assert_eq!(
        r.cmd_str(&["GET", &b1]),
        format!("${}\r\n{a0}\r\n", a0.len())
    );
    assert_eq!(r.cmd_str(&["COPY", &a0, &a1, "DB", "2"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["COPY", "nope", &a1]), ":0\r\n");
    assert_eq!(
        r.cmd_str(&["COPY", &a0, &a1, "DB", "99"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":4\r\n");
    // DEL and UNLINK over both cores.
    assert_eq!(r.cmd_str(&["DEL", &a0, &a1, "nope"]), ":2\r\n");
    assert_eq!(r.cmd_str(&["UNLINK", &b0, &b1, &b1]), ":2\r\n");
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["RANDOMKEY"]), "$-1\r\n");
    assert_eq!(r.cmd_str(&["SCAN", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    // Database 2 got the copy; FLUSHALL clears it on both cores.
    r.cmd(&["SELECT", "2"]);
    r.cmd(&["SET", &b1, "x"]);
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":2\r\n");
    assert_eq!(r.cmd_str(&["FLUSHDB"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":0\r\n");
    r.cmd(&["SET", &b0, "x"]);
    r.cmd(&["SELECT", "0"]);
    r.cmd(&["SET", &b1, "x"]);
    assert_eq!(r.cmd_str(&["FLUSHALL"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":0\r\n");
    r.cmd(&["SELECT", "2"]);
    assert_eq!(r.cmd_str(&["DBSIZE"]), ":0\r\n");
}

#[test]
fn ttls_survive_a_restart() {
    let mut s = Server::with_cores(2);
    let mut r = s.raw();
    let at = now_ms() + 3_600_000;
    let k0 = key_on(0, "t");
    let k1 = key_on(1, "t");
    r.cmd(&["SET", &k0, "v"]);
    r.cmd(&["SET", &k1, "v"]);
    r.cmd(&["SET", "short", "v"]);
    assert_eq!(r.cmd_str(&["PEXPIREAT", &k0, &at.to_string()]), ":1\r\n");
    assert_eq!(
        r.cmd_str(&["EXPIREAT", &k1, &(at / 1000).to_string()]),
        ":1\r\n"
    );
    assert_eq!(r.cmd_str(&["PEXPIRE", "short", "300"]), ":1\r\n");
    drop(r);
    assert_eq!(s.stop(), Some(0));
    std::thread::sleep(Duration::from_millis(300));
    s.restart();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["PEXPIRETIME", &k0]), format!(":{at}\r\n"));
    assert_eq!(
        r.cmd_str(&["EXPIRETIME", &k1]),
        format!(":{}\r\n", at / 1000)
    );
    assert_eq!(r.cmd_str(&["EXISTS", "short"]), ":0\r\n");
    wait_until("expiry after restart", Duration::from_secs(5), || {
        r.cmd_str(&["DBSIZE"]) == ":2\r\n"
    });
}

#[test]
fn resp3_replies() {
    let s = Server::with_cores(2);
    let mut r = s.raw();
    r.set_resp3(true);
    let hello = r.cmd(&["HELLO", "3"]);
    assert!(
        hello.starts_with(b"%"),
        "{:?}",
        String::from_utf8_lossy(&hello)
    );
    assert_eq!(r.cmd_str(&["RANDOMKEY"]), "_\r\n");
    assert_eq!(r.cmd_str(&["SCAN", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(r.cmd_str(&["KEYS", "*"]), "*0\r\n");
    r.cmd(&["SET", "k", "v"]);
    assert_eq!(r.cmd_str(&["TYPE", "k"]), "+string\r\n");
    assert_eq!(r.cmd_str(&["RANDOMKEY"]), "$1\r\nk\r\n");
    assert_eq!(
        r.cmd_str(&["SCAN", "0"]),
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n"
    );
    assert_eq!(r.cmd_str(&["TTL", "k"]), ":-1\r\n");
}

// ---- Differential run against a real redis-server ----

fn start_redis() -> Option<RedisServer> {
    RedisServer::start()
}

/// One random keyspace command over a small key pool (some keys share a slot through a hash tag) with
/// deterministic times: absolute deadlines far ahead, or in the past. Commands whose reply order or content
/// is not defined (KEYS, SCAN, RANDOMKEY) are tagged for an order-free comparison.
fn random_command(rng: &mut impl Rng) -> Vec<String> {
    fn k(rng: &mut impl Rng) -> String {
        const KEYS: [&str; 8] = ["a", "b", "c", "{t}x", "{t}y", "{t}z", "user:1", "user:22"];
        KEYS[rng.gen_range(0..KEYS.len())].to_string()
    }
    let far = (now_ms() / 1000 + 10_000 + rng.gen_range(0..1000)).to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let opts = [
        "", "NX", "XX", "GT", "LT", "nx xx", "gt lt", "XX GT", "bogus",
    ];
    match rng.gen_range(0..22) {
        0..=2 => s(&["SET", &k(rng), &format!("v{}", rng.gen_range(0..100))]),
        3 => s(&["DEL", &k(rng), &k(rng), &k(rng)]),
        4 => s(&["UNLINK", &k(rng), &k(rng)]),
        5 => s(&["EXISTS", &k(rng), &k(rng), &k(rng)]),
        6 => s(&["TOUCH", &k(rng), &k(rng)]),
        7 => s(&["TYPE", &k(rng)]),
        8 | 9 => {
            let (cmd, t) = match rng.gen_range(0..6) {
                0 => ("EXPIREAT", far.clone()),
                1 => ("PEXPIREAT", format!("{far}123")),
                2 => ("EXPIRE", "-1".to_string()),
                3 => ("PEXPIREAT", "1".to_string()),
                4 => ("EXPIREAT", "x".to_string()),
                _ => ("EXPIRE", "9223372036854776".to_string()),
            };
            let mut v = s(&[cmd, &k(rng), &t]);
            v.extend(
                opts[rng.gen_range(0..opts.len())]
                    .split_whitespace()
                    .map(String::from),
            );
            v
        }
        10 => s(&[
            ["EXPIRETIME", "PEXPIRETIME", "TTL", "PTTL"][rng.gen_range(0..4)],
            &k(rng),
        ]),
        11 => s(&["PERSIST", &k(rng)]),
        12 => s(&["RENAME", &k(rng), &k(rng)]),
        13 => s(&["RENAMENX", &k(rng), &k(rng)]),
        14 => {
            let mut v = s(&["COPY", &k(rng), &k(rng)]);
            match rng.gen_range(0..5) {
                0 => v.push("REPLACE".into()),
                1 => v.extend(s(&["DB", "1"])),
                2 => v.extend(s(&["DB", "1", "REPLACE"])),
                3 => v.extend(s(&["DB", "77"])),
                _ => {}
            }
            v
        }
        15 => s(&["DBSIZE"]),
        16 => s(&["GET", &k(rng)]),
        17 => s(&[
            "KEYS",
            ["*", "user:*", "{t}?", "[ab]", "[^a]*", "*[xz]"][rng.gen_range(0..6)],
        ]),
        18 => s(&[
            "SCAN",
            "0",
            "COUNT",
            "1000",
            "MATCH",
            ["*", "user*", "?"][rng.gen_range(0..3)],
        ]),
        19 => s(&["RANDOMKEY"]),
        20 => s(&["SELECT", ["0", "1"][rng.gen_range(0..2)]]),
        _ => {
            if rng.gen_range(0..10) == 0 {
                s(&["FLUSHDB"])
            } else {
                s(&["SET", &k(rng), "x", "PXAT", &format!("{far}000")])
            }
        }
    }
}

/// Replies compared as Redis defines them: ordered replies byte for byte, unordered ones as sets, TTL and
/// PTTL by their class (they depend on the clock of each server).
fn normalise(cmd: &[String], raw: &[u8]) -> String {
    let name = cmd[0].to_ascii_uppercase();
    let f = frame(raw);
    match (name.as_str(), &f) {
        ("KEYS", OwnedFrame::Array(_)) => format!("{:?}", bulk_set(&f)),
        ("SCAN", OwnedFrame::Array(parts)) => format!("{:?} {:?}", parts[0], bulk_set(&parts[1])),
        ("RANDOMKEY", OwnedFrame::BulkString(_)) => "some key".to_string(),
        ("TTL" | "PTTL", OwnedFrame::Integer(n)) if *n >= 0 => "a ttl".to_string(),
        _ => String::from_utf8_lossy(raw).into_owned(),
    }
}

#[test]
fn random_keyspace_run_matches_redis() {
    let Some(redis) = start_redis() else {
        eprintln!("SKIPPED: /usr/bin/redis-server is not installed");
        return;
    };
    let s = Server::with_cores(2);
    let mut ours = s.raw();
    let mut theirs = redis.raw();
    theirs.cmd(&["FLUSHALL"]);
    for seed in [7u64, 1234, 99] {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        for i in 0..700 {
            let cmd = random_command(&mut rng);
            let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
            let (a, b) = (ours.cmd(&args), theirs.cmd(&args));
            assert_eq!(
                normalise(&cmd, &a),
                normalise(&cmd, &b),
                "seed {seed} step {i}: {cmd:?}"
            );
            if cmd[0] == "RANDOMKEY" && a.starts_with(b"$") && !a.starts_with(b"$-1") {
                // The key it names must exist.
                let OwnedFrame::BulkString(k) = frame(&a) else {
                    panic!()
                };
                let k = String::from_utf8(k).unwrap();
                assert_eq!(ours.cmd_str(&["EXISTS", &k]), ":1\r\n");
            }
        }
        for db in ["0", "1"] {
            ours.cmd(&["SELECT", db]);
            theirs.cmd(&["SELECT", db]);
            assert_eq!(
                keys(&mut ours, "*"),
                keys(&mut theirs, "*"),
                "seed {seed} db {db}"
            );
            assert_eq!(ours.cmd_str(&["DBSIZE"]), theirs.cmd_str(&["DBSIZE"]));
        }
        ours.cmd(&["FLUSHALL"]);
        theirs.cmd(&["FLUSHALL"]);
    }
}

#[test]
fn random_glob_patterns_match_redis() {
    let Some(redis) = start_redis() else {
        eprintln!("SKIPPED: /usr/bin/redis-server is not installed");
        return;
    };
    let s = Server::start();
    let mut ours = s.raw();
    let mut theirs = redis.raw();
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    const KEY_BYTES: &[u8] = b"ab-]^[\\*?z";
    const PAT_BYTES: &[u8] = b"ab-]^[\\*?z";
    let mut pipe = Vec::new();
    for _ in 0..150 {
        let len = rng.gen_range(0..5);
        let k: Vec<u8> = (0..len)
            .map(|_| KEY_BYTES[rng.gen_range(0..KEY_BYTES.len())])
            .collect();
        pipe.push(slotkv_tests::encode_cmd(&[b"SET", &k, b"1"]));
    }
    for cmd in &pipe {
        ours.send(cmd);
        ours.read_reply();
        theirs.send(cmd);
        theirs.read_reply();
    }
    for _ in 0..400 {
        let len = rng.gen_range(1..7);
        let p: Vec<u8> = (0..len)
            .map(|_| PAT_BYTES[rng.gen_range(0..PAT_BYTES.len())])
            .collect();
        let cmd = slotkv_tests::encode_cmd(&[b"KEYS", &p]);
        ours.send(&cmd);
        theirs.send(&cmd);
        assert_eq!(
            bulk_set(&frame(&ours.read_reply())),
            bulk_set(&frame(&theirs.read_reply())),
            "pattern {:?}",
            String::from_utf8_lossy(&p)
        );
    }
}

/// The data family rewrites an overwrite's memtable entry in place, keeping the entry's old sequence
/// number; an entry older than a FLUSHDB/FLUSHALL range tombstone must not be rewritten that way, or the
/// new value hides behind the tombstone. With the value cache off every read reaches RocksDB; a restart
/// (memtables flushed at shutdown) and a kill -9 (replayed from the Raft log) must agree.
#[test]
fn same_size_overwrites_after_a_flush_stay_visible() {
    let conf = config_file("value-cache-mb = 0\n");
    let mut s = Server::with(ServerOptions {
        extra: vec!["--config".into(), conf.display().to_string()],
        ..Default::default()
    });
    let mut r = s.raw();
    let check = |r: &mut Raw, want: &[(&str, &str)], at: &str| {
        for (k, v) in want {
            let got = r.cmd_str(&["GET", k]);
            assert_eq!(got, format!("${}\r\n{v}\r\n", v.len()), "{k} {at}");
        }
    };
    r.cmd(&["SET", "a", "one"]);
    r.cmd(&["SET", "b", "one"]);
    assert_eq!(r.cmd_str(&["FLUSHDB"]), "+OK\r\n");
    r.cmd(&["SET", "a", "two"]);
    r.cmd(&["SET", "a", "six"]);
    r.cmd(&["SELECT", "3"]);
    r.cmd(&["SET", "c", "one"]);
    assert_eq!(r.cmd_str(&["FLUSHALL"]), "+OK\r\n");
    r.cmd(&["SET", "c", "two"]);
    r.cmd(&["SELECT", "0"]);
    r.cmd(&["SET", "b", "ten"]);
    let check_all = |r: &mut Raw, at: &str| {
        assert_eq!(r.cmd_str(&["GET", "a"]), "$-1\r\n", "a {at}");
        check(r, &[("b", "ten")], at);
        r.cmd(&["SELECT", "3"]);
        check(r, &[("c", "two")], at);
        r.cmd(&["SELECT", "0"]);
        assert_eq!(r.cmd_str(&["DBSIZE"]), ":1\r\n", "{at}");
    };
    check_all(&mut r, "live");
    s.stop();
    s.restart();
    let mut r = s.raw();
    check_all(&mut r, "after a restart");
    r.cmd(&["SET", "b", "one"]);
    assert_eq!(r.cmd_str(&["FLUSHDB"]), "+OK\r\n");
    r.cmd(&["SET", "b", "two"]);
    s.kill9();
    s.restart();
    let mut r = s.raw();
    check(&mut r, &[("b", "two")], "after kill -9");
}

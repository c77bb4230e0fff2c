//! Black-box tests of the string commands: every command, option and error text over raw RESP, time to
//! live interplay, cross-core MSET/MSETNX/MGET, big values, exact concurrent increments, RESP3 nulls, and a
//! seeded random sequence replayed against a real redis-server with every reply compared byte for byte.
//!
//! Longer than our usual file limit on purpose: it is the one test file of the string family, and most of
//! its length is tables of exact expected replies.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use slotkv_tests::{slot_of, Raw, RedisServer, Server, ServerOptions};

const OK: &str = "+OK\r\n";
const NIL: &str = "$-1\r\n";

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

fn err(text: &str) -> String {
    format!("-{text}\r\n")
}

const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const TOO_BIG: &str = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// PTTL of `key` as a number.
fn pttl(r: &mut Raw, key: &str) -> i64 {
    let reply = r.cmd_str(&["PTTL", key]);
    reply
        .trim_start_matches(':')
        .trim_end()
        .parse()
        .unwrap_or_else(|_| panic!("PTTL {key} replied {reply:?}"))
}

/// Asserts `key` has a time to live close to `ms` (allowing for the time the test itself takes).
fn assert_ttl_near(r: &mut Raw, key: &str, ms: i64) {
    let t = pttl(r, key);
    assert!(
        t <= ms && t > ms - 5_000,
        "PTTL {key} = {t}, expected about {ms}"
    );
}

/// Core of a key on a two-core node.
fn core_of(key: &str) -> usize {
    slotkv_tests::core_of(key, 2)
}

/// `n` keys named `prefix{i}` that live on `core` of a two-core node.
fn keys_on_core(prefix: &str, core: usize, n: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .filter(|k| core_of(k) == core)
        .take(n)
        .collect()
}

#[test]
fn chosen_keys_are_on_different_cores() {
    assert_eq!(core_of("a"), 1 - core_of("b"));
    assert_eq!(slot_of(b"{user}x"), slot_of(b"user"));
}

#[test]
fn set_and_get_with_every_option() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["GET", "k"]), NIL);
    assert_eq!(r.cmd_str(&["SET", "k", "v1"]), OK);
    assert_eq!(r.cmd_str(&["GET", "k"]), bulk("v1"));
    // NX / XX.
    assert_eq!(r.cmd_str(&["SET", "k", "v2", "NX"]), NIL);
    assert_eq!(r.cmd_str(&["SET", "k", "v2", "xx"]), OK);
    assert_eq!(r.cmd_str(&["SET", "new", "n", "nx"]), OK);
    assert_eq!(r.cmd_str(&["SET", "absent", "x", "XX"]), NIL);
    assert_eq!(r.cmd_str(&["EXISTS", "absent"]), int(0));
    // GET, alone and with NX / XX.
    assert_eq!(r.cmd_str(&["SET", "k", "v3", "GET"]), bulk("v2"));
    assert_eq!(r.cmd_str(&["SET", "fresh", "f", "GET"]), NIL);
    assert_eq!(r.cmd_str(&["GET", "fresh"]), bulk("f"));
    assert_eq!(r.cmd_str(&["SET", "k", "v4", "NX", "GET"]), bulk("v3"));
    assert_eq!(r.cmd_str(&["GET", "k"]), bulk("v3"));
    assert_eq!(r.cmd_str(&["SET", "absent", "x", "XX", "GET"]), NIL);
    assert_eq!(r.cmd_str(&["EXISTS", "absent"]), int(0));
    assert_eq!(r.cmd_str(&["SET", "k", "v5", "get", "XX"]), bulk("v3"));
    assert_eq!(r.cmd_str(&["GET", "k"]), bulk("v5"));
    // Repeated options are accepted, as in Redis.
    assert_eq!(r.cmd_str(&["SET", "k", "v", "NX", "NX"]), NIL);
    assert_eq!(r.cmd_str(&["SET", "k", "v", "KEEPTTL", "KEEPTTL"]), OK);
    assert_eq!(r.cmd_str(&["SET", "k", "v6", "GET", "GET"]), bulk("v"));
    assert_eq!(r.cmd_str(&["SET", "k", "v", "EX", "100", "ex", "200"]), OK);
    // Conflicts and unknown words are syntax errors.
    for bad in [
        &["NX", "XX"][..],
        &["XX", "NX"],
        &["EX", "10", "PX", "10"],
        &["PX", "10", "EX", "10"],
        &["EXAT", "10", "PXAT", "10"],
        &["EX", "10", "KEEPTTL"],
        &["KEEPTTL", "PX", "10"],
        &["KEEPTTL", "EXAT", "10"],
        &["EX"],
        &["PX"],
        &["PERSIST"],
        &["FOO"],
        &["NX", "EX", "10", "bogus"],
        &["EX", "abc", "NX", "XX"],
    ] {
        let mut args = vec!["SET", "k", "v"];
        args.extend_from_slice(bad);
        assert_eq!(r.cmd_str(&args), SYNTAX, "{args:?}");
    }
    // Expiry arguments.
    for (opt, arg) in [
        ("EX", "abc"),
        ("PX", "1.5"),
        ("EXAT", ""),
        ("PXAT", "9223372036854775808"),
    ] {
        assert_eq!(
            r.cmd_str(&["SET", "k", "v", opt, arg]),
            NOT_INT,
            "{opt} {arg}"
        );
    }
    for (opt, arg) in [
        ("EX", "0"),
        ("EX", "-1"),
        ("PX", "0"),
        ("EXAT", "0"),
        ("PXAT", "-5"),
        ("EX", "9223372036854775807"),
        ("EX", "9223372036854775"),
        ("PX", "9223372036854775807"),
        ("EXAT", "9223372036854776"),
    ] {
        assert_eq!(
            r.cmd_str(&["SET", "k", "v", opt, arg]),
            err("ERR invalid expire time in 'set' command"),
            "{opt} {arg}"
        );
    }
    assert_eq!(
        r.cmd_str(&["GET", "k"]),
        bulk("v"),
        "failed SETs change nothing"
    );
    assert_eq!(
        r.cmd_str(&["SET", "far", "v", "EXAT", "9223372036854775"]),
        OK
    );
    assert_eq!(r.cmd_str(&["GET", "far"]), bulk("v"));
    // A deadline already past leaves no key behind; GET still answers the old value.
    assert_eq!(r.cmd_str(&["SET", "k", "gone", "PXAT", "1"]), OK);
    assert_eq!(r.cmd_str(&["GET", "k"]), NIL);
    assert_eq!(r.cmd_str(&["EXISTS", "k"]), int(0));
    assert_eq!(r.cmd_str(&["SET", "k", "a"]), OK);
    assert_eq!(r.cmd_str(&["SET", "k", "b", "EXAT", "1", "GET"]), bulk("a"));
    assert_eq!(r.cmd_str(&["EXISTS", "k"]), int(0));
    // Binary-safe keys and values, empty values.
    assert_eq!(r.cmd_str(&["SET", "bin\r\n\0", "a\r\nb\0c"]), OK);
    assert_eq!(r.cmd_str(&["GET", "bin\r\n\0"]), bulk("a\r\nb\0c"));
    assert_eq!(r.cmd_str(&["SET", "empty", ""]), OK);
    assert_eq!(r.cmd_str(&["GET", "empty"]), "$0\r\n\r\n");
    // Arity.
    assert_eq!(
        r.cmd_str(&["SET", "k"]),
        err("ERR wrong number of arguments for 'set' command")
    );
    assert_eq!(
        r.cmd_str(&["GET", "a", "b"]),
        err("ERR wrong number of arguments for 'get' command")
    );
}

#[test]
fn setnx_setex_psetex_getset_getdel() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["SETNX", "k", "1"]), int(1));
    assert_eq!(r.cmd_str(&["SETNX", "k", "2"]), int(0));
    assert_eq!(r.cmd_str(&["GET", "k"]), bulk("1"));
    assert_eq!(
        r.cmd_str(&["SETNX", "k"]),
        err("ERR wrong number of arguments for 'setnx' command")
    );

    assert_eq!(r.cmd_str(&["SETEX", "e", "100", "v"]), OK);
    assert_eq!(r.cmd_str(&["GET", "e"]), bulk("v"));
    assert_eq!(r.cmd_str(&["PSETEX", "p", "100000", "w"]), OK);
    assert_eq!(r.cmd_str(&["GET", "p"]), bulk("w"));
    for (cmd, ttl, want) in [
        (
            "SETEX",
            "0",
            err("ERR invalid expire time in 'setex' command"),
        ),
        (
            "SETEX",
            "-3",
            err("ERR invalid expire time in 'setex' command"),
        ),
        (
            "SETEX",
            "9223372036854775807",
            err("ERR invalid expire time in 'setex' command"),
        ),
        ("SETEX", "abc", NOT_INT.to_string()),
        (
            "PSETEX",
            "0",
            err("ERR invalid expire time in 'psetex' command"),
        ),
        (
            "PSETEX",
            "9223372036854775807",
            err("ERR invalid expire time in 'psetex' command"),
        ),
        ("PSETEX", "1x", NOT_INT.to_string()),
    ] {
        assert_eq!(r.cmd_str(&[cmd, "e", ttl, "z"]), want, "{cmd} {ttl}");
    }
    assert_eq!(r.cmd_str(&["GET", "e"]), bulk("v"));
    assert_eq!(
        r.cmd_str(&["SETEX", "e", "1"]),
        err("ERR wrong number of arguments for 'setex' command")
    );

    assert_eq!(r.cmd_str(&["GETSET", "g", "1"]), NIL);
    assert_eq!(r.cmd_str(&["GETSET", "g", "2"]), bulk("1"));
    assert_eq!(r.cmd_str(&["GET", "g"]), bulk("2"));

    assert_eq!(r.cmd_str(&["GETDEL", "g"]), bulk("2"));
    assert_eq!(r.cmd_str(&["GETDEL", "g"]), NIL);
    assert_eq!(r.cmd_str(&["EXISTS", "g"]), int(0));
    assert_eq!(
        r.cmd_str(&["GETDEL", "g", "x"]),
        err("ERR wrong number of arguments for 'getdel' command")
    );
}

#[test]
fn getex_options_and_errors() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["GETEX", "missing"]), NIL);
    // A missing key answers nil before its expiry argument is even looked at, as in Redis.
    assert_eq!(r.cmd_str(&["GETEX", "missing", "EX", "abc"]), NIL);
    assert_eq!(r.cmd_str(&["GETEX", "missing", "PX", "0"]), NIL);
    assert_eq!(r.cmd_str(&["SET", "k", "v"]), OK);
    assert_eq!(r.cmd_str(&["GETEX", "k"]), bulk("v"));
    assert_eq!(r.cmd_str(&["GETEX", "k", "EX", "abc"]), NOT_INT);
    for (opt, arg) in [
        ("EX", "0"),
        ("PX", "-1"),
        ("EXAT", "0"),
        ("PXAT", "0"),
        ("EX", "9223372036854775807"),
    ] {
        assert_eq!(
            r.cmd_str(&["GETEX", "k", opt, arg]),
            err("ERR invalid expire time in 'getex' command"),
            "{opt} {arg}"
        );
    }
    for bad in [
        &["PERSIST", "EX", "10"][..],
        &["EX", "10", "PERSIST"],
        &["KEEPTTL"],
        &["NX"],
        &["XX"],
        &["GET"],
        &["EX"],
        &["EX", "10", "PX", "10"],
        &["PXAT", "10", "EXAT", "10"],
        &["bogus"],
    ] {
        let mut args = vec!["GETEX", "k"];
        args.extend_from_slice(bad);
        assert_eq!(r.cmd_str(&args), SYNTAX, "{args:?}");
    }
    assert_eq!(
        r.cmd_str(&["GETEX", "k", "EX", "10", "EX", "20"]),
        bulk("v")
    );
    assert_eq!(r.cmd_str(&["GETEX", "k", "PERSIST", "PERSIST"]), bulk("v"));
    // A past absolute deadline deletes the key after answering its value.
    assert_eq!(r.cmd_str(&["GETEX", "k", "PXAT", "1"]), bulk("v"));
    assert_eq!(r.cmd_str(&["EXISTS", "k"]), int(0));
    assert_eq!(r.cmd_str(&["SET", "k", "v"]), OK);
    assert_eq!(r.cmd_str(&["GETEX", "k", "exat", "1"]), bulk("v"));
    assert_eq!(r.cmd_str(&["GET", "k"]), NIL);
    assert_eq!(
        r.cmd_str(&["GETEX"]),
        err("ERR wrong number of arguments for 'getex' command")
    );
}

#[test]
fn time_to_live_is_kept_or_cleared_like_redis() {
    let s = Server::start();
    let mut r = s.raw();
    let ttl = 100_000;
    let px = ttl.to_string();
    // SET replaces the TTL unless KEEPTTL.
    assert_eq!(r.cmd_str(&["SET", "k", "v", "PX", &px]), OK);
    assert_ttl_near(&mut r, "k", ttl);
    assert_eq!(r.cmd_str(&["SET", "k", "v2", "KEEPTTL"]), OK);
    assert_ttl_near(&mut r, "k", ttl);
    assert_eq!(r.cmd_str(&["SET", "k", "v3"]), OK);
    assert_eq!(pttl(&mut r, "k"), -1);
    assert_eq!(r.cmd_str(&["SET", "k", "v", "EX", "100"]), OK);
    assert_ttl_near(&mut r, "k", 100_000);
    let at = (now_ms() + 200_000).to_string();
    assert_eq!(r.cmd_str(&["SET", "k", "v", "PXAT", &at]), OK);
    assert_ttl_near(&mut r, "k", 200_000);
    let at_s = (now_ms() / 1000 + 300).to_string();
    assert_eq!(r.cmd_str(&["SET", "k", "v", "EXAT", &at_s]), OK);
    assert_ttl_near(&mut r, "k", 300_000);
    assert_eq!(r.cmd_str(&["SETEX", "k", "50", "v"]), OK);
    assert_ttl_near(&mut r, "k", 50_000);
    assert_eq!(r.cmd_str(&["PSETEX", "k", "40000", "v"]), OK);
    assert_ttl_near(&mut r, "k", 40_000);
    // SET NX that does not happen leaves the TTL alone.
    assert_eq!(r.cmd_str(&["SET", "k", "w", "NX"]), NIL);
    assert_ttl_near(&mut r, "k", 40_000);
    // GETSET and MSET clear it.
    assert_eq!(r.cmd_str(&["GETSET", "k", "x"]), bulk("v"));
    assert_eq!(pttl(&mut r, "k"), -1);
    assert_eq!(r.cmd_str(&["PEXPIRE", "k", &px]), int(1));
    assert_eq!(r.cmd_str(&["MSET", "k", "y"]), OK);
    assert_eq!(pttl(&mut r, "k"), -1);

    // Read-modify-write commands keep it.
    for (key, init, cmd) in [
        ("n1", "1", &["INCR", "n1"][..]),
        ("n2", "1", &["DECR", "n2"]),
        ("n3", "1", &["INCRBY", "n3", "5"]),
        ("n4", "1", &["DECRBY", "n4", "5"]),
        ("n5", "1", &["INCRBYFLOAT", "n5", "0.5"]),
        ("n6", "ab", &["APPEND", "n6", "cd"]),
        ("n7", "ab", &["SETRANGE", "n7", "1", "xyz"]),
    ] {
        assert_eq!(r.cmd_str(&["SET", key, init, "PX", &px]), OK);
        let reply = r.cmd_str(cmd);
        assert!(!reply.starts_with('-'), "{cmd:?}: {reply}");
        assert_ttl_near(&mut r, key, ttl);
    }

    // GETEX sets, replaces and removes it.
    assert_eq!(r.cmd_str(&["SET", "g", "v"]), OK);
    assert_eq!(r.cmd_str(&["GETEX", "g", "PX", &px]), bulk("v"));
    assert_ttl_near(&mut r, "g", ttl);
    assert_eq!(r.cmd_str(&["GETEX", "g"]), bulk("v"));
    assert_ttl_near(&mut r, "g", ttl);
    assert_eq!(r.cmd_str(&["GETEX", "g", "EX", "300"]), bulk("v"));
    assert_ttl_near(&mut r, "g", 300_000);
    assert_eq!(r.cmd_str(&["GETEX", "g", "EXAT", &at_s]), bulk("v"));
    assert_ttl_near(&mut r, "g", 300_000);
    assert_eq!(r.cmd_str(&["GETEX", "g", "PXAT", &at]), bulk("v"));
    assert_ttl_near(&mut r, "g", 200_000);
    assert_eq!(r.cmd_str(&["GETEX", "g", "PERSIST"]), bulk("v"));
    assert_eq!(pttl(&mut r, "g"), -1);
    assert_eq!(r.cmd_str(&["GETEX", "g", "PERSIST"]), bulk("v"));
    assert_eq!(pttl(&mut r, "g"), -1);

    // Keys really expire; an expired counter starts again from zero, without a TTL. The deadline is
    // generous (the machine may be busy between two commands) and the wait measured from before the SETs.
    let started = Instant::now();
    for key in ["short", "kept", "cleared", "persisted"] {
        assert_eq!(r.cmd_str(&["SET", key, "5", "PX", "300"]), OK);
    }
    assert_eq!(r.cmd_str(&["SET", "kept", "6", "KEEPTTL"]), OK);
    assert_eq!(r.cmd_str(&["SET", "cleared", "6"]), OK);
    assert_eq!(r.cmd_str(&["GETEX", "persisted", "PERSIST"]), bulk("5"));
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "too slow to test expiry"
    );
    std::thread::sleep(Duration::from_millis(400).saturating_sub(started.elapsed()));
    assert_eq!(r.cmd_str(&["GET", "short"]), NIL);
    assert_eq!(r.cmd_str(&["GET", "kept"]), NIL);
    assert_eq!(r.cmd_str(&["GET", "cleared"]), bulk("6"));
    assert_eq!(r.cmd_str(&["GET", "persisted"]), bulk("5"));
    assert_eq!(r.cmd_str(&["SET", "short", "5", "PX", "30"]), OK);
    assert_eq!(r.cmd_str(&["SET", "short2", "5", "PX", "30"]), OK);
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(r.cmd_str(&["INCR", "short"]), int(1));
    assert_eq!(pttl(&mut r, "short"), -1);
    assert_eq!(r.cmd_str(&["SET", "short2", "new", "KEEPTTL", "GET"]), NIL);
    assert_eq!(pttl(&mut r, "short2"), -1);
}

#[test]
fn mset_msetnx_mget_on_one_core() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["MSET", "a", "1", "b", "2"]), OK);
    assert_eq!(
        r.cmd_str(&["MGET", "a", "b", "c", "a"]),
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$1\r\n1\r\n"
    );
    assert_eq!(r.cmd_str(&["MSET", "a", "x", "a", "y"]), OK);
    assert_eq!(
        r.cmd_str(&["GET", "a"]),
        bulk("y"),
        "the last of repeated keys wins"
    );
    assert_eq!(
        r.cmd_str(&["MSET", "a", "1", "b"]),
        err("ERR wrong number of arguments for 'mset' command")
    );
    assert_eq!(
        r.cmd_str(&["MSET", "a"]),
        err("ERR wrong number of arguments for 'mset' command")
    );
    assert_eq!(
        r.cmd_str(&["MSETNX", "c", "1", "d"]),
        err("ERR wrong number of arguments for 'msetnx' command")
    );
    assert_eq!(
        r.cmd_str(&["MSETNX", "c"]),
        err("ERR wrong number of arguments for 'msetnx' command")
    );
    assert_eq!(
        r.cmd_str(&["MGET"]),
        err("ERR wrong number of arguments for 'mget' command")
    );
    // MSETNX: all or nothing.
    assert_eq!(r.cmd_str(&["MSETNX", "c", "3", "a", "x", "d", "4"]), int(0));
    assert_eq!(r.cmd_str(&["EXISTS", "c", "d"]), int(0));
    assert_eq!(r.cmd_str(&["GET", "a"]), bulk("y"));
    assert_eq!(r.cmd_str(&["MSETNX", "c", "3", "d", "4", "c", "5"]), int(1));
    assert_eq!(
        r.cmd_str(&["MGET", "c", "d"]),
        "*2\r\n$1\r\n5\r\n$1\r\n4\r\n"
    );
    // Many keys over many slots.
    let mut args: Vec<String> = vec!["MSET".into()];
    for i in 0..200 {
        args.push(format!("key:{i}"));
        args.push(format!("value:{i}"));
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(r.cmd_str(&a), OK);
    for i in [0, 57, 199] {
        assert_eq!(
            r.cmd_str(&["GET", &format!("key:{i}")]),
            bulk(&format!("value:{i}"))
        );
    }
}

#[test]
fn mset_msetnx_mget_across_two_cores() {
    let s = Server::with_cores(2);
    let mut r = s.raw();
    let k0 = keys_on_core("x", 0, 6);
    let k1 = keys_on_core("x", 1, 6);
    assert_eq!(
        r.cmd_str(&["MSET", &k0[0], "a", &k1[0], "b", &k0[1], "c"]),
        OK
    );
    assert_eq!(
        r.cmd_str(&["MGET", &k1[0], &k0[0], "nothing", &k0[1]]),
        "*4\r\n$1\r\nb\r\n$1\r\na\r\n$-1\r\n$1\r\nc\r\n"
    );
    // The argument count is checked however the keys are spread.
    assert_eq!(
        r.cmd_str(&["MSET", &k0[0], "1", &k1[0]]),
        err("ERR wrong number of arguments for 'mset' command")
    );
    assert_eq!(
        r.cmd_str(&["MSETNX", &k0[2], "1", &k1[2]]),
        err("ERR wrong number of arguments for 'msetnx' command")
    );
    assert_eq!(r.cmd_str(&["EXISTS", &k0[2], &k1[2]]), int(0));
    // MSETNX across cores: an existing key on either core blocks every write.
    assert_eq!(r.cmd_str(&["MSETNX", &k0[2], "1", &k1[0], "2"]), int(0));
    assert_eq!(r.cmd_str(&["MSETNX", &k1[2], "1", &k0[0], "2"]), int(0));
    assert_eq!(r.cmd_str(&["EXISTS", &k0[2], &k1[2]]), int(0));
    assert_eq!(r.cmd_str(&["GET", &k0[0]]), bulk("a"));
    assert_eq!(
        r.cmd_str(&["MSETNX", &k0[2], "1", &k1[2], "2", &k0[3], "3"]),
        int(1)
    );
    assert_eq!(
        r.cmd_str(&["MGET", &k0[2], &k1[2], &k0[3]]),
        "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    // MSET across cores clears every key's TTL.
    assert_eq!(r.cmd_str(&["SET", &k1[3], "t", "PX", "100000"]), OK);
    assert_eq!(r.cmd_str(&["SET", &k0[4], "t", "PX", "100000"]), OK);
    assert_eq!(r.cmd_str(&["MSET", &k1[3], "u", &k0[4], "v"]), OK);
    assert_eq!(pttl(&mut r, &k1[3]), -1);
    assert_eq!(pttl(&mut r, &k0[4]), -1);
    // A large MSET over both cores, read back with one MGET.
    let mut args: Vec<String> = vec!["MSET".into()];
    let mut mget: Vec<String> = vec!["MGET".into()];
    for i in 0..300 {
        args.push(format!("many:{i}"));
        args.push(format!("v{i}"));
        mget.push(format!("many:{i}"));
    }
    assert!(mget[1..].iter().any(|k| core_of(k) == 0) && mget[1..].iter().any(|k| core_of(k) == 1));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(r.cmd_str(&a), OK);
    let m: Vec<&str> = mget.iter().map(String::as_str).collect();
    let mut want = "*300\r\n".to_string();
    for i in 0..300 {
        want.push_str(&bulk(&format!("v{i}")));
    }
    assert_eq!(r.cmd_str(&m), want);
    // Commands on one key of the other core are forwarded: the connection's core does not matter.
    for key in [&k0[5], &k1[5]] {
        assert_eq!(r.cmd_str(&["INCRBY", key, "5"]), int(5));
        assert_eq!(r.cmd_str(&["APPEND", key, "0"]), int(2));
        assert_eq!(r.cmd_str(&["GETDEL", key]), bulk("50"));
    }
}

#[test]
fn append_strlen_getrange_setrange() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["APPEND", "k", "Hello"]), int(5));
    assert_eq!(r.cmd_str(&["APPEND", "k", " World"]), int(11));
    assert_eq!(r.cmd_str(&["APPEND", "k", ""]), int(11));
    assert_eq!(r.cmd_str(&["GET", "k"]), bulk("Hello World"));
    assert_eq!(r.cmd_str(&["APPEND", "e", ""]), int(0));
    assert_eq!(
        r.cmd_str(&["EXISTS", "e"]),
        int(1),
        "APPEND of nothing still creates the key"
    );
    assert_eq!(r.cmd_str(&["STRLEN", "k"]), int(11));
    assert_eq!(r.cmd_str(&["STRLEN", "missing"]), int(0));
    assert_eq!(r.cmd_str(&["STRLEN", "e"]), int(0));
    for (start, end, want) in [
        ("0", "3", "Hell"),
        ("-3", "-1", "rld"),
        ("0", "-1", "Hello World"),
        ("10", "100", "d"),
        ("5", "3", ""),
        ("-1", "-5", ""),
        ("-100", "1", "He"),
        ("20", "30", ""),
        ("0", "-100", "H"),
        ("-9223372036854775808", "9223372036854775807", "Hello World"),
    ] {
        assert_eq!(
            r.cmd_str(&["GETRANGE", "k", start, end]),
            bulk(want),
            "{start} {end}"
        );
        assert_eq!(
            r.cmd_str(&["SUBSTR", "k", start, end]),
            bulk(want),
            "{start} {end}"
        );
    }
    assert_eq!(r.cmd_str(&["GETRANGE", "missing", "0", "-1"]), bulk(""));
    assert_eq!(r.cmd_str(&["GETRANGE", "e", "0", "-1"]), bulk(""));
    assert_eq!(r.cmd_str(&["GETRANGE", "k", "a", "1"]), NOT_INT);
    assert_eq!(r.cmd_str(&["GETRANGE", "missing", "0", "1.5"]), NOT_INT);
    assert_eq!(
        r.cmd_str(&["GETRANGE", "k", "0"]),
        err("ERR wrong number of arguments for 'getrange' command")
    );

    assert_eq!(r.cmd_str(&["SETRANGE", "k", "6", "Redis"]), int(11));
    assert_eq!(r.cmd_str(&["GET", "k"]), bulk("Hello Redis"));
    assert_eq!(r.cmd_str(&["SETRANGE", "k", "9", "xyz"]), int(12));
    assert_eq!(r.cmd_str(&["GET", "k"]), bulk("Hello Redxyz"));
    assert_eq!(r.cmd_str(&["SETRANGE", "pad", "5", "x"]), int(6));
    assert_eq!(r.cmd_str(&["GET", "pad"]), bulk("\0\0\0\0\0x"));
    assert_eq!(r.cmd_str(&["SETRANGE", "pad", "8", "y"]), int(9));
    assert_eq!(r.cmd_str(&["GET", "pad"]), bulk("\0\0\0\0\0x\0\0y"));
    // An empty value writes nothing: a missing key stays missing.
    assert_eq!(r.cmd_str(&["SETRANGE", "none", "5", ""]), int(0));
    assert_eq!(r.cmd_str(&["EXISTS", "none"]), int(0));
    assert_eq!(r.cmd_str(&["SETRANGE", "k", "100", ""]), int(12));
    assert_eq!(r.cmd_str(&["STRLEN", "k"]), int(12));
    assert_eq!(
        r.cmd_str(&["SETRANGE", "k", "-1", "x"]),
        err("ERR offset is out of range")
    );
    assert_eq!(
        r.cmd_str(&["SETRANGE", "none", "-1", ""]),
        err("ERR offset is out of range")
    );
    assert_eq!(r.cmd_str(&["SETRANGE", "k", "x", "x"]), NOT_INT);
    // The result may not pass proto-max-bulk-len (512 MB by default); nothing is allocated or written.
    assert_eq!(r.cmd_str(&["SETRANGE", "big", "536870912", "x"]), TOO_BIG);
    assert_eq!(r.cmd_str(&["SETRANGE", "big", "536870911", "xy"]), TOO_BIG);
    assert_eq!(
        r.cmd_str(&["SETRANGE", "k", "9223372036854775807", "x"]),
        TOO_BIG
    );
    assert_eq!(r.cmd_str(&["EXISTS", "big"]), int(0));
    assert_eq!(r.cmd_str(&["SETRANGE", "none", "536870912", ""]), int(0));
    // Numbers are strings too.
    assert_eq!(r.cmd_str(&["SET", "n", "12345"]), OK);
    assert_eq!(r.cmd_str(&["APPEND", "n", "6"]), int(6));
    assert_eq!(r.cmd_str(&["INCR", "n"]), int(123457));
    assert_eq!(r.cmd_str(&["GETRANGE", "n", "1", "2"]), bulk("23"));
    assert_eq!(r.cmd_str(&["STRLEN", "n"]), int(6));
}

#[test]
fn proto_max_bulk_len_limits_append_and_setrange() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("slotkv.toml");
    std::fs::write(&cfg, "proto-max-bulk-len = 1048576\n").unwrap();
    let s = Server::with(ServerOptions {
        extra: vec!["--config".into(), cfg.display().to_string()],
        ..Default::default()
    });
    let mut r = s.raw();
    let mb = "m".repeat(1 << 20);
    assert_eq!(r.cmd_str(&["APPEND", "k", &mb]), int(1 << 20));
    assert_eq!(r.cmd_str(&["APPEND", "k", "x"]), TOO_BIG);
    assert_eq!(r.cmd_str(&["APPEND", "k", ""]), int(1 << 20));
    assert_eq!(r.cmd_str(&["STRLEN", "k"]), int(1 << 20));
    assert_eq!(r.cmd_str(&["SETRANGE", "k", "1048575", "xy"]), TOO_BIG);
    assert_eq!(r.cmd_str(&["SETRANGE", "k", "1048575", "y"]), int(1 << 20));
    assert_eq!(r.cmd_str(&["GETRANGE", "k", "-2", "-1"]), bulk("my"));
    assert_eq!(r.cmd_str(&["SETRANGE", "new", "1048576", "y"]), TOO_BIG);
    assert_eq!(
        r.cmd_str(&["SETRANGE", "new", "1048575", "y"]),
        int(1 << 20)
    );
}

#[test]
fn incr_decr_family_and_overflow() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["INCR", "n"]), int(1));
    assert_eq!(r.cmd_str(&["INCRBY", "n", "10"]), int(11));
    assert_eq!(r.cmd_str(&["DECR", "n"]), int(10));
    assert_eq!(r.cmd_str(&["DECRBY", "n", "3"]), int(7));
    assert_eq!(r.cmd_str(&["INCRBY", "n", "-7"]), int(0));
    assert_eq!(r.cmd_str(&["DECRBY", "n", "-5"]), int(5));
    assert_eq!(r.cmd_str(&["GET", "n"]), bulk("5"));
    assert_eq!(r.cmd_str(&["DECR", "neg"]), int(-1));
    assert_eq!(r.cmd_str(&["GET", "neg"]), bulk("-1"));
    // Overflow leaves the value alone.
    let overflow = err("ERR increment or decrement would overflow");
    assert_eq!(r.cmd_str(&["SET", "n", "9223372036854775807"]), OK);
    assert_eq!(r.cmd_str(&["INCR", "n"]), overflow);
    assert_eq!(r.cmd_str(&["INCRBY", "n", "1"]), overflow);
    assert_eq!(r.cmd_str(&["DECRBY", "n", "-1"]), overflow);
    assert_eq!(r.cmd_str(&["GET", "n"]), bulk("9223372036854775807"));
    assert_eq!(r.cmd_str(&["INCRBY", "n", "-9223372036854775807"]), int(0));
    assert_eq!(r.cmd_str(&["SET", "n", "-9223372036854775808"]), OK);
    assert_eq!(r.cmd_str(&["DECR", "n"]), overflow);
    assert_eq!(r.cmd_str(&["INCRBY", "n", "-1"]), overflow);
    assert_eq!(r.cmd_str(&["INCRBY", "n", "9223372036854775807"]), int(-1));
    assert_eq!(
        r.cmd_str(&["DECRBY", "n", "-9223372036854775808"]),
        err("ERR decrement would overflow")
    );
    assert_eq!(
        r.cmd_str(&["DECRBY", "n", "9223372036854775807"]),
        int(i64::MIN)
    );
    assert_eq!(r.cmd_str(&["INCRBY", "n", "9223372036854775808"]), NOT_INT);
    assert_eq!(r.cmd_str(&["INCRBY", "n", "1.0"]), NOT_INT);
    assert_eq!(r.cmd_str(&["INCRBY", "n", " 1"]), NOT_INT);
    assert_eq!(r.cmd_str(&["INCRBY", "n", "+1"]), NOT_INT);
    assert_eq!(r.cmd_str(&["INCRBY", "n", ""]), NOT_INT);
    // Only strict base-10 integers count as integers.
    for stored in [
        "abc",
        "",
        " 1",
        "1 ",
        "1.5",
        "01",
        "-0",
        "+1",
        "1e3",
        "9223372036854775808",
        "0x10",
    ] {
        assert_eq!(r.cmd_str(&["SET", "s", stored]), OK);
        assert_eq!(r.cmd_str(&["INCR", "s"]), NOT_INT, "stored {stored:?}");
        assert_eq!(
            r.cmd_str(&["DECRBY", "s", "1"]),
            NOT_INT,
            "stored {stored:?}"
        );
        assert_eq!(r.cmd_str(&["GET", "s"]), bulk(stored));
    }
    assert_eq!(r.cmd_str(&["SET", "s", "-0"]), OK);
    assert_eq!(r.cmd_str(&["SET", "z", "0"]), OK);
    assert_eq!(r.cmd_str(&["INCR", "z"]), int(1));
    for cmd in ["incr", "decr"] {
        assert_eq!(
            r.cmd_str(&[cmd]),
            err(&format!(
                "ERR wrong number of arguments for '{cmd}' command"
            ))
        );
    }
    assert_eq!(
        r.cmd_str(&["INCRBY", "n"]),
        err("ERR wrong number of arguments for 'incrby' command")
    );
}

#[test]
fn incrbyfloat_formats_like_redis() {
    let s = Server::start();
    let mut r = s.raw();
    let cases: &[(&str, &str, &str)] = &[
        ("10.5", "0.1", "10.6"),
        ("5.0e3", "2.0e2", "5200"),
        ("3.0", "0", "3"),
        ("1", "1e-17", "1.00000000000000001"),
        ("0", "1e20", "100000000000000000000"),
        ("0", "1e-20", "0"),
        ("0.1", "0.2", "0.3"),
        ("0", "0x10", "16"),
        ("-0", "-0", "0"),
        ("0", "-1e-30", "0"),
        ("10", "-10", "0"),
        ("1.5", "+1.5", "3"),
        ("-5", "2.25", "-2.75"),
        ("9223372036854775807", "1", "9223372036854775808"),
        ("12345678901234567890", "0.5", "12345678901234567890"),
        ("3.0e3", "-1e-3", "2999.99900000000000011"),
        ("1", "inf", ""),
    ];
    for (i, (init, by, want)) in cases.iter().enumerate() {
        let key = format!("f{i}");
        assert_eq!(r.cmd_str(&["SET", &key, init]), OK);
        if want.is_empty() {
            assert_eq!(
                r.cmd_str(&["INCRBYFLOAT", &key, by]),
                err("ERR increment would produce NaN or Infinity"),
                "{init} + {by}"
            );
            assert_eq!(r.cmd_str(&["GET", &key]), bulk(init));
            continue;
        }
        assert_eq!(
            r.cmd_str(&["INCRBYFLOAT", &key, by]),
            bulk(want),
            "{init} + {by}"
        );
        assert_eq!(
            r.cmd_str(&["GET", &key]),
            bulk(want),
            "stored text of {init} + {by}"
        );
    }
    assert_eq!(r.cmd_str(&["INCRBYFLOAT", "new", "1.25"]), bulk("1.25"));
    let huge = r.cmd_str(&["INCRBYFLOAT", "huge", "1.5e4000"]);
    assert!(
        huge.starts_with("$4001\r\n150000000000000000002790469720549138200441386004973"),
        "{}",
        &huge[..60]
    );
    let huger = r.cmd_str(&["INCRBYFLOAT", "huge", "1e4932"]);
    assert!(
        huger.starts_with("$4933\r\n10000000000000000000060189493879638913238377742545"),
        "{}",
        &huger[..60]
    );
    assert_eq!(
        r.cmd_str(&["INCRBYFLOAT", "huge", "1e4932"]),
        err("ERR increment would produce NaN or Infinity")
    );
    // Invalid increments and stored values.
    for by in [
        "abc", "1 ", " 1", "", "nan", "1e5000", "1e-5000", "1.2.3", "1e", "0x",
    ] {
        assert_eq!(r.cmd_str(&["INCRBYFLOAT", "new", by]), NOT_FLOAT, "{by:?}");
    }
    assert_eq!(
        r.cmd_str(&["INCRBYFLOAT", "inf", "inf"]),
        err("ERR increment would produce NaN or Infinity")
    );
    assert_eq!(
        r.cmd_str(&["INCRBYFLOAT", "inf", "-inf"]),
        err("ERR increment would produce NaN or Infinity")
    );
    assert_eq!(r.cmd_str(&["EXISTS", "inf"]), int(0));
    assert_eq!(r.cmd_str(&["SET", "s", "1.5x"]), OK);
    assert_eq!(r.cmd_str(&["INCRBYFLOAT", "s", "1"]), NOT_FLOAT);
    assert_eq!(r.cmd_str(&["SET", "s", &"1".repeat(5120)]), OK);
    assert_eq!(r.cmd_str(&["INCRBYFLOAT", "s", "1"]), NOT_FLOAT);
    assert_eq!(r.cmd_str(&["SET", "s", "  1"]), OK);
    assert_eq!(r.cmd_str(&["INCRBYFLOAT", "s", "1"]), NOT_FLOAT);
    // INCR refuses what INCRBYFLOAT produced when it is not an integer.
    assert_eq!(r.cmd_str(&["INCR", "f0"]), NOT_INT);
    assert_eq!(r.cmd_str(&["INCR", "f1"]), int(5201));
    assert_eq!(
        r.cmd_str(&["INCRBYFLOAT", "k"]),
        err("ERR wrong number of arguments for 'incrbyfloat' command")
    );
}

#[test]
fn sixteen_megabyte_values_round_trip() {
    let s = Server::start();
    let mut r = s.raw();
    let size = 16 << 20;
    let big: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    r.send_cmd(&[b"SET", b"big", &big]);
    assert_eq!(&r.read_reply()[..], b"+OK\r\n");
    r.send_cmd(&[b"GET", b"big"]);
    let reply = r.read_reply();
    let header = format!("${size}\r\n");
    assert!(reply.starts_with(header.as_bytes()));
    assert_eq!(&reply[header.len()..reply.len() - 2], &big[..]);
    r.send_cmd(&[b"APPEND", b"big", &big]);
    assert_eq!(r.read_reply(), format!(":{}\r\n", 2 * size).as_bytes());
    assert_eq!(r.cmd_str(&["STRLEN", "big"]), int(2 * size as i64));
    r.send_cmd(&[b"GET", b"big"]);
    let reply = r.read_reply();
    let header = format!("${}\r\n", 2 * size);
    assert!(reply.starts_with(header.as_bytes()));
    let body = &reply[header.len()..reply.len() - 2];
    assert_eq!(&body[..size], &big[..]);
    assert_eq!(&body[size..], &big[..]);
    let tail = r.cmd(&["GETRANGE", "big", "-3", "-1"]);
    assert_eq!(
        &tail[..],
        [&b"$3\r\n"[..], &big[size - 3..], b"\r\n"].concat()
    );
    assert_eq!(
        r.cmd_str(&["SETRANGE", "big", &(2 * size).to_string(), "!"]),
        int(2 * size as i64 + 1)
    );
    assert_eq!(
        r.cmd_str(&["GETRANGE", "big", "-2", "-1"]),
        bulk(&format!("{}!", big[size - 1] as char))
    );
}

#[test]
fn pipelined_and_concurrent_increments_are_exact() {
    let s = Server::with_cores(2);
    // One connection, 2000 pipelined INCRs of a key on each core.
    for key in ["a", "b"] {
        let mut r = s.raw();
        let mut batch = Vec::new();
        for _ in 0..2000 {
            batch.extend_from_slice(&slotkv_tests::encode_cmd(&[b"INCR", key.as_bytes()]));
        }
        r.send(&batch);
        for i in 1..=2000 {
            assert_eq!(r.read_reply(), format!(":{i}\r\n").as_bytes());
        }
    }
    // Eight connections (spread over both cores) adding to the same keys at once.
    let port = s.port;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let mut r = Raw::connect(port);
                for i in 0..250 {
                    let key = if (t + i) % 2 == 0 { "a" } else { "b" };
                    let reply = r.cmd_str(&["INCRBY", key, "3"]);
                    assert!(reply.starts_with(':'), "{reply}");
                    let reply = r.cmd_str(&["INCRBYFLOAT", "f", "0.5"]);
                    assert!(reply.starts_with('$'), "{reply}");
                    assert_eq!(r.cmd_str(&["APPEND", "log", "x"]).as_bytes()[0], b':');
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut r = s.raw();
    assert_eq!(
        r.cmd_str(&["MGET", "a", "b"]),
        "*2\r\n$4\r\n5000\r\n$4\r\n5000\r\n"
    );
    assert_eq!(r.cmd_str(&["GET", "f"]), bulk("1000"));
    assert_eq!(r.cmd_str(&["STRLEN", "log"]), int(2000));
}

#[test]
fn resp3_replies() {
    let s = Server::start();
    let mut r = s.raw();
    r.set_resp3(true);
    let hello = r.cmd_str(&["HELLO", "3"]);
    assert!(hello.starts_with('%'), "HELLO 3 replied {hello:?}");
    assert_eq!(r.cmd_str(&["GET", "missing"]), "_\r\n");
    assert_eq!(r.cmd_str(&["GETDEL", "missing"]), "_\r\n");
    assert_eq!(r.cmd_str(&["GETEX", "missing", "PERSIST"]), "_\r\n");
    assert_eq!(r.cmd_str(&["GETSET", "k", "v"]), "_\r\n");
    assert_eq!(r.cmd_str(&["SET", "k", "w", "NX"]), "_\r\n");
    assert_eq!(r.cmd_str(&["SET", "x", "w", "XX", "GET"]), "_\r\n");
    assert_eq!(
        r.cmd_str(&["MGET", "k", "missing"]),
        "*2\r\n$1\r\nv\r\n_\r\n"
    );
    assert_eq!(r.cmd_str(&["SET", "k", "w", "GET"]), bulk("v"));
    assert_eq!(
        r.cmd_str(&["INCRBYFLOAT", "f", "1.5"]),
        bulk("1.5"),
        "INCRBYFLOAT stays a bulk string"
    );
    assert_eq!(r.cmd_str(&["INCR", "n"]), int(1));
    assert_eq!(r.cmd_str(&["GETRANGE", "missing", "0", "-1"]), bulk(""));
}

#[test]
fn lcs_on_one_and_two_cores() {
    let s = Server::with_cores(2);
    let mut r = s.raw();
    // "a" and "b" are on different cores; "{a}2" is on the core of "a".
    assert_eq!(
        r.cmd_str(&[
            "MSET",
            "a",
            "ohmytext",
            "b",
            "mynewtext",
            "{a}2",
            "mynewtext"
        ]),
        OK
    );
    for other in ["b", "{a}2"] {
        assert_eq!(r.cmd_str(&["LCS", "a", other]), bulk("mytext"));
        assert_eq!(r.cmd_str(&["LCS", "a", other, "LEN"]), int(6));
        assert_eq!(
            r.cmd_str(&["LCS", "a", other, "IDX"]),
            "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n\
             *2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"
        );
        assert_eq!(
            r.cmd_str(&["LCS", "a", other, "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]),
            "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n\
             $3\r\nlen\r\n:6\r\n"
        );
        assert_eq!(
            r.cmd_str(&["LCS", "a", other, "LEN", "IDX"]),
            err("ERR If you want both the length and indexes, please just use IDX.")
        );
        assert_eq!(r.cmd_str(&["LCS", "a", other, "MINMATCHLEN"]), SYNTAX);
        assert_eq!(r.cmd_str(&["LCS", "a", other, "MINMATCHLEN", "x"]), NOT_INT);
        assert_eq!(r.cmd_str(&["LCS", "a", other, "bogus"]), SYNTAX);
    }
    assert_eq!(r.cmd_str(&["LCS", "a", "missing"]), bulk(""));
    assert_eq!(r.cmd_str(&["LCS", "missing", "b", "LEN"]), int(0));
    assert_eq!(
        r.cmd_str(&["LCS", "a"]),
        err("ERR wrong number of arguments for 'lcs' command")
    );
    // RESP3: IDX is a map.
    r.set_resp3(true);
    assert!(r.cmd_str(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(
        r.cmd_str(&["LCS", "a", "b", "IDX", "MINMATCHLEN", "3"]),
        "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n"
    );
    // The table may not take more than proto-max-bulk-len bytes: (alen+1)*(blen+1)*4.
    let long = "x".repeat(11_600);
    assert_eq!(r.cmd_str(&["MSET", "l1", &long, "l2", &long]), OK);
    assert_eq!(
        r.cmd_str(&["LCS", "l1", "l2", "LEN"]),
        err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    );
    assert_eq!(r.cmd_str(&["LCS", "l1", "a", "LEN"]), int(1));
}

/// Creates a key of another type with whichever collection command the server knows; `None` if none.
fn make_non_string(r: &mut Raw, key: &str) -> Option<()> {
    for cmd in [
        &["HSET", key, "f", "v"][..],
        &["RPUSH", key, "v"],
        &["SADD", key, "v"],
        &["ZADD", key, "1", "v"],
    ] {
        if r.cmd_str(cmd).starts_with(':') {
            return Some(());
        }
    }
    None
}

#[test]
fn wrong_type_errors() {
    let s = Server::start();
    let mut r = s.raw();
    if make_non_string(&mut r, "h").is_none() {
        eprintln!("no collection type is implemented yet: WRONGTYPE is covered by the server's unit tests only");
        return;
    }
    let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    for cmd in [
        &["GET", "h"][..],
        &["GETSET", "h", "v"],
        &["GETDEL", "h"],
        &["GETEX", "h"],
        &["GETEX", "h", "PERSIST"],
        &["GETEX", "h", "EX", "abc"],
        &["SET", "h", "v", "GET"],
        &["SET", "h", "v", "NX", "GET"],
        &["APPEND", "h", "v"],
        &["STRLEN", "h"],
        &["INCR", "h"],
        &["DECR", "h"],
        &["INCRBY", "h", "1"],
        &["DECRBY", "h", "1"],
        &["INCRBYFLOAT", "h", "1"],
        &["INCRBYFLOAT", "h", "abc"],
        &["GETRANGE", "h", "0", "1"],
        &["SUBSTR", "h", "0", "1"],
        &["SETRANGE", "h", "0", "v"],
        &["SETRANGE", "h", "0", ""],
    ] {
        assert_eq!(r.cmd_str(cmd), wrongtype, "{cmd:?}");
    }
    // Not type errors: argument errors come first, MGET answers nil, SET and MSET overwrite.
    assert_eq!(r.cmd_str(&["GETRANGE", "h", "x", "1"]), NOT_INT);
    assert_eq!(
        r.cmd_str(&["SETRANGE", "h", "-1", "v"]),
        err("ERR offset is out of range")
    );
    assert_eq!(
        r.cmd_str(&["SET", "h", "v", "EX", "0", "GET"]),
        err("ERR invalid expire time in 'set' command")
    );
    assert_eq!(r.cmd_str(&["MGET", "h"]), "*1\r\n$-1\r\n");
    assert_eq!(
        r.cmd_str(&["LCS", "h", "missing"]),
        err("ERR The specified keys must contain string values")
    );
    assert_eq!(
        r.cmd_str(&["LCS", "missing", "h", "bogus"]),
        err("ERR The specified keys must contain string values")
    );
    assert_eq!(r.cmd_str(&["SETNX", "h", "v"]), int(0));
    assert_eq!(r.cmd_str(&["MSETNX", "h", "v"]), int(0));
    assert_eq!(r.cmd_str(&["SET", "h", "v"]), OK);
    assert_eq!(r.cmd_str(&["GET", "h"]), bulk("v"));
    make_non_string(&mut r, "h2").unwrap();
    assert_eq!(r.cmd_str(&["MSET", "h2", "v"]), OK);
    assert_eq!(r.cmd_str(&["GET", "h2"]), bulk("v"));
}

/// One random string command over a small key space, with valid and invalid arguments alike.
fn random_command(rng: &mut StdRng) -> Vec<String> {
    fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
        items[rng.gen_range(0..items.len())]
    }
    let key = |rng: &mut StdRng| format!("k{}", rng.gen_range(0..8));
    let value = |rng: &mut StdRng| -> String {
        match rng.gen_range(0..10) {
            0 => String::new(),
            1 => pick(rng, &["abc", "hello world", "x\r\ny", "\0\u{1}"]).to_string(),
            2 => pick(
                rng,
                &[
                    "9223372036854775807",
                    "-9223372036854775808",
                    "9223372036854775806",
                    "-1",
                ],
            )
            .into(),
            3 => format!("{}.{}", rng.gen_range(-100..100), rng.gen_range(0..1000)),
            4 => pick(
                rng,
                &[
                    "1e3", "2.5e-3", "0x1p4", "inf", "-0", "1.", ".5", " 1", "01", "+7",
                ],
            )
            .into(),
            5 => format!("{}e{}", rng.gen_range(1..100), rng.gen_range(-30..30)),
            _ => rng.gen_range(-1000i64..1000).to_string(),
        }
    };
    let int_arg = |rng: &mut StdRng| -> String {
        match rng.gen_range(0..8) {
            0 => pick(
                rng,
                &[
                    "x",
                    "1.5",
                    "",
                    "9223372036854775808",
                    "-9223372036854775808",
                ],
            )
            .into(),
            _ => rng.gen_range(-20i64..20).to_string(),
        }
    };
    let ttl_opt = |rng: &mut StdRng| -> Vec<String> {
        let far_s = (now_ms() / 1000 + 100_000).to_string();
        let far_ms = (now_ms() + 100_000_000).to_string();
        let pair = |a: &str, b: String| vec![a.to_string(), b];
        match rng.gen_range(0..9) {
            0 => pair("EX", "100000".into()),
            1 => pair("PX", "100000000".into()),
            2 => pair("EXAT", far_s),
            3 => pair("PXAT", far_ms),
            4 => pair("PXAT", "1".into()),
            5 => pair(
                pick(rng, &["EX", "PX"]),
                pick(rng, &["0", "-1", "abc", "9223372036854775807"]).into(),
            ),
            6 => vec!["KEEPTTL".into()],
            7 => vec!["PERSIST".into()],
            _ => vec![],
        }
    };
    let k = key(rng);
    let mut c: Vec<String> = match rng.gen_range(0..27) {
        0..=2 => vec!["GET".into(), k],
        3..=5 => {
            let mut c = vec!["SET".into(), k, value(rng)];
            for _ in 0..rng.gen_range(0..3) {
                match rng.gen_range(0..4) {
                    0 => c.push(pick(rng, &["NX", "XX", "nx"]).into()),
                    1 => c.push("GET".into()),
                    _ => c.extend(ttl_opt(rng)),
                }
            }
            c
        }
        6 => vec!["SETNX".into(), k, value(rng)],
        7 => vec![
            pick(rng, &["SETEX", "PSETEX"]).into(),
            k,
            pick(rng, &["100000", "0", "x"]).into(),
            value(rng),
        ],
        8 => vec!["GETSET".into(), k, value(rng)],
        9 => vec!["GETDEL".into(), k],
        10 => {
            let mut c = vec!["GETEX".into(), k];
            if rng.gen_bool(0.7) {
                c.extend(ttl_opt(rng));
            }
            c
        }
        11 | 12 => {
            let mut c = vec!["MGET".into()];
            for _ in 0..rng.gen_range(1..5) {
                c.push(key(rng));
            }
            c
        }
        13 | 14 => {
            let mut c = vec![pick(rng, &["MSET", "MSETNX"]).into()];
            for _ in 0..rng.gen_range(1..4) {
                c.push(key(rng));
                c.push(value(rng));
            }
            if rng.gen_range(0..6) == 0 {
                c.pop();
            }
            c
        }
        15 => vec!["APPEND".into(), k, value(rng)],
        16 => vec!["STRLEN".into(), k],
        17 | 18 => vec![pick(rng, &["INCR", "DECR"]).into(), k],
        19 | 20 => vec![pick(rng, &["INCRBY", "DECRBY"]).into(), k, int_arg(rng)],
        21 | 22 => vec!["INCRBYFLOAT".into(), k, value(rng)],
        23 => vec![
            pick(rng, &["GETRANGE", "SUBSTR"]).into(),
            k,
            int_arg(rng),
            int_arg(rng),
        ],
        24 => vec!["SETRANGE".into(), k, int_arg(rng), value(rng)],
        25 => {
            let mut c = vec!["LCS".into(), k, key(rng)];
            for _ in 0..rng.gen_range(0..3) {
                match rng.gen_range(0..5) {
                    0 => c.push("LEN".into()),
                    1 | 2 => c.push("IDX".into()),
                    3 => c.push("WITHMATCHLEN".into()),
                    _ => c.extend(["MINMATCHLEN".to_string(), int_arg(rng)]),
                }
            }
            c
        }
        _ => vec![pick(rng, &["EXISTS", "DEL"]).into(), k, key(rng)],
    };
    if rng.gen_range(0..40) == 0 {
        c.truncate(1); // an arity error
    }
    c
}

#[test]
fn random_commands_match_real_redis_byte_for_byte() {
    let Some(redis) = RedisServer::start() else {
        eprintln!("/usr/bin/redis-server not installed: skipping the differential run");
        return;
    };
    // Two cores, so multi-key commands take the cross-core paths too.
    let s = Server::with_cores(2);
    let mut ours = s.raw();
    let mut theirs = Raw::connect(redis.port);
    let seed = std::env::var("STRINGS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED_0005_7121u64);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut history: Vec<String> = Vec::new();
    let mut kinds = std::collections::BTreeMap::<char, usize>::new();
    // STRINGS_SEED and STRINGS_STEPS replay or lengthen the run.
    let steps = std::env::var("STRINGS_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    for _ in 0..steps {
        let cmd = random_command(&mut rng);
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let want = theirs.cmd_str(&args);
        let got = ours.cmd_str(&args);
        history.push(format!("{args:?} -> {want:?}"));
        *kinds.entry(want.chars().next().unwrap_or(' ')).or_default() += 1;
        assert_eq!(
            got,
            want,
            "seed {seed}: reply to {args:?} differs from redis-server; history:\n{}",
            history[history.len().saturating_sub(20)..].join("\n")
        );
    }
    // The run must have exercised values, counters, nils, arrays and errors alike.
    eprintln!("reply kinds: {kinds:?}");
    for kind in ['$', ':', '*', '+', '-'] {
        assert!(
            kinds.get(&kind).copied().unwrap_or(0) >= 20,
            "too few '{kind}' replies: {kinds:?}"
        );
    }
    // The whole key space ends the same, values and deadlines alike.
    for i in 0..8 {
        let key = format!("k{i}");
        assert_eq!(
            ours.cmd_str(&["GET", &key]),
            theirs.cmd_str(&["GET", &key]),
            "{key}"
        );
        let (a, b) = (pttl(&mut ours, &key), pttl(&mut theirs, &key));
        assert!(
            (a < 0 && a == b) || (a >= 0 && (a - b).abs() < 5_000),
            "PTTL {key}: {a} vs {b}"
        );
    }
}

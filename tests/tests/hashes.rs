//! Black-box tests of the hash commands and OBJECT: every command, option and error text over raw RESP (in
//! RESP2 and RESP3 where the reply types differ), expiry, DEL and recreate, RENAME / COPY on one core and
//! across two, persistence across a restart, TYPE and SCAN TYPE, a 100k-field hash, and a table of commands
//! replayed against a real redis-server with every reply compared byte for byte.
//!
//! Longer than our usual file limit on purpose: it is the one test file of the hash family, and most of its
//! length is tables of exact expected replies.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use slotkv_tests::{key_on, Raw, RedisServer, Server, ServerOptions};

const OK: &str = "+OK\r\n";
const NIL: &str = "$-1\r\n";
const EMPTY: &str = "*0\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

fn err(text: &str) -> String {
    format!("-{text}\r\n")
}

fn arr(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for i in items {
        out.push_str(&bulk(i));
    }
    out
}

fn arity(cmd: &str) -> String {
    err(&format!(
        "ERR wrong number of arguments for '{cmd}' command"
    ))
}

/// A RESP3 connection.
fn resp3(s: &Server) -> Raw {
    let mut r = s.raw();
    r.set_resp3(true);
    r.cmd(&["HELLO", "3"]);
    r
}

/// The items of a flat array reply of bulk strings (`*n` then `$len text` each), in order.
fn bulks(reply: &str) -> Vec<String> {
    let mut lines = reply.split("\r\n");
    let head = lines.next().unwrap();
    assert!(head.starts_with('*'), "not an array: {reply:?}");
    let n: usize = head[1..].parse().unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let len = lines.next().unwrap();
        assert!(len.starts_with('$'), "not a bulk: {reply:?}");
        out.push(lines.next().unwrap().to_string());
    }
    out
}

/// `HSCAN` reply split into the cursor and the flat field/value list.
fn scan_step(r: &mut Raw, args: &[&str]) -> (String, Vec<String>) {
    let reply = r.cmd_str(args);
    let rest = reply
        .strip_prefix("*2\r\n$")
        .unwrap_or_else(|| panic!("{reply:?}"));
    let (len, rest) = rest.split_once("\r\n").unwrap();
    let len: usize = len.parse().unwrap();
    let cursor = rest[..len].to_string();
    (cursor, bulks(&rest[len + 2..]))
}

/// Every field of a full HSCAN iteration with the given extra options, and the number of calls made.
fn scan_all(r: &mut Raw, key: &str, opts: &[&str]) -> (Vec<(String, String)>, usize) {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["HSCAN", key, &cursor];
        args.extend_from_slice(opts);
        let (next, items) = scan_step(r, &args);
        calls += 1;
        out.extend(items.chunks(2).map(|p| (p[0].clone(), p[1].clone())));
        if next == "0" {
            return (out, calls);
        }
        cursor = next;
    }
}

#[test]
fn hset_hget_and_point_reads() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["HSET", "h", "f1", "v1"]), int(1));
    assert_eq!(r.cmd_str(&["HSET", "h", "f1", "v1b", "f2", "v2"]), int(1));
    // A field named twice takes its last value and counts once.
    assert_eq!(
        r.cmd_str(&["HSET", "h", "f3", "x", "f3", "y", "f1", "z"]),
        int(1)
    );
    assert_eq!(r.cmd_str(&["HGET", "h", "f3"]), bulk("y"));
    assert_eq!(r.cmd_str(&["HGET", "h", "f1"]), bulk("z"));
    assert_eq!(r.cmd_str(&["HGET", "h", "nope"]), NIL);
    assert_eq!(r.cmd_str(&["HGET", "nokey", "f"]), NIL);
    assert_eq!(r.cmd_str(&["HLEN", "h"]), int(3));
    assert_eq!(r.cmd_str(&["HLEN", "nokey"]), int(0));
    assert_eq!(r.cmd_str(&["HSET", "n", "a", "1", "a", "2"]), int(1));
    assert_eq!(r.cmd_str(&["HGET", "n", "a"]), bulk("2"));
    assert_eq!(r.cmd_str(&["HLEN", "n"]), int(1));
    // HMSET replies OK.
    assert_eq!(r.cmd_str(&["HMSET", "h", "f4", "v4", "f1", "w"]), OK);
    assert_eq!(r.cmd_str(&["HLEN", "h"]), int(4));
    assert_eq!(r.cmd_str(&["HGET", "h", "f1"]), bulk("w"));
    // HSETNX.
    assert_eq!(r.cmd_str(&["HSETNX", "h", "f1", "other"]), int(0));
    assert_eq!(r.cmd_str(&["HGET", "h", "f1"]), bulk("w"));
    assert_eq!(r.cmd_str(&["HSETNX", "h", "f5", "v5"]), int(1));
    assert_eq!(r.cmd_str(&["HSETNX", "fresh", "a", "b"]), int(1));
    assert_eq!(r.cmd_str(&["HGET", "fresh", "a"]), bulk("b"));
    // HMGET: nil per missing field; a missing key is an empty hash.
    assert_eq!(
        r.cmd_str(&["HMGET", "h", "f1", "nope", "f5", "f1"]),
        format!("*4\r\n{}{NIL}{}{}", bulk("w"), bulk("v5"), bulk("w"))
    );
    assert_eq!(
        r.cmd_str(&["HMGET", "nokey", "a", "b"]),
        format!("*2\r\n{NIL}{NIL}")
    );
    // HEXISTS, HSTRLEN.
    assert_eq!(r.cmd_str(&["HEXISTS", "h", "f5"]), int(1));
    assert_eq!(r.cmd_str(&["HEXISTS", "h", "nope"]), int(0));
    assert_eq!(r.cmd_str(&["HEXISTS", "nokey", "f"]), int(0));
    assert_eq!(r.cmd_str(&["HSTRLEN", "h", "f5"]), int(2));
    assert_eq!(r.cmd_str(&["HSTRLEN", "h", "nope"]), int(0));
    assert_eq!(r.cmd_str(&["HSTRLEN", "nokey", "f"]), int(0));
    // Empty fields and values, binary bytes.
    assert_eq!(r.cmd_str(&["HSET", "h", "", ""]), int(1));
    assert_eq!(r.cmd_str(&["HGET", "h", ""]), bulk(""));
    assert_eq!(r.cmd_str(&["HSTRLEN", "h", ""]), int(0));
    r.send_cmd(&[b"HSET", b"bin", b"\x00\xff\r\n", b"v\x00\r\nw"]);
    assert_eq!(String::from_utf8_lossy(&r.read_reply()), int(1));
    r.send_cmd(&[b"HGET", b"bin", b"\x00\xff\r\n"]);
    assert_eq!(&r.read_reply()[..], b"$5\r\nv\x00\r\nw\r\n");
    // HDEL: fields named twice count once; missing fields and keys count 0.
    assert_eq!(r.cmd_str(&["HDEL", "h", "f1", "f1", "nope", "f2"]), int(2));
    assert_eq!(r.cmd_str(&["HDEL", "h", "f1"]), int(0));
    assert_eq!(r.cmd_str(&["HDEL", "nokey", "f1"]), int(0));
    assert_eq!(r.cmd_str(&["HLEN", "h"]), int(4));
    // Deleting the last field deletes the key.
    assert_eq!(
        r.cmd_str(&["HDEL", "h", "f3", "f4", "f5", "", "zz"]),
        int(4)
    );
    assert_eq!(r.cmd_str(&["EXISTS", "h"]), int(0));
    assert_eq!(r.cmd_str(&["TYPE", "h"]), "+none\r\n");
    assert_eq!(r.cmd_str(&["HLEN", "h"]), int(0));
    assert_eq!(r.cmd_str(&["HSET", "h", "again", "1"]), int(1));
    assert_eq!(r.cmd_str(&["HLEN", "h"]), int(1));
}

#[test]
fn arity_errors() {
    let s = Server::start();
    let mut r = s.raw();
    let cases: &[(&[&str], &str)] = &[
        (&["HSET", "h"], "hset"),
        (&["HSET", "h", "f"], "hset"),
        (&["HSET", "h", "f", "v", "g"], "hset"),
        (&["HMSET", "h", "f"], "hmset"),
        (&["HMSET", "h", "f", "v", "g"], "hmset"),
        (&["HSETNX", "h", "f"], "hsetnx"),
        (&["HSETNX", "h", "f", "v", "x"], "hsetnx"),
        (&["HGET", "h"], "hget"),
        (&["HGET", "h", "f", "g"], "hget"),
        (&["HMGET", "h"], "hmget"),
        (&["HDEL", "h"], "hdel"),
        (&["HEXISTS", "h"], "hexists"),
        (&["HLEN"], "hlen"),
        (&["HLEN", "a", "b"], "hlen"),
        (&["HSTRLEN", "h"], "hstrlen"),
        (&["HKEYS"], "hkeys"),
        (&["HVALS", "a", "b"], "hvals"),
        (&["HGETALL"], "hgetall"),
        (&["HINCRBY", "h", "f"], "hincrby"),
        (&["HINCRBYFLOAT", "h", "f"], "hincrbyfloat"),
        (&["HRANDFIELD"], "hrandfield"),
        (&["HSCAN", "h"], "hscan"),
        (&["OBJECT"], "object"),
        (&["OBJECT", "ENCODING"], "object|encoding"),
        (&["OBJECT", "encoding", "a", "b"], "object|encoding"),
        (&["OBJECT", "FREQ"], "object|freq"),
        (&["OBJECT", "IDLETIME"], "object|idletime"),
        (&["OBJECT", "REFCOUNT"], "object|refcount"),
        (&["OBJECT", "HELP", "x"], "object|help"),
    ];
    for (args, name) in cases {
        assert_eq!(r.cmd_str(args), arity(name), "{args:?}");
    }
    assert_eq!(
        r.cmd_str(&["OBJECT", "foo"]),
        err("ERR unknown subcommand 'foo'. Try OBJECT HELP.")
    );
    // Nothing was written by the refused commands.
    assert_eq!(r.cmd_str(&["DBSIZE"]), int(0));
}

#[test]
fn wrong_type_both_ways() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&["SET", "s", "hello"]);
    r.cmd(&["HSET", "h", "f", "v"]);
    let on_string: &[&[&str]] = &[
        &["HSET", "s", "f", "v"],
        &["HMSET", "s", "f", "v"],
        &["HSETNX", "s", "f", "v"],
        &["HGET", "s", "f"],
        &["HMGET", "s", "f"],
        &["HDEL", "s", "f"],
        &["HEXISTS", "s", "f"],
        &["HLEN", "s"],
        &["HSTRLEN", "s", "f"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HGETALL", "s"],
        &["HINCRBY", "s", "f", "1"],
        &["HINCRBYFLOAT", "s", "f", "1"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "1"],
        &["HRANDFIELD", "s", "-1", "WITHVALUES"],
        &["HSCAN", "s", "0"],
        &["HSCAN", "s", "0", "bogus"],
        // String commands against a hash.
        &["GET", "h"],
        &["APPEND", "h", "x"],
        &["INCR", "h"],
        &["STRLEN", "h"],
    ];
    for args in on_string {
        assert_eq!(r.cmd_str(args), WRONGTYPE, "{args:?}");
    }
    assert_eq!(r.cmd_str(&["GET", "s"]), bulk("hello"));
    assert_eq!(r.cmd_str(&["HGET", "h", "f"]), bulk("v"));
    // Argument errors come before the type check, as in Redis.
    assert_eq!(r.cmd_str(&["HINCRBY", "s", "f", "x"]), NOT_INT);
    assert_eq!(r.cmd_str(&["HINCRBYFLOAT", "s", "f", "x"]), NOT_FLOAT);
    assert_eq!(
        r.cmd_str(&["HINCRBYFLOAT", "s", "f", "inf"]),
        err("ERR value is NaN or Infinity")
    );
    assert_eq!(r.cmd_str(&["HRANDFIELD", "s", "x"]), NOT_INT);
    assert_eq!(r.cmd_str(&["HSCAN", "s", "x"]), err("ERR invalid cursor"));
    // SET replaces a hash.
    assert_eq!(r.cmd_str(&["SET", "h", "now a string"]), OK);
    assert_eq!(r.cmd_str(&["HGET", "h", "f"]), WRONGTYPE);
    assert_eq!(r.cmd_str(&["DEL", "h"]), int(1));
    assert_eq!(r.cmd_str(&["HLEN", "h"]), int(0));
}

#[test]
fn hincrby_exact_and_its_errors() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["HINCRBY", "h", "n", "5"]), int(5));
    assert_eq!(r.cmd_str(&["HINCRBY", "h", "n", "-7"]), int(-2));
    assert_eq!(r.cmd_str(&["HGET", "h", "n"]), bulk("-2"));
    assert_eq!(r.cmd_str(&["HLEN", "h"]), int(1));
    assert_eq!(r.cmd_str(&["HINCRBY", "h", "n", "0"]), int(-2));
    // Limits.
    r.cmd(&["HSET", "h", "big", "9223372036854775807"]);
    assert_eq!(
        r.cmd_str(&["HINCRBY", "h", "big", "1"]),
        err("ERR increment or decrement would overflow")
    );
    assert_eq!(
        r.cmd_str(&["HINCRBY", "h", "big", "-1"]),
        int(9223372036854775806)
    );
    assert_eq!(
        r.cmd_str(&["HINCRBY", "h", "small", "-9223372036854775808"]),
        int(i64::MIN)
    );
    assert_eq!(
        r.cmd_str(&["HINCRBY", "h", "small", "-1"]),
        err("ERR increment or decrement would overflow")
    );
    assert_eq!(
        r.cmd_str(&["HGET", "h", "small"]),
        bulk("-9223372036854775808")
    );
    // Field values that are not strict integers.
    for bad in [
        "abc",
        "1.5",
        " 1",
        "1 ",
        "01",
        "-0",
        "+1",
        "",
        "99999999999999999999",
    ] {
        r.cmd(&["HSET", "h", "bad", bad]);
        assert_eq!(
            r.cmd_str(&["HINCRBY", "h", "bad", "1"]),
            err("ERR hash value is not an integer"),
            "{bad:?}"
        );
        assert_eq!(r.cmd_str(&["HGET", "h", "bad"]), bulk(bad));
    }
    // Increments that are not integers: checked before anything is read.
    for bad in ["x", "1.0", "", " 1", "9223372036854775808", "0x10"] {
        assert_eq!(r.cmd_str(&["HINCRBY", "h", "n", bad]), NOT_INT, "{bad:?}");
        assert_eq!(r.cmd_str(&["HINCRBY", "nokey", "n", bad]), NOT_INT);
    }
    assert_eq!(r.cmd_str(&["EXISTS", "nokey"]), int(0));
    // Pipelined increments of one field are exact.
    let mut batch = Vec::new();
    for _ in 0..500 {
        batch.extend(slotkv_tests::encode_cmd(&[b"HINCRBY", b"c", b"f", b"3"]));
    }
    r.send(&batch);
    for i in 1..=500 {
        assert_eq!(String::from_utf8_lossy(&r.read_reply()), int(3 * i));
    }
}

#[test]
fn hincrbyfloat_like_incrbyfloat() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["HINCRBYFLOAT", "h", "f", "10.5"]), bulk("10.5"));
    assert_eq!(r.cmd_str(&["HINCRBYFLOAT", "h", "f", "0.1"]), bulk("10.6"));
    assert_eq!(r.cmd_str(&["HGET", "h", "f"]), bulk("10.6"));
    assert_eq!(
        r.cmd_str(&["HINCRBYFLOAT", "h", "e", "5.0e3"]),
        bulk("5000")
    );
    assert_eq!(r.cmd_str(&["HINCRBYFLOAT", "h", "z", "-0"]), bulk("0"));
    assert_eq!(r.cmd_str(&["HSET", "h", "i", "5"]), int(1));
    assert_eq!(r.cmd_str(&["HINCRBYFLOAT", "h", "i", "0.5"]), bulk("5.5"));
    assert_eq!(
        r.cmd_str(&["HINCRBYFLOAT", "h", "i", "1.5e-5"]),
        bulk("5.500015")
    );
    assert_eq!(
        r.cmd_str(&["HINCRBYFLOAT", "h", "i", "-5.500015"]),
        bulk("0")
    );
    // After a float, HINCRBY refuses the field.
    r.cmd(&["HSET", "h", "fl", "1.5"]);
    assert_eq!(
        r.cmd_str(&["HINCRBY", "h", "fl", "1"]),
        err("ERR hash value is not an integer")
    );
    // Big values print in full, as Redis's long double arithmetic does.
    r.cmd(&["HSET", "h", "huge", "1e308"]);
    let reply = r.cmd_str(&["HINCRBYFLOAT", "h", "huge", "1e308"]);
    assert!(reply.starts_with("$309\r\n19999999999999999999"), "{reply}");
    // Errors, in Redis's order and words.
    for bad in ["abc", "", " 1", "1 ", "nan", "1e4933", "1.5.5"] {
        assert_eq!(
            r.cmd_str(&["HINCRBYFLOAT", "h", "f", bad]),
            NOT_FLOAT,
            "{bad:?}"
        );
    }
    for inf in ["inf", "-inf", "+inf", "Infinity"] {
        assert_eq!(
            r.cmd_str(&["HINCRBYFLOAT", "h", "f", inf]),
            err("ERR value is NaN or Infinity")
        );
    }
    for bad in ["abc", " 1", "", "1e99999"] {
        r.cmd(&["HSET", "h", "bad", bad]);
        assert_eq!(
            r.cmd_str(&["HINCRBYFLOAT", "h", "bad", "1"]),
            err("ERR hash value is not a float"),
            "{bad:?}"
        );
    }
    // A sum past the largest long double.
    r.cmd(&["HSET", "h", "edge", "1e4932"]);
    assert_eq!(
        r.cmd_str(&["HINCRBYFLOAT", "h", "edge", "1e4932"]),
        err("ERR increment would produce NaN or Infinity")
    );
    assert_eq!(r.cmd_str(&["HGET", "h", "edge"]), bulk("1e4932"));
    assert_eq!(r.cmd_str(&["HGET", "h", "f"]), bulk("10.6"));
}

#[test]
fn whole_hash_reads_in_both_protocols() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&["HSET", "h", "b", "2", "a", "1", "c", "3"]);
    // Field byte order.
    assert_eq!(r.cmd_str(&["HKEYS", "h"]), arr(&["a", "b", "c"]));
    assert_eq!(r.cmd_str(&["HVALS", "h"]), arr(&["1", "2", "3"]));
    assert_eq!(
        r.cmd_str(&["HGETALL", "h"]),
        arr(&["a", "1", "b", "2", "c", "3"])
    );
    assert_eq!(r.cmd_str(&["HGETALL", "nokey"]), EMPTY);
    assert_eq!(r.cmd_str(&["HKEYS", "nokey"]), EMPTY);
    assert_eq!(r.cmd_str(&["HVALS", "nokey"]), EMPTY);

    let mut r3 = resp3(&s);
    assert_eq!(
        r3.cmd_str(&["HGETALL", "h"]),
        "%3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(r3.cmd_str(&["HGETALL", "nokey"]), "%0\r\n");
    assert_eq!(r3.cmd_str(&["HKEYS", "h"]), arr(&["a", "b", "c"]));
    assert_eq!(r3.cmd_str(&["HKEYS", "nokey"]), EMPTY);
    assert_eq!(r3.cmd_str(&["HGET", "h", "zz"]), "_\r\n");
    assert_eq!(r3.cmd_str(&["HGET", "nokey", "zz"]), "_\r\n");
    assert_eq!(
        r3.cmd_str(&["HMGET", "h", "a", "zz"]),
        format!("*2\r\n{}_\r\n", bulk("1"))
    );
    assert_eq!(r3.cmd_str(&["HRANDFIELD", "nokey"]), "_\r\n");
    assert_eq!(r3.cmd_str(&["HLEN", "h"]), int(3));
    assert_eq!(r3.cmd_str(&["HINCRBYFLOAT", "h", "a", "0.5"]), bulk("1.5"));
    assert_eq!(
        r3.cmd_str(&["HSCAN", "h", "0", "COUNT", "100"]),
        "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
}

#[test]
fn hrandfield_counts_shapes_and_errors() {
    let s = Server::start();
    let mut r = s.raw();
    let fields = ["a", "b", "c", "d", "e"];
    for f in fields {
        r.cmd(&["HSET", "h", f, &format!("v{f}")]);
    }
    // No count: one field.
    for _ in 0..20 {
        let reply = r.cmd_str(&["HRANDFIELD", "h"]);
        let f = reply.split("\r\n").nth(1).unwrap();
        assert!(fields.contains(&f), "{reply:?}");
    }
    assert_eq!(r.cmd_str(&["HRANDFIELD", "nokey"]), NIL);
    // Positive count: distinct fields; at least the size gives the whole hash.
    let mut seen = HashSet::new();
    for _ in 0..50 {
        let got = bulks(&r.cmd_str(&["HRANDFIELD", "h", "3"]));
        assert_eq!(got.len(), 3);
        assert_eq!(got.iter().collect::<HashSet<_>>().len(), 3, "{got:?}");
        seen.extend(got);
    }
    assert_eq!(seen.len(), 5, "every field gets picked: {seen:?}");
    for n in ["5", "6", "1000"] {
        let mut got = bulks(&r.cmd_str(&["HRANDFIELD", "h", n]));
        got.sort();
        assert_eq!(got, fields);
    }
    // Negative count: exactly |count|, repeats allowed.
    let got = bulks(&r.cmd_str(&["HRANDFIELD", "h", "-20"]));
    assert_eq!(got.len(), 20);
    assert!(got.iter().all(|f| fields.contains(&f.as_str())));
    assert!(got.iter().collect::<HashSet<_>>().len() < 20);
    // WITHVALUES: RESP2 flat, values match their fields.
    let got = bulks(&r.cmd_str(&["HRANDFIELD", "h", "-7", "withvalues"]));
    assert_eq!(got.len(), 14);
    for p in got.chunks(2) {
        assert_eq!(p[1], format!("v{}", p[0]));
    }
    let got = bulks(&r.cmd_str(&["HRANDFIELD", "h", "2", "WITHVALUES"]));
    assert_eq!(got.len(), 4);
    assert_ne!(got[0], got[2]);
    // RESP3: an array of [field, value] arrays.
    let mut r3 = resp3(&s);
    r3.cmd(&["HSET", "one", "f", "v"]);
    let pair = "*2\r\n$1\r\nf\r\n$1\r\nv\r\n";
    assert_eq!(
        r3.cmd_str(&["HRANDFIELD", "one", "1", "WITHVALUES"]),
        format!("*1\r\n{pair}")
    );
    assert_eq!(
        r3.cmd_str(&["HRANDFIELD", "one", "-3", "WITHVALUES"]),
        format!("*3\r\n{pair}{pair}{pair}")
    );
    assert_eq!(
        r3.cmd_str(&["HRANDFIELD", "one", "5", "WITHVALUES"]),
        format!("*1\r\n{pair}")
    );
    assert_eq!(r3.cmd_str(&["HRANDFIELD", "one", "-2"]), arr(&["f", "f"]));
    assert_eq!(r3.cmd_str(&["HRANDFIELD", "one", "0", "WITHVALUES"]), EMPTY);
    assert_eq!(
        r.cmd_str(&["HRANDFIELD", "one", "-2", "WITHVALUES"]),
        arr(&["f", "v", "f", "v"])
    );
    // Missing key and zero count: empty arrays.
    assert_eq!(r.cmd_str(&["HRANDFIELD", "nokey", "3"]), EMPTY);
    assert_eq!(
        r.cmd_str(&["HRANDFIELD", "nokey", "-3", "WITHVALUES"]),
        EMPTY
    );
    assert_eq!(r.cmd_str(&["HRANDFIELD", "h", "0"]), EMPTY);
    // Errors, in Redis's order.
    for bad in ["x", "1.5", "-0", "01", ""] {
        assert_eq!(r.cmd_str(&["HRANDFIELD", "h", bad]), NOT_INT, "{bad:?}");
    }
    assert_eq!(
        r.cmd_str(&["HRANDFIELD", "h", "-9223372036854775808"]),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(r.cmd_str(&["HRANDFIELD", "h", "1", "foo"]), SYNTAX);
    assert_eq!(
        r.cmd_str(&["HRANDFIELD", "h", "1", "WITHVALUES", "x"]),
        SYNTAX
    );
    assert_eq!(
        r.cmd_str(&["HRANDFIELD", "nokey", "1", "WITHVALUES", "x"]),
        SYNTAX
    );
    for big in [
        "4611686018427387904",
        "-4611686018427387904",
        "9223372036854775807",
    ] {
        assert_eq!(
            r.cmd_str(&["HRANDFIELD", "h", big, "WITHVALUES"]),
            err("ERR value is out of range")
        );
    }
    // Within Redis's WITHVALUES range, but a repeated count this large is refused (see hrandfield.rs).
    assert_eq!(
        r.cmd_str(&["HRANDFIELD", "h", "-4611686018427387903", "WITHVALUES"]),
        err("ERR value is out of range")
    );
    assert_eq!(
        r.cmd_str(&["HRANDFIELD", "h", "-9223372036854775807"]),
        err("ERR value is out of range")
    );
    // A huge positive count is bounded by the hash.
    assert_eq!(
        bulks(&r.cmd_str(&["HRANDFIELD", "h", "9223372036854775807"])).len(),
        5
    );
}

#[test]
fn hscan_options_and_errors() {
    let s = Server::start();
    let mut r = s.raw();
    for i in 0..25 {
        r.cmd(&["HSET", "h", &format!("f{i:02}"), &format!("{i}")]);
    }
    // COUNT bounds each step; a full iteration returns every field once, with its value.
    let (all, calls) = scan_all(&mut r, "h", &["COUNT", "10"]);
    assert_eq!(calls, 3);
    assert_eq!(all.len(), 25);
    for (i, (f, v)) in all.iter().enumerate() {
        assert_eq!(
            (f.as_str(), v.as_str()),
            (format!("f{i:02}").as_str(), i.to_string().as_str())
        );
    }
    let (all, calls) = scan_all(&mut r, "h", &[]);
    assert_eq!((all.len(), calls), (25, 3));
    let (all, calls) = scan_all(&mut r, "h", &["count", "1000"]);
    assert_eq!((all.len(), calls), (25, 1));
    // MATCH filters the visited fields.
    let (m, _) = scan_all(&mut r, "h", &["MATCH", "f1*", "COUNT", "7"]);
    let names: Vec<&str> = m.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        names,
        ["f10", "f11", "f12", "f13", "f14", "f15", "f16", "f17", "f18", "f19"]
    );
    let (m, _) = scan_all(&mut r, "h", &["MATCH", "*", "MATCH", "nothing"]);
    assert!(m.is_empty());
    // A missing key: "0" and nothing, options not even looked at (as in Redis).
    assert_eq!(
        r.cmd_str(&["HSCAN", "nokey", "0"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(
        r.cmd_str(&["HSCAN", "nokey", "0", "COUNT", "0"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    // Errors.
    assert_eq!(r.cmd_str(&["HSCAN", "h", "x"]), err("ERR invalid cursor"));
    assert_eq!(
        r.cmd_str(&["HSCAN", "nokey", "x"]),
        err("ERR invalid cursor")
    );
    assert_eq!(
        r.cmd_str(&["HSCAN", "h", "18446744073709551616"]),
        err("ERR invalid cursor")
    );
    assert_eq!(r.cmd_str(&["HSCAN", "h", "0", "COUNT", "0"]), SYNTAX);
    assert_eq!(r.cmd_str(&["HSCAN", "h", "0", "COUNT", "-1"]), SYNTAX);
    assert_eq!(r.cmd_str(&["HSCAN", "h", "0", "COUNT", "x"]), NOT_INT);
    assert_eq!(r.cmd_str(&["HSCAN", "h", "0", "MATCH"]), SYNTAX);
    assert_eq!(r.cmd_str(&["HSCAN", "h", "0", "foo", "bar"]), SYNTAX);
    // An unknown cursor restarts the iteration rather than failing.
    let (_, items) = scan_step(&mut r, &["HSCAN", "h", "123456", "COUNT", "5"]);
    assert_eq!(items[0], "f00");
}

#[test]
fn a_hash_of_100k_fields() {
    let s = Server::start();
    let mut r = s.raw();
    const N: usize = 100_000;
    const PER: usize = 500;
    let mut batch = Vec::new();
    for chunk in 0..N / PER {
        let mut args: Vec<Vec<u8>> = vec![b"HSET".to_vec(), b"big".to_vec()];
        for i in chunk * PER..(chunk + 1) * PER {
            args.push(format!("field:{i}").into_bytes());
            args.push(format!("value:{i}").into_bytes());
        }
        let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
        batch.extend(slotkv_tests::encode_cmd(&refs));
    }
    r.send(&batch);
    let mut created = 0;
    for _ in 0..N / PER {
        let reply = String::from_utf8_lossy(&r.read_reply()).into_owned();
        created += reply
            .trim_start_matches(':')
            .trim_end()
            .parse::<usize>()
            .unwrap();
    }
    assert_eq!(created, N);
    assert_eq!(r.cmd_str(&["HLEN", "big"]), int(N as i64));
    // Overwrites and deletes keep the count exact.
    assert_eq!(
        r.cmd_str(&["HSET", "big", "field:7", "x", "extra", "y"]),
        int(1)
    );
    assert_eq!(
        r.cmd_str(&["HDEL", "big", "field:8", "field:9", "nope"]),
        int(2)
    );
    assert_eq!(r.cmd_str(&["HLEN", "big"]), int(N as i64 - 1));
    assert_eq!(
        r.cmd_str(&["HGET", "big", "field:99999"]),
        bulk("value:99999")
    );
    assert_eq!(r.cmd_str(&["HGET", "big", "field:7"]), bulk("x"));
    // Point reads and a short scan step stay fast whatever the size.
    let t = Instant::now();
    for _ in 0..20 {
        let (cursor, items) = scan_step(&mut r, &["HSCAN", "big", "0", "COUNT", "10"]);
        assert_eq!(items.len(), 20);
        assert_ne!(cursor, "0");
    }
    let per_step = t.elapsed() / 20;
    assert!(
        per_step < Duration::from_millis(20),
        "HSCAN COUNT 10 took {per_step:?}"
    );
    let (cursor, _) = scan_step(&mut r, &["HSCAN", "big", "0", "COUNT", "10"]);
    let t = Instant::now();
    let (_, items) = scan_step(&mut r, &["HSCAN", "big", &cursor, "COUNT", "10"]);
    assert_eq!(items.len(), 20);
    assert!(
        t.elapsed() < Duration::from_millis(20),
        "resumed step took {:?}",
        t.elapsed()
    );
    // A full scan returns every field exactly once.
    let (all, _) = scan_all(&mut r, "big", &["COUNT", "5000"]);
    assert_eq!(all.len(), N - 1);
    assert_eq!(
        all.iter().map(|(f, _)| f).collect::<HashSet<_>>().len(),
        N - 1
    );
    assert_eq!(bulks(&r.cmd_str(&["HRANDFIELD", "big", "-5"])).len(), 5);
    assert_eq!(bulks(&r.cmd_str(&["HRANDFIELD", "big", "100"])).len(), 100);
    assert_eq!(bulks(&r.cmd_str(&["HKEYS", "big"])).len(), N - 1);
    // DEL is O(1) and nothing of the old hash comes back.
    assert_eq!(r.cmd_str(&["DEL", "big"]), int(1));
    assert_eq!(r.cmd_str(&["HSET", "big", "new", "1"]), int(1));
    assert_eq!(r.cmd_str(&["HLEN", "big"]), int(1));
    assert_eq!(r.cmd_str(&["HGET", "big", "field:1"]), NIL);
    assert_eq!(r.cmd_str(&["HKEYS", "big"]), arr(&["new"]));
}

#[test]
fn expiry_and_recreation() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&["HSET", "h", "a", "1", "b", "2"]);
    assert_eq!(r.cmd_str(&["PEXPIRE", "h", "100000"]), int(1));
    // Writes keep the time to live.
    r.cmd(&["HSET", "h", "c", "3"]);
    r.cmd(&["HINCRBY", "h", "a", "1"]);
    r.cmd(&["HDEL", "h", "b"]);
    let ttl: i64 = r
        .cmd_str(&["PTTL", "h"])
        .trim_start_matches(':')
        .trim()
        .parse()
        .unwrap();
    assert!(ttl > 90_000, "{ttl}");
    assert_eq!(r.cmd_str(&["PEXPIRE", "h", "30"]), int(1));
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(r.cmd_str(&["HGET", "h", "a"]), NIL);
    assert_eq!(r.cmd_str(&["HLEN", "h"]), int(0));
    assert_eq!(r.cmd_str(&["EXISTS", "h"]), int(0));
    assert_eq!(r.cmd_str(&["HGETALL", "h"]), EMPTY);
    // A write after expiry starts an empty hash without a deadline: no old field resurrects.
    assert_eq!(r.cmd_str(&["HINCRBY", "h", "a", "10"]), int(10));
    assert_eq!(r.cmd_str(&["HKEYS", "h"]), arr(&["a"]));
    assert_eq!(r.cmd_str(&["PTTL", "h"]), int(-1));
    // DEL then recreate.
    r.cmd(&["HSET", "d", "x", "1", "y", "2", "z", "3"]);
    assert_eq!(r.cmd_str(&["DEL", "d"]), int(1));
    assert_eq!(r.cmd_str(&["HSETNX", "d", "x", "new"]), int(1));
    assert_eq!(r.cmd_str(&["HGETALL", "d"]), arr(&["x", "new"]));
    assert_eq!(r.cmd_str(&["HEXISTS", "d", "y"]), int(0));
    // Overwritten by a string, then a hash again.
    r.cmd(&["SET", "d", "s"]);
    r.cmd(&["DEL", "d"]);
    assert_eq!(r.cmd_str(&["HSET", "d", "q", "1"]), int(1));
    assert_eq!(r.cmd_str(&["HGETALL", "d"]), arr(&["q", "1"]));
    // Expired by the active cycle as well (no read in between).
    r.cmd(&["HSET", "gone", "f", "v"]);
    r.cmd(&["PEXPIRE", "gone", "20"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while r.cmd_str(&["DBSIZE"]) != int(2) {
        assert!(Instant::now() < deadline, "expired hash still counted");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn rename_and_copy_on_one_core() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&["HSET", "src", "a", "1", "b", "2"]);
    assert_eq!(r.cmd_str(&["RENAME", "src", "dst"]), OK);
    assert_eq!(r.cmd_str(&["EXISTS", "src"]), int(0));
    assert_eq!(r.cmd_str(&["HGETALL", "dst"]), arr(&["a", "1", "b", "2"]));
    assert_eq!(r.cmd_str(&["HLEN", "dst"]), int(2));
    // RENAME over an existing hash replaces it entirely.
    r.cmd(&["HSET", "other", "z", "9", "y", "8", "x", "7"]);
    assert_eq!(r.cmd_str(&["RENAME", "other", "dst"]), OK);
    assert_eq!(
        r.cmd_str(&["HGETALL", "dst"]),
        arr(&["x", "7", "y", "8", "z", "9"])
    );
    // COPY: an independent hash.
    assert_eq!(r.cmd_str(&["COPY", "dst", "cp"]), int(1));
    r.cmd(&["HSET", "cp", "x", "changed", "w", "new"]);
    r.cmd(&["HDEL", "cp", "y"]);
    assert_eq!(
        r.cmd_str(&["HGETALL", "dst"]),
        arr(&["x", "7", "y", "8", "z", "9"])
    );
    assert_eq!(
        r.cmd_str(&["HGETALL", "cp"]),
        arr(&["w", "new", "x", "changed", "z", "9"])
    );
    assert_eq!(r.cmd_str(&["HLEN", "cp"]), int(3));
    assert_eq!(r.cmd_str(&["COPY", "dst", "cp"]), int(0));
    assert_eq!(r.cmd_str(&["COPY", "dst", "cp", "REPLACE"]), int(1));
    assert_eq!(
        r.cmd_str(&["HGETALL", "cp"]),
        arr(&["x", "7", "y", "8", "z", "9"])
    );
    // Same slot (hash tag) and a deadline that travels.
    r.cmd(&["HSET", "{t}a", "f", "v"]);
    r.cmd(&["PEXPIRE", "{t}a", "100000"]);
    assert_eq!(r.cmd_str(&["RENAME", "{t}a", "{t}b"]), OK);
    assert_eq!(r.cmd_str(&["HGET", "{t}b", "f"]), bulk("v"));
    let ttl: i64 = r
        .cmd_str(&["PTTL", "{t}b"])
        .trim_start_matches(':')
        .trim()
        .parse()
        .unwrap();
    assert!(ttl > 90_000);
    // Renaming back and forth leaves no stale fields behind.
    r.cmd(&["HSET", "{t}a", "old", "1"]);
    assert_eq!(r.cmd_str(&["RENAME", "{t}b", "{t}a"]), OK);
    assert_eq!(r.cmd_str(&["HGETALL", "{t}a"]), arr(&["f", "v"]));
}

#[test]
fn rename_and_copy_across_cores() {
    let s = Server::with_cores(2);
    let mut r = s.raw();
    let a = key_on(0, 2, "ha");
    let b = key_on(1, 2, "hb");
    let c = key_on(1, 2, "hc");
    let mut fields = Vec::new();
    for i in 0..300 {
        fields.push(format!("f{i:03}"));
        fields.push(format!("v{i}"));
    }
    let mut args = vec!["HSET", a.as_str()];
    args.extend(fields.iter().map(String::as_str));
    assert_eq!(r.cmd_str(&args), int(300));
    assert_eq!(r.cmd_str(&["RENAME", &a, &b]), OK);
    assert_eq!(r.cmd_str(&["EXISTS", &a]), int(0));
    assert_eq!(r.cmd_str(&["HLEN", &b]), int(300));
    let fs: Vec<&str> = fields.iter().map(String::as_str).collect();
    assert_eq!(r.cmd_str(&["HGETALL", &b]), arr(&fs));
    assert_eq!(r.cmd_str(&["COPY", &b, &a]), int(1));
    assert_eq!(
        r.cmd_str(&["HINCRBY", &a, "f000", "1"]),
        err("ERR hash value is not an integer")
    );
    r.cmd(&["HSET", &a, "f000", "changed"]);
    assert_eq!(r.cmd_str(&["HGET", &b, "f000"]), bulk("v0"));
    assert_eq!(r.cmd_str(&["HGET", &a, "f000"]), bulk("changed"));
    assert_eq!(r.cmd_str(&["HLEN", &a]), int(300));
    // Over an existing hash on the other core: replaced whole.
    r.cmd(&["HSET", &c, "stale", "x"]);
    assert_eq!(r.cmd_str(&["COPY", &a, &c, "REPLACE"]), int(1));
    assert_eq!(r.cmd_str(&["HEXISTS", &c, "stale"]), int(0));
    assert_eq!(r.cmd_str(&["HLEN", &c]), int(300));
    assert_eq!(r.cmd_str(&["RENAME", &c, &a]), OK);
    assert_eq!(r.cmd_str(&["HLEN", &a]), int(300));
    assert_eq!(r.cmd_str(&["HGET", &a, "f000"]), bulk("changed"));
    assert_eq!(r.cmd_str(&["EXISTS", &c]), int(0));
    // Hash commands work on both cores from one connection.
    for k in [&a, &b] {
        assert_eq!(r.cmd_str(&["HINCRBYFLOAT", k, "n", "1.5"]), bulk("1.5"));
        assert_eq!(r.cmd_str(&["TYPE", k]), "+hash\r\n");
    }
    assert_eq!(r.cmd_str(&["DBSIZE"]), int(2));
}

#[test]
fn hashes_survive_a_restart() {
    let mut s = Server::start();
    {
        let mut r = s.raw();
        r.cmd(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        r.cmd(&["HDEL", "h", "b"]);
        r.cmd(&["HINCRBYFLOAT", "h", "f", "2.5"]);
        r.cmd(&["HSET", "gone", "x", "y"]);
        r.cmd(&["DEL", "gone"]);
        r.cmd(&["HSET", "ttl", "x", "y"]);
        r.cmd(&["PEXPIRE", "ttl", "100000"]);
    }
    assert_eq!(s.stop(), Some(0));
    s.restart();
    let mut r = s.raw();
    assert_eq!(
        r.cmd_str(&["HGETALL", "h"]),
        arr(&["a", "1", "c", "3", "f", "2.5"])
    );
    assert_eq!(r.cmd_str(&["HLEN", "h"]), int(3));
    assert_eq!(r.cmd_str(&["EXISTS", "gone"]), int(0));
    assert_eq!(r.cmd_str(&["HGET", "ttl", "x"]), bulk("y"));
    let ttl: i64 = r
        .cmd_str(&["PTTL", "ttl"])
        .trim_start_matches(':')
        .trim()
        .parse()
        .unwrap();
    assert!(ttl > 0 && ttl <= 100_000);
    // Versions handed out after the restart do not collide with live hashes.
    assert_eq!(r.cmd_str(&["HSET", "gone", "new", "1"]), int(1));
    assert_eq!(r.cmd_str(&["HGETALL", "gone"]), arr(&["new", "1"]));
    assert_eq!(r.cmd_str(&["HLEN", "h"]), int(3));
    assert_eq!(r.cmd_str(&["DBSIZE"]), int(3));
}

#[test]
fn acknowledged_hash_writes_survive_kill9_with_fsync_always() {
    let mut s = Server::with(ServerOptions {
        cores: 2,
        fsync: "always",
        ..Default::default()
    });
    let keys = [key_on(0, 2, "k"), key_on(1, 2, "k")];
    {
        let mut r = s.raw();
        for k in &keys {
            for i in 0..200 {
                r.cmd(&["HSET", k, &format!("f{i:03}"), &i.to_string()]);
            }
            r.cmd(&["HDEL", k, "f000", "f001"]);
            r.cmd(&["HINCRBY", k, "f002", "40"]);
        }
    }
    s.kill9();
    // The killed process's listening sockets can outlive it briefly (io_uring tears its rings down
    // asynchronously): wait until the port is free before starting on it again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpListener::bind(("127.0.0.1", s.port)).is_err() {
        assert!(Instant::now() < deadline, "port {} still bound", s.port);
        std::thread::sleep(Duration::from_millis(20));
    }
    s.restart();
    let mut r = s.raw();
    for k in &keys {
        assert_eq!(r.cmd_str(&["HLEN", k]), int(198));
        assert_eq!(r.cmd_str(&["HGET", k, "f002"]), bulk("42"));
        assert_eq!(r.cmd_str(&["HEXISTS", k, "f001"]), int(0));
        let (all, _) = scan_all(&mut r, k, &["COUNT", "1000"]);
        assert_eq!(all.len(), 198);
    }
}

#[test]
fn type_and_scan_type() {
    let s = Server::with_cores(2);
    let mut r = s.raw();
    let hashes = ["h1", "h2", "h3", "h4", "{x}h5"];
    for h in hashes {
        r.cmd(&["HSET", h, "f", "v"]);
    }
    for k in ["s1", "s2", "s3"] {
        r.cmd(&["SET", k, "v"]);
    }
    assert_eq!(r.cmd_str(&["TYPE", "h1"]), "+hash\r\n");
    assert_eq!(r.cmd_str(&["TYPE", "s1"]), "+string\r\n");
    assert_eq!(r.cmd_str(&["TYPE", "nokey"]), "+none\r\n");
    let scan_type = |r: &mut Raw, t: &str, count: &str| {
        let mut cursor = "0".to_string();
        let mut keys = Vec::new();
        loop {
            let reply = r.cmd_str(&["SCAN", &cursor, "TYPE", t, "COUNT", count]);
            let rest = reply.strip_prefix("*2\r\n$").unwrap();
            let (len, rest) = rest.split_once("\r\n").unwrap();
            let len: usize = len.parse().unwrap();
            keys.extend(bulks(&rest[len + 2..]));
            cursor = rest[..len].to_string();
            if cursor == "0" {
                break;
            }
        }
        keys.sort();
        keys
    };
    for count in ["1", "3", "1000"] {
        assert_eq!(
            scan_type(&mut r, "hash", count),
            hashes.iter().map(|s| s.to_string()).collect::<Vec<_>>()
        );
        assert_eq!(scan_type(&mut r, "HASH", count).len(), 5);
        assert_eq!(scan_type(&mut r, "string", count), ["s1", "s2", "s3"]);
        for t in ["list", "set", "zset", "bogus"] {
            assert!(scan_type(&mut r, t, count).is_empty(), "{t}");
        }
    }
    assert_eq!(
        r.cmd_str(&["SCAN", "0", "TYPE", "hash", "MATCH", "h[13]", "COUNT", "1000"])
            .matches("$2\r\nh")
            .count(),
        2
    );
}

#[test]
fn object_subcommands() {
    let s = Server::start();
    let mut r = s.raw();
    let strings = [
        ("i", "100", "int", 2147483647),
        ("i2", "12345", "int", 1),
        ("neg", "-5", "int", 1),
        ("max", "9223372036854775807", "int", 1),
        ("e", "", "embstr", 1),
        ("lead0", "01", "embstr", 1),
        ("big", "99999999999999999999", "embstr", 1),
        ("e44", &"a".repeat(44), "embstr", 1),
        ("r45", &"a".repeat(45), "raw", 1),
    ];
    for (k, v, enc, refs) in strings {
        r.cmd(&["SET", k, v]);
        assert_eq!(r.cmd_str(&["OBJECT", "ENCODING", k]), bulk(enc), "{k}");
        assert_eq!(r.cmd_str(&["OBJECT", "refcount", k]), int(refs), "{k}");
    }
    r.cmd(&["HSET", "h", "f", "v"]);
    assert_eq!(r.cmd_str(&["OBJECT", "ENCODING", "h"]), bulk("hashtable"));
    assert_eq!(r.cmd_str(&["OBJECT", "REFCOUNT", "h"]), int(1));
    assert_eq!(r.cmd_str(&["OBJECT", "IDLETIME", "h"]), int(0));
    assert_eq!(r.cmd_str(&["OBJECT", "IDLETIME", "i"]), int(0));
    let lfu = err(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that \
         when switching between policies at runtime LRU and LFU data will take some time to adjust.",
    );
    assert_eq!(r.cmd_str(&["OBJECT", "FREQ", "h"]), lfu);
    assert_eq!(r.cmd_str(&["OBJECT", "freq", "i"]), lfu);
    for sub in ["ENCODING", "FREQ", "IDLETIME", "REFCOUNT"] {
        assert_eq!(r.cmd_str(&["OBJECT", sub, "nokey"]), NIL, "{sub}");
    }
    // An expired key is gone for OBJECT too.
    r.cmd(&["HSET", "exp", "f", "v"]);
    r.cmd(&["PEXPIRE", "exp", "10"]);
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(r.cmd_str(&["OBJECT", "ENCODING", "exp"]), NIL);
    let help = r.cmd_str(&["OBJECT", "HELP"]);
    assert!(help.starts_with(
        "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n"
    ));
    assert!(help.ends_with("+REFCOUNT <key>\r\n+    Return the number of references of the value associated with the specified\r\n+    <key>.\r\n+HELP\r\n+    Prints this help.\r\n"));
    let mut r3 = resp3(&s);
    assert_eq!(r3.cmd_str(&["OBJECT", "ENCODING", "nokey"]), "_\r\n");
    assert_eq!(r3.cmd_str(&["OBJECT", "ENCODING", "h"]), bulk("hashtable"));
}

#[test]
fn object_on_keys_of_another_core() {
    let s = Server::with_cores(2);
    let mut r = s.raw();
    for core in 0..2 {
        let k = key_on(core, 2, "obj");
        r.cmd(&["HSET", &k, "f", "v"]);
        assert_eq!(r.cmd_str(&["OBJECT", "ENCODING", &k]), bulk("hashtable"));
        let s = key_on(core, 2, "str");
        r.cmd(&["SET", &s, "42"]);
        assert_eq!(r.cmd_str(&["OBJECT", "ENCODING", &s]), bulk("int"));
        assert_eq!(r.cmd_str(&["OBJECT", "REFCOUNT", &s]), int(2147483647));
    }
}

/// Deterministic commands whose replies must be byte-identical to Redis's (no multi-field whole-hash
/// reads: their order is Redis's table order).
const SAME_AS_REDIS: &[&[&str]] = &[
    &["SET", "s", "hello"],
    &["HSET", "h", "f", "v"],
    &["HSET", "h", "f", "v2", "g", "1", "g", "2"],
    &["HMSET", "h", "m", "5"],
    &["HSETNX", "h", "f", "x"],
    &["HSETNX", "h", "n", "x"],
    &["HGET", "h", "f"],
    &["HGET", "h", "zz"],
    &["HGET", "nokey", "zz"],
    &["HMGET", "h", "f", "zz", "g"],
    &["HMGET", "nokey", "a"],
    &["HEXISTS", "h", "g"],
    &["HEXISTS", "h", "zz"],
    &["HSTRLEN", "h", "f"],
    &["HSTRLEN", "h", "zz"],
    &["HLEN", "h"],
    &["HINCRBY", "h", "g", "40"],
    &["HINCRBY", "h", "f", "1"],
    &["HINCRBY", "h", "g", "x"],
    &["HINCRBY", "h", "g", "9223372036854775807"],
    &["HINCRBY", "h", "neg", "-9223372036854775808"],
    &["HINCRBY", "h", "neg", "-1"],
    &["HINCRBYFLOAT", "h", "g", "0.1"],
    &["HINCRBYFLOAT", "h", "fl", "10.5"],
    &["HINCRBYFLOAT", "h", "fl", "0.1"],
    &["HINCRBYFLOAT", "h", "fl", "1e-10"],
    &["HINCRBYFLOAT", "h", "fl", "-3.3e2"],
    &["HINCRBYFLOAT", "h", "f", "1"],
    &["HINCRBYFLOAT", "h", "fl", "x"],
    &["HINCRBYFLOAT", "h", "fl", "inf"],
    &["HINCRBYFLOAT", "h", "fl", "1e4933"],
    &["HSET", "h", "edge", "1e4932"],
    &["HINCRBYFLOAT", "h", "edge", "1e4932"],
    &["HINCRBYFLOAT", "h", "z", "-0"],
    &["HINCRBYFLOAT", "h", "hex", "0x10"],
    &["HINCRBYFLOAT", "h", "inf", "Infinity"],
    &["HSET", "h", "p", "+1"],
    &["HINCRBYFLOAT", "h", "p", "1"],
    &["HINCRBY", "h", "p", "1"],
    &["HSET", "h", "i", "5"],
    &["HINCRBYFLOAT", "h", "i", "0.5"],
    &["HINCRBYFLOAT", "h", "i", "1.5e-5"],
    &["HINCRBYFLOAT", "h", "i", "-5.500015"],
    &["HSET", "h", "nf", "1e99999"],
    &["HINCRBYFLOAT", "h", "nf", "1"],
    &["HINCRBY", "h", "fl", "1"],
    &["HDEL", "h", "n", "n", "zz"],
    &["HDEL", "nokey", "a"],
    &["HSET", "s", "f", "v"],
    &["HGET", "s", "f"],
    &["HGETALL", "s"],
    &["HINCRBY", "s", "f", "1"],
    &["HINCRBY", "s", "f", "x"],
    &["HINCRBYFLOAT", "s", "f", "x"],
    &["HINCRBYFLOAT", "s", "f", "inf"],
    &["HRANDFIELD", "s"],
    &["HRANDFIELD", "s", "x"],
    &["HRANDFIELD", "s", "1"],
    &["HRANDFIELD", "nokey"],
    &["HRANDFIELD", "nokey", "5", "WITHVALUES"],
    &["HRANDFIELD", "nokey", "5", "WITHVALUES", "x"],
    &["HRANDFIELD", "h", "1", "foo"],
    &["HRANDFIELD", "h", "0"],
    &["HRANDFIELD", "h", "-9223372036854775808"],
    &["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"],
    &["HSCAN", "h", "x"],
    &["HSCAN", "nokey", "0", "COUNT", "0"],
    &["HSCAN", "s", "0"],
    &["HSCAN", "h", "0", "COUNT", "0"],
    &["HSCAN", "h", "0", "COUNT", "x"],
    &["HSCAN", "h", "0", "MATCH"],
    &["HSET", "one", "only", "1"],
    &["HGETALL", "one"],
    &["HKEYS", "one"],
    &["HVALS", "one"],
    &["HRANDFIELD", "one"],
    &["HRANDFIELD", "one", "-3", "WITHVALUES"],
    &["HRANDFIELD", "one", "3", "WITHVALUES"],
    &["HSCAN", "one", "0"],
    &["HSCAN", "one", "0", "MATCH", "o*", "COUNT", "1000"],
    &["HDEL", "one", "only"],
    &["EXISTS", "one"],
    &["TYPE", "h"],
    &["OBJECT", "ENCODING", "s"],
    &["SET", "n", "100"],
    &["OBJECT", "ENCODING", "n"],
    &["OBJECT", "REFCOUNT", "n"],
    &["SET", "n", "-123456"],
    &["OBJECT", "ENCODING", "n"],
    &["OBJECT", "REFCOUNT", "n"],
    &[
        "SET",
        "n",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ],
    &["OBJECT", "ENCODING", "n"],
    // A value over 64 bytes makes Redis's hash a hashtable, which is what ours always reports.
    &[
        "HSET",
        "wide",
        "f",
        "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv",
    ],
    &["OBJECT", "ENCODING", "wide"],
    &["OBJECT", "REFCOUNT", "wide"],
    &["OBJECT", "IDLETIME", "wide"],
    &["OBJECT", "FREQ", "wide"],
    &["OBJECT", "ENCODING", "nokey"],
    &["OBJECT", "FREQ", "s"],
    &["OBJECT", "FREQ", "nokey"],
    &["OBJECT", "REFCOUNT", "s"],
    &["OBJECT", "IDLETIME", "nokey"],
    &["OBJECT", "nope"],
    &["OBJECT", "ENCODING"],
    &["HSET", "h", "f"],
    &["HMSET", "h"],
    &["HGETALL"],
];

#[test]
fn replies_match_real_redis() {
    let Some(redis) = RedisServer::start() else {
        eprintln!("/usr/bin/redis-server not installed: skipping");
        return;
    };
    let s = Server::with_cores(2);
    for resp3 in [false, true] {
        let mut ours = s.raw();
        let mut theirs = redis.raw();
        if resp3 {
            for c in [&mut ours, &mut theirs] {
                c.set_resp3(true);
                c.cmd(&["HELLO", "3"]);
            }
        }
        for c in [&mut ours, &mut theirs] {
            c.cmd(&["FLUSHALL"]);
        }
        for args in SAME_AS_REDIS {
            let want = theirs.cmd_str(args);
            let got = ours.cmd_str(args);
            assert_eq!(got, want, "resp3={resp3}: {args:?}");
        }
    }
}

#[test]
fn hrandfield_on_a_big_hash_returns_real_fields_spread_over_the_hash() {
    // Above 512 fields HRANDFIELD resolves positions through rank markers (cmd/sets/markers.rs).
    let s = Server::start();
    let mut c = s.conn();
    let fields: Vec<(String, String)> = (0..2000)
        .map(|i| (format!("f{i:05}"), format!("v{i}")))
        .collect();
    let _: () = redis::cmd("HSET")
        .arg("big")
        .arg(&fields)
        .query(&mut c)
        .unwrap();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..300 {
        let picked: Vec<String> = redis::cmd("HRANDFIELD")
            .arg("big")
            .arg(5)
            .arg("WITHVALUES")
            .query(&mut c)
            .unwrap();
        assert_eq!(picked.len(), 10);
        for pair in picked.chunks(2) {
            let i: usize = pair[0][1..].parse().unwrap();
            assert_eq!(pair[1], format!("v{i}"), "value of {}", pair[0]);
            seen.insert(pair[0].clone());
        }
        let one: String = redis::cmd("HRANDFIELD").arg("big").query(&mut c).unwrap();
        assert!(one.starts_with('f'));
        seen.insert(one);
    }
    // 1,800 uniform picks over 2,000 fields reach ~1,200 distinct ones; a biased sampler far fewer.
    assert!(seen.len() > 900, "only {} distinct fields", seen.len());
    // After the hash changes size the markers are rebuilt and picks stay real.
    let _: () = redis::cmd("HDEL")
        .arg("big")
        .arg("f00000")
        .query(&mut c)
        .unwrap();
    for _ in 0..50 {
        let one: String = redis::cmd("HRANDFIELD").arg("big").query(&mut c).unwrap();
        assert_ne!(one, "f00000");
    }
}

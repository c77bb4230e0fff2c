//! Black-box tests of the set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE
//! SINTER SINTERCARD SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN.
//!
//! Replies are checked against literal RESP text and — when Debian's redis-server is installed — the same
//! command is sent to a real Redis 7, which must give the same literal: every error text and reply type is
//! verified against the real thing. Unordered replies (SMEMBERS, SINTER, ...) are compared as sets, except
//! for small integer sets, which Redis keeps sorted (intset) as slotkv does, so their bytes match too.
//! Also: WRONGTYPE, expiry, DEL-then-recreate, RENAME and COPY of sets, keys on two cores, a restart, the
//! uniformity of random picks, and a 100k-member set. Longer than most test files because it covers a whole
//! command family in one place.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use slotkv_tests::{Raw, RedisServer, Server};

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// A key named `{prefix}N` on `core` of a 2-core node.
fn key_on(core: usize, prefix: &str) -> String {
    slotkv_tests::key_on(core, 2, prefix)
}

/// A connection to slotkv and, when installed, one to a real redis-server, fed the same commands.
struct Pair {
    s: Raw,
    r: Option<Raw>,
    _redis: Option<RedisServer>,
}

impl Pair {
    fn new(server: &Server, resp3: bool) -> Pair {
        let redis = RedisServer::start();
        let mut p = Pair {
            s: server.raw(),
            r: redis.as_ref().map(|r| r.raw()),
            _redis: redis,
        };
        p.s.cmd(&["FLUSHALL"]);
        if let Some(r) = p.r.as_mut() {
            r.cmd(&["FLUSHALL"]);
        }
        if resp3 {
            p.s.set_resp3(true);
            p.s.cmd(&["HELLO", "3"]);
            if let Some(r) = p.r.as_mut() {
                r.set_resp3(true);
                r.cmd(&["HELLO", "3"]);
            }
        }
        p
    }

    /// Runs a command on both; returns (slotkv's reply, Redis's reply if any).
    fn run(&mut self, args: &[&str]) -> (String, Option<String>) {
        let ours = self.s.cmd_str(args);
        let theirs = self.r.as_mut().map(|r| r.cmd_str(args));
        (ours, theirs)
    }

    /// Both must reply exactly `want`.
    fn exact(&mut self, args: &[&str], want: &str) {
        let (ours, theirs) = self.run(args);
        assert_eq!(ours, want, "slotkv: {args:?}");
        if let Some(t) = theirs {
            assert_eq!(t, want, "redis-server: {args:?}");
        }
    }

    /// Both must reply the same bytes; returns the reply.
    fn same(&mut self, args: &[&str]) -> String {
        let (ours, theirs) = self.run(args);
        if let Some(t) = theirs {
            assert_eq!(ours, t, "{args:?}");
        }
        ours
    }

    /// Both must reply the same aggregate type with the same members, in any order.
    fn same_members(&mut self, args: &[&str]) -> (char, BTreeSet<String>) {
        let (ours, theirs) = self.run(args);
        let ours = flat(&ours);
        if let Some(t) = theirs {
            assert_eq!(ours, flat(&t), "{args:?}");
        }
        ours
    }
}

/// A flat aggregate of bulk strings: its type byte and its members (sorted, distinct).
fn flat(reply: &str) -> (char, BTreeSet<String>) {
    let (kind, items) = flat_list(reply);
    (kind, items.into_iter().collect())
}

/// A flat aggregate of bulk strings: its type byte and its items in order.
fn flat_list(reply: &str) -> (char, Vec<String>) {
    let mut lines = reply.split("\r\n");
    let head = lines.next().unwrap();
    let kind = head.chars().next().unwrap();
    assert!(matches!(kind, '*' | '~'), "not an aggregate: {reply:?}");
    let n: usize = head[1..].parse().unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let len = lines.next().unwrap();
        assert!(len.starts_with('$'), "not a bulk: {len:?} in {reply:?}");
        out.push(lines.next().unwrap().to_string());
    }
    (kind, out)
}

fn strs(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

#[test]
fn sadd_srem_scard_and_membership() {
    let s = Server::start();
    let mut p = Pair::new(&s, false);
    p.exact(&["SADD", "s", "a", "b", "a", "c"], ":3\r\n");
    p.exact(&["SADD", "s", "a", "d"], ":1\r\n");
    p.exact(&["SCARD", "s"], ":4\r\n");
    p.exact(&["SCARD", "nokey"], ":0\r\n");
    p.exact(&["SISMEMBER", "s", "a"], ":1\r\n");
    p.exact(&["SISMEMBER", "s", "zz"], ":0\r\n");
    p.exact(&["SISMEMBER", "nokey", "a"], ":0\r\n");
    p.exact(
        &["SMISMEMBER", "s", "a", "zz", "d", "a"],
        "*4\r\n:1\r\n:0\r\n:1\r\n:1\r\n",
    );
    p.exact(&["SMISMEMBER", "nokey", "a", "b"], "*2\r\n:0\r\n:0\r\n");
    p.exact(&["SREM", "s", "a", "zz", "a"], ":1\r\n");
    p.exact(&["SREM", "nokey", "a"], ":0\r\n");
    p.exact(&["SCARD", "s"], ":3\r\n");
    // Binary-safe members, the empty member included.
    p.exact(&["SADD", "bin", "", "x y", "\u{1}\u{0}"], ":3\r\n");
    p.exact(&["SISMEMBER", "bin", ""], ":1\r\n");
    p.exact(&["SCARD", "bin"], ":3\r\n");
    // The last member gone, the key is gone.
    p.exact(&["SREM", "s", "b", "c", "d"], ":3\r\n");
    p.exact(&["EXISTS", "s"], ":0\r\n");
    p.exact(&["TYPE", "bin"], "+set\r\n");
    // Arity.
    for (args, name) in [
        (&["SADD", "s"][..], "sadd"),
        (&["SREM", "s"][..], "srem"),
        (&["SCARD"][..], "scard"),
        (&["SCARD", "a", "b"][..], "scard"),
        (&["SISMEMBER", "s"][..], "sismember"),
        (&["SMISMEMBER", "s"][..], "smismember"),
        (&["SMEMBERS"][..], "smembers"),
        (&["SPOP"][..], "spop"),
        (&["SRANDMEMBER"][..], "srandmember"),
        (&["SMOVE", "a", "b"][..], "smove"),
        (&["SINTER"][..], "sinter"),
        (&["SUNION"][..], "sunion"),
        (&["SDIFF"][..], "sdiff"),
        (&["SINTERSTORE", "d"][..], "sinterstore"),
        (&["SUNIONSTORE", "d"][..], "sunionstore"),
        (&["SDIFFSTORE", "d"][..], "sdiffstore"),
        (&["SINTERCARD", "1"][..], "sintercard"),
        (&["SSCAN", "s"][..], "sscan"),
    ] {
        p.exact(
            args,
            &format!("-ERR wrong number of arguments for '{name}' command\r\n"),
        );
    }
}

#[test]
fn wrongtype_everywhere() {
    let s = Server::start();
    let mut p = Pair::new(&s, false);
    p.exact(&["SET", "str", "x"], "+OK\r\n");
    p.exact(&["SADD", "s", "1", "2"], ":2\r\n");
    for args in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SCARD", "str"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SMEMBERS", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "0"],
        &["SPOP", "str", "2"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "0"],
        &["SRANDMEMBER", "str", "-2"],
        &["SSCAN", "str", "0"],
        &["SSCAN", "str", "0", "COUNT", "0"],
        &["SMOVE", "str", "s", "1"],
        &["SMOVE", "s", "str", "1"],
        // A missing key before a wrong-typed one does not hide it.
        &["SINTER", "nokey", "str"],
        &["SINTER", "str", "nokey"],
        &["SINTER", "s", "str"],
        &["SUNION", "nokey", "str"],
        &["SDIFF", "nokey", "str"],
        &["SDIFF", "s", "str"],
        &["SINTERCARD", "2", "nokey", "str"],
        &["SINTERCARD", "1", "str"],
        &["SINTERSTORE", "d", "nokey", "str"],
        &["SUNIONSTORE", "d", "s", "str"],
        &["SDIFFSTORE", "d", "nokey", "str"],
    ] {
        p.exact(args, WRONGTYPE);
    }
    // The failed SMOVE left both keys alone; a missing source is 0 whatever the destination is.
    p.exact(&["SCARD", "s"], ":2\r\n");
    p.exact(&["SMOVE", "nokey", "str", "1"], ":0\r\n");
    p.exact(&["EXISTS", "d"], ":0\r\n");
    // And the other way round.
    p.exact(&["GET", "s"], WRONGTYPE);
    p.exact(&["INCR", "s"], WRONGTYPE);
}

#[test]
fn smembers_and_set_algebra() {
    let s = Server::start();
    let mut p = Pair::new(&s, false);
    p.exact(&["SADD", "a", "1", "2", "3", "4"], ":4\r\n");
    p.exact(&["SADD", "b", "2", "3", "5"], ":3\r\n");
    p.exact(&["SADD", "c", "3", "9"], ":2\r\n");
    // Small integer sets come back sorted from both servers.
    p.exact(
        &["SMEMBERS", "a"],
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
    );
    p.exact(&["SMEMBERS", "nokey"], "*0\r\n");
    p.exact(&["SINTER", "a", "b"], "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
    p.exact(&["SINTER", "a", "b", "c"], "*1\r\n$1\r\n3\r\n");
    p.exact(&["SINTER", "a", "nokey"], "*0\r\n");
    p.exact(
        &["SINTER", "a"],
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
    );
    p.exact(
        &["SINTER", "a", "a"],
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
    );
    p.exact(
        &["SUNION", "a", "b", "nokey", "c"],
        "*6\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n9\r\n",
    );
    p.exact(&["SUNION", "nokey"], "*0\r\n");
    p.exact(&["SDIFF", "a", "b"], "*2\r\n$1\r\n1\r\n$1\r\n4\r\n");
    p.exact(
        &["SDIFF", "a", "b", "c", "nokey"],
        "*2\r\n$1\r\n1\r\n$1\r\n4\r\n",
    );
    p.exact(&["SDIFF", "a", "a"], "*0\r\n");
    p.exact(&["SDIFF", "nokey", "a"], "*0\r\n");
    p.exact(&["SDIFF", "b"], "*3\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n5\r\n");
    // Non-integer members: compared as sets.
    p.exact(&["SADD", "w1", "apple", "pear", "fig", "kiwi"], ":4\r\n");
    p.exact(&["SADD", "w2", "pear", "kiwi", "plum"], ":3\r\n");
    assert_eq!(p.same_members(&["SMEMBERS", "w1"]).1.len(), 4);
    assert_eq!(
        p.same_members(&["SINTER", "w1", "w2"]),
        ('*', strs(&["kiwi", "pear"]))
    );
    assert_eq!(
        p.same_members(&["SUNION", "w1", "w2"]),
        ('*', strs(&["apple", "fig", "kiwi", "pear", "plum"]))
    );
    assert_eq!(
        p.same_members(&["SDIFF", "w1", "w2"]),
        ('*', strs(&["apple", "fig"]))
    );
}

#[test]
fn store_forms_overwrite_and_delete() {
    let s = Server::start();
    let mut p = Pair::new(&s, false);
    p.exact(&["SADD", "a", "1", "2", "3"], ":3\r\n");
    p.exact(&["SADD", "b", "2", "3", "4"], ":3\r\n");
    p.exact(&["SINTERSTORE", "d", "a", "b"], ":2\r\n");
    p.exact(&["SMEMBERS", "d"], "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
    p.exact(&["SUNIONSTORE", "d", "a", "b"], ":4\r\n");
    p.exact(
        &["SMEMBERS", "d"],
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
    );
    p.exact(&["SDIFFSTORE", "d", "a", "b"], ":1\r\n");
    p.exact(&["SMEMBERS", "d"], "*1\r\n$1\r\n1\r\n");
    p.exact(&["SCARD", "d"], ":1\r\n");
    // Any type is overwritten, and its deadline goes with it.
    p.exact(&["SET", "str", "x", "EX", "100"], "+OK\r\n");
    p.exact(&["SINTERSTORE", "str", "a", "b"], ":2\r\n");
    p.exact(&["TYPE", "str"], "+set\r\n");
    p.exact(&["TTL", "str"], ":-1\r\n");
    p.exact(&["SADD", "t", "x"], ":1\r\n");
    p.exact(&["EXPIRE", "t", "100"], ":1\r\n");
    p.exact(&["SDIFFSTORE", "t", "b"], ":3\r\n");
    p.exact(&["TTL", "t"], ":-1\r\n");
    // An empty result deletes the destination, whatever it was.
    p.exact(&["SINTERSTORE", "str", "a", "nokey"], ":0\r\n");
    p.exact(&["EXISTS", "str"], ":0\r\n");
    p.exact(&["SET", "str", "x"], "+OK\r\n");
    p.exact(&["SDIFFSTORE", "str", "a", "a"], ":0\r\n");
    p.exact(&["EXISTS", "str"], ":0\r\n");
    p.exact(&["SUNIONSTORE", "str", "nokey"], ":0\r\n");
    p.exact(&["EXISTS", "str"], ":0\r\n");
    // The destination may be a source.
    p.exact(&["SUNIONSTORE", "a", "a", "b"], ":4\r\n");
    p.exact(
        &["SMEMBERS", "a"],
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
    );
    p.exact(&["SINTERSTORE", "a", "a", "b"], ":3\r\n");
    p.exact(&["SCARD", "a"], ":3\r\n");
    // Hash-tagged keys in one slot (the computed-while-applying path) and keys in other slots.
    p.exact(&["SADD", "{t}x", "1", "2", "3"], ":3\r\n");
    p.exact(&["SADD", "{t}y", "3", "4"], ":2\r\n");
    p.exact(&["SUNIONSTORE", "{t}z", "{t}x", "{t}y"], ":4\r\n");
    p.exact(&["SCARD", "{t}z"], ":4\r\n");
    p.exact(&["SINTERSTORE", "{t}x", "{t}x", "{t}y"], ":1\r\n");
    p.exact(&["SMEMBERS", "{t}x"], "*1\r\n$1\r\n3\r\n");
    p.exact(&["SDIFFSTORE", "{t}y", "{t}y", "{t}y"], ":0\r\n");
    p.exact(&["EXISTS", "{t}y"], ":0\r\n");
    p.exact(&["SUNIONSTORE", "other", "{t}x", "{t}z"], ":4\r\n");
    p.exact(
        &["SMEMBERS", "other"],
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
    );
}

#[test]
fn sintercard_options_and_errors() {
    let s = Server::start();
    let mut p = Pair::new(&s, false);
    p.exact(&["SADD", "a", "1", "2", "3", "4"], ":4\r\n");
    p.exact(&["SADD", "b", "2", "3", "4", "5"], ":4\r\n");
    p.exact(&["SINTERCARD", "2", "a", "b"], ":3\r\n");
    p.exact(&["SINTERCARD", "1", "a"], ":4\r\n");
    p.exact(&["SINTERCARD", "2", "a", "nokey"], ":0\r\n");
    p.exact(&["SINTERCARD", "2", "a", "b", "LIMIT", "2"], ":2\r\n");
    p.exact(&["SINTERCARD", "2", "a", "b", "limit", "0"], ":3\r\n");
    p.exact(&["SINTERCARD", "2", "a", "b", "LIMIT", "10"], ":3\r\n");
    p.exact(
        &["SINTERCARD", "2", "a", "b", "LIMIT", "5", "LIMIT", "1"],
        ":1\r\n",
    );
    p.exact(
        &["SINTERCARD", "1", "a", "LIMIT", "9223372036854775807"],
        ":4\r\n",
    );
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    for n in ["0", "-1", "x", "01", "99999999999999999999"] {
        p.exact(&["SINTERCARD", n, "a"], numkeys);
    }
    let too_many = "-ERR Number of keys can't be greater than number of args\r\n";
    p.exact(&["SINTERCARD", "3", "a", "b"], too_many);
    p.exact(&["SINTERCARD", "2", "a"], too_many);
    let negative = "-ERR LIMIT can't be negative\r\n";
    for l in ["-1", "x", "01", "9999999999999999999999"] {
        p.exact(&["SINTERCARD", "2", "a", "b", "LIMIT", l], negative);
    }
    p.exact(&["SINTERCARD", "2", "nokey", "str", "LIMIT", "x"], negative);
    let syntax = "-ERR syntax error\r\n";
    p.exact(&["SINTERCARD", "2", "a", "b", "LIMIT"], syntax);
    p.exact(&["SINTERCARD", "2", "a", "b", "foo", "1"], syntax);
    p.exact(&["SINTERCARD", "1", "a", "b"], syntax);
    // A LIMIT that stops early on a large intersection.
    let members: Vec<String> = (0..5000).map(|i| format!("m{i}")).collect();
    for key in ["big1", "big2"] {
        let mut args = vec!["SADD", key];
        args.extend(members.iter().map(|m| m.as_str()));
        p.exact(&args, ":5000\r\n");
    }
    p.exact(&["SINTERCARD", "2", "big1", "big2"], ":5000\r\n");
    p.exact(
        &["SINTERCARD", "2", "big1", "big2", "LIMIT", "1500"],
        ":1500\r\n",
    );
    p.exact(
        &["SINTERCARD", "3", "big1", "big2", "a", "LIMIT", "1"],
        ":0\r\n",
    );
}

#[test]
fn spop_counts_replies_and_errors() {
    let s = Server::start();
    for resp3 in [false, true] {
        let mut p = Pair::new(&s, resp3);
        let (null, empty_set) = if resp3 {
            ("_\r\n", "~0\r\n")
        } else {
            ("$-1\r\n", "*0\r\n")
        };
        p.exact(&["SPOP", "nokey"], null);
        p.exact(&["SPOP", "nokey", "3"], empty_set);
        p.exact(&["SPOP", "nokey", "0"], empty_set);
        let range = "-ERR value is out of range, must be positive\r\n";
        for c in ["-1", "x", "01", "1.5"] {
            p.exact(&["SPOP", "nokey", c], range);
        }
        p.exact(&["SPOP", "nokey", "1", "2"], "-ERR syntax error\r\n");
        p.exact(&["SADD", "s", "1", "2", "3", "4", "5"], ":5\r\n");
        p.exact(&["SPOP", "s", "0"], empty_set);
        p.exact(&["SPOP", "s", "1", "2"], "-ERR syntax error\r\n");
        // One member: a bulk string from the set, gone afterwards.
        let one = p.s.cmd_str(&["SPOP", "s"]);
        let m = one.split("\r\n").nth(1).unwrap().to_string();
        assert!(one.starts_with("$1\r\n") && "12345".contains(&m), "{one:?}");
        assert_eq!(p.s.cmd_str(&["SISMEMBER", "s", &m]), ":0\r\n");
        assert_eq!(p.s.cmd_str(&["SCARD", "s"]), ":4\r\n");
        // With a count: a set (RESP3 `~`) of distinct members, removed.
        let (kind, popped) = flat_list(&p.s.cmd_str(&["SPOP", "s", "2"]));
        assert_eq!(kind, if resp3 { '~' } else { '*' });
        assert_eq!(popped.len(), 2);
        assert_ne!(popped[0], popped[1]);
        for m in &popped {
            assert_eq!(p.s.cmd_str(&["SISMEMBER", "s", m]), ":0\r\n");
        }
        assert_eq!(p.s.cmd_str(&["SCARD", "s"]), ":2\r\n");
        // A count at least the size pops everything and deletes the key.
        let (_, rest) = flat(&p.s.cmd_str(&["SPOP", "s", "9223372036854775807"]));
        assert_eq!(rest.len(), 2);
        assert!(rest.iter().all(|m| !popped.contains(m) && *m != one));
        assert_eq!(p.s.cmd_str(&["EXISTS", "s"]), ":0\r\n");
        // And against Redis: popping everything gives the same set.
        if let Some(r) = p.r.as_mut() {
            r.cmd(&["DEL", "s"]);
        }
        p.exact(&["SADD", "s", "1", "2", "3"], ":3\r\n");
        p.same(&["SPOP", "s", "3"]);
        p.exact(&["EXISTS", "s"], ":0\r\n");
        p.exact(&["SADD", "s", "7"], ":1\r\n");
        p.exact(&["SPOP", "s"], "$1\r\n7\r\n");
        p.exact(&["EXISTS", "s"], ":0\r\n");
        p.exact(&["SPOP", "s"], null);
        p.s.cmd(&["FLUSHALL"]);
    }
}

#[test]
fn srandmember_counts_replies_and_errors() {
    let s = Server::start();
    for resp3 in [false, true] {
        let mut p = Pair::new(&s, resp3);
        let null = if resp3 { "_\r\n" } else { "$-1\r\n" };
        p.exact(&["SRANDMEMBER", "nokey"], null);
        p.exact(&["SRANDMEMBER", "nokey", "3"], "*0\r\n");
        p.exact(&["SRANDMEMBER", "nokey", "-3"], "*0\r\n");
        p.exact(&["SRANDMEMBER", "nokey", "0"], "*0\r\n");
        p.exact(
            &["SRANDMEMBER", "nokey", "x"],
            "-ERR value is not an integer or out of range\r\n",
        );
        p.exact(
            &["SRANDMEMBER", "nokey", "01"],
            "-ERR value is not an integer or out of range\r\n",
        );
        p.exact(&["SRANDMEMBER", "nokey", "1", "2"], "-ERR syntax error\r\n");
        p.exact(&["SADD", "s", "1", "2", "3", "4", "5"], ":5\r\n");
        p.exact(
            &["SRANDMEMBER", "s", "-9223372036854775808"],
            "-ERR value is out of range, value must between -9223372036854775807 and \
             9223372036854775807\r\n",
        );
        p.exact(&["SRANDMEMBER", "s", "0"], "*0\r\n");
        let all = strs(&["1", "2", "3", "4", "5"]);
        let one = p.s.cmd_str(&["SRANDMEMBER", "s"]);
        assert!(all.contains(one.split("\r\n").nth(1).unwrap()), "{one:?}");
        // Positive: distinct, an array even in RESP3; the whole set when it is smaller.
        let (kind, three) = flat_list(&p.s.cmd_str(&["SRANDMEMBER", "s", "3"]));
        assert_eq!(kind, '*');
        assert_eq!(three.iter().collect::<BTreeSet<_>>().len(), 3);
        assert!(three.iter().all(|m| all.contains(m)));
        assert_eq!(
            p.same_members(&["SRANDMEMBER", "s", "10"]),
            ('*', all.clone())
        );
        // Negative: exactly |count| members, repeats allowed.
        let (kind, many) = flat_list(&p.s.cmd_str(&["SRANDMEMBER", "s", "-20"]));
        assert_eq!(kind, '*');
        assert_eq!(many.len(), 20);
        assert!(many.iter().all(|m| all.contains(m)));
        // Nothing was removed.
        p.exact(&["SCARD", "s"], ":5\r\n");
        p.s.cmd(&["FLUSHALL"]);
    }
    // slotkv bounds a negative count's reply (Redis would try to build it whatever its size).
    let mut r = s.raw();
    r.cmd(&["SADD", "s", "a"]);
    assert_eq!(
        r.cmd_str(&["SRANDMEMBER", "s", "-9223372036854775807"]),
        "-ERR value is out of range\r\n"
    );
    let (_, v) = flat_list(&r.cmd_str(&["SRANDMEMBER", "s", "-1048576"]));
    assert_eq!(v.len(), 1 << 20);
}

/// Pipelines `n` single-member SRANDMEMBER calls and returns the members picked.
fn picks(r: &mut Raw, key: &str, n: usize) -> Vec<Vec<u8>> {
    for _ in 0..n {
        r.send_cmd(&[b"SRANDMEMBER", key.as_bytes()]);
    }
    (0..n)
        .map(|_| {
            let reply = r.read_reply();
            let body = reply.splitn(2, |&b| b == b'\n').nth(1).unwrap();
            body[..body.len() - 2].to_vec()
        })
        .collect()
}

fn sadd_all(r: &mut Raw, key: &str, members: &[Vec<u8>]) -> String {
    let mut cmd: Vec<&[u8]> = vec![b"SADD", key.as_bytes()];
    cmd.extend(members.iter().map(|m| m.as_slice()));
    r.send_cmd(&cmd);
    String::from_utf8_lossy(&r.read_reply()).into_owned()
}

#[test]
fn random_picks_are_uniform_on_big_sets() {
    // Above 512 members, small counts go through the rank markers instead of reading the set. Member names
    // that defeat a random seek into the byte range (hex, decimal ids, two far-apart clusters, binary)
    // must still be picked uniformly: 2000 members, 6000 picks, so each is expected 3 times and about 95%
    // of them show up; a seek-biased sampler reaches a small fraction.
    let s = Server::start();
    let mut r = s.raw();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let families: Vec<(&str, Vec<Vec<u8>>)> = vec![
        (
            "hex",
            (0..2000)
                .map(|_| format!("{:016x}", rng.gen::<u64>()).into_bytes())
                .collect(),
        ),
        (
            "decimal",
            (0..2000)
                .map(|i| format!("user:{i}").into_bytes())
                .collect(),
        ),
        (
            "clusters",
            (0..2000)
                .map(|i| {
                    if i % 2 == 0 {
                        format!("a{i}")
                    } else {
                        format!("zzzz{i}")
                    }
                    .into_bytes()
                })
                .collect(),
        ),
        (
            "binary",
            (0..2000u32)
                .map(|i| {
                    let mut m = b"p-".to_vec();
                    m.extend_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
                    m.push((i % 256) as u8);
                    m
                })
                .collect(),
        ),
    ];
    for (name, members) in &families {
        assert_eq!(sadd_all(&mut r, name, members), ":2000\r\n");
        let all: BTreeSet<&[u8]> = members.iter().map(|m| m.as_slice()).collect();
        let got = picks(&mut r, name, 6000);
        assert!(
            got.iter().all(|m| all.contains(m.as_slice())),
            "{name}: a non-member"
        );
        let distinct = got.iter().collect::<BTreeSet<_>>().len();
        assert!(
            distinct >= 1800,
            "{name}: only {distinct} of 2000 members picked in 6000 tries"
        );
        let most = got
            .iter()
            .fold(std::collections::HashMap::new(), |mut h, m| {
                *h.entry(m).or_insert(0) += 1;
                h
            });
        let max = most.values().max().unwrap();
        assert!(
            *max <= 20,
            "{name}: one member picked {max} times (3 expected)"
        );
    }
    // Writes keep the picks uniform: 3000 members added at the end are 60% of the set.
    let late: Vec<Vec<u8>> = (0..3000)
        .map(|i| format!("zzzzzz{i:05}").into_bytes())
        .collect();
    assert_eq!(sadd_all(&mut r, "decimal", &late), ":3000\r\n");
    let got = picks(&mut r, "decimal", 4000);
    let new = got.iter().filter(|m| m.starts_with(b"zzzzzz")).count();
    assert!(
        (2000..2800).contains(&new),
        "{new} of 4000 picks among the 60% new members"
    );
    // SRANDMEMBER with counts, SPOP with counts, through the markers.
    let (_, ten) = flat_list(&r.cmd_str(&["SRANDMEMBER", "decimal", "10"]));
    assert_eq!(ten.iter().collect::<BTreeSet<_>>().len(), 10);
    let (_, rep) = flat_list(&r.cmd_str(&["SRANDMEMBER", "decimal", "-40"]));
    assert_eq!(rep.len(), 40);
    let (_, popped) = flat_list(&r.cmd_str(&["SPOP", "decimal", "20"]));
    assert_eq!(popped.iter().collect::<BTreeSet<_>>().len(), 20);
    assert_eq!(r.cmd_str(&["SCARD", "decimal"]), ":4980\r\n");
    for m in &popped {
        assert_eq!(r.cmd_str(&["SISMEMBER", "decimal", m]), ":0\r\n");
    }
    for _ in 0..20 {
        r.send_cmd(&[b"SPOP", b"binary", b"7"]);
        let reply = r.read_reply();
        assert!(reply.starts_with(b"*7\r\n"), "{reply:?}");
    }
    assert_eq!(r.cmd_str(&["SCARD", "binary"]), ":1860\r\n");
    r.send_cmd(&[b"SRANDMEMBER", b"binary", b"-100"]);
    assert!(r.read_reply().starts_with(b"*100\r\n"));
    // Pop one at a time down to nothing: every pop a member, the count exact, the key gone at the end.
    let mut left = 1860;
    while left > 0 {
        let reply = r.cmd(&["SPOP", "binary"]);
        assert!(reply.starts_with(b"$"), "{reply:?}");
        left -= 1;
        if left % 300 == 0 {
            assert_eq!(r.cmd_str(&["SCARD", "binary"]), int(left));
        }
    }
    assert_eq!(r.cmd_str(&["EXISTS", "binary"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["SPOP", "binary"]), "$-1\r\n");
}

#[test]
fn smove_rules() {
    let s = Server::start();
    let mut p = Pair::new(&s, false);
    p.exact(&["SADD", "a", "1", "2", "3"], ":3\r\n");
    p.exact(&["SADD", "b", "2", "3", "4"], ":3\r\n");
    p.exact(&["SET", "str", "x"], "+OK\r\n");
    p.exact(&["SMOVE", "nokey", "str", "1"], ":0\r\n");
    p.exact(&["SMOVE", "nokey", "nokey", "1"], ":0\r\n");
    p.exact(&["SMOVE", "a", "str", "1"], WRONGTYPE);
    p.exact(&["SMOVE", "a", "str", "9"], WRONGTYPE);
    p.exact(&["SMOVE", "str", "a", "1"], WRONGTYPE);
    p.exact(&["SMOVE", "a", "a", "1"], ":1\r\n");
    p.exact(&["SMOVE", "a", "a", "9"], ":0\r\n");
    p.exact(&["SMOVE", "a", "b", "9"], ":0\r\n");
    p.exact(&["SMOVE", "a", "b", "1"], ":1\r\n");
    p.exact(
        &["SMEMBERS", "b"],
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
    );
    // Already in the destination: leaves the source only.
    p.exact(&["SMOVE", "a", "b", "2"], ":1\r\n");
    p.exact(&["SCARD", "b"], ":4\r\n");
    // A missing destination is created; an emptied source is deleted.
    p.exact(&["SMOVE", "a", "c", "3"], ":1\r\n");
    p.exact(&["EXISTS", "a"], ":0\r\n");
    p.exact(&["SMEMBERS", "c"], "*1\r\n$1\r\n3\r\n");
    // Same slot (one mutation).
    p.exact(&["SADD", "{t}1", "x", "y"], ":2\r\n");
    p.exact(&["SMOVE", "{t}1", "{t}2", "x"], ":1\r\n");
    p.exact(&["SMOVE", "{t}1", "{t}2", "y"], ":1\r\n");
    p.exact(&["EXISTS", "{t}1"], ":0\r\n");
    p.exact(&["SCARD", "{t}2"], ":2\r\n");
    p.exact(&["SET", "{t}3", "v"], "+OK\r\n");
    p.exact(&["SMOVE", "{t}2", "{t}3", "x"], WRONGTYPE);
    p.exact(&["SCARD", "{t}2"], ":2\r\n");
}

#[test]
fn sscan_options_errors_and_iteration() {
    let s = Server::start();
    let mut p = Pair::new(&s, false);
    p.exact(&["SET", "str", "x"], "+OK\r\n");
    // The cursor is checked before the key; the options only once the key is a set.
    p.exact(&["SSCAN", "nokey", "x"], "-ERR invalid cursor\r\n");
    p.exact(&["SSCAN", "str", "x"], "-ERR invalid cursor\r\n");
    p.exact(
        &["SSCAN", "nokey", "18446744073709551616"],
        "-ERR invalid cursor\r\n",
    );
    p.exact(&["SSCAN", "nokey", "0"], "*2\r\n$1\r\n0\r\n*0\r\n");
    p.exact(
        &["SSCAN", "nokey", "0", "COUNT", "0"],
        "*2\r\n$1\r\n0\r\n*0\r\n",
    );
    p.exact(&["SSCAN", "str", "0", "COUNT", "0"], WRONGTYPE);
    p.exact(&["SADD", "s", "1", "2", "3"], ":3\r\n");
    let syntax = "-ERR syntax error\r\n";
    p.exact(&["SSCAN", "s", "0", "COUNT", "0"], syntax);
    p.exact(&["SSCAN", "s", "0", "COUNT", "-1"], syntax);
    p.exact(&["SSCAN", "s", "0", "MATCH"], syntax);
    p.exact(&["SSCAN", "s", "0", "foo", "bar"], syntax);
    p.exact(
        &["SSCAN", "s", "0", "COUNT", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
    p.exact(
        &["SSCAN", "s", "0"],
        "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
    );
    p.exact(
        &["SSCAN", "s", "0", "MATCH", "2", "COUNT", "100"],
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\n2\r\n",
    );
    // A full iteration in small steps returns every member exactly once (nothing changes meanwhile).
    let mut r = s.raw();
    let mut args = vec!["SADD".to_string(), "w".to_string()];
    args.extend((0..1000).map(|i| format!("w{i}")));
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    assert_eq!(r.cmd_str(&a), ":1000\r\n");
    let (all, calls) = sscan_all(&mut r, "w", &["COUNT", "7"]);
    assert_eq!(all.len(), 1000);
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 1000);
    assert!(calls >= 1000 / 7, "{calls} calls");
    let (matched, _) = sscan_all(&mut r, "w", &["MATCH", "w1*", "COUNT", "50"]);
    assert_eq!(matched.len(), 111);
    assert!(matched.iter().all(|m| m.starts_with("w1")));
}

/// A full SSCAN iteration: every member returned (in order) and the number of calls.
fn sscan_all(r: &mut Raw, key: &str, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["SSCAN", key, cursor.as_str()];
        args.extend_from_slice(extra);
        let reply = r.cmd_str(&args);
        calls += 1;
        // *2 $n cursor *k items...
        let rest = reply.strip_prefix("*2\r\n").expect("scan reply");
        let mut lines = rest.splitn(3, "\r\n");
        lines.next();
        let next = lines.next().unwrap().to_string();
        let (_, items) = flat_list(lines.next().unwrap());
        out.extend(items);
        if next == "0" {
            return (out, calls);
        }
        cursor = next;
    }
}

#[test]
fn resp3_reply_types() {
    let s = Server::start();
    let mut p = Pair::new(&s, true);
    p.exact(&["SADD", "a", "1", "2", "3"], ":3\r\n");
    p.exact(&["SADD", "b", "2", "3", "4"], ":3\r\n");
    p.exact(
        &["SMEMBERS", "a"],
        "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
    );
    p.exact(&["SMEMBERS", "nokey"], "~0\r\n");
    p.exact(&["SINTER", "a", "b"], "~2\r\n$1\r\n2\r\n$1\r\n3\r\n");
    p.exact(&["SINTER", "a", "nokey"], "~0\r\n");
    p.exact(
        &["SUNION", "a", "b"],
        "~4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
    );
    p.exact(&["SUNION", "nokey"], "~0\r\n");
    p.exact(&["SDIFF", "a", "b"], "~1\r\n$1\r\n1\r\n");
    p.exact(&["SDIFF", "nokey", "a"], "~0\r\n");
    p.exact(&["SISMEMBER", "a", "1"], ":1\r\n");
    p.exact(&["SMISMEMBER", "a", "1", "9"], "*2\r\n:1\r\n:0\r\n");
    p.exact(&["SCARD", "a"], ":3\r\n");
    p.exact(&["SINTERCARD", "2", "a", "b"], ":2\r\n");
    p.exact(&["SINTERSTORE", "d", "a", "b"], ":2\r\n");
    p.exact(&["SSCAN", "nokey", "0"], "*2\r\n$1\r\n0\r\n*0\r\n");
    p.exact(
        &["SSCAN", "a", "0"],
        "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
    );
    p.exact(&["SPOP", "nokey"], "_\r\n");
    p.exact(&["SRANDMEMBER", "nokey"], "_\r\n");
    p.exact(&["SPOP", "a", "0"], "~0\r\n");
    p.exact(
        &["SPOP", "a", "3"],
        "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
    );
    p.exact(
        &["SRANDMEMBER", "b", "3"],
        "*3\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
    );
}

#[test]
fn expiry_applies_to_sets() {
    let s = Server::start();
    let mut r = s.raw();
    r.cmd(&["SADD", "s", "a", "b"]);
    assert_eq!(r.cmd_str(&["PEXPIRE", "s", "150"]), ":1\r\n");
    // SADD and SREM keep the deadline.
    assert_eq!(r.cmd_str(&["SADD", "s", "c"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["SREM", "s", "a"]), ":1\r\n");
    let ttl = r.cmd_str(&["PTTL", "s"]);
    assert!(ttl.starts_with(':') && ttl != ":-1\r\n", "{ttl:?}");
    r.cmd(&["SADD", "keep", "x"]);
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(r.cmd_str(&["EXISTS", "s"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["SCARD", "s"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["SMEMBERS", "s"]), "*0\r\n");
    assert_eq!(r.cmd_str(&["SISMEMBER", "s", "b"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["SPOP", "s"]), "$-1\r\n");
    assert_eq!(r.cmd_str(&["SINTER", "s", "keep"]), "*0\r\n");
    assert_eq!(r.cmd_str(&["SUNION", "s", "keep"]), "*1\r\n$1\r\nx\r\n");
    // Recreated after expiry: a fresh, empty set without a deadline (old members do not come back).
    assert_eq!(r.cmd_str(&["SADD", "s", "z"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["SMEMBERS", "s"]), "*1\r\n$1\r\nz\r\n");
    assert_eq!(r.cmd_str(&["SCARD", "s"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["TTL", "s"]), ":-1\r\n");
    // An expired string is no obstacle either.
    r.cmd(&["SET", "str", "v", "PX", "50"]);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(r.cmd_str(&["SADD", "str", "m"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["TYPE", "str"]), "+set\r\n");
}

#[test]
fn del_then_recreate_and_rename_copy() {
    let s = Server::start();
    let mut r = s.raw();
    let mut args = vec!["SADD".to_string(), "s".to_string()];
    args.extend((0..500).map(|i| format!("old{i}")));
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    assert_eq!(r.cmd_str(&a), ":500\r\n");
    assert_eq!(r.cmd_str(&["DEL", "s"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["SADD", "s", "new"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["SMEMBERS", "s"]), "*1\r\n$3\r\nnew\r\n");
    assert_eq!(r.cmd_str(&["SISMEMBER", "s", "old1"]), ":0\r\n");
    assert_eq!(
        r.cmd_str(&["SSCAN", "s", "0"]),
        "*2\r\n$1\r\n0\r\n*1\r\n$3\r\nnew\r\n"
    );
    // Overwritten by SET, then a set again.
    r.cmd(&["SET", "s", "v"]);
    assert_eq!(r.cmd_str(&["SADD", "s", "x"]), WRONGTYPE);
    r.cmd(&["DEL", "s"]);
    assert_eq!(r.cmd_str(&["SADD", "s", "x"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["SCARD", "s"]), ":1\r\n");
    // RENAME and COPY carry the members.
    r.cmd(&["SADD", "s", "y", "z"]);
    assert_eq!(r.cmd_str(&["RENAME", "s", "t"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["EXISTS", "s"]), ":0\r\n");
    assert_eq!(
        flat(&r.cmd_str(&["SMEMBERS", "t"])).1,
        strs(&["x", "y", "z"])
    );
    assert_eq!(r.cmd_str(&["SCARD", "t"]), ":3\r\n");
    assert_eq!(r.cmd_str(&["COPY", "t", "u"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["SREM", "t", "x"]), ":1\r\n");
    assert_eq!(
        flat(&r.cmd_str(&["SMEMBERS", "u"])).1,
        strs(&["x", "y", "z"])
    );
    assert_eq!(r.cmd_str(&["SADD", "u", "w"]), ":1\r\n");
    assert_eq!(r.cmd_str(&["SCARD", "u"]), ":4\r\n");
    assert_eq!(r.cmd_str(&["SCARD", "t"]), ":2\r\n");
    assert_eq!(
        r.cmd_str(&["RENAME", "{a}1", "{a}2"]),
        "-ERR no such key\r\n"
    );
    r.cmd(&["SADD", "{a}1", "p", "q"]);
    assert_eq!(r.cmd_str(&["RENAME", "{a}1", "{a}2"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["SISMEMBER", "{a}2", "q"]), ":1\r\n");
    assert_eq!(
        flat(&r.cmd_str(&["SPOP", "{a}2", "5"])).1,
        strs(&["p", "q"])
    );
    assert_eq!(r.cmd_str(&["EXISTS", "{a}2"]), ":0\r\n");
}

#[test]
fn keys_on_two_cores() {
    let s = Server::with_cores(2);
    let mut p = Pair::new(&s, false);
    let (x0, y0) = (key_on(0, "x"), key_on(0, "y"));
    let (x1, y1) = (key_on(1, "x"), key_on(1, "y"));
    p.exact(&["SADD", &x0, "1", "2", "3", "4"], ":4\r\n");
    p.exact(&["SADD", &x1, "2", "3", "5"], ":3\r\n");
    p.exact(&["SADD", &y1, "3", "6"], ":2\r\n");
    p.exact(&["SINTER", &x0, &x1], "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
    p.exact(&["SINTER", &x0, &x1, &y1], "*1\r\n$1\r\n3\r\n");
    p.exact(&["SINTER", &x0, "nokey", &x1], "*0\r\n");
    p.exact(
        &["SUNION", &x0, &x1, &y1],
        "*6\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n",
    );
    p.exact(&["SDIFF", &x0, &x1], "*2\r\n$1\r\n1\r\n$1\r\n4\r\n");
    p.exact(&["SDIFF", &x1, &x0, &y1], "*1\r\n$1\r\n5\r\n");
    p.exact(&["SDIFF", "nokey", &x0], "*0\r\n");
    p.exact(&["SINTERCARD", "3", &x0, &x1, &y1], ":1\r\n");
    p.exact(&["SINTERCARD", "2", &x0, &x1, "LIMIT", "1"], ":1\r\n");
    // WRONGTYPE on the other core, even behind an empty result.
    p.exact(&["SET", &y0, "str"], "+OK\r\n");
    p.exact(&["SINTER", &x1, "nokey", &y0], WRONGTYPE);
    p.exact(&["SINTER", &y0, &x1], WRONGTYPE);
    p.exact(&["SUNION", &x1, &y0], WRONGTYPE);
    p.exact(&["SDIFF", &x1, &y0], WRONGTYPE);
    p.exact(&["SDIFF", "nokey", &x1, &y0], WRONGTYPE);
    p.exact(&["SINTERCARD", "2", &x1, &y0], WRONGTYPE);
    p.exact(&["SINTERSTORE", &x0, &x1, &y0], WRONGTYPE);
    p.exact(&["SCARD", &x0], ":4\r\n");
    // STORE forms: destination on the other core, overwriting a string, deleting when empty.
    p.exact(&["SINTERSTORE", &y0, &x0, &x1], ":2\r\n");
    p.exact(&["SMEMBERS", &y0], "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
    p.exact(&["SUNIONSTORE", &y0, &x0, &x1, &y1], ":6\r\n");
    p.exact(&["SCARD", &y0], ":6\r\n");
    p.exact(&["SDIFFSTORE", &y0, &x0, &x1], ":2\r\n");
    p.exact(&["SMEMBERS", &y0], "*2\r\n$1\r\n1\r\n$1\r\n4\r\n");
    p.exact(&["SINTERSTORE", &y0, &x0, &y1, "nokey"], ":0\r\n");
    p.exact(&["EXISTS", &y0], ":0\r\n");
    p.exact(&["SUNIONSTORE", &x1, &x1, &x0], ":5\r\n");
    p.exact(&["SCARD", &x1], ":5\r\n");
    // SMOVE across cores, both ways, with Redis's checks.
    p.exact(&["SMOVE", &x0, &y0, "1"], ":1\r\n");
    p.exact(&["SMEMBERS", &y0], "*1\r\n$1\r\n1\r\n");
    p.exact(&["SMOVE", &x0, &y1, "1"], ":0\r\n");
    p.exact(&["SMOVE", &y1, &x0, "6"], ":1\r\n");
    p.exact(&["SMOVE", &y1, &x0, "3"], ":1\r\n");
    p.exact(&["EXISTS", &y1], ":0\r\n");
    p.exact(&["SMOVE", &y1, &x0, "3"], ":0\r\n");
    p.exact(&["SET", &y1, "str"], "+OK\r\n");
    p.exact(&["SMOVE", &x0, &y1, "2"], WRONGTYPE);
    p.exact(&["SMOVE", &y1, &x0, "2"], WRONGTYPE);
    p.exact(&["SMOVE", "nokey", &y1, "2"], ":0\r\n");
    p.exact(
        &["SMEMBERS", &x0],
        "*4\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n6\r\n",
    );
    // RENAME and COPY of a set between cores.
    p.exact(&["RENAME", &x0, &x1], "+OK\r\n");
    p.exact(
        &["SMEMBERS", &x1],
        "*4\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n6\r\n",
    );
    p.exact(&["COPY", &x1, &x0], ":1\r\n");
    p.exact(&["SADD", &x0, "9"], ":1\r\n");
    p.exact(&["SCARD", &x0], ":5\r\n");
    p.exact(&["SCARD", &x1], ":4\r\n");
    // Same core, different slots: the computed-here path.
    let z0 = key_on(0, "z");
    p.exact(&["SUNIONSTORE", &z0, &x0, &y0], ":6\r\n");
    p.exact(&["SMOVE", &z0, &y0, "9"], ":1\r\n");
    p.exact(&["SMEMBERS", &y0], "*2\r\n$1\r\n1\r\n$1\r\n9\r\n");
    p.exact(&["SINTERSTORE", &y0, &z0, &y0], ":1\r\n");
    p.exact(&["SMEMBERS", &y0], "*1\r\n$1\r\n1\r\n");
}

#[test]
fn sets_survive_a_restart() {
    let mut s = Server::with_cores(2);
    let mut r = s.raw();
    let (k0, k1) = (key_on(0, "p"), key_on(1, "p"));
    let mut args = vec!["SADD".to_string(), k0.clone()];
    args.extend((0..300).map(|i| format!("m{i}")));
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    assert_eq!(r.cmd_str(&a), ":300\r\n");
    assert_eq!(r.cmd_str(&["SREM", &k0, "m7", "m8"]), ":2\r\n");
    assert_eq!(r.cmd_str(&["SUNIONSTORE", &k1, &k0]), ":298\r\n");
    assert!(r.cmd_str(&["SPOP", &k1, "8"]).starts_with("*8\r\n"));
    assert_eq!(r.cmd_str(&["PEXPIRE", &k1, "3600000"]), ":1\r\n");
    let before0 = flat(&r.cmd_str(&["SMEMBERS", &k0])).1;
    let before1 = flat(&r.cmd_str(&["SMEMBERS", &k1])).1;
    assert_eq!(before1.len(), 290);
    drop(r);
    assert_eq!(s.stop(), Some(0));
    s.restart();
    let mut r = s.raw();
    assert_eq!(flat(&r.cmd_str(&["SMEMBERS", &k0])).1, before0);
    assert_eq!(flat(&r.cmd_str(&["SMEMBERS", &k1])).1, before1);
    assert_eq!(r.cmd_str(&["SCARD", &k0]), ":298\r\n");
    assert_eq!(r.cmd_str(&["SCARD", &k1]), ":290\r\n");
    assert_eq!(r.cmd_str(&["SISMEMBER", &k0, "m7"]), ":0\r\n");
    let ttl = r.cmd_str(&["TTL", &k1]);
    assert!(ttl.starts_with(":3"), "{ttl:?}");
    assert_eq!(r.cmd_str(&["SINTERCARD", "2", &k0, &k1]), ":290\r\n");
}

#[test]
fn large_set_stays_quick() {
    let s = Server::with_cores(2);
    let mut r = s.raw();
    let big = key_on(0, "big");
    let small = key_on(1, "small");
    let n = 100_000;
    let started = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let members: Vec<String> = chunk.iter().map(|i| format!("member:{i}")).collect();
        let mut cmd: Vec<&[u8]> = vec![b"SADD", big.as_bytes()];
        cmd.extend(members.iter().map(|m| m.as_bytes()));
        r.send_cmd(&cmd);
    }
    for _ in 0..n / 1000 {
        assert_eq!(&r.read_reply()[..], b":1000\r\n");
    }
    let load = started.elapsed();
    assert_eq!(r.cmd_str(&["SCARD", &big]), int(n as i64));

    // Point reads do not depend on the set's size.
    let started = Instant::now();
    for i in 0..1000 {
        let m = format!("member:{}", i * 97);
        r.send_cmd(&[b"SISMEMBER", big.as_bytes(), m.as_bytes()]);
    }
    for _ in 0..1000 {
        assert_eq!(&r.read_reply()[..], b":1\r\n");
    }
    assert_eq!(r.cmd_str(&["SISMEMBER", &big, "member:100000"]), ":0\r\n");
    let point = started.elapsed();
    assert!(
        point < Duration::from_secs(2),
        "1000 SISMEMBER took {point:?}"
    );

    // Random picks and small pops do not read the set.
    let started = Instant::now();
    for _ in 0..200 {
        assert!(r.cmd(&["SRANDMEMBER", &big]).starts_with(b"$"));
    }
    let (_, popped) = flat_list(&r.cmd_str(&["SPOP", &big, "10"]));
    assert_eq!(popped.iter().collect::<BTreeSet<_>>().len(), 10);
    let random = started.elapsed();
    assert!(
        random < Duration::from_secs(2),
        "random picks took {random:?}"
    );
    assert_eq!(r.cmd_str(&["SCARD", &big]), int(n as i64 - 10));

    // A full SSCAN returns every member once, in a few hundred calls.
    let started = Instant::now();
    let (all, calls) = sscan_all(&mut r, &big, &["COUNT", "500"]);
    assert_eq!(all.len(), n - 10);
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), n - 10);
    assert!(calls <= (n - 10) / 500 + 1, "{calls}");
    let scan = started.elapsed();
    assert!(scan < Duration::from_secs(10), "SSCAN took {scan:?}");

    // Intersecting with a small set on the other core tests the small set's members only.
    r.cmd(&["SADD", &big, "member:5", "member:99999"]);
    r.cmd(&[
        "SADD",
        &small,
        "member:5",
        "member:99999",
        "nope",
        &popped[0],
    ]);
    let started = Instant::now();
    let (_, inter) = flat(&r.cmd_str(&["SINTER", &big, &small]));
    assert_eq!(inter, strs(&["member:5", "member:99999"]));
    assert_eq!(r.cmd_str(&["SINTERCARD", "2", &small, &big]), ":2\r\n");
    let cross = started.elapsed();
    assert!(cross < Duration::from_secs(1), "SINTER took {cross:?}");
    let (_, diff) = flat(&r.cmd_str(&["SDIFF", &small, &big]));
    assert_eq!(diff, strs(&["nope", &popped[0]]));
    eprintln!(
        "100k set: load {load:?}, 1000 SISMEMBER {point:?}, 200 SRANDMEMBER + SPOP 10 {random:?}, \
         full SSCAN {scan:?}, cross-core SINTER {cross:?}"
    );
}

//! Differential test of the data types: seeded random command sequences over hashes, lists, sets, sorted
//! sets and the keyspace, run against Debian's redis-server 7 and slotkv (two cores, so multi-key commands
//! take the cross-core paths) side by side, in RESP2 and in RESP3, with every reply compared.
//!
//! Replies are compared byte for byte, except where Redis leaves the order unspecified (SMEMBERS, HGETALL,
//! SINTER, ...): those are compared as multisets (HGETALL and friends as sets of pairs). Commands whose
//! result is random (SRANDMEMBER, HRANDFIELD, ZRANDMEMBER, SPOP with a count below the set's size) are
//! compared by shape only — and SPOP always pops at least the whole set, so both servers stay identical.
//!
//! `TYPES_SEED` replays a run, `TYPES_STEPS` lengthens it (CI runs the default: a few thousand commands).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use slotkv_tests::{Raw, RedisServer, Server};

/// A parsed reply, enough to canonicalise unordered collections.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum R {
    Line(u8, Vec<u8>),
    Bulk(u8, Option<Vec<u8>>),
    Agg(u8, Option<Vec<R>>),
}

fn parse(buf: &[u8], pos: &mut usize) -> R {
    let t = buf[*pos];
    let end = *pos + buf[*pos..].windows(2).position(|w| w == b"\r\n").unwrap();
    let line = buf[*pos + 1..end].to_vec();
    *pos = end + 2;
    let n = || std::str::from_utf8(&line).unwrap().parse::<i64>().unwrap();
    match t {
        b'$' | b'=' | b'!' => {
            if n() < 0 {
                return R::Bulk(t, None);
            }
            let len = n() as usize;
            let v = buf[*pos..*pos + len].to_vec();
            *pos += len + 2;
            R::Bulk(t, Some(v))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            if n() < 0 {
                return R::Agg(t, None);
            }
            let count = if t == b'%' || t == b'|' { 2 * n() } else { n() };
            R::Agg(t, Some((0..count).map(|_| parse(buf, pos)).collect()))
        }
        _ => R::Line(t, line),
    }
}

/// Sorts an unordered reply: a flat array/set is sorted; a map or a flat field-value array is sorted by
/// pairs; `[cursor, [items]]` scans are not canonicalised here (they are collected whole).
fn canon(r: R, pairs: bool) -> R {
    match r {
        R::Agg(t, Some(items)) => {
            let mut items = items;
            if pairs || t == b'%' {
                let mut ps: Vec<Vec<R>> = items.chunks(2).map(|c| c.to_vec()).collect();
                ps.sort();
                items = ps.concat();
            } else {
                items.sort();
            }
            R::Agg(t, Some(items))
        }
        other => other,
    }
}

/// Reduces a reply to its shape (type and length), for random results.
fn shape(r: &R) -> String {
    match r {
        R::Agg(t, Some(v)) => format!("{}{}", *t as char, v.len()),
        R::Agg(t, None) => format!("{}nil", *t as char),
        R::Bulk(t, b) => format!("{}{}", *t as char, b.is_some()),
        R::Line(t, l) if *t == b'-' => format!("-{}", String::from_utf8_lossy(l)),
        R::Line(t, _) => format!("{}", *t as char),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Cmp {
    Exact,
    Unordered,
    UnorderedPairs,
    /// `[cursor, [items]]` with the items unordered (`true`: as field-value pairs).
    Scan(bool),
    Shape,
}

/// Every key the run uses: three per family (one pair hash-tagged onto one slot) plus strings.
const KEYS: [&str; 14] = [
    "h1", "h2", "{t}h", "l1", "l2", "{t}l", "s1", "s2", "{t}s", "z1", "z2", "{t}z", "str", "{t}str",
];

thread_local! {
    /// The family whose keys `key` prefers for the command being generated.
    static FAMILY: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn key(rng: &mut StdRng) -> String {
    // Mostly a key of the command's own family, so commands build real collections; sometimes any key,
    // so WRONGTYPE and cross-type RENAME/COPY happen too. Few keys: commands collide and overwrite.
    let fam = FAMILY.with(|f| f.get());
    if fam < 4 && rng.gen_range(0..10) != 0 {
        KEYS[fam * 3 + rng.gen_range(0..3)].to_string()
    } else if fam == 4 {
        KEYS[12 + rng.gen_range(0..2)].to_string()
    } else {
        KEYS[rng.gen_range(0..KEYS.len())].to_string()
    }
}

fn member(rng: &mut StdRng) -> String {
    let m = ["m1", "m2", "m3", "m4", "10", "2", "-3", "x y", ""];
    m[rng.gen_range(0..m.len())].to_string()
}

fn int(rng: &mut StdRng) -> String {
    let v = ["0", "1", "-1", "2", "3", "-2", "5", "10", "-10", "x"];
    v[rng.gen_range(0..v.len())].to_string()
}

fn score(rng: &mut StdRng) -> String {
    let v = [
        "0", "1", "1.5", "-2", "3", "10", "+inf", "-inf", "2.5e3", "nan", "x", "(1", "(2.5",
    ];
    v[rng.gen_range(0..v.len())].to_string()
}

fn lex(rng: &mut StdRng) -> String {
    let v = ["-", "+", "[m1", "(m2", "[m4", "(", "m1", "[", "[10"];
    v[rng.gen_range(0..v.len())].to_string()
}

fn pick(rng: &mut StdRng, v: &[&str]) -> String {
    v[rng.gen_range(0..v.len())].to_string()
}

fn hash_cmd(rng: &mut StdRng, k: String) -> (Vec<String>, Cmp) {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match rng.gen_range(0..15) {
        0 | 1 => {
            let mut c = s(&["HSET"]);
            c.push(k);
            for _ in 0..rng.gen_range(1..4) {
                c.push(member(rng));
                c.push(int(rng));
            }
            (c, Cmp::Exact)
        }
        2 => (vec!["HSETNX".into(), k, member(rng), int(rng)], Cmp::Exact),
        3 => (vec!["HGET".into(), k, member(rng)], Cmp::Exact),
        4 => (
            vec!["HMGET".into(), k, member(rng), member(rng)],
            Cmp::Exact,
        ),
        5 => (vec!["HDEL".into(), k, member(rng), member(rng)], Cmp::Exact),
        6 => (
            vec![pick(rng, &["HLEN", "HKEYS", "HVALS"]), k],
            Cmp::Unordered,
        ),
        7 => (vec!["HGETALL".into(), k], Cmp::UnorderedPairs),
        8 => (vec!["HEXISTS".into(), k, member(rng)], Cmp::Exact),
        9 => (vec!["HSTRLEN".into(), k, member(rng)], Cmp::Exact),
        10 => (vec!["HINCRBY".into(), k, member(rng), int(rng)], Cmp::Exact),
        11 => (
            vec!["HINCRBYFLOAT".into(), k, member(rng), score(rng)],
            Cmp::Exact,
        ),
        12 => {
            let mut c = vec!["HRANDFIELD".into(), k];
            if rng.gen_bool(0.7) {
                c.push(int(rng));
                if rng.gen_bool(0.5) {
                    c.push("WITHVALUES".into());
                }
            }
            (c, Cmp::Shape)
        }
        13 => (
            vec!["HSCAN".into(), k, "0".into(), "COUNT".into(), "1000".into()],
            Cmp::Scan(true),
        ),
        _ => (vec!["HMSET".into(), k, member(rng), int(rng)], Cmp::Exact),
    }
}

fn list_cmd(rng: &mut StdRng, k: String) -> (Vec<String>, Cmp) {
    match rng.gen_range(0..21) {
        0..=2 => {
            let mut c = vec![pick(rng, &["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]), k];
            for _ in 0..rng.gen_range(1..4) {
                c.push(member(rng));
            }
            (c, Cmp::Exact)
        }
        3 => (vec![pick(rng, &["LPOP", "RPOP"]), k], Cmp::Exact),
        4 => (vec![pick(rng, &["LPOP", "RPOP"]), k, int(rng)], Cmp::Exact),
        5 => (vec!["LLEN".into(), k], Cmp::Exact),
        6 | 7 => (vec!["LRANGE".into(), k, int(rng), int(rng)], Cmp::Exact),
        8 => (vec!["LINDEX".into(), k, int(rng)], Cmp::Exact),
        9 => (vec!["LSET".into(), k, int(rng), member(rng)], Cmp::Exact),
        10 => (
            vec![
                "LINSERT".into(),
                k,
                pick(rng, &["BEFORE", "AFTER", "MIDDLE"]),
                member(rng),
                member(rng),
            ],
            Cmp::Exact,
        ),
        11 => (vec!["LREM".into(), k, int(rng), member(rng)], Cmp::Exact),
        12 => (vec!["LTRIM".into(), k, int(rng), int(rng)], Cmp::Exact),
        13 => {
            let mut c = vec!["LPOS".into(), k, member(rng)];
            for _ in 0..rng.gen_range(0..3) {
                c.push(pick(rng, &["RANK", "COUNT", "MAXLEN"]));
                c.push(int(rng));
            }
            (c, Cmp::Exact)
        }
        14 => (
            vec![
                "LMOVE".into(),
                k,
                key(rng),
                pick(rng, &["LEFT", "RIGHT"]),
                pick(rng, &["LEFT", "RIGHT", "UP"]),
            ],
            Cmp::Exact,
        ),
        15 => (vec!["RPOPLPUSH".into(), k, key(rng)], Cmp::Exact),
        16 => {
            let mut c = vec!["LMPOP".into(), "2".into(), k, key(rng)];
            c.push(pick(rng, &["LEFT", "RIGHT"]));
            if rng.gen_bool(0.5) {
                c.push("COUNT".into());
                c.push(int(rng));
            }
            (c, Cmp::Exact)
        }
        _ => (vec!["BLPOP".into(), k, key(rng), "0.01".into()], Cmp::Exact),
    }
}

fn set_cmd(rng: &mut StdRng, k: String) -> (Vec<String>, Cmp) {
    match rng.gen_range(0..15) {
        0..=2 => {
            let mut c = vec![pick(rng, &["SADD", "SREM"]), k];
            for _ in 0..rng.gen_range(1..4) {
                c.push(member(rng));
            }
            (c, Cmp::Exact)
        }
        3 => (vec!["SMEMBERS".into(), k], Cmp::Unordered),
        4 => (vec!["SISMEMBER".into(), k, member(rng)], Cmp::Exact),
        5 => (
            vec!["SMISMEMBER".into(), k, member(rng), member(rng)],
            Cmp::Exact,
        ),
        6 => (vec!["SCARD".into(), k], Cmp::Exact),
        // Pops everything (a count at least the set's size), so both servers keep the same state.
        7 => (vec!["SPOP".into(), k, "100".into()], Cmp::Unordered),
        8 => (vec!["SRANDMEMBER".into(), k, int(rng)], Cmp::Shape),
        9 => (vec!["SMOVE".into(), k, key(rng), member(rng)], Cmp::Exact),
        10 => (
            vec![pick(rng, &["SINTER", "SUNION", "SDIFF"]), k, key(rng)],
            Cmp::Unordered,
        ),
        11 => (
            vec![
                pick(rng, &["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]),
                key(rng),
                k,
                key(rng),
            ],
            Cmp::Exact,
        ),
        12 => {
            let mut c = vec!["SINTERCARD".into(), "2".into(), k, key(rng)];
            if rng.gen_bool(0.4) {
                c.extend(["LIMIT".into(), int(rng)]);
            }
            (c, Cmp::Exact)
        }
        13 => (
            vec!["SSCAN".into(), k, "0".into(), "COUNT".into(), "1000".into()],
            Cmp::Scan(false),
        ),
        _ => (
            vec![
                pick(rng, &["SINTER", "SUNION", "SDIFF"]),
                k,
                key(rng),
                key(rng),
            ],
            Cmp::Unordered,
        ),
    }
}

fn zset_cmd(rng: &mut StdRng, k: String) -> (Vec<String>, Cmp) {
    let by_score = |rng: &mut StdRng, c: &mut Vec<String>| {
        c.push(score(rng));
        c.push(score(rng));
    };
    match rng.gen_range(0..24) {
        0..=3 => {
            let mut c = vec!["ZADD".into(), k];
            for _ in 0..rng.gen_range(0..3) {
                c.push(pick(rng, &["NX", "XX", "GT", "LT", "CH", "INCR"]));
            }
            for _ in 0..rng.gen_range(1..3) {
                c.push(score(rng));
                c.push(member(rng));
            }
            (c, Cmp::Exact)
        }
        4 => (
            vec!["ZINCRBY".into(), k, score(rng), member(rng)],
            Cmp::Exact,
        ),
        5 => (vec!["ZREM".into(), k, member(rng), member(rng)], Cmp::Exact),
        6 => (vec!["ZSCORE".into(), k, member(rng)], Cmp::Exact),
        7 => (
            vec!["ZMSCORE".into(), k, member(rng), member(rng)],
            Cmp::Exact,
        ),
        8 => (vec!["ZCARD".into(), k], Cmp::Exact),
        9 => {
            let mut c = vec!["ZCOUNT".into(), k];
            by_score(rng, &mut c);
            (c, Cmp::Exact)
        }
        10 => (vec!["ZLEXCOUNT".into(), k, lex(rng), lex(rng)], Cmp::Exact),
        11 | 12 => {
            let mut c = vec!["ZRANGE".into(), k];
            match rng.gen_range(0..3) {
                0 => {
                    c.push(int(rng));
                    c.push(int(rng));
                }
                1 => {
                    by_score(rng, &mut c);
                    c.push("BYSCORE".into());
                }
                _ => {
                    c.push(lex(rng));
                    c.push(lex(rng));
                    c.push("BYLEX".into());
                }
            }
            if rng.gen_bool(0.3) {
                c.push("REV".into());
            }
            if rng.gen_bool(0.3) {
                c.extend(["LIMIT".into(), int(rng), int(rng)]);
            }
            if rng.gen_bool(0.4) {
                c.push("WITHSCORES".into());
            }
            (c, Cmp::Exact)
        }
        13 => {
            let mut c = vec![pick(rng, &["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]), k];
            by_score(rng, &mut c);
            if rng.gen_bool(0.5) {
                c.push("WITHSCORES".into());
            }
            (c, Cmp::Exact)
        }
        14 => (
            vec![
                pick(rng, &["ZRANGEBYLEX", "ZREVRANGEBYLEX"]),
                k,
                lex(rng),
                lex(rng),
            ],
            Cmp::Exact,
        ),
        15 => (
            vec![pick(rng, &["ZRANK", "ZREVRANK"]), k, member(rng)],
            Cmp::Exact,
        ),
        16 => {
            let mut c = vec![pick(rng, &["ZPOPMIN", "ZPOPMAX"]), k];
            if rng.gen_bool(0.5) {
                c.push(int(rng));
            }
            (c, Cmp::Exact)
        }
        17 => (
            vec!["ZREMRANGEBYRANK".into(), k, int(rng), int(rng)],
            Cmp::Exact,
        ),
        18 => {
            let mut c = vec!["ZREMRANGEBYSCORE".into(), k];
            by_score(rng, &mut c);
            (c, Cmp::Exact)
        }
        19 => (
            vec!["ZREMRANGEBYLEX".into(), k, lex(rng), lex(rng)],
            Cmp::Exact,
        ),
        20 | 21 => {
            let op = pick(rng, &["ZUNION", "ZINTER", "ZDIFF"]);
            let store = rng.gen_bool(0.5);
            let mut c = vec![if store {
                format!("{op}STORE")
            } else {
                op.clone()
            }];
            if store {
                c.push(key(rng));
            }
            c.extend(["2".into(), k, key(rng)]);
            if op != "ZDIFF" && rng.gen_bool(0.4) {
                c.extend(["WEIGHTS".into(), int(rng), int(rng)]);
            }
            if op != "ZDIFF" && rng.gen_bool(0.4) {
                c.extend(["AGGREGATE".into(), pick(rng, &["SUM", "MIN", "MAX"])]);
            }
            if !store && rng.gen_bool(0.5) {
                c.push("WITHSCORES".into());
            }
            (c, Cmp::Exact)
        }
        22 => (
            vec!["ZINTERCARD".into(), "2".into(), k, key(rng)],
            Cmp::Exact,
        ),
        _ => (vec!["ZRANDMEMBER".into(), k, int(rng)], Cmp::Shape),
    }
}

fn key_cmd(rng: &mut StdRng, k: String) -> (Vec<String>, Cmp) {
    match rng.gen_range(0..9) {
        0 => (vec!["DEL".into(), k], Cmp::Exact),
        1 => (vec!["TYPE".into(), k], Cmp::Exact),
        2 => (vec!["EXISTS".into(), k, key(rng)], Cmp::Exact),
        3 => (vec!["RENAME".into(), k, key(rng)], Cmp::Exact),
        4 => (
            vec!["COPY".into(), k, key(rng), "REPLACE".into()],
            Cmp::Exact,
        ),
        5 => (vec!["PEXPIRE".into(), k, "100000".into()], Cmp::Exact),
        6 => (vec!["PERSIST".into(), k], Cmp::Exact),
        7 if k.contains("str") => (vec!["SET".into(), k, "str".into()], Cmp::Exact),
        7 => (vec!["DEL".into(), k], Cmp::Exact),
        _ => (
            vec!["OBJECT".into(), "ENCODING".into(), "nokey".into()],
            Cmp::Exact,
        ),
    }
}

fn random_command(rng: &mut StdRng) -> (Vec<String>, Cmp) {
    let fam = match rng.gen_range(0..20) {
        0..=3 => 0,
        4..=7 => 1,
        8..=11 => 2,
        12..=17 => 3,
        _ => 4,
    };
    // Keyspace commands work on the keys of one family at a time (strings included), so RENAME and COPY
    // move collections within their family and SET only ever writes the string keys.
    let key_family = rng.gen_range(0..5);
    FAMILY.with(|f| f.set(if fam == 4 { key_family } else { fam }));
    let k = key(rng);
    let (mut c, cmp) = match fam {
        0 => hash_cmd(rng, k),
        1 => list_cmd(rng, k),
        2 => set_cmd(rng, k),
        3 => zset_cmd(rng, k),
        _ => key_cmd(rng, k),
    };
    if rng.gen_range(0..50) == 0 {
        c.truncate(1); // an arity error
    }
    (c, cmp)
}

fn compare(got: &[u8], want: &[u8], cmp: Cmp) -> bool {
    if got == want {
        return true;
    }
    let (mut p, mut q) = (0, 0);
    let (g, w) = (parse(got, &mut p), parse(want, &mut q));
    match cmp {
        Cmp::Exact => false,
        Cmp::Unordered => canon(g, false) == canon(w, false),
        Cmp::UnorderedPairs => canon(g, true) == canon(w, true),
        Cmp::Shape => shape(&g) == shape(&w),
        Cmp::Scan(pairs) => {
            let items = |r: R| match r {
                R::Agg(t, Some(mut v)) if v.len() == 2 => {
                    let inner = canon(v.pop().unwrap(), pairs);
                    R::Agg(t, Some(vec![v.pop().unwrap(), inner]))
                }
                other => other,
            };
            items(g) == items(w)
        }
    }
}

fn run(resp3: bool, seed: u64, steps: usize) {
    let Some(redis) = RedisServer::start() else {
        eprintln!("/usr/bin/redis-server not installed: skipping the differential run");
        return;
    };
    let s = Server::with_cores(2);
    let mut ours = s.raw();
    let mut theirs = Raw::connect(redis.port);
    if resp3 {
        for c in [&mut ours, &mut theirs] {
            c.set_resp3(true);
            c.cmd(&["HELLO", "3"]);
        }
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut history: Vec<String> = Vec::new();
    let mut kinds = std::collections::BTreeMap::<char, usize>::new();
    let mut errors_seen = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..steps {
        let (cmd, cmp) = random_command(&mut rng);
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let want = theirs.cmd(&args);
        let got = ours.cmd(&args);
        history.push(format!("{args:?} -> {:?}", String::from_utf8_lossy(&want)));
        *kinds.entry(want[0] as char).or_default() += 1;
        if want[0] == b'-' {
            let text = String::from_utf8_lossy(&want);
            let first: String = text
                .split_whitespace()
                .take(4)
                .collect::<Vec<_>>()
                .join(" ");
            *errors_seen
                .entry(format!("{} / {first}", args[0]))
                .or_default() += 1;
        }
        assert!(
            compare(&got, &want, cmp),
            "seed {seed} resp3={resp3}: reply to {args:?} differs:\n ours:  {:?}\n redis: {:?}\nhistory:\n{}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            history[history.len().saturating_sub(25)..].join("\n")
        );
    }
    eprintln!("reply kinds: {kinds:?}");
    let mut top: Vec<_> = errors_seen.into_iter().collect();
    top.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    eprintln!("most frequent errors: {:?}", &top[..top.len().min(12)]);
    // Mostly real work, not errors: each family's commands mostly find their own type.
    let errors = kinds.get(&'-').copied().unwrap_or(0);
    assert!(
        errors * 100 < steps * 40,
        "{errors} errors in {steps} replies: {kinds:?}"
    );
    for kind in [':', '*', '-'] {
        assert!(
            kinds.get(&kind).copied().unwrap_or(0) >= 20,
            "too few '{kind}' replies: {kinds:?}"
        );
    }
    // Both key spaces end identical, type by type.
    for k in KEYS {
        let t = theirs.cmd_str(&["TYPE", k]);
        assert_eq!(ours.cmd_str(&["TYPE", k]), t, "TYPE {k}");
        let dump: &[&str] = match t.trim_start_matches(['+']).trim() {
            "hash" => &["HGETALL", k],
            "list" => &["LRANGE", k, "0", "-1"],
            "set" => &["SMEMBERS", k],
            "zset" => &["ZRANGE", k, "0", "-1", "WITHSCORES"],
            _ => &["GET", k],
        };
        let (g, w) = (ours.cmd(dump), theirs.cmd(dump));
        let cmp = match dump[0] {
            "HGETALL" => Cmp::UnorderedPairs,
            "SMEMBERS" => Cmp::Unordered,
            _ => Cmp::Exact,
        };
        assert!(compare(&g, &w, cmp), "final {dump:?}: {g:?} vs {w:?}");
    }
}

fn seed() -> u64 {
    std::env::var("TYPES_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x7E57_7195)
}

fn steps() -> usize {
    std::env::var("TYPES_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2500)
}

#[test]
fn random_type_commands_match_real_redis_resp2() {
    run(false, seed(), steps());
}

#[test]
fn random_type_commands_match_real_redis_resp3() {
    run(true, seed() ^ 0xFFFF, steps());
}

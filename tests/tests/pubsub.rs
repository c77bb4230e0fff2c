//! Black-box tests of Pub/Sub: SUBSCRIBE / UNSUBSCRIBE / PSUBSCRIBE / PUNSUBSCRIBE / PUBLISH / PUBSUB in
//! RESP2 and RESP3, subscribed-mode rules, delivery across cores and its order, pattern matching, the
//! pubsub output-buffer class cutting off a subscriber that does not read (with bounded memory), cleanup
//! on disconnect / RESET / CLIENT KILL, INFO and CLIENT LIST fields, the `redis` crate's Pub/Sub API, and a
//! byte-for-byte comparison with a real redis-server. Longer than most test files because it covers the
//! whole family, on one and two cores, in one place.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use slotkv_tests::{encode_cmd, Raw, RedisServer, Server};

// ---- helpers ----

/// Sends a command and reads `n` frames, concatenated.
fn frames(r: &mut Raw, args: &[&str], n: usize) -> String {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    r.send_cmd(&a);
    read_frames(r, n)
}

fn read_frames(r: &mut Raw, n: usize) -> String {
    (0..n)
        .map(|_| String::from_utf8_lossy(&r.read_reply()).into_owned())
        .collect()
}

/// A RESP2 array of bulk strings and integers as the server writes it (`None` = nil bulk).
fn arr(items: &[Item]) -> String {
    agg('*', items)
}

/// The same as a RESP3 push frame.
fn push(items: &[Item]) -> String {
    agg('>', items)
}

enum Item<'a> {
    B(&'a str),
    I(i64),
    Nil2,
    Nil3,
}
use Item::*;

fn agg(kind: char, items: &[Item]) -> String {
    let mut s = format!("{kind}{}\r\n", items.len());
    for i in items {
        match i {
            B(b) => s.push_str(&format!("${}\r\n{b}\r\n", b.len())),
            I(n) => s.push_str(&format!(":{n}\r\n")),
            Nil2 => s.push_str("$-1\r\n"),
            Nil3 => s.push_str("_\r\n"),
        }
    }
    s
}

fn msg(channel: &str, payload: &str) -> String {
    arr(&[B("message"), B(channel), B(payload)])
}

fn pmsg(pattern: &str, channel: &str, payload: &str) -> String {
    arr(&[B("pmessage"), B(pattern), B(channel), B(payload)])
}

/// Switches a connection to RESP3.
fn hello3(r: &mut Raw) {
    r.send_cmd(&[b"HELLO", b"3"]);
    r.set_resp3(true);
    assert!(r.read_reply().starts_with(b"%7\r\n"));
}

fn int(r: &mut Raw, args: &[&str]) -> i64 {
    let s = r.cmd_str(args);
    s.strip_prefix(':')
        .and_then(|v| v.strip_suffix("\r\n"))
        .unwrap_or_else(|| panic!("not an integer reply: {s:?}"))
        .parse()
        .unwrap()
}

/// The bulk strings of a flat RESP2 array reply, sorted.
fn sorted_bulks(reply: &str) -> Vec<String> {
    let mut out: Vec<String> = reply
        .split("\r\n")
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0].starts_with('$'))
        .map(|w| w[1].to_string())
        .collect();
    out.sort();
    out
}

fn text_of(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw).into_owned();
    let body = &s[s.find("\r\n").expect("a bulk reply") + 2..s.len() - 2];
    match s.as_bytes()[0] {
        b'$' => body.to_string(),
        b'=' => body.strip_prefix("txt:").unwrap().to_string(),
        _ => panic!("not a bulk reply: {s:?}"),
    }
}

/// INFO as field -> value (all sections).
fn info(r: &mut Raw, section: &str) -> HashMap<String, String> {
    text_of(&r.cmd(&["INFO", section]))
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Connected clients per core (INFO cores).
fn clients_per_core(r: &mut Raw) -> Vec<usize> {
    let inf = info(r, "cores");
    (0..2)
        .map(|c| {
            inf[&format!("core{c}")]
                .split(',')
                .find_map(|kv| kv.strip_prefix("clients="))
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

/// Opens connections to a 2-core node until each core holds `per_core` of them: `(conn, core)`.
fn conns_on_both_cores(s: &Server, probe: &mut Raw, per_core: usize) -> Vec<(Raw, usize)> {
    let mut out: Vec<(Raw, usize)> = Vec::new();
    for _ in 0..200 {
        let on = |core| out.iter().filter(|(_, c)| *c == core).count();
        if on(0) >= per_core && on(1) >= per_core {
            // Keep `per_core` per core; extra connections close.
            let (mut zero, mut one): (Vec<_>, Vec<_>) = out.into_iter().partition(|(_, c)| *c == 0);
            zero.truncate(per_core);
            one.truncate(per_core);
            zero.extend(one);
            return zero;
        }
        let before = clients_per_core(probe);
        let mut r = s.raw();
        assert_eq!(r.cmd_str(&["PING"]), "+PONG\r\n");
        let after = clients_per_core(probe);
        let core = (0..2)
            .find(|&c| after[c] == before[c] + 1)
            .expect("the new connection shows up on one core");
        out.push((r, core));
    }
    panic!("the kernel never spread connections over both cores");
}

/// Waits until `f` holds (polling), or panics with `what`.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

const NOT_ALLOWED: &str =
    "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";

fn not_allowed(cmd: &str) -> String {
    format!("-ERR Can't execute '{cmd}': {NOT_ALLOWED}\r\n")
}

// ---- RESP2 ----

#[test]
fn resp2_confirmations_messages_and_counts() {
    let s = Server::start();
    let mut sub = s.raw();
    let mut publ = s.raw();
    // Nothing to leave: one confirmation with a nil name.
    assert_eq!(
        frames(&mut sub, &["UNSUBSCRIBE"], 1),
        arr(&[B("unsubscribe"), Nil2, I(0)])
    );
    assert_eq!(
        frames(&mut sub, &["PUNSUBSCRIBE"], 1),
        arr(&[B("punsubscribe"), Nil2, I(0)])
    );
    assert_eq!(
        frames(&mut sub, &["UNSUBSCRIBE", "x", "y"], 2),
        arr(&[B("unsubscribe"), B("x"), I(0)]) + &arr(&[B("unsubscribe"), B("y"), I(0)])
    );
    // Not subscribed: still a normal client.
    assert_eq!(sub.cmd_str(&["GET", "k"]), "$-1\r\n");
    // A repeated channel is confirmed again without counting twice.
    assert_eq!(
        frames(&mut sub, &["SUBSCRIBE", "c1", "c2", "c1"], 3),
        arr(&[B("subscribe"), B("c1"), I(1)])
            + &arr(&[B("subscribe"), B("c2"), I(2)])
            + &arr(&[B("subscribe"), B("c1"), I(2)])
    );
    assert_eq!(
        frames(&mut sub, &["PSUBSCRIBE", "c*", "d?"], 2),
        arr(&[B("psubscribe"), B("c*"), I(3)]) + &arr(&[B("psubscribe"), B("d?"), I(4)])
    );
    // Through the channel and a pattern: two deliveries.
    assert_eq!(int(&mut publ, &["PUBLISH", "c1", "hello"]), 2);
    assert_eq!(
        read_frames(&mut sub, 2),
        msg("c1", "hello") + &pmsg("c*", "c1", "hello")
    );
    assert_eq!(int(&mut publ, &["PUBLISH", "dx", "hi"]), 1);
    assert_eq!(read_frames(&mut sub, 1), pmsg("d?", "dx", "hi"));
    assert_eq!(int(&mut publ, &["PUBLISH", "nobody", "x"]), 0);
    // Binary-safe payloads and channels.
    assert_eq!(int(&mut publ, &["PUBLISH", "c2", "a\r\nb\0c"]), 2);
    assert_eq!(
        read_frames(&mut sub, 2),
        msg("c2", "a\r\nb\0c") + &pmsg("c*", "c2", "a\r\nb\0c")
    );
    assert_eq!(
        publ.cmd_str(&["PUBLISH", "c1"]),
        "-ERR wrong number of arguments for 'publish' command\r\n"
    );

    // Unsubscribing from named channels, subscribed or not.
    assert_eq!(
        frames(&mut sub, &["UNSUBSCRIBE", "c1", "zz"], 2),
        arr(&[B("unsubscribe"), B("c1"), I(3)]) + &arr(&[B("unsubscribe"), B("zz"), I(3)])
    );
    // PUNSUBSCRIBE without names leaves every pattern (in no particular order).
    let out = frames(&mut sub, &["PUNSUBSCRIBE"], 2);
    assert!(
        out == arr(&[B("punsubscribe"), B("c*"), I(2)]) + &arr(&[B("punsubscribe"), B("d?"), I(1)])
            || out
                == arr(&[B("punsubscribe"), B("d?"), I(2)])
                    + &arr(&[B("punsubscribe"), B("c*"), I(1)]),
        "{out:?}"
    );
    // No pattern left: one nil confirmation carrying the channel count.
    assert_eq!(
        frames(&mut sub, &["PUNSUBSCRIBE"], 1),
        arr(&[B("punsubscribe"), Nil2, I(1)])
    );
    assert_eq!(
        frames(&mut sub, &["UNSUBSCRIBE"], 1),
        arr(&[B("unsubscribe"), B("c2"), I(0)])
    );
    // Out of Pub/Sub mode: everything works again, and nothing more arrives.
    assert_eq!(int(&mut publ, &["PUBLISH", "c2", "x"]), 0);
    assert_eq!(sub.cmd_str(&["PING"]), "+PONG\r\n");
    assert_eq!(sub.cmd_str(&["SET", "k", "v"]), "+OK\r\n");
}

#[test]
fn resp2_subscribed_mode_allows_only_pubsub_ping_quit_reset() {
    let s = Server::start();
    let mut sub = s.raw();
    let mut publ = s.raw();
    frames(&mut sub, &["SUBSCRIBE", "ch"], 1);
    for (args, name) in [
        (&["GET", "x"][..], "get"),
        (&["set", "x", "1"], "set"),
        (&["PUBLISH", "ch", "m"], "publish"),
        (&["CONFIG", "GET", "maxclients"], "config|get"),
        (&["client", "list"], "client|list"),
        (&["HELLO", "3"], "hello"),
        (&["PUBSUB", "NUMPAT"], "pubsub|numpat"),
        (&["SLOWLOG", "RESET"], "slowlog|reset"),
        (&["ECHO", "x"], "echo"),
    ] {
        assert_eq!(sub.cmd_str(args), not_allowed(name), "{args:?}");
    }
    // Unknown commands and arity errors come first, as in Redis.
    assert_eq!(
        sub.cmd_str(&["nosuch"]),
        "-ERR unknown command 'nosuch', with args beginning with: \r\n"
    );
    assert_eq!(
        sub.cmd_str(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        sub.cmd_str(&["SUBSCRIBE"]),
        "-ERR wrong number of arguments for 'subscribe' command\r\n"
    );
    // PING answers as an array here.
    assert_eq!(sub.cmd_str(&["PING"]), arr(&[B("pong"), B("")]));
    assert_eq!(sub.cmd_str(&["ping", "hi"]), arr(&[B("pong"), B("hi")]));
    assert_eq!(
        sub.cmd_str(&["PING", "a", "b"]),
        "-ERR wrong number of arguments for 'ping' command\r\n"
    );
    // Messages still flow between the errors.
    assert_eq!(int(&mut publ, &["PUBLISH", "ch", "m1"]), 1);
    assert_eq!(read_frames(&mut sub, 1), msg("ch", "m1"));

    // RESET leaves Pub/Sub mode and drops every subscription silently.
    assert_eq!(sub.cmd_str(&["RESET"]), "+RESET\r\n");
    assert_eq!(int(&mut publ, &["PUBLISH", "ch", "m2"]), 0);
    assert_eq!(sub.cmd_str(&["GET", "x"]), "$-1\r\n");
    assert_eq!(
        publ.cmd_str(&["PUBSUB", "NUMSUB", "ch"]),
        arr(&[B("ch"), I(0)])
    );

    // QUIT is allowed and closes.
    frames(&mut sub, &["PSUBSCRIBE", "*"], 1);
    assert_eq!(sub.cmd_str(&["QUIT"]), "+OK\r\n");
    assert!(sub.closed_by_server());
    eventually("the quitting subscriber's pattern goes", || {
        int(&mut publ, &["PUBSUB", "NUMPAT"]) == 0
    });
}

#[test]
fn replies_off_still_get_confirmations_and_messages() {
    // Redis 7 sends subscribe confirmations and messages even under CLIENT REPLY OFF.
    let s = Server::start();
    let mut sub = s.raw();
    let mut publ = s.raw();
    sub.send_cmd(&[b"CLIENT", b"REPLY", b"OFF"]);
    assert_eq!(
        frames(&mut sub, &["SUBSCRIBE", "z"], 1),
        arr(&[B("subscribe"), B("z"), I(1)])
    );
    assert_eq!(int(&mut publ, &["PUBLISH", "z", "m"]), 1);
    assert_eq!(read_frames(&mut sub, 1), msg("z", "m"));
    // Other replies stay off: this error is not sent, the next message is.
    sub.send_cmd(&[b"GET", b"x"]);
    assert_eq!(int(&mut publ, &["PUBLISH", "z", "m2"]), 1);
    assert_eq!(read_frames(&mut sub, 1), msg("z", "m2"));
}

// ---- RESP3 ----

#[test]
fn resp3_push_frames_and_every_command_allowed() {
    for cores in [1, 2] {
        let s = Server::with_cores(cores);
        let mut sub = s.raw();
        let mut publ = s.raw();
        hello3(&mut sub);
        assert_eq!(
            frames(&mut sub, &["UNSUBSCRIBE"], 1),
            push(&[B("unsubscribe"), Nil3, I(0)])
        );
        assert_eq!(
            frames(&mut sub, &["PUNSUBSCRIBE", "x"], 1),
            push(&[B("punsubscribe"), B("x"), I(0)])
        );
        assert_eq!(
            frames(&mut sub, &["SUBSCRIBE", "c1", "c2"], 2),
            push(&[B("subscribe"), B("c1"), I(1)]) + &push(&[B("subscribe"), B("c2"), I(2)])
        );
        assert_eq!(
            frames(&mut sub, &["PSUBSCRIBE", "c*"], 1),
            push(&[B("psubscribe"), B("c*"), I(3)])
        );
        // Any command runs; PING is the plain one.
        assert_eq!(sub.cmd_str(&["GET", "x"]), "_\r\n");
        assert_eq!(sub.cmd_str(&["PING"]), "+PONG\r\n");
        assert_eq!(sub.cmd_str(&["PING", "x"]), "$1\r\nx\r\n");
        // Publishing to oneself: the messages come before the reply, as in Redis.
        assert_eq!(
            frames(&mut sub, &["PUBLISH", "c1", "self"], 3),
            push(&[B("message"), B("c1"), B("self")])
                + &push(&[B("pmessage"), B("c*"), B("c1"), B("self")])
                + ":2\r\n"
        );
        // From another connection, while idle.
        assert_eq!(int(&mut publ, &["PUBLISH", "c2", "hello"]), 2);
        assert_eq!(
            read_frames(&mut sub, 2),
            push(&[B("message"), B("c2"), B("hello")])
                + &push(&[B("pmessage"), B("c*"), B("c2"), B("hello")])
        );
        assert_eq!(
            sub.cmd_str(&["PUBSUB", "NUMSUB", "c1"]),
            "*2\r\n$2\r\nc1\r\n:1\r\n"
        );
        assert_eq!(int(&mut sub, &["PUBSUB", "NUMPAT"]), 1);
        // Back to RESP2 while subscribed: RESP2 Pub/Sub mode rules apply.
        sub.cmd(&["HELLO", "2"]);
        sub.set_resp3(false);
        assert_eq!(sub.cmd_str(&["PING"]), arr(&[B("pong"), B("")]));
        assert_eq!(sub.cmd_str(&["GET", "x"]), not_allowed("get"));
        assert_eq!(int(&mut publ, &["PUBLISH", "c1", "two"]), 2);
        assert_eq!(
            read_frames(&mut sub, 2),
            msg("c1", "two") + &pmsg("c*", "c1", "two")
        );
    }
}

// ---- PUBSUB introspection ----

#[test]
fn pubsub_channels_numsub_numpat_help_and_errors() {
    let s = Server::start();
    let mut a = s.raw();
    let mut b = s.raw();
    let mut q = s.raw();
    assert_eq!(q.cmd_str(&["PUBSUB", "CHANNELS"]), "*0\r\n");
    assert_eq!(int(&mut q, &["PUBSUB", "NUMPAT"]), 0);
    frames(&mut a, &["SUBSCRIBE", "news.1", "news.2", "sport"], 3);
    frames(&mut b, &["SUBSCRIBE", "news.1"], 1);
    frames(&mut a, &["PSUBSCRIBE", "news.*", "x"], 2);
    frames(&mut b, &["PSUBSCRIBE", "news.*"], 1);
    assert_eq!(
        sorted_bulks(&q.cmd_str(&["PUBSUB", "CHANNELS"])),
        vec!["news.1", "news.2", "sport"]
    );
    assert_eq!(
        sorted_bulks(&q.cmd_str(&["PUBSUB", "CHANNELS", "news.*"])),
        vec!["news.1", "news.2"]
    );
    assert_eq!(q.cmd_str(&["PUBSUB", "CHANNELS", "nothing*"]), "*0\r\n");
    assert_eq!(
        q.cmd_str(&["PUBSUB", "NUMSUB", "news.1", "sport", "zz"]),
        arr(&[B("news.1"), I(2), B("sport"), I(1), B("zz"), I(0)])
    );
    assert_eq!(q.cmd_str(&["PUBSUB", "NUMSUB"]), "*0\r\n");
    // Distinct patterns.
    assert_eq!(int(&mut q, &["PUBSUB", "NUMPAT"]), 2);
    // No shard channels without SSUBSCRIBE.
    assert_eq!(q.cmd_str(&["PUBSUB", "SHARDCHANNELS"]), "*0\r\n");
    assert_eq!(
        q.cmd_str(&["PUBSUB", "SHARDNUMSUB", "news.1"]),
        arr(&[B("news.1"), I(0)])
    );

    let help = q.cmd_str(&["PUBSUB", "HELP"]);
    assert!(help.starts_with(
        "*14\r\n+PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+CHANNELS [<pattern>]\r\n"
    ));
    assert!(
        help.ends_with("+HELP\r\n+    Prints this help.\r\n"),
        "{help}"
    );

    for (args, expect) in [
        (
            &["PUBSUB"][..],
            "-ERR wrong number of arguments for 'pubsub' command\r\n",
        ),
        (
            &["PUBSUB", "foo"],
            "-ERR unknown subcommand 'foo'. Try PUBSUB HELP.\r\n",
        ),
        (
            &["PUBSUB", "NUMPAT", "x"],
            "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n",
        ),
        (
            &["PUBSUB", "help", "x"],
            "-ERR wrong number of arguments for 'pubsub|help' command\r\n",
        ),
        (
            &["PUBSUB", "CHANNELS", "a", "b"],
            "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n",
        ),
        (
            &["pubsub", "shardchannels", "a", "b"],
            "-ERR unknown subcommand or wrong number of arguments for 'shardchannels'. Try PUBSUB HELP.\r\n",
        ),
        (
            &["PSUBSCRIBE"],
            "-ERR wrong number of arguments for 'psubscribe' command\r\n",
        ),
    ] {
        assert_eq!(q.cmd_str(args), expect, "{args:?}");
    }
    // RESP3: the same flat arrays.
    hello3(&mut q);
    assert_eq!(
        q.cmd_str(&["PUBSUB", "NUMSUB", "sport"]),
        "*2\r\n$5\r\nsport\r\n:1\r\n"
    );
    assert_eq!(
        q.cmd_str(&["PUBSUB", "CHANNELS", "s*"]),
        "*1\r\n$5\r\nsport\r\n"
    );
}

#[test]
fn pattern_matching_follows_redis_globs() {
    let s = Server::start();
    let mut sub = s.raw();
    let mut publ = s.raw();
    let patterns = [
        "h?llo",
        "h*llo",
        "h[ae]llo",
        "h[^e]llo",
        "h[a-b]llo",
        "h\\*llo",
    ];
    let mut all = vec!["PSUBSCRIBE"];
    all.extend(patterns);
    frames(&mut sub, &all, patterns.len());
    for (channel, expect) in [
        ("hello", &["h?llo", "h*llo", "h[ae]llo"][..]),
        (
            "hallo",
            &["h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo"],
        ),
        ("hxllo", &["h?llo", "h*llo", "h[^e]llo"]),
        ("heeeello", &["h*llo"]),
        ("hllo", &["h*llo"]),
        ("h*llo", &["h?llo", "h*llo", "h[^e]llo", "h\\*llo"]),
        ("world", &[]),
    ] {
        assert_eq!(
            int(&mut publ, &["PUBLISH", channel, "m"]),
            expect.len() as i64,
            "{channel}"
        );
        let got: BTreeSet<String> = (0..expect.len())
            .map(|_| String::from_utf8_lossy(&sub.read_reply()).into_owned())
            .collect();
        let want: BTreeSet<String> = expect.iter().map(|p| pmsg(p, channel, "m")).collect();
        assert_eq!(got, want, "{channel}");
    }
    // Nothing else was delivered.
    assert_eq!(sub.cmd_str(&["PING"]), arr(&[B("pong"), B("")]));
}

// ---- several cores ----

#[test]
fn publish_reaches_subscribers_on_every_core() {
    let s = Server::with_cores(2);
    let mut probe = s.raw();
    let mut conns = conns_on_both_cores(&s, &mut probe, 3);
    // Two subscribers and one publisher per core.
    let (mut publishers, mut subs): (Vec<_>, Vec<_>) = (Vec::new(), Vec::new());
    for core in 0..2 {
        let mut mine: Vec<Raw> = Vec::new();
        while let Some(i) = conns.iter().position(|(_, c)| *c == core) {
            mine.push(conns.swap_remove(i).0);
        }
        publishers.push(mine.pop().unwrap());
        for r in mine {
            subs.push((r, core));
        }
    }
    for (i, (r, _)) in subs.iter_mut().enumerate() {
        frames(r, &["SUBSCRIBE", "all", &format!("only{i}")], 2);
        frames(r, &["PSUBSCRIBE", "a*"], 1);
    }
    // Each subscriber counts twice (channel and pattern).
    for (core, p) in publishers.iter_mut().enumerate() {
        let payload = format!("from core {core}");
        assert_eq!(int(p, &["PUBLISH", "all", &payload]), 8);
        for (r, _) in subs.iter_mut() {
            assert_eq!(
                read_frames(r, 2),
                msg("all", &payload) + &pmsg("a*", "all", &payload)
            );
        }
    }
    // A channel only one subscriber (on the other core) has.
    let other = subs.iter().position(|(_, c)| *c == 1).unwrap();
    assert_eq!(
        int(
            &mut publishers[0],
            &["PUBLISH", &format!("only{other}"), "direct"]
        ),
        1
    );
    assert_eq!(
        read_frames(&mut subs[other].0, 1),
        msg(&format!("only{other}"), "direct")
    );
    // Introspection merges the cores: channels and patterns counted once.
    let q = &mut publishers[1];
    let channels = sorted_bulks(&q.cmd_str(&["PUBSUB", "CHANNELS"]));
    assert_eq!(channels, vec!["all", "only0", "only1", "only2", "only3"]);
    assert_eq!(
        sorted_bulks(&q.cmd_str(&["PUBSUB", "CHANNELS", "only*"])).len(),
        4
    );
    assert_eq!(
        q.cmd_str(&["PUBSUB", "NUMSUB", "all", "only0", "none"]),
        arr(&[B("all"), I(4), B("only0"), I(1), B("none"), I(0)])
    );
    assert_eq!(int(q, &["PUBSUB", "NUMPAT"]), 1);
    let stats = info(q, "everything");
    assert_eq!(stats["pubsub_channels"], "5");
    assert_eq!(stats["pubsub_patterns"], "1");
    assert_eq!(stats["pubsub_clients"], "4");
    assert_eq!(
        q.cmd_str(&["PUBSUB", "CHANNELS", "a", "b"]),
        "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n"
    );
    // RESP3 publisher publishing to itself across cores: messages before the reply.
    let (mut me, _) = subs.pop().unwrap();
    frames(&mut me, &["UNSUBSCRIBE"], 2);
    frames(&mut me, &["PUNSUBSCRIBE"], 1);
    hello3(&mut me);
    frames(&mut me, &["SUBSCRIBE", "loop"], 1);
    assert_eq!(
        frames(&mut me, &["PUBLISH", "loop", "x"], 2),
        push(&[B("message"), B("loop"), B("x")]) + ":1\r\n"
    );
}

#[test]
fn one_publishers_messages_arrive_in_order_on_every_core() {
    let s = Server::with_cores(2);
    let mut probe = s.raw();
    let conns = conns_on_both_cores(&s, &mut probe, 2);
    let mut conns: Vec<(Raw, usize)> = conns;
    let (mut publisher, pcore) = conns.pop().unwrap();
    let mut subs = conns;
    assert!(
        subs.iter().any(|(_, c)| *c != pcore),
        "a subscriber on another core"
    );
    for (r, _) in subs.iter_mut() {
        frames(r, &["SUBSCRIBE", "seq"], 1);
    }
    // A pipelined burst, replies read afterwards.
    const N: usize = 3000;
    let mut batch = Vec::new();
    for i in 0..N {
        batch.extend(encode_cmd(&[b"PUBLISH", b"seq", i.to_string().as_bytes()]));
    }
    publisher.send(&batch);
    for _ in 0..N {
        assert_eq!(publisher.read_reply().as_ref(), b":3\r\n");
    }
    for (r, core) in subs.iter_mut() {
        for i in 0..N {
            assert_eq!(
                String::from_utf8_lossy(&r.read_reply()),
                msg("seq", &i.to_string()),
                "subscriber on core {core}"
            );
        }
    }
}

// ---- output limits ----

fn obuf_limit(r: &mut Raw) -> String {
    let reply = r.cmd_str(&["CONFIG", "GET", "client-output-buffer-limit"]);
    reply.split("\r\n").nth(4).unwrap().to_string()
}

/// Subscribes `r` to `channel`; the returned socket is then never read.
fn lazy_subscriber(mut r: Raw, channel: &str) -> TcpStream {
    assert_eq!(
        frames(&mut r, &["SUBSCRIBE", channel], 1),
        arr(&[B("subscribe"), B(channel), I(1)])
    );
    r.stream
}

/// Publishes `payload` to `channel` `count` times, pipelined `batch` at a time; `pace` runs after each
/// batch with the number sent so far.
fn flood(
    publ: &mut Raw,
    channel: &str,
    payload: &[u8],
    count: usize,
    batch: usize,
    mut pace: impl FnMut(usize),
) {
    let one = encode_cmd(&[b"PUBLISH", channel.as_bytes(), payload]);
    let mut sent = 0;
    while sent < count {
        let n = batch.min(count - sent);
        publ.send(&one.repeat(n));
        for _ in 0..n {
            let r = publ.read_reply();
            assert!(r.starts_with(b":"), "{:?}", String::from_utf8_lossy(&r));
        }
        sent += n;
        pace(sent);
    }
}

/// Reads until EOF or a reset: true if the server closed the connection, with the bytes read.
fn ended(c: &mut TcpStream) -> (bool, usize) {
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    loop {
        match c.read(&mut buf) {
            Ok(0) => return (true, total),
            Ok(n) => total += n,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return (false, total)
            }
            Err(_) => return (true, total),
        }
    }
}

/// Subscribes `r` to `channel` and reads `expect` messages on a thread of its own, counting them in
/// `read`; hands the connection back.
fn reading_subscriber(
    mut r: Raw,
    channel: &str,
    expect: usize,
    read: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<Raw> {
    frames(&mut r, &["SUBSCRIBE", channel], 1);
    std::thread::spawn(move || {
        for i in 0..expect {
            let m = r.read_reply();
            assert!(m.starts_with(b"*3\r\n$7\r\nmessage\r\n"), "message {i}");
            read.fetch_add(1, Ordering::Relaxed);
        }
        r
    })
}

#[test]
fn a_subscriber_that_stops_reading_is_cut_off_at_the_hard_limit_with_bounded_memory() {
    let s = Server::with_cores(2);
    let mut probe = s.raw();
    // Redis's defaults, all three classes shown.
    let default = obuf_limit(&mut probe);
    assert!(
        default.ends_with(" slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
        "{default}"
    );
    assert_eq!(
        probe.cmd_str(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 4mb 0 0"
        ]),
        "+OK\r\n"
    );
    assert!(obuf_limit(&mut probe).ends_with(" pubsub 4194304 0 0"));
    // The publisher on core 0; a subscriber that never reads on each core; one that reads on core 1.
    let mut conns = conns_on_both_cores(&s, &mut probe, 2).into_iter();
    let (mut publ, _) = conns.next().unwrap();
    let (same_core, _) = conns.next().unwrap();
    let (other_core, core) = conns.next().unwrap();
    assert_eq!(core, 1);
    let (reader, _) = conns.next().unwrap();
    let mut lazy = [
        lazy_subscriber(same_core, "firehose"),
        lazy_subscriber(other_core, "firehose"),
    ];
    // 200 MB of messages: far more than a lazy subscriber's socket buffers and its 4 MB allowance.
    const N: usize = 2000;
    let read = Arc::new(AtomicUsize::new(0));
    let reader = reading_subscriber(reader, "firehose", N, read.clone());
    let rss_before = s.rss_bytes();
    let payload = vec![b'x'; 100 * 1024];
    // Paced to the reading subscriber, so that its backlog stays far below the limit (a reader slower
    // than the publisher would be cut off too, rightly).
    flood(&mut publ, "firehose", &payload, N, 8, |sent| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while read.load(Ordering::Relaxed) + 16 < sent {
            assert!(Instant::now() < deadline, "the reading subscriber stalled");
            std::thread::sleep(Duration::from_micros(200));
        }
    });
    let rss_after = s.rss_bytes();
    assert!(
        rss_after < rss_before + 64 * 1024 * 1024,
        "server RSS grew from {rss_before} to {rss_after}"
    );
    // The reading subscriber got every message; the lazy ones were dropped.
    let _reader = reader.join().unwrap();
    for (core, lazy) in lazy.iter_mut().enumerate() {
        let (closed, got) = ended(lazy);
        assert!(
            closed,
            "core {core}: the lazy subscriber is still connected after {got} bytes"
        );
        assert!(
            got < 64 * 1024 * 1024,
            "core {core}: {got} bytes reached the lazy subscriber"
        );
    }
    eventually("the cut-off subscribers' subscriptions go", || {
        publ.cmd_str(&["PUBSUB", "NUMSUB", "firehose"]) == arr(&[B("firehose"), I(1)])
    });
    assert_eq!(publ.cmd_str(&["PING"]), "+PONG\r\n");
}

#[test]
fn a_subscriber_above_the_soft_limit_too_long_is_cut_off() {
    let s = Server::start();
    let mut publ = s.raw();
    assert_eq!(
        publ.cmd_str(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 0 1mb 1"
        ]),
        "+OK\r\n"
    );
    let mut lazy = lazy_subscriber(s.raw(), "slow");
    let payload = vec![b'y'; 64 * 1024];
    // Keep publishing (slowly enough to take a few seconds) until the subscriber is gone.
    let started = Instant::now();
    let mut gone = false;
    while started.elapsed() < Duration::from_secs(20) {
        flood(&mut publ, "slow", &payload, 50, 50, |_| {});
        if publ.cmd_str(&["PUBSUB", "NUMSUB", "slow"]) == arr(&[B("slow"), I(1)]) {
            std::thread::sleep(Duration::from_millis(50));
        } else {
            gone = true;
            break;
        }
    }
    assert!(
        gone,
        "the subscriber stayed above the soft limit and was not cut off"
    );
    // Not before the soft limit's second had passed.
    assert!(started.elapsed() > Duration::from_secs(1));
    assert!(ended(&mut lazy).0);
}

// ---- cleanup, INFO, CLIENT LIST ----

#[test]
fn disconnect_kill_and_reset_remove_subscriptions() {
    let s = Server::with_cores(2);
    let mut q = s.raw();
    let numsub = |q: &mut Raw| q.cmd_str(&["PUBSUB", "NUMSUB", "ch"]);
    // Disconnect.
    let mut a = s.raw();
    frames(&mut a, &["SUBSCRIBE", "ch"], 1);
    frames(&mut a, &["PSUBSCRIBE", "p*"], 1);
    assert_eq!(numsub(&mut q), arr(&[B("ch"), I(1)]));
    drop(a);
    eventually("a closed connection's subscriptions go", || {
        numsub(&mut q) == arr(&[B("ch"), I(0)]) && int(&mut q, &["PUBSUB", "NUMPAT"]) == 0
    });
    // CLIENT KILL.
    let mut b = s.raw();
    let id = b.cmd_str(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim_end();
    frames(&mut b, &["SUBSCRIBE", "ch", "other"], 2);
    assert_eq!(numsub(&mut q), arr(&[B("ch"), I(1)]));
    assert_eq!(int(&mut q, &["CLIENT", "KILL", "ID", id]), 1);
    assert!(b.closed_by_server());
    eventually("a killed connection's subscriptions go", || {
        numsub(&mut q) == arr(&[B("ch"), I(0)])
    });
    assert_eq!(q.cmd_str(&["PUBSUB", "CHANNELS"]), "*0\r\n");
    // RESET.
    let mut c = s.raw();
    frames(&mut c, &["SUBSCRIBE", "ch"], 1);
    assert_eq!(c.cmd_str(&["RESET"]), "+RESET\r\n");
    assert_eq!(numsub(&mut q), arr(&[B("ch"), I(0)]));
    let inf = info(&mut q, "everything");
    assert_eq!(inf["pubsub_channels"], "0");
    assert_eq!(inf["pubsub_patterns"], "0");
    assert_eq!(inf["pubsub_clients"], "0");
}

#[test]
fn info_and_client_list_show_subscriptions() {
    let s = Server::start();
    let mut sub = s.raw();
    let mut q = s.raw();
    let inf = info(&mut q, "everything");
    assert_eq!(inf["pubsub_clients"], "0");
    assert_eq!(inf["pubsub_channels"], "0");
    frames(&mut sub, &["SUBSCRIBE", "a", "b"], 2);
    frames(&mut sub, &["PSUBSCRIBE", "p*"], 1);
    let mut other = s.raw();
    frames(&mut other, &["SUBSCRIBE", "a"], 1);
    frames(&mut other, &["PSUBSCRIBE", "p*", "q*"], 2);
    let inf = info(&mut q, "everything");
    assert_eq!(inf["pubsub_clients"], "2");
    assert_eq!(inf["pubsub_channels"], "2");
    assert_eq!(inf["pubsub_patterns"], "2");
    let clients = info(&mut q, "clients");
    let keys: Vec<&str> = [
        "tracking_clients",
        "pubsub_clients",
        "clients_in_timeout_table",
    ]
    .into_iter()
    .filter(|k| clients.contains_key(*k))
    .collect();
    assert_eq!(keys.len(), 3);
    let list = text_of(&q.cmd(&["CLIENT", "LIST"]));
    let line = list
        .lines()
        .find(|l| l.contains(" sub=2 "))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        line.contains(" flags=P db=0 sub=2 psub=1 ssub=0 "),
        "{line}"
    );
    let line = list.lines().find(|l| l.contains(" psub=2 ")).unwrap();
    assert!(line.contains(" flags=P db=0 sub=1 psub=2 "), "{line}");
    assert!(list
        .lines()
        .any(|l| l.contains(" flags=N db=0 sub=0 psub=0 ")));
    // TYPE pubsub lists exactly the subscribed connections; TYPE normal the others.
    let pubsub = text_of(&q.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]));
    assert_eq!(pubsub.lines().count(), 2, "{pubsub}");
    assert!(pubsub.lines().all(|l| l.contains(" flags=P ")), "{pubsub}");
    let normal = text_of(&q.cmd(&["CLIENT", "LIST", "TYPE", "normal"]));
    assert!(
        normal.lines().all(|l| l.contains(" sub=0 psub=0 ")),
        "{normal}"
    );
    assert!(normal.lines().count() >= 1);
    assert_eq!(
        text_of(&q.cmd(&["CLIENT", "LIST", "TYPE", "master"])),
        "",
        "no connection is a master"
    );
    frames(&mut sub, &["UNSUBSCRIBE"], 2);
    frames(&mut sub, &["PUNSUBSCRIBE"], 1);
    // CLIENT KILL TYPE pubsub closes the remaining subscriber only.
    assert_eq!(int(&mut q, &["CLIENT", "KILL", "TYPE", "pubsub"]), 1);
    assert!(other.closed_by_server());
    assert_eq!(q.cmd_str(&["PING"]), "+PONG\r\n");
    let mut third = s.raw();
    frames(&mut third, &["SUBSCRIBE", "a"], 1);
    frames(&mut third, &["PSUBSCRIBE", "p*", "q*"], 2);
    let inf = info(&mut q, "everything");
    assert_eq!(inf["pubsub_clients"], "1");
    assert_eq!(inf["pubsub_channels"], "1");
    assert_eq!(inf["pubsub_patterns"], "2");
}

#[test]
fn subscribers_are_exempt_from_the_idle_timeout() {
    let s = Server::start();
    let mut admin = s.raw();
    assert_eq!(admin.cmd_str(&["CONFIG", "SET", "timeout", "1"]), "+OK\r\n");
    let mut sub = s.raw();
    frames(&mut sub, &["SUBSCRIBE", "t"], 1);
    let mut idle = s.raw();
    assert_eq!(idle.cmd_str(&["PING"]), "+PONG\r\n");
    std::thread::sleep(Duration::from_millis(2500));
    assert!(idle.closed_by_server(), "an idle normal client is closed");
    let mut publ = s.raw();
    assert_eq!(int(&mut publ, &["PUBLISH", "t", "still here"]), 1);
    assert_eq!(read_frames(&mut sub, 1), msg("t", "still here"));
}

// ---- a real client ----

#[test]
fn redis_crate_pubsub_api() {
    let s = Server::with_cores(2);
    let mut sub_conn = s.conn();
    let mut publ = s.conn();
    let mut ps = sub_conn.as_pubsub();
    ps.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    ps.subscribe("orders").unwrap();
    ps.psubscribe("orders.*").unwrap();
    let n: i64 = redis::cmd("PUBLISH")
        .arg("orders")
        .arg("first")
        .query(&mut publ)
        .unwrap();
    assert_eq!(n, 1);
    let m = ps.get_message().unwrap();
    assert_eq!(m.get_channel_name(), "orders");
    assert_eq!(m.get_payload::<String>().unwrap(), "first");
    assert!(!m.from_pattern());
    let n: i64 = redis::cmd("PUBLISH")
        .arg("orders.eu")
        .arg(b"\x00bin\xff".as_slice())
        .query(&mut publ)
        .unwrap();
    assert_eq!(n, 1);
    let m = ps.get_message().unwrap();
    assert!(m.from_pattern());
    assert_eq!(m.get_pattern::<String>().unwrap(), "orders.*");
    assert_eq!(m.get_channel_name(), "orders.eu");
    assert_eq!(m.get_payload::<Vec<u8>>().unwrap(), b"\x00bin\xff");
    ps.unsubscribe("orders").unwrap();
    ps.punsubscribe("orders.*").unwrap();
    let n: i64 = redis::cmd("PUBLISH")
        .arg("orders")
        .arg("late")
        .query(&mut publ)
        .unwrap();
    assert_eq!(n, 0);
    drop(ps);
    // The connection is usable again for ordinary commands.
    let pong: String = redis::cmd("PING").query(&mut sub_conn).unwrap();
    assert_eq!(pong, "PONG");
}

// ---- against the real thing ----

/// Reads whatever the server sends: waits up to `first` for a first byte, then until a short quiet period.
fn slurp(r: &mut Raw, first: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    r.stream.set_read_timeout(Some(first)).unwrap();
    loop {
        match r.stream.read(&mut buf) {
            Ok(0) => {
                out.extend_from_slice(b"<EOF>");
                break;
            }
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                r.stream
                    .set_read_timeout(Some(Duration::from_millis(30)))
                    .unwrap();
            }
            Err(_) => break,
        }
    }
    out
}

#[test]
fn replies_match_redis_byte_for_byte() {
    let Some(redis) = RedisServer::start() else {
        eprintln!("redis-server is not installed: skipping the comparison");
        return;
    };
    let ours = Server::start();
    // (connection, command): connection 0 subscribes, 1 publishes and inspects. Only steps whose output
    // does not depend on hash order.
    let script: &[(usize, &[&str])] = &[
        (0, &["UNSUBSCRIBE"]),
        (0, &["PUNSUBSCRIBE"]),
        (0, &["unsubscribe", "x", "y"]),
        (0, &["PUNSUBSCRIBE", "p"]),
        (0, &["SUBSCRIBE", "c1", "c2", "c1"]),
        (0, &["PSUBSCRIBE", "c*"]),
        (0, &["GET", "k"]),
        (0, &["CONFIG", "GET", "x"]),
        (0, &["client", "id"]),
        (0, &["PING"]),
        (0, &["PING", "hello"]),
        (0, &["PING", "a", "b"]),
        (0, &["nosuchcommand", "a"]),
        (0, &["SUBSCRIBE"]),
        (1, &["PUBLISH", "c1", "payload"]),
        (0, &["UNSUBSCRIBE", "c1"]),
        (1, &["PUBLISH", "c2", "two"]),
        (1, &["PUBLISH", "zz", "none"]),
        (1, &["PUBSUB", "NUMSUB", "c1", "c2"]),
        (1, &["PUBSUB", "NUMSUB"]),
        (1, &["PUBSUB", "NUMPAT"]),
        (1, &["PUBSUB", "CHANNELS", "c2"]),
        (1, &["PUBSUB", "CHANNELS", "a", "b"]),
        (1, &["PUBSUB", "HELP"]),
        (1, &["PUBSUB"]),
        (1, &["PUBSUB", "nope"]),
        (1, &["PUBSUB", "numpat", "x"]),
        (1, &["PUBSUB", "SHARDNUMSUB", "s"]),
        (1, &["PUBLISH", "c1"]),
        (0, &["PUNSUBSCRIBE", "c*"]),
        (0, &["UNSUBSCRIBE"]),
        (0, &["GET", "k"]),
        (0, &["HELLO", "3"]),
        (0, &["PSUBSCRIBE", "r*"]),
        (0, &["PING"]),
        (0, &["PUBLISH", "r1", "to self"]),
        (1, &["PUBLISH", "r2", "from other"]),
        (0, &["PUNSUBSCRIBE"]),
        (0, &["UNSUBSCRIBE"]),
        (0, &["SUBSCRIBE", "q"]),
        (0, &["RESET"]),
        (0, &["GET", "k"]),
        (0, &["SUBSCRIBE", "q"]),
        (0, &["QUIT"]),
    ];
    let mut theirs = [redis.raw(), redis.raw()];
    let mut mine = [ours.raw(), ours.raw()];
    for (conn, args) in script {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        theirs[*conn].send_cmd(&a);
        mine[*conn].send_cmd(&a);
        let want = slurp(&mut theirs[*conn], Duration::from_secs(5));
        let got = slurp(&mut mine[*conn], Duration::from_secs(5));
        // HELLO names the server version; the rest must match exactly.
        if args[0] == "HELLO" {
            continue;
        }
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{args:?}"
        );
        if *conn == 1 {
            // What the subscriber received meanwhile.
            let want = if args[0] == "PUBLISH" {
                slurp(&mut theirs[0], Duration::from_millis(300))
            } else {
                Vec::new()
            };
            let got = if args[0] == "PUBLISH" {
                slurp(&mut mine[0], Duration::from_millis(300))
            } else {
                Vec::new()
            };
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "subscriber after {args:?}"
            );
        }
    }
}

/// (Un)subscribe commands queued in MULTI: Redis's EXEC array counts commands, and a command's several
/// confirmations follow one another in it without an array of their own (`*1` then two confirmations for
/// `SUBSCRIBE a b`), in RESP2 and RESP3 (push frames), whichever way the transaction runs (one core; a
/// node-wide DBSIZE on two). And a subscribed RESP2 connection's refused EXEC answers EXECABORT, as every
/// other refused EXEC does. The bytes are redis-server 7.0.15's; compared live when it is installed.
#[test]
fn subscriptions_inside_multi_reply_like_redis() {
    let sub = |name: &str, n: i64| format!("*3\r\n$9\r\nsubscribe\r\n$1\r\n{name}\r\n:{n}\r\n");
    let only =
        "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";
    let sessions: Vec<(Vec<&[&str]>, String)> = vec![
        (
            vec![&["MULTI"], &["SUBSCRIBE", "a", "b"], &["EXEC"]],
            format!("+OK\r\n+QUEUED\r\n*1\r\n{}{}", sub("a", 1), sub("b", 2)),
        ),
        (
            vec![&["MULTI"], &["DBSIZE"], &["SUBSCRIBE", "a", "b"], &["EXEC"]],
            format!("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:0\r\n{}{}", sub("a", 1), sub("b", 2)),
        ),
        (
            vec![
                &["MULTI"],
                &["PSUBSCRIBE", "a*", "b*"],
                &["UNSUBSCRIBE"],
                &["PUNSUBSCRIBE", "x"],
                &["EXEC"],
            ],
            "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n\
             *3\r\n$10\r\npsubscribe\r\n$2\r\na*\r\n:1\r\n*3\r\n$10\r\npsubscribe\r\n$2\r\nb*\r\n:2\r\n\
             *3\r\n$11\r\nunsubscribe\r\n$-1\r\n:2\r\n*3\r\n$12\r\npunsubscribe\r\n$1\r\nx\r\n:2\r\n"
                .into(),
        ),
        (
            vec![&["HELLO", "3"], &["MULTI"], &["SUBSCRIBE", "a", "b"], &["EXEC"]],
            format!(
                "+OK\r\n+QUEUED\r\n*1\r\n{}{}",
                sub("a", 1).replacen('*', ">", 1),
                sub("b", 2).replacen('*', ">", 1)
            ),
        ),
        (
            vec![&["SUBSCRIBE", "a"], &["MULTI"], &["PING"], &["EXEC"]],
            format!(
                "{}-ERR Can't execute 'multi': {only}\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n\
                 -EXECABORT Transaction discarded because of: Can't execute 'exec': {only}\r\n",
                sub("a", 1)
            ),
        ),
    ];
    let redis = RedisServer::start();
    for ours in [Server::start(), Server::with_cores(2)] {
        for (commands, want) in &sessions {
            let mut bytes = Vec::new();
            for c in commands {
                let a: Vec<&[u8]> = c.iter().map(|s| s.as_bytes()).collect();
                bytes.extend(encode_cmd(&a));
            }
            let mut servers = vec![("slotkv", ours.raw())];
            servers.extend(redis.as_ref().map(|r| ("redis", r.raw())));
            for (name, mut r) in servers {
                r.send(&bytes);
                let mut got = slurp(&mut r, Duration::from_secs(5));
                // HELLO's map names the server and its version: only what follows it is compared.
                if commands[0][0] == "HELLO" {
                    let start = got.windows(5).position(|w| w == b"+OK\r\n");
                    got.drain(..start.expect("MULTI's +OK"));
                }
                assert_eq!(String::from_utf8_lossy(&got), *want, "{name}: {commands:?}");
            }
        }
    }
}

/// A subscription made by an EXEC that waits on another core (a watched key there, or queued commands for
/// both cores) still delivers messages, and a subscribed RESP2 connection's EXEC runs what it queued
/// wherever the keys live (as in redis-server 7.0.15). Both send and read raw.
#[test]
fn subscriptions_made_by_a_cross_core_exec_get_their_messages() {
    let server = Server::with_cores(2);
    let (k0, k1) = (
        slotkv_tests::key_on(0, 2, "w"),
        slotkv_tests::key_on(1, 2, "w"),
    );
    let mut publ = server.raw();
    let sessions: Vec<Vec<Vec<&str>>> = vec![
        // Watches on both cores: one of them is on another core than the connection.
        vec![
            vec!["WATCH", &k0, &k1],
            vec!["MULTI"],
            vec!["SUBSCRIBE", "cha"],
            vec!["EXEC"],
        ],
        // Queued writes for both cores, then the subscription.
        vec![
            vec!["MULTI"],
            vec!["SET", &k0, "v"],
            vec!["SET", &k1, "v"],
            vec!["SUBSCRIBE", "chb"],
            vec!["EXEC"],
        ],
    ];
    for session in sessions {
        // Each session its own channel: the previous subscriber's disconnect may still be under way.
        let channel = session[session.len() - 2][1];
        let mut sub = server.raw();
        let mut bytes = Vec::new();
        for c in &session {
            let a: Vec<&[u8]> = c.iter().map(|s| s.as_bytes()).collect();
            bytes.extend(encode_cmd(&a));
        }
        sub.send(&bytes);
        let got = slurp(&mut sub, Duration::from_secs(5));
        let got = String::from_utf8_lossy(&got).into_owned();
        assert!(
            got.ends_with(&format!(
                "*3\r\n$9\r\nsubscribe\r\n$3\r\n{channel}\r\n:1\r\n"
            )),
            "{session:?}: {got:?}"
        );
        assert_eq!(publ.cmd_str(&["PUBLISH", channel, "hi"]), ":1\r\n");
        let got = slurp(&mut sub, Duration::from_secs(5));
        assert_eq!(
            String::from_utf8_lossy(&got),
            format!("*3\r\n$7\r\nmessage\r\n$3\r\n{channel}\r\n$2\r\nhi\r\n"),
            "{session:?}: the message after EXEC"
        );
        // Still subscribed (RESP2): MULTI itself is refused, as in Redis.
        sub.send(&encode_cmd(&[b"MULTI"]));
        assert_eq!(
            String::from_utf8_lossy(&slurp(&mut sub, Duration::from_secs(5))),
            "-ERR Can't execute 'multi': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET \
             are allowed in this context\r\n"
        );
        drop(sub);
    }
    // Redis runs a RESP2 subscriber's queued commands inside EXEC (its check is on EXEC itself), here
    // across both cores.
    let mut sub = server.raw();
    let mut bytes = Vec::new();
    for c in [
        vec!["MULTI"],
        vec!["SUBSCRIBE", "chc"],
        vec!["SET", k0.as_str(), "x"],
        vec!["SET", k1.as_str(), "x"],
        vec!["EXEC"],
    ] {
        let a: Vec<&[u8]> = c.iter().map(|s| s.as_bytes()).collect();
        bytes.extend(encode_cmd(&a));
    }
    sub.send(&bytes);
    assert_eq!(
        String::from_utf8_lossy(&slurp(&mut sub, Duration::from_secs(5))),
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n\
         *3\r\n$9\r\nsubscribe\r\n$3\r\nchc\r\n:1\r\n+OK\r\n+OK\r\n"
    );
}

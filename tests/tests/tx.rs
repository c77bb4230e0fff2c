//! Black-box tests of transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH — every error text, QUEUED
//! replies, EXECABORT, runtime errors inside EXEC, WATCH against writes by others and by the connection
//! itself, expiry and flushes, RESP3, pipelining, keys on two cores, blocking commands inside MULTI, clients
//! blocked on keys a transaction pushes to (served after EXEC), and isolation under concurrent clients. A
//! scripted two-connection session is also replayed against a real redis-server, byte for byte.
//!
//! Longer than our usual file limit on purpose: it is the one test file of the transaction family, and most
//! of its length is scripted sessions and exact expected replies.

use std::io::Read;
use std::thread;
use std::time::Duration;

use slotkv_tests::{encode_cmd, key_on, Raw, RedisServer, Server};

const OK: &str = "+OK\r\n";
const QUEUED: &str = "+QUEUED\r\n";
const NULL_ARRAY: &str = "*-1\r\n";
const EXECABORT: &str = "-EXECABORT Transaction discarded because of previous errors.\r\n";
const WITHOUT_MULTI: &str = "-ERR EXEC without MULTI\r\n";

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

/// Sends every command in one write and returns the replies, in order.
fn pipeline(r: &mut Raw, cmds: &[&[&str]]) -> Vec<String> {
    let mut bytes = Vec::new();
    for c in cmds {
        let a: Vec<&[u8]> = c.iter().map(|s| s.as_bytes()).collect();
        bytes.extend(encode_cmd(&a));
    }
    r.send(&bytes);
    (0..cmds.len())
        .map(|_| String::from_utf8_lossy(&r.read_reply()).into_owned())
        .collect()
}

/// WATCH `keys` (if any), let `touch` run, then MULTI / SET `{marker}` / EXEC; returns EXEC's reply and asserts
/// that the queued SET ran exactly when EXEC succeeded.
fn watch_then(r: &mut Raw, keys: &[&str], touch: impl FnOnce(&mut Raw)) -> String {
    if !keys.is_empty() {
        let mut args = vec!["WATCH"];
        args.extend_from_slice(keys);
        assert_eq!(r.cmd_str(&args), OK);
    }
    touch(r);
    r.cmd_str(&["DEL", "marker"]);
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    assert_eq!(r.cmd_str(&["SET", "marker", "ran"]), QUEUED);
    let reply = r.cmd_str(&["EXEC"]);
    let ran = r.cmd_str(&["GET", "marker"]) == bulk("ran");
    assert_eq!(ran, reply != NULL_ARRAY, "EXEC replied {reply:?}");
    reply
}

const RAN: &str = "*1\r\n+OK\r\n";

#[test]
fn errors_and_queueing_match_redis_7() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["EXEC"]), WITHOUT_MULTI);
    assert_eq!(r.cmd_str(&["DISCARD"]), "-ERR DISCARD without MULTI\r\n");
    for (cmd, name) in [
        (&["MULTI", "x"][..], "multi"),
        (&["WATCH"][..], "watch"),
        (&["UNWATCH", "x"][..], "unwatch"),
        (&["DISCARD", "x"][..], "discard"),
    ] {
        assert_eq!(
            r.cmd_str(cmd),
            format!("-ERR wrong number of arguments for '{name}' command\r\n")
        );
    }
    // A rejected EXEC discards the transaction, in MULTI or not.
    let exec_arity =
        "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n";
    assert_eq!(r.cmd_str(&["EXEC", "x"]), exec_arity);
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    assert_eq!(r.cmd_str(&["SET", "a", "1"]), QUEUED);
    assert_eq!(r.cmd_str(&["exec", "x"]), exec_arity);
    assert_eq!(r.cmd_str(&["EXEC"]), WITHOUT_MULTI);
    assert_eq!(r.cmd_str(&["EXISTS", "a"]), ":0\r\n");

    // Nested MULTI and WATCH inside MULTI are errors that do not abort the transaction.
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    assert_eq!(
        r.cmd_str(&["MULTI"]),
        "-ERR MULTI calls can not be nested\r\n"
    );
    assert_eq!(
        r.cmd_str(&["WATCH", "a"]),
        "-ERR WATCH inside MULTI is not allowed\r\n"
    );
    assert_eq!(r.cmd_str(&["SET", "a", "1"]), QUEUED);
    assert_eq!(r.cmd_str(&["EXEC"]), RAN);

    // Errors before queueing abort EXEC, and nothing runs.
    let rejections: &[(&[&str], &str)] = &[
        (
            &["NOSUCH", "x"],
            "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n",
        ),
        (
            &["GET"],
            "-ERR wrong number of arguments for 'get' command\r\n",
        ),
        (
            &["CONFIG", "NOSUCH"],
            "-ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP.\r\n",
        ),
        (
            &["CONFIG", "GET"],
            "-ERR wrong number of arguments for 'config|get' command\r\n",
        ),
        (
            &["SHUTDOWN"],
            "-ERR Command not allowed inside a transaction\r\n",
        ),
        (
            &["DISCARD", "x"],
            "-ERR wrong number of arguments for 'discard' command\r\n",
        ),
    ];
    for (cmd, err) in rejections {
        assert_eq!(r.cmd_str(&["MULTI"]), OK);
        assert_eq!(r.cmd_str(&["SET", "a", "2"]), QUEUED);
        assert_eq!(r.cmd_str(cmd), *err, "{cmd:?}");
        assert_eq!(r.cmd_str(&["SET", "a", "3"]), QUEUED);
        assert_eq!(r.cmd_str(&["EXEC"]), EXECABORT, "{cmd:?}");
        assert_eq!(r.cmd_str(&["GET", "a"]), bulk("1"));
    }

    // Runtime errors are replies inside EXEC's array; the other commands run.
    assert_eq!(r.cmd_str(&["SET", "s", "abc"]), OK);
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    for c in [
        &["INCR", "s"][..],
        &["SET", "t", "1"],
        &["SET", "t", "2", "XX", "NX"],
        &["INCRBY", "t", "x"],
        &["INCR", "t"],
        &["GET", "t"],
        &["PING"],
    ] {
        assert_eq!(r.cmd_str(c), QUEUED);
    }
    assert_eq!(
        r.cmd_str(&["EXEC"]),
        "*7\r\n-ERR value is not an integer or out of range\r\n+OK\r\n-ERR syntax error\r\n\
         -ERR value is not an integer or out of range\r\n:2\r\n$1\r\n2\r\n+PONG\r\n"
    );
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    assert_eq!(r.cmd_str(&["EXEC"]), "*0\r\n");

    // DISCARD drops the queue; RESET ends the transaction.
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    assert_eq!(r.cmd_str(&["SET", "a", "9"]), QUEUED);
    assert_eq!(r.cmd_str(&["DISCARD"]), OK);
    assert_eq!(r.cmd_str(&["EXEC"]), WITHOUT_MULTI);
    assert_eq!(r.cmd_str(&["GET", "a"]), bulk("1"));
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    assert_eq!(r.cmd_str(&["SET", "a", "9"]), QUEUED);
    assert_eq!(r.cmd_str(&["RESET"]), "+RESET\r\n");
    assert_eq!(r.cmd_str(&["EXEC"]), WITHOUT_MULTI);
    assert_eq!(r.cmd_str(&["GET", "a"]), bulk("1"));

    // SELECT inside the transaction moves the commands after it, and the connection.
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    assert_eq!(r.cmd_str(&["SELECT", "3"]), QUEUED);
    assert_eq!(r.cmd_str(&["SET", "a", "db3"]), QUEUED);
    assert_eq!(r.cmd_str(&["SELECT", "99"]), QUEUED);
    assert_eq!(
        r.cmd_str(&["EXEC"]),
        "*3\r\n+OK\r\n+OK\r\n-ERR DB index is out of range\r\n"
    );
    assert_eq!(r.cmd_str(&["GET", "a"]), bulk("db3"));
    assert_eq!(r.cmd_str(&["SELECT", "0"]), OK);
    assert_eq!(r.cmd_str(&["GET", "a"]), bulk("1"));

    // UNWATCH inside MULTI is queued.
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    assert_eq!(r.cmd_str(&["UNWATCH"]), QUEUED);
    assert_eq!(r.cmd_str(&["EXEC"]), RAN);

    // CLIENT LIST shows the transaction: flag x and the queue length.
    let mut other = s.raw();
    let id = r.cmd_str(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim_end();
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    assert_eq!(r.cmd_str(&["SET", "a", "2"]), QUEUED);
    assert_eq!(r.cmd_str(&["SET", "b", "2"]), QUEUED);
    let list = other.cmd_str(&["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains(&format!("id={id} ")))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        line.contains(" flags=x ") && line.contains(" multi=2 "),
        "{line}"
    );
    assert_eq!(r.cmd_str(&["DISCARD"]), OK);

    // QUIT inside MULTI replies and closes.
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    assert_eq!(r.cmd_str(&["QUIT"]), OK);
    assert!(r.closed_by_server());
}

/// WATCH against every kind of write, on `s` (keys chosen per core by the caller).
fn watch_rules(s: &Server, key: &str, other_key: &str) {
    let mut r = s.raw();
    let mut o = s.raw();
    assert_eq!(r.cmd_str(&["SET", key, "1"]), OK);
    // Untouched.
    assert_eq!(watch_then(&mut r, &[key], |_| {}), RAN);
    // Touched by another connection, by the connection itself, before or after MULTI.
    assert_eq!(
        watch_then(&mut r, &[key], |_| assert_eq!(
            o.cmd_str(&["SET", key, "2"]),
            OK
        )),
        NULL_ARRAY
    );
    assert_eq!(
        watch_then(&mut r, &[key, other_key], |r| assert_eq!(
            r.cmd_str(&["INCR", key]),
            ":3\r\n"
        )),
        NULL_ARRAY
    );
    assert_eq!(r.cmd_str(&["WATCH", key]), OK);
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    assert_eq!(r.cmd_str(&["GET", key]), QUEUED);
    assert_eq!(o.cmd_str(&["APPEND", key, "x"]), ":2\r\n");
    assert_eq!(r.cmd_str(&["EXEC"]), NULL_ARRAY);
    // Another key, or the same name in another database: no abort.
    assert_eq!(
        watch_then(&mut r, &[key], |_| {
            assert_eq!(o.cmd_str(&["SET", other_key, "x"]), OK);
            assert_eq!(o.cmd_str(&["SELECT", "5"]), OK);
            assert_eq!(o.cmd_str(&["SET", key, "x"]), OK);
            assert_eq!(o.cmd_str(&["SELECT", "0"]), OK);
        }),
        RAN
    );
    // DEL of an absent key that stays absent is no change; DEL, EXPIRE, PERSIST of a live key are.
    assert_eq!(
        watch_then(&mut r, &["absent"], |_| assert_eq!(
            o.cmd_str(&["DEL", "absent"]),
            ":0\r\n"
        )),
        RAN
    );
    assert_eq!(
        watch_then(&mut r, &["absent"], |_| assert_eq!(
            o.cmd_str(&["SET", "absent", "now"]),
            OK
        )),
        NULL_ARRAY
    );
    assert_eq!(
        watch_then(&mut r, &[key], |_| assert_eq!(
            o.cmd_str(&["EXPIRE", key, "100"]),
            ":1\r\n"
        )),
        NULL_ARRAY
    );
    assert_eq!(
        watch_then(&mut r, &[key], |_| assert_eq!(
            o.cmd_str(&["PERSIST", key]),
            ":1\r\n"
        )),
        NULL_ARRAY
    );
    assert_eq!(
        watch_then(&mut r, &[key], |_| assert_eq!(
            o.cmd_str(&["DEL", key]),
            ":1\r\n"
        )),
        NULL_ARRAY
    );
    assert_eq!(o.cmd_str(&["SET", key, "1"]), OK);
    // A transaction of another connection writing the key.
    assert_eq!(
        watch_then(&mut r, &[key], |_| {
            assert_eq!(
                pipeline(&mut o, &[&["MULTI"], &["INCR", key], &["EXEC"]])[2],
                "*1\r\n:2\r\n"
            );
        }),
        NULL_ARRAY
    );
    // UNWATCH, DISCARD, EXEC (run, aborted or failed) and RESET forget the watches.
    let touch = |o: &mut Raw| assert!(o.cmd_str(&["INCR", key]).starts_with(':'));
    assert_eq!(r.cmd_str(&["WATCH", key]), OK);
    assert_eq!(r.cmd_str(&["UNWATCH"]), OK);
    touch(&mut o);
    assert_eq!(watch_then(&mut r, &[], |_| {}), RAN);
    for end in [&["DISCARD"][..], &["EXEC"], &["RESET"]] {
        assert_eq!(r.cmd_str(&["WATCH", key]), OK);
        assert_eq!(r.cmd_str(&["MULTI"]), OK);
        r.cmd_str(end);
        touch(&mut o);
        assert_eq!(r.cmd_str(&["MULTI"]), OK);
        assert_eq!(r.cmd_str(&["PING"]), QUEUED);
        assert_eq!(r.cmd_str(&["EXEC"]), "*1\r\n+PONG\r\n", "after {end:?}");
    }
    assert_eq!(r.cmd_str(&["WATCH", key]), OK);
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    assert_eq!(r.cmd_str(&["NOSUCH"])[..4].to_string(), "-ERR");
    assert_eq!(r.cmd_str(&["EXEC"]), EXECABORT);
    touch(&mut o);
    assert_eq!(watch_then(&mut r, &[], |_| {}), RAN);
    // Watching a key twice (in one WATCH or two) is fine.
    assert_eq!(
        watch_then(&mut r, &[key, key], |r| assert_eq!(
            r.cmd_str(&["WATCH", key]),
            OK
        )),
        RAN
    );

    // FLUSHDB and FLUSHALL touch watched keys that existed, not absent ones.
    assert_eq!(
        watch_then(&mut r, &[key], |_| assert_eq!(o.cmd_str(&["FLUSHDB"]), OK)),
        NULL_ARRAY
    );
    assert_eq!(o.cmd_str(&["SET", other_key, "1"]), OK);
    assert_eq!(
        watch_then(&mut r, &[key], |_| assert_eq!(o.cmd_str(&["FLUSHALL"]), OK)),
        RAN
    );
    assert_eq!(o.cmd_str(&["SET", key, "1"]), OK);
    assert_eq!(
        watch_then(&mut r, &[key], |_| assert_eq!(o.cmd_str(&["FLUSHALL"]), OK)),
        NULL_ARRAY
    );
    // A flush of another database leaves the watch alone.
    assert_eq!(o.cmd_str(&["SET", key, "1"]), OK);
    assert_eq!(
        watch_then(&mut r, &[key], |_| {
            assert_eq!(o.cmd_str(&["SELECT", "5"]), OK);
            assert_eq!(o.cmd_str(&["SET", key, "x"]), OK);
            assert_eq!(o.cmd_str(&["FLUSHDB"]), OK);
            assert_eq!(o.cmd_str(&["SELECT", "0"]), OK);
        }),
        RAN
    );
}

#[test]
fn watch_aborts_on_writes_one_core() {
    let s = Server::start();
    watch_rules(&s, "w", "other");
}

#[test]
fn watch_aborts_on_writes_two_cores() {
    let s = Server::with_cores(2);
    // Watched key on each core in turn; whichever core the connections land on, one of the runs is remote.
    for core in 0..2 {
        let key = key_on(core, 2, "w");
        let other = key_on(1 - core, 2, "o");
        watch_rules(&s, &key, &other);
    }
}

#[test]
fn watch_and_expiry() {
    let s = Server::with_cores(2);
    for core in 0..2 {
        let key = key_on(core, 2, "e");
        let mut r = s.raw();
        // Live at WATCH, expired by EXEC: abort (whether or not expiry deleted it yet). The deadline leaves
        // WATCH half a second to arrive on a loaded machine (100 ms was once too short).
        assert_eq!(r.cmd_str(&["SET", &key, "v", "PX", "500"]), OK);
        assert_eq!(
            watch_then(&mut r, &[&key], |_| thread::sleep(Duration::from_millis(
                550
            ))),
            NULL_ARRAY
        );
        assert_eq!(r.cmd_str(&["SET", &key, "v", "PX", "500"]), OK);
        assert_eq!(
            watch_then(&mut r, &[&key], |_| thread::sleep(Duration::from_millis(
                900
            ))),
            NULL_ARRAY
        );
        // A deadline still ahead: no abort.
        assert_eq!(r.cmd_str(&["SET", &key, "v", "PX", "60000"]), OK);
        assert_eq!(watch_then(&mut r, &[&key], |_| {}), RAN);
        // Expired already at WATCH: its deletion by expiry is no change.
        assert_eq!(r.cmd_str(&["SET", &key, "v", "PX", "20"]), OK);
        thread::sleep(Duration::from_millis(50));
        assert_eq!(
            watch_then(&mut r, &[&key], |_| thread::sleep(Duration::from_millis(
                400
            ))),
            RAN
        );
        // ... but writing it again is.
        assert_eq!(r.cmd_str(&["SET", &key, "v", "PX", "20"]), OK);
        thread::sleep(Duration::from_millis(50));
        assert_eq!(
            watch_then(&mut r, &[&key], |r| assert_eq!(
                r.cmd_str(&["SET", &key, "w"]),
                OK
            )),
            NULL_ARRAY
        );
    }
}

#[test]
fn resp3_replies() {
    let s = Server::start();
    let mut r = s.raw();
    r.set_resp3(true);
    r.cmd(&["HELLO", "3"]);
    assert_eq!(
        pipeline(
            &mut r,
            &[
                &["MULTI"],
                &["SET", "k", "v"],
                &["GET", "k"],
                &["GET", "none"],
                &["EXEC"]
            ]
        )[4],
        "*3\r\n+OK\r\n$1\r\nv\r\n_\r\n"
    );
    assert_eq!(r.cmd_str(&["WATCH", "k"]), OK);
    assert_eq!(r.cmd_str(&["SET", "k", "w"]), OK);
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    assert_eq!(r.cmd_str(&["EXEC"]), "_\r\n");
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    assert_eq!(r.cmd_str(&["GET"])[..1].to_string(), "-");
    assert_eq!(r.cmd_str(&["EXEC"]), EXECABORT);
}

#[test]
fn pipelined_transactions() {
    let s = Server::with_cores(2);
    let (a, b) = (key_on(0, 2, "p"), key_on(1, 2, "p"));
    let mut r = s.raw();
    let replies = pipeline(
        &mut r,
        &[
            &["WATCH", &a, &b],
            &["MULTI"],
            &["SET", &a, "1"],
            &["INCR", &a],
            &["SET", &b, "10"],
            &["INCRBY", &b, "5"],
            &["MGET", &a, &b],
            &["EXEC"],
            &["GET", &a],
            &["MULTI"],
            &["INCR", &b],
            &["EXEC"],
            &["WATCH", &b],
            &["INCR", &b],
            &["MULTI"],
            &["INCR", &b],
            &["EXEC"],
            &["GET", &b],
        ],
    );
    assert_eq!(
        replies,
        vec![
            OK,
            OK,
            QUEUED,
            QUEUED,
            QUEUED,
            QUEUED,
            QUEUED,
            "*5\r\n+OK\r\n:2\r\n+OK\r\n:15\r\n*2\r\n$1\r\n2\r\n$2\r\n15\r\n",
            "$1\r\n2\r\n",
            OK,
            QUEUED,
            "*1\r\n:16\r\n",
            OK,
            ":17\r\n",
            OK,
            QUEUED,
            NULL_ARRAY,
            "$2\r\n17\r\n",
        ]
    );
}

#[test]
fn keys_on_two_cores() {
    let s = Server::with_cores(2);
    let mut r = s.raw();
    let mut o = s.raw();
    let k: Vec<String> = (0..2).map(|c| key_on(c, 2, "x")).collect();
    let (k0, k1) = (k[0].as_str(), k[1].as_str());
    // One transaction over both cores, with a cross-core MSET, a node-wide DBSIZE and SELECT.
    assert_eq!(r.cmd_str(&["MULTI"]), OK);
    for c in [
        &["MSET", k0, "a", k1, "b"][..],
        &["INCR", k0],
        &["APPEND", k1, "c"],
        &["DBSIZE"],
        &["SELECT", "2"],
        &["SET", k1, "two"],
        &["MGET", k0, k1],
    ] {
        assert_eq!(r.cmd_str(c), QUEUED);
    }
    assert_eq!(
        r.cmd_str(&["EXEC"]),
        "*7\r\n+OK\r\n-ERR value is not an integer or out of range\r\n:2\r\n:2\r\n+OK\r\n+OK\r\n\
         *2\r\n$-1\r\n$3\r\ntwo\r\n"
    );
    assert_eq!(r.cmd_str(&["GET", k1]), bulk("two"));
    assert_eq!(r.cmd_str(&["SELECT", "0"]), OK);
    // Each core's keys alone, with SELECT (runs where the keys are, whichever core that is).
    for key in [k0, k1] {
        assert_eq!(
            pipeline(
                &mut r,
                &[
                    &["MULTI"],
                    &["SELECT", "4"],
                    &["SET", key, "four"],
                    &["PING"],
                    &["ECHO", "e"],
                    &["GET", key],
                    &["EXEC"],
                    &["GET", key],
                    &["SELECT", "0"],
                    &["GET", key],
                ]
            )[6..],
            [
                "*5\r\n+OK\r\n+OK\r\n+PONG\r\n$1\r\ne\r\n$4\r\nfour\r\n".to_string(),
                bulk("four"),
                OK.to_string(),
                bulk(if key == k0 { "a" } else { "bc" }),
            ]
        );
    }
    // Watches on both cores: a write to either aborts; untouched, the transaction runs.
    for touched in [Some(k0), Some(k1), None] {
        assert_eq!(r.cmd_str(&["WATCH", k0, k1]), OK);
        if let Some(t) = touched {
            assert_eq!(o.cmd_str(&["SET", t, "t"]), OK);
        }
        assert_eq!(r.cmd_str(&["MULTI"]), OK);
        assert_eq!(r.cmd_str(&["SET", k0, "run"]), QUEUED);
        assert_eq!(r.cmd_str(&["SET", k1, "run"]), QUEUED);
        let want = if touched.is_some() {
            NULL_ARRAY
        } else {
            "*2\r\n+OK\r\n+OK\r\n"
        };
        assert_eq!(r.cmd_str(&["EXEC"]), want, "touched {touched:?}");
    }
    // A watch on one core, the transaction on the other.
    assert_eq!(r.cmd_str(&["WATCH", k0]), OK);
    assert_eq!(o.cmd_str(&["DEL", k0]), ":1\r\n");
    assert_eq!(
        pipeline(&mut r, &[&["MULTI"], &["SET", k1, "x"], &["EXEC"]])[2],
        NULL_ARRAY
    );
    // A disconnect with watches everywhere leaves the server healthy.
    let mut gone = s.raw();
    assert_eq!(gone.cmd_str(&["WATCH", k0, k1, "more", "keys"]), OK);
    drop(gone);
    assert_eq!(watch_then(&mut r, &[k0, k1], |_| {}), RAN);
}

/// Transactions of INCRs on two keys of one core, racing with each other and with readers: every reader
/// sees both counters equal, and the totals are exact.
#[test]
fn isolation_under_concurrency() {
    for cores in [1, 2] {
        let s = Server::with_cores(cores);
        let (a, b) = ("{iso}a", "{iso}b");
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let mut r = s.raw();
                thread::spawn(move || {
                    for _ in 0..150 {
                        let replies =
                            pipeline(&mut r, &[&["MULTI"], &["INCR", a], &["INCR", b], &["EXEC"]]);
                        assert!(replies[3].starts_with("*2\r\n:"), "{replies:?}");
                    }
                })
            })
            .collect();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let mut r = s.raw();
                thread::spawn(move || {
                    for _ in 0..150 {
                        let replies =
                            pipeline(&mut r, &[&["MULTI"], &["GET", a], &["GET", b], &["EXEC"]]);
                        let body = replies[3].strip_prefix("*2\r\n").expect("array");
                        let (x, y) = body.split_at(body.len() / 2);
                        assert_eq!(x, y, "a transaction was seen half done: {body:?}");
                    }
                })
            })
            .collect();
        for t in writers.into_iter().chain(readers) {
            t.join().unwrap();
        }
        let mut r = s.raw();
        assert_eq!(
            r.cmd_str(&["MGET", a, b]),
            "*2\r\n$3\r\n600\r\n$3\r\n600\r\n"
        );
    }
}

/// Optimistic locking with WATCH: concurrent read-modify-write loops lose no update, on either core; and
/// transactions spanning cores apply every command exactly once.
#[test]
fn watch_cas_and_cross_core_totals() {
    let s = Server::with_cores(2);
    let keys: Vec<String> = (0..2).map(|c| key_on(c, 2, "cas")).collect();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let mut r = s.raw();
            let key = keys[i % 2].clone();
            let keys = keys.clone();
            thread::spawn(move || {
                let mut aborted = 0;
                for _ in 0..40 {
                    loop {
                        assert_eq!(r.cmd_str(&["WATCH", &key]), OK);
                        let v: i64 = match r.cmd_str(&["GET", &key]).as_str() {
                            "$-1\r\n" => 0,
                            reply => reply.lines().nth(1).unwrap().parse().unwrap(),
                        };
                        let next = (v + 1).to_string();
                        let replies =
                            pipeline(&mut r, &[&["MULTI"], &["SET", &key, &next], &["EXEC"]]);
                        if replies[2] == RAN {
                            break;
                        }
                        assert_eq!(replies[2], NULL_ARRAY);
                        aborted += 1;
                    }
                    let replies = pipeline(
                        &mut r,
                        &[
                            &["MULTI"],
                            &["INCR", "total0"],
                            &["INCR", &format!("{}:t", keys[0])],
                            &["INCR", &format!("{}:t", keys[1])],
                            &["EXEC"],
                        ],
                    );
                    assert!(replies[4].starts_with("*3\r\n"), "{replies:?}");
                }
                aborted
            })
        })
        .collect();
    let aborted: i32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let mut r = s.raw();
    for key in &keys {
        assert_eq!(
            r.cmd_str(&["GET", key]),
            bulk("80"),
            "lost updates ({aborted} retries)"
        );
    }
    for key in [
        "total0".to_string(),
        format!("{}:t", keys[0]),
        format!("{}:t", keys[1]),
    ] {
        assert_eq!(r.cmd_str(&["GET", &key]), bulk("160"));
    }
}

/// Blocking commands inside MULTI do not block: on an empty list they reply nil at once (keys on either
/// core, or on both). A client blocked on a key the transaction pushes to is served after the whole
/// transaction, as in Redis.
#[test]
fn blocking_commands_inside_multi() {
    let s = Server::with_cores(2);
    let (l0, l1) = (key_on(0, 2, "l"), key_on(1, 2, "l"));
    let mut r = s.raw();
    let replies = pipeline(
        &mut r,
        &[
            &["MULTI"],
            &["BLPOP", &l0, "0"],
            &["BRPOP", &l1, "0"],
            &["BLPOP", &l0, &l1, "0"],
            &["EXEC"],
        ],
    );
    assert_eq!(replies[4], "*3\r\n*-1\r\n*-1\r\n*-1\r\n", "{replies:?}");
    for key in [&l0, &l1] {
        let mut waiter = s.raw();
        waiter.send_cmd(&[b"BLPOP", key.as_bytes(), b"0"]);
        // Give the BLPOP time to block before the transaction runs.
        thread::sleep(Duration::from_millis(100));
        let replies = pipeline(
            &mut r,
            &[
                &["MULTI"],
                &["LPUSH", key, "a", "b"],
                &["LPOP", key],
                &["EXEC"],
            ],
        );
        assert_eq!(replies[3], "*2\r\n:2\r\n$1\r\nb\r\n");
        assert_eq!(
            String::from_utf8_lossy(&waiter.read_reply()),
            format!("*2\r\n{}{}", bulk(key), bulk("a"))
        );
    }
    r.set_resp3(true);
    r.cmd(&["HELLO", "3"]);
    assert_eq!(
        pipeline(&mut r, &[&["MULTI"], &["BLPOP", &l1, "0"], &["EXEC"]])[2],
        "*1\r\n_\r\n"
    );
}

/// A client blocked on a key is served after the whole transaction that pushes to it, not at its first
/// push: BLPOP k; MULTI, RPUSH k a, LPOP k, RPUSH k b, EXEC — the blocked client gets b, as from
/// redis-server. On slotkv (two cores): the key on either core, with the transaction on that core alone
/// and spread over both cores (a write to the other core, and a node-wide DBSIZE).
#[test]
fn blocked_clients_are_served_after_the_whole_exec() {
    fn wait_blocked(p: &mut Raw) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !p
            .cmd_str(&["INFO", "clients"])
            .contains("blocked_clients:1\r\n")
        {
            assert!(std::time::Instant::now() < deadline, "BLPOP never blocked");
            thread::sleep(Duration::from_millis(2));
        }
    }
    /// EXEC's reply and the blocked client's, with `extra` queued between the pops and the last push.
    fn run(port: u16, k: &str, extra: &[&str]) -> (String, String) {
        let (mut a, mut b) = (Raw::connect(port), Raw::connect(port));
        b.cmd(&["DEL", k]);
        a.send_cmd(&[b"BLPOP", k.as_bytes(), b"5"]);
        wait_blocked(&mut b);
        let (push_a, pop, push_b) = (["RPUSH", k, "a"], ["LPOP", k], ["RPUSH", k, "b"]);
        let mut cmds: Vec<&[&str]> = vec![&["MULTI"], &push_a, &pop];
        if !extra.is_empty() {
            cmds.push(extra);
        }
        cmds.extend([&push_b[..], &["EXEC"]]);
        let exec = pipeline(&mut b, &cmds).pop().unwrap();
        let served = String::from_utf8_lossy(&a.read_reply()).into_owned();
        assert_eq!(b.cmd_str(&["EXISTS", k]), ":0\r\n");
        (exec, served)
    }
    let s = Server::with_cores(2);
    let (k0, k1) = (key_on(0, 2, "k"), key_on(1, 2, "k"));
    let redis = RedisServer::start();
    if redis.is_none() {
        eprintln!("SKIPPED the redis-server comparison: /usr/bin/redis-server is not installed");
    }
    for (k, other) in [(&k0, &k1), (&k1, &k0)] {
        for extra in [vec![], vec!["SET", other.as_str(), "1"], vec!["DBSIZE"]] {
            let ours = run(s.port, k, &extra);
            assert_eq!(
                ours.1,
                format!("*2\r\n{}{}", bulk(k), bulk("b")),
                "{k} {extra:?}: {ours:?}"
            );
            // RPUSH, LPOP, (extra), RPUSH: the LPOP took a, the waiter b.
            assert!(
                ours.0
                    .starts_with(&format!("*{}\r\n:1\r\n$1\r\na\r\n", 3 + extra.len().min(1)))
                    && ours.0.ends_with(":1\r\n"),
                "{k} {extra:?}: {ours:?}"
            );
            if let Some(redis) = &redis {
                assert_eq!(ours, run(redis.port, k, &extra), "{k} {extra:?}");
            }
        }
    }
}

/// A scripted two-connection session, replayed on slotkv (two cores) and redis-server: identical bytes.
#[test]
fn session_matches_real_redis() {
    let Some(redis) = RedisServer::start() else {
        eprintln!("/usr/bin/redis-server not installed: skipping the differential run");
        return;
    };
    let s = Server::with_cores(2);
    let (k0, k1) = (key_on(0, 2, "d"), key_on(1, 2, "d"));
    let script: Vec<(usize, Vec<&str>)> = vec![
        (0, vec!["EXEC"]),
        (0, vec!["DISCARD"]),
        (0, vec!["MULTI"]),
        (0, vec!["SET", &k0, "1"]),
        (0, vec!["MULTI"]),
        (0, vec!["WATCH", &k0]),
        (0, vec!["INCR", &k0]),
        (0, vec!["INCRBY", &k1, "notanumber"]),
        (0, vec!["SET", &k1, "v", "EX", "0"]),
        (0, vec!["GET", &k0]),
        (0, vec!["EXEC"]),
        (0, vec!["MULTI"]),
        (0, vec!["GETRANGE", &k0]),
        (0, vec!["SET", &k0, "2"]),
        (0, vec!["EXEC"]),
        (0, vec!["GET", &k0]),
        (0, vec!["WATCH", &k0, &k1]),
        (1, vec!["DEL", &k1]),
        (0, vec!["MULTI"]),
        (0, vec!["SET", &k1, "x"]),
        (0, vec!["EXEC"]),
        (0, vec!["WATCH", &k0, &k1]),
        (1, vec!["INCR", &k0]),
        (0, vec!["MULTI"]),
        (0, vec!["SET", &k1, "x"]),
        (0, vec!["EXEC"]),
        (0, vec!["EXISTS", &k1]),
        (0, vec!["WATCH", &k0]),
        (0, vec!["MULTI"]),
        (0, vec!["SELECT", "1"]),
        (0, vec!["SET", &k0, "db1"]),
        (1, vec!["SELECT", "1"]),
        (1, vec!["SET", &k0, "other"]),
        (0, vec!["EXEC"]),
        (0, vec!["GET", &k0]),
        (0, vec!["SELECT", "0"]),
        (0, vec!["MULTI"]),
        (0, vec!["EXEC", "now"]),
        (0, vec!["EXEC"]),
        (0, vec!["MULTI"]),
        (0, vec!["DEL", &k0, &k1]),
        (0, vec!["RESET"]),
        (0, vec!["EXISTS", &k0]),
        (0, vec!["WATCH", &k0]),
        (0, vec!["MULTI"]),
        (0, vec!["FLUSHALL", "bad"]),
        (0, vec!["EXEC"]),
        (0, vec!["MULTI"]),
        (0, vec!["FLUSHDB", "bad"]),
        (0, vec!["TTL", &k0]),
        (0, vec!["EXPIRE", &k0, "100"]),
        (0, vec!["TTL", &k0]),
        (0, vec!["PERSIST", &k0]),
        (0, vec!["EXEC"]),
        (0, vec!["WATCH", "never"]),
        (1, vec!["FLUSHALL"]),
        (0, vec!["MULTI"]),
        (0, vec!["PING", "hi"]),
        (0, vec!["EXEC"]),
        (0, vec!["UNWATCH"]),
    ];
    let mut ours = [s.raw(), s.raw()];
    let mut theirs = [redis.raw(), redis.raw()];
    for (step, (conn, args)) in script.iter().enumerate() {
        let want = theirs[*conn].cmd_str(args);
        let got = ours[*conn].cmd_str(args);
        assert_eq!(got, want, "step {step}: connection {conn} sent {args:?}");
    }
}

#[test]
fn member_writes_that_keep_the_count_still_abort_watch() {
    // HSET of an existing field, SADD-then-SREM... leave a collection's size as it was: the key was still
    // written, and Redis aborts EXEC.
    let s = Server::start();
    let mut r = s.raw();
    let mut o = s.raw();
    assert_eq!(r.cmd_str(&["HSET", "h", "f", "1"]), ":1\r\n");
    let reply = watch_then(&mut r, &["h"], |_| {
        assert_eq!(o.cmd_str(&["HSET", "h", "f", "2"]), ":0\r\n")
    });
    assert_eq!(reply, NULL_ARRAY);
    assert_eq!(r.cmd_str(&["RPUSH", "l", "a", "b"]), ":2\r\n");
    let reply = watch_then(&mut r, &["l"], |_| {
        assert_eq!(o.cmd_str(&["LSET", "l", "0", "z"]), OK)
    });
    assert_eq!(reply, NULL_ARRAY);
    // A write that changes nothing (HSETNX of an existing field) does not abort, as in Redis.
    let reply = watch_then(&mut r, &["h"], |_| {
        assert_eq!(o.cmd_str(&["HSETNX", "h", "f", "3"]), ":0\r\n")
    });
    assert_eq!(reply, RAN);
}

/// Writes that leave a list as it was — LTRIM keeping every element, LMOVE / BLMOVE of a list onto its own
/// end — still count as writes of the key in Redis (it signals the key modified either way), so EXEC aborts;
/// no-ops Redis does not signal (LREM of an absent element, LTRIM or LMOVE of a missing key) do not. Keys
/// on either core of two; each case checked against redis-server when it is installed.
#[test]
fn list_writes_that_change_nothing_still_abort_watch() {
    let s = Server::with_cores(2);
    let redis = RedisServer::start();
    for core in 0..2 {
        let key = key_on(core, 2, "l");
        let cases: [(&[&str], &str, &str); 6] = [
            (&["LTRIM", &key, "0", "-1"], OK, NULL_ARRAY),
            (&["LTRIM", &key, "0", "99"], OK, NULL_ARRAY),
            (
                &["LMOVE", &key, &key, "LEFT", "LEFT"],
                "$1\r\na\r\n",
                NULL_ARRAY,
            ),
            (
                &["LMOVE", &key, &key, "RIGHT", "RIGHT"],
                "$1\r\nb\r\n",
                NULL_ARRAY,
            ),
            (
                &["BLMOVE", &key, &key, "LEFT", "LEFT", "0"],
                "$1\r\na\r\n",
                NULL_ARRAY,
            ),
            (&["LREM", &key, "0", "absent"], ":0\r\n", RAN),
        ];
        let mut servers = vec![("slotkv", s.raw(), s.raw())];
        if let Some(redis) = &redis {
            servers.push(("redis", redis.raw(), redis.raw()));
        }
        for (name, mut r, mut o) in servers {
            for (cmd, reply, exec) in cases {
                assert_eq!(o.cmd_str(&["DEL", &key]).len(), 4);
                assert_eq!(o.cmd_str(&["RPUSH", &key, "a", "b"]), ":2\r\n");
                let got = watch_then(&mut r, &[&key], |_| assert_eq!(o.cmd_str(cmd), reply));
                assert_eq!(got, exec, "{name}: {cmd:?}");
                assert_eq!(
                    o.cmd_str(&["LRANGE", &key, "0", "-1"]),
                    "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
                );
            }
            // On a missing key they write nothing, and nothing aborts.
            assert_eq!(o.cmd_str(&["DEL", &key]), ":1\r\n");
            for cmd in [
                &["LTRIM", &key, "0", "-1"][..],
                &["LMOVE", &key, &key, "LEFT", "LEFT"],
            ] {
                assert_eq!(
                    watch_then(&mut r, &[&key], |_| drop(o.cmd_str(cmd))),
                    RAN,
                    "{name}: {cmd:?}"
                );
            }
        }
    }
}

/// A HELLO queued in MULTI switches the protocol for the replies after it inside EXEC's array, as Redis
/// writes them (its own reply in the new protocol); compared byte for byte with redis-server.
#[test]
fn hello_inside_multi_switches_the_protocol_mid_array() {
    let redis = RedisServer::start();
    let session = |port: u16, start: &str, switch: &str, watch: &[String]| {
        let mut r = Raw::connect(port);
        r.set_resp3(true); // reads either protocol
        let mut out = String::new();
        let mut watch_cmd = vec!["WATCH"];
        watch_cmd.extend(watch.iter().map(String::as_str));
        for cmd in [
            &["HELLO", start][..],
            &["FLUSHALL"],
            &["HSET", "h", "a", "1"],
            &["ZADD", "z", "1.5", "a"],
            if watch.is_empty() {
                &["PING"]
            } else {
                &watch_cmd
            },
            &["MULTI"],
            &["GET", "nokey"],
            &["HELLO", switch],
            &["HGETALL", "h"],
            &["ZSCORE", "z", "a"],
            &["GET", "nokey"],
        ] {
            r.cmd(cmd);
        }
        // The array mixes the two protocols, which neither decoder reads: take the bytes as they come.
        r.send(&encode_cmd(&[&b"EXEC"[..]]));
        r.send(&encode_cmd(&[&b"ZSCORE"[..], b"z", b"a"]));
        let tail = if switch == "3" {
            ",1.5\r\n"
        } else {
            "$3\r\n1.5\r\n"
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while out.matches(tail).count() < 2 && std::time::Instant::now() < deadline {
            let mut chunk = [0u8; 4096];
            r.stream
                .set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            if let Ok(n) = r.stream.read(&mut chunk) {
                out.push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        }
        out
    };
    // One core: EXEC answers at once. Two cores with keys watched on both: EXEC waits on the other core
    // (and the queue, its keys on both cores, runs command by command), so its reply is encoded later.
    let one = Server::start();
    let two = Server::with_cores(2);
    let watched = [key_on(0, 2, "w"), key_on(1, 2, "w")];
    for (s, watch, start, switch) in [
        (&one, &[][..], "2", "3"),
        (&one, &[][..], "3", "2"),
        (&two, &watched[..], "2", "3"),
        (&two, &watched[..], "3", "2"),
    ] {
        let ours = session(s.port, start, switch, watch);
        // The element before HELLO in the old protocol, those after it in the new one.
        let (before, after) = if start == "2" {
            ("$-1\r\n", ",1.5\r\n_\r\n")
        } else {
            ("_\r\n", "$3\r\n1.5\r\n$-1\r\n")
        };
        assert!(ours.starts_with(&format!("*5\r\n{before}")), "{ours:?}");
        assert!(ours.contains(after), "{ours:?}");
        if let Some(redis) = &redis {
            // HELLO's map names the server's version and the connection's id, which differ.
            let strip = |s: &str| {
                let version = s.find("version").unwrap();
                let modules = s.find("modules").unwrap();
                format!("{}{}", &s[..version], &s[modules..])
            };
            let theirs = session(redis.port, start, switch, watch);
            let id = |s: &str| s.contains("\r\nid\r\n");
            assert!(id(&ours) && id(&theirs));
            assert_eq!(strip(&ours), strip(&theirs), "HELLO {start} then {switch}");
        }
    }
}

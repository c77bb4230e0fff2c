//! Black-box tests of the connection and server commands: HELLO/AUTH/RESET, CLIENT, COMMAND, CONFIG, INFO,
//! SLOWLOG, SHUTDOWN and the small ones (TIME, LASTSAVE, WAIT, READONLY), on one and two cores, plus
//! redis-cli against the server and a byte-for-byte comparison of error replies with a real redis-server.
//! Longer than most test files because it covers a whole command family in one place.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use slotkv_tests::{Raw, RedisServer, Server, ServerOptions};

// ---- helpers ----

/// A key whose slot a 2-core node places on `core`.
fn key_on(core: usize, prefix: &str) -> String {
    slotkv_tests::key_on(core, 2, prefix)
}

/// The text of a bulk (RESP2) or verbatim (RESP3) reply.
fn text_of(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw).into_owned();
    let body = &s[s.find("\r\n").expect("a bulk or verbatim reply") + 2..s.len() - 2];
    match s.as_bytes()[0] {
        b'$' => body.to_string(),
        b'=' => body.strip_prefix("txt:").expect("txt format").to_string(),
        _ => panic!("not a bulk or verbatim reply: {s:?}"),
    }
}

/// INFO text as section name (lower case) -> field -> value.
fn parse_info(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current = String::new();
    for line in text.split("\r\n") {
        if let Some(name) = line.strip_prefix("# ") {
            current = name.to_ascii_lowercase();
            out.entry(current.clone()).or_default();
        } else if let Some((k, v)) = line.split_once(':') {
            out.get_mut(&current)
                .expect("a field inside a section")
                .insert(k.to_string(), v.to_string());
        } else {
            assert!(line.is_empty(), "unexpected INFO line {line:?}");
        }
    }
    out
}

fn info(r: &mut Raw, section: &str) -> HashMap<String, HashMap<String, String>> {
    let text = text_of(&r.cmd(&["INFO", section]));
    assert!(text.ends_with("\r\n"), "{text:?}");
    parse_info(&text)
}

/// Connected clients per core, from INFO cores.
fn clients_per_core(r: &mut Raw) -> Vec<usize> {
    let cores = &info(r, "cores")["cores"];
    let mut out = vec![0; cores.len()];
    for (name, line) in cores {
        let core: usize = name.strip_prefix("core").unwrap().parse().unwrap();
        let clients = line
            .split(',')
            .find_map(|kv| kv.strip_prefix("clients="))
            .unwrap();
        out[core] = clients.parse().unwrap();
    }
    out
}

/// A per-core field of INFO cores.
fn core_field(r: &mut Raw, core: usize, field: &str) -> String {
    let line = info(r, "cores")["cores"][&format!("core{core}")].clone();
    line.split(',')
        .find_map(|kv| kv.strip_prefix(&format!("{field}=")).map(str::to_string))
        .unwrap()
}

fn client_id(r: &mut Raw) -> u64 {
    let reply = r.cmd_str(&["CLIENT", "ID"]);
    reply[1..reply.len() - 2].parse().unwrap()
}

/// Opens connections to a 2-core node until each core holds at least `per_core` of them; returns them with
/// their core and client id. Which core accepts a connection is the kernel's choice; INFO tells.
fn connections_on_both_cores(
    s: &Server,
    probe: &mut Raw,
    per_core: usize,
) -> Vec<(Raw, usize, u64)> {
    let mut out: Vec<(Raw, usize, u64)> = Vec::new();
    for _ in 0..200 {
        let count = |core| out.iter().filter(|(_, c, _)| *c == core).count();
        if count(0) >= per_core && count(1) >= per_core {
            return out;
        }
        let before = clients_per_core(probe);
        let mut r = s.raw();
        let id = client_id(&mut r);
        let after = clients_per_core(probe);
        let core = (0..2)
            .find(|&c| after[c] == before[c] + 1)
            .expect("the new connection shows up on one core");
        out.push((r, core, id));
    }
    panic!("the kernel never spread connections over both cores");
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ---- connection commands ----

#[test]
fn ping_echo_time_lastsave_wait_readonly() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["PING"]), "+PONG\r\n");
    assert_eq!(r.cmd_str(&["ECHO", "hi there"]), "$8\r\nhi there\r\n");
    let time = r.cmd_str(&["TIME"]);
    let parts: Vec<&str> = time.split("\r\n").collect();
    assert!(parts[0] == "*2" && parts[1].starts_with('$'), "{time:?}");
    let secs: u64 = parts[2].parse().unwrap();
    let micros: u64 = parts[4].parse().unwrap();
    assert!(secs.abs_diff(unix_now()) <= 2 && micros < 1_000_000);
    let lastsave = r.cmd_str(&["LASTSAVE"]);
    let started: u64 = lastsave[1..lastsave.len() - 2].parse().unwrap();
    assert!(started <= unix_now() && unix_now() - started < 120);
    assert_eq!(r.cmd_str(&["WAIT", "0", "0"]), ":0\r\n");
    assert_eq!(r.cmd_str(&["WAIT", "2", "100"]), ":0\r\n");
    assert_eq!(
        r.cmd_str(&["READONLY"]),
        "-ERR This instance has cluster support disabled\r\n"
    );
    assert_eq!(
        r.cmd_str(&["READWRITE"]),
        "-ERR This instance has cluster support disabled\r\n"
    );
}

#[test]
fn hello_switches_protocol_and_reply_types() {
    let s = Server::start();
    let mut r = s.raw();
    let id = client_id(&mut r);
    // RESP2 before: CONFIG GET is a flat array, INFO a bulk string.
    assert_eq!(
        r.cmd_str(&["CONFIG", "GET", "maxclients"]),
        "*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n"
    );
    assert!(r.cmd_str(&["INFO", "cluster"]).starts_with('$'));
    let hello = format!(
        "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.0\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n\
         :{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    );
    r.set_resp3(true);
    assert_eq!(r.cmd_str(&["HELLO", "3"]), hello);
    // RESP3 after: maps, verbatim strings, nulls.
    assert_eq!(
        r.cmd_str(&["CONFIG", "GET", "maxclients"]),
        "%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n"
    );
    assert_eq!(
        r.cmd_str(&["INFO", "cluster"]),
        "=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n"
    );
    assert_eq!(r.cmd_str(&["CLIENT", "GETNAME"]), "_\r\n");
    assert!(r.cmd_str(&["CLIENT", "INFO"]).contains(" resp=3 "));
    // HELLO with no version keeps the protocol; SETNAME names the connection.
    let reply = r.cmd_str(&["HELLO"]);
    assert!(reply.starts_with("%7\r\n") && reply.contains("proto\r\n:3\r\n"));
    assert!(r
        .cmd_str(&["HELLO", "3", "SETNAME", "me"])
        .starts_with("%7\r\n"));
    assert_eq!(r.cmd_str(&["CLIENT", "GETNAME"]), "$2\r\nme\r\n");
    // The first argument is always the version.
    assert_eq!(
        r.cmd_str(&["HELLO", "SETNAME", "x"]),
        "-ERR Protocol version is not an integer or out of range\r\n"
    );
    r.set_resp3(false);
    let reply = r.cmd_str(&["HELLO", "2"]);
    assert!(reply.starts_with("*14\r\n") && reply.contains("proto\r\n:2\r\n"));
    assert_eq!(r.cmd_str(&["CLIENT", "SETNAME", ""]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["CLIENT", "GETNAME"]), "$-1\r\n");

    for (args, err) in [
        (&["HELLO", "1"][..], "-NOPROTO unsupported protocol version"),
        (&["HELLO", "4"], "-NOPROTO unsupported protocol version"),
        (
            &["HELLO", "x"],
            "-ERR Protocol version is not an integer or out of range",
        ),
        (
            &["HELLO", "3", "FOO"],
            "-ERR Syntax error in HELLO option 'FOO'",
        ),
        (
            &["HELLO", "3", "AUTH", "default"],
            "-ERR Syntax error in HELLO option 'AUTH'",
        ),
        (
            &["HELLO", "3", "SETNAME", "a b"],
            "-ERR Client names cannot contain spaces, newlines or special characters.",
        ),
        (
            &["HELLO", "3", "AUTH", "bob", "x"],
            "-WRONGPASS invalid username-password pair or user is disabled.",
        ),
    ] {
        assert_eq!(r.cmd_str(args), format!("{err}\r\n"), "{args:?}");
    }
    // A failed HELLO changes nothing.
    assert_eq!(
        r.cmd_str(&["CONFIG", "GET", "hz"]),
        "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n"
    );
}

/// A server started with `--requirepass`.
fn password_server(password: &str) -> Server {
    Server::with(ServerOptions {
        extra: vec!["--requirepass".into(), password.into()],
        ..Default::default()
    })
}

#[test]
fn auth_and_requirepass() {
    let s = password_server("pw");
    let mut r = s.raw();
    assert_eq!(
        r.cmd_str(&["GET", "k"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        r.cmd_str(&["CLIENT", "ID"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        r.cmd_str(&["HELLO", "3"]),
        "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO \
         <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP \
         protocol version at the same time\r\n"
    );
    let wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    assert_eq!(r.cmd_str(&["AUTH", "nope"]), wrongpass);
    assert_eq!(r.cmd_str(&["AUTH", "default", "nope"]), wrongpass);
    assert_eq!(r.cmd_str(&["AUTH", "bob", "pw"]), wrongpass);
    assert_eq!(r.cmd_str(&["AUTH", "a", "b", "c"]), "-ERR syntax error\r\n");
    assert_eq!(
        r.cmd_str(&["GET", "k"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(r.cmd_str(&["AUTH", "pw"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["GET", "k"]), "$-1\r\n");
    // RESET forgets the authentication when a password is set.
    assert_eq!(r.cmd_str(&["RESET"]), "+RESET\r\n");
    assert_eq!(
        r.cmd_str(&["GET", "k"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(r.cmd_str(&["AUTH", "default", "pw"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["SET", "k", "v"]), "+OK\r\n");

    // HELLO AUTH works before authentication, and sets the name.
    let mut h = s.raw();
    h.set_resp3(true);
    assert_eq!(
        h.cmd_str(&["HELLO", "3", "AUTH", "default", "nope"]),
        wrongpass
    );
    let reply = h.cmd_str(&["HELLO", "3", "AUTH", "default", "pw", "SETNAME", "svc"]);
    assert!(reply.starts_with("%7\r\n"), "{reply:?}");
    assert_eq!(h.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(h.cmd_str(&["CLIENT", "GETNAME"]), "$3\r\nsvc\r\n");

    // The slow log does not keep passwords.
    assert_eq!(
        r.cmd_str(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]),
        "+OK\r\n"
    );
    let mut a = s.raw();
    assert_eq!(a.cmd_str(&["AUTH", "pw"]), "+OK\r\n");
    let log = r.cmd_str(&["SLOWLOG", "GET", "5"]);
    assert!(
        log.contains("$4\r\nAUTH\r\n$10\r\n(redacted)\r\n"),
        "{log:?}"
    );
    assert!(!log.contains("\r\npw\r\n"), "{log:?}");

    // Clearing the password lets new connections in without AUTH.
    assert_eq!(r.cmd_str(&["CONFIG", "SET", "requirepass", ""]), "+OK\r\n");
    assert_eq!(s.raw().cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(
        s.raw().cmd_str(&["AUTH", "x"]),
        "-ERR AUTH <password> called without any password configured for the default user. Are you \
         sure your configuration is correct?\r\n"
    );
    assert_eq!(s.raw().cmd_str(&["AUTH", "default", "x"]), "+OK\r\n");
    // And setting one again locks out new connections, not the ones already authenticated.
    assert_eq!(
        r.cmd_str(&["CONFIG", "SET", "requirepass", "pw2"]),
        "+OK\r\n"
    );
    assert_eq!(
        s.raw().cmd_str(&["GET", "k"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(r.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
}

#[test]
fn reset_restores_a_new_connection() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["SELECT", "3"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["SET", "k", "db3"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["CLIENT", "SETNAME", "x"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    r.set_resp3(true);
    assert!(r.cmd_str(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(r.cmd_str(&["RESET"]), "+RESET\r\n");
    r.set_resp3(false);
    assert_eq!(r.cmd_str(&["GET", "k"]), "$-1\r\n");
    assert_eq!(r.cmd_str(&["CLIENT", "GETNAME"]), "$-1\r\n");
    let info = text_of(&r.cmd(&["CLIENT", "INFO"]));
    assert!(info.contains(" db=0 ") && info.contains(" resp=2 ") && info.contains(" flags=N "));
    assert_eq!(
        r.cmd_str(&["RESET", "x"]),
        "-ERR wrong number of arguments for 'reset' command\r\n"
    );
}

// ---- CLIENT ----

#[test]
fn client_attributes_and_info() {
    let s = Server::start();
    let mut r = s.raw();
    let id = client_id(&mut r);
    assert_eq!(r.cmd_str(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(r.cmd_str(&["CLIENT", "SETNAME", "worker-1"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["CLIENT", "GETNAME"]), "$8\r\nworker-1\r\n");
    assert_eq!(
        r.cmd_str(&["CLIENT", "SETINFO", "LIB-NAME", "redis-rs"]),
        "+OK\r\n"
    );
    assert_eq!(
        r.cmd_str(&["CLIENT", "SETINFO", "lib-ver", "0.27"]),
        "+OK\r\n"
    );
    assert_eq!(r.cmd_str(&["CLIENT", "NO-TOUCH", "ON"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["SELECT", "2"]), "+OK\r\n");
    let line = text_of(&r.cmd(&["CLIENT", "INFO"]));
    assert!(
        line.ends_with('\n') && line.matches('\n').count() == 1,
        "{line:?}"
    );
    for part in [
        format!("id={id} "),
        " name=worker-1 ".into(),
        " db=2 ".into(),
        " flags=T ".into(),
        " cmd=client|info ".into(),
        " user=default ".into(),
        " lib-name=redis-rs lib-ver=0.27\n".into(),
        format!(" laddr=127.0.0.1:{} ", s.port),
    ] {
        assert!(line.contains(&part), "{part:?} not in {line:?}");
    }
    assert!(line.starts_with(&format!("id={id} addr=127.0.0.1:")));

    for (args, err) in [
        (
            &["CLIENT", "SETNAME", "a b"][..],
            "-ERR Client names cannot contain spaces, newlines or special characters.",
        ),
        (
            &["CLIENT", "SETNAME", "a\nb"],
            "-ERR Client names cannot contain spaces, newlines or special characters.",
        ),
        (
            &["CLIENT", "SETINFO", "lib-name", "a b"],
            "-ERR lib-name cannot contain spaces, newlines or special characters.",
        ),
        (
            &["CLIENT", "SETINFO", "foo", "x"],
            "-ERR Unrecognized option 'foo'",
        ),
        (&["CLIENT", "NO-TOUCH", "maybe"], "-ERR syntax error"),
        (&["CLIENT", "NO-EVICT", "maybe"], "-ERR syntax error"),
        (&["CLIENT", "REPLY", "maybe"], "-ERR syntax error"),
        (
            &["CLIENT", "ID", "x"],
            "-ERR wrong number of arguments for 'client|id' command",
        ),
        (
            &["CLIENT"],
            "-ERR wrong number of arguments for 'client' command",
        ),
        (
            &["CLIENT", "FOO"],
            "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.",
        ),
        (
            &["CLIENT", "PAUSE", "100"],
            "-ERR CLIENT PAUSE is not supported by slotkv: commands are never paused",
        ),
        (
            &["CLIENT", "TRACKING", "on"],
            "-ERR CLIENT TRACKING is not supported by slotkv (no client-side caching invalidation)",
        ),
    ] {
        assert_eq!(r.cmd_str(args), format!("{err}\r\n"), "{args:?}");
    }
    assert_eq!(r.cmd_str(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["CLIENT", "TRACKING", "off"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["CLIENT", "GETREDIR"]), ":-1\r\n");
    assert_eq!(r.cmd_str(&["CLIENT", "UNBLOCK", "1"]), ":0\r\n");
    let help = r.cmd_str(&["CLIENT", "HELP"]);
    assert!(help.starts_with("*") && help.contains(
        "\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+CACHING (YES|NO)\r\n"
    ));
    assert!(help.ends_with("+HELP\r\n+    Prints this help.\r\n"));
}

#[test]
fn client_reply_off_skip_on() {
    let s = Server::start();
    let mut r = s.raw();
    // OFF answers nothing, and nothing after it until ON.
    r.send_cmd(&[b"CLIENT", b"REPLY", b"OFF"]);
    r.send_cmd(&[b"SET", b"a", b"1"]);
    r.send_cmd(&[b"PING"]);
    assert_eq!(r.cmd_str(&["CLIENT", "REPLY", "ON"]), "+OK\r\n");
    // SKIP answers nothing and drops the next reply only.
    r.send_cmd(&[b"CLIENT", b"REPLY", b"SKIP"]);
    r.send_cmd(&[b"ECHO", b"dropped"]);
    assert_eq!(r.cmd_str(&["ECHO", "kept"]), "$4\r\nkept\r\n");
    // The writes made while replies were off happened.
    assert_eq!(r.cmd_str(&["GET", "a"]), "$1\r\n1\r\n");
    // SKIP also drops an error reply.
    r.send_cmd(&[b"CLIENT", b"REPLY", b"SKIP"]);
    r.send_cmd(&[b"NOSUCHCOMMAND"]);
    assert_eq!(r.cmd_str(&["PING"]), "+PONG\r\n");
}

/// A SKIP in force covers the reply of a RESET that follows it (RESET turns replies back on for the
/// commands after it), as in redis-server.
#[test]
fn client_reply_skip_covers_a_following_reset() {
    let s = Server::start();
    let redis = RedisServer::start();
    let mut conns = vec![s.raw()];
    conns.extend(redis.as_ref().map(RedisServer::raw));
    for r in &mut conns {
        r.send_cmd(&[b"CLIENT", b"REPLY", b"SKIP"]);
        r.send_cmd(&[b"RESET"]);
        assert_eq!(r.cmd_str(&["PING"]), "+PONG\r\n");
        // OFF, then RESET: RESET turns replies on before it answers.
        r.send_cmd(&[b"CLIENT", b"REPLY", b"OFF"]);
        assert_eq!(r.cmd_str(&["RESET"]), "+RESET\r\n");
        // SKIP, then SKIP again: the second is the skipped command, and arms the skip once more.
        r.send_cmd(&[b"CLIENT", b"REPLY", b"SKIP"]);
        r.send_cmd(&[b"CLIENT", b"REPLY", b"SKIP"]);
        r.send_cmd(&[b"ECHO", b"dropped"]);
        assert_eq!(r.cmd_str(&["ECHO", "on"]), "$2\r\non\r\n");
    }
}

/// A CLIENT REPLY queued in MULTI changes the mode for the commands after EXEC. EXEC's own reply is the
/// whole array, whichever core runs the queue (it was dropped when the connection's own core ran it, and
/// not when another did). redis-server answers EXEC with an array header whose elements after the OFF
/// or SKIP are missing, which no client can parse; docs/commands.md says so.
#[test]
fn client_reply_in_multi_takes_effect_after_exec_on_any_core() {
    let s = Server::with_cores(2);
    for core in [0, 1] {
        let key = key_on(core, "reply-mode:");
        for _ in 0..4 {
            let mut r = s.raw();
            assert_eq!(r.cmd_str(&["MULTI"]), "+OK\r\n");
            assert_eq!(r.cmd_str(&["CLIENT", "REPLY", "OFF"]), "+QUEUED\r\n");
            assert_eq!(r.cmd_str(&["GET", &key]), "+QUEUED\r\n");
            assert_eq!(r.cmd_str(&["EXEC"]), "*2\r\n+OK\r\n$-1\r\n");
            r.send_cmd(&[b"PING"]);
            assert_eq!(r.cmd_str(&["CLIENT", "REPLY", "ON"]), "+OK\r\n");
            assert_eq!(r.cmd_str(&["MULTI"]), "+OK\r\n");
            assert_eq!(r.cmd_str(&["CLIENT", "REPLY", "SKIP"]), "+QUEUED\r\n");
            assert_eq!(r.cmd_str(&["GET", &key]), "+QUEUED\r\n");
            assert_eq!(r.cmd_str(&["EXEC"]), "*2\r\n+OK\r\n$-1\r\n");
            r.send_cmd(&[b"ECHO", b"dropped"]);
            assert_eq!(r.cmd_str(&["ECHO", "kept"]), "$4\r\nkept\r\n");
        }
    }
}

#[test]
fn client_list_and_kill_across_cores() {
    let s = Server::with_cores(2);
    let mut probe = s.raw();
    let probe_id = client_id(&mut probe);
    let mut conns = connections_on_both_cores(&s, &mut probe, 2);
    let ids: Vec<u64> = conns.iter().map(|(_, _, id)| *id).collect();

    // LIST from any connection sees every connection of every core, in id order, once.
    for (r, _, _) in conns.iter_mut().take(3) {
        let list = text_of(&r.cmd(&["CLIENT", "LIST"]));
        let listed: Vec<u64> = list
            .lines()
            .map(|l| {
                l.strip_prefix("id=")
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        assert_eq!(listed, sorted, "{list}");
        for id in ids.iter().chain([&probe_id]) {
            assert_eq!(
                listed.iter().filter(|l| *l == id).count(),
                1,
                "{id} in {list}"
            );
        }
        assert!(list.contains("cmd=client|list"));
    }
    // Filters.
    let (a, b) = (ids[0], ids[ids.len() - 1]);
    let only = text_of(&probe.cmd(&[
        "CLIENT",
        "LIST",
        "ID",
        &b.to_string(),
        &a.to_string(),
        "999999",
    ]));
    let order: Vec<&str> = only.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(order, vec![format!("id={b}"), format!("id={a}")]);
    assert_eq!(
        text_of(&probe.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"])),
        ""
    );
    let normal = text_of(&probe.cmd(&["CLIENT", "LIST", "TYPE", "normal"]));
    assert_eq!(normal.lines().count(), ids.len() + 1);
    assert_eq!(
        probe.cmd_str(&["CLIENT", "LIST", "ID", "x"]),
        "-ERR Invalid client ID\r\n"
    );

    // KILL by id reaches either core; the victim's connection closes.
    let other_core_victim = conns.iter().position(|(_, c, _)| *c == 0).unwrap();
    let (mut victim, _, victim_id) = conns.remove(other_core_victim);
    assert_eq!(
        probe.cmd_str(&["CLIENT", "KILL", "ID", &victim_id.to_string()]),
        ":1\r\n"
    );
    assert!(victim.closed_by_server());
    let victim = conns.iter().position(|(_, c, _)| *c == 1).unwrap();
    let (mut victim, _, victim_id) = conns.remove(victim);
    assert_eq!(
        probe.cmd_str(&["CLIENT", "KILL", "ID", &victim_id.to_string()]),
        ":1\r\n"
    );
    assert!(victim.closed_by_server());
    assert_eq!(
        probe.cmd_str(&["CLIENT", "KILL", "ID", &victim_id.to_string()]),
        ":0\r\n"
    );

    // The old form names an address and answers OK or an error.
    let (mut victim, _, _) = conns.remove(0);
    let addr = text_of(&victim.cmd(&["CLIENT", "INFO"]))
        .split(' ')
        .find_map(|f| f.strip_prefix("addr=").map(str::to_string))
        .unwrap();
    assert_eq!(probe.cmd_str(&["CLIENT", "KILL", &addr]), "+OK\r\n");
    assert!(victim.closed_by_server());
    assert_eq!(
        probe.cmd_str(&["CLIENT", "KILL", &addr]),
        "-ERR No such client\r\n"
    );

    // SKIPME: by default the caller survives its own filter; with SKIPME no it is closed after the reply.
    let (mut me, _, my_id) = conns.remove(0);
    assert_eq!(
        me.cmd_str(&["CLIENT", "KILL", "ID", &my_id.to_string()]),
        ":0\r\n"
    );
    assert_eq!(
        me.cmd_str(&["CLIENT", "KILL", "ID", &my_id.to_string(), "SKIPME", "no"]),
        ":1\r\n"
    );
    assert!(me.closed_by_server());

    // Everyone else still answers; killing by type with SKIPME yes empties the node but for the caller.
    for (r, _, _) in conns.iter_mut() {
        assert_eq!(r.cmd_str(&["PING"]), "+PONG\r\n");
    }
    // (The closed connections leave the registry as their tasks end.)
    let deadline = Instant::now() + Duration::from_secs(5);
    while text_of(&probe.cmd(&["CLIENT", "LIST"])).lines().count() != conns.len() + 1 {
        assert!(Instant::now() < deadline, "killed connections still listed");
        std::thread::sleep(Duration::from_millis(10));
    }
    let killed = probe.cmd_str(&["CLIENT", "KILL", "TYPE", "normal"]);
    assert_eq!(killed, format!(":{}\r\n", conns.len()));
    for (r, _, _) in conns.iter_mut() {
        assert!(r.closed_by_server());
    }
    assert_eq!(probe.cmd_str(&["PING"]), "+PONG\r\n");
    for (args, err) in [
        (
            &["CLIENT", "KILL", "ID", "0"][..],
            "-ERR client-id should be greater than 0",
        ),
        (
            &["CLIENT", "KILL", "ID", "x"],
            "-ERR client-id should be greater than 0",
        ),
        (
            &["CLIENT", "KILL", "USER", "bob"],
            "-ERR No such user 'bob'",
        ),
        (
            &["CLIENT", "KILL", "TYPE", "foo"],
            "-ERR Unknown client type 'foo'",
        ),
        (
            &["CLIENT", "KILL", "ID", "1", "SKIPME", "maybe"],
            "-ERR syntax error",
        ),
        (
            &["CLIENT", "KILL", "ADDR", "1.2.3.4:5", "ID"],
            "-ERR syntax error",
        ),
        (
            &["CLIENT", "KILL"],
            "-ERR wrong number of arguments for 'client|kill' command",
        ),
    ] {
        assert_eq!(probe.cmd_str(args), format!("{err}\r\n"), "{args:?}");
    }
    assert_eq!(
        probe.cmd_str(&["CLIENT", "KILL", "USER", "default", "ID", "999999"]),
        ":0\r\n"
    );
}

// ---- CONFIG ----

#[test]
fn config_get_set_round_trips() {
    let s = Server::start();
    let mut r = s.raw();
    let mut con = s.conn();
    let get = |con: &mut redis::Connection, pattern: &str| -> HashMap<String, String> {
        redis::cmd("CONFIG")
            .arg("GET")
            .arg(pattern)
            .query(con)
            .unwrap()
    };
    let all = get(&mut con, "*");
    for name in [
        "port",
        "bind",
        "dir",
        "databases",
        "maxclients",
        "requirepass",
        "timeout",
        "appendfsync",
        "appendonly",
        "save",
        "proto-max-bulk-len",
        "slowlog-log-slower-than",
        "slowlog-max-len",
        "hz",
        "maxmemory",
        "maxmemory-policy",
        "client-output-buffer-limit",
        "fsync",
        "cores",
        "rocksdb.write-buffer-mb",
        "rocksdb.compression",
    ] {
        assert!(all.contains_key(name), "{name} missing from CONFIG GET *");
    }
    assert_eq!(all["port"], s.port.to_string());
    assert_eq!(all["databases"], "16");
    assert_eq!(all["appendonly"], "yes");
    assert_eq!(all["save"], "");
    assert_eq!(all["maxmemory"], "0");
    assert_eq!(all["maxmemory-policy"], "noeviction");
    assert_eq!(all["appendfsync"], "everysec");
    assert_eq!(all["cores"], "1");
    assert_eq!(
        std::fs::canonicalize(&all["dir"]).unwrap(),
        std::fs::canonicalize(s.dir()).unwrap()
    );
    // Patterns are case-insensitive globs; exact names answer under the name given.
    assert_eq!(
        r.cmd_str(&["CONFIG", "GET", "SLOWLOG-*"]),
        "*4\r\n$23\r\nslowlog-log-slower-than\r\n$5\r\n10000\r\n$15\r\nslowlog-max-len\r\n$3\r\n128\r\n"
    );
    assert_eq!(
        r.cmd_str(&["CONFIG", "GET", "MAXCLIENTS", "maxclients", "nosuch"]),
        "*2\r\n$10\r\nMAXCLIENTS\r\n$5\r\n10000\r\n"
    );
    assert_eq!(r.cmd_str(&["CONFIG", "GET", "nosuch*"]), "*0\r\n");

    // SET several at once, then read them back.
    assert_eq!(
        r.cmd_str(&[
            "CONFIG",
            "SET",
            "maxclients",
            "500",
            "timeout",
            "300",
            "slowlog-max-len",
            "7",
            "hz",
            "1000",
            "proto-max-bulk-len",
            "2mb",
            "save",
            "",
            "appendonly",
            "yes",
            "maxmemory",
            "0",
            "maxmemory-policy",
            "noeviction",
        ]),
        "+OK\r\n"
    );
    let now = get(&mut con, "*");
    assert_eq!(now["maxclients"], "500");
    assert_eq!(now["timeout"], "300");
    assert_eq!(now["slowlog-max-len"], "7");
    assert_eq!(now["hz"], "500", "hz is clamped to 500 like Redis");
    assert_eq!(now["proto-max-bulk-len"], "2097152");
    let inf = info(&mut r, "server");
    assert_eq!(inf["server"]["hz"], "500");
    assert_eq!(info(&mut r, "clients")["clients"]["maxclients"], "500");

    // appendfsync and fsync are one parameter.
    assert_eq!(
        r.cmd_str(&["CONFIG", "SET", "appendfsync", "always"]),
        "+OK\r\n"
    );
    assert_eq!(get(&mut con, "fsync")["fsync"], "always");
    assert_eq!(r.cmd_str(&["CONFIG", "SET", "fsync", "NO"]), "+OK\r\n");
    assert_eq!(get(&mut con, "appendfsync")["appendfsync"], "no");
    assert_eq!(
        info(&mut r, "persistence")["persistence"]["aof_fsync_policy"],
        "no"
    );

    assert_eq!(
        r.cmd_str(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 0 0 0 pubsub 1mb 512kb 30"
        ]),
        "+OK\r\n"
    );
    assert_eq!(
        get(&mut con, "client-output-buffer-limit")["client-output-buffer-limit"],
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 30"
    );

    // Errors, with Redis's texts and precedence; a failing SET changes nothing.
    let failed = |name: &str, why: &str| {
        format!("-ERR CONFIG SET failed (possibly related to argument '{name}') - {why}\r\n")
    };
    for (args, expect) in [
        (
            &["CONFIG", "SET", "foo", "bar"][..],
            "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n".to_string(),
        ),
        (
            &["CONFIG", "SET", "a", "b", "c"],
            "-ERR syntax error\r\n".into(),
        ),
        (
            &["CONFIG", "SET", "maxclients"],
            "-ERR wrong number of arguments for 'config|set' command\r\n".into(),
        ),
        (
            &["CONFIG", "SET", "dir", "/tmp"],
            failed("dir", "can't set protected config"),
        ),
        (
            &["CONFIG", "SET", "databases", "3"],
            failed("databases", "can't set immutable config"),
        ),
        (
            &["CONFIG", "SET", "PORT", "1"],
            failed("PORT", "can't set immutable config"),
        ),
        (
            &["CONFIG", "SET", "maxclients", "0"],
            failed(
                "maxclients",
                "argument must be between 1 and 4294967295 inclusive",
            ),
        ),
        (
            &["CONFIG", "SET", "timeout", "x"],
            failed("timeout", "argument couldn't be parsed into an integer"),
        ),
        (
            &["CONFIG", "SET", "maxclients", "10", "MAXCLIENTS", "11"],
            failed("MAXCLIENTS", "duplicate parameter"),
        ),
        (
            &["CONFIG", "SET", "fsync", "no", "appendfsync", "no"],
            failed("appendfsync", "duplicate parameter"),
        ),
        (
            &["CONFIG", "SET", "maxclients", "10", "nosuch", "1"],
            "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n".into(),
        ),
        (
            &["CONFIG", "SET", "timeout", "5", "maxclients", "x"],
            failed("maxclients", "argument couldn't be parsed into an integer"),
        ),
        (
            &["CONFIG", "SET", "appendfsync", "sometimes"],
            failed(
                "appendfsync",
                "argument(s) must be one of the following: everysec, always, no",
            ),
        ),
        (
            &["CONFIG", "SET", "appendonly", "maybe"],
            failed("appendonly", "argument must be 'yes' or 'no'"),
        ),
        (
            &["CONFIG", "SET", "proto-max-bulk-len", "1k"],
            failed(
                "proto-max-bulk-len",
                "argument must be between 1048576 and 9223372036854775807 inclusive",
            ),
        ),
        (
            &["CONFIG", "SET", "proto-max-bulk-len", "lots"],
            failed("proto-max-bulk-len", "argument must be a memory value"),
        ),
        (
            &["CONFIG", "SET", "save", "x"],
            failed("save", "Invalid save parameters"),
        ),
        (
            &["CONFIG", "SET", "client-output-buffer-limit", "normal 1 2"],
            failed(
                "client-output-buffer-limit",
                "Wrong number of arguments in buffer limit configuration.",
            ),
        ),
        (
            &["CONFIG", "SET", "rocksdb.compression", "zstd"],
            failed("rocksdb.compression", "can't set immutable config"),
        ),
        (
            &["CONFIG", "SET", "rocksdb.write-buffer-mb", "0"],
            failed(
                "rocksdb.write-buffer-mb",
                "rocksdb.write-buffer-mb: 0 is out of range (1..=4096)",
            ),
        ),
        (
            &["CONFIG", "SET", "maxmemory", "1gb"],
            failed(
                "maxmemory",
                "slotkv keeps data on disk and never evicts; maxmemory must be 0",
            ),
        ),
        (
            &["CONFIG", "SET", "appendonly", "no"],
            failed(
                "appendonly",
                "slotkv always logs writes to its Raft log; appendonly cannot be turned off",
            ),
        ),
        (
            &["CONFIG", "REWRITE"],
            "-ERR The server is running without a config file\r\n".into(),
        ),
        (
            &["CONFIG", "GET"],
            "-ERR wrong number of arguments for 'config|get' command\r\n".into(),
        ),
        (
            &["CONFIG"],
            "-ERR wrong number of arguments for 'config' command\r\n".into(),
        ),
        (
            &["CONFIG", "FOO"],
            "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n".into(),
        ),
    ] {
        assert_eq!(r.cmd_str(args), expect, "{args:?}");
    }
    assert_eq!(get(&mut con, "timeout")["timeout"], "300");
    assert_eq!(get(&mut con, "maxclients")["maxclients"], "500");
    let help = r.cmd_str(&["CONFIG", "HELP"]);
    assert!(help.starts_with("*11\r\n+CONFIG <subcommand>") && help.contains("+RESETSTAT\r\n"));
}

#[test]
fn config_set_reaches_every_core() {
    let s = Server::with(ServerOptions {
        cores: 2,
        fsync: "no",
        ..Default::default()
    });
    let mut r = s.raw();
    let (k0, k1) = (key_on(0, "k"), key_on(1, "k"));
    assert_eq!(r.cmd_str(&["SET", &k0, "v"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["SET", &k1, "v"]), "+OK\r\n");
    assert_eq!(core_field(&mut r, 0, "fsyncs"), "0");
    assert_eq!(core_field(&mut r, 1, "fsyncs"), "0");
    // fsync = always on every core: each core's write waits for (and counts) a WAL fsync.
    assert_eq!(
        r.cmd_str(&["CONFIG", "SET", "appendfsync", "always"]),
        "+OK\r\n"
    );
    assert_eq!(r.cmd_str(&["SET", &k0, "w"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["SET", &k1, "w"]), "+OK\r\n");
    assert_ne!(core_field(&mut r, 0, "fsyncs"), "0");
    assert_ne!(core_field(&mut r, 1, "fsyncs"), "0");
    let p = &info(&mut r, "persistence")["persistence"];
    assert_eq!(p["aof_fsync_policy"], "always");
    assert_ne!(p["wal_fsyncs"], "0");

    // A live RocksDB option reaches every core's instance (RocksDB records it in a new OPTIONS file)...
    assert_eq!(
        r.cmd_str(&["CONFIG", "SET", "rocksdb.write-buffer-mb", "32"]),
        "+OK\r\n"
    );
    assert_eq!(
        r.cmd_str(&["CONFIG", "GET", "rocksdb.write-buffer-mb"]),
        "*2\r\n$23\r\nrocksdb.write-buffer-mb\r\n$2\r\n32\r\n"
    );
    for core in 0..2 {
        let dir = s.dir().join(format!("core-{core}"));
        let newest = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("OPTIONS-")
            })
            .max_by_key(|p| {
                p.file_name().unwrap().to_string_lossy()[8..]
                    .parse::<u64>()
                    .unwrap_or(0)
            })
            .expect("an OPTIONS file");
        let text = std::fs::read_to_string(&newest).unwrap();
        // ...in every column family that holds data: the data, both member families and the raft
        // family (the fifth, the empty storage-format marker, keeps its defaults).
        assert_eq!(
            text.matches("[CFOptions ").count(),
            5,
            "core {core}: {}",
            newest.display()
        );
        assert!(text.contains("[CFOptions \"storage-format-2\"]"));
        assert_eq!(
            text.matches("write_buffer_size=33554432").count(),
            4,
            "core {core}: {}",
            newest.display()
        );
    }

    // maxclients on every core: with the limit at the current count, new connections are refused
    // whichever core accepts them.
    let connected = info(&mut r, "clients")["clients"]["connected_clients"].clone();
    assert_eq!(
        r.cmd_str(&["CONFIG", "SET", "maxclients", &connected]),
        "+OK\r\n"
    );
    for _ in 0..8 {
        let mut extra = s.raw();
        assert_eq!(
            String::from_utf8_lossy(&extra.read_reply()),
            "-ERR max number of clients reached\r\n"
        );
    }
    assert_eq!(
        r.cmd_str(&["CONFIG", "SET", "maxclients", "100"]),
        "+OK\r\n"
    );
    assert_eq!(s.raw().cmd_str(&["PING"]), "+PONG\r\n");

    // RESETSTAT zeroes every core's counters.
    assert_eq!(r.cmd_str(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    let stats = &info(&mut r, "stats")["stats"];
    assert!(stats["total_commands_processed"].parse::<u64>().unwrap() <= 2);
    assert_eq!(stats["rejected_connections"], "0");
    assert_eq!(core_field(&mut r, 0, "fsyncs"), "0");
}

// ---- INFO ----

#[test]
fn info_sections_and_keyspace() {
    let s = Server::with_cores(2);
    let mut r = s.raw();
    let all = info(&mut r, "default");
    let mut names: Vec<&str> = all.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        vec![
            "clients",
            "cluster",
            "cores",
            "cpu",
            "errorstats",
            "keyspace",
            "memory",
            "modules",
            "persistence",
            "replication",
            "server",
            "stats"
        ]
    );
    let plain = parse_info(&text_of(&r.cmd(&["INFO"])));
    assert_eq!(plain.len(), all.len());
    let everything = info(&mut r, "everything");
    assert!(everything.contains_key("commandstats") && everything.contains_key("latencystats"));
    assert_eq!(text_of(&r.cmd(&["INFO", "nosuch"])), "");

    let server = &all["server"];
    assert_eq!(server["redis_version"], "7.2.0");
    assert_eq!(server["redis_mode"], "standalone");
    assert_eq!(server["tcp_port"], s.port.to_string());
    assert_eq!(server["cores"], "2");
    assert_eq!(server["arch_bits"], "64");
    assert!(
        server["run_id"].len() == 40 && server["run_id"].bytes().all(|b| b.is_ascii_hexdigit())
    );
    assert!(server["process_id"].parse::<u32>().unwrap() > 1);
    assert!(server["executable"].ends_with("slotkv-server"));
    assert!(server.contains_key("uptime_in_seconds") && server.contains_key("slotkv_version"));
    let mem = &all["memory"];
    assert!(mem["used_memory"].parse::<u64>().unwrap() > 1 << 20);
    assert!(mem["used_memory_human"].ends_with('M') || mem["used_memory_human"].ends_with('G'));
    assert_eq!(mem["maxmemory"], "0");
    assert!(mem.contains_key("rocksdb_memtables") && mem.contains_key("rocksdb_block_cache_usage"));
    assert_eq!(all["persistence"]["loading"], "0");
    assert_eq!(all["persistence"]["aof_enabled"], "1");
    assert_eq!(all["replication"]["role"], "master");
    assert_eq!(all["cluster"]["cluster_enabled"], "0");
    assert!(all["cpu"]["used_cpu_user"].contains('.'));
    assert_eq!(all["cores"].len(), 2);
    assert!(all["keyspace"].is_empty());

    // Sections are case-insensitive and can be combined.
    let two = info(&mut r, "SERVER");
    assert_eq!(two.len(), 1);
    let text = text_of(&r.cmd(&["INFO", "clients", "cpu"]));
    assert!(text.starts_with("# Clients\r\n") && text.contains("\r\n\r\n# CPU\r\n"));

    // Keyspace: keys and deadlines per database, over both cores; only non-empty databases.
    let mut con = s.conn();
    for i in 0..10 {
        let _: () = redis::cmd("SET")
            .arg(format!("key{i}"))
            .arg("v")
            .query(&mut con)
            .unwrap();
    }
    let _: () = redis::cmd("SET")
        .arg("key0")
        .arg("v")
        .arg("EX")
        .arg(1000)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(5).query(&mut con).unwrap();
    let _: () = redis::cmd("SET")
        .arg("other")
        .arg("v")
        .query(&mut con)
        .unwrap();
    let ks = &info(&mut r, "keyspace")["keyspace"];
    assert_eq!(ks.len(), 2);
    assert_eq!(ks["db0"], "keys=10,expires=1,avg_ttl=0");
    assert_eq!(ks["db5"], "keys=1,expires=0,avg_ttl=0");
    let keys: u64 = (0..2)
        .map(|c| core_field(&mut r, c, "keys").parse::<u64>().unwrap())
        .sum();
    assert_eq!(keys, 11);

    // Stats move.
    let before = info(&mut r, "stats")["stats"]["total_commands_processed"]
        .parse::<u64>()
        .unwrap();
    for _ in 0..5 {
        let _: Option<String> = redis::cmd("GET").arg("nosuch").query(&mut con).unwrap();
    }
    let stats = info(&mut r, "stats")["stats"].clone();
    assert!(stats["total_commands_processed"].parse::<u64>().unwrap() >= before + 5);
    assert!(stats["keyspace_misses"].parse::<u64>().unwrap() >= 5);
    assert!(stats["total_connections_received"].parse::<u64>().unwrap() >= 2);

    // The memtable figure counts every column family: a hash's fields live outside the data family.
    let memtables = |r: &mut Raw| {
        info(r, "memory")["memory"]["rocksdb_memtables"]
            .parse::<u64>()
            .unwrap()
    };
    let before = memtables(&mut r);
    let mut hset = redis::cmd("HSET");
    hset.arg("bighash");
    for i in 0..20_000 {
        hset.arg(format!("field:{i:08}")).arg("x".repeat(100));
    }
    let added: u64 = hset.query(&mut con).unwrap();
    assert_eq!(added, 20_000);
    let after = memtables(&mut r);
    assert!(after >= before + (2 << 20), "{before} -> {after}");

    // RESP3: a verbatim string.
    r.set_resp3(true);
    assert!(r.cmd_str(&["HELLO", "3"]).starts_with('%'));
    assert!(r.cmd_str(&["INFO", "server"]).starts_with("="));
}

// ---- SLOWLOG ----

#[test]
fn slowlog_get_len_reset() {
    let s = Server::start();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["SLOWLOG", "LEN"]), ":0\r\n");
    assert_eq!(
        r.cmd_str(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]),
        "+OK\r\n"
    );
    assert_eq!(r.cmd_str(&["CLIENT", "SETNAME", "logger"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["SET", "foo", "bar"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["GET", "foo"]), "$3\r\nbar\r\n");
    let my_addr = text_of(&r.cmd(&["CLIENT", "INFO"]))
        .split(' ')
        .find_map(|f| f.strip_prefix("addr=").map(str::to_string))
        .unwrap();
    let reply = r.cmd_str(&["SLOWLOG", "GET", "2"]);
    // Newest first: CLIENT INFO, then GET foo; each entry has six fields.
    let lines: Vec<&str> = reply.split("\r\n").collect();
    assert_eq!(lines[0], "*2");
    assert_eq!(lines[1], "*6");
    let id: u64 = lines[2][1..].parse().unwrap();
    let ts: u64 = lines[3][1..].parse().unwrap();
    assert!(ts.abs_diff(unix_now()) <= 2);
    assert!(lines[4].starts_with(':'));
    assert_eq!(&lines[5..10], ["*2", "$6", "CLIENT", "$4", "INFO"]);
    assert_eq!(lines[11], my_addr);
    assert_eq!(lines[13], "logger");
    assert_eq!(lines[14], "*6");
    assert_eq!(lines[15], format!(":{}", id - 1));
    assert_eq!(&lines[18..23], ["*2", "$3", "GET", "$3", "foo"]);

    let len: u64 = r.cmd_str(&["SLOWLOG", "LEN"])[1..].trim().parse().unwrap();
    assert!(len >= 5);
    let all = r.cmd_str(&["SLOWLOG", "GET", "-1"]);
    assert!(all.starts_with(&format!("*{}\r\n", len + 1)));
    // RESET empties it (the RESET itself is then logged, as in Redis).
    assert_eq!(r.cmd_str(&["SLOWLOG", "RESET"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["SLOWLOG", "LEN"]), ":1\r\n");
    // slowlog-max-len caps it.
    assert_eq!(
        r.cmd_str(&["CONFIG", "SET", "slowlog-max-len", "3"]),
        "+OK\r\n"
    );
    for _ in 0..10 {
        assert_eq!(r.cmd_str(&["PING"]), "+PONG\r\n");
    }
    assert_eq!(r.cmd_str(&["SLOWLOG", "LEN"]), ":3\r\n");
    assert_eq!(
        r.cmd_str(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]),
        "+OK\r\n"
    );
    assert_eq!(r.cmd_str(&["SLOWLOG", "RESET"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["GET", "foo"]), "$3\r\nbar\r\n");
    assert_eq!(r.cmd_str(&["SLOWLOG", "GET"]), "*0\r\n");
    // Long arguments are cut like Redis's.
    assert_eq!(
        r.cmd_str(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]),
        "+OK\r\n"
    );
    let long = "x".repeat(200);
    assert_eq!(r.cmd_str(&["ECHO", &long]).len(), 200 + 8);
    let entry = r.cmd_str(&["SLOWLOG", "GET", "1"]);
    assert!(
        entry.contains(&format!("{}... (72 more bytes)\r\n", "x".repeat(128))),
        "{entry:?}"
    );
    for (args, err) in [
        (
            &["SLOWLOG", "GET", "x"][..],
            "-ERR count should be greater than or equal to -1",
        ),
        (
            &["SLOWLOG", "GET", "-2"],
            "-ERR count should be greater than or equal to -1",
        ),
        (
            &["SLOWLOG", "GET", "1", "2"],
            "-ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.",
        ),
        (
            &["SLOWLOG", "LEN", "x"],
            "-ERR wrong number of arguments for 'slowlog|len' command",
        ),
        (
            &["SLOWLOG", "FOO"],
            "-ERR unknown subcommand 'FOO'. Try SLOWLOG HELP.",
        ),
    ] {
        assert_eq!(r.cmd_str(args), format!("{err}\r\n"), "{args:?}");
    }
}

#[test]
fn slowlog_merges_cores() {
    let s = Server::with_cores(2);
    let mut r = s.raw();
    assert_eq!(
        r.cmd_str(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]),
        "+OK\r\n"
    );
    let (k0, k1) = (key_on(0, "s"), key_on(1, "s"));
    assert_eq!(r.cmd_str(&["GET", &k0]), "$-1\r\n");
    assert_eq!(r.cmd_str(&["GET", &k1]), "$-1\r\n");
    let log = r.cmd_str(&["SLOWLOG", "GET", "-1"]);
    assert!(
        log.contains(&format!("$3\r\nGET\r\n${}\r\n{k0}\r\n", k0.len())),
        "{log}"
    );
    assert!(
        log.contains(&format!("$3\r\nGET\r\n${}\r\n{k1}\r\n", k1.len())),
        "{log}"
    );
    // Ids are distinct and newest first.
    let ids: Vec<i64> = log
        .split("\r\n*6\r\n")
        .skip(1)
        .map(|e| e.split("\r\n").next().unwrap()[1..].parse().unwrap())
        .collect();
    assert!(ids.len() >= 2);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    // As in Redis, SLOWLOG GET is itself logged once it has run.
    let len: usize = r.cmd_str(&["SLOWLOG", "LEN"])[1..].trim().parse().unwrap();
    assert_eq!(len, ids.len() + 1);
    assert_eq!(r.cmd_str(&["SLOWLOG", "RESET"]), "+OK\r\n");
    // The RESET itself is logged after it ran, as in Redis.
    assert_eq!(r.cmd_str(&["SLOWLOG", "LEN"]), ":1\r\n");
    // A blocking command's wait is not logged, whichever cores its keys are on (Redis logs a blocked
    // command only when it runs, not its wait).
    assert_eq!(
        r.cmd_str(&["CONFIG", "SET", "slowlog-log-slower-than", "10000"]),
        "+OK\r\n"
    );
    assert_eq!(r.cmd_str(&["SLOWLOG", "RESET"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["BLPOP", &k0, &k1, "0.2"]), "*-1\r\n");
    assert_eq!(r.cmd_str(&["BLPOP", &k0, "0.2"]), "*-1\r\n");
    assert_eq!(r.cmd_str(&["SLOWLOG", "LEN"]), ":0\r\n");
    // One served at once is logged like any command, across cores too.
    assert_eq!(
        r.cmd_str(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]),
        "+OK\r\n"
    );
    assert_eq!(r.cmd_str(&["RPUSH", &k1, "x"]), ":1\r\n");
    assert_eq!(
        r.cmd_str(&["BLPOP", &k0, &k1, "1"]),
        format!("*2\r\n${}\r\n{k1}\r\n$1\r\nx\r\n", k1.len())
    );
    assert_eq!(r.cmd_str(&["BLPOP", &k0, &k1, "0.1"]), "*-1\r\n");
    let log = r.cmd_str(&["SLOWLOG", "GET", "100"]);
    assert_eq!(log.matches("$5\r\nBLPOP\r\n").count(), 1, "{log}");
}

/// CLIENT LIST's `cmd=` names the last command looked up as Redis does: `container|sub` for a
/// subcommand, the command even when it failed its arity check or was queued by MULTI, `NULL` after an
/// unknown command or subcommand.
#[test]
fn client_list_names_the_last_command_as_redis() {
    let s = Server::with_cores(2);
    let mut a = s.raw();
    let mut b = s.raw();
    let id = a.cmd_str(&["CLIENT", "ID"])[1..].trim().to_string();
    let mut last = |a: &mut slotkv_tests::Raw, args: &[&str]| {
        a.cmd(args);
        let line = b.cmd_str(&["CLIENT", "LIST", "ID", &id]);
        line.split(' ')
            .find_map(|f| f.strip_prefix("cmd="))
            .unwrap()
            .to_string()
    };
    for (args, want) in [
        (&["CONFIG", "GET", "maxmemory"][..], "config|get"),
        (&["CLIENT", "GETNAME"], "client|getname"),
        (&["OBJECT", "ENCODING", "nokey"], "object|encoding"),
        (&["NOSUCH"], "NULL"),
        (&["GET", "a"], "get"),
        (&["CLIENT", "NOSUCH"], "NULL"),
        (&["GET"], "get"),
        (&["SET", "a"], "set"),
        (&["MULTI"], "multi"),
        (&["INCR", "a"], "incr"),
    ] {
        assert_eq!(last(&mut a, args), want, "{args:?}");
    }
}

/// CLIENT TRACKING checks a REDIRECT's client exists on any core, before a later option's error.
#[test]
fn client_tracking_redirect_must_name_a_connected_client() {
    let s = Server::with_cores(2);
    let mut r = s.raw();
    // Connections on both cores, connected for the whole test.
    let others = connections_on_both_cores(&s, &mut r, 1);
    let mut ids: Vec<String> = vec![client_id(&mut r).to_string()];
    ids.extend(others.iter().map(|(_, _, id)| id.to_string()));
    for id in &ids {
        assert_eq!(
            r.cmd_str(&["CLIENT", "TRACKING", "off", "REDIRECT", id]),
            "+OK\r\n"
        );
        assert_eq!(
            r.cmd_str(&["CLIENT", "TRACKING", "off", "REDIRECT", id, "FOO"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            r.cmd_str(&["CLIENT", "TRACKING", "off", "REDIRECT", id, "REDIRECT", id]),
            "-ERR A client can only redirect to a single other client\r\n"
        );
    }
    assert_eq!(
        r.cmd_str(&["CLIENT", "TRACKING", "off", "REDIRECT", "99999", "FOO"]),
        "-ERR The client ID you want redirect to does not exist\r\n"
    );
}

// ---- SHUTDOWN ----

#[test]
fn shutdown_exits_cleanly_and_data_persists() {
    let mut s = Server::with_cores(2);
    let mut r = s.raw();
    let (k0, k1) = (key_on(0, "p"), key_on(1, "p"));
    assert_eq!(r.cmd_str(&["SET", &k0, "zero"]), "+OK\r\n");
    assert_eq!(r.cmd_str(&["SET", &k1, "one"]), "+OK\r\n");
    for (args, err) in [
        (&["SHUTDOWN", "FOO"][..], "-ERR syntax error"),
        (&["SHUTDOWN", "SAVE", "NOSAVE"], "-ERR syntax error"),
        (&["SHUTDOWN", "ABORT", "NOW"], "-ERR syntax error"),
        (&["SHUTDOWN", "ABORT"], "-ERR No shutdown in progress."),
    ] {
        assert_eq!(r.cmd_str(args), format!("{err}\r\n"), "{args:?}");
    }
    assert!(s.is_running());
    // No reply: the connection just closes, and the process exits 0.
    r.send_cmd(&[b"SHUTDOWN", b"NOSAVE", b"NOW"]);
    assert_eq!(r.try_read_reply(), None);
    assert_eq!(s.wait_exit(Duration::from_secs(30)), Some(0));
    s.restart();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["GET", &k0]), "$4\r\nzero\r\n");
    assert_eq!(r.cmd_str(&["GET", &k1]), "$3\r\none\r\n");
}

// ---- COMMAND ----

#[test]
fn command_introspection() {
    let s = Server::start();
    let mut r = s.raw();
    // GET as Redis 7.2 describes it.
    assert_eq!(
        r.cmd_str(&["COMMAND", "INFO", "get"]),
        "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n\
         +@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\
         \r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n\
         *4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\
         \r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
    );
    assert_eq!(
        r.cmd_str(&["COMMAND", "INFO", "nosuch", "config|nosuch"]),
        "*2\r\n$-1\r\n$-1\r\n"
    );
    let config = r.cmd_str(&["COMMAND", "INFO", "CONFIG"]);
    assert!(config.starts_with(
        "*1\r\n*10\r\n$6\r\nconfig\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n"
    ));
    assert!(config.contains(
        "$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n"
    ));
    assert!(r
        .cmd_str(&["COMMAND", "INFO", "config|set"])
        .starts_with("*1\r\n*10\r\n$10\r\nconfig|set\r\n:-4\r\n"));

    let count = r.cmd_str(&["COMMAND", "COUNT"]);
    let count: usize = count[1..count.len() - 2].parse().unwrap();
    assert!(count > 20);
    let bare = r.cmd_str(&["COMMAND"]);
    assert!(bare.starts_with(&format!("*{count}\r\n")));
    let list = r.cmd_str(&["COMMAND", "LIST"]);
    let listed: usize = list[1..list.find("\r\n").unwrap()].parse().unwrap();
    assert!(listed > count, "subcommands are listed too");
    // Every command and subcommand is one ten-field entry.
    assert_eq!(bare.matches("\r\n*10\r\n").count(), listed);
    for name in [
        "get",
        "config",
        "config|get",
        "client|kill",
        "command|docs",
        "slowlog|get",
        "hello",
    ] {
        assert!(
            list.contains(&format!("${}\r\n{name}\r\n", name.len())),
            "{name}"
        );
    }
    assert_eq!(
        r.cmd_str(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "slowlog*"]),
        "*5\r\n$7\r\nslowlog\r\n$11\r\nslowlog|get\r\n$11\r\nslowlog|len\r\n$13\r\nslowlog|reset\r\n$12\r\nslowlog|help\r\n"
    );
    let admin = r.cmd_str(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "admin"]);
    assert!(admin.contains("$10\r\nconfig|set\r\n") && !admin.contains("$3\r\nget\r\n"));
    assert_eq!(
        r.cmd_str(&["COMMAND", "LIST", "FILTERBY", "MODULE", "x"]),
        "*0\r\n"
    );

    assert_eq!(
        r.cmd_str(&["COMMAND", "DOCS", "echo", "nosuch"]),
        "*2\r\n$4\r\necho\r\n*6\r\n$7\r\nsummary\r\n$25\r\nReturns the given string.\r\n$5\r\nsince\r\n\
         $5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n"
    );
    let docs = r.cmd_str(&["COMMAND", "DOCS", "slowlog"]);
    assert!(
        docs.contains("$11\r\nsubcommands\r\n*8\r\n$11\r\nslowlog|get\r\n"),
        "{docs}"
    );
    assert_eq!(
        r.cmd_str(&["COMMAND", "GETKEYS", "mget", "a", "b"]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        r.cmd_str(&["COMMAND", "GETKEYSANDFLAGS", "get", "k"]),
        "*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n"
    );
    // Each key with what Redis declares the command does to it: LMOVE's source and destination differ,
    // SET's flags depend on GET.
    assert_eq!(
        r.cmd_str(&[
            "COMMAND",
            "GETKEYSANDFLAGS",
            "LMOVE",
            "a",
            "b",
            "LEFT",
            "LEFT"
        ]),
        "*2\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n\
         *2\r\n$1\r\nb\r\n*2\r\n+RW\r\n+insert\r\n"
    );
    assert_eq!(
        r.cmd_str(&["COMMAND", "GETKEYSANDFLAGS", "set", "k", "v"]),
        "*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+OW\r\n+update\r\n"
    );
    assert_eq!(
        r.cmd_str(&["COMMAND", "GETKEYSANDFLAGS", "set", "k", "v", "get"]),
        "*1\r\n*2\r\n$1\r\nk\r\n*3\r\n+RW\r\n+access\r\n+update\r\n"
    );
    let specs = r.cmd_str(&["COMMAND", "INFO", "zunionstore"]);
    assert!(specs.contains("+OW\r\n+update\r\n") && specs.contains("+RO\r\n+access\r\n"));
    for (args, err) in [
        (
            &["COMMAND", "GETKEYS", "nosuch", "x"][..],
            "-ERR Invalid command specified",
        ),
        (
            &["COMMAND", "GETKEYS", "ping", "x"],
            "-ERR The command has no key arguments",
        ),
        (
            &["COMMAND", "GETKEYS", "get", "a", "b"],
            "-ERR Invalid number of arguments specified for command",
        ),
        (
            &["COMMAND", "GETKEYS", "config", "nosuch", "x"],
            "-ERR Invalid command specified",
        ),
        (
            &["COMMAND", "LIST", "FILTERBY", "foo", "x"],
            "-ERR syntax error",
        ),
        (
            &["COMMAND", "COUNT", "x"],
            "-ERR wrong number of arguments for 'command|count' command",
        ),
        (
            &["COMMAND", "FOO"],
            "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.",
        ),
    ] {
        assert_eq!(r.cmd_str(args), format!("{err}\r\n"), "{args:?}");
    }
    // RESP3: flags, categories and key specs are sets; DOCS is a map.
    r.set_resp3(true);
    assert!(r.cmd_str(&["HELLO", "3"]).starts_with('%'));
    // (Read by length: the harness's RESP3 decoder cannot hold a map inside a set.)
    let expected = "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n\
                    +@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n\
                    $12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\n\
                    index\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n\
                    $7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n";
    r.send_cmd(&[b"COMMAND", b"INFO", b"get"]);
    let mut got = vec![0u8; expected.len()];
    std::io::Read::read_exact(&mut r.stream, &mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), expected);
    assert!(r
        .cmd_str(&["COMMAND", "DOCS", "get"])
        .starts_with("%1\r\n$3\r\nget\r\n%3\r\n"));
}

/// Where slotkv's COMMAND INFO may differ from redis-server 7.0.15's, field by field, and why.
const COMMAND_INFO_EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "zrank",
        "arity",
        "slotkv has Redis 7.2's WITHSCORE option (arity -3; 7.0: 3)",
    ),
    (
        "zrevrank",
        "arity",
        "slotkv has Redis 7.2's WITHSCORE option (arity -3; 7.0: 3)",
    ),
    (
        "command|getkeys",
        "arity",
        "Redis 7.2's arity -3 (a command without arguments); 7.0: -4",
    ),
    (
        "command|getkeysandflags",
        "arity",
        "Redis 7.2's arity -3 (a command without arguments); 7.0: -4",
    ),
];

/// Every command and subcommand in COMMAND's reply: `name -> [(field, value)]` for the fields compared
/// with Redis (name, arity, flags, first/last/step, ACL categories; not tips, key specs or docs).
fn command_table(port: u16) -> HashMap<String, Vec<(&'static str, String)>> {
    fn text(v: &redis::Value) -> String {
        match v {
            redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            redis::Value::SimpleString(s) => s.clone(),
            redis::Value::Okay => "OK".into(),
            redis::Value::Int(n) => n.to_string(),
            redis::Value::Array(items) | redis::Value::Set(items) => {
                let parts: Vec<String> = items.iter().map(text).collect();
                format!("[{}]", parts.join(" "))
            }
            other => format!("{other:?}"),
        }
    }
    fn add(out: &mut HashMap<String, Vec<(&'static str, String)>>, entry: &redis::Value) {
        let redis::Value::Array(f) = entry else {
            panic!("not an entry: {entry:?}");
        };
        assert_eq!(f.len(), 10, "{entry:?}");
        let fields = vec![
            ("arity", text(&f[1])),
            ("flags", text(&f[2])),
            ("first", text(&f[3])),
            ("last", text(&f[4])),
            ("step", text(&f[5])),
            ("acl", text(&f[6])),
        ];
        out.insert(text(&f[0]), fields);
        if let redis::Value::Array(subs) = &f[9] {
            subs.iter().for_each(|sub| add(out, sub));
        }
    }
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut conn = client.get_connection().unwrap();
    let all: redis::Value = redis::cmd("COMMAND").query(&mut conn).unwrap();
    let redis::Value::Array(entries) = all else {
        panic!("COMMAND: {all:?}");
    };
    let mut out = HashMap::new();
    entries.iter().for_each(|e| add(&mut out, e));
    out
}

/// COMMAND INFO for every command and subcommand both servers know: the same name, arity, flags
/// (movablekeys, no_multi, blocking, ...), legacy key triple and ACL categories (@blocking, @hash, @list,
/// @set, @sortedset, @pubsub, @transaction, ...) as redis-server, but for the listed exceptions.
#[test]
fn command_info_matches_redis_for_every_common_command() {
    let Some(redis) = RedisServer::start() else {
        eprintln!("SKIPPED: /usr/bin/redis-server is not installed");
        return;
    };
    let s = Server::with_cores(2);
    let (ours, theirs) = (command_table(s.port), command_table(redis.port));
    let mut common: Vec<&String> = ours.keys().filter(|n| theirs.contains_key(*n)).collect();
    common.sort();
    for name in [
        "hset",
        "hincrbyfloat",
        "lpush",
        "blpop",
        "blmove",
        "blmpop",
        "lmpop",
        "sadd",
        "sintercard",
        "smove",
        "zadd",
        "zunionstore",
        "bzpopmin",
        "zintercard",
        "subscribe",
        "publish",
        "pubsub|numsub",
        "multi",
        "exec",
        "watch",
        "client|unblock",
        "shutdown",
        "wait",
        "info",
    ] {
        assert!(
            common.iter().any(|n| *n == name),
            "{name} is not on both servers"
        );
    }
    let mut mismatches = Vec::new();
    for name in common {
        for ((field, a), (_, b)) in ours[name].iter().zip(&theirs[name]) {
            let excepted = COMMAND_INFO_EXCEPTIONS
                .iter()
                .any(|(n, f, _)| n == name && f == field);
            if a != b && !excepted {
                mismatches.push(format!("{name} {field}: redis {b}, slotkv {a}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

// ---- redis-cli ----

#[test]
fn redis_cli_works_against_the_server() {
    let s = Server::with_cores(2);
    let docs = s.cli(&["COMMAND", "DOCS", "get"]);
    assert!(
        docs.starts_with("get\n") && docs.contains("summary\n") && docs.contains("group\nstring\n"),
        "{docs}"
    );
    let info = s.cli(&["--no-raw", "INFO", "server"]);
    assert!(info.contains("redis_version:7.2.0"), "{info}");
    assert!(s
        .cli(&["CONFIG", "GET", "appendfsync"])
        .contains("everysec"));
    assert_eq!(s.cli(&["CLIENT", "SETNAME", "cli"]), "OK\n");
    // A script of commands on stdin, as `redis-cli < file` runs them (one connection).
    let mut child = Command::new("redis-cli")
        .args(["-p", &s.port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("redis-cli");
    {
        use std::io::Write;
        let stdin = child.stdin.as_mut().unwrap();
        stdin
            .write_all(
                b"HELLO 3\nSET a 1\nGET a\nCLIENT SETNAME scripted\nCLIENT GETNAME\nhelp CLIENT LIST\n",
            )
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.contains("7.2.0") && out.contains("\n1\n") && out.contains("scripted\n"),
        "{out}"
    );
    // `help` works from the server's COMMAND DOCS.
    assert!(
        out.contains("CLIENT LIST") && out.contains("Lists open connections."),
        "{out}"
    );
    // SHUTDOWN through redis-cli: it treats the closed connection as success.
    let status = Command::new("redis-cli")
        .args(["-p", &s.port.to_string(), "SHUTDOWN"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", s.port)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "server still listening after SHUTDOWN"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---- Error texts against a real redis-server ----

/// Invocations whose replies Redis 7.0 and 7.2 agree on (the installed redis-server may be either) and that
/// do not depend on ids, ordering or timing. Each runs on a fresh connection to both servers.
const SAME_AS_REDIS: &[&[&str]] = &[
    &["HELLO", "1"],
    &["HELLO", "abc"],
    &["HELLO", "3", "FOO"],
    &["HELLO", "3", "AUTH", "default"],
    &["HELLO", "2", "SETNAME", "a b"],
    &["HELLO", "2", "AUTH", "foo", "bar"],
    &["AUTH", "x"],
    &["AUTH", "default", "x"],
    &["AUTH", "foo", "x"],
    &["AUTH", "a", "b", "c"],
    &["ECHO"],
    &["ECHO", "a", "b"],
    &["PING", "a", "b"],
    &["SELECT", "100"],
    &["SELECT", "abc"],
    &["RESET"],
    &["RESET", "x"],
    &["CLIENT"],
    &["CLIENT", "FOO"],
    &["CLIENT", "SETNAME", "a b"],
    &["CLIENT", "SETNAME"],
    &["CLIENT", "SETNAME", "ok"],
    &["CLIENT", "GETNAME"],
    &["CLIENT", "GETNAME", "x"],
    &["CLIENT", "ID", "x"],
    &["CLIENT", "LIST", "TYPE", "foo"],
    &["CLIENT", "LIST", "ID", "abc"],
    &["CLIENT", "LIST", "foo"],
    &["CLIENT", "LIST", "TYPE", "master"],
    &["CLIENT", "LIST", "ID", "99999"],
    &["CLIENT", "LIST", "TYPE", "normal", "extra"],
    &["CLIENT", "KILL", "1.2.3.4:5"],
    &["CLIENT", "KILL", "ID", "0"],
    &["CLIENT", "KILL", "ID", "abc"],
    &["CLIENT", "KILL", "ID", "-1"],
    &["CLIENT", "KILL", "FOO", "bar"],
    &["CLIENT", "KILL", "USER", "bob"],
    &["CLIENT", "KILL", "ID", "99999"],
    &["CLIENT", "KILL", "ID", "1", "SKIPME", "maybe"],
    &["CLIENT", "KILL", "ADDR", "1.2.3.4:5", "ID"],
    &["CLIENT", "KILL", "TYPE", "foo"],
    &["CLIENT", "KILL", "TYPE", "master"],
    &["CLIENT", "REPLY", "maybe"],
    &["CLIENT", "REPLY"],
    &["CLIENT", "NO-EVICT", "maybe"],
    &["CLIENT", "NO-EVICT", "on"],
    &["CLIENT", "PAUSE", "abc"],
    &["CLIENT", "PAUSE", "10", "foo"],
    &["CLIENT", "PAUSE", "-1"],
    &["CLIENT", "PAUSE", "1", "2", "3"],
    &["CLIENT", "CACHING", "yes"],
    &["CLIENT", "GETREDIR"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "TRACKING", "off"],
    &["CLIENT", "TRACKING", "foo"],
    &["CLIENT", "TRACKING", "on", "BAR"],
    &["CLIENT", "UNBLOCK", "abc"],
    &["CLIENT", "UNBLOCK", "5", "foo"],
    &["CLIENT", "UNBLOCK", "5"],
    &["CLIENT", "UNPAUSE"],
    &["COMMAND", "GETKEYS", "foo", "x"],
    &["COMMAND", "GETKEYS", "ping", "x"],
    &["COMMAND", "GETKEYS", "get", "a", "b"],
    &["COMMAND", "GETKEYS", "get", "a"],
    &["COMMAND", "GETKEYS", "mget", "a", "b", "c"],
    &["COMMAND", "GETKEYS", "config", "get", "x"],
    &["COMMAND", "GETKEYS", "config", "nosuch", "x"],
    &["COMMAND", "GETKEYSANDFLAGS", "get", "a"],
    &["COMMAND", "GETKEYS", "get"],
    &["HSCAN", "nokey", "0\0x"],
    &["SSCAN", "nokey", "\0"],
    &["ZSCAN", "nokey", "+\0"],
    &["CLIENT", "TRACKING", "off", "REDIRECT", "99999"],
    &["CLIENT", "TRACKING", "off", "REDIRECT", "99999", "FOO"],
    &["CLIENT", "TRACKING", "off", "REDIRECT", "abc"],
    &["CLIENT", "TRACKING", "off", "FOO", "REDIRECT", "99999"],
    &["CLIENT", "TRACKING", "maybe", "REDIRECT", "99999"],
    &["COMMAND", "GETKEYS", "ping"],
    &["COMMAND", "GETKEYS", "nosuch"],
    &["COMMAND", "GETKEYSANDFLAGS", "x"],
    &[
        "COMMAND",
        "INFO",
        "command|getkeys",
        "command|getkeysandflags",
    ],
    &["COMMAND", "GETKEYS", "zunionstore", "d", "3", "a", "b"],
    &["COMMAND", "GETKEYS", "zunionstore", "d", "0", "a"],
    &["COMMAND", "GETKEYS", "zinterstore", "d", "-1", "a"],
    &["COMMAND", "GETKEYS", "zdiffstore", "d", "abc", "a"],
    &["COMMAND", "GETKEYS", "zunionstore", "d", "2", "a", "b"],
    &[
        "COMMAND",
        "GETKEYSANDFLAGS",
        "zinterstore",
        "d",
        "3",
        "a",
        "b",
    ],
    &["COMMAND", "GETKEYS", "sintercard", "0", "a"],
    &["COMMAND", "GETKEYS", "lmpop", "2", "a", "LEFT"],
    &[
        "COMMAND",
        "GETKEYSANDFLAGS",
        "LMOVE",
        "a",
        "b",
        "LEFT",
        "LEFT",
    ],
    &[
        "COMMAND",
        "GETKEYSANDFLAGS",
        "blmove",
        "a",
        "a",
        "LEFT",
        "RIGHT",
        "0",
    ],
    &["COMMAND", "GETKEYSANDFLAGS", "smove", "a", "b", "m"],
    &["COMMAND", "GETKEYSANDFLAGS", "rename", "a", "b"],
    &["COMMAND", "GETKEYSANDFLAGS", "copy", "a", "b", "REPLACE"],
    &["COMMAND", "GETKEYSANDFLAGS", "sdiffstore", "d", "a", "b"],
    &[
        "COMMAND",
        "GETKEYSANDFLAGS",
        "zunionstore",
        "d",
        "2",
        "a",
        "b",
    ],
    &[
        "COMMAND",
        "GETKEYSANDFLAGS",
        "zrangestore",
        "d",
        "a",
        "0",
        "-1",
    ],
    &[
        "COMMAND",
        "GETKEYSANDFLAGS",
        "blmpop",
        "0",
        "2",
        "a",
        "b",
        "LEFT",
    ],
    &[
        "COMMAND",
        "GETKEYSANDFLAGS",
        "set",
        "a",
        "b",
        "EX",
        "1",
        "GET",
    ],
    &["COMMAND", "GETKEYSANDFLAGS", "set", "a", "b", "GET\0x"],
    &["COMMAND", "GETKEYSANDFLAGS", "del", "a", "b"],
    &["COMMAND", "GETKEYSANDFLAGS", "incr", "a"],
    &["COMMAND", "GETKEYSANDFLAGS", "lpush", "a", "x"],
    &["COMMAND", "GETKEYSANDFLAGS", "exists", "a"],
    &[
        "COMMAND",
        "INFO",
        "lmove",
        "rpoplpush",
        "smove",
        "rename",
        "renamenx",
        "copy",
    ],
    &[
        "COMMAND",
        "INFO",
        "sdiffstore",
        "sinterstore",
        "zunionstore",
        "zrangestore",
    ],
    &[
        "COMMAND", "INFO", "set", "getex", "getdel", "append", "lpop", "blpop", "bzmpop",
    ],
    &[
        "COMMAND", "INFO", "hsetnx", "incr", "lrem", "strlen", "type", "setnx", "psetex",
    ],
    &["OBJECT", "HELP"],
    &["CONFIG", "HELP"],
    &["COMMAND", "HELP"],
    &["SLOWLOG", "HELP"],
    &["foo\0bar", "a\0b", "c"],
    &["COMMAND", "LIST", "foo"],
    &["COMMAND", "LIST", "FILTERBY", "foo", "x"],
    &["COMMAND", "LIST", "FILTERBY", "pattern"],
    &["COMMAND", "LIST", "FILTERBY", "module", "foo"],
    &["COMMAND", "LIST", "FILTERBY", "aclcat", "nosuch"],
    &["COMMAND", "INFO", "foo", "get"],
    &["COMMAND", "INFO", "config|nosuch"],
    &["COMMAND", "DOCS", "foo"],
    &["COMMAND", "COUNT", "x"],
    &["COMMAND", "FOO"],
    &["CONFIG"],
    &["CONFIG", "FOO"],
    &["CONFIG", "GET"],
    &["CONFIG", "GET", "nosuch"],
    &["CONFIG", "GET", "maxclients"],
    &["CONFIG", "GET", "MAXCLIENTS"],
    &["CONFIG", "GET", "maxCl*"],
    &["CONFIG", "GET", "maxclients", "maxclients"],
    &["CONFIG", "GET", "timeout"],
    &["CONFIG", "GET", "save"],
    &["CONFIG", "GET", "maxmemory"],
    &["CONFIG", "GET", "maxmemory-policy"],
    &["CONFIG", "GET", "databases"],
    &["CONFIG", "GET", "appendfsync"],
    &["CONFIG", "GET", "proto-max-bulk-len"],
    &["CONFIG", "SET", "dir", "/tmp"],
    &["CONFIG", "SET", "databases", "3"],
    &["CONFIG", "SET", "maxclients", "0"],
    &["CONFIG", "SET", "maxclients", "abc"],
    &["CONFIG", "SET", "maxclients", "-5"],
    &["CONFIG", "SET", "appendfsync", "foo"],
    &["CONFIG", "SET", "foo", "bar"],
    &["CONFIG", "SET", "maxclients", "10", "maxclients", "11"],
    &["CONFIG", "SET", "maxclients", "10", "foo", "1"],
    &["CONFIG", "SET", "foo", "1", "maxclients", "0"],
    &["CONFIG", "SET", "maxclients"],
    &["CONFIG", "SET", "a", "b", "c"],
    &["CONFIG", "SET", "proto-max-bulk-len", "1k"],
    &["CONFIG", "SET", "proto-max-bulk-len", "abc"],
    &["CONFIG", "SET", "proto-max-bulk-len", "-1"],
    &["CONFIG", "SET", "appendonly", "maybe"],
    &["CONFIG", "SET", "save", "abc"],
    &["CONFIG", "SET", "save", "1 2 3"],
    &["CONFIG", "SET", "client-output-buffer-limit", "normal 1 2"],
    &[
        "CONFIG",
        "SET",
        "client-output-buffer-limit",
        "master 1 2 3",
    ],
    &[
        "CONFIG",
        "SET",
        "client-output-buffer-limit",
        "normal x 2 3",
    ],
    &[
        "CONFIG",
        "SET",
        "client-output-buffer-limit",
        "normal 1 2 -3",
    ],
    &["CONFIG", "SET", "timeout", "-1"],
    &["CONFIG", "SET", "timeout", "99999999999"],
    &["CONFIG", "SET", "slowlog-log-slower-than", "-2"],
    &["CONFIG", "SET", "slowlog-max-len", "-1"],
    &["CONFIG", "SET", "hz", "abc"],
    &["CONFIG", "SET", "maxmemory", "abc"],
    &["CONFIG", "SET", "maxmemory-policy", "foo"],
    &["CONFIG", "SET", "maxmemory", "0"],
    &["CONFIG", "SET", "save", ""],
    &["CONFIG", "RESETSTAT", "x"],
    &["CONFIG", "REWRITE"],
    &["SLOWLOG"],
    &["SLOWLOG", "GET", "abc"],
    &["SLOWLOG", "GET", "-2"],
    &["SLOWLOG", "GET", "1", "2"],
    &["SLOWLOG", "get", "1", "2"],
    &["SLOWLOG", "LEN", "x"],
    &["SLOWLOG", "FOO"],
    &["SLOWLOG", "RESET", "x"],
    &["SHUTDOWN", "FOO"],
    &["SHUTDOWN", "SAVE", "NOSAVE"],
    &["SHUTDOWN", "ABORT", "NOW"],
    &["SHUTDOWN", "ABORT"],
    &["SHUTDOWN", "ABORT", "SAVE"],
    &["WAIT", "a", "0"],
    &["WAIT", "0", "a"],
    &["WAIT", "0", "-1"],
    &["WAIT", "0", "0"],
    &["WAIT", "1"],
    &["READONLY"],
    &["READWRITE"],
    &["READONLY", "x"],
    &["TIME", "x"],
    &["LASTSAVE", "x"],
    &["INFO", "foo"],
];

#[test]
fn replies_match_redis_byte_for_byte() {
    let Some(redis) = RedisServer::start() else {
        eprintln!("SKIPPED: /usr/bin/redis-server is not installed");
        return;
    };
    let s = Server::with_cores(2);
    let mut mismatches = Vec::new();
    for args in SAME_AS_REDIS {
        let ours = s.raw().cmd(args);
        let theirs = Raw::connect(redis.port).cmd(args);
        if ours != theirs {
            mismatches.push(format!(
                "{args:?}\n  redis:  {:?}\n  slotkv: {:?}",
                String::from_utf8_lossy(&theirs),
                String::from_utf8_lossy(&ours)
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

//! Every acknowledged write of every data type survives `kill -9` (fsync always) and a clean restart.
//!
//! Writers on several connections append to hashes, lists, sets and sorted sets (spread over both cores)
//! and record what the server acknowledged; after the kill and restart every acknowledged member must be
//! there, with its value, and each collection's size must equal what its members say (the metadata count
//! and the members are one atomic batch).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use slotkv_tests::{Raw, Server, ServerOptions};

/// One acknowledged write: (type, key, member, value).
type Acked = Vec<(&'static str, String, String, String)>;

fn writer(port: u16, t: usize, stop: Arc<AtomicBool>, acked: Arc<Mutex<Acked>>) {
    let mut r = Raw::connect(port);
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let kind = ["hash", "list", "set", "zset"][(i % 4) as usize];
        let key = format!("{kind}:{}", (i / 4) % 16 + t as u64 * 16);
        let member = format!("m{t}-{i}");
        let value = format!("{i}");
        let cmd: Vec<&[u8]> = match kind {
            "hash" => vec![b"HSET", key.as_bytes(), member.as_bytes(), value.as_bytes()],
            "list" => vec![b"RPUSH", key.as_bytes(), member.as_bytes()],
            "set" => vec![b"SADD", key.as_bytes(), member.as_bytes()],
            _ => vec![b"ZADD", key.as_bytes(), value.as_bytes(), member.as_bytes()],
        };
        r.send_cmd(&cmd);
        match r.try_read_reply() {
            Some(reply) if reply.starts_with(b":") => {
                acked.lock().unwrap().push((kind, key, member, value))
            }
            _ => break,
        }
        i += 1;
    }
}

fn check(s: &Server, acked: &Acked) {
    let mut c = s.conn();
    let mut by_key: BTreeMap<&str, Vec<&(&str, String, String, String)>> = BTreeMap::new();
    for a in acked {
        by_key.entry(a.1.as_str()).or_default().push(a);
    }
    for (key, writes) in by_key {
        let kind = writes[0].0;
        match kind {
            "hash" => {
                let all: BTreeMap<String, String> =
                    redis::cmd("HGETALL").arg(key).query(&mut c).unwrap();
                for (_, _, m, v) in &writes {
                    assert_eq!(all.get(m), Some(v), "{key}: acknowledged HSET {m} lost");
                }
                let len: usize = redis::cmd("HLEN").arg(key).query(&mut c).unwrap();
                assert_eq!(len, all.len(), "{key}: HLEN disagrees with its fields");
            }
            "list" => {
                let all: Vec<String> = redis::cmd("LRANGE")
                    .arg(key)
                    .arg(0)
                    .arg(-1)
                    .query(&mut c)
                    .unwrap();
                // Acknowledged pushes come back in push order (a later unacknowledged one may follow).
                let got: Vec<&String> = all.iter().take(writes.len()).collect();
                let want: Vec<&String> = writes.iter().map(|w| &w.2).collect();
                assert_eq!(got, want, "{key}: acknowledged RPUSHes lost or reordered");
                let len: usize = redis::cmd("LLEN").arg(key).query(&mut c).unwrap();
                assert_eq!(len, all.len());
            }
            "set" => {
                for (_, _, m, _) in &writes {
                    let is: bool = redis::cmd("SISMEMBER")
                        .arg(key)
                        .arg(m)
                        .query(&mut c)
                        .unwrap();
                    assert!(is, "{key}: acknowledged SADD {m} lost");
                }
                let members: Vec<String> = redis::cmd("SMEMBERS").arg(key).query(&mut c).unwrap();
                let card: usize = redis::cmd("SCARD").arg(key).query(&mut c).unwrap();
                assert_eq!(card, members.len());
            }
            _ => {
                for (_, _, m, v) in &writes {
                    let score: Option<f64> =
                        redis::cmd("ZSCORE").arg(key).arg(m).query(&mut c).unwrap();
                    assert_eq!(
                        score,
                        Some(v.parse().unwrap()),
                        "{key}: acknowledged ZADD {m} lost"
                    );
                }
                let all: Vec<String> = redis::cmd("ZRANGE")
                    .arg(key)
                    .arg(0)
                    .arg(-1)
                    .query(&mut c)
                    .unwrap();
                let card: usize = redis::cmd("ZCARD").arg(key).query(&mut c).unwrap();
                assert_eq!(card, all.len());
            }
        }
    }
}

#[test]
fn kill_9_keeps_every_acknowledged_write_of_every_type() {
    let mut s = Server::with(ServerOptions {
        cores: 2,
        fsync: "always",
        ..Default::default()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Acked::new()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (stop, acked, port) = (stop.clone(), acked.clone(), s.port);
            std::thread::spawn(move || writer(port, t, stop, acked))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    s.kill9();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 200,
        "only {} writes acknowledged",
        acked.len()
    );
    s.restart();
    check(&s, &acked);
    // And once more after a clean shutdown (memtables flushed, nothing replayed from the WAL).
    s.stop();
    s.restart();
    check(&s, &acked);
}

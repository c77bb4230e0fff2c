//! Black-box coherence test of the value cache in front of RocksDB: a tiny budget (`value-cache-mb = 1`, so
//! entries are evicted all the time and values up to 64 KB come and go) under a seeded random workload of
//! SET GET MGET DEL EXPIRE PEXPIREAT PERSIST TTL RENAME INCR APPEND FLUSHDB over a few thousand keys in two
//! databases, every reply checked against an in-test model. The store is then read again after a restart
//! (empty cache: what was served from the cache must also be what RocksDB holds), and keys with short
//! deadlines must read as gone once their deadline passes even though they were cached. Runs on one core
//! and on two (RENAME and MGET then cross cores).
//!
//! The workload passes whether or not the node enables the cache; it is the cache that must not make it
//! fail. Set `CACHE_SEED` to replay a run; the seed is printed when the test starts.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redis::{Connection, RedisError};
use slotkv_tests::{Server, ServerOptions};

const KEYS: usize = 3000;
/// The first HOT keys get most of the traffic, so the cache has something to hit.
const HOT: usize = 200;
const OPS: usize = 12_000;

/// A key's value and whether it has a deadline (always far away in the main workload).
type Db = HashMap<Vec<u8>, (Vec<u8>, bool)>;

struct Run {
    rng: StdRng,
    /// One connection per database (0 and 1: the same user key in both must not be confused).
    conns: Vec<Connection>,
    model: Vec<Db>,
}

fn key(i: usize) -> Vec<u8> {
    format!("key:{i}").into_bytes()
}

fn err_detail(e: RedisError) -> String {
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

/// Redis's rule for INCR: the whole value is a canonical 64-bit integer.
fn as_integer(v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?;
    s.parse::<i64>().ok().filter(|n| n.to_string() == s)
}

impl Run {
    fn new(server: &Server, seed: u64) -> Run {
        let mut conns = vec![server.conn(), server.conn()];
        redis::cmd("SELECT")
            .arg(1)
            .query::<()>(&mut conns[1])
            .unwrap();
        Run {
            rng: StdRng::seed_from_u64(seed),
            conns,
            model: vec![Db::new(), Db::new()],
        }
    }

    fn pick_key(&mut self) -> Vec<u8> {
        if self.rng.gen_bool(0.8) {
            key(self.rng.gen_range(0..HOT))
        } else {
            key(self.rng.gen_range(0..KEYS))
        }
    }

    fn value(&mut self) -> Vec<u8> {
        if self.rng.gen_bool(0.25) {
            return self.rng.gen_range(-1000i64..1000).to_string().into_bytes();
        }
        let len = match self.rng.gen_range(0..10) {
            0..=5 => self.rng.gen_range(0..64),
            6..=8 => self.rng.gen_range(64..4096),
            _ => self.rng.gen_range(4096..=65536),
        };
        (0..len).map(|_| self.rng.gen()).collect()
    }

    fn check_get(&mut self, db: usize, k: &[u8], at: &str) {
        let got: Option<Vec<u8>> = redis::cmd("GET").arg(k).query(&mut self.conns[db]).unwrap();
        let want = self.model[db].get(k).map(|(v, _)| v.clone());
        assert!(
            got == want,
            "{at}: GET {} in db {db}: got {:?} bytes, want {:?} bytes",
            String::from_utf8_lossy(k),
            got.map(|v| v.len()),
            want.map(|v| v.len())
        );
    }

    fn check_ttl(&mut self, db: usize, k: &[u8], at: &str) {
        let ttl: i64 = redis::cmd("TTL").arg(k).query(&mut self.conns[db]).unwrap();
        let class = match self.model[db].get(k) {
            None => -2,
            Some((_, false)) => -1,
            Some((_, true)) => 1,
        };
        assert_eq!(
            ttl.clamp(-2, 1),
            class,
            "{at}: TTL {} in db {db} = {ttl}",
            String::from_utf8_lossy(k)
        );
    }

    fn step(&mut self, n: usize) {
        let db = usize::from(self.rng.gen_bool(0.2));
        let k = self.pick_key();
        let at = format!("op {n}");
        let con = &mut self.conns[db];
        match self.rng.gen_range(0..100) {
            0..=29 => self.check_get(db, &k, &at),
            30..=49 => {
                let v = self.value();
                let _: () = redis::cmd("SET")
                    .arg(&k)
                    .arg(&v)
                    .query(&mut self.conns[db])
                    .unwrap();
                self.model[db].insert(k, (v, false));
            }
            50..=54 => {
                let n: i64 = redis::cmd("DEL").arg(&k).query(con).unwrap();
                let had = self.model[db].remove(&k).is_some();
                assert_eq!(n, had as i64, "{at}: DEL");
            }
            55..=58 => {
                let n: i64 = redis::cmd("EXPIRE")
                    .arg(&k)
                    .arg(100_000)
                    .query(con)
                    .unwrap();
                let entry = self.model[db].get_mut(&k);
                assert_eq!(n, entry.is_some() as i64, "{at}: EXPIRE");
                if let Some(e) = entry {
                    e.1 = true;
                }
            }
            59..=60 => {
                // A deadline in the past deletes the key at once.
                let n: i64 = redis::cmd("PEXPIREAT").arg(&k).arg(1).query(con).unwrap();
                let had = self.model[db].remove(&k).is_some();
                assert_eq!(n, had as i64, "{at}: PEXPIREAT");
            }
            61..=62 => {
                let n: i64 = redis::cmd("PERSIST").arg(&k).query(con).unwrap();
                let entry = self.model[db].get_mut(&k);
                let volatile = entry.as_ref().is_some_and(|e| e.1);
                assert_eq!(n, volatile as i64, "{at}: PERSIST");
                if let Some(e) = entry {
                    e.1 = false;
                }
            }
            63..=66 => self.check_ttl(db, &k, &at),
            67..=71 => {
                let dst = self.pick_key();
                let r: Result<(), RedisError> = redis::cmd("RENAME")
                    .arg(&k)
                    .arg(&dst)
                    .query(&mut self.conns[db]);
                match self.model[db].remove(&k) {
                    None => assert_eq!(err_detail(r.unwrap_err()), "ERR no such key", "{at}"),
                    Some(entry) => {
                        r.unwrap();
                        self.model[db].insert(dst.clone(), entry);
                    }
                }
                self.check_get(db, &k, &at);
                self.check_get(db, &dst, &at);
            }
            72..=80 => {
                let r: Result<i64, RedisError> = redis::cmd("INCR").arg(&k).query(con);
                match self.model[db].get_mut(&k) {
                    None => {
                        assert_eq!(r.unwrap(), 1, "{at}: INCR");
                        self.model[db].insert(k, (b"1".to_vec(), false));
                    }
                    Some(entry) => match as_integer(&entry.0) {
                        Some(i) => {
                            assert_eq!(r.unwrap(), i + 1, "{at}: INCR");
                            entry.0 = (i + 1).to_string().into_bytes();
                        }
                        None => assert_eq!(
                            err_detail(r.unwrap_err()),
                            "ERR value is not an integer or out of range",
                            "{at}: INCR"
                        ),
                    },
                }
            }
            81..=89 => {
                let v = self.value();
                let len: i64 = redis::cmd("APPEND")
                    .arg(&k)
                    .arg(&v)
                    .query(&mut self.conns[db])
                    .unwrap();
                let entry = self.model[db].entry(k).or_insert((Vec::new(), false));
                entry.0.extend_from_slice(&v);
                assert_eq!(len, entry.0.len() as i64, "{at}: APPEND");
            }
            90..=98 => {
                let keys: Vec<Vec<u8>> = (0..3).map(|_| self.pick_key()).collect();
                let got: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                    .arg(&keys)
                    .query(&mut self.conns[db])
                    .unwrap();
                let want: Vec<Option<Vec<u8>>> = keys
                    .iter()
                    .map(|k| self.model[db].get(k).map(|e| e.0.clone()))
                    .collect();
                assert!(got == want, "{at}: MGET in db {db}");
            }
            _ => {
                if self.rng.gen_bool(0.1) {
                    let _: () = redis::cmd("FLUSHDB").query(con).unwrap();
                    self.model[db].clear();
                } else {
                    self.check_get(db, &k, &at);
                }
            }
        }
    }

    /// Every key of both databases, value and TTL class, plus the key counts.
    fn check_all(&mut self, at: &str) {
        for db in 0..2 {
            for i in 0..KEYS {
                self.check_get(db, &key(i), at);
                self.check_ttl(db, &key(i), at);
            }
            let n: usize = redis::cmd("DBSIZE").query(&mut self.conns[db]).unwrap();
            assert_eq!(n, self.model[db].len(), "{at}: DBSIZE of db {db}");
        }
    }

    /// Cached keys given short deadlines must read as gone once the deadline passes.
    fn check_short_deadlines(&mut self) {
        let keys: Vec<Vec<u8>> = (0..50).map(key).collect();
        for k in &keys {
            let v = self.value();
            let _: () = redis::cmd("SET")
                .arg(k)
                .arg(&v)
                .query(&mut self.conns[0])
                .unwrap();
            self.model[0].insert(k.clone(), (v, true));
            self.check_get(0, k, "before the deadline");
        }
        for k in &keys[..25] {
            // Re-timed while cached: the new deadline must be the one that counts.
            let n: i64 = redis::cmd("PEXPIRE")
                .arg(k)
                .arg(150)
                .query(&mut self.conns[0])
                .unwrap();
            assert_eq!(n, 1);
        }
        for k in &keys[25..] {
            let v: Vec<u8> = self.model[0][k].0.clone();
            let _: () = redis::cmd("SET")
                .arg(k)
                .arg(&v)
                .arg("PX")
                .arg(150)
                .query(&mut self.conns[0])
                .unwrap();
            self.check_get(0, k, "before the deadline");
        }
        std::thread::sleep(Duration::from_millis(250));
        for k in &keys {
            self.model[0].remove(k);
            self.check_get(0, k, "after the deadline");
            self.check_ttl(0, k, "after the deadline");
        }
    }
}

fn run(cores: usize) {
    let seed = std::env::var("CACHE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("cache workload on {cores} core(s): CACHE_SEED={seed}");
    let conf_dir = tempfile::tempdir().unwrap();
    let conf = conf_dir.path().join("slotkv.toml");
    std::fs::write(&conf, "value-cache-mb = 1\n").unwrap();
    let mut server = Server::with(ServerOptions {
        cores,
        extra: vec!["--config".into(), conf.display().to_string()],
        ..Default::default()
    });
    let mut run = Run::new(&server, seed);
    for n in 0..OPS {
        run.step(n);
    }
    run.check_all("after the workload");
    run.check_all("read again");
    server.stop();
    server.restart();
    run.conns = Run::new(&server, 0).conns;
    run.check_all("after a restart");
    run.check_short_deadlines();
}

#[test]
fn cache_stays_coherent_under_a_random_workload() {
    run(1);
}

#[test]
fn cache_stays_coherent_under_a_random_workload_on_two_cores() {
    run(2);
}

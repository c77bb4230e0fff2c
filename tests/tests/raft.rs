//! The write path through each core's Raft log: RocksDB runs with its WAL off, so after `kill -9` the log
//! is the only record of what the memtables held, and a start replays it.
//!
//! * Every acknowledged write survives `kill -9` mid-load (fsync `always` and `everysec`), a counter is
//!   never incremented twice by the replay, and replaying the same log again (a second `kill -9` right
//!   after the restart) gives the same state.
//! * A log of 200k entries replays completely, and the server says how much it replayed.
//! * Purging keeps the log's disk use near `raft-log-purge-mb` per core however much is written, and a
//!   clean stop leaves nothing to replay.
//!
//! That one log applied to two stores gives byte-identical stores is `determinism.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use slotkv_tests::{config_file, failed_start, info_field, replayed, Raw, Server, ServerOptions};

/// An integer field of an INFO section.
fn info_u64(r: &mut Raw, section: &str, field: &str) -> u64 {
    let text = info_field(r, section, field);
    text.parse()
        .unwrap_or_else(|_| panic!("INFO {section}: {field} is not an integer: {text}"))
}

/// GETs `keys` pipelined in batches; the values in order (`None` for a missing key).
fn get_all(r: &mut Raw, keys: &[String]) -> Vec<Option<Bytes>> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(256) {
        let cmds: Vec<Vec<&[u8]>> = chunk
            .iter()
            .map(|k| vec![&b"GET"[..], k.as_bytes()])
            .collect();
        for reply in r.pipeline(&cmds) {
            out.push(bulk(&reply));
        }
    }
    out
}

/// The payload of a RESP2 bulk string reply, `None` for the nil bulk.
fn bulk(reply: &[u8]) -> Option<Bytes> {
    if reply == b"$-1\r\n" {
        return None;
    }
    assert_eq!(
        reply[0],
        b'$',
        "not a bulk reply: {:?}",
        String::from_utf8_lossy(reply)
    );
    let start = reply.iter().position(|&b| b == b'\n').unwrap() + 1;
    Some(Bytes::copy_from_slice(&reply[start..reply.len() - 2]))
}

/// Asserts every acknowledged `(key, value)` is stored with its value.
fn assert_all_present(s: &Server, acked: &[(String, String)], when: &str) {
    let mut r = s.raw();
    let keys: Vec<String> = acked.iter().map(|(k, _)| k.clone()).collect();
    let got = get_all(&mut r, &keys);
    let lost: Vec<&String> = acked
        .iter()
        .zip(&got)
        .filter(|((_, v), g)| g.as_deref() != Some(v.as_bytes()))
        .map(|((k, _), _)| k)
        .collect();
    assert!(
        lost.is_empty(),
        "{when}: {} of {} acknowledged writes lost or wrong, e.g. {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
}

/// Writes `w<t>:<i>` keys one request at a time until the connection dies or `stop`; records what was
/// acknowledged.
fn set_writer(
    port: u16,
    t: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<(String, String)>>>,
) {
    let mut r = Raw::connect(port);
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("w{t}:{i}");
        let val = format!("value-{t}-{i}-{}", "x".repeat((i % 64) as usize));
        r.send_cmd(&[b"SET", key.as_bytes(), val.as_bytes()]);
        match r.try_read_reply() {
            Some(reply) if &reply[..] == b"+OK\r\n" => acked.lock().unwrap().push((key, val)),
            Some(reply) => panic!("SET {key}: {:?}", String::from_utf8_lossy(&reply)),
            None => return,
        }
        i += 1;
    }
}

/// INCRs `counter` one request at a time until the connection dies or `stop`, counting requests sent
/// and replies received (each reply must be the next integer: nothing else touches the counter).
fn incr_writer(port: u16, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>, acked: Arc<AtomicU64>) {
    let mut r = Raw::connect(port);
    while !stop.load(Ordering::Relaxed) {
        sent.fetch_add(1, Ordering::SeqCst);
        r.send_cmd(&[b"INCR", b"counter"]);
        match r.try_read_reply() {
            Some(reply) => {
                let n = acked.fetch_add(1, Ordering::SeqCst) + 1;
                assert_eq!(
                    String::from_utf8_lossy(&reply),
                    format!(":{n}\r\n"),
                    "INCR reply"
                );
            }
            None => return,
        }
    }
}

fn counter(s: &Server) -> u64 {
    let mut r = s.raw();
    let reply = r.cmd(&["GET", "counter"]);
    let v = bulk(&reply).expect("counter missing");
    std::str::from_utf8(&v).unwrap().parse().unwrap()
}

fn kill_9_mid_load_keeps_every_acknowledged_write(fsync: &'static str) {
    let mut s = Server::with(ServerOptions {
        cores: 2,
        fsync,
        ..Default::default()
    });
    let port = s.port;
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let (sent_incrs, acked_incrs) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut threads = Vec::new();
    for t in 0..4 {
        let (stop, acked) = (stop.clone(), acked.clone());
        threads.push(std::thread::spawn(move || set_writer(port, t, stop, acked)));
    }
    {
        let (stop, sent, acked) = (stop.clone(), sent_incrs.clone(), acked_incrs.clone());
        threads.push(std::thread::spawn(move || {
            incr_writer(port, stop, sent, acked)
        }));
    }
    // Kill once the load is well under way (or after a while, if the machine is very slow: the counts are
    // checked below).
    let started = Instant::now();
    let deadline = started + Duration::from_secs(20);
    while (acked.lock().unwrap().len() < 10_000 || acked_incrs.load(Ordering::SeqCst) < 1000)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "fsync {fsync}: load ran {:.2}s before kill -9",
        started.elapsed().as_secs_f64()
    );
    s.kill9();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("writer thread panicked");
    }
    let acked = acked.lock().unwrap().clone();
    let (sent_incrs, acked_incrs) = (
        sent_incrs.load(Ordering::SeqCst),
        acked_incrs.load(Ordering::SeqCst),
    );
    assert!(acked.len() > 500, "only {} SETs acknowledged", acked.len());
    assert!(acked_incrs > 50, "only {acked_incrs} INCRs acknowledged");

    eprintln!(
        "{} SETs and {acked_incrs} of {sent_incrs} INCRs acknowledged",
        acked.len()
    );
    let before = s.log().len();
    let restarted = Instant::now();
    s.restart();
    eprintln!("restart: {:.2}s", restarted.elapsed().as_secs_f64());
    // Both cores took writes that only their (lost) memtables held.
    let log = s.wait_log(before, Duration::from_secs(30), |l| replayed(l).1 == 2);
    let (entries, lines) = replayed(&log);
    assert!(
        entries > 0 && lines == 2,
        "expected a replay on both cores; log:\n{log}"
    );
    assert_all_present(&s, &acked, "after kill -9");
    let c = counter(&s);
    assert!(
        (acked_incrs..=sent_incrs).contains(&c),
        "counter {c}: {acked_incrs} INCRs acknowledged, {sent_incrs} sent"
    );
    let size = s.raw().cmd_str(&["DBSIZE"]);

    // Replaying the same log again (the first replay's effects were in memtables only) changes nothing.
    s.kill9();
    s.restart();
    assert_all_present(&s, &acked, "after a second kill -9");
    assert_eq!(counter(&s), c, "the second replay changed the counter");
    assert_eq!(
        s.raw().cmd_str(&["DBSIZE"]),
        size,
        "the second replay changed DBSIZE"
    );
}

#[test]
fn kill_9_mid_load_with_fsync_always_keeps_every_acknowledged_write() {
    kill_9_mid_load_keeps_every_acknowledged_write("always");
}

#[test]
fn kill_9_mid_load_with_fsync_everysec_keeps_every_acknowledged_write() {
    kill_9_mid_load_keeps_every_acknowledged_write("everysec");
}

/// SETs keys `0..n` (`kv(i)` gives key and value) from two pipelining connections, `depth` per
/// pipeline, asserting every reply is `+OK`.
fn set_pipelined(
    port: u16,
    n: usize,
    depth: usize,
    kv: impl Fn(usize) -> (Vec<u8>, Vec<u8>) + Send + Clone + 'static,
) {
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let kv = kv.clone();
            std::thread::spawn(move || {
                let mut r = Raw::connect(port);
                let ids: Vec<usize> = (w..n).step_by(2).collect();
                for chunk in ids.chunks(depth) {
                    let cmds: Vec<Vec<Vec<u8>>> = chunk
                        .iter()
                        .map(|&i| {
                            let (k, v) = kv(i);
                            vec![b"SET".to_vec(), k, v]
                        })
                        .collect();
                    for reply in r.pipeline(&cmds) {
                        assert_eq!(&reply[..], b"+OK\r\n");
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer panicked");
    }
}

fn big_key(i: usize) -> String {
    format!("big:{i}")
}

fn big_value(i: usize) -> String {
    format!("{i:08}-{}", "v".repeat(64 + i % 32))
}

#[test]
fn a_log_of_200k_entries_replays_after_kill_9() {
    const KEYS: usize = 200_000;
    let mut s = Server::with(ServerOptions {
        cores: 2,
        ..Default::default()
    });
    let port = s.port;
    let started = Instant::now();
    // Two pipelining connections (keys hash to both cores whichever core a connection lands on).
    set_pipelined(port, KEYS, 1000, |i| {
        (big_key(i).into_bytes(), big_value(i).into_bytes())
    });
    eprintln!("{KEYS} SETs took {:.2}s", started.elapsed().as_secs_f64());
    // ~10 MiB of entries per core: the fallocated first segment, left after its first MiB for a
    // zero-filled one (64 MiB), and nothing more — a log that rotated on every spare it saw
    // once made a near-empty segment every MiB.
    for core in 0..2 {
        let segs = std::fs::read_dir(s.dir().join("raftlog").join(format!("core-{core}")))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".seg")
            })
            .count();
        assert!(segs <= 3, "core {core}: {segs} segments for ~10 MiB of log");
    }
    s.kill9();
    let before = s.log().len();
    let restarted = Instant::now();
    s.restart();
    eprintln!(
        "restart after kill -9 with {KEYS} logged SETs took {:.2}s",
        restarted.elapsed().as_secs_f64()
    );
    let log = s.wait_log(before, Duration::from_secs(60), |l| replayed(l).1 == 2);
    for l in log.lines().filter(|l| l.contains(": replayed ")) {
        eprintln!("{l}");
    }
    let (entries, lines) = replayed(&log);
    assert!(
        entries > 0 && lines == 2,
        "expected a replay on both cores; log:\n{log}"
    );

    let mut r = s.raw();
    let keys: Vec<String> = (0..KEYS).map(big_key).collect();
    let got = get_all(&mut r, &keys);
    let wrong: Vec<usize> = (0..KEYS)
        .filter(|&i| got[i].as_deref() != Some(big_value(i).as_bytes()))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {KEYS} keys missing or wrong after the replay, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    assert_eq!(r.cmd_str(&["DBSIZE"]), format!(":{KEYS}\r\n"));
}

/// Sizes of the files under `dir` (recursively) and the sequence numbers of the segment files, by core
/// folder. Files may vanish while we look (the server deletes purged segments): those are skipped.
fn raft_log_files(dir: &Path) -> (u64, BTreeMap<String, BTreeSet<u64>>) {
    let mut bytes = 0;
    let mut segments: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    let Ok(cores) = std::fs::read_dir(dir) else {
        return (0, segments);
    };
    for core in cores.flatten() {
        let core_name = core.file_name().to_string_lossy().into_owned();
        let Ok(files) = std::fs::read_dir(core.path()) else {
            continue;
        };
        for f in files.flatten() {
            let Ok(meta) = f.metadata() else { continue };
            bytes += meta.len();
            let name = f.file_name().to_string_lossy().into_owned();
            if let Some(seq) = name.strip_suffix(".seg").and_then(|n| n.parse().ok()) {
                segments.entry(core_name.clone()).or_default().insert(seq);
            }
        }
    }
    (bytes, segments)
}

const MIB: u64 = 1 << 20;

#[test]
fn purging_keeps_the_log_small_and_a_clean_stop_leaves_nothing_to_replay() {
    const CORES: u64 = 2;
    const SEGMENT_MB: u64 = 1;
    const PURGE_MB: u64 = 4;
    const VALUE: usize = 1024;
    const KEYS: usize = 64 * 1024; // 64 MiB of values
    let config = config_file(&format!(
        "raft-log-segment-mb = {SEGMENT_MB}\nraft-log-purge-mb = {PURGE_MB}\n"
    ));
    let mut s = Server::with(ServerOptions {
        cores: CORES as usize,
        extra: vec!["--config".into(), config.display().to_string()],
        ..Default::default()
    });
    let log_dir = s.dir().join("raftlog");

    // Sample the log's disk use while writing.
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (stop, log_dir) = (stop.clone(), log_dir.clone());
        std::thread::spawn(move || {
            let mut max_bytes = 0;
            let mut seen: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
            while !stop.load(Ordering::Relaxed) {
                let (bytes, segments) = raft_log_files(&log_dir);
                max_bytes = max_bytes.max(bytes);
                for (core, seqs) in segments {
                    seen.entry(core).or_default().extend(seqs);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            (max_bytes, seen)
        })
    };
    let value = |i: usize| {
        let mut v = format!("{i:010}-").into_bytes();
        v.resize(VALUE, b'a' + (i % 26) as u8);
        v
    };
    let key = |i: usize| format!("p:{i}");
    set_pipelined(s.port, KEYS, 256, move |i| (key(i).into_bytes(), value(i)));
    stop.store(true, Ordering::Relaxed);
    let (max_bytes, seen) = sampler.join().unwrap();
    let mut r = s.raw();
    let (end_bytes, end_segments) = (
        info_u64(&mut r, "persistence", "raft_log_bytes"),
        info_u64(&mut r, "persistence", "raft_log_segments"),
    );
    let written = (KEYS * VALUE) as u64;
    eprintln!(
        "wrote {} MiB; raft log: at most {:.1} MiB on disk, {:.1} MiB and {end_segments} segments at the end; \
         segments seen per core: {:?}",
        written / MIB,
        max_bytes as f64 / MIB as f64,
        end_bytes as f64 / MIB as f64,
        seen.iter().map(|(c, s)| (c.as_str(), s.len())).collect::<Vec<_>>()
    );

    // What a core's log may hold at worst: the entries since its last purge point — the purge threshold,
    // plus what arrives before the purger (which looks every 100 ms) notices and its memtable flush ends:
    // allow four segments' worth — the partly purged segment at the front, the pre-allocated segment
    // being written, and the zero-filled spare prepared for the next one (`spare.tmp`). Segment files are
    // pre-allocated, so each counts whole. 2 × (4 + 4 + 3) = 22 MiB, about a third of the 64 MiB written
    // (measured: 10–12 MiB before spares, up to 18.6 MiB with them).
    let per_core = PURGE_MB + 4 * SEGMENT_MB + 3 * SEGMENT_MB;
    let bound = CORES * per_core * MIB;
    assert!(
        max_bytes < bound,
        "the raft log reached {max_bytes} bytes on disk (bound {bound}) while {written} were written"
    );
    assert!(
        end_bytes < bound,
        "INFO raft_log_bytes {end_bytes} at the end"
    );
    assert!(
        end_segments <= CORES * per_core / SEGMENT_MB,
        "INFO raft_log_segments {end_segments} at the end"
    );
    // Segments were created and deleted as the log moved on: the cores together went through at least
    // most of the 64 segments' worth written (entries carry more than the values), yet few remain.
    let created: u64 = seen
        .values()
        .map(|seqs| seqs.last().unwrap() - seqs.first().unwrap() + 1)
        .sum();
    assert!(
        created >= written / MIB * 3 / 4,
        "only {created} segments were created for {} MiB written",
        written / MIB
    );
    let (_, present) = raft_log_files(&log_dir);
    let present: u64 = present.values().map(|s| s.len() as u64).sum();
    assert!(
        present * 2 < created,
        "{present} segment files remain of {created} created"
    );

    // A clean stop flushes and purges everything: the next start replays nothing, and every key is
    // there.
    assert_eq!(s.stop(), Some(0), "clean stop failed; log:\n{}", s.log());
    let before = s.log().len();
    s.restart();
    let mut r = s.raw();
    // DBSIZE asks every core, so each has finished starting (and logged any replay) before it answers;
    // the grace is for the harness's thread that reads the server's stderr.
    assert_eq!(r.cmd_str(&["DBSIZE"]), format!(":{KEYS}\r\n"));
    std::thread::sleep(Duration::from_millis(300));
    let log = s.log_since(before);
    assert!(
        !log.contains("replayed"),
        "a start after a clean stop replayed entries:\n{log}"
    );
    let keys: Vec<String> = (0..KEYS).map(key).collect();
    let got = get_all(&mut r, &keys);
    let wrong: Vec<usize> = (0..KEYS)
        .filter(|&i| got[i].as_deref() != Some(&value(i)[..]))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {KEYS} keys missing or wrong after a clean restart, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

/// A damaged batch in the middle of a log written with `fsync = always` is corruption, not a lost
/// tail: the server refuses to start and names the file and offset, instead of dropping the
/// acknowledged writes after it.
#[test]
fn a_corrupt_middle_of_the_log_stops_the_start_with_the_place() {
    let mut s = Server::with(ServerOptions {
        cores: 1,
        fsync: "always",
        ..Default::default()
    });
    let mut r = s.raw();
    for i in 0..300 {
        assert_eq!(r.cmd_str(&["SET", &format!("key{i}"), "value"]), "+OK\r\n");
    }
    s.kill9();
    let seg = s.dir().join("raftlog/core-0/00000000000000000001.seg");
    let mut bytes = std::fs::read(&seg).unwrap();
    let end = bytes.iter().rposition(|&b| b != 0).unwrap();
    // A third of the way into the data: batches before and after it are intact.
    let at = 4096 + (end - 4096) / 3;
    bytes[at] ^= 0xFF;
    std::fs::write(&seg, &bytes).unwrap();
    let err = failed_start(
        &[
            "--port", "0", "--cores", "1", "--fsync", "always", "--no-pin",
        ],
        Some(s.dir()),
    );
    assert!(
        err.contains("corrupt log") && err.contains("00000000000000000001.seg at offset"),
        "{err}"
    );
}

/// A write whose RocksDB apply fails after its entry went into the log is answered with an error and
/// withdrawn from the log: after `kill -9` and a restart, none of the writes the client saw fail is there,
/// and every acknowledged one is (a refused FLUSHALL included). RocksDB is made to fail by taking the
/// names of the table files it creates next with directories: its next memtable flush fails, and a failed
/// flush stops its writes.
#[test]
fn a_write_refused_by_rocksdb_does_not_come_back_after_a_restart() {
    let cfg = config_file("[rocksdb]\nwrite-buffer-mb = 1\n");
    let mut s = Server::with(ServerOptions {
        cores: 1,
        fsync: "always",
        extra: vec!["--config".into(), cfg.to_str().unwrap().into()],
        ..Default::default()
    });
    let core_dir = s.dir().join("core-0");
    let mut blockers = Vec::new();
    for n in 1..3000 {
        let path = core_dir.join(format!("{n:06}.sst"));
        if !path.exists() {
            std::fs::create_dir(&path).unwrap();
            blockers.push(path);
        }
    }
    let mut r = s.raw();
    // Keys that fall due while RocksDB refuses writes: the expiry cycle keeps failing on them.
    let short_deadline = Instant::now() + Duration::from_millis(3000);
    for i in 0..20 {
        assert_eq!(
            r.cmd_str(&["SET", &format!("short:{i}"), "x", "PX", "3000"]),
            "+OK\r\n"
        );
    }
    assert_eq!(
        info_field(&mut r, "persistence", "aof_last_write_status"),
        "ok"
    );
    let value = "v".repeat(1000);
    let (mut acked, mut failed) = (Vec::new(), Vec::new());
    for i in 0..20_000 {
        let key = format!("refused:{i}");
        let reply = r.cmd_str(&["SET", &key, &value]);
        if reply == "+OK\r\n" {
            acked.push((key, value.clone()));
        } else {
            assert!(reply.starts_with("-ERR storage error: "), "{reply:?}");
            failed.push(key);
            if failed.len() == 20 {
                break;
            }
        }
    }
    assert_eq!(failed.len(), 20, "RocksDB never refused a write");
    assert!(
        acked.len() > 10,
        "only {} writes before the refusals",
        acked.len()
    );
    assert!(get_all(&mut r, &failed).iter().all(Option::is_none));
    // Operators see it, and the failing expiry cycle (ten a second) does not flood the log.
    assert_eq!(
        info_field(&mut r, "persistence", "aof_last_write_status"),
        "err"
    );
    assert!(info_field(&mut r, "persistence", "storage_write_error").contains("IO error"));
    assert!(
        Instant::now() < short_deadline,
        "the refusals began after the short keys were due"
    );
    std::thread::sleep(short_deadline - Instant::now() + Duration::from_millis(1500));
    let complaints = s.log().matches("expiry of slot").count();
    assert!(
        (1..=2).contains(&complaints),
        "{complaints} expiry failures logged"
    );
    // A refused FLUSHALL leaves the key counts as they are in RocksDB (they were zeroed before the write,
    // and FLUSH* reads them to find the slots to flush); the keys stay (checked after the restart).
    let size = r.cmd_str(&["DBSIZE"]);
    assert_eq!(size, format!(":{}\r\n", acked.len() + 20));
    let reply = r.cmd_str(&["FLUSHALL"]);
    assert!(reply.starts_with("-ERR storage error: "), "{reply:?}");
    assert_eq!(r.cmd_str(&["DBSIZE"]), size);

    // A clean stop still works (its flush fails: the log is synced, and the next start replays it).
    assert_eq!(s.stop(), Some(0));
    for path in &blockers {
        std::fs::remove_dir(path).unwrap();
    }
    s.restart();
    assert_all_present(&s, &acked, "after the restart");
    let mut r = s.raw();
    let back: Vec<&String> = failed
        .iter()
        .zip(get_all(&mut r, &failed))
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| k)
        .collect();
    assert!(
        back.is_empty(),
        "refused writes applied after the restart: {back:?}"
    );
    // The log goes on from where the withdrawn entries were.
    assert_eq!(r.cmd_str(&["SET", "after", "x"]), "+OK\r\n");
    assert_eq!(
        info_field(&mut r, "persistence", "aof_last_write_status"),
        "ok"
    );
    assert_eq!(info_field(&mut r, "persistence", "storage_write_error"), "");
    s.kill9();
    s.restart();
    let mut r = s.raw();
    assert_eq!(r.cmd_str(&["GET", "after"]), "$1\r\nx\r\n");
    assert_all_present(&s, &acked, "after a second restart");
}

/// A tmpfs mounted on a folder, unmounted on drop (also when the test fails).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    /// `None` when this host does not let the test mount one (not root, or no mount namespace rights).
    fn mount(at: &Path, size_mb: u64) -> Option<Tmpfs> {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mb}m"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// RocksDB stops taking writes when a flush finds its disk full, and resumes by itself once there is
/// room again. A core that gets no write after that must not go on reporting the refusal: its purger
/// asks RocksDB (an empty write) every 100 ms while it remembers one, and INFO turns back to `ok` with no
/// client write. Core 0's RocksDB folder is a small tmpfs, filled until a write is refused, then freed by
/// deleting a ballast file.
#[test]
fn write_status_recovers_when_rocksdb_does_without_a_write() {
    let cfg = config_file("[rocksdb]\nwrite-buffer-mb = 2\n");
    let mut s = Server::with(ServerOptions {
        cores: 2,
        extra: vec!["--config".into(), cfg.to_str().unwrap().into()],
        ..Default::default()
    });
    assert_eq!(s.stop(), Some(0));
    let core_dir = s.dir().join("core-0");
    let saved = s.dir().join("core-0.saved");
    std::fs::rename(&core_dir, &saved).unwrap();
    std::fs::create_dir(&core_dir).unwrap();
    let Some(_tmpfs) = Tmpfs::mount(&core_dir, 128) else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (the test command runs as root, where it can)"
        );
        return;
    };
    for f in std::fs::read_dir(&saved).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), core_dir.join(f.file_name())).unwrap();
    }
    // RocksDB resumes only with room for about a write buffer's worth of work (64 MiB here): the
    // ballast must free more than that.
    let ballast = core_dir.join("ballast");
    std::fs::write(&ballast, vec![0u8; 96 << 20]).unwrap();
    s.restart();
    let mut r = s.raw();
    let key = slotkv_tests::key_on(0, 2, "full:");
    // Incompressible values, so that flushed files take what they hold.
    let mut x = 0x9e3779b97f4a7c15u64;
    let mut refused = None;
    for i in 0..200_000 {
        let value: String = (0..1000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'!' + (x % 90) as u8)
            })
            .collect();
        let reply = r.cmd_str(&["SET", &format!("{{{key}}}:{i}"), &value]);
        if reply != "+OK\r\n" {
            refused = Some(reply);
            break;
        }
    }
    let refused = refused.expect("RocksDB never refused a write on a full disk");
    assert!(
        refused.starts_with("-ERR storage error: ") && refused.contains("No space left"),
        "{refused:?}"
    );
    // The purger's probe fails while RocksDB is stopped.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        info_field(&mut r, "persistence", "aof_last_write_status"),
        "err"
    );
    std::fs::remove_file(&ballast).unwrap();
    // RocksDB looks at the free space every 5 seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut r, "persistence", "aof_last_write_status") != "ok" {
        assert!(
            Instant::now() < deadline,
            "still err 30 s after the disk had room: {}",
            info_field(&mut r, "persistence", "storage_write_error")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(info_field(&mut r, "persistence", "storage_write_error"), "");
    assert!(s.log().contains("core 0: RocksDB takes writes again"));
    assert_eq!(
        r.cmd_str(&["SET", &format!("{{{key}}}:after"), "x"]),
        "+OK\r\n"
    );
    assert_eq!(s.stop(), Some(0));
}

/// slotkv switches memtables itself, between write steps, before RocksDB would (a switch RocksDB makes
/// when a memtable is full happens inside a write, possibly between two entries of one EXEC, and a flush
/// could then persist part of it ahead of the log). Under a pipelined load and multi-slot transactions,
/// RocksDB's own log shows every flush as one of ours ("Manual Flush"), none for a full write buffer.
#[test]
fn memtables_are_switched_between_steps_not_inside_a_write() {
    let cfg = config_file("[rocksdb]\nwrite-buffer-mb = 2\n");
    let mut s = Server::with(ServerOptions {
        cores: 1,
        fsync: "everysec",
        extra: vec!["--config".into(), cfg.to_str().unwrap().into()],
        ..Default::default()
    });
    let mut r = s.raw();
    let value = "v".repeat(1000);
    for round in 0..80 {
        let cmds: Vec<Vec<String>> = (0..100)
            .map(|i| vec!["SET".into(), format!("k:{round}:{i}"), value.clone()])
            .collect();
        for reply in r.pipeline(&cmds) {
            assert_eq!(&reply[..], b"+OK\r\n");
        }
        let mut tx: Vec<Vec<String>> = vec![vec!["MULTI".into()]];
        for i in 0..20 {
            tx.push(vec!["SET".into(), format!("t:{round}:{i}"), value.clone()]);
        }
        tx.push(vec!["EXEC".into()]);
        let replies = r.pipeline(&tx);
        assert!(replies.last().unwrap().starts_with(b"*20\r\n"));
    }
    // The last switch's flush may still be running: give it a moment to be logged.
    std::thread::sleep(Duration::from_millis(500));
    s.stop();
    let log = std::fs::read_to_string(s.dir().join("core-0/LOG")).unwrap();
    let ours = log.matches("\"flush_reason\": \"Manual Flush\"").count();
    let full = log
        .matches("\"flush_reason\": \"Write Buffer Full\"")
        .count();
    assert!(ours >= 10, "only {ours} flushes of ours for ~10 MB written");
    assert_eq!(
        full, 0,
        "RocksDB switched a full memtable itself {full} times"
    );
}

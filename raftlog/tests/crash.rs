//! A real crash: a child process appends from many concurrent tasks and reports every append
//! the engine acknowledged; the parent kills it with SIGKILL mid-stream (writes and fsyncs in
//! flight) and then recovers the directory.
//!
//! Every acknowledged entry must be there, each group's log must be a gap-free prefix of what
//! the child appended (entries that were written but not acknowledged may or may not survive),
//! and every payload must be intact.
//!
//! Run twice: with an fdatasync per batch, and without (`sync_each_batch = false`, with another
//! task calling `fsync()` every few milliseconds, as a server's `fsync everysec` would, only
//! faster). A process kill loses nothing acknowledged in either mode, and recovery stays strict:
//! there is still only one write in flight, so only the last batch can be torn.
//!
//! A third test kills the child while a spare segment is being zero-filled (`prefill`): the
//! half-filled spare must be removed at open and never read as log data.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{entry, run};
use raftlog::{Engine, EngineOptions};

const CHILD_ENV: &str = "RAFTLOG_CRASH_CHILD_DIR";
const GROUPS: u32 = 16;

fn opts(sync_each_batch: bool) -> EngineOptions {
    EngineOptions {
        segment_size: 256 << 10,
        sync_each_batch,
        ..EngineOptions::default()
    }
}

/// The child: appends forever (bounded by a deadline) and prints `ack <group> <index>` lines.
fn child(dir: String, sync_each_batch: bool) {
    run(move || async move {
        let e = Engine::open(&dir, opts(sync_each_batch)).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut tasks = Vec::new();
        for g in 0..GROUPS {
            let e = e.clone();
            tasks.push(glommio::spawn_local(async move {
                let mut i = 1u64;
                while Instant::now() < deadline {
                    let n = 1 + (i % 3);
                    e.append(g, (i..i + n).map(|x| entry(g, x, 1)))
                        .await
                        .unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ack {g} {}", i + n - 1).unwrap();
                    out.flush().unwrap();
                    i += n;
                }
            }));
        }
        if !sync_each_batch {
            let e = e.clone();
            tasks.push(glommio::spawn_local(async move {
                while Instant::now() < deadline {
                    glommio::timer::sleep(Duration::from_millis(3)).await;
                    e.fsync().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await;
        }
    });
}

#[test]
fn sigkill_during_appends_loses_nothing_acknowledged() {
    kill_rounds("sigkill_during_appends_loses_nothing_acknowledged", true);
}

#[test]
fn sigkill_without_per_batch_fsync_loses_nothing_acknowledged() {
    kill_rounds(
        "sigkill_without_per_batch_fsync_loses_nothing_acknowledged",
        false,
    );
}

/// Runs three kill-and-recover rounds of the test `name` (which the child re-runs).
fn kill_rounds(name: &str, sync_each_batch: bool) {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(dir, sync_each_batch);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let mut c = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--nocapture"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut acked = vec![0u64; GROUPS as usize];
        let mut n = 0;
        let stdout = c.stdout.take().unwrap();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let mut w = line.split_whitespace();
            if w.next() != Some("ack") {
                continue;
            }
            let g: usize = w.next().unwrap().parse().unwrap();
            let i: u64 = w.next().unwrap().parse().unwrap();
            acked[g] = acked[g].max(i);
            n += 1;
            if n == 1500 + round * 700 {
                c.kill().unwrap();
                break;
            }
        }
        c.wait().unwrap();
        assert!(n >= 1500, "child stopped early after {n} acks");

        let path = dir.path().to_path_buf();
        run(move || async move {
            // Strict recovery (the default), whatever the sync mode.
            let e = Engine::open(&path, opts(sync_each_batch)).await.unwrap();
            assert_eq!(e.recovery().dropped_at, None);
            eprintln!(
                "round {round} (sync each batch: {sync_each_batch}): killed after {n} acks; \
                 recovery: {:?}",
                e.recovery()
            );
            for g in 0..GROUPS {
                let st = e.group_state(g);
                let last = st.last.map_or(0, |l| l.0);
                assert!(
                    last >= acked[g as usize],
                    "round {round}: group {g} recovered up to {last}, but {} was acknowledged",
                    acked[g as usize]
                );
                let got = e.read(g, 0..u64::MAX).await.unwrap();
                assert_eq!(got.len() as u64, last, "group {g}: gap in the log");
                for (k, en) in got.iter().enumerate() {
                    assert_eq!(en, &entry(g, k as u64 + 1, 1));
                }
            }
            // Start the next round from a clean log.
            for g in 0..GROUPS {
                e.remove_group(g).unwrap().await.unwrap();
            }
            e.close().await.unwrap();
        });
    }
}

const SPARE_SEGMENT_ENV: &str = "RAFTLOG_CRASH_SPARE_SEGMENT";

/// The child of [`sigkill_while_prefilling_a_spare`]: opens a log and appends to group 0, printing
/// `ack <index>` lines.
fn spare_child(dir: String, segment_size: u64) {
    run(move || async move {
        let o = EngineOptions {
            segment_size,
            ..EngineOptions::default()
        };
        let e = Engine::open(&dir, o).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut i = 1u64;
        while Instant::now() < deadline {
            e.append(0, [entry(0, i, 1)]).await.unwrap();
            let mut out = std::io::stdout().lock();
            writeln!(out, "ack {i}").unwrap();
            out.flush().unwrap();
            i += 1;
        }
    });
}

/// Killed while a spare segment is being zero-filled in the background during appends: with 64 MiB
/// segments (the spare that replaces a new log's fallocated first segment after its first MiB) and
/// with 1 MiB segments. Recovery must remove the spare, whatever is in it, and find every
/// acknowledged entry intact.
#[test]
fn sigkill_while_prefilling_a_spare() {
    const NAME: &str = "sigkill_while_prefilling_a_spare";
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let size = std::env::var(SPARE_SEGMENT_ENV).unwrap().parse().unwrap();
        spare_child(dir, size);
        return;
    }
    for segment_size in [64u64 << 20, 1 << 20] {
        let dir = tempfile::tempdir().unwrap();
        let spare = dir.path().join("spare.tmp");
        let first = common::seg_path(dir.path(), 1);
        let mut c = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", NAME, "--nocapture"])
            .env(CHILD_ENV, dir.path())
            .env(SPARE_SEGMENT_ENV, segment_size.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = c.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acked = 0u64;
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                if let Some(i) = line.strip_prefix("ack ") {
                    acked = acked.max(i.parse().unwrap());
                }
            }
            acked
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        while !(spare.exists() && first.exists()) {
            assert!(Instant::now() < deadline, "no spare being prepared");
            std::thread::sleep(Duration::from_micros(200));
        }
        c.kill().unwrap();
        c.wait().unwrap();
        let acked = reader.join().unwrap();
        assert!(acked > 0, "acks: {acked}");

        let path = dir.path().to_path_buf();
        run(move || async move {
            let o = EngineOptions {
                segment_size,
                ..EngineOptions::default()
            };
            let e = Engine::open(&path, o).await.unwrap();
            eprintln!(
                "spare round (segment size {segment_size}): recovery {:?}",
                e.recovery()
            );
            assert!(e.recovery().removed_spare, "{:?}", e.recovery());
            let last = e.group_state(0).last.map_or(0, |l| l.0);
            assert!(
                last >= acked,
                "recovered up to {last}, {acked} acknowledged"
            );
            let got = e.read(0, 0..u64::MAX).await.unwrap();
            assert_eq!(got.len() as u64, last, "gap in the log");
            for (k, en) in got.iter().enumerate() {
                assert_eq!(en, &entry(0, k as u64 + 1, 1));
            }
            e.append(0, [entry(0, last + 1, 1)]).await.unwrap();
            e.close().await.unwrap();
        });
    }
}

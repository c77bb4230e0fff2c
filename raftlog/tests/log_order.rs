//! `Engine::read_in_log_order`: many groups' ranges delivered in log order, checked against a
//! model of the appends and against per-group `read`. Covers interleaved groups across many
//! small segments, truncation and re-append, purges that delete segments, a mix of cached and
//! uncached entries, a reopened engine (nothing cached), callback errors, and a damaged record.
//! The last test prints the replay speed of both ways (informational).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

use bytes::Bytes;
use common::{entry, payload, run, segment_bytes, segment_files, Rng};
use raftlog::{Engine, EngineError, EngineOptions, Entry, GroupId, ReadManyError};

const GROUPS: u32 = 60;

/// Small segments, a small cache, and small reads so a scan needs many runs.
fn opts(scan_read_bytes: usize, read_coalesce_bytes: usize) -> EngineOptions {
    EngineOptions {
        segment_size: 64 << 10,
        cache_bytes: 16 << 10,
        scan_read_bytes,
        read_coalesce_bytes,
        ..EngineOptions::default()
    }
}

/// Every append in order, as (group, index, term): the log order of the entries.
type Appended = Vec<(GroupId, u64, u64)>;

/// Appends, truncates (then re-appends with a higher term) and purges at random over `GROUPS`
/// groups. The last appends are left staged (not awaited).
async fn workload(e: &Engine, steps: usize, seed: u64) -> Appended {
    let mut rng = Rng::new(seed);
    let mut next: HashMap<GroupId, u64> = HashMap::new();
    let mut term: HashMap<GroupId, u64> = HashMap::new();
    let mut purged: HashMap<GroupId, u64> = HashMap::new();
    let mut appended = Appended::new();
    let mut tickets = Vec::new();
    for step in 0..steps {
        let g = rng.below(GROUPS as u64) as GroupId;
        let n = next.entry(g).or_insert(1 + g as u64 % 3);
        let t = term.entry(g).or_insert(1);
        let p = purged.entry(g).or_insert(0);
        match rng.below(100) {
            0..=6 if *n > *p + 2 => {
                let from = *p + 1 + rng.below(*n - *p - 1);
                drop(e.truncate(g, from).expect("truncate"));
                *n = from;
                *t += 1;
            }
            7..=8 if *n > *p + 8 => {
                let upto = *p + 1 + rng.below((*n - *p) / 4);
                drop(e.purge(g, upto, *t, Bytes::new()).expect("purge"));
                *p = upto;
            }
            _ => {
                let k = 1 + rng.below(3);
                let entries: Vec<Entry> = (*n..*n + k).map(|i| entry(g, i, *t)).collect();
                for i in *n..*n + k {
                    appended.push((g, i, *t));
                }
                *n += k;
                tickets.push(e.append_staged(g, entries).expect("append"));
            }
        }
        // Every group purges most of its log now and then (once nearly all of it), so old
        // segments get deleted.
        if step % 1500 == 1499 {
            let keep = if step == 2999 { 1 } else { 40 };
            for g in 0..GROUPS {
                let (Some(n), Some(p)) = (next.get(&g), purged.get_mut(&g)) else {
                    continue;
                };
                if *n > *p + keep + 1 {
                    *p = *n - 1 - keep;
                    drop(e.purge(g, *p, 1, Bytes::new()).expect("purge"));
                }
            }
        }
        if step % 64 == 63 && step + 64 < steps {
            for t in tickets.drain(..) {
                t.await.expect("durable");
            }
        }
    }
    drop(tickets);
    appended
}

/// What the engine shows per group (by `read`): index -> term.
async fn present(e: &Engine) -> HashMap<GroupId, BTreeMap<u64, u64>> {
    let mut out = HashMap::new();
    for g in e.groups() {
        let all = e.read(g, 0..u64::MAX).await.expect("read");
        out.insert(g, all.iter().map(|x| (x.index, x.term)).collect());
    }
    out
}

/// A mix of ranges: most groups from a random index on, some bounded, an unknown group, an empty
/// range, overlapping ranges of one group, one group left out.
fn wanted(rng: &mut Rng) -> Vec<(GroupId, Range<u64>)> {
    let mut w = Vec::new();
    for g in 0..GROUPS {
        match rng.below(10) {
            0 => {}
            1 => w.push((g, 0..u64::MAX)),
            2 => {
                let a = rng.below(400);
                w.push((g, a..a + rng.below(100)));
            }
            _ => w.push((g, rng.below(300)..u64::MAX)),
        }
    }
    w.push((9999, 0..u64::MAX));
    w.push((3, 5..5));
    w.push((4, 10..50));
    w.push((4, 30..80));
    w.push((4, 80..90));
    w
}

fn in_wanted(w: &[(GroupId, Range<u64>)], g: GroupId, i: u64) -> bool {
    w.iter().any(|(wg, r)| *wg == g && r.contains(&i))
}

/// Runs `read_in_log_order` and checks it against the model and against per-group reads.
/// Returns the stats delta of the call.
async fn check(
    e: &Engine,
    appended: &Appended,
    w: &[(GroupId, Range<u64>)],
) -> raftlog::EngineStats {
    let present = present(e).await;
    let expected: Vec<(GroupId, u64, u64)> = appended
        .iter()
        .copied()
        .filter(|&(g, i, t)| {
            in_wanted(w, g, i) && present.get(&g).and_then(|m| m.get(&i)) == Some(&t)
        })
        .collect();
    let before = e.stats();
    let mut got = Vec::new();
    e.read_in_log_order(w, |g, x| {
        got.push((g, x));
        Ok::<(), std::convert::Infallible>(())
    })
    .await
    .expect("read in log order");
    let after = e.stats();
    let got_ids: Vec<_> = got.iter().map(|(g, x)| (*g, x.index, x.term)).collect();
    assert_eq!(got_ids.len(), expected.len(), "entry count");
    assert_eq!(got_ids, expected, "log order and content");
    for (g, x) in &got {
        assert_eq!(
            x.payload,
            payload(*g, x.index, x.term),
            "payload of {g}/{}",
            x.index
        );
    }
    // Per group: exactly what `read` returns for the union of the group's ranges.
    let mut by_group: BTreeMap<GroupId, Vec<Entry>> = BTreeMap::new();
    for (g, x) in got {
        by_group.entry(g).or_default().push(x);
    }
    let groups: std::collections::BTreeSet<GroupId> = w.iter().map(|(g, _)| *g).collect();
    for g in groups {
        let mut reference = Vec::new();
        for x in e.read(g, 0..u64::MAX).await.expect("read") {
            if in_wanted(w, g, x.index) {
                reference.push(x);
            }
        }
        assert_eq!(
            by_group.remove(&g).unwrap_or_default(),
            reference,
            "group {g}"
        );
    }
    assert!(by_group.is_empty(), "unwanted groups delivered");
    after.since(&before)
}

#[test]
fn log_order_matches_the_appends_and_per_group_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, opts(32 << 10, 4 << 10)).await.unwrap();
        let appended = workload(&e, 6000, 7).await;
        assert!(e.stats().segments_deleted > 0, "purges deleted segments");
        assert!(e.segments().len() > 3, "entries span several segments");
        let mut rng = Rng::new(11);

        // Live engine: recent entries cached (some not yet durable), older ones on disk.
        let w = wanted(&mut rng);
        let s = check(&e, &appended, &w).await;
        eprintln!("live: {s:?}");
        assert!(s.cache_hits > 0 && s.disk_entries > 0, "{s:?}");
        e.sync().await.unwrap();
        let s = check(&e, &appended, &[(1, 0..u64::MAX)]).await;
        assert!(s.disk_entries > 0, "{s:?}");
        check(&e, &appended, &[]).await;
        e.close().await.unwrap();

        // Reopened, with default and with tiny read sizes: nothing cached, every record read
        // from disk once.
        for (scan, gap) in [(4 << 20, 256 << 10), (1, 0), (8 << 10, 64)] {
            let e = Engine::open(&path, opts(scan, gap)).await.unwrap();
            for seed in 0..3 {
                let w = wanted(&mut Rng::new(100 + seed));
                let s = check(&e, &appended, &w).await;
                eprintln!("reopened, scan {scan} gap {gap}: {s:?}");
                assert_eq!(s.cache_hits, 0, "{s:?}");
                assert!(s.disk_entries > 0);
                assert!(
                    s.disk_bytes_read <= segment_bytes(&path),
                    "each byte is read at most once: {s:?}"
                );
                if scan == 1 {
                    assert_eq!(s.disk_reads, s.disk_entries, "one read per record");
                }
            }
            let all: Vec<_> = (0..GROUPS).map(|g| (g, 0..u64::MAX)).collect();
            let s = check(&e, &appended, &all).await;
            if scan == 4 << 20 {
                let segs = e.segments().len() as u64;
                assert!(
                    s.disk_reads <= segs,
                    "one read per segment: {s:?}, {segs} segments"
                );
            }
            e.close().await.unwrap();
        }
    });
}

#[test]
fn a_callback_error_stops_the_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, opts(16 << 10, 1 << 10)).await.unwrap();
        workload(&e, 1500, 3).await;
        e.close().await.unwrap();
        let e = Engine::open(&path, opts(16 << 10, 1 << 10)).await.unwrap();
        let all: Vec<_> = (0..GROUPS).map(|g| (g, 0..u64::MAX)).collect();
        let mut total = 0;
        e.read_in_log_order(&all, |_, _| {
            total += 1;
            Ok::<(), String>(())
        })
        .await
        .unwrap();
        assert!(total > 1000, "{total}");
        for stop_at in [0, 1, total / 3, total - 1] {
            let mut calls = 0;
            let r = e
                .read_in_log_order(&all, |g, x| {
                    calls += 1;
                    if calls > stop_at {
                        Err(format!("stop at {g}/{}", x.index))
                    } else {
                        Ok(())
                    }
                })
                .await;
            match r {
                Err(ReadManyError::Callback(m)) => assert!(m.starts_with("stop at"), "{m}"),
                other => panic!("expected the callback's error, got {other:?}"),
            }
            assert_eq!(calls, stop_at + 1, "nothing is delivered after the error");
        }
        e.close().await.unwrap();
    });
}

/// Offset of `needle` in the segment files of `dir` (it must occur exactly once).
fn find_once(dir: &Path, needle: &[u8]) -> (std::path::PathBuf, usize) {
    let mut found = Vec::new();
    for p in segment_files(dir) {
        let data = std::fs::read(&p).unwrap();
        for (at, w) in data.windows(needle.len()).enumerate() {
            if w == needle {
                found.push((p.clone(), at));
            }
        }
    }
    assert_eq!(found.len(), 1, "{:?}", String::from_utf8_lossy(needle));
    found.pop().unwrap()
}

#[test]
fn a_damaged_record_is_an_error_not_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, opts(4 << 20, 256 << 10)).await.unwrap();
        let mut order = Vec::new();
        for i in 1..=40u64 {
            for g in 0..8 {
                e.append(g, [entry(g, i, 1)]).await.unwrap();
                order.push((g, i));
            }
        }
        e.close().await.unwrap();

        let victim = (5, 23);
        let needle = format!("g{}-i{}-t1-", victim.0, victim.1);
        let (file, at) = find_once(&path, needle.as_bytes());
        let e = Engine::open(&path, opts(4 << 20, 256 << 10)).await.unwrap();
        // Damage the payload while the engine is open (recovery would refuse the file).
        let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        let byte = std::fs::read(&file).unwrap()[at + 3] ^ 0x40;
        f.write_all_at(&[byte], (at + 3) as u64).unwrap();
        f.sync_all().unwrap();

        let all: Vec<_> = (0..8).map(|g| (g, 0..u64::MAX)).collect();
        let mut got = Vec::new();
        let r = e
            .read_in_log_order(&all, |g, x| {
                got.push((g, x.index));
                Ok::<(), String>(())
            })
            .await;
        match r {
            Err(ReadManyError::Engine(EngineError::Corrupt { path, reason, .. })) => {
                assert_eq!(path, file);
                assert!(reason.contains("checksum"), "{reason}");
            }
            other => panic!("expected corruption, got {other:?}"),
        }
        let before = order.iter().position(|x| *x == victim).unwrap();
        assert_eq!(
            got,
            order[..before],
            "everything before the damage, nothing after"
        );
        // The per-group reader agrees, and other groups' ranges are still readable.
        assert!(matches!(
            e.read(victim.0, 1..41).await,
            Err(EngineError::Corrupt { .. })
        ));
        let mut n = 0;
        e.read_in_log_order(&[(1, 0..u64::MAX), (victim.0, 24..41)], |_, _| {
            n += 1;
            Ok::<(), String>(())
        })
        .await
        .unwrap();
        assert_eq!(n, 40 + 17);
        e.close().await.unwrap();
    });
}

/// Start-up replay, both ways: ~1000 groups x 100 entries interleaved, read after a reopen
/// (nothing cached). Prints the time per entry; asserts only that both deliver the same.
#[test]
fn replay_speed_per_group_vs_log_order() {
    const N_GROUPS: u32 = 1000;
    const PER_GROUP: u64 = 100;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, EngineOptions::default()).await.unwrap();
        let mut rng = Rng::new(5);
        let mut next = vec![1u64; N_GROUPS as usize];
        let mut tickets = Vec::new();
        let mut left = N_GROUPS as u64 * PER_GROUP;
        while left > 0 {
            let g = rng.below(N_GROUPS as u64) as usize;
            if next[g] > PER_GROUP {
                continue;
            }
            let x = Entry {
                index: next[g],
                term: 1,
                payload: Bytes::from(vec![g as u8; 100]),
            };
            tickets.push(e.append_staged(g as GroupId, [x]).unwrap());
            next[g] += 1;
            left -= 1;
            if tickets.len() == 2000 {
                for t in tickets.drain(..) {
                    t.await.unwrap();
                }
            }
        }
        for t in tickets.drain(..) {
            t.await.unwrap();
        }
        let log_bytes = e.log_end().1;
        e.close().await.unwrap();

        let e = Engine::open(&path, EngineOptions::default()).await.unwrap();
        let total = (N_GROUPS as u64 * PER_GROUP) as f64;
        let s0 = e.stats();
        let t0 = Instant::now();
        let mut sum_a = 0u64;
        for g in 0..N_GROUPS {
            let mut from = 1;
            loop {
                let batch = e
                    .read_limited(g, from..PER_GROUP + 1, 4 << 20)
                    .await
                    .unwrap();
                let Some(last) = batch.last() else { break };
                from = last.index + 1;
                sum_a += batch
                    .iter()
                    .map(|x| x.index * u64::from(x.payload[0]))
                    .sum::<u64>();
            }
        }
        let per_group = t0.elapsed();
        let s1 = e.stats();
        let wanted: Vec<_> = (0..N_GROUPS).map(|g| (g, 1..u64::MAX)).collect();
        let t0 = Instant::now();
        let mut sum_b = 0u64;
        let mut n = 0u64;
        e.read_in_log_order(&wanted, |_, x| {
            sum_b += x.index * u64::from(x.payload[0]);
            n += 1;
            Ok::<(), String>(())
        })
        .await
        .unwrap();
        let log_order = t0.elapsed();
        let s2 = e.stats();
        e.close().await.unwrap();
        assert_eq!(n, N_GROUPS as u64 * PER_GROUP);
        assert_eq!(sum_a, sum_b);
        eprintln!(
            "replay of {total} entries in {N_GROUPS} groups ({:.1} MB log): \
             per group {per_group:?} ({:.2} us/entry, {} reads, {:.0} MB read); \
             log order {log_order:?} ({:.3} us/entry, {} reads, {:.1} MB read)",
            log_bytes as f64 / 1e6,
            per_group.as_secs_f64() * 1e6 / total,
            s1.disk_reads - s0.disk_reads,
            (s1.disk_bytes_read - s0.disk_bytes_read) as f64 / 1e6,
            log_order.as_secs_f64() * 1e6 / total,
            s2.disk_reads - s1.disk_reads,
            (s2.disk_bytes_read - s1.disk_bytes_read) as f64 / 1e6,
        );
    });
}

//! The engine without an fsync per batch (`sync_each_batch = false`), explicit `fsync()`, the
//! batch-number API, and recovery that tolerates a lost unsynced tail
//! (`tolerate_unsynced_tail`).
//!
//! What must hold: an acknowledged append is in the file (written) when its ticket resolves,
//! with no fdatasync; `fsync()` is one real fdatasync covering everything staged before it;
//! rotation, segment deletion and close still sync what they must; a log with a hole followed
//! by valid batches (what a power loss can leave without per-batch fsyncs) is refused by strict
//! recovery and cut at the hole, with the cut counted, by tolerant recovery, and the cut is
//! persisted so the log is strictly valid afterwards.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{entry, run, seg_path, segment_bytes};
use raftlog::{Engine, EngineError, EngineOptions, Entry, GroupId, RecoveryReport};

const GROUPS: u32 = 4;

fn nosync() -> EngineOptions {
    EngineOptions {
        sync_each_batch: false,
        // Files end where the log ends, so cutting and rewriting them is exact and cheap.
        preallocate: false,
        prefill: false,
        ..EngineOptions::default()
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn acknowledged_after_the_write_without_fdatasync_and_readable_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let opts = EngineOptions {
        cache_bytes: 0,
        ..nosync()
    };
    let o = opts.clone();
    run(move || async move {
        let e = Engine::open(&path, o.clone()).await.unwrap();
        for i in 1..=30u64 {
            let g = (i % 3) as GroupId;
            let en = entry(g, i.div_ceil(3), 1);
            let t = e.append_staged(g, [en.clone()]).unwrap();
            let batch = t.batch();
            t.await.unwrap();
            assert_eq!(e.durable_batch(), batch);
            // Acknowledged means written: the bytes are in the file (O_DIRECT writes are
            // visible to buffered reads) although no fdatasync ran.
            let seg = common::segment_files(&path).pop().unwrap();
            assert!(
                contains(&std::fs::read(&seg).unwrap(), &en.payload),
                "entry {i} acknowledged but not in the file"
            );
        }
        let s = e.stats();
        assert_eq!((s.fsyncs, s.batches, s.records), (0, 30, 30), "{s:?}");
        assert_eq!(s.records_per_fsync(), 0.0);
        assert_eq!(s.records_per_batch(), 1.0);
        assert_eq!(e.synced_batch(), 0);
        // Nothing is cached (budget 0): these reads come from the unsynced file.
        let got = e.read(1, 0..u64::MAX).await.unwrap();
        assert_eq!(got, (1..=10).map(|i| entry(1, i, 1)).collect::<Vec<_>>());
        assert!(e.stats().disk_entries >= 10);
        // A clean close syncs the unsynced batches.
        let probe = e.clone();
        e.close().await.unwrap();
        assert_eq!(probe.stats().fsyncs, 1);
        assert_eq!(probe.synced_batch(), probe.durable_batch());
        drop(probe);

        let e = Engine::open(&path, o).await.unwrap();
        assert_eq!(e.recovery().batches, 30);
        for g in 0..3 {
            let got = e.read(g, 0..u64::MAX).await.unwrap();
            assert_eq!(got, (1..=10).map(|i| entry(g, i, 1)).collect::<Vec<_>>());
        }
        e.close().await.unwrap();
    });
}

#[test]
fn fsync_is_one_fdatasync_covering_everything_staged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, nosync()).await.unwrap();
        // Nothing written yet: nothing to sync.
        e.fsync().await.unwrap();
        assert_eq!(e.stats().fsyncs, 0);
        for i in 1..=5 {
            e.append(0, [entry(0, i, 1)]).await.unwrap();
        }
        assert_eq!(e.stats().fsyncs, 0);
        // Staged but not yet written: fsync waits for the write, then syncs it.
        let t = e.append_staged(1, [entry(1, 1, 1)]).unwrap();
        assert!(!t.is_durable());
        e.fsync().await.unwrap();
        assert!(t.is_durable());
        assert_eq!(e.stats().fsyncs, 1);
        assert!(e.synced_batch() >= t.batch());
        assert_eq!(e.synced_batch(), e.durable_batch());
        // Nothing new: no second fdatasync.
        e.fsync().await.unwrap();
        assert_eq!(e.stats().fsyncs, 1);
        // Concurrent callers share one fdatasync.
        for g in 2..6 {
            drop(e.append_staged(g, [entry(g, 1, 1)]).unwrap());
        }
        let (a, b) = futures_lite::future::zip(e.fsync(), e.fsync()).await;
        a.unwrap();
        b.unwrap();
        assert_eq!(e.stats().fsyncs, 2);
        assert_eq!(e.synced_batch(), e.durable_batch());
        e.close().await.unwrap();
    });

    // With an fdatasync per batch, fsync() has nothing left to do.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, EngineOptions::default()).await.unwrap();
        for i in 1..=3 {
            e.append(0, [entry(0, i, 1)]).await.unwrap();
        }
        assert_eq!(e.synced_batch(), e.durable_batch());
        e.fsync().await.unwrap();
        let s = e.stats();
        assert_eq!((s.fsyncs, s.batches), (3, 3), "{s:?}");
        e.close().await.unwrap();
    });
}

#[test]
fn batch_numbers_and_wait_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, EngineOptions::default()).await.unwrap();
        assert_eq!(e.durable_batch(), 0);
        let t1 = e.append_staged(0, [entry(0, 1, 1)]).unwrap();
        // Staged together, before the flusher ran: the same batch.
        let t2 = e.append_staged(1, [entry(1, 1, 1)]).unwrap();
        assert_eq!(t1.batch(), t2.batch());
        t1.await.unwrap();
        let t3 = e.append_staged(0, [entry(0, 2, 1)]).unwrap();
        assert!(t3.batch() > t2.batch());
        // A ticket rebuilt from a number resolves with that batch.
        let w = e.wait_batch(t3.batch());
        assert_eq!(w.batch(), t3.batch());
        w.await.unwrap();
        assert!(t3.is_durable());
        assert!(e.durable_batch() >= t3.batch());
        // Numbers never handed out are clamped to the last one.
        let far = e.wait_batch(u64::MAX);
        assert_eq!(far.batch(), t3.batch());
        assert!(far.is_durable());
        far.await.unwrap();
        drop((t2, t3));
        e.close().await.unwrap();
    });
}

#[test]
fn rotation_and_deletion_sync_the_unsynced_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let opts = EngineOptions {
        sync_each_batch: false,
        ..common::small_opts()
    };
    let o = opts.clone();
    let before = run(move || async move {
        let e = Engine::open(&path, o.clone()).await.unwrap();
        let mut next = [1u64; GROUPS as usize];
        for i in 0..600u64 {
            let g = (i % GROUPS as u64) as GroupId;
            let first = next[g as usize];
            next[g as usize] += 3;
            e.append(g, (first..first + 3).map(|x| entry(g, x, 1)))
                .await
                .unwrap();
        }
        let s = e.stats();
        assert!(s.segments_created >= 4, "{s:?}");
        // One fdatasync per rotation: the sealed segment, before the next one is created.
        assert_eq!(s.fsyncs, s.segments_created - 1, "{s:?}");
        assert_eq!(e.disk_bytes(), segment_bytes(&path));
        // Purging everything makes the old segments deletable; the purge records must be
        // stable before the files go.
        let mut purged_in = 0;
        for g in 0..GROUPS {
            let last = e.group_state(g).last.unwrap();
            let ticket = e
                .purge(g, last.0, last.1, bytes::Bytes::from_static(b"snap"))
                .unwrap();
            purged_in = ticket.batch();
            ticket.await.unwrap();
        }
        // Everything is purged: every sealed segment goes (deletions run one after another).
        let mut tries = 0;
        while e.segments().len() > 1 || e.stats().segments_deleted == 0 {
            tries += 1;
            assert!(tries < 500, "segments were not deleted: {:?}", e.stats());
            glommio::timer::sleep(Duration::from_millis(2)).await;
        }
        let after = e.stats();
        assert!(after.fsyncs > s.fsyncs, "deleted without a sync: {after:?}");
        // The purge records are on stable storage (later batches, e.g. re-logged markers, may
        // still be in flight: comparing with `durable_batch` here would race with them).
        assert!(e.synced_batch() >= purged_in, "{after:?}");
        assert_eq!(e.segments().len(), common::segment_files(&path).len());
        assert_eq!(e.disk_bytes(), segment_bytes(&path));
        let snap = common::snapshot(&e).await;
        e.close().await.unwrap();
        snap
    });
    let path = dir.path().to_path_buf();
    let after = run(move || async move {
        let e = common::reopen(&path, opts).await;
        let snap = common::snapshot(&e).await;
        assert_eq!(e.disk_bytes(), segment_bytes(&path));
        e.close().await.unwrap();
        snap
    });
    assert_eq!(before, after);
}

/// A log written one awaited append per batch, with where each batch went.
struct Written {
    /// `(segment, start)` of every batch.
    at: Vec<(u64, u64)>,
    /// Entries appended by each batch.
    contents: Vec<(GroupId, Vec<Entry>)>,
}

fn write_log(dir: &Path, opts: EngineOptions, n: usize, per_batch: u64) -> Written {
    write_log_synced(dir, opts, n, per_batch, usize::MAX)
}

/// Like [`write_log`], with an explicit `fsync()` before batch `sync_before`.
fn write_log_synced(
    dir: &Path,
    opts: EngineOptions,
    n: usize,
    per_batch: u64,
    sync_before: usize,
) -> Written {
    let path = dir.to_path_buf();
    let segment_size = opts.segment_size;
    run(move || async move {
        let e = Engine::open(&path, opts).await.unwrap();
        let mut next = [1u64; GROUPS as usize];
        let mut w = Written {
            at: Vec::new(),
            contents: Vec::new(),
        };
        for k in 0..n {
            if k == sync_before {
                e.fsync().await.unwrap();
            }
            let g = (k as u32) % GROUPS;
            let es: Vec<_> = (0..per_batch)
                .map(|j| entry(g, next[g as usize] + j, 1))
                .collect();
            next[g as usize] += per_batch;
            let (seg, off) = e.log_end();
            // Before the first segment exists, or at a rotation, the batch opens a new segment.
            let at = if off >= segment_size {
                (seg + 1, 4096)
            } else {
                (seg, off)
            };
            w.at.push(at);
            e.append(g, es.clone()).await.unwrap();
            w.contents.push((g, es));
        }
        assert_eq!(e.stats().batches, n as u64);
        e.close().await.unwrap();
        w
    })
}

fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for p in common::segment_files(from) {
        std::fs::copy(&p, to.path().join(p.file_name().unwrap())).unwrap();
    }
    to
}

/// Exact end of the batch starting at `start` in `bytes` (header: magic, body length, ...).
fn batch_end(bytes: &[u8], start: u64) -> u64 {
    let s = start as usize;
    start + 16 + u32::from_le_bytes(bytes[s + 4..s + 8].try_into().unwrap()) as u64
}

/// Opens `dir` with `opts` and closes it again: whether recovery accepts the log.
fn open_with(dir: &Path, opts: EngineOptions) -> Result<(), EngineError> {
    let d = dir.to_path_buf();
    run(move || async move { Engine::open(&d, opts).await?.close().await })
}

/// Opens `dir` tolerantly and checks it holds exactly the first `k` batches of `w`; then that
/// the cut was persisted (a strict open after more appends sees the prefix and the new data).
fn open_tolerant_expect_prefix(dir: &Path, w: &Written, k: usize) -> RecoveryReport {
    let mut want: Vec<(GroupId, Vec<Entry>)> = (0..GROUPS).map(|g| (g, Vec::new())).collect();
    for (g, es) in &w.contents[..k] {
        want[*g as usize].1.extend(es.iter().cloned());
    }
    want.retain(|(_, v)| !v.is_empty());
    let path = dir.to_path_buf();
    run(move || async move {
        let opts = EngineOptions {
            tolerate_unsynced_tail: true,
            ..nosync()
        };
        let e = Engine::open(&path, opts).await.unwrap();
        let report = e.recovery().clone();
        let mut got = Vec::new();
        for g in e.groups() {
            got.push((g, e.read(g, 0..u64::MAX).await.unwrap()));
        }
        assert_eq!(got, want, "{report:?}");
        let extra = 99;
        e.append(extra, [entry(extra, 1, 5)]).await.unwrap();
        e.close().await.unwrap();
        let e = Engine::open(&path, EngineOptions::default()).await.unwrap();
        assert_eq!(e.recovery().dropped_at, None);
        assert_eq!(e.recovery().torn_at, None);
        assert_eq!(e.read(extra, 0..9).await.unwrap(), vec![entry(extra, 1, 5)]);
        for (g, es) in &want {
            assert_eq!(&e.read(*g, 0..u64::MAX).await.unwrap(), es);
        }
        e.close().await.unwrap();
        report
    })
}

#[test]
fn hole_before_valid_batches_fails_strict_and_is_cut_when_tolerant() {
    let src = tempfile::tempdir().unwrap();
    let w = write_log(src.path(), nosync(), 20, 2);
    let (seq, _) = w.at[0];
    assert!(w.at.iter().all(|&(s, _)| s == seq), "one segment expected");
    let seg = seg_path(src.path(), seq);
    let full = std::fs::read(&seg).unwrap();
    let data_end = batch_end(&full, w.at[19].1);
    let k = 8;
    let (start, end) = (w.at[k].1, batch_end(&full, w.at[k].1));
    // A flipped byte, or the whole write lost (reads as zeros) while later ones persisted.
    for (what, damage) in [("flipped byte", false), ("lost write", true)] {
        let d = copy_dir(src.path());
        let mut bytes = full.clone();
        if damage {
            bytes[start as usize..end as usize].fill(0);
        } else {
            bytes[start as usize + 40] ^= 0x10;
        }
        std::fs::write(seg_path(d.path(), seq), &bytes).unwrap();
        match open_with(d.path(), nosync()) {
            Err(EngineError::Corrupt { offset, .. }) => assert_eq!(offset, start, "{what}"),
            Err(other) => panic!("{what}: strict open: {other}"),
            Ok(_) => panic!("{what}: strict open succeeded"),
        }
        let r = open_tolerant_expect_prefix(d.path(), &w, k);
        assert_eq!(r.dropped_at, Some((seq, start)), "{what}: {r:?}");
        assert_eq!(r.dropped_batches, 20 - k as u64 - 1, "{what}: {r:?}");
        assert_eq!(r.dropped_bytes, data_end - start, "{what}: {r:?}");
        assert_eq!(r.torn_at, None, "{what}: {r:?}");
        assert_eq!(r.batches, k as u64, "{what}: {r:?}");
    }

    // A damaged last batch is still an ordinary torn tail in tolerant mode.
    let d = copy_dir(src.path());
    let mut bytes = full.clone();
    bytes[w.at[19].1 as usize + 20] ^= 1;
    std::fs::write(seg_path(d.path(), seq), &bytes).unwrap();
    let r = open_tolerant_expect_prefix(d.path(), &w, 19);
    assert_eq!(r.torn_at, Some(w.at[19].1), "{r:?}");
    assert_eq!(
        (r.dropped_at, r.dropped_batches, r.dropped_bytes),
        (None, 0, 0)
    );
}

#[test]
fn damage_in_a_sealed_segment_is_corruption_even_when_tolerant() {
    let src = tempfile::tempdir().unwrap();
    let opts = EngineOptions {
        segment_size: 16 << 10,
        preallocate: true,
        // Segments fill up in order (no early move to a prefilled spare, whose timing would
        // decide how many batches the second segment gets).
        prefill: false,
        sync_each_batch: false,
        ..EngineOptions::default()
    };
    let n = 300;
    let w = write_log(src.path(), opts.clone(), n, 2);
    let segs = common::segment_files(src.path());
    assert!(segs.len() >= 5, "{segs:?}");
    // Damage the third batch of the second segment.
    let second = w.at[0].0 + 1;
    let k = w.at.iter().position(|&(s, _)| s == second).unwrap() + 2;
    assert_eq!(w.at[k].0, second);
    let d = copy_dir(src.path());
    let p = seg_path(d.path(), second);
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[w.at[k].1 as usize + 3] ^= 0x80;
    std::fs::write(&p, &bytes).unwrap();
    assert!(matches!(
        open_with(d.path(), opts.clone()),
        Err(EngineError::Corrupt { .. })
    ));
    // Sealed segments are synced before the next one exists: damage there is corruption in
    // tolerant mode too, and nothing is cut or deleted.
    match open_with(
        d.path(),
        EngineOptions {
            tolerate_unsynced_tail: true,
            ..opts.clone()
        },
    ) {
        Err(EngineError::Corrupt { offset, .. }) => assert_eq!(offset, w.at[k].1),
        Err(other) => panic!("tolerant open: {other}"),
        Ok(_) => panic!("tolerant open cut a sealed segment"),
    }
    assert_eq!(common::segment_files(d.path()).len(), segs.len());
}

#[test]
fn damage_before_a_sync_mark_is_corruption_even_when_tolerant() {
    let src = tempfile::tempdir().unwrap();
    // fsync() after batch 9: batch 10 carries the mark "synced through the end of batch 9".
    let w = write_log_synced(src.path(), nosync(), 20, 2, 10);
    let (seq, _) = w.at[0];
    assert!(w.at.iter().all(|&(s, _)| s == seq), "one segment expected");
    let seg = seg_path(src.path(), seq);
    let full = std::fs::read(&seg).unwrap();
    let damaged = |k: usize| {
        let d = copy_dir(src.path());
        let mut bytes = full.clone();
        bytes[w.at[k].1 as usize + 40] ^= 0x10;
        std::fs::write(seg_path(d.path(), seq), &bytes).unwrap();
        d
    };
    let tolerant = EngineOptions {
        tolerate_unsynced_tail: true,
        ..nosync()
    };
    // Damage in the synced part is corruption of acknowledged, fsynced data: refused, nothing cut.
    for k in [0, 4, 9] {
        let d = damaged(k);
        match open_with(d.path(), tolerant.clone()) {
            Err(EngineError::Corrupt { offset, reason, .. }) => {
                assert_eq!(offset, w.at[k].1, "batch {k}");
                assert!(reason.contains("fsynced through"), "batch {k}: {reason}");
            }
            Err(other) => panic!("batch {k}: {other}"),
            Ok(_) => panic!("batch {k}: tolerant open cut synced data"),
        }
        assert_eq!(std::fs::read(seg_path(d.path(), seq)).unwrap(), {
            let mut b = full.clone();
            b[w.at[k].1 as usize + 40] ^= 0x10;
            b
        });
    }
    // After the synced part (the batch with the mark included) it is still a lost unsynced write.
    for k in [10, 14] {
        let d = damaged(k);
        let r = open_tolerant_expect_prefix(d.path(), &w, k);
        assert_eq!(r.dropped_at, Some((seq, w.at[k].1)), "batch {k}: {r:?}");
    }
}

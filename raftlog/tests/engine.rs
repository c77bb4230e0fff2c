//! The log engine's behaviour against real files: many groups interleaved, restart equality,
//! markers, truncate/purge rules, group commit, the memory cap, and purge bounding the disk.

mod common;

use std::rc::Rc;

use bytes::Bytes;
use common::{entry, reopen, run, small_opts, snapshot};
use raftlog::{Engine, EngineError, EngineOptions, MarkerKind};

#[test]
fn many_groups_interleaved_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let opts = small_opts();
        let e = Engine::open(&path, opts.clone()).await.unwrap();
        for round in 0..40u64 {
            for g in 0..25u32 {
                let first = round * 3 + 1;
                let batch: Vec<_> = (first..first + 3)
                    .map(|i| entry(g, i, 1 + round / 10))
                    .collect();
                e.append(g, batch).await.unwrap();
            }
        }
        e.save_vote(3, Bytes::from_static(b"vote-3")).await.unwrap();
        e.save_committed(3, Bytes::from_static(b"commit-3"))
            .await
            .unwrap();
        e.save_marker(4, MarkerKind::Applied, Bytes::from_static(b"applied-4"))
            .await
            .unwrap();
        let before = snapshot(&e).await;
        assert_eq!(before.len(), 25);
        for (g, (st, entries)) in &before {
            assert_eq!(st.first_index, Some(1));
            assert_eq!(st.last.map(|l| l.0), Some(120));
            assert_eq!(entries.len(), 120);
            for (k, en) in entries.iter().enumerate() {
                assert_eq!(en, &entry(*g, k as u64 + 1, 1 + k as u64 / 30));
            }
        }
        assert!(
            e.segments().len() > 3,
            "small segments must rotate: {:?}",
            e.segments()
        );
        e.close().await.unwrap();

        let e = reopen(&path, opts).await;
        let after = snapshot(&e).await;
        assert_eq!(before, after);
        assert_eq!(e.group_state(3).vote.as_deref(), Some(&b"vote-3"[..]));
        assert_eq!(
            e.group_state(3).committed.as_deref(),
            Some(&b"commit-3"[..])
        );
        assert_eq!(e.group_state(4).applied.as_deref(), Some(&b"applied-4"[..]));
        assert_eq!(e.recovery().torn_bytes, 0);
        assert_eq!(e.recovery().groups, 25);
        e.close().await.unwrap();
    });
}

#[test]
fn append_rules_and_truncate_purge() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, EngineOptions::default()).await.unwrap();
        e.append(1, (5..=10).map(|i| entry(1, i, 2))).await.unwrap();
        match e.append(1, [entry(1, 12, 2)]).await {
            Err(EngineError::NotNext {
                group: 1,
                index: 12,
                expected: 11,
            }) => {}
            other => panic!("{other:?}"),
        }
        // A conflicting suffix is replaced.
        e.truncate(1, 8).unwrap().await.unwrap();
        assert_eq!(e.group_state(1).last, Some((7, 2)));
        e.append(1, (8..=9).map(|i| entry(1, i, 3))).await.unwrap();
        // Purge, then the log may not be truncated below the purge point.
        e.purge(1, 6, 2, Bytes::from_static(b"p6"))
            .unwrap()
            .await
            .unwrap();
        assert!(matches!(
            e.truncate(1, 6),
            Err(EngineError::TruncatePurged {
                group: 1,
                from: 6,
                purged: 6
            })
        ));
        // Purge beyond the end empties the log; appends continue above the purge point only.
        e.purge(1, 20, 3, Bytes::from_static(b"p20"))
            .unwrap()
            .await
            .unwrap();
        let st = e.group_state(1);
        assert_eq!((st.first_index, st.last), (None, None));
        assert!(matches!(
            e.append(1, [entry(1, 20, 3)]).await,
            Err(EngineError::BelowPurged { purged: 20, .. })
        ));
        e.append(1, [entry(1, 21, 4)]).await.unwrap();
        // A lower purge is a no-op.
        e.purge(1, 3, 1, Bytes::from_static(b"p3"))
            .unwrap()
            .await
            .unwrap();
        assert_eq!(e.group_state(1).purged.unwrap().index, 20);
        // Reads are clipped to what is present.
        assert_eq!(e.read(1, 0..100).await.unwrap(), vec![entry(1, 21, 4)]);
        // Too large a payload is refused with its size.
        let big = raftlog::Entry {
            index: 22,
            term: 4,
            payload: Bytes::from(vec![0u8; (1 << 30) + 1]),
        };
        assert!(matches!(
            e.append(1, [big]).await,
            Err(EngineError::TooLarge { .. })
        ));
        // Removing a group forgets it.
        e.save_vote(2, Bytes::from_static(b"v")).await.unwrap();
        e.remove_group(2).unwrap().await.unwrap();
        assert_eq!(e.groups(), vec![1]);
        let before = snapshot(&e).await;
        e.close().await.unwrap();

        let e = reopen(&path, EngineOptions::default()).await;
        assert_eq!(snapshot(&e).await, before);
        let p = e.group_state(1).purged.unwrap();
        assert_eq!((p.index, p.term, p.marker.as_ref()), (20, 3, &b"p20"[..]));
        e.close().await.unwrap();
    });
}

#[test]
fn concurrent_appenders_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, EngineOptions::default()).await.unwrap();
        let groups = 64u32;
        let per_group = 50u64;
        let mut tasks = Vec::new();
        for g in 0..groups {
            let e = e.clone();
            tasks.push(glommio::spawn_local(async move {
                for i in 1..=per_group {
                    e.append(g, [entry(g, i, 1)]).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await;
        }
        let s = e.stats();
        assert_eq!(s.entries, groups as u64 * per_group);
        assert_eq!(s.appends, groups as u64 * per_group);
        // 64 appenders wait on the same fsyncs: far fewer fsyncs than appends.
        assert!(
            s.fsyncs * 8 < s.appends,
            "group commit did not batch: {} fsyncs for {} appends",
            s.fsyncs,
            s.appends
        );
        assert!(s.records_per_fsync() > 8.0);
        e.close().await.unwrap();
    });
}

#[test]
fn staged_entries_are_readable_before_durable_and_callbacks_fire_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, EngineOptions::default()).await.unwrap();
        let done = Rc::new(std::cell::RefCell::new(Vec::new()));
        for i in 1..=5u64 {
            let t = e.append_staged(9, [entry(9, i, 1)]).unwrap();
            assert_eq!(e.read(9, i..i + 1).await.unwrap(), vec![entry(9, i, 1)]);
            let d = done.clone();
            t.on_complete(move |r| {
                r.unwrap();
                d.borrow_mut().push(i)
            });
        }
        e.sync().await.unwrap();
        assert_eq!(*done.borrow(), vec![1, 2, 3, 4, 5]);
        e.close().await.unwrap();
    });
}

#[test]
fn cache_is_bounded_and_misses_read_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let opts = EngineOptions {
            cache_bytes: 8 << 10,
            ..EngineOptions::default()
        };
        let e = Engine::open(&path, opts).await.unwrap();
        for i in 1..=2000u64 {
            e.append((i % 7) as u32, [entry((i % 7) as u32, i / 7 + 1, 1)])
                .await
                .unwrap();
        }
        assert!(
            e.cached_bytes() <= 8 << 10,
            "cache holds {} bytes",
            e.cached_bytes()
        );
        let before = e.stats();
        let all = e.read(3, 0..u64::MAX).await.unwrap();
        assert_eq!(all.len(), 286);
        for (k, en) in all.iter().enumerate() {
            assert_eq!(en, &entry(3, k as u64 + 1, 1));
        }
        let after = e.stats();
        assert!(after.disk_entries - before.disk_entries > 200);
        // Coalesced: far fewer I/Os than entries.
        assert!(after.disk_reads - before.disk_reads < 20, "{after:?}");
        // A limited read stops early but never returns nothing.
        let some = e.read_limited(3, 1..287, 1).await.unwrap();
        assert_eq!(some, vec![entry(3, 1, 1)]);
        e.close().await.unwrap();
    });
}

#[test]
fn purge_deletes_segments_and_keeps_markers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let opts = small_opts();
        let e = Engine::open(&path, opts.clone()).await.unwrap();
        // Markers written once, at the start: they live only in the first segment until the
        // engine re-logs them.
        for g in 0..4u32 {
            e.save_vote(g, Bytes::from(format!("vote-{g}")))
                .await
                .unwrap();
            e.save_committed(g, Bytes::from(format!("commit-{g}")))
                .await
                .unwrap();
        }
        let mut max_segments = 0;
        let mut max_bytes = 0u64;
        for round in 0..300u64 {
            for g in 0..4u32 {
                let first = round * 10 + 1;
                e.append(g, (first..first + 10).map(|i| entry(g, i, 1)))
                    .await
                    .unwrap();
                if round >= 5 {
                    let upto = (round - 5) * 10 + 10;
                    drop(
                        e.purge(g, upto, 1, Bytes::from(format!("purged-{upto}")))
                            .unwrap(),
                    );
                }
            }
            e.sync().await.unwrap();
            max_segments = max_segments.max(e.segments().len());
            max_bytes = max_bytes.max(common::segment_bytes(&path));
        }
        // Every group purges, so nothing pins old segments for long.
        assert!(e.groups_pinning_oldest_segment().len() <= 4);
        let s = e.stats();
        assert!(s.segments_created > 20, "{s:?}");
        assert!(s.segments_deleted > 15, "{s:?}");
        assert!(max_segments <= 6, "segments grew to {max_segments}");
        assert!(
            max_bytes <= 6 * (64 << 10),
            "disk grew to {max_bytes} bytes"
        );
        let before = snapshot(&e).await;
        e.close().await.unwrap();

        let e = reopen(&path, opts).await;
        assert_eq!(snapshot(&e).await, before);
        for g in 0..4u32 {
            let st = e.group_state(g);
            assert_eq!(st.vote, Some(Bytes::from(format!("vote-{g}"))));
            assert_eq!(st.committed, Some(Bytes::from(format!("commit-{g}"))));
            assert_eq!(st.purged.unwrap().index, 2950);
            assert_eq!(st.first_index, Some(2951));
        }
        e.close().await.unwrap();
    });
}

#[test]
fn a_second_engine_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, EngineOptions::default()).await.unwrap();
        match Engine::open(&path, EngineOptions::default()).await {
            Err(EngineError::Locked { dir }) => assert_eq!(dir, path),
            other => panic!("{other:?}"),
        }
        let bad = EngineOptions {
            segment_size: 100,
            ..EngineOptions::default()
        };
        assert!(matches!(
            Engine::open(path.join("x"), bad).await,
            Err(EngineError::InvalidOption(_))
        ));
        e.close().await.unwrap();
        // Closing releases the directory.
        let e = Engine::open(&path, EngineOptions::default()).await.unwrap();
        assert!(matches!(e.append(1, [entry(1, 1, 1)]).await, Ok(())));
        let e2 = e.clone();
        e.close().await.unwrap();
        assert!(matches!(
            e2.append(1, [entry(1, 2, 1)]).await,
            Err(EngineError::Closed)
        ));
    });
}

#[test]
fn an_unpurged_group_pins_old_segments_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, small_opts()).await.unwrap();
        // Group 9 writes once and never purges; group 1 writes a lot and purges.
        e.append(9, [entry(9, 1, 1)]).await.unwrap();
        for i in 1..=2000u64 {
            e.append(1, [entry(1, i, 1)]).await.unwrap();
            if i % 100 == 0 {
                e.purge(1, i, 1, Bytes::new()).unwrap().await.unwrap();
            }
        }
        e.sync().await.unwrap();
        assert_eq!(e.groups_pinning_oldest_segment(), vec![9]);
        assert_eq!(
            e.stats().segments_deleted,
            0,
            "group 9 pins the first segment"
        );
        // Once group 9 purges, the segments go (deletion runs before the flush after the purge).
        e.purge(9, 1, 1, Bytes::new()).unwrap().await.unwrap();
        e.append(1, [entry(1, 2001, 1)]).await.unwrap();
        assert!(e.stats().segments_deleted > 0, "{:?}", e.stats());
        assert!(e.groups_pinning_oldest_segment().len() <= 1);
        e.close().await.unwrap();
    });
}

/// With `cache_bytes = 0` no payload is kept: a read right after a staged (not yet written) append
/// waits for the write and reads the file, in both read paths, and nothing is ever cached.
#[test]
fn without_a_cache_reads_wait_for_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let opts = EngineOptions {
            cache_bytes: 0,
            ..small_opts()
        };
        let e = Engine::open(&path, opts.clone()).await.unwrap();
        let mut want = Vec::new();
        for i in 1..=50u64 {
            let es = vec![entry(1, i, 1)];
            drop(e.append_staged(1, es.clone()).unwrap());
            want.extend(es);
            if i % 10 == 0 {
                // Staged, not yet written: the read must wait for the batch, not read a hole.
                assert!(e.durable_batch() < e.wait_batch(u64::MAX).batch());
                assert_eq!(e.read(1, 1..i + 1).await.unwrap(), want);
                let mut seen = Vec::new();
                e.read_in_log_order::<std::convert::Infallible>(&[(1, 1..i + 1)], |_, en| {
                    seen.push(en);
                    Ok(())
                })
                .await
                .unwrap();
                assert_eq!(seen, want);
            }
        }
        let s = e.stats();
        assert_eq!(s.cache_hits, 0, "{s:?}");
        assert!(s.disk_entries >= 50, "{s:?}");
        e.close().await.unwrap();
        let e = reopen(&path, opts).await;
        assert_eq!(e.read(1, 1..51).await.unwrap(), want);
        e.close().await.unwrap();
    });
}

/// `append_staged_slice` stages a borrowed payload: read back from the cache (a copy) and, after a
/// restart, from the file, equal to what `append_staged` would have stored.
#[test]
fn borrowed_payloads_are_copied_in() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let opts = small_opts();
        let e = Engine::open(&path, opts.clone()).await.unwrap();
        let mut buf = Vec::new();
        let mut want = Vec::new();
        for i in 1..=20u64 {
            let en = entry(4, i, 2);
            buf.clear();
            buf.extend_from_slice(&en.payload);
            let t = e.append_staged_slice(4, en.index, en.term, &buf).unwrap();
            buf.fill(0);
            want.push(en);
            if i % 5 == 0 {
                t.await.unwrap();
            }
        }
        let before = e.stats().cache_hits;
        assert_eq!(e.read(4, 1..21).await.unwrap(), want);
        assert_eq!(e.stats().cache_hits - before, 20);
        e.close().await.unwrap();
        let e = reopen(&path, opts).await;
        assert_eq!(e.read(4, 1..21).await.unwrap(), want);
        e.close().await.unwrap();
    });
}

/// Without a cache, a read that has to wait for the write still returns the log as it was when it was
/// called: entries appended while it waits are not part of it (nor can they fail it).
#[test]
fn without_a_cache_a_waiting_read_is_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let opts = EngineOptions {
            cache_bytes: 0,
            ..small_opts()
        };
        let e = Engine::open(&path, opts).await.unwrap();
        let first: Vec<_> = (1..=10).map(|i| entry(1, i, 1)).collect();
        drop(e.append_staged(1, first.clone()).unwrap());
        let later = async {
            drop(
                e.append_staged(1, (11..=20).map(|i| entry(1, i, 1)))
                    .unwrap(),
            );
        };
        let (read, ()) = futures_lite::future::zip(e.read(1, 1..u64::MAX), later).await;
        assert_eq!(read.unwrap(), first);
        let mut seen = Vec::new();
        let all = e.read_in_log_order::<std::convert::Infallible>(&[(1, 1..u64::MAX)], |_, en| {
            seen.push(en);
            Ok(())
        });
        let later = async {
            drop(
                e.append_staged(1, (21..=30).map(|i| entry(1, i, 1)))
                    .unwrap(),
            );
        };
        let (res, ()) = futures_lite::future::zip(all, later).await;
        res.unwrap();
        assert_eq!(seen.len(), 20);
        e.close().await.unwrap();
    });
}

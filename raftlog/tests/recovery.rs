//! Crash recovery against damaged files: tails cut at every kind of point, flipped bytes in the
//! tail and in the middle, a write that was not (or only partly) persisted before the crash,
//! missing and blank segments, and a segment written by hand from the format in the crate docs.
//!
//! The rule being tested: recovery never panics and never skips a damaged record in the middle;
//! it either returns a state that is an exact prefix of what was written (containing everything
//! acknowledged) or a typed error.

mod common;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use common::{entry, run, Rng};
use raftlog::{Engine, EngineError, EngineOptions, Entry, GroupId};

const GROUPS: u32 = 5;

fn opts() -> EngineOptions {
    EngineOptions {
        // Files end where the log ends, so cutting and rewriting them is exact and cheap.
        preallocate: false,
        prefill: false,
        ..EngineOptions::default()
    }
}

/// A log written batch by batch, with what each batch added.
struct Written {
    /// `(start, exact end)` of every batch in the (single) segment.
    batches: Vec<(u64, u64)>,
    /// Entries appended by each batch.
    contents: Vec<Vec<(GroupId, Entry)>>,
    segment: PathBuf,
}

fn batch_end(bytes: &[u8], start: u64) -> u64 {
    let s = start as usize;
    let body = u32::from_le_bytes(bytes[s + 4..s + 8].try_into().unwrap()) as u64;
    start + 16 + body
}

/// Writes `n` batches (one awaited append each, rotating over groups) into `dir`.
fn write_log(dir: &Path, n: usize, seed: u64) -> Written {
    let path = dir.to_path_buf();
    let (starts, contents) = run(move || async move {
        let e = Engine::open(&path, opts()).await.unwrap();
        let mut rng = Rng::new(seed);
        let mut next = [1u64; GROUPS as usize];
        let mut starts = Vec::new();
        let mut contents = Vec::new();
        for k in 0..n {
            let g = (k as u32) % GROUPS;
            let count = 1 + rng.below(4);
            let es: Vec<_> = (0..count)
                .map(|j| entry(g, next[g as usize] + j, 1))
                .collect();
            next[g as usize] += count;
            starts.push(e.log_end().1);
            e.append(g, es.clone()).await.unwrap();
            contents.push(es.into_iter().map(|x| (g, x)).collect::<Vec<_>>());
        }
        e.close().await.unwrap();
        (starts, contents)
    });
    let segment = common::segment_files(dir).pop().unwrap();
    let bytes = std::fs::read(&segment).unwrap();
    // The first start is reported before the segment existed.
    let mut starts = starts;
    starts[0] = 4096;
    let batches = starts.iter().map(|&s| (s, batch_end(&bytes, s))).collect();
    Written {
        batches,
        contents,
        segment,
    }
}

/// Copies a log directory (without its lock file) into a new temporary directory.
fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for p in common::segment_files(from) {
        std::fs::copy(&p, to.path().join(p.file_name().unwrap())).unwrap();
    }
    to
}

/// What the engine should hold if exactly the first `k` batches survived.
fn expected(w: &Written, k: usize) -> Vec<(GroupId, Vec<Entry>)> {
    let mut out: Vec<(GroupId, Vec<Entry>)> = (0..GROUPS).map(|g| (g, Vec::new())).collect();
    for batch in &w.contents[..k] {
        for (g, e) in batch {
            out[*g as usize].1.push(e.clone());
        }
    }
    out.retain(|(_, v)| !v.is_empty());
    out
}

async fn actual(e: &Engine) -> Vec<(GroupId, Vec<Entry>)> {
    let mut out = Vec::new();
    for g in e.groups() {
        out.push((g, e.read(g, 0..u64::MAX).await.unwrap()));
    }
    out
}

/// Opens a modified copy and checks it holds exactly the first `k` batches, then that writing
/// continues correctly after recovery.
fn open_expect_prefix(dir: &Path, w: &Written, k: usize, what: &str) -> raftlog::RecoveryReport {
    let want = expected(w, k);
    let path = dir.to_path_buf();
    let what = what.to_string();
    run(move || async move {
        let e = Engine::open(&path, opts())
            .await
            .unwrap_or_else(|err| panic!("{what}: open failed: {err}"));
        assert_eq!(actual(&e).await, want, "{what}");
        let report = e.recovery().clone();
        // The log continues after the recovered tail, and a second recovery sees it all.
        let g = 77;
        e.append(g, [entry(g, 1, 9), entry(g, 2, 9)]).await.unwrap();
        e.close().await.unwrap();
        let e = Engine::open(&path, opts()).await.unwrap();
        let mut again = actual(&e).await;
        let tail = again.pop().unwrap();
        assert_eq!(tail, (g, vec![entry(g, 1, 9), entry(g, 2, 9)]), "{what}");
        assert_eq!(again, want, "{what}: second reopen");
        assert_eq!(e.recovery().torn_bytes, 0, "{what}: second reopen");
        e.close().await.unwrap();
        report
    })
}

fn open_expect_corrupt(dir: &Path, what: &str) -> (PathBuf, u64) {
    let path = dir.to_path_buf();
    let what = what.to_string();
    run(move || async move {
        match Engine::open(&path, opts()).await {
            Err(EngineError::Corrupt { path, offset, .. }) => (path, offset),
            Err(other) => panic!("{what}: expected corruption, got {other}"),
            Ok(_) => panic!("{what}: expected corruption, recovery succeeded"),
        }
    })
}

#[test]
fn tail_cut_anywhere_recovers_the_batches_before_it() {
    let src = tempfile::tempdir().unwrap();
    let w = write_log(src.path(), 40, 1);
    let full = std::fs::read(&w.segment).unwrap();
    let data_end = w.batches.last().unwrap().1;
    let mut rng = Rng::new(7);
    let mut cuts: Vec<u64> = (0..25).map(|_| 4096 + rng.below(data_end - 4096)).collect();
    for &(s, e) in w.batches.iter().rev().take(4) {
        cuts.extend([s, s + 1, s + 15, s + 16, e - 1, e]);
    }
    for cut in cuts {
        // Batch k survives iff it ends at or before the cut.
        let k = w.batches.iter().take_while(|&&(_, e)| e <= cut).count();
        for zero_fill in [false, true] {
            let d = copy_dir(src.path());
            let seg = d.path().join(w.segment.file_name().unwrap());
            let mut bytes = full.clone();
            if zero_fill {
                // A pre-allocated file: the lost part reads as zeros.
                bytes[cut as usize..].fill(0);
            } else {
                bytes.truncate(cut as usize);
            }
            std::fs::write(&seg, &bytes).unwrap();
            let what = format!("cut at {cut} (zero fill {zero_fill}), {k} batches");
            let report = open_expect_prefix(d.path(), &w, k, &what);
            // Bytes of the first lost batch remain exactly when the cut is past its start.
            let partial = k < w.batches.len() && cut > w.batches[k].0;
            assert_eq!(report.torn_bytes > 0, partial, "{what}: {report:?}");
        }
    }
}

#[test]
fn flipped_byte_in_the_last_batch_is_a_torn_tail() {
    let src = tempfile::tempdir().unwrap();
    let w = write_log(src.path(), 12, 2);
    let full = std::fs::read(&w.segment).unwrap();
    let (start, end) = *w.batches.last().unwrap();
    for p in [
        start,
        start + 5,
        start + 16,
        start + 20,
        start + 40,
        end - 1,
    ] {
        let d = copy_dir(src.path());
        let mut bytes = full.clone();
        bytes[p as usize] ^= 0x5a;
        std::fs::write(d.path().join(w.segment.file_name().unwrap()), &bytes).unwrap();
        let report = open_expect_prefix(d.path(), &w, w.batches.len() - 1, &format!("flip at {p}"));
        assert_eq!(report.torn_at, Some(start));
    }
}

#[test]
fn flipped_byte_before_a_valid_batch_is_corruption() {
    let src = tempfile::tempdir().unwrap();
    let w = write_log(src.path(), 30, 3);
    let full = std::fs::read(&w.segment).unwrap();
    let mut rng = Rng::new(11);
    for _ in 0..40 {
        // Any byte of any batch but the last.
        let k = rng.below(w.batches.len() as u64 - 1) as usize;
        let (start, end) = w.batches[k];
        let p = start + rng.below(end - start);
        let d = copy_dir(src.path());
        let mut bytes = full.clone();
        bytes[p as usize] ^= 1 << rng.below(8);
        std::fs::write(d.path().join(w.segment.file_name().unwrap()), &bytes).unwrap();
        let (path, offset) = open_expect_corrupt(d.path(), &format!("flip at {p} in batch {k}"));
        assert_eq!(path.file_name(), w.segment.file_name());
        assert_eq!(offset, start, "flip at {p} in batch {k}");
    }
}

#[test]
fn unsynced_write_persisted_partly_or_not_at_all() {
    // The state on disk after batch k was durable, and after batch k+1 was written (but its
    // fdatasync never returned): any mix of the 512-byte sectors of that write may be on disk.
    let src = tempfile::tempdir().unwrap();
    let w = write_log(src.path(), 20, 4);
    let full = std::fs::read(&w.segment).unwrap();
    let last = w.batches.len() - 1;
    let (start, end) = w.batches[last];
    // Before the last write: the file ended at the previous batch (its last block zero-padded).
    let mut before = full[..w.batches[last - 1].1 as usize].to_vec();
    before.resize(full.len(), 0);
    let sectors: Vec<u64> = (start / 512..end.div_ceil(512)).collect();
    let mut rng = Rng::new(5);
    let mut cases: Vec<(String, Vec<bool>)> = vec![
        ("nothing persisted".into(), vec![false; sectors.len()]),
        ("everything persisted".into(), vec![true; sectors.len()]),
        (
            "first sector only".into(),
            (0..sectors.len()).map(|i| i == 0).collect(),
        ),
        (
            "all but the first sector".into(),
            (0..sectors.len()).map(|i| i != 0).collect(),
        ),
    ];
    for c in 0..12 {
        cases.push((
            format!("random mix {c}"),
            sectors.iter().map(|_| rng.below(2) == 1).collect(),
        ));
    }
    for (name, persisted) in cases {
        let mut bytes = before.clone();
        for (s, keep) in sectors.iter().zip(&persisted) {
            if *keep {
                let r = (*s * 512) as usize..((*s + 1) * 512) as usize;
                let r = r.start..r.end.min(full.len());
                bytes[r.clone()].copy_from_slice(&full[r]);
            }
        }
        let complete = persisted.iter().all(|&p| p);
        let d = copy_dir(src.path());
        std::fs::write(d.path().join(w.segment.file_name().unwrap()), &bytes).unwrap();
        let k = if complete { last + 1 } else { last };
        open_expect_prefix(d.path(), &w, k, &name);
    }
}

#[test]
fn damaged_segments_are_reported_not_skipped() {
    let src = tempfile::tempdir().unwrap();
    let path = src.path().to_path_buf();
    let small = EngineOptions {
        segment_size: 16 << 10,
        preallocate: true,
        ..EngineOptions::default()
    };
    let o = small.clone();
    run(move || async move {
        let e = Engine::open(&path, o).await.unwrap();
        for i in 1..=600u64 {
            e.append((i % 3) as u32, [entry((i % 3) as u32, i / 3 + 1, 1)])
                .await
                .unwrap();
        }
        e.close().await.unwrap();
    });
    let segs = common::segment_files(src.path());
    assert!(segs.len() >= 4, "{segs:?}");
    let open_with = |d: &Path| {
        let d = d.to_path_buf();
        let o = small.clone();
        run(move || async move { Engine::open(&d, o).await.map(|_| ()) })
    };

    // A missing segment in the middle.
    let d = copy_dir(src.path());
    std::fs::remove_file(d.path().join(segs[1].file_name().unwrap())).unwrap();
    match open_with(d.path()) {
        Err(EngineError::MissingSegment { missing, .. }) => assert_eq!(missing, 2),
        other => panic!("missing segment: {other:?}"),
    }

    // The last batch of a sealed (not last) segment damaged: not a torn tail.
    let d = copy_dir(src.path());
    let p = d.path().join(segs[1].file_name().unwrap());
    let mut bytes = std::fs::read(&p).unwrap();
    let last_nonzero = bytes.iter().rposition(|&b| b != 0).unwrap();
    bytes[last_nonzero - 3] ^= 0xff;
    std::fs::write(&p, &bytes).unwrap();
    assert!(matches!(
        open_with(d.path()),
        Err(EngineError::Corrupt { .. })
    ));

    // Garbage after the end of a sealed segment.
    let d = copy_dir(src.path());
    let p = d.path().join(segs[0].file_name().unwrap());
    let mut bytes = std::fs::read(&p).unwrap();
    let end = bytes.iter().rposition(|&b| b != 0).unwrap();
    if end + 100 < bytes.len() {
        bytes[end + 100] = 1;
    } else {
        bytes.extend_from_slice(&[0u8; 99]);
        bytes.push(1);
    }
    std::fs::write(&p, &bytes).unwrap();
    assert!(matches!(
        open_with(d.path()),
        Err(EngineError::Corrupt { .. })
    ));

    // A damaged segment header.
    let d = copy_dir(src.path());
    let p = d.path().join(segs[0].file_name().unwrap());
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[3] ^= 1;
    std::fs::write(&p, &bytes).unwrap();
    match open_with(d.path()) {
        Err(EngineError::Corrupt {
            offset: 0, path, ..
        }) => assert_eq!(path.file_name(), segs[0].file_name()),
        other => panic!("bad header: {other:?}"),
    }

    // A blank last segment (crash while creating it) is removed; nothing is lost.
    let d = copy_dir(src.path());
    let next = segs.len() as u64 + 1;
    let blank = common::seg_path(d.path(), next);
    std::fs::write(&blank, vec![0u8; 8192]).unwrap();
    let dd = d.path().to_path_buf();
    let o = small.clone();
    run(move || async move {
        let e = Engine::open(&dd, o).await.unwrap();
        assert!(e.recovery().removed_blank_segment);
        assert_eq!(e.group_state(0).last.unwrap().0, 201);
        // Enough data to rotate into a new segment.
        let big = Entry {
            index: 202,
            term: 1,
            payload: Bytes::from(vec![7u8; 20 << 10]),
        };
        e.append(0, [big]).await.unwrap();
        e.append(0, [entry(0, 203, 1)]).await.unwrap();
        e.close().await.unwrap();
    });
    assert!(
        std::fs::metadata(&blank).is_ok(),
        "the next segment is created again"
    );
}

/// Writes a segment by hand, following the format documented in the crate docs.
/// A record as `(kind, group, term, index, payload)`.
type DocRecord<'a> = (u8, u32, u64, u64, &'a [u8]);

fn doc_segment(seq: u64, batches: &[Vec<DocRecord<'_>>]) -> Vec<u8> {
    let crc = crc32c::crc32c;
    let mut f = vec![0u8; 4096];
    f[0..8].copy_from_slice(b"SKVRAFTL");
    f[8..12].copy_from_slice(&1u32.to_le_bytes());
    f[12..16].copy_from_slice(&4096u32.to_le_bytes());
    f[16..24].copy_from_slice(&seq.to_le_bytes());
    let c = crc(&f[0..28]);
    f[28..32].copy_from_slice(&c.to_le_bytes());
    for b in batches {
        let mut body = Vec::new();
        for &(kind, group, term, index, payload) in b {
            let mut r = vec![0u8; 32];
            r[4..8].copy_from_slice(&(payload.len() as u32).to_le_bytes());
            r[8] = kind;
            r[12..16].copy_from_slice(&group.to_le_bytes());
            r[16..24].copy_from_slice(&term.to_le_bytes());
            r[24..32].copy_from_slice(&index.to_le_bytes());
            r.extend_from_slice(payload);
            let c = crc(&r[4..]);
            r[0..4].copy_from_slice(&c.to_le_bytes());
            body.extend_from_slice(&r);
        }
        let mut h = vec![0u8; 16];
        h[0..4].copy_from_slice(b"RLB1");
        h[4..8].copy_from_slice(&(body.len() as u32).to_le_bytes());
        h[8..12].copy_from_slice(&(b.len() as u32).to_le_bytes());
        // The header checksum covers segment sequence and batch offset, then bytes 0..12.
        let mut covered = seq.to_le_bytes().to_vec();
        covered.extend_from_slice(&(f.len() as u64).to_le_bytes());
        covered.extend_from_slice(&h[0..12]);
        let c = crc(&covered);
        h[12..16].copy_from_slice(&c.to_le_bytes());
        f.extend_from_slice(&h);
        f.extend_from_slice(&body);
        while f.len() & 7 != 0 {
            f.push(0);
        }
    }
    f
}

#[test]
fn documented_format_is_what_the_engine_reads() {
    let d = tempfile::tempdir().unwrap();
    let seg = doc_segment(
        1,
        &[
            vec![
                (1, 3, 2, 10, b"ten"),
                (1, 3, 2, 11, b"eleven"),
                (4, 3, 0, 0, b"vote"),
            ],
            vec![
                (1, 4, 1, 1, b"one"),
                (3, 3, 2, 10, b"purged-10"),
                (5, 4, 0, 0, b"c"),
            ],
            vec![
                (1, 3, 3, 12, b"twelve"),
                (2, 3, 0, 12, b""),
                (1, 3, 4, 12, b"TWELVE"),
                (6, 3, 0, 0, b"a"),
            ],
            vec![(1, 5, 1, 1, b"x"), (7, 5, 0, 0, b"")],
        ],
    );
    std::fs::write(d.path().join("00000000000000000001.seg"), &seg).unwrap();
    let path = d.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, opts()).await.unwrap();
        assert_eq!(e.groups(), vec![3, 4]);
        let g3 = e.group_state(3);
        assert_eq!(g3.vote.as_deref(), Some(&b"vote"[..]));
        assert_eq!(g3.applied.as_deref(), Some(&b"a"[..]));
        let p = g3.purged.unwrap();
        assert_eq!(
            (p.index, p.term, p.marker.as_ref()),
            (10, 2, &b"purged-10"[..])
        );
        let got = e.read(3, 0..100).await.unwrap();
        let want = [(11, 2, &b"eleven"[..]), (12, 4, &b"TWELVE"[..])];
        assert_eq!(got.len(), 2);
        for (g, (i, t, p)) in got.iter().zip(want) {
            assert_eq!((g.index, g.term, g.payload.as_ref()), (i, t, p));
        }
        assert_eq!(e.group_state(4).committed.as_deref(), Some(&b"c"[..]));
        assert_eq!(
            e.read(4, 0..10).await.unwrap()[0].payload,
            Bytes::from_static(b"one")
        );
        e.close().await.unwrap();
    });

    // Records that contradict each other (a gap in a group's log) are corruption.
    let d = tempfile::tempdir().unwrap();
    let seg = doc_segment(
        1,
        &[
            vec![(1, 3, 1, 1, b"a"), (1, 3, 1, 2, b"b")],
            vec![(1, 3, 1, 5, b"gap")],
        ],
    );
    std::fs::write(d.path().join("00000000000000000001.seg"), &seg).unwrap();
    let (_, offset) = open_expect_corrupt(d.path(), "gap");
    assert!(offset > 4096);
}

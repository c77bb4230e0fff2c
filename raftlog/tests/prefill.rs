//! Prefilled spare segments (`EngineOptions::prefill`): a new log's first segment and every later
//! one are zero-filled ahead of need, so batches are written into written blocks, not unwritten
//! extents; a rotation without a ready spare falls back to create + fallocate; a spare left by a
//! crash is removed at open and never read as log data.
//!
//! Extents are checked with the FIEMAP ioctl (what `filefrag -v` shows). The control case (prefill
//! off, fallocate on) must show unwritten extents, so the check is known to see them; on a file
//! system without FIEMAP the extent checks are skipped with a message.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{entry, run, seg_path, snapshot};
use raftlog::{Engine, EngineOptions};

const SPARE: &str = "spare.tmp";
const SEG: u64 = 256 << 10;

fn opts() -> EngineOptions {
    EngineOptions {
        segment_size: SEG,
        ..EngineOptions::default()
    }
}

/// Bytes of `path` in written and in unwritten extents, from FIEMAP; `None` if the file system
/// does not support it.
fn extents(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::io::AsRawFd;

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Extent {
        logical: u64,
        physical: u64,
        length: u64,
        reserved64: [u64; 2],
        flags: u32,
        reserved: [u32; 3],
    }
    #[repr(C)]
    struct Map {
        start: u64,
        length: u64,
        flags: u32,
        mapped: u32,
        count: u32,
        reserved: u32,
        extents: [Extent; 32],
    }
    const FS_IOC_FIEMAP: libc::c_ulong = 0xC020_660B;
    const FIEMAP_FLAG_SYNC: u32 = 1;
    const EXTENT_LAST: u32 = 1;
    const EXTENT_UNWRITTEN: u32 = 0x800;

    let f = std::fs::File::open(path).unwrap();
    let (mut written, mut unwritten) = (0, 0);
    let mut start = 0u64;
    loop {
        let mut m = Map {
            start,
            length: u64::MAX - start,
            flags: FIEMAP_FLAG_SYNC,
            mapped: 0,
            count: 32,
            reserved: 0,
            extents: [Extent::default(); 32],
        };
        // SAFETY: FS_IOC_FIEMAP fills the `Map` we own, with at most `count` extents.
        let rc = unsafe { libc::ioctl(f.as_raw_fd(), FS_IOC_FIEMAP, &mut m as *mut Map) };
        if rc != 0 {
            eprintln!(
                "FIEMAP not available on {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            );
            return None;
        }
        if m.mapped == 0 {
            return Some((written, unwritten));
        }
        for e in &m.extents[..m.mapped as usize] {
            if e.flags & EXTENT_UNWRITTEN != 0 {
                unwritten += e.length;
            } else {
                written += e.length;
            }
            start = e.logical + e.length;
            if e.flags & EXTENT_LAST != 0 {
                return Some((written, unwritten));
            }
        }
    }
}

/// Asserts that every block of `path` is written (no unwritten extent, no hole).
fn assert_all_written(path: &Path) {
    let len = std::fs::metadata(path).unwrap().len();
    if let Some((written, unwritten)) = extents(path) {
        assert_eq!(unwritten, 0, "{}: unwritten extents", path.display());
        assert!(written >= len, "{}: {written} of {len}", path.display());
    }
}

/// Appends 8-entry batches to group 1 until `done` holds for the engine; returns the next index.
async fn append_until(e: &Engine, mut next: u64, done: impl Fn(&Engine) -> bool) -> u64 {
    while !done(e) {
        e.append(1, (next..next + 8).map(|i| entry(1, i, 1)))
            .await
            .unwrap();
        next += 8;
    }
    next
}

async fn wait_prepared(e: &Engine, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while e.stats().spares_prepared < n {
        assert!(
            Instant::now() < deadline,
            "spare not ready: {:?}",
            e.stats()
        );
        glommio::timer::sleep(Duration::from_millis(1)).await;
    }
}

#[test]
fn new_log_and_rotations_use_prefilled_spares() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let before = run(move || async move {
        let e = Engine::open(&path, opts()).await.unwrap();
        // A new log's first segment is fallocated: opening prepares nothing.
        assert_eq!(e.stats().spares_prepared, 0);
        assert!(!path.join(SPARE).exists());
        let next = append_until(&e, 1, |e| e.log_end().0 == 1).await;
        let s = e.stats();
        assert_eq!(
            (s.segments_created, s.spares_used, s.spare_misses),
            (1, 0, 0)
        );
        // Past half of it (or its first MiB) its replacement is prepared in the background, and
        // the log moves to it at once, before segment 1 is full.
        let next = append_until(&e, next, |e| e.log_end().1 >= SEG / 2).await;
        wait_prepared(&e, 1).await;
        let (before, left_at) = (next, e.log_end().1);
        let next = append_until(&e, next, |e| e.log_end().0 == 2).await;
        let s = e.stats();
        assert_eq!(
            (s.segments_created, s.spares_used, s.spare_misses),
            (2, 1, 0)
        );
        // The flush after the spare is ready asks for the move, the next batch makes it: at most two
        // batches (of 8 entries) later, far from segment 1's end.
        assert!(
            next - before <= 16 && left_at < SEG / 2 + SEG / 4,
            "segment 1 was not left early: {} batches after the spare, at offset {left_at}",
            (next - before) / 8
        );
        assert_eq!(std::fs::metadata(seg_path(&path, 2)).unwrap().len(), SEG);
        assert_all_written(&seg_path(&path, 2));

        // A prefilled segment gets its successor prepared past its half, and is filled up.
        let next = append_until(&e, next, |e| e.log_end().1 >= SEG / 2).await;
        wait_prepared(&e, 2).await;
        assert!(path.join(SPARE).exists());
        append_until(&e, next, |e| e.log_end().0 == 3).await;
        e.sync().await.unwrap();
        let s = e.stats();
        assert_eq!(
            (s.segments_created, s.spares_used, s.spare_misses),
            (3, 2, 0)
        );
        assert_all_written(&seg_path(&path, 3));
        let snap = snapshot(&e).await;
        e.close().await.unwrap();
        assert!(!path.join(SPARE).exists(), "close removes a ready spare");
        snap
    });
    let path = dir.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, opts()).await.unwrap();
        assert!(!e.recovery().removed_spare);
        assert_eq!(snapshot(&e).await, before);
        // Opening prepares nothing.
        assert_eq!(e.stats().spares_prepared, 0);
        e.close().await.unwrap();
    });
}

#[test]
fn without_prefill_segments_are_fallocated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let o = EngineOptions {
            prefill: false,
            ..opts()
        };
        let e = Engine::open(&path, o).await.unwrap();
        append_until(&e, 1, |e| e.log_end().0 == 2).await;
        let s = e.stats();
        assert_eq!(
            (s.spares_prepared, s.spares_used, s.spare_misses),
            (0, 0, 0)
        );
        assert!(!path.join(SPARE).exists());
        e.close().await.unwrap();
        // The control for `assert_all_written`: fallocated space shows as unwritten extents.
        if let Some((_, unwritten)) = extents(&seg_path(&path, 2)) {
            assert!(unwritten > 0, "segment 2 should have unwritten extents");
        }
    });
}

#[test]
fn a_failed_spare_falls_back_to_fallocate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let before = run(move || async move {
        let e = Engine::open(&path, opts()).await.unwrap();
        let next = append_until(&e, 1, |e| e.log_end().0 == 1).await;
        // A directory in the spare's place: every later preparation fails.
        std::fs::create_dir(path.join(SPARE)).unwrap();
        let next = append_until(&e, next, |e| e.log_end().0 == 2).await;
        append_until(&e, next, |e| e.log_end().0 == 3).await;
        e.sync().await.unwrap();
        let s = e.stats();
        assert_eq!(
            (
                s.segments_created,
                s.spares_used,
                s.spare_misses,
                s.spares_prepared
            ),
            (3, 0, 2, 0),
            "{s:?}"
        );
        let snap = snapshot(&e).await;
        e.close().await.unwrap();
        std::fs::remove_dir(path.join(SPARE)).unwrap();
        snap
    });
    let path = dir.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, opts()).await.unwrap();
        assert_eq!(snapshot(&e).await, before);
        e.close().await.unwrap();
    });
}

#[test]
fn a_leftover_spare_is_removed_at_open_and_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let before = run(move || async move {
        let e = Engine::open(&path, opts()).await.unwrap();
        append_until(&e, 1, |e| e.log_end().0 == 2).await;
        let snap = snapshot(&e).await;
        e.close().await.unwrap();
        snap
    });
    // What a crash can leave: a half-filled spare. Make it as misleading as possible: the first
    // half is a copy of segment 2 (a valid header and batches), the rest zeros.
    let seg2 = std::fs::read(seg_path(dir.path(), 2)).unwrap();
    let mut spare = vec![0u8; SEG as usize];
    spare[..SEG as usize / 2].copy_from_slice(&seg2[..SEG as usize / 2]);
    std::fs::write(dir.path().join(SPARE), &spare).unwrap();

    let path = dir.path().to_path_buf();
    run(move || async move {
        let e = Engine::open(&path, opts()).await.unwrap();
        assert!(e.recovery().removed_spare, "{:?}", e.recovery());
        assert_eq!(e.recovery().segments, 2);
        assert_eq!(snapshot(&e).await, before);
        // Segment 2 is below half full: nothing is being prepared, the leftover is simply gone.
        assert!(e.log_end().1 < SEG / 2);
        assert!(!path.join(SPARE).exists());
        // The log goes on, into a fresh spare at the next rotation.
        let next = before[&1].1.last().unwrap().index + 1;
        let next = append_until(&e, next, |e| e.log_end().1 >= SEG / 2).await;
        wait_prepared(&e, 1).await;
        append_until(&e, next, |e| e.log_end().0 == 3).await;
        assert_eq!(e.stats().spares_used, 1);
        e.close().await.unwrap();
    });
}

//! Segment files: names, listing, creation and the directory lock.
//!
//! A segment is named by its sequence number (`00000000000000000042.seg`), so a directory listing
//! sorted by name is the log in order. Segments are created only by the flusher, one at a time,
//! after every earlier batch is durable; and deleted only from the front. Both creation and
//! deletion are followed by an fsync of the directory, so after a crash the set of segments on
//! disk is always a contiguous range: a gap is corruption, not something to skip.
//!
//! A new segment gets its header written and synced *before* any batch goes into it. A crash
//! during creation can therefore leave only an empty or blank file (no acknowledged data), which
//! recovery removes; a damaged header on a segment that has data is reported as corruption.
//!
//! A segment is normally made from a *spare* (see `spare`): a file already zero-filled to the
//! rotation size, so batch writes are overwrites of written blocks. [`install`] gives it its header
//! (written and synced) and then renames it to the segment's name, so it also appears complete.
//! Without a ready spare, [`create`] makes the file and pre-allocates it (`fallocate`) to the
//! rotation size, so the group-commit writes that follow do not extend the file and each
//! fdatasync has less metadata to commit. Either way the space after the last batch reads as
//! zeros, which is what recovery expects there.
//!
//! Listing the directory, taking the lock, writing a new segment's header block, renaming and
//! unlinking use plain blocking system calls, deliberately: they are metadata operations that happen at
//! startup or once per segment (every 64 MiB by default), and glommio offers no io_uring unlink.
//! Everything on the data path (batch writes, fdatasync, reads) goes through io_uring.

use std::fs::File;
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use glommio::io::{Directory, DmaFile, OpenOptions};

use crate::error::EngineError;
use crate::format::{fill_segment_header_block, SEGMENT_HEADER_LEN};
use crate::spare::Spare;

const SUFFIX: &str = ".seg";
const LOCK_FILE: &str = "LOCK";

/// Bytes written through the page cache into a new file before it is opened with O_DIRECT (see
/// [`create`]).
pub(crate) const FIRST_BLOCK: usize = SEGMENT_HEADER_LEN as usize;

/// File name of segment `seq`.
pub(crate) fn file_name(seq: u64) -> String {
    format!("{seq:020}{SUFFIX}")
}

/// Sequence number of a segment file name, if it is one.
pub(crate) fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Segments in `dir`, sorted by sequence number. Fails if one is missing in the middle.
pub(crate) fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, EngineError> {
    let rd = std::fs::read_dir(dir).map_err(|e| EngineError::io("list", dir, e))?;
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| EngineError::io("list", dir, e))?;
        let name = ent.file_name();
        if let Some(seq) = name.to_str().and_then(parse_name) {
            out.push((seq, ent.path()));
        }
    }
    out.sort_unstable_by_key(|(s, _)| *s);
    for w in out.windows(2) {
        if w[1].0 != w[0].0 + 1 {
            return Err(EngineError::MissingSegment {
                dir: dir.to_path_buf(),
                missing: w[0].0 + 1,
            });
        }
    }
    Ok(out)
}

/// Takes an exclusive `flock` on `dir/LOCK`; held for as long as the returned file is open.
pub(crate) fn lock(dir: &Path) -> Result<File, EngineError> {
    let path = dir.join(LOCK_FILE);
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| EngineError::io("open", &path, e))?;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Err(EngineError::Locked {
                dir: dir.to_path_buf(),
            });
        }
        return Err(EngineError::io("lock", &path, err));
    }
    Ok(f)
}

/// Opens an existing segment for reading and writing (O_DIRECT).
pub(crate) async fn open(path: &Path) -> Result<DmaFile, EngineError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .dma_open(path)
        .await
        .map_err(|e| EngineError::io("open", path, e))
}

/// The write alignment used for a file: at least 4 KiB, the common page and sector size.
pub(crate) fn alignment(file: &DmaFile) -> u64 {
    file.alignment().max(4096)
}

/// Creates segment `seq`: header block written and synced, space pre-allocated, directory synced.
pub(crate) async fn create(
    dir: &Directory,
    dir_path: &Path,
    seq: u64,
    preallocate: u64,
) -> Result<Rc<DmaFile>, EngineError> {
    let path = dir_path.join(file_name(seq));
    // The header goes in through the page cache *before* the O_DIRECT open (it is made durable
    // by the fdatasync below, which covers the whole inode). glommio probes io_uring polling
    // support with a read of the first block the first time a device is opened, and caches the
    // answer for the whole process; probing an empty file "succeeds" without any device I/O and
    // would send every later read to the poll ring, where it fails with EOPNOTSUPP on devices
    // without polling. So no file is ever opened with O_DIRECT while it is empty.
    {
        let mut block = vec![0u8; FIRST_BLOCK];
        fill_segment_header_block(&mut block, seq);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| EngineError::io("create", &path, e))?;
        f.write_all(&block)
            .map_err(|e| EngineError::io("write", &path, e))?;
    }
    let file = open(&path).await?;
    if preallocate > SEGMENT_HEADER_LEN {
        file.pre_allocate(preallocate, false)
            .await
            .map_err(|e| EngineError::io("fallocate", &path, e))?;
    }
    file.fdatasync()
        .await
        .map_err(|e| EngineError::io("fdatasync", &path, e))?;
    dir.sync()
        .await
        .map_err(|e| EngineError::io("fsync", dir_path, e))?;
    Ok(Rc::new(file))
}

/// Turns a prepared spare (zero-filled and synced) into segment `seq`: header block written and
/// synced, file renamed to the segment's name, directory synced. Until the rename the file is
/// not part of the log; after it, it is a valid empty segment (see `spare` for the crash cases).
pub(crate) async fn install(
    dir: &Directory,
    dir_path: &Path,
    seq: u64,
    spare: Spare,
) -> Result<Rc<DmaFile>, EngineError> {
    let Spare {
        file, path: from, ..
    } = spare;
    let to = dir_path.join(file_name(seq));
    let align = alignment(&file);
    let mut buf = file.alloc_dma_buffer(align as usize);
    fill_segment_header_block(buf.as_bytes_mut(), seq);
    let n = file
        .write_at(buf, 0)
        .await
        .map_err(|e| EngineError::io("write", &from, e))?;
    EngineError::check_write(&from, n as u64, align)?;
    file.fdatasync()
        .await
        .map_err(|e| EngineError::io("fdatasync", &from, e))?;
    rename_noreplace(&from, &to)?;
    dir.sync()
        .await
        .map_err(|e| EngineError::io("fsync", dir_path, e))?;
    Ok(Rc::new(file))
}

/// Renames `from` to `to`, failing if `to` exists: a segment file is never replaced. Falls back
/// to link + unlink (also atomic for the target name) on file systems without
/// `RENAME_NOREPLACE`; a crash between the two leaves a second name of the spare, which is
/// removed at open like any leftover spare.
fn rename_noreplace(from: &Path, to: &Path) -> Result<(), EngineError> {
    use std::os::unix::ffi::OsStrExt;
    let cstr = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|e| {
            EngineError::io(
                "rename",
                p,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
            )
        })
    };
    let (f, t) = (cstr(from)?, cstr(to)?);
    // SAFETY: two valid NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::EINVAL) {
        return Err(EngineError::io("rename", from, err));
    }
    std::fs::hard_link(from, to).map_err(|e| EngineError::io("link", to, e))?;
    std::fs::remove_file(from).map_err(|e| EngineError::io("remove", from, e))
}

/// Deletes a segment file and syncs the directory, so deletions are durable in order.
pub(crate) async fn remove(
    dir: &Directory,
    dir_path: &Path,
    path: &Path,
) -> Result<(), EngineError> {
    std::fs::remove_file(path).map_err(|e| EngineError::io("remove", path, e))?;
    dir.sync()
        .await
        .map_err(|e| EngineError::io("fsync", dir_path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roundtrip() {
        assert_eq!(file_name(42), "00000000000000000042.seg");
        assert_eq!(parse_name(&file_name(42)), Some(42));
        assert_eq!(parse_name(&file_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_name("42.seg"), None);
        assert_eq!(parse_name("0000000000000000004x.seg"), None);
        assert_eq!(parse_name("LOCK"), None);
    }

    #[test]
    fn gap_is_an_error_and_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        for s in [3u64, 4, 6] {
            std::fs::write(dir.path().join(file_name(s)), b"").unwrap();
        }
        match list(dir.path()) {
            Err(EngineError::MissingSegment { missing, .. }) => assert_eq!(missing, 5),
            other => panic!("{other:?}"),
        }
        let _held = lock(dir.path()).unwrap();
        assert!(matches!(lock(dir.path()), Err(EngineError::Locked { .. })));
    }
}

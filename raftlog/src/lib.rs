//! raftlog: the Raft log engine of one slotkv core, and the glue that runs openraft on glommio.
//!
//! - [`rt`]: openraft's `AsyncRuntime` implemented on glommio (single-threaded: one executor per
//!   core, no tokio on the data path).
//! - [`Engine`]: one segmented, append-only log per core holding the logs of **all** Raft groups
//!   of that core, written with O_DIRECT through glommio's io_uring.
//! - [`LogStore`]: openraft's `RaftLogStorage` for one group over a shared [`Engine`].
//! - [`groups`]: the openraft `Config` of slotkv's slot groups (no periodic timers) and
//!   [`groups::SoloGroups`], which starts many single-member groups on one core.
//!
//! # Why one log per core
//!
//! A core hosts hundreds of Raft groups (slotkv slots). A log per group would mean an fsync per
//! group per write; with one log, the flusher writes whatever every group appended while the
//! previous fsync was in flight and makes it durable with **one** fdatasync (group commit, see
//! the `flush` module). A durable 4 KiB write costs ~160 µs on our disks, so this is
//! what makes durable writes fast. The engine runs on one glommio executor and is not shared
//! across threads: `Rc`/`RefCell`, no locks.
//!
//! # Map of the crate
//!
//! | module | job |
//! |---|---|
//! | `format` | every on-disk byte layout, checksums |
//! | `engine` | the public API: open, append, read, truncate, purge, markers, fsync |
//! | `options` | options (including the sync mode) and counters |
//! | `state` | staging records into the pending batch; the in-memory state |
//! | `group` | one group's index (log index -> disk location), markers, cached payload suffix |
//! | `cache` | the memory budget for cached payloads, shared by all groups |
//! | `flush` | the flusher task: one write (+ one fdatasync) per batch; explicit fsyncs; tickets |
//! | `read` | reads of one group, or of many in log order: cache first, coalesced verified disk reads for misses |
//! | `recovery` | replaying segments on open; torn tails vs corruption |
//! | `segment` | segment files: names, creation, deletion, directory lock |
//! | `spare` | the next segment file, zero-filled in the background ahead of need |
//! | `store` | the openraft adapter |
//! | `groups` | slot-group config; starting single-member groups without timers |
//! | `rt` | openraft's runtime on glommio |
//!
//! # Operations and their durability
//!
//! | call | visible to reads | durable |
//! |---|---|---|
//! | [`Engine::append`] | at once | when it returns |
//! | [`Engine::append_staged`] | when it returns | when the [`Durable`] resolves |
//! | [`Engine::save_vote`], [`Engine::save_committed`], [`Engine::save_marker`] | at once | when it returns |
//! | [`Engine::truncate`], [`Engine::purge`], [`Engine::remove_group`] | when it returns | with the ticket, or with anything staged later |
//! | [`Engine::fsync`] | - | everything staged before it is on stable storage when it returns |
//!
//! Records are written in the order they were staged and batches become durable in order, so a
//! durable record implies every earlier one is durable (openraft's "write IO must be
//! serialized").
//!
//! "Durable" depends on [`EngineOptions::sync_each_batch`]. With it (the default) a batch is
//! durable once its fdatasync returned: it survives a power loss. Without it, once its write
//! completed: it survives a crash or `kill -9` of the process, but may sit in the device's
//! volatile cache until [`Engine::fsync`] (or a segment rotation, a segment deletion, or
//! close) syncs it. That is how a server offers `fsync always | everysec | no`: `always` keeps
//! the default; `everysec` turns it off and calls [`Engine::fsync`] every second; `no` turns
//! it off and leaves syncing to rotation and close. Every batch is still one O_DIRECT write,
//! one in flight, in order, in both modes. [`Durable::batch`], [`Engine::wait_batch`] and
//! [`Engine::durable_batch`] expose the batch numbers, so a caller can wait for the highest
//! batch a reply depends on.
//!
//! # On-disk format (version 1)
//!
//! A log directory holds `LOCK` (an `flock` so two engines never share a directory), segment
//! files `NNNNNNNNNNNNNNNNNNNN.seg` (20-digit sequence number, consecutive), and at times
//! `spare.tmp`: the next segment file being zero-filled ahead of need
//! ([`EngineOptions::prefill`]). A spare is not part of the log: it holds no data, recovery
//! deletes it, and it becomes a segment only by being renamed after its header and zeros are
//! synced. All integers are little-endian; checksums are CRC-32C.
//!
//! **Segment** = a 4096-byte header block, then batches. Header (rest of the block is zero):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `SKVRAFTL` |
//! | 8 | 4 | format version (1) |
//! | 12 | 4 | header block length (4096) |
//! | 16 | 8 | segment sequence number (equals the file name) |
//! | 24 | 4 | reserved, 0 |
//! | 28 | 4 | crc32c of bytes 0..28 |
//!
//! **Batch** = what one group-commit write added; starts at an 8-byte aligned offset (the bytes
//! between batches are zero). Header, 16 bytes:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `RLB1` |
//! | 4 | 4 | body length in bytes (the records that follow) |
//! | 8 | 4 | number of records |
//! | 12 | 4 | crc32c of (segment sequence as u64, batch offset in the file as u64, bytes 0..12) |
//!
//! A batch is valid only if its header checksum holds and its body is exactly `count` valid
//! records. The header checksum binds a batch to its place: a batch-shaped byte string inside a
//! payload, or a stale copy, never validates anywhere else. After the last batch, a segment holds
//! zeros: written zeros if it was made from a prefilled spare, unwritten (`fallocate`d) space or
//! the end of the file otherwise; all three read the same to recovery.
//!
//! **Record**, 32-byte header then the payload:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | crc32c of bytes 4..(32 + payload length) |
//! | 4 | 4 | payload length (at most 1 GiB) |
//! | 8 | 1 | kind: 1 entry, 2 truncate, 3 purge, 4 vote, 5 committed, 6 applied, 7 remove group, 8 sync mark |
//! | 9 | 3 | reserved, 0 |
//! | 12 | 4 | group id |
//! | 16 | 8 | term (entry, purge); sync mark: the segment; else 0 |
//! | 24 | 8 | index: the entry's index; truncate: first index removed; purge: last index removed; sync mark: bytes of that segment fdatasynced |
//! | 32 | n | payload: the entry; the vote/marker value; purge: the caller's purge marker |
//!
//! **Replay** applies records in log order: an entry must follow its group's last entry (or, in
//! an empty log, lie above the purge point); truncate drops a suffix; purge drops a prefix and
//! sets the purge point; markers take the latest value; remove-group forgets the group.
//!
//! **Reclaiming space.** A segment is deleted once it is older than the segment being written and
//! every group with entries in it has purged past them. Before deleting, every marker (vote,
//! committed, applied, purge point) whose latest record lives in a segment being deleted is
//! written again at the log's end and made durable, so no state lives only in a deleted file.
//! Segments are deleted oldest first with a directory fsync after each, so the surviving
//! segments are always a contiguous range.
//!
//! **Recovery** (see `recovery`): a leftover `spare.tmp` is deleted, whatever a crash left in it
//! (a spare is renamed into the log only once complete, so the log never depends on one); a bad
//! or torn batch at the end of the last segment, with
//! nothing valid after it, is the write that was in flight at the crash and is cut off; a bad
//! batch followed by a valid one, garbage after the end of an older segment, a missing segment,
//! or records that contradict each other are reported as [`EngineError::Corrupt`] /
//! [`EngineError::MissingSegment`]; nothing is ever skipped silently.
//!
//! That strict rule is sound for logs that were always fsynced per batch: a device then never
//! holds a batch without every earlier one, so a hole before valid data can only be damage to
//! acknowledged data, and opening anyway would silently lose it. It is **not** sound for logs
//! written with `sync_each_batch = false`: after a power loss the device may have kept a later
//! unsynced write and lost an earlier one (or a torn write may sit before a complete one), so a
//! hole followed by valid batches is an expected outcome, and strict recovery would refuse to
//! open such a log. [`EngineOptions::tolerate_unsynced_tail`] is for those logs: the first
//! invalid batch of the last segment ends the log. It and everything after it are cut off
//! (logged, and counted in [`RecoveryReport`]'s `dropped_*` fields), and the engine opens with
//! the valid prefix. Real corruption of the last segment's *unsynced* part is also "repaired"
//! by cutting instead of being reported, taking every later batch with it; that is the accepted
//! cost of not syncing each batch. What an fdatasync covered is not cut: after each sync
//! ([`Engine::fsync`]) the next batch of that segment starts with a *sync mark* (segment, bytes
//! synced), and damage below a mark found among the valid batches after it is
//! [`EngineError::Corrupt`] in both modes (a lost write cannot explain it). Sealed segments are always synced before the next one is
//! created, so damage in one cannot come from a lost unsynced write: it is reported as
//! corruption in both modes. A log written with
//! `sync_each_batch = false` and opened strictly is still safe after a process crash (one write
//! in flight, only the last batch can be torn); only a power loss needs the tolerant mode.
//!
//! # Example
//!
//! ```no_run
//! use bytes::Bytes;
//! use raftlog::{Engine, EngineOptions, Entry};
//!
//! glommio::LocalExecutor::default().run(async {
//!     let log = Engine::open("/var/lib/slotkv/raftlog/core0", EngineOptions::default()).await?;
//!     let e = Entry { index: 1, term: 1, payload: Bytes::from_static(b"set k v") };
//!     log.append(7, [e]).await?; // durable: group 7's entry 1
//!     log.save_vote(7, Bytes::from_static(b"term 1, voted for node 2")).await?;
//!     let back = log.read(7, 1..2).await?;
//!     assert_eq!(back[0].payload, Bytes::from_static(b"set k v"));
//!     println!("records per fsync: {:.1}", log.stats().records_per_fsync());
//!     log.close().await
//! })
//! .unwrap();
//! ```

mod cache;
mod engine;
mod error;
mod flush;
mod format;
mod group;
pub mod groups;
mod options;
mod read;
mod recovery;
pub mod rt;
mod segment;
mod spare;
mod state;
mod store;

pub use engine::{Engine, Entry, GroupId, GroupState};
pub use error::{EngineError, ReadManyError};
pub use flush::Durable;
pub use group::{MarkerKind, Purged};
pub use options::{EngineOptions, EngineStats};
pub use recovery::RecoveryReport;
pub use store::LogStore;

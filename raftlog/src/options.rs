//! The engine's tunables ([`EngineOptions`]) and counters ([`EngineStats`]).
//!
//! Two options decide what "durable" costs and promises, and they come as a pair:
//!
//! - `sync_each_batch` (default true): every group-commit batch gets its own `fdatasync` before
//!   its tickets resolve, so an acknowledged record survives a power loss. Turned off, a batch is
//!   acknowledged once its O_DIRECT write completes: the data is in the device (survives a crash
//!   or `kill -9` of the process) but maybe only in its volatile cache until the next
//!   [`crate::Engine::fsync`]. That is what a server's `fsync everysec` / `fsync no` means.
//! - `tolerate_unsynced_tail` (default false): how recovery treats a damaged batch that valid
//!   data follows. Without an fsync per batch, a power loss can keep a later write and lose an
//!   earlier one, so such a hole is an expected outcome, not proof of corruption; with this set,
//!   recovery cuts the log at the hole instead of refusing to open (see the crate docs,
//!   "Recovery").
//!
//! The counters distinguish **batches** (O_DIRECT writes, one per group commit) from **fsyncs**
//! (real `fdatasync` calls that made written batches stable). With `sync_each_batch` they are
//! equal; without it, fsyncs come only from [`crate::Engine::fsync`], segment rotation, segment
//! deletion and close.

use glommio::TaskQueueHandle;

use crate::error::EngineError;
use crate::format::SEGMENT_HEADER_LEN;

/// Tunables of an engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// A new segment is started once the current one reaches this size (bytes). Smaller segments
    /// are reclaimed sooner after a purge; larger ones mean fewer files and fewer rotations (each
    /// costs two extra fsyncs, three without `sync_each_batch`). Default 64 MiB.
    pub segment_size: u64,
    /// Budget for payloads kept in memory for reads (bytes), shared by all groups. Default 64 MiB.
    /// 0 keeps no payloads at all: a read first waits until every batch staged before it is
    /// written, then reads the segments. For logs that are not read back while running
    /// (single-member groups, whose log is only read at start-up), it saves the caching work of
    /// every append.
    pub cache_bytes: usize,
    /// Pre-allocate (`fallocate`) each segment to `segment_size` when it is created without a
    /// prefilled spare (`prefill` off, or no spare ready at a rotation), and again after recovery
    /// cut a torn tail. Default true.
    pub preallocate: bool,
    /// Zero-fill the next segment file ahead of need, in the background, so batches are written
    /// into already-written blocks: on ext4 a write into `fallocate`d (unwritten) space costs an
    /// extent conversion and a hop to an io-wq thread on every batch (see the `spare` module;
    /// ~78 µs instead of ~126 µs per 8 KiB write + fdatasync here). A spare is prepared once the
    /// segment being written is half full (after its first MiB if that segment was not prefilled,
    /// e.g. a new log's first one, which is then left early for the spare). A rotation that finds no spare ready falls back to `preallocate`
    /// ([`EngineStats::spare_misses`]). Default true.
    pub prefill: bool,
    /// Task queue for zero-filling spares (default: a low-priority queue, `Latency::NotImportant`
    /// with 100 shares, created once per executor and shared by its engines).
    pub prefill_task_queue: Option<TaskQueueHandle>,
    /// Cache misses of one read that lie within this many bytes of each other in a segment are
    /// read with one I/O. For [`crate::Engine::read_in_log_order`], the largest gap between two
    /// misses bridged by one I/O. Default 256 KiB.
    pub read_coalesce_bytes: usize,
    /// Largest I/O of [`crate::Engine::read_in_log_order`] (bytes; a larger record gets an I/O of
    /// its own). Misses in one segment are merged into one read up to this size when the gap
    /// between them is at most `read_coalesce_bytes`. Two such reads may be in flight at once.
    /// Default 4 MiB.
    pub scan_read_bytes: usize,
    /// Task queue for the flusher task (default: the queue of the task that opens the engine).
    pub task_queue: Option<TaskQueueHandle>,
    /// `fdatasync` every batch before its tickets resolve (default true). When false, a batch is
    /// written through the page cache and is "durable" (tickets resolve, callbacks run) once the
    /// kernel has it: it survives a process
    /// crash but not necessarily a power loss, until [`crate::Engine::fsync`] (or a segment
    /// rotation, a segment deletion, or close) makes it stable. Logs written this way should be
    /// opened with `tolerate_unsynced_tail`.
    pub sync_each_batch: bool,
    /// On open, cut the log at the first damaged batch of its last segment (dropping every later
    /// batch) instead of reporting [`EngineError::Corrupt`] when valid batches follow it. Damage
    /// in an older (sealed, always synced) segment is corruption either way.
    /// Default false (strict). Meant for logs written with `sync_each_batch = false`, where losing
    /// the unsynced tail is the accepted cost; see the crate docs, "Recovery".
    pub tolerate_unsynced_tail: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            segment_size: 64 << 20,
            cache_bytes: 64 << 20,
            preallocate: true,
            prefill: true,
            prefill_task_queue: None,
            read_coalesce_bytes: 256 << 10,
            scan_read_bytes: 4 << 20,
            task_queue: None,
            sync_each_batch: true,
            tolerate_unsynced_tail: false,
        }
    }
}

impl EngineOptions {
    /// Rejects impossible combinations.
    pub fn validate(&self) -> Result<(), EngineError> {
        if self.segment_size < 2 * SEGMENT_HEADER_LEN || self.segment_size > (1 << 40) {
            return Err(EngineError::InvalidOption(format!(
                "segment_size {} is outside [{}, 2^40]",
                self.segment_size,
                2 * SEGMENT_HEADER_LEN
            )));
        }
        Ok(())
    }
}

/// Counters since the engine was opened.
///
/// `records / batches` is the average group-commit batch (what one write carried);
/// `records / fsyncs` is what one `fdatasync` made stable on average. They are the same number
/// with `sync_each_batch`; without it the second one shows how much an explicit fsync covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// `fdatasync` calls that made written batches stable: one per batch with `sync_each_batch`;
    /// otherwise one per [`crate::Engine::fsync`] that found unsynced data, plus one before each
    /// segment rotation, segment deletion and close that had unsynced data before it. (The syncs
    /// of a new segment's header and of the directory are not counted.)
    pub fsyncs: u64,
    /// Batches written: one O_DIRECT write each (group commits).
    pub batches: u64,
    /// Records written (entries and markers).
    pub records: u64,
    /// Entry records written.
    pub entries: u64,
    /// `append` calls whose entries were written.
    pub appends: u64,
    /// Record bytes written.
    pub bytes: u64,
    /// Bytes handed to `write` (records, batch headers, the rewritten partial block, padding).
    pub bytes_written: u64,
    /// Segments created.
    pub segments_created: u64,
    /// Segments deleted after a purge.
    pub segments_deleted: u64,
    /// Spare segment files zero-filled (with [`EngineOptions::prefill`]).
    pub spares_prepared: u64,
    /// Segments made from a prepared spare.
    pub spares_used: u64,
    /// Segments created with `prefill` on but no spare ready (created and pre-allocated instead).
    pub spare_misses: u64,
    /// Entries read from the in-memory cache.
    pub cache_hits: u64,
    /// Entries read from disk.
    pub disk_entries: u64,
    /// Read I/Os issued.
    pub disk_reads: u64,
    /// Bytes those read I/Os asked for (before rounding to the device's alignment).
    pub disk_bytes_read: u64,
}

fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

impl EngineStats {
    /// The counts since `earlier` (a snapshot of the same engine's counters).
    pub fn since(&self, earlier: &EngineStats) -> EngineStats {
        let d = |now: u64, then: u64| now.saturating_sub(then);
        EngineStats {
            fsyncs: d(self.fsyncs, earlier.fsyncs),
            batches: d(self.batches, earlier.batches),
            records: d(self.records, earlier.records),
            entries: d(self.entries, earlier.entries),
            appends: d(self.appends, earlier.appends),
            bytes: d(self.bytes, earlier.bytes),
            bytes_written: d(self.bytes_written, earlier.bytes_written),
            segments_created: d(self.segments_created, earlier.segments_created),
            segments_deleted: d(self.segments_deleted, earlier.segments_deleted),
            spares_prepared: d(self.spares_prepared, earlier.spares_prepared),
            spares_used: d(self.spares_used, earlier.spares_used),
            spare_misses: d(self.spare_misses, earlier.spare_misses),
            cache_hits: d(self.cache_hits, earlier.cache_hits),
            disk_entries: d(self.disk_entries, earlier.disk_entries),
            disk_reads: d(self.disk_reads, earlier.disk_reads),
            disk_bytes_read: d(self.disk_bytes_read, earlier.disk_bytes_read),
        }
    }

    /// Average records made stable per `fdatasync` (0 if none yet). With `sync_each_batch` this
    /// is the group-commit batch size; without it, records written per explicit or implicit
    /// fsync (records written since the last fsync are counted but not yet covered).
    pub fn records_per_fsync(&self) -> f64 {
        ratio(self.records, self.fsyncs)
    }

    /// Average `append` calls per `fdatasync` (0 if none yet); see [`Self::records_per_fsync`].
    pub fn appends_per_fsync(&self) -> f64 {
        ratio(self.appends, self.fsyncs)
    }

    /// Average records per batch write (0 if none yet): the group-commit batch size, whatever
    /// the sync mode.
    pub fn records_per_batch(&self) -> f64 {
        ratio(self.records, self.batches)
    }

    /// Average `append` calls per batch write (0 if none yet).
    pub fn appends_per_batch(&self) -> f64 {
        ratio(self.appends, self.batches)
    }
}

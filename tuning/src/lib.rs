//! RocksDB option sets for slotkv, and their validation.
//!
//! Every core of a slotkv node owns one RocksDB instance (see docs/architecture.md for why an instance per
//! core rather than column families in one shared instance). All of those instances are built from one
//! [`RocksConfig`], split evenly where a resource is a node-wide budget (block cache, write buffers), so an
//! operator reasons about the node as a whole and the per-core numbers follow.
//!
//! This crate knows RocksDB; the server's command code never does. The server asks for
//! [`RocksConfig::db_options`] and [`RocksConfig::cf_options`] and gets options ready to open with. Options
//! that RocksDB can change on a live instance are listed in [`RocksConfig::live_options`], which the server's
//! `CONFIG SET rocksdb.*` path uses (per core, live).
//!
//! The compaction auto-tuner (throttling compaction I/O so it never starves foreground writes, WTable's
//! phase-2 lesson) lives here too once it lands; today compaction is bounded by a fixed rate limiter.

use serde::{Deserialize, Serialize};

/// Length of the `slot · db · bucket` prefix every data key starts with (the server's key codec defines
/// it; the server asserts the two agree).
pub const DATA_PREFIX_LEN: usize = 4;

/// The data family's prefix extractor. The family holds, by the server's key codec (the byte after the
/// slot, in the database position, says which):
/// - data records, `slot · db · bucket · key` (db 0..=253): prefix `slot · db · bucket`, so the memtable
///   hashes each bucket of a slot into its own small skiplist;
/// - a slot's metadata, `slot · FE · db · deadline · key` (expire index) and `slot · FF · …` (key counts,
///   version counter): prefix `slot · FE` / `slot · FF`, one skiplist per slot, read in order across
///   databases;
/// - node metadata, `FF FF · name`: prefix `FF FF`.
///
/// Order-preserving, as RocksDB requires: the prefix length depends only on bytes the prefix contains.
pub fn data_prefix(key: &[u8]) -> &[u8] {
    &key[..data_prefix_len(key).min(key.len())]
}

fn data_prefix_len(key: &[u8]) -> usize {
    match key {
        [0xFF, 0xFF, ..] => 2,
        [_, _, db, ..] if *db >= 0xFE => 3,
        _ => DATA_PREFIX_LEN,
    }
}

fn data_prefix_in_domain(key: &[u8]) -> bool {
    key.len() >= data_prefix_len(key)
}

/// Length of every key of the raft column family (`slot · FF · FE`, one per slot).
pub const RAFT_KEY_LEN: usize = 4;

/// Locks RocksDB keeps for in-place memtable updates (it hashes a key to one). Each instance has one
/// writer and its readers are on the same thread, so there is no contention to spread; a small array
/// stays in cache, where the default 10,000 made the lock a cache miss on every write.
const INPLACE_UPDATE_LOCKS: usize = 16;

/// An overwrite no larger than the value it replaces rewrites its memtable entry instead of adding a
/// version. The entry keeps its old sequence number, so the server follows every range delete with a
/// memtable switch and starts every slot export with one (server/src/storage, `Store::switch_memtables`),
/// and such a family is never iterated backwards (RocksDB refuses it).
fn update_in_place(opts: &mut rocksdb::Options) {
    opts.set_inplace_update_support(true);
    opts.set_inplace_update_locks(INPLACE_UPDATE_LOCKS);
}

/// The server switches a column family to a new memtable once it holds this fraction (in quarters) of
/// `write-buffer-mb`, between two of its write steps (server/src/node.rs, the purger). A step can make
/// several RocksDB writes (EXEC, a multi-key command over slots of one core), and the switch RocksDB makes
/// itself when a memtable is full happens inside the next write — possibly in the middle of a step, so a
/// flush could persist part of one. RocksDB's own limit, the full `write-buffer-mb`, is the backstop.
pub const MEMTABLE_SWITCH_QUARTERS: u64 = 3;

/// Threads per RocksDB background pool, whatever `cores x max-background-jobs` asks for.
pub const MAX_POOL_THREADS: i32 = 256;

/// Background threads of a node, by RocksDB thread pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackgroundPools {
    /// Threads of the high-priority pool, which runs memtable flushes.
    pub flush: i32,
    /// Threads of the low-priority pool, which runs compactions.
    pub compaction: i32,
}

/// Errors found while validating a RocksDB configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TuningError {
    /// A value is outside the range RocksDB or slotkv can work with.
    #[error("rocksdb.{key}: {value} is out of range ({expected})")]
    OutOfRange {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A compression name RocksDB (as built here) does not know.
    #[error("rocksdb.compression: unknown compression '{0}' (expected none, lz4 or zstd)")]
    UnknownCompression(String),
    /// `CONFIG SET` named an option that cannot be changed on a running node.
    #[error("rocksdb option '{0}' cannot be changed while running")]
    NotLive(String),
    /// RocksDB's default environment could not be had.
    #[error("rocksdb environment: {0}")]
    Environment(String),
}

/// Compression applied to SST files below level 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compression {
    None,
    Lz4,
    Zstd,
}

impl Compression {
    fn to_rocks(self) -> rocksdb::DBCompressionType {
        match self {
            Compression::None => rocksdb::DBCompressionType::None,
            Compression::Lz4 => rocksdb::DBCompressionType::Lz4,
            Compression::Zstd => rocksdb::DBCompressionType::Zstd,
        }
    }

    /// Parses the name used in the config file and in `CONFIG SET`.
    pub fn parse(s: &str) -> Result<Self, TuningError> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Compression::None),
            "lz4" => Ok(Compression::Lz4),
            "zstd" => Ok(Compression::Zstd),
            _ => Err(TuningError::UnknownCompression(s.to_string())),
        }
    }

    /// The name used in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// The `[rocksdb]` section of the server configuration. Node-wide budgets are divided among cores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct RocksConfig {
    /// Block cache for the whole node, in MiB (split evenly among cores).
    pub block_cache_mb: u64,
    /// Memtable size limit per column family, in MiB (the server switches to a new memtable at
    /// [`MEMTABLE_SWITCH_QUARTERS`] quarters of it).
    pub write_buffer_mb: u64,
    /// Memtables per core before writes stall.
    pub max_write_buffer_number: i32,
    /// Background flush + compaction threads per core instance (RocksDB's split: a quarter, at least one,
    /// flush; the rest compact). The node starts `cores` times as many (at most [`MAX_POOL_THREADS`] per
    /// pool), shared by all its instances.
    pub max_background_jobs: i32,
    /// Run compactions at the lowest CPU priority (nice 19), so on a busy CPU they take only the time the
    /// cores' threads leave; flushes keep normal priority, since writes stall when they fall behind.
    pub low_priority_compaction: bool,
    /// Compaction and flush write rate for the whole node, MiB/s (0 = unlimited), split among cores.
    pub rate_limit_mb_per_sec: u64,
    /// Target SST file size at level 1, MiB.
    pub target_file_size_mb: u64,
    /// Size of level 1, MiB.
    pub max_bytes_for_level_base_mb: u64,
    /// Compression below level 1.
    pub compression: Compression,
    /// Bloom filter bits per key (0 disables the filter).
    pub bloom_bits_per_key: f64,
    /// Incrementally sync SST and WAL files every this many KiB written, to smooth I/O.
    pub bytes_per_sync_kb: u64,
}

impl Default for RocksConfig {
    fn default() -> Self {
        RocksConfig {
            block_cache_mb: 512,
            write_buffer_mb: 64,
            max_write_buffer_number: 4,
            max_background_jobs: 2,
            low_priority_compaction: true,
            rate_limit_mb_per_sec: 0,
            target_file_size_mb: 64,
            max_bytes_for_level_base_mb: 256,
            compression: Compression::Lz4,
            bloom_bits_per_key: 10.0,
            bytes_per_sync_kb: 1024,
        }
    }
}

fn range_err(key: &'static str, value: impl ToString, expected: &'static str) -> TuningError {
    TuningError::OutOfRange {
        key,
        value: value.to_string(),
        expected,
    }
}

impl RocksConfig {
    /// Rejects values RocksDB would refuse or that make no sense together.
    pub fn validate(&self) -> Result<(), TuningError> {
        if self.block_cache_mb > 1 << 20 {
            return Err(range_err(
                "block-cache-mb",
                self.block_cache_mb,
                "0..=1048576",
            ));
        }
        if !(1..=4096).contains(&self.write_buffer_mb) {
            return Err(range_err(
                "write-buffer-mb",
                self.write_buffer_mb,
                "1..=4096",
            ));
        }
        if !(2..=64).contains(&self.max_write_buffer_number) {
            return Err(range_err(
                "max-write-buffer-number",
                self.max_write_buffer_number,
                "2..=64",
            ));
        }
        if !(1..=64).contains(&self.max_background_jobs) {
            return Err(range_err(
                "max-background-jobs",
                self.max_background_jobs,
                "1..=64",
            ));
        }
        if !(1..=4096).contains(&self.target_file_size_mb) {
            return Err(range_err(
                "target-file-size-mb",
                self.target_file_size_mb,
                "1..=4096",
            ));
        }
        if !(1..=1 << 20).contains(&self.max_bytes_for_level_base_mb) {
            return Err(range_err(
                "max-bytes-for-level-base-mb",
                self.max_bytes_for_level_base_mb,
                "1..=1048576",
            ));
        }
        if !(0.0..=64.0).contains(&self.bloom_bits_per_key) {
            return Err(range_err(
                "bloom-bits-per-key",
                self.bloom_bits_per_key,
                "0..=64",
            ));
        }
        Ok(())
    }

    /// Flush and compaction threads of the whole node: RocksDB's per-instance split of
    /// `max-background-jobs` (`DBImpl::GetBGJobLimits`), times the cores.
    /// Each pool holds at most [`MAX_POOL_THREADS`] (RocksDB starts them all at once, and cannot report a
    /// thread it failed to create), but never fewer than one instance's share.
    pub fn background_pools(&self, cores: usize) -> BackgroundPools {
        let cores = cores.max(1) as i32;
        let flush = (self.max_background_jobs / 4).max(1);
        let compaction = (self.max_background_jobs - flush).max(1);
        let total = |per: i32| (per * cores).min(MAX_POOL_THREADS.max(per));
        BackgroundPools {
            flush: total(flush),
            compaction: total(compaction),
        }
    }

    /// Starts the node's RocksDB background threads. Call it once, before any instance opens, from a
    /// thread that is not pinned to one CPU.
    ///
    /// The pools belong to RocksDB's process-wide default environment, which every instance shares, and
    /// RocksDB grows them lazily from whichever thread opens an instance, sized for that one instance.
    /// Left to that, the first core's thread would create them: one flush and one compaction thread for
    /// the whole node, pinned to that core's CPU (a thread inherits its creator's CPU mask), so every
    /// core's flushes and compactions would queue on one thread and compete with one core's requests.
    /// Started here, they are sized for all the instances and may run on any CPU the process may use.
    pub fn start_background_pools(&self, cores: usize) -> Result<BackgroundPools, TuningError> {
        let pools = self.background_pools(cores);
        let mut env = rocksdb::Env::new().map_err(|e| TuningError::Environment(e.into_string()))?;
        env.set_high_priority_background_threads(pools.flush);
        env.set_low_priority_background_threads(pools.compaction);
        if self.low_priority_compaction {
            env.lower_thread_pool_cpu_priority();
        }
        Ok(pools)
    }

    /// Options for one core's RocksDB instance, given how many cores share the node-wide budgets.
    pub fn db_options(&self, cores: usize) -> rocksdb::Options {
        let cores = cores.max(1) as u64;
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_max_background_jobs(self.max_background_jobs);
        opts.set_bytes_per_sync(self.bytes_per_sync_kb * 1024);
        opts.set_wal_bytes_per_sync(self.bytes_per_sync_kb * 1024);
        // A crash can leave a torn WAL tail; everything before it is intact and acknowledged.
        opts.set_wal_recovery_mode(rocksdb::DBRecoveryMode::PointInTime);
        if self.rate_limit_mb_per_sec > 0 {
            let per_core = (self.rate_limit_mb_per_sec * 1024 * 1024 / cores).max(1 << 20);
            opts.set_ratelimiter(per_core as i64, 100_000, 10);
        }
        opts.set_keep_log_file_num(4);
        // One writer per instance (its core), and the data family's memtable is a hash of skiplists, which
        // does not take concurrent inserts.
        opts.set_allow_concurrent_memtable_write(false);
        // Writes skip the WAL (the Raft log is the durable record, see server/src/replication), so the
        // families' memtables must reach disk together: a flush of one family alone could persist a
        // slot's applied index without the members that entry wrote.
        opts.set_atomic_flush(true);
        opts.set_enable_pipelined_write(false);
        opts
    }

    /// Options for the data column family: records begin with `slot · db · bucket` ([`data_prefix`]), and
    /// every read and scan stays inside one such prefix. The memtable hashes on that prefix into small
    /// skiplists, so a lookup or an in-place update walks a skiplist of a sixteenth of one slot's keys
    /// rather than the whole core's (measured: that walk was the largest single cost of a SET, and of a
    /// GET served from the memtable). SST files get prefix blooms besides whole-key ones.
    pub fn data_cf_options(&self, cores: usize, cache: &rocksdb::Cache) -> rocksdb::Options {
        let mut opts = self.cf_options(cores, cache);
        opts.set_prefix_extractor(rocksdb::SliceTransform::create(
            "slotkv.data.v2",
            data_prefix,
            Some(data_prefix_in_domain),
        ));
        opts.set_memtable_factory(rocksdb::MemtableFactory::HashSkipList {
            bucket_count: self.data_hash_buckets(),
            height: 12,
            branching_factor: 4,
        });
        opts.set_memtable_prefix_bloom_ratio(0.05);
        opts.set_memtable_whole_key_filtering(true);
        // A slot's skiplist stays one entry per key (measured: pipelined SET 113-120K -> 150K/s).
        update_in_place(&mut opts);
        opts
    }

    /// Options for the raft column family: one key per slot, rewritten by every write of the slot and read
    /// only by point lookups (and whole-slot exports). A hash memtable with the whole key as its prefix
    /// makes the in-place rewrite one bucket lookup instead of a walk through a skiplist of the core's
    /// 2048 keys (measured: that walk was ~5% of a pipelined SET).
    pub fn raft_cf_options(&self, cores: usize, cache: &rocksdb::Cache) -> rocksdb::Options {
        let mut opts = self.cf_options(cores, cache);
        opts.set_prefix_extractor(rocksdb::SliceTransform::create_fixed_prefix(RAFT_KEY_LEN));
        opts.set_memtable_factory(rocksdb::MemtableFactory::HashSkipList {
            bucket_count: 4096,
            height: 4,
            branching_factor: 4,
        });
        update_in_place(&mut opts);
        opts
    }

    /// Options for the collection member families (`sub`, `score`): keys are `slot · db · keylen · key ·
    /// version · member`, read by point lookups (whole-key blooms) and by ordered scans within one
    /// collection, which a fixed-prefix hash memtable would not serve, so they keep the ordered skiplist.
    pub fn member_cf_options(&self, cores: usize, cache: &rocksdb::Cache) -> rocksdb::Options {
        self.cf_options(cores, cache)
    }

    /// Hash buckets of the data family's memtable: enough that the `slot · db · bucket` prefixes of a
    /// one-core node (2,048 slots x 16 per database) rarely share a skiplist, but their array (8 bytes each,
    /// allocated with every memtable and counted in its size) at most 1/64 of the write buffer, so a small
    /// buffer is not full from the start.
    pub fn data_hash_buckets(&self) -> usize {
        ((self.write_buffer_mb << 20) as usize / 64 / 8).clamp(1 << 10, 1 << 17)
    }

    /// Size at which the server switches a column family to a new memtable, in bytes.
    pub fn memtable_switch_bytes(&self) -> u64 {
        (self.write_buffer_mb << 20) / 4 * MEMTABLE_SWITCH_QUARTERS
    }

    /// Options for a column family of one core's instance.
    pub fn cf_options(&self, cores: usize, cache: &rocksdb::Cache) -> rocksdb::Options {
        let mut opts = self.db_options(cores);
        opts.set_write_buffer_size((self.write_buffer_mb << 20) as usize);
        opts.set_max_write_buffer_number(self.max_write_buffer_number);
        opts.set_target_file_size_base(self.target_file_size_mb * 1024 * 1024);
        opts.set_max_bytes_for_level_base(self.max_bytes_for_level_base_mb * 1024 * 1024);
        opts.set_level_compaction_dynamic_level_bytes(true);
        opts.set_compression_type(rocksdb::DBCompressionType::None);
        opts.set_bottommost_compression_type(self.compression.to_rocks());
        let mut per_level = vec![rocksdb::DBCompressionType::None; 2];
        per_level.extend(std::iter::repeat_n(self.compression.to_rocks(), 5));
        opts.set_compression_per_level(&per_level);
        let mut table = rocksdb::BlockBasedOptions::default();
        table.set_block_cache(cache);
        table.set_block_size(16 * 1024);
        table.set_cache_index_and_filter_blocks(true);
        table.set_pin_l0_filter_and_index_blocks_in_cache(true);
        if self.bloom_bits_per_key > 0.0 {
            table.set_bloom_filter(self.bloom_bits_per_key, false);
        }
        table.set_format_version(5);
        opts.set_block_based_table_factory(&table);
        opts
    }

    /// The block cache for one core.
    pub fn block_cache(&self, cores: usize) -> rocksdb::Cache {
        let bytes = (self.block_cache_mb * 1024 * 1024) as usize / cores.max(1);
        rocksdb::Cache::new_lru_cache(bytes.max(8 << 20))
    }

    /// Maps a `CONFIG SET rocksdb.<name> <value>` to the RocksDB option names that can change live on a
    /// column family, after validating the value. Returns `(rocksdb_name, value)` pairs.
    pub fn live_options(
        &mut self,
        name: &str,
        value: &str,
    ) -> Result<Vec<(&'static str, String)>, TuningError> {
        let num = |key: &'static str, lo: u64, hi: u64, expected: &'static str| {
            value
                .parse::<u64>()
                .ok()
                .filter(|v| (lo..=hi).contains(v))
                .ok_or_else(|| range_err(key, value, expected))
        };
        match name {
            "write-buffer-mb" => {
                let v = num("write-buffer-mb", 1, 4096, "1..=4096")?;
                self.write_buffer_mb = v;
                Ok(vec![("write_buffer_size", (v << 20).to_string())])
            }
            "max-write-buffer-number" => {
                let v = num("max-write-buffer-number", 2, 64, "2..=64")?;
                self.max_write_buffer_number = v as i32;
                Ok(vec![("max_write_buffer_number", v.to_string())])
            }
            "target-file-size-mb" => {
                let v = num("target-file-size-mb", 1, 4096, "1..=4096")?;
                self.target_file_size_mb = v;
                Ok(vec![(
                    "target_file_size_base",
                    (v * 1024 * 1024).to_string(),
                )])
            }
            "max-bytes-for-level-base-mb" => {
                let v = num("max-bytes-for-level-base-mb", 1, 1 << 20, "1..=1048576")?;
                self.max_bytes_for_level_base_mb = v;
                Ok(vec![(
                    "max_bytes_for_level_base",
                    (v * 1024 * 1024).to_string(),
                )])
            }
            _ => Err(TuningError::NotLive(name.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_pools_follow_rocksdbs_split_times_the_cores() {
        let pools = |jobs, cores| {
            let c = RocksConfig {
                max_background_jobs: jobs,
                ..RocksConfig::default()
            };
            let p = c.background_pools(cores);
            (p.flush, p.compaction)
        };
        assert_eq!(pools(1, 1), (1, 1));
        assert_eq!(pools(2, 4), (4, 4));
        assert_eq!(pools(8, 2), (4, 12));
        assert_eq!(pools(64, 1), (16, 48));
        assert_eq!(pools(64, 64), (256, 256));
        assert_eq!(pools(2, 1000), (256, 256));
    }

    #[test]
    fn data_prefixes_follow_the_key_layout_and_keep_order() {
        assert_eq!(data_prefix(&[0, 9, 2, 7, b'k']), &[0, 9, 2, 7]);
        assert_eq!(data_prefix(&[0, 9, 0xFE, 2, 0, 0]), &[0, 9, 0xFE]);
        assert_eq!(data_prefix(&[0, 9, 0xFF, 2]), &[0, 9, 0xFF]);
        assert_eq!(data_prefix(b"\xFF\xFFlayout"), &[0xFF, 0xFF]);
        assert!(!data_prefix_in_domain(&[0, 9, 2]));
        assert!(data_prefix_in_domain(&[0, 9, 0xFF]));
        // RocksDB's contract: a <= b implies prefix(a) <= prefix(b), and a prefix is its own prefix.
        let keys: Vec<&[u8]> = vec![
            &[0, 9, 2, 0],
            &[0, 9, 2, 0, 0xFF],
            &[0, 9, 2, 15, b'a'],
            &[0, 9, 0xFD, 3],
            &[0, 9, 0xFE],
            &[0, 9, 0xFE, 0, 1],
            &[0, 9, 0xFF, 0xFF],
            &[0, 10, 0, 0],
            &[0xFF, 0xFE, 0xFF, 1],
            &[0xFF, 0xFF, b'l'],
        ];
        for w in keys.windows(2) {
            assert!(w[0] < w[1]);
            assert!(
                data_prefix(w[0]) <= data_prefix(w[1]),
                "{:?} {:?}",
                w[0],
                w[1]
            );
        }
        for k in keys {
            assert_eq!(data_prefix(data_prefix(k)), data_prefix(k));
        }
    }

    #[test]
    fn the_memtable_hash_array_stays_small_beside_the_write_buffer() {
        let at = |mb| {
            RocksConfig {
                write_buffer_mb: mb,
                ..Default::default()
            }
            .data_hash_buckets()
        };
        assert_eq!(at(64), 1 << 17);
        assert_eq!(at(1), 2048);
        assert_eq!(at(4096), 1 << 17);
        assert!(at(RocksConfig::default().write_buffer_mb) >= 1 << 16);
    }

    #[test]
    fn defaults_validate() {
        RocksConfig::default().validate().unwrap();
    }

    #[test]
    fn rejects_bad_values() {
        let cfg = RocksConfig {
            write_buffer_mb: 0,
            ..Default::default()
        };
        assert_eq!(
            cfg.validate().unwrap_err().to_string(),
            "rocksdb.write-buffer-mb: 0 is out of range (1..=4096)"
        );
        assert!(Compression::parse("snappy").is_err());
        assert_eq!(Compression::parse("ZSTD").unwrap(), Compression::Zstd);
    }

    #[test]
    fn live_options_validate_and_record() {
        let mut cfg = RocksConfig::default();
        let opts = cfg.live_options("write-buffer-mb", "32").unwrap();
        assert_eq!(opts, vec![("write_buffer_size", (32u64 << 20).to_string())]);
        assert_eq!(cfg.write_buffer_mb, 32);
        assert!(cfg.live_options("write-buffer-mb", "0").is_err());
        assert!(matches!(
            cfg.live_options("compression", "lz4"),
            Err(TuningError::NotLive(_))
        ));
    }
}

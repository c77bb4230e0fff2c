//! One core's numbers for INFO, taken on that core and sent back over the mesh (plain `Send` data).

use std::rc::Rc;

use crate::shard::stats::RateSample;
use crate::shard::Shard;
use crate::slot::SlotId;
use crate::storage::StorageError;

/// One core's counters at one instant.
#[derive(Debug, Clone)]
pub struct CoreSnapshot {
    pub core: usize,
    /// Live settings INFO shows (equal on every core).
    pub hz: u32,
    pub maxclients: usize,
    pub fsync: &'static str,
    pub commands: u64,
    pub connections_received: u64,
    pub rejected_connections: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
    pub error_replies: u64,
    pub rejected_calls: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub forwarded: u64,
    pub dirty: u64,
    pub rates: RateSample,
    pub clients: usize,
    pub max_query_buffer: usize,
    pub max_output_pending: usize,
    pub fsyncs: u64,
    pub fsync_avg_batch: f64,
    pub fsync_error: Option<String>,
    pub store_error: Option<String>,
    /// Raft log batch writes (group commits) and the entries they carried.
    pub wal_writes: u64,
    pub wal_written: u64,
    /// Disk use of the core's Raft log: bytes of its segment files, and how many there are.
    pub raft_log_bytes: u64,
    pub raft_log_segments: u64,
    /// Value cache: hits, misses, bytes charged.
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub cache_bytes: usize,
    pub memtables: u64,
    pub block_cache: u64,
    /// `(db, keys, keys with a deadline)` for non-empty databases, when asked for.
    pub keyspace: Result<Vec<(u8, i64, i64)>, String>,
    /// Subscribed clients, channels and patterns (names too when cores must be merged).
    pub pubsub: crate::shard::pubsub::PubSubInfo,
    /// Clients blocked here (BLPOP, ...) and the keys they wait on (see `Blocking::blocked_clients`).
    pub blocked_clients: usize,
    pub blocking_keys: usize,
}

impl CoreSnapshot {
    pub fn take(shard: &Rc<Shard>, with_keys: bool) -> CoreSnapshot {
        let st = &shard.stats;
        let (mut clients, mut max_q, mut max_o) = (0, 0, 0);
        for c in shard.clients.borrow().clients.values() {
            clients += 1;
            // The connection being dispatched is borrowed; it is counted, its buffers are not read.
            if let Ok(c) = c.try_borrow() {
                max_q = max_q.max(c.query_buffer);
                max_o = max_o.max(c.output_pending);
            }
        }
        let keyspace = if with_keys {
            key_counts(shard).map_err(|e| e.to_string())
        } else {
            Ok(Vec::new())
        };
        let settings = shard.settings.borrow();
        let log = shard.durability.stats();
        CoreSnapshot {
            core: shard.core,
            hz: settings.hz,
            maxclients: settings.maxclients,
            fsync: shard.durability.policy().name(),
            commands: st.commands.get(),
            connections_received: st.connections_received.get(),
            rejected_connections: st.rejected_connections.get(),
            keyspace_hits: st.keyspace_hits.get(),
            keyspace_misses: st.keyspace_misses.get(),
            expired_keys: st.expired_keys.get(),
            error_replies: st.error_replies.get(),
            rejected_calls: st.rejected_calls.get(),
            net_input_bytes: st.net_input_bytes.get(),
            net_output_bytes: st.net_output_bytes.get(),
            forwarded: st.forwarded.get(),
            dirty: st.dirty.get(),
            rates: st.rates(),
            clients,
            max_query_buffer: max_q,
            max_output_pending: max_o,
            fsyncs: log.fsyncs,
            fsync_avg_batch: if log.fsyncs == 0 {
                0.0
            } else {
                log.entries as f64 / log.fsyncs as f64
            },
            wal_writes: log.batches,
            wal_written: log.entries,
            raft_log_bytes: shard.log.engine().disk_bytes(),
            raft_log_segments: shard.log.engine().segments().len() as u64,
            cache_hits: shard.store.value_cache().hits(),
            cache_misses: shard.store.value_cache().misses(),
            cache_bytes: shard.store.value_cache().bytes(),
            fsync_error: shard.durability.last_fsync_error.borrow().clone(),
            store_error: shard.durability.last_store_error.borrow().clone(),
            memtables: shard
                .store
                .property_int("rocksdb.cur-size-all-mem-tables")
                .unwrap_or(0),
            block_cache: shard
                .store
                .instance_property_int("rocksdb.block-cache-usage")
                .unwrap_or(0),
            keyspace,
            pubsub: shard.pubsub.borrow().info(shard.node.cores > 1),
            blocked_clients: shard.blocking.blocked_clients(),
            blocking_keys: shard.blocking.blocking_keys(),
        }
    }

    /// Keys on this core, all databases.
    pub fn keys(&self) -> i64 {
        self.keyspace
            .as_ref()
            .map(|dbs| dbs.iter().map(|(_, k, _)| k).sum())
            .unwrap_or(0)
    }
}

/// Per-database key counts over this core's slots (non-empty databases only).
fn key_counts(shard: &Rc<Shard>) -> Result<Vec<(u8, i64, i64)>, StorageError> {
    let databases = shard.node.config.databases;
    let mut out = Vec::new();
    for db in 0..databases as u8 {
        let (mut keys, mut volatile) = (0, 0);
        for slot in shard.node.layout.slots_of(shard.core) {
            let c = shard.store.counts(SlotId(slot), db)?;
            keys += c.keys;
            volatile += c.volatile;
        }
        if keys > 0 {
            out.push((db, keys, volatile));
        }
    }
    Ok(out)
}

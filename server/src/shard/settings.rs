//! The settings an operator can change while the node runs (CONFIG SET). Each core keeps its own copy;
//! CONFIG SET validates once, then sends the new value to every core.

use crate::config::{Config, Fsync};

#[derive(Debug, Clone)]
pub struct Settings {
    pub requirepass: String,
    pub maxclients: usize,
    pub timeout: u64,
    pub proto_max_bulk_len: u64,
    pub client_output_buffer_limit: u64,
    pub client_output_buffer_soft_limit: u64,
    pub client_output_buffer_soft_seconds: u64,
    /// `client-output-buffer-limit` of the replica and pubsub classes as (hard, soft, soft seconds): kept so
    /// CONFIG GET/SET round-trip Redis's format; slotkv limits every connection with the normal class.
    pub obuf_replica: (u64, u64, u64),
    pub obuf_pubsub: (u64, u64, u64),
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: usize,
    pub hz: u32,
    pub fsync: Fsync,
    pub rocksdb: tuning::RocksConfig,
}

impl Settings {
    pub fn from_config(c: &Config) -> Settings {
        Settings {
            requirepass: c.requirepass.clone(),
            maxclients: c.maxclients,
            timeout: c.timeout,
            proto_max_bulk_len: c.proto_max_bulk_len,
            client_output_buffer_limit: c.client_output_buffer_limit,
            client_output_buffer_soft_limit: c.client_output_buffer_soft_limit,
            client_output_buffer_soft_seconds: c.client_output_buffer_soft_seconds,
            obuf_replica: (256 << 20, 64 << 20, 60),
            obuf_pubsub: (32 << 20, 8 << 20, 60),
            slowlog_log_slower_than: c.slowlog_log_slower_than,
            slowlog_max_len: c.slowlog_max_len,
            hz: c.hz,
            fsync: c.fsync,
            rocksdb: c.rocksdb.clone(),
        }
    }

    /// Whether clients must AUTH before other commands.
    #[inline]
    pub fn requires_auth(&self) -> bool {
        !self.requirepass.is_empty()
    }

    /// Request-decoding limits for connections on this core.
    pub fn limits(&self) -> resp::Limits {
        resp::Limits {
            proto_max_bulk_len: self.proto_max_bulk_len as usize,
            ..resp::Limits::default()
        }
    }
}

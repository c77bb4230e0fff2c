//! Server configuration: a TOML file (every key documented in `slotkv.example.toml`), overlaid by
//! command-line flags, validated once at start. Keys are kebab-case, as in Redis's own config file.
//!
//! Settings an operator may change live (`CONFIG SET`) are copied into every core at start and updated by a
//! message to each core, never shared behind a lock.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// When acknowledged writes reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fsync {
    /// Reply only after the write's WAL record is fsynced (grouped per core).
    Always,
    /// fsync the WAL once a second; a power loss can lose up to a second of writes.
    Everysec,
    /// Leave it to the OS.
    No,
}

impl Fsync {
    pub fn parse(s: &str) -> Option<Fsync> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Some(Fsync::Always),
            "everysec" => Some(Fsync::Everysec),
            "no" => Some(Fsync::No),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::Everysec => "everysec",
            Fsync::No => "no",
        }
    }
}

/// Errors in the configuration; each names the key and what is wrong, so the operator can fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("{key}: {message}")]
    Invalid { key: &'static str, message: String },
    #[error(transparent)]
    Rocks(#[from] tuning::TuningError),
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

/// The whole server configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub bind: IpAddr,
    /// TCP port (0 picks a free one; the chosen port is logged).
    pub port: u16,
    /// Data folder.
    pub dir: PathBuf,
    /// Cores to run on, one executor each (0 = every online core).
    pub cores: usize,
    /// Pin core i to the i-th CPU this process may run on (its affinity mask, so `taskset` is honoured).
    pub pin_cores: bool,
    pub fsync: Fsync,
    /// Password clients must AUTH with; empty = no password.
    pub requirepass: String,
    pub maxclients: usize,
    /// Number of databases (SELECT 0..databases-1). At most 254.
    pub databases: usize,
    /// Largest bulk string a client may send, bytes.
    pub proto_max_bulk_len: u64,
    /// Reply bytes a connection may have queued before it is disconnected.
    pub client_output_buffer_limit: u64,
    /// A connection whose queued replies stay above this many bytes for `client-output-buffer-soft-seconds`
    /// is disconnected (it is not reading).
    pub client_output_buffer_soft_limit: u64,
    pub client_output_buffer_soft_seconds: u64,
    /// Idle seconds before a client is closed (0 = never).
    pub timeout: u64,
    /// Log commands slower than this many microseconds (-1 disables, 0 logs everything).
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: usize,
    /// Active expiry cycles per second per core.
    pub hz: u32,
    /// Microseconds an idle executor spins before sleeping in the kernel: trades idle CPU for wake-up latency.
    pub spin_before_park_us: u64,
    /// log level: error, warn, info, debug, trace.
    pub loglevel: String,
    /// Node-wide budget of the value cache in front of RocksDB, MiB, divided among cores (0 disables).
    pub value_cache_mb: u64,
    /// Size of one Raft log segment file, MiB (the unit in which log space is reclaimed).
    pub raft_log_segment_mb: u64,
    /// Log bytes a core may accumulate since its last memtable flush before it flushes and purges,
    /// MiB: bounds the log's disk use and what a restart replays.
    pub raft_log_purge_mb: u64,
    pub rocksdb: tuning::RocksConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: IpAddr::from([127, 0, 0, 1]),
            port: 6379,
            dir: PathBuf::from("./data"),
            cores: 0,
            pin_cores: true,
            fsync: Fsync::Everysec,
            requirepass: String::new(),
            maxclients: 10000,
            databases: 16,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_output_buffer_limit: 1024 * 1024 * 1024,
            client_output_buffer_soft_limit: 256 * 1024 * 1024,
            client_output_buffer_soft_seconds: 60,
            timeout: 0,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            hz: 10,
            spin_before_park_us: 100,
            loglevel: "info".into(),
            value_cache_mb: 256,
            raft_log_segment_mb: 64,
            raft_log_purge_mb: 512,
            rocksdb: tuning::RocksConfig::default(),
        }
    }
}

impl Config {
    /// Reads a TOML config file.
    pub fn from_file(path: &std::path::Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Rejects impossible values and combinations, naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let online = online_cpus();
        if self.cores > online {
            return Err(invalid(
                "cores",
                format!(
                    "{} requested but this process may run on {online} CPUs",
                    self.cores
                ),
            ));
        }
        if self.cores > crate::slot::SLOT_COUNT {
            return Err(invalid("cores", "more cores than slots"));
        }
        if self.databases == 0 || self.databases > crate::storage::keycodec::MAX_DATABASES {
            return Err(invalid("databases", "must be between 1 and 254"));
        }
        if self.maxclients == 0 {
            return Err(invalid("maxclients", "must be at least 1"));
        }
        if self.proto_max_bulk_len < 1024 * 1024 {
            return Err(invalid(
                "proto-max-bulk-len",
                "must be at least 1mb (1048576)",
            ));
        }
        if self.client_output_buffer_limit != 0
            && self.client_output_buffer_soft_limit > self.client_output_buffer_limit
        {
            return Err(invalid(
                "client-output-buffer-soft-limit",
                "must not exceed client-output-buffer-limit",
            ));
        }
        if !(1..=500).contains(&self.hz) {
            return Err(invalid("hz", "must be between 1 and 500"));
        }
        if self.spin_before_park_us > 1_000_000 {
            return Err(invalid("spin-before-park-us", "must be at most 1000000"));
        }
        if !["error", "warn", "info", "debug", "trace"].contains(&self.loglevel.as_str()) {
            return Err(invalid(
                "loglevel",
                "must be one of error, warn, info, debug, trace",
            ));
        }
        if self.value_cache_mb > MAX_VALUE_CACHE_MB {
            return Err(invalid(
                "value-cache-mb",
                format!("must be at most {MAX_VALUE_CACHE_MB}"),
            ));
        }
        if !(1..=4096).contains(&self.raft_log_segment_mb) {
            return Err(invalid("raft-log-segment-mb", "must be between 1 and 4096"));
        }
        if self.raft_log_purge_mb < 1 || self.raft_log_purge_mb > 1024 * 1024 {
            return Err(invalid(
                "raft-log-purge-mb",
                "must be between 1 and 1048576",
            ));
        }
        if self.dir.as_os_str().is_empty() {
            return Err(invalid("dir", "must not be empty"));
        }
        self.rocksdb.validate()?;
        Ok(())
    }

    /// Cores the node runs on.
    pub fn core_count(&self) -> usize {
        if self.cores == 0 {
            online_cpus()
        } else {
            self.cores
        }
    }

    pub fn spin_before_park(&self) -> Duration {
        Duration::from_micros(self.spin_before_park_us)
    }

    /// One core's share of `value-cache-mb`, in bytes.
    pub fn value_cache_bytes_per_core(&self, cores: usize) -> usize {
        (self.value_cache_mb as usize * 1024 * 1024) / cores.max(1)
    }
}

/// Largest `value-cache-mb` accepted (1 TiB).
pub const MAX_VALUE_CACHE_MB: u64 = 1024 * 1024;

/// CPUs this process may run on (its affinity mask).
pub fn online_cpus() -> usize {
    allowed_cpus().len().max(1)
}

/// The CPU ids of this process's affinity mask, in order.
pub fn allowed_cpus() -> Vec<usize> {
    core_affinity::get_core_ids()
        .map(|ids| ids.into_iter().map(|c| c.id).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn example_file_parses_and_matches_defaults() {
        let text = include_str!("../../slotkv.example.toml");
        let cfg: Config = toml::from_str(text).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.port, 6379);
        assert_eq!(cfg.fsync, Fsync::Everysec);
        assert_eq!(cfg.value_cache_mb, Config::default().value_cache_mb);
    }

    #[test]
    fn bad_values_name_their_key() {
        let cfg = Config {
            databases: 0,
            ..Default::default()
        };
        assert_eq!(
            cfg.validate().unwrap_err().to_string(),
            "databases: must be between 1 and 254"
        );
        let cfg = Config {
            cores: 100_000,
            ..Default::default()
        };
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("cores: "));
        let err = toml::from_str::<Config>("bogus = 1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn value_cache_budget_is_validated_and_split_among_cores() {
        assert_eq!(Config::default().value_cache_mb, 256);
        let cfg: Config = toml::from_str("value-cache-mb = 1").unwrap();
        assert_eq!(cfg.value_cache_bytes_per_core(2), 512 * 1024);
        assert_eq!(cfg.value_cache_bytes_per_core(0), 1024 * 1024);
        let cfg: Config = toml::from_str("value-cache-mb = 0").unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.value_cache_bytes_per_core(4), 0);
        let cfg = Config {
            value_cache_mb: MAX_VALUE_CACHE_MB + 1,
            ..Default::default()
        };
        assert_eq!(
            cfg.validate().unwrap_err().to_string(),
            "value-cache-mb: must be at most 1048576"
        );
    }
}

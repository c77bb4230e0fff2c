//! The parameters CONFIG GET and CONFIG SET know: Redis's names for what slotkv has (port, maxclients,
//! appendfsync, ...), fixed answers for Redis parameters that describe what slotkv always does
//! (appendonly yes, save "", maxmemory 0, maxmemory-policy noeviction), and slotkv's own (fsync, cores,
//! rocksdb.*).
//!
//! Setting a parameter is two steps, as in Redis: [`parse`] checks a value against the current settings
//! and returns a [`Change`] (errors carry Redis's texts), then [`Change::apply`] makes it on one core. CONFIG
//! SET parses every pair before applying any, then applies the changes on every core.
//!
//! What cannot change on a running node: port, bind, databases, cores and the RocksDB options RocksDB
//! cannot change live ("can't set immutable config"); dir ("can't set protected config", as Redis by
//! default). Values Redis would accept but slotkv cannot honour are refused with a reason: appendonly no
//! (the Raft log is always on), a non-empty save (there are no snapshots), a non-zero maxmemory or an evicting
//! maxmemory-policy (data lives on disk and is never evicted).

use std::rc::Rc;

use crate::cmd::args::parse_i64_opt;
use crate::cmd::keys::pattern::matches_case;
use crate::config::Fsync;
use crate::shard::{Node, Settings, Shard};

/// A parameter. Aliases (appendfsync and fsync) are the same parameter under two names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    Port,
    Bind,
    Dir,
    Databases,
    Cores,
    Maxclients,
    Requirepass,
    Timeout,
    Appendonly,
    Fsync,
    Save,
    ProtoMaxBulkLen,
    SlowlogLogSlowerThan,
    SlowlogMaxLen,
    Hz,
    Maxmemory,
    MaxmemoryPolicy,
    ClientOutputBufferLimit,
    /// `rocksdb.<name>`, a field of [`tuning::RocksConfig`].
    Rocks(&'static str),
}

/// Every name, in the order CONFIG GET lists them.
pub static NAMES: &[(&str, Param)] = &[
    ("port", Param::Port),
    ("bind", Param::Bind),
    ("dir", Param::Dir),
    ("databases", Param::Databases),
    ("maxclients", Param::Maxclients),
    ("requirepass", Param::Requirepass),
    ("timeout", Param::Timeout),
    ("appendonly", Param::Appendonly),
    ("appendfsync", Param::Fsync),
    ("save", Param::Save),
    ("proto-max-bulk-len", Param::ProtoMaxBulkLen),
    ("slowlog-log-slower-than", Param::SlowlogLogSlowerThan),
    ("slowlog-max-len", Param::SlowlogMaxLen),
    ("hz", Param::Hz),
    ("maxmemory", Param::Maxmemory),
    ("maxmemory-policy", Param::MaxmemoryPolicy),
    ("client-output-buffer-limit", Param::ClientOutputBufferLimit),
    ("fsync", Param::Fsync),
    ("cores", Param::Cores),
    ("rocksdb.block-cache-mb", Param::Rocks("block-cache-mb")),
    ("rocksdb.write-buffer-mb", Param::Rocks("write-buffer-mb")),
    (
        "rocksdb.max-write-buffer-number",
        Param::Rocks("max-write-buffer-number"),
    ),
    (
        "rocksdb.max-background-jobs",
        Param::Rocks("max-background-jobs"),
    ),
    (
        "rocksdb.low-priority-compaction",
        Param::Rocks("low-priority-compaction"),
    ),
    (
        "rocksdb.rate-limit-mb-per-sec",
        Param::Rocks("rate-limit-mb-per-sec"),
    ),
    (
        "rocksdb.target-file-size-mb",
        Param::Rocks("target-file-size-mb"),
    ),
    (
        "rocksdb.max-bytes-for-level-base-mb",
        Param::Rocks("max-bytes-for-level-base-mb"),
    ),
    ("rocksdb.compression", Param::Rocks("compression")),
    (
        "rocksdb.bloom-bits-per-key",
        Param::Rocks("bloom-bits-per-key"),
    ),
    (
        "rocksdb.bytes-per-sync-kb",
        Param::Rocks("bytes-per-sync-kb"),
    ),
];

const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// Finds a parameter by exact name, any case: `(canonical name, param)`.
pub fn lookup(name: &[u8]) -> Option<(&'static str, Param)> {
    NAMES
        .iter()
        .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
        .copied()
}

/// Parameters whose name matches a glob pattern (case-insensitive), in table order.
pub fn matching(pattern: &[u8]) -> impl Iterator<Item = (&'static str, Param)> + '_ {
    NAMES
        .iter()
        .filter(move |(n, _)| matches_case(pattern, n.as_bytes(), true))
        .copied()
}

/// The current value of a parameter, as CONFIG GET prints it.
pub fn value(p: Param, s: &Settings, node: &Node) -> String {
    let r = &s.rocksdb;
    match p {
        Param::Port => node.port.to_string(),
        Param::Bind => node.config.bind.to_string(),
        Param::Dir => std::fs::canonicalize(&node.config.dir)
            .unwrap_or_else(|_| node.config.dir.clone())
            .display()
            .to_string(),
        Param::Databases => node.config.databases.to_string(),
        Param::Cores => node.cores.to_string(),
        Param::Maxclients => s.maxclients.to_string(),
        Param::Requirepass => s.requirepass.clone(),
        Param::Timeout => s.timeout.to_string(),
        Param::Appendonly => "yes".into(),
        Param::Fsync => s.fsync.name().into(),
        Param::Save => String::new(),
        Param::ProtoMaxBulkLen => s.proto_max_bulk_len.to_string(),
        Param::SlowlogLogSlowerThan => s.slowlog_log_slower_than.to_string(),
        Param::SlowlogMaxLen => s.slowlog_max_len.to_string(),
        Param::Hz => s.hz.to_string(),
        Param::Maxmemory => "0".into(),
        Param::MaxmemoryPolicy => "noeviction".into(),
        Param::ClientOutputBufferLimit => {
            let (h, sl, secs) = (
                s.client_output_buffer_limit,
                s.client_output_buffer_soft_limit,
                s.client_output_buffer_soft_seconds,
            );
            let (rh, rs, rsec) = s.obuf_replica;
            let (ph, ps, psec) = s.obuf_pubsub;
            format!("normal {h} {sl} {secs} slave {rh} {rs} {rsec} pubsub {ph} {ps} {psec}")
        }
        Param::Rocks(name) => match name {
            "block-cache-mb" => r.block_cache_mb.to_string(),
            "write-buffer-mb" => r.write_buffer_mb.to_string(),
            "max-write-buffer-number" => r.max_write_buffer_number.to_string(),
            "max-background-jobs" => r.max_background_jobs.to_string(),
            "low-priority-compaction" => if r.low_priority_compaction {
                "yes"
            } else {
                "no"
            }
            .into(),
            "rate-limit-mb-per-sec" => r.rate_limit_mb_per_sec.to_string(),
            "target-file-size-mb" => r.target_file_size_mb.to_string(),
            "max-bytes-for-level-base-mb" => r.max_bytes_for_level_base_mb.to_string(),
            "compression" => r.compression.name().to_string(),
            "bloom-bits-per-key" => r.bloom_bits_per_key.to_string(),
            "bytes-per-sync-kb" => r.bytes_per_sync_kb.to_string(),
            _ => String::new(),
        },
    }
}

/// A checked new value, ready to apply on any core.
#[derive(Debug, Clone)]
pub enum Change {
    Maxclients(usize),
    Requirepass(String),
    Timeout(u64),
    Fsync(Fsync),
    ProtoMaxBulkLen(u64),
    SlowlogLogSlowerThan(i64),
    SlowlogMaxLen(usize),
    Hz(u32),
    /// Classes given in a client-output-buffer-limit value: normal, replica, pubsub.
    OutputBufferLimit([Option<(u64, u64, u64)>; 3]),
    /// A live RocksDB option (already validated by [`tuning::RocksConfig::live_options`]).
    Rocks {
        name: &'static str,
        value: String,
    },
    /// Accepted, changes nothing (appendonly yes, save "", maxmemory 0, ...).
    Nothing,
}

/// Why a parameter cannot be set at all (checked before any value is looked at).
pub fn fixed(p: Param) -> Option<&'static str> {
    match p {
        Param::Dir => Some("can't set protected config"),
        Param::Port | Param::Bind | Param::Databases | Param::Cores => {
            Some("can't set immutable config")
        }
        _ => None,
    }
}

/// Checks `value` for `p`; the error is the text after "CONFIG SET failed (...) - ".
pub fn parse(p: Param, value: &[u8], current: &Settings) -> Result<Change, String> {
    let text = String::from_utf8_lossy(value);
    match p {
        Param::Maxclients => Ok(Change::Maxclients(
            integer(value, 1, u32::MAX as i64)? as usize
        )),
        Param::Requirepass => Ok(Change::Requirepass(text.into_owned())),
        Param::Timeout => Ok(Change::Timeout(integer(value, 0, i32::MAX as i64)? as u64)),
        Param::Hz => Ok(Change::Hz(
            integer(value, 0, i32::MAX as i64)?.clamp(1, 500) as u32,
        )),
        Param::SlowlogLogSlowerThan => {
            Ok(Change::SlowlogLogSlowerThan(integer(value, -1, i64::MAX)?))
        }
        Param::SlowlogMaxLen => Ok(Change::SlowlogMaxLen(integer(value, 0, i64::MAX)? as usize)),
        Param::ProtoMaxBulkLen => {
            let v = memory(value)?;
            if !(1 << 20..=i64::MAX as u64).contains(&v) {
                return Err(format!(
                    "argument must be between 1048576 and {} inclusive",
                    i64::MAX
                ));
            }
            Ok(Change::ProtoMaxBulkLen(v))
        }
        Param::Fsync => Fsync::parse(&text).map(Change::Fsync).ok_or_else(|| {
            "argument(s) must be one of the following: everysec, always, no".to_string()
        }),
        Param::Appendonly => match text.to_ascii_lowercase().as_str() {
            "yes" => Ok(Change::Nothing),
            "no" => Err(
                "slotkv always logs writes to its Raft log; appendonly cannot be turned off".into(),
            ),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Param::Save => {
            let parts: Vec<&str> = text.split_ascii_whitespace().collect();
            let valid = parts.len().is_multiple_of(2)
                && parts.iter().enumerate().all(|(i, p)| {
                    parse_i64_opt(p.as_bytes()).is_some_and(|v| v >= if i % 2 == 0 { 1 } else { 0 })
                });
            if !valid {
                Err("Invalid save parameters".into())
            } else if parts.is_empty() {
                Ok(Change::Nothing)
            } else {
                Err(
                    "slotkv takes no snapshots (every write is in the Raft log); only save \"\" \
                     is accepted"
                        .into(),
                )
            }
        }
        Param::Maxmemory => match memory(value)? {
            0 => Ok(Change::Nothing),
            _ => Err("slotkv keeps data on disk and never evicts; maxmemory must be 0".into()),
        },
        Param::MaxmemoryPolicy => {
            let v = text.to_ascii_lowercase();
            if v == "noeviction" {
                Ok(Change::Nothing)
            } else if MAXMEMORY_POLICIES.contains(&v.as_str()) {
                Err(
                    "slotkv keeps data on disk and never evicts; only noeviction is accepted"
                        .into(),
                )
            } else {
                Err(format!(
                    "argument(s) must be one of the following: {}",
                    MAXMEMORY_POLICIES.join(", ")
                ))
            }
        }
        Param::ClientOutputBufferLimit => output_buffer_limit(&text),
        Param::Rocks(name) => {
            let mut scratch = current.rocksdb.clone();
            match scratch.live_options(name, &text) {
                Ok(_) => Ok(Change::Rocks {
                    name,
                    value: text.into_owned(),
                }),
                Err(tuning::TuningError::NotLive(_)) => Err("can't set immutable config".into()),
                Err(e) => Err(e.to_string()),
            }
        }
        Param::Port | Param::Bind | Param::Dir | Param::Databases | Param::Cores => {
            Err(fixed(p).unwrap_or_default().into())
        }
    }
}

/// A strict integer within `lo..=hi`, with Redis's error texts.
fn integer(value: &[u8], lo: i64, hi: i64) -> Result<i64, String> {
    let v = parse_i64_opt(value).ok_or("argument couldn't be parsed into an integer")?;
    if !(lo..=hi).contains(&v) {
        return Err(format!("argument must be between {lo} and {hi} inclusive"));
    }
    Ok(v)
}

/// Redis's `memtoull`: digits with an optional unit (b, k, kb, m, mb, g, gb; k = 1000, kb = 1024).
pub fn memtoull(value: &str) -> Option<u64> {
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = value.split_at(digits);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if num.is_empty() {
        return None;
    }
    num.parse::<u64>().ok()?.checked_mul(mul)
}

fn memory(value: &[u8]) -> Result<u64, String> {
    std::str::from_utf8(value)
        .ok()
        .and_then(memtoull)
        .ok_or_else(|| "argument must be a memory value".to_string())
}

/// `<class> <hard> <soft> <soft seconds>` repeated, as Redis parses it.
fn output_buffer_limit(text: &str) -> Result<Change, String> {
    let args: Vec<&str> = text.split_ascii_whitespace().collect();
    if !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut classes = [None; 3];
    for c in args.chunks(4) {
        let class = match c[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let (hard, soft) = (memtoull(c[1]), memtoull(c[2]));
        let secs = parse_i64_opt(c[3].as_bytes()).filter(|s| *s >= 0);
        match (hard, soft, secs) {
            (Some(h), Some(s), Some(secs)) => classes[class] = Some((h, s, secs as u64)),
            _ => {
                return Err(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .into(),
                )
            }
        }
    }
    Ok(Change::OutputBufferLimit(classes))
}

impl Change {
    /// Makes the change on one core. Fails only if RocksDB refuses a live option.
    pub fn apply(&self, shard: &Rc<Shard>) -> Result<(), String> {
        let mut s = shard.settings.borrow_mut();
        match self {
            Change::Maxclients(v) => s.maxclients = *v,
            Change::Requirepass(v) => s.requirepass = v.clone(),
            Change::Timeout(v) => s.timeout = *v,
            Change::Fsync(p) => {
                s.fsync = *p;
                shard.durability.set_policy(*p);
            }
            Change::ProtoMaxBulkLen(v) => s.proto_max_bulk_len = *v,
            Change::SlowlogLogSlowerThan(v) => s.slowlog_log_slower_than = *v,
            Change::SlowlogMaxLen(v) => s.slowlog_max_len = *v,
            Change::Hz(v) => s.hz = *v,
            Change::OutputBufferLimit([normal, replica, pubsub]) => {
                if let Some((h, soft, secs)) = *normal {
                    s.client_output_buffer_limit = h;
                    s.client_output_buffer_soft_limit = soft;
                    s.client_output_buffer_soft_seconds = secs;
                }
                if let Some(v) = *replica {
                    s.obuf_replica = v;
                }
                if let Some(v) = *pubsub {
                    s.obuf_pubsub = v;
                }
            }
            Change::Rocks { name, value } => {
                let opts = s
                    .rocksdb
                    .live_options(name, value)
                    .map_err(|e| e.to_string())?;
                let pairs: Vec<(&str, &str)> = opts.iter().map(|(k, v)| (*k, v.as_str())).collect();
                shard.store.set_options(&pairs).map_err(|e| e.to_string())?;
            }
            Change::Nothing => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_values_like_redis() {
        assert_eq!(memtoull("0"), Some(0));
        assert_eq!(memtoull("1k"), Some(1000));
        assert_eq!(memtoull("1KB"), Some(1024));
        assert_eq!(memtoull("2mb"), Some(2 << 20));
        assert_eq!(memtoull("1gb"), Some(1 << 30));
        assert_eq!(memtoull("-1"), None);
        assert_eq!(memtoull("1x"), None);
        assert_eq!(memtoull("mb"), None);
    }

    #[test]
    fn names_are_unique_and_lowercase() {
        for (i, (a, _)) in NAMES.iter().enumerate() {
            assert_eq!(*a, a.to_ascii_lowercase());
            assert!(NAMES[i + 1..].iter().all(|(b, _)| a != b), "{a}");
        }
        assert_eq!(
            lookup(b"APPENDFSYNC").unwrap().1,
            lookup(b"fsync").unwrap().1
        );
        assert_eq!(matching(b"slowlog*").count(), 2);
    }

    #[test]
    fn values_checked_like_redis() {
        let s = Settings::from_config(&crate::config::Config::default());
        assert_eq!(
            parse(Param::Maxclients, b"0", &s).unwrap_err(),
            "argument must be between 1 and 4294967295 inclusive"
        );
        assert_eq!(
            parse(Param::Maxclients, b"x", &s).unwrap_err(),
            "argument couldn't be parsed into an integer"
        );
        assert!(matches!(
            parse(Param::Hz, b"1000", &s).unwrap(),
            Change::Hz(500)
        ));
        assert_eq!(
            parse(Param::ClientOutputBufferLimit, b"normal 1 2", &s).unwrap_err(),
            "Wrong number of arguments in buffer limit configuration."
        );
        assert_eq!(
            parse(Param::ClientOutputBufferLimit, b"master 1 2 3", &s).unwrap_err(),
            "Invalid client class specified in buffer limit configuration."
        );
        assert!(parse(Param::Rocks("write-buffer-mb"), b"32", &s).is_ok());
        assert_eq!(
            parse(Param::Rocks("compression"), b"zstd", &s).unwrap_err(),
            "can't set immutable config"
        );
    }
}

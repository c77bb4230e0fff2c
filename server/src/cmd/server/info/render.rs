//! INFO's text: the per-core snapshots added up, plus what the process knows about itself (pid, memory,
//! CPU time). Field names follow Redis 7.2 so monitoring tools find what they look for; fields describing
//! machinery slotkv does not have (forks, RDB, replication links) carry the values of an idle Redis.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::super::config::config_file;
use super::super::{bytes_to_human, REDIS_VERSION};
use super::snapshot::CoreSnapshot;
use super::Selection;
use crate::cmd::CmdError;
use crate::shard::{now_ms, Node};

/// Largest resident size seen by INFO (used_memory_peak).
static PEAK_RSS: AtomicU64 = AtomicU64::new(0);

/// Appends `name:value\r\n`.
macro_rules! field {
    ($out:expr, $name:expr, $($arg:tt)*) => {{
        let _ = write!($out, "{}:", $name);
        let _ = write!($out, $($arg)*);
        $out.push_str("\r\n");
    }};
}

pub fn render(sel: Selection, node: &Node, snaps: &[CoreSnapshot]) -> Result<String, CmdError> {
    let mut out = String::with_capacity(4096);
    let section = |name: &str, title: &str, out: &mut String| -> bool {
        if !sel.has(name) {
            return false;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = write!(out, "# {title}\r\n");
        true
    };
    let sum = |f: fn(&CoreSnapshot) -> u64| snaps.iter().map(f).sum::<u64>();
    let first = snaps.first();
    let settings_hz = first.map_or(node.config.hz, |s| s.hz);
    let uptime = node.started.elapsed().as_secs();
    let (pubsub_clients, pubsub_channels, pubsub_patterns) =
        crate::shard::pubsub::PubSubInfo::merge(snaps.iter().map(|s| &s.pubsub));

    if section("server", "Server", &mut out) {
        let (sysname, release, machine) = uname();
        let now_us = now_ms() * 1000;
        field!(out, "redis_version", "{REDIS_VERSION}");
        field!(out, "redis_git_sha1", "00000000");
        field!(out, "redis_git_dirty", "0");
        field!(out, "redis_build_id", "0");
        field!(out, "redis_mode", "standalone");
        field!(out, "os", "{sysname} {release} {machine}");
        field!(out, "arch_bits", "{}", usize::BITS);
        field!(out, "monotonic_clock", "POSIX clock_gettime");
        field!(out, "multiplexing_api", "io_uring");
        field!(out, "atomicvar_api", "c11-builtin");
        field!(out, "gcc_version", "0.0.0");
        field!(out, "process_id", "{}", std::process::id());
        field!(out, "process_supervised", "no");
        field!(out, "run_id", "{}", node.run_id);
        field!(out, "tcp_port", "{}", node.port);
        field!(out, "server_time_usec", "{now_us}");
        field!(out, "uptime_in_seconds", "{uptime}");
        field!(out, "uptime_in_days", "{}", uptime / 86400);
        field!(out, "hz", "{settings_hz}");
        field!(out, "configured_hz", "{settings_hz}");
        field!(out, "lru_clock", "{}", (now_ms() / 1000) & ((1 << 24) - 1));
        field!(
            out,
            "executable",
            "{}",
            std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
        field!(out, "config_file", "{}", config_file().unwrap_or_default());
        field!(out, "io_threads_active", "0");
        field!(
            out,
            "listener0",
            "name=tcp,bind={},port={}",
            node.config.bind,
            node.port
        );
        field!(out, "slotkv_version", "{}", env!("CARGO_PKG_VERSION"));
        field!(out, "cores", "{}", node.cores);
    }

    if section("clients", "Clients", &mut out) {
        let max_in = snaps.iter().map(|s| s.max_query_buffer).max().unwrap_or(0);
        let max_out = snaps
            .iter()
            .map(|s| s.max_output_pending)
            .max()
            .unwrap_or(0);
        field!(
            out,
            "connected_clients",
            "{}",
            node.connected_clients.load(Ordering::Relaxed)
        );
        field!(out, "cluster_connections", "0");
        field!(
            out,
            "maxclients",
            "{}",
            first.map_or(node.config.maxclients, |s| s.maxclients)
        );
        field!(out, "client_recent_max_input_buffer", "{max_in}");
        field!(out, "client_recent_max_output_buffer", "{max_out}");
        field!(
            out,
            "blocked_clients",
            "{}",
            sum(|s| s.blocked_clients as u64)
        );
        field!(out, "tracking_clients", "0");
        field!(out, "pubsub_clients", "{pubsub_clients}");
        field!(out, "clients_in_timeout_table", "0");
        field!(
            out,
            "total_blocking_keys",
            "{}",
            sum(|s| s.blocking_keys as u64)
        );
        field!(out, "total_blocking_keys_on_nokey", "0");
    }

    if section("memory", "Memory", &mut out) {
        let rss = resident_bytes();
        let peak = PEAK_RSS.fetch_max(rss, Ordering::Relaxed).max(rss);
        let total = total_system_memory();
        let memtables = sum(|s| s.memtables);
        let cache = sum(|s| s.block_cache);
        field!(out, "used_memory", "{rss}");
        field!(out, "used_memory_human", "{}", bytes_to_human(rss));
        field!(out, "used_memory_rss", "{rss}");
        field!(out, "used_memory_rss_human", "{}", bytes_to_human(rss));
        field!(out, "used_memory_peak", "{peak}");
        field!(out, "used_memory_peak_human", "{}", bytes_to_human(peak));
        field!(out, "total_system_memory", "{total}");
        field!(
            out,
            "total_system_memory_human",
            "{}",
            bytes_to_human(total)
        );
        field!(out, "maxmemory", "0");
        field!(out, "maxmemory_human", "0B");
        field!(out, "maxmemory_policy", "noeviction");
        field!(out, "mem_fragmentation_ratio", "1.00");
        field!(out, "mem_allocator", "libc");
        field!(out, "rocksdb_memtables", "{memtables}");
        field!(
            out,
            "rocksdb_memtables_human",
            "{}",
            bytes_to_human(memtables)
        );
        field!(out, "rocksdb_block_cache_usage", "{cache}");
        field!(
            out,
            "rocksdb_block_cache_usage_human",
            "{}",
            bytes_to_human(cache)
        );
    }

    if section("persistence", "Persistence", &mut out) {
        // Writes that cannot be made durable: the log's fsync failed, or RocksDB refuses writes.
        let failed = snaps
            .iter()
            .any(|s| s.fsync_error.is_some() || s.store_error.is_some());
        let store_error = snaps.iter().find_map(|s| s.store_error.as_deref());
        let fsyncs = sum(|s| s.fsyncs);
        let writes: f64 = snaps
            .iter()
            .map(|s| s.fsync_avg_batch * s.fsyncs as f64)
            .sum();
        let policy = first.map_or(node.config.fsync.name(), |s| s.fsync);
        field!(out, "loading", "0");
        field!(out, "async_loading", "0");
        field!(out, "rdb_changes_since_last_save", "{}", sum(|s| s.dirty));
        field!(out, "rdb_bgsave_in_progress", "0");
        field!(out, "rdb_last_save_time", "{}", node.started_unix);
        field!(out, "rdb_last_bgsave_status", "ok");
        field!(out, "rdb_last_bgsave_time_sec", "-1");
        field!(out, "rdb_current_bgsave_time_sec", "-1");
        field!(out, "rdb_saves", "0");
        field!(out, "aof_enabled", "1");
        field!(out, "aof_rewrite_in_progress", "0");
        field!(out, "aof_rewrite_scheduled", "0");
        field!(out, "aof_last_rewrite_time_sec", "-1");
        field!(out, "aof_current_rewrite_time_sec", "-1");
        field!(out, "aof_last_bgrewrite_status", "ok");
        field!(out, "aof_rewrites", "0");
        field!(
            out,
            "aof_last_write_status",
            "{}",
            if failed { "err" } else { "ok" }
        );
        field!(out, "aof_fsync_policy", "{policy}");
        // slotkv: RocksDB's reason for refusing writes, while it does (empty otherwise).
        field!(
            out,
            "storage_write_error",
            "{}",
            store_error.unwrap_or("").replace(['\r', '\n'], " ")
        );
        field!(out, "wal_fsyncs", "{fsyncs}");
        field!(out, "raft_log_bytes", "{}", sum(|s| s.raft_log_bytes));
        field!(out, "raft_log_segments", "{}", sum(|s| s.raft_log_segments));
        field!(
            out,
            "wal_fsync_avg_batch",
            "{:.2}",
            if fsyncs == 0 {
                0.0
            } else {
                writes / fsyncs as f64
            }
        );
    }

    if section("stats", "Stats", &mut out) {
        let ops: u64 = snaps.iter().map(|s| s.rates.ops_per_sec).sum();
        let kbps = |f: fn(&CoreSnapshot) -> f64| snaps.iter().map(f).sum::<f64>() / 1024.0;
        field!(
            out,
            "total_connections_received",
            "{}",
            sum(|s| s.connections_received)
        );
        field!(out, "total_commands_processed", "{}", sum(|s| s.commands));
        field!(out, "instantaneous_ops_per_sec", "{ops}");
        field!(
            out,
            "total_net_input_bytes",
            "{}",
            sum(|s| s.net_input_bytes)
        );
        field!(
            out,
            "total_net_output_bytes",
            "{}",
            sum(|s| s.net_output_bytes)
        );
        field!(out, "total_net_repl_input_bytes", "0");
        field!(out, "total_net_repl_output_bytes", "0");
        field!(
            out,
            "instantaneous_input_kbps",
            "{:.2}",
            kbps(|s| s.rates.input_bytes_per_sec)
        );
        field!(
            out,
            "instantaneous_output_kbps",
            "{:.2}",
            kbps(|s| s.rates.output_bytes_per_sec)
        );
        field!(out, "instantaneous_input_repl_kbps", "0.00");
        field!(out, "instantaneous_output_repl_kbps", "0.00");
        field!(
            out,
            "rejected_connections",
            "{}",
            sum(|s| s.rejected_connections)
        );
        field!(out, "sync_full", "0");
        field!(out, "sync_partial_ok", "0");
        field!(out, "sync_partial_err", "0");
        field!(out, "expired_keys", "{}", sum(|s| s.expired_keys));
        field!(out, "evicted_keys", "0");
        field!(out, "evicted_clients", "0");
        field!(out, "keyspace_hits", "{}", sum(|s| s.keyspace_hits));
        field!(out, "keyspace_misses", "{}", sum(|s| s.keyspace_misses));
        field!(out, "pubsub_channels", "{pubsub_channels}");
        field!(out, "pubsub_patterns", "{pubsub_patterns}");
        field!(out, "pubsubshard_channels", "0");
        field!(out, "latest_fork_usec", "0");
        field!(out, "total_forks", "0");
        field!(out, "migrate_cached_sockets", "0");
        field!(out, "unexpected_error_replies", "0");
        field!(
            out,
            "total_error_replies",
            "{}",
            sum(|s| s.error_replies + s.rejected_calls)
        );
        field!(out, "forwarded_requests", "{}", sum(|s| s.forwarded));
    }

    if section("replication", "Replication", &mut out) {
        field!(out, "role", "master");
        field!(out, "connected_slaves", "0");
        field!(out, "master_failover_state", "no-failover");
        field!(out, "master_replid", "{}", node.run_id);
        field!(out, "master_replid2", "{}", "0".repeat(40));
        field!(out, "master_repl_offset", "0");
        field!(out, "second_repl_offset", "-1");
        field!(out, "repl_backlog_active", "0");
        field!(out, "repl_backlog_size", "1048576");
        field!(out, "repl_backlog_first_byte_offset", "0");
        field!(out, "repl_backlog_histlen", "0");
    }

    if section("cpu", "CPU", &mut out) {
        let (sys, user) = cpu_times(libc::RUSAGE_SELF);
        let (csys, cuser) = cpu_times(libc::RUSAGE_CHILDREN);
        field!(out, "used_cpu_sys", "{sys}");
        field!(out, "used_cpu_user", "{user}");
        field!(out, "used_cpu_sys_children", "{csys}");
        field!(out, "used_cpu_user_children", "{cuser}");
    }

    section("modules", "Modules", &mut out);
    section("commandstats", "Commandstats", &mut out);
    section("errorstats", "Errorstats", &mut out);
    section("latencystats", "Latencystats", &mut out);

    if section("cluster", "Cluster", &mut out) {
        field!(out, "cluster_enabled", "0");
    }

    if sel.needs_keys() {
        if let Some(e) = snaps.iter().find_map(|s| s.keyspace.as_ref().err()) {
            return Err(CmdError::msg(format!("ERR storage error: {e}")));
        }
    }
    if section("keyspace", "Keyspace", &mut out) {
        let mut dbs: Vec<(u8, i64, i64)> = Vec::new();
        for (db, keys, volatile) in snaps.iter().flat_map(|s| s.keyspace.iter().flatten()) {
            match dbs.iter_mut().find(|(d, _, _)| d == db) {
                Some(e) => {
                    e.1 += keys;
                    e.2 += volatile;
                }
                None => dbs.push((*db, *keys, *volatile)),
            }
        }
        dbs.sort_unstable_by_key(|(db, _, _)| *db);
        for (db, keys, volatile) in dbs {
            field!(
                out,
                format!("db{db}"),
                "keys={keys},expires={volatile},avg_ttl=0"
            );
        }
    }

    if section("cores", "Cores", &mut out) {
        for s in snaps {
            field!(
                out,
                format!("core{}", s.core),
                "commands={},clients={},forwarded={},fsyncs={},avg_fsync_batch={:.2},wal_writes={},\
                 avg_wal_batch={:.2},cache_hits={},cache_misses={},cache_bytes={},keys={}",
                s.commands,
                s.clients,
                s.forwarded,
                s.fsyncs,
                s.fsync_avg_batch,
                s.wal_writes,
                if s.wal_writes == 0 {
                    0.0
                } else {
                    s.wal_written as f64 / s.wal_writes as f64
                },
                s.cache_hits,
                s.cache_misses,
                s.cache_bytes,
                s.keys()
            );
        }
    }
    Ok(out)
}

fn uname() -> (String, String, String) {
    // SAFETY: uname(2) fills the zeroed struct it is given; the fields are NUL-terminated C strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return Default::default();
        }
        let s = |f: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(f.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        (s(&u.sysname), s(&u.release), s(&u.machine))
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// Resident set size of this process, from /proc/self/statm.
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * page_size())
        .unwrap_or(0)
}

fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    if pages > 0 {
        pages as u64 * page_size()
    } else {
        0
    }
}

/// (system, user) CPU seconds as Redis prints them ("1.234567").
fn cpu_times(who: libc::c_int) -> (String, String) {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut ru) != 0 {
            return ("0.000000".into(), "0.000000".into());
        }
        ru
    };
    let f = |t: libc::timeval| format!("{}.{:06}", t.tv_sec, t.tv_usec);
    (f(ru.ru_stime), f(ru.ru_utime))
}

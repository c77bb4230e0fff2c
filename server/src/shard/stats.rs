//! Per-core counters for INFO and the slow log. Plain `Cell`s: only this core touches them; INFO adds up
//! every core's numbers through the mesh.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use super::Settings;

/// One SLOWLOG entry.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    pub id: u64,
    pub unix_secs: u64,
    pub micros: u64,
    pub args: Vec<Bytes>,
    pub client_addr: String,
    pub client_name: Bytes,
}

#[derive(Default)]
pub struct Stats {
    pub commands: Cell<u64>,
    pub command_usec: Cell<u64>,
    pub connections_received: Cell<u64>,
    pub rejected_connections: Cell<u64>,
    pub keyspace_hits: Cell<u64>,
    pub keyspace_misses: Cell<u64>,
    pub expired_keys: Cell<u64>,
    pub error_replies: Cell<u64>,
    pub rejected_calls: Cell<u64>,
    pub net_input_bytes: Cell<u64>,
    pub net_output_bytes: Cell<u64>,
    pub forwarded: Cell<u64>,
    /// Writes since start (Redis's "changes since last save" has no meaning here; kept for INFO).
    pub dirty: Cell<u64>,
    pub slowlog: RefCell<VecDeque<SlowEntry>>,
    pub slowlog_next_id: Cell<u64>,
}

impl Stats {
    #[inline]
    pub fn record_call(&self, elapsed: Duration) {
        self.commands.set(self.commands.get() + 1);
        self.command_usec
            .set(self.command_usec.get() + elapsed.as_micros() as u64);
    }

    #[inline]
    pub fn hit(&self, found: bool) {
        if found {
            self.keyspace_hits.set(self.keyspace_hits.get() + 1);
        } else {
            self.keyspace_misses.set(self.keyspace_misses.get() + 1);
        }
    }

    /// Adds an entry to the slow log when `elapsed` passes the threshold.
    pub fn slowlog_maybe(
        &self,
        settings: &Settings,
        elapsed: Duration,
        args: &[Bytes],
        client: Option<(u64, String, Option<Bytes>)>,
    ) {
        let threshold = settings.slowlog_log_slower_than;
        if threshold < 0 || (elapsed.as_micros() as i64) < threshold {
            return;
        }
        // Like Redis: at most 32 arguments, each at most 128 bytes.
        let mut kept: Vec<Bytes> = Vec::with_capacity(args.len().min(32));
        for (i, a) in args.iter().enumerate() {
            if i == 31 && args.len() > 32 {
                kept.push(Bytes::from(format!(
                    "... ({} more arguments)",
                    args.len() - 31
                )));
                break;
            }
            if a.len() > 128 {
                let mut s = a.slice(..128).to_vec();
                s.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
                kept.push(Bytes::from(s));
            } else {
                kept.push(a.clone());
            }
        }
        let (addr, name) = match client {
            Some((_, addr, name)) => (addr, name.unwrap_or_default()),
            None => (String::new(), Bytes::new()),
        };
        let id = self.slowlog_next_id.get();
        self.slowlog_next_id.set(id + 1);
        let mut log = self.slowlog.borrow_mut();
        log.push_front(SlowEntry {
            id,
            unix_secs: super::now_ms() / 1000,
            micros: elapsed.as_micros() as u64,
            args: kept,
            client_addr: addr,
            client_name: name,
        });
        while log.len() > settings.slowlog_max_len {
            log.pop_back();
        }
    }
}

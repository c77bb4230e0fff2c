//! Per-core counters for INFO and the slow log. Plain `Cell`s: only this core touches them; INFO adds up
//! every core's numbers through the mesh.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
    /// The last sample of the counters behind INFO's instantaneous_* rates.
    pub rate_sample: Cell<Option<RateSample>>,
}

/// Slow log ids come from one node-wide sequence, so entries merged from every core keep distinct ids in
/// the order they were logged (SLOWLOG GET sorts by id).
static SLOWLOG_IDS: AtomicU64 = AtomicU64::new(0);

/// Counters at one instant and the rates computed at that instant (INFO's instantaneous_* fields: per
/// second between two successive INFO calls on this core).
#[derive(Debug, Clone, Copy)]
pub struct RateSample {
    pub at: Instant,
    pub commands: u64,
    pub net_input: u64,
    pub net_output: u64,
    pub ops_per_sec: u64,
    pub input_bytes_per_sec: f64,
    pub output_bytes_per_sec: f64,
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

    /// CONFIG RESETSTAT: zeroes the counters INFO reports (not the slow log, as in Redis).
    pub fn reset_counters(&self) {
        for c in [
            &self.commands,
            &self.command_usec,
            &self.connections_received,
            &self.rejected_connections,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.expired_keys,
            &self.error_replies,
            &self.rejected_calls,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.forwarded,
        ] {
            c.set(0);
        }
        self.rate_sample.set(None);
    }

    /// Rates since the previous call (reused when that was under 100 ms ago, so back-to-back INFOs agree).
    pub fn rates(&self) -> RateSample {
        let now = Instant::now();
        let (commands, input, output) = (
            self.commands.get(),
            self.net_input_bytes.get(),
            self.net_output_bytes.get(),
        );
        let next = match self.rate_sample.get() {
            Some(prev) if now.duration_since(prev.at) < Duration::from_millis(100) => return prev,
            Some(prev) => {
                let secs = now.duration_since(prev.at).as_secs_f64();
                let per_sec = |a: u64, b: u64| a.saturating_sub(b) as f64 / secs;
                RateSample {
                    at: now,
                    commands,
                    net_input: input,
                    net_output: output,
                    ops_per_sec: per_sec(commands, prev.commands).round() as u64,
                    input_bytes_per_sec: per_sec(input, prev.net_input),
                    output_bytes_per_sec: per_sec(output, prev.net_output),
                }
            }
            None => RateSample {
                at: now,
                commands,
                net_input: input,
                net_output: output,
                ops_per_sec: 0,
                input_bytes_per_sec: 0.0,
                output_bytes_per_sec: 0.0,
            },
        };
        self.rate_sample.set(Some(next));
        next
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
        // Like Redis: at most 32 arguments, each at most 128 bytes; secrets redacted.
        let secret = secret_args(args);
        let mut kept: Vec<Bytes> = Vec::with_capacity(args.len().min(32));
        for (i, a) in args.iter().enumerate() {
            if secret(i) {
                kept.push(Bytes::from_static(b"(redacted)"));
                continue;
            }
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
        let id = SLOWLOG_IDS.fetch_add(1, Ordering::Relaxed);
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

/// Which arguments Redis redacts from the slow log: AUTH's, the credentials of HELLO ... AUTH user pass, and
/// the value of CONFIG SET requirepass.
fn secret_args(args: &[Bytes]) -> impl Fn(usize) -> bool + '_ {
    let is = |i: usize, word: &str| {
        args.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()))
    };
    let auth = is(0, "auth");
    let hello_auth = if is(0, "hello") {
        (2..args.len()).find(|&i| is(i, "auth"))
    } else {
        None
    };
    let config_set = is(0, "config") && is(1, "set");
    move |i| {
        if auth {
            return i >= 1;
        }
        if let Some(a) = hello_auth {
            return i == a + 1 || i == a + 2;
        }
        config_set && i >= 3 && i % 2 == 1 && is(i - 1, "requirepass")
    }
}

//! The live progress line, and the counters it is built from.
//!
//! Executor threads never touch shared memory in the hot loop: once a second each thread's
//! watchdog task copies its own totals into a [`ThreadProgress`] (three relaxed stores). The main
//! thread reads them, prints `ops/s, p99 so far, errors` on stderr when stderr is a terminal,
//! and watches a heartbeat to notice a thread that stopped running altogether.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Published by one executor thread once a second.
#[derive(Default)]
pub struct ThreadProgress {
    pub replies: AtomicU64,
    pub errors: AtomicU64,
    /// p99 so far in ns (0 when the progress line is off: computing it costs a merge).
    pub p99_ns: AtomicU64,
    /// Bumped whenever the thread shows it is alive (a connection opened, a publish); the main
    /// thread gives up on threads whose heartbeat stops.
    pub heartbeat: AtomicU64,
}

impl ThreadProgress {
    pub fn beat(&self) {
        self.heartbeat.fetch_add(1, Ordering::Relaxed);
    }

    /// Sum of all threads' heartbeats.
    pub fn heartbeats(threads: &[ThreadProgress]) -> u64 {
        threads
            .iter()
            .map(|t| t.heartbeat.load(Ordering::Relaxed))
            .sum()
    }

    pub fn publish(&self, replies: u64, errors: u64, p99_ns: u64) {
        self.beat();
        self.replies.store(replies, Ordering::Relaxed);
        self.errors.store(errors, Ordering::Relaxed);
        self.p99_ns.store(p99_ns, Ordering::Relaxed);
    }
}

/// Main-thread side: rate computation and printing.
pub struct ProgressLine {
    enabled: bool,
    label: String,
    started: Instant,
    last_at: Instant,
    last_replies: u64,
    printed: bool,
}

impl ProgressLine {
    pub fn new(enabled: bool, label: &str) -> Self {
        let now = Instant::now();
        ProgressLine {
            enabled,
            label: label.to_string(),
            started: now,
            last_at: now,
            last_replies: 0,
            printed: false,
        }
    }

    /// Totals over all threads: (replies, errors, worst thread p99 in ns).
    pub fn totals(threads: &[ThreadProgress]) -> (u64, u64, u64) {
        threads.iter().fold((0, 0, 0), |(r, e, p), t| {
            (
                r + t.replies.load(Ordering::Relaxed),
                e + t.errors.load(Ordering::Relaxed),
                p.max(t.p99_ns.load(Ordering::Relaxed)),
            )
        })
    }

    /// Prints one update (call about once a second).
    pub fn tick(&mut self, threads: &[ThreadProgress]) {
        let (replies, errors, p99) = Self::totals(threads);
        let now = Instant::now();
        let dt = now.duration_since(self.last_at).as_secs_f64();
        let rate = if dt > 0.0 {
            replies.saturating_sub(self.last_replies) as f64 / dt
        } else {
            0.0
        };
        self.last_at = now;
        self.last_replies = replies;
        if !self.enabled {
            return;
        }
        let p99_label = if threads.len() > 1 {
            "p99 (worst thread)"
        } else {
            "p99"
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{} [{:>4.0}s] {:>10.0} ops/s  {p99_label} {:>9.1} us  errors {}",
            self.label,
            now.duration_since(self.started).as_secs_f64(),
            rate,
            p99 as f64 / 1000.0,
            errors
        );
        let _ = err.flush();
        self.printed = true;
    }

    /// Erases the line before the final report.
    pub fn finish(&mut self) {
        if self.printed {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.printed = false;
        }
    }
}

//! Measurements: one HDR histogram per command per thread, merged once at the end.
//!
//! Latencies are recorded in nanoseconds with 3 significant digits (0.1% relative error) up to
//! one hour; larger values saturate rather than being dropped, so a count can never go missing.
//! Every reply is recorded, error replies included — `count` is "requests answered" and
//! `errors` says how many of those answers were errors. Redirects are not replies: a request
//! that was MOVED is recorded once, when its final reply arrives, with the latency of the whole
//! journey.

use hdrhistogram::Histogram;

/// Highest recordable latency (1 hour in ns).
pub const HIST_MAX_NS: u64 = 3_600_000_000_000;

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_NS, 3).expect("static histogram bounds are valid")
}

/// Counters and histogram of one command.
#[derive(Clone, Debug)]
pub struct CmdStats {
    pub hist: Histogram<u64>,
    pub errors: u64,
    pub moved: u64,
    pub ask: u64,
}

impl CmdStats {
    fn new() -> Self {
        CmdStats {
            hist: new_histogram(),
            errors: 0,
            moved: 0,
            ask: 0,
        }
    }

    fn merge(&mut self, other: &CmdStats) {
        self.hist.add(&other.hist).expect("histograms share bounds");
        self.errors += other.errors;
        self.moved += other.moved;
        self.ask += other.ask;
    }
}

/// Everything one run (or one thread of it) measured.
#[derive(Clone, Debug)]
pub struct RunStats {
    pub cmds: Vec<CmdStats>,
    /// Measured requests issued (after warm-up).
    pub sent: u64,
    /// Replies to warm-up requests (not in the histograms).
    pub warmup_replies: u64,
    /// Time of the last measured reply, ns since the run began.
    pub last_reply_ns: u64,
    /// Open loop, duration mode: requests that fell due but were never sent because the run
    /// ended while the client was behind schedule.
    pub unsent: u64,
    /// Open loop: how late each measured request was sent after it fell due (client scheduling
    /// delay, or a full pipeline window waiting on the server). Already part of the latencies;
    /// reported so a reader can tell the client's share from the server's.
    pub send_lag: Histogram<u64>,
    /// CPU time (user + system) the client threads spent during the run.
    pub cpu_secs: f64,
    /// The first error reply seen, for the message at the end.
    pub first_error: Option<String>,
}

impl RunStats {
    pub fn new(commands: usize) -> Self {
        RunStats {
            cmds: (0..commands).map(|_| CmdStats::new()).collect(),
            sent: 0,
            warmup_replies: 0,
            last_reply_ns: 0,
            unsent: 0,
            send_lag: new_histogram(),
            cpu_secs: 0.0,
            first_error: None,
        }
    }

    pub fn merge(&mut self, other: &RunStats) {
        for (a, b) in self.cmds.iter_mut().zip(&other.cmds) {
            a.merge(b);
        }
        self.sent += other.sent;
        self.warmup_replies += other.warmup_replies;
        self.last_reply_ns = self.last_reply_ns.max(other.last_reply_ns);
        self.unsent += other.unsent;
        self.send_lag
            .add(&other.send_lag)
            .expect("histograms share bounds");
        self.cpu_secs += other.cpu_secs;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
    }

    /// All commands' histograms merged.
    pub fn total_histogram(&self) -> Histogram<u64> {
        let mut h = new_histogram();
        for c in &self.cmds {
            h.add(&c.hist).expect("histograms share bounds");
        }
        h
    }

    pub fn replies(&self) -> u64 {
        self.cmds.iter().map(|c| c.hist.len()).sum()
    }

    pub fn errors(&self) -> u64 {
        self.cmds.iter().map(|c| c.errors).sum()
    }
}

/// The reported figures of one command (or of all of them). Latencies in microseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub name: String,
    pub count: u64,
    pub errors: u64,
    pub moved: u64,
    pub ask: u64,
    pub ops_per_sec: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub p9999: f64,
    pub max: f64,
}

/// Names and accessors of the figures compared between runs, in report order.
pub const FIGURE_NAMES: [&str; 8] = [
    "ops_per_sec",
    "mean",
    "p50",
    "p90",
    "p99",
    "p999",
    "p9999",
    "max",
];

impl Figures {
    pub fn from_hist(
        name: &str,
        h: &Histogram<u64>,
        errors: u64,
        moved: u64,
        ask: u64,
        elapsed_secs: f64,
    ) -> Figures {
        let us = |ns: u64| ns as f64 / 1000.0;
        let q = |q: f64| {
            if h.is_empty() {
                0.0
            } else {
                us(h.value_at_quantile(q))
            }
        };
        Figures {
            name: name.to_string(),
            count: h.len(),
            errors,
            moved,
            ask,
            ops_per_sec: if elapsed_secs > 0.0 {
                h.len() as f64 / elapsed_secs
            } else {
                0.0
            },
            mean: if h.is_empty() { 0.0 } else { h.mean() / 1000.0 },
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            p9999: q(0.9999),
            max: if h.is_empty() { 0.0 } else { us(h.max()) },
        }
    }

    /// The figure called `name` (one of [`FIGURE_NAMES`]).
    pub fn get(&self, name: &str) -> f64 {
        match name {
            "ops_per_sec" => self.ops_per_sec,
            "mean" => self.mean,
            "p50" => self.p50,
            "p90" => self.p90,
            "p99" => self.p99,
            "p999" => self.p999,
            "p9999" => self.p9999,
            "max" => self.max,
            _ => f64::NAN,
        }
    }
}

/// Per-command figures followed by the total.
pub fn figures(stats: &RunStats, names: &[String], elapsed_secs: f64) -> (Vec<Figures>, Figures) {
    let per: Vec<Figures> = stats
        .cmds
        .iter()
        .zip(names)
        .map(|(c, n)| Figures::from_hist(n, &c.hist, c.errors, c.moved, c.ask, elapsed_secs))
        .collect();
    let total = Figures::from_hist(
        "TOTAL",
        &stats.total_histogram(),
        stats.errors(),
        stats.cmds.iter().map(|c| c.moved).sum(),
        stats.cmds.iter().map(|c| c.ask).sum(),
        elapsed_secs,
    );
    (per, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_and_figures_follow() {
        let mut a = RunStats::new(2);
        let mut b = RunStats::new(2);
        for v in 1..=1000u64 {
            a.cmds[0].hist.record(v * 1000).unwrap();
            b.cmds[1].hist.record(v * 1000).unwrap();
        }
        b.cmds[1].errors = 3;
        a.merge(&b);
        let (per, total) = figures(&a, &["SET".into(), "GET".into()], 2.0);
        assert_eq!(per[0].count, 1000);
        assert_eq!(per[1].errors, 3);
        assert_eq!(total.count, 2000);
        assert_eq!(total.ops_per_sec, 1000.0);
        assert!((total.p50 - 500.0).abs() < 1.0, "{}", total.p50);
        assert!((total.max - 1000.0).abs() < 1.0, "{}", total.max);
    }
}

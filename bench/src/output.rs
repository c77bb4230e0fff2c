//! Turning one run's measurements into a human table, JSON or CSV.
//!
//! Every format states the measurement mode: a closed-loop p99 and an open-loop p99 are
//! different quantities, and a number without that label invites the wrong comparison.
//! JSON latencies are microseconds (floats); the keys `ops_per_sec`, `count`, `errors`, `p50`,
//! `p99` and `p999` exist per command and in `total`, as scripts rely on them.

use crate::cli::RunConfig;
use crate::engine::Outcome;
use crate::keygen::KeyDist;
use crate::stats::{figures, Figures};
use crate::workload::Workload;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;

/// One finished run with everything needed to describe it.
pub struct Report<'a> {
    pub label: String,
    pub target: String,
    pub server: Option<String>,
    pub cfg: &'a RunConfig,
    pub wl: &'a Workload,
    pub outcome: Outcome,
    pub per: Vec<Figures>,
    pub total: Figures,
}

impl<'a> Report<'a> {
    pub fn new(
        label: String,
        target: String,
        server: Option<String>,
        cfg: &'a RunConfig,
        wl: &'a Workload,
        outcome: Outcome,
    ) -> Report<'a> {
        let names: Vec<String> = wl.templates.iter().map(|t| t.name.clone()).collect();
        let (per, total) = figures(&outcome.stats, &names, outcome.elapsed_secs);
        Report {
            label,
            target,
            server,
            cfg,
            wl,
            outcome,
            per,
            total,
        }
    }

    /// Requests completed per CPU-second spent by the client threads.
    pub fn ops_per_cpu_sec(&self) -> f64 {
        let cpu = self.outcome.stats.cpu_secs;
        if cpu > 0.0 {
            (self.total.count + self.outcome.stats.warmup_replies) as f64 / cpu
        } else {
            0.0
        }
    }
}

/// One line saying how latency was measured.
pub fn mode_line(cfg: &RunConfig) -> String {
    match cfg.rate {
        Some(rate) => format!(
            "open loop at {rate} requests/s (at most {} outstanding per connection): latency \
             measured from each request's intended send time (coordinated omission corrected)",
            cfg.pipeline
        ),
        None => format!(
            "closed loop, pipeline {}: latency measured from the actual send time (not \
             corrected for coordinated omission; use --rate for that)",
            cfg.pipeline
        ),
    }
}

/// A few words for plot titles.
pub fn mode_short(cfg: &RunConfig) -> String {
    match cfg.rate {
        Some(rate) => format!("open loop {rate} req/s, CO-corrected, -P {}", cfg.pipeline),
        None => format!("closed loop, {} conns, -P {}", cfg.clients, cfg.pipeline),
    }
}

fn dist_name(d: KeyDist) -> String {
    match d {
        KeyDist::Uniform => "uniform".into(),
        KeyDist::Zipf { skew } => format!("zipf (skew {skew})"),
        KeyDist::Sequential => "sequential".into(),
    }
}

fn size_text(wl: &Workload) -> String {
    if wl.value_min == wl.value_max {
        format!("{} bytes", wl.value_min)
    } else {
        format!("{}-{} bytes", wl.value_min, wl.value_max)
    }
}

/// The human-readable report.
pub fn table(r: &Report) -> String {
    let cfg = r.cfg;
    let o = &r.outcome;
    let mut s = String::new();
    let server = r
        .server
        .as_deref()
        .map(|v| format!(" ({v})"))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "slotkv-bench {} -> {}{server}{}",
        env!("CARGO_PKG_VERSION"),
        r.target,
        if cfg.cluster { ", cluster mode" } else { "" }
    );
    let _ = writeln!(s, "mode: {}", mode_line(cfg));
    let commands: Vec<_> = r.wl.templates.iter().map(|t| t.text.as_str()).collect();
    let _ = writeln!(
        s,
        "load: {} connections on {} thread(s); commands {:?}; {} keys {}; values {}",
        cfg.clients,
        cfg.threads,
        commands,
        r.wl.keyspace,
        dist_name(cfg.dist),
        size_text(r.wl)
    );
    let _ = writeln!(
        s,
        "measured: {} requests in {:.3} s after {} s warm-up{}; client CPU {:.2} s ({:.0} requests per CPU-second)",
        o.stats.sent,
        o.elapsed_secs,
        cfg.warmup,
        if o.interrupted { " (interrupted)" } else { "" },
        o.stats.cpu_secs,
        r.ops_per_cpu_sec()
    );
    if let Some(rate) = cfg.rate {
        let lag = &o.stats.send_lag;
        if !lag.is_empty() {
            let _ = writeln!(
                s,
                "send lag (due -> sent, included in the latencies): p50 {:.1} us, p99 {:.1} us, max {:.1} us",
                lag.value_at_quantile(0.5) as f64 / 1000.0,
                lag.value_at_quantile(0.99) as f64 / 1000.0,
                lag.max() as f64 / 1000.0
            );
        }
        let achieved = r.total.ops_per_sec;
        if achieved < rate * 0.95 || o.stats.unsent > 0 {
            let _ = writeln!(
                s,
                "warning: achieved {achieved:.0} requests/s of the {rate} asked for; {} requests \
                 fell due but were never sent, so the histogram understates latency",
                o.stats.unsent
            );
        }
    }
    let redirects = cfg.cluster;
    let _ = write!(
        s,
        "\n{:<12} {:>10} {:>12} {:>8}",
        "command", "count", "ops/s", "errors"
    );
    if redirects {
        let _ = write!(s, " {:>8} {:>6}", "moved", "ask");
    }
    let _ = writeln!(
        s,
        " {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "mean", "p50", "p90", "p99", "p99.9", "p99.99", "max"
    );
    for f in r.per.iter().chain(std::iter::once(&r.total)) {
        let _ = write!(
            s,
            "{:<12} {:>10} {:>12.0} {:>8}",
            f.name, f.count, f.ops_per_sec, f.errors
        );
        if redirects {
            let _ = write!(s, " {:>8} {:>6}", f.moved, f.ask);
        }
        let _ = writeln!(
            s,
            " {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            f.mean, f.p50, f.p90, f.p99, f.p999, f.p9999, f.max
        );
    }
    let _ = writeln!(s, "(latencies in microseconds)");
    s
}

pub fn figures_json(f: &Figures) -> Value {
    json!({
        "count": f.count,
        "errors": f.errors,
        "moved": f.moved,
        "ask": f.ask,
        "redirects": f.moved + f.ask,
        "ops_per_sec": f.ops_per_sec,
        "mean": f.mean,
        "p50": f.p50,
        "p90": f.p90,
        "p99": f.p99,
        "p999": f.p999,
        "p9999": f.p9999,
        "max": f.max,
    })
}

/// The JSON summary of one run.
pub fn json(r: &Report) -> Value {
    let cfg = r.cfg;
    let o = &r.outcome;
    let mut commands = Map::new();
    for f in &r.per {
        commands.insert(f.name.clone(), figures_json(f));
    }
    json!({
        "tool": "slotkv-bench",
        "version": env!("CARGO_PKG_VERSION"),
        "label": r.label,
        "target": r.target,
        "server": r.server,
        "mode": if cfg.rate.is_some() { "open-loop" } else { "closed-loop" },
        "latency_measured_from": if cfg.rate.is_some() { "intended send time" } else { "actual send time" },
        "coordinated_omission_corrected": cfg.rate.is_some(),
        "latency_unit": "us",
        "config": {
            "clients": cfg.clients,
            "threads": cfg.threads,
            "pipeline": cfg.pipeline,
            "requests": cfg.requests,
            "duration": cfg.duration,
            "warmup": cfg.warmup,
            "rate": cfg.rate,
            "keyspace": r.wl.keyspace,
            "distribution": dist_name(cfg.dist),
            "data_size_min": r.wl.value_min,
            "data_size_max": r.wl.value_max,
            "commands": r.wl.templates.iter().map(|t| t.text.clone()).collect::<Vec<_>>(),
            "cluster": cfg.cluster,
            "seed": cfg.seed,
        },
        "elapsed_secs": o.elapsed_secs,
        "sent": o.stats.sent,
        "warmup_replies": o.stats.warmup_replies,
        "unsent": o.stats.unsent,
        "send_lag": if cfg.rate.is_some() && !o.stats.send_lag.is_empty() {
            let lag = &o.stats.send_lag;
            json!({
                "p50": lag.value_at_quantile(0.5) as f64 / 1000.0,
                "p99": lag.value_at_quantile(0.99) as f64 / 1000.0,
                "max": lag.max() as f64 / 1000.0,
            })
        } else {
            Value::Null
        },
        "client_cpu_secs": o.stats.cpu_secs,
        "ops_per_client_cpu_sec": r.ops_per_cpu_sec(),
        "interrupted": o.interrupted,
        "first_error": o.stats.first_error,
        "total": figures_json(&r.total),
        "commands": commands,
    })
}

pub const CSV_HEADER: &str = "label,command,count,errors,moved,ask,ops_per_sec,mean_us,p50_us,\
                              p90_us,p99_us,p999_us,p9999_us,max_us";

pub fn csv_row(label: &str, f: &Figures) -> String {
    format!(
        "{},{},{},{},{},{},{:.1},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2}",
        csv_field(label),
        csv_field(&f.name),
        f.count,
        f.errors,
        f.moved,
        f.ask,
        f.ops_per_sec,
        f.mean,
        f.p50,
        f.p90,
        f.p99,
        f.p999,
        f.p9999,
        f.max
    )
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The CSV summary: a header, one row per command, then the total.
pub fn csv(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{CSV_HEADER}");
    for f in r.per.iter().chain(std::iter::once(&r.total)) {
        let _ = writeln!(s, "{}", csv_row(&r.label, f));
    }
    s
}

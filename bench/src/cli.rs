//! Command-line interface.
//!
//! The flags scripts rely on (`--host --port --clients --threads --pipeline --requests
//! --duration --ratio --keyspace --data-size --rate --cluster --json`) keep their names and
//! meanings; everything else is additive. Validation happens here, once, so the engine can
//! assume a sane configuration.

use crate::keygen::KeyDist;
use crate::workload::{Template, Workload};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "slotkv-bench",
    version,
    about = "A latency-first load generator for RESP servers (slotkv, Redis, ...).",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Overlay HdrHistogram percentile-distribution files (.hgrm) in one SVG plot.
    Plot(PlotArgs),
    /// Print one markdown table summarizing compare-mode JSON files (`NAME=FILE` each).
    Summarize {
        #[arg(required = true)]
        inputs: Vec<String>,
    },
}

#[derive(Args, Debug)]
pub struct PlotArgs {
    /// Output SVG file.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Plot title.
    #[arg(long, default_value = "Latency by percentile")]
    pub title: String,
    /// Input files, each `LABEL=FILE` or just `FILE` (the file name is the label).
    #[arg(required = true)]
    pub inputs: Vec<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    Uniform,
    Zipf,
    Sequential,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Server host.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Server port.
    #[arg(long, short = 'p', default_value_t = 6379)]
    pub port: u16,
    /// Password for AUTH.
    #[arg(long, short = 'a')]
    pub password: Option<String>,
    /// User name for AUTH (ACL); needs --password.
    #[arg(long)]
    pub user: Option<String>,

    /// Connections in all (in cluster mode: logical clients, each with one connection per
    /// master).
    #[arg(long, short = 'c', default_value_t = 50)]
    pub clients: usize,
    /// Client threads: one pinned event loop each; connections are spread across them.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// CPUs to pin the threads to, e.g. `0,2`; default: the CPUs this process may run on, in
    /// order.
    #[arg(long, value_delimiter = ',')]
    pub cpus: Vec<usize>,
    /// Do not pin threads to CPUs.
    #[arg(long)]
    pub no_pin: bool,
    /// Requests per connection sent back to back before waiting for their replies (closed
    /// loop); in open loop, the most requests a connection may have outstanding.
    #[arg(long, short = 'P', default_value_t = 1)]
    pub pipeline: usize,

    /// Total measured requests (default 100000 unless --duration is given).
    #[arg(long, short = 'n', conflicts_with = "duration")]
    pub requests: Option<u64>,
    /// Measure for this many seconds instead of a request count.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Seconds of load before measuring starts; warm-up replies are not reported.
    #[arg(long, default_value_t = 0.0)]
    pub warmup: f64,
    /// Open loop: send this many requests per second in all, on a fixed schedule, and measure
    /// latency from each request's intended send time (coordinated-omission corrected).
    #[arg(long)]
    pub rate: Option<f64>,

    /// SET:GET mix, e.g. `1:10`, `1:0` (SET only), `0:1` (GET only).
    #[arg(long, default_value = "1:10")]
    pub ratio: String,
    /// Command template(s) instead of the SET/GET mix, e.g. `"HSET h __key__ __value__"`;
    /// `__key__` and `__value__` are replaced per request. Repeat to mix commands equally.
    #[arg(long = "command")]
    pub commands: Vec<String>,
    /// Number of distinct keys.
    #[arg(long, default_value_t = 100_000)]
    pub keyspace: u64,
    /// Key prefix; keys are PREFIX + a zero-padded number.
    #[arg(long, default_value = "key:")]
    pub key_prefix: String,
    /// Key distribution.
    #[arg(long, value_enum, default_value_t = Distribution::Uniform)]
    pub distribution: Distribution,
    /// Zipf exponent (with --distribution zipf); 0.99 is YCSB's default.
    #[arg(long, default_value_t = 0.99)]
    pub zipf_skew: f64,
    /// Value size in bytes: `N` or a range `MIN-MAX` (uniformly random per request).
    #[arg(long, short = 'd', default_value = "3")]
    pub data_size: String,
    /// Fill the whole key space with SET (sequentially) before measuring.
    #[arg(long)]
    pub preload: bool,
    /// Seed for keys and values (default: random).
    #[arg(long)]
    pub seed: Option<u64>,

    /// Cluster mode: read CLUSTER SLOTS, send each key to its owner, follow MOVED and ASK.
    #[arg(long)]
    pub cluster: bool,
    /// With --cluster: do not read CLUSTER SLOTS; start with every slot on the seed node and
    /// learn owners from MOVED replies (exercises redirect handling).
    #[arg(long, requires = "cluster")]
    pub cluster_learn: bool,

    /// Seconds any phase may wait (connect, set-up, a reply) before the run fails.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Exit with status 0 even if the server answered some requests with errors.
    #[arg(long)]
    pub allow_errors: bool,

    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Write a JSON summary to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a CSV summary to this file.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Write HdrHistogram percentile distributions to PREFIX.<COMMAND>.hgrm and
    /// PREFIX.total.hgrm (values in milliseconds).
    #[arg(long)]
    pub hdr_prefix: Option<String>,
    /// Write an SVG latency-by-percentile plot (in compare mode: both servers overlaid).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Name of this run in reports and plots (default: host:port).
    #[arg(long)]
    pub label: Option<String>,
    /// No live progress line (it is shown only on a terminal anyway).
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Compare mode: run the same workload against HOST:PORT too, alternating A B A B ...
    #[arg(long, value_name = "HOST:PORT")]
    pub compare: Option<String>,
    /// Name of the compared server in reports and plots.
    #[arg(long)]
    pub compare_label: Option<String>,
    /// Rounds in compare mode (each round runs A then B).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

/// Validated run parameters shared by every phase.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub clients: usize,
    pub threads: usize,
    pub cpus: Option<Vec<usize>>,
    pub pipeline: usize,
    pub requests: Option<u64>,
    pub duration: Option<f64>,
    pub warmup: f64,
    pub rate: Option<f64>,
    pub dist: KeyDist,
    pub seed: u64,
    pub timeout: f64,
    pub user: Option<String>,
    pub password: Option<String>,
    pub cluster: bool,
    pub cluster_learn: bool,
    pub progress: bool,
}

impl RunArgs {
    /// Checks the flags and builds the run configuration and the workload.
    pub fn validate(&self) -> Result<(RunConfig, Workload)> {
        if self.clients == 0 {
            bail!("--clients must be at least 1");
        }
        if self.threads == 0 || self.threads > self.clients {
            bail!(
                "--threads must be between 1 and --clients ({}), got {}",
                self.clients,
                self.threads
            );
        }
        if self.pipeline == 0 || self.pipeline > 100_000 {
            bail!("--pipeline must be between 1 and 100000");
        }
        if self.keyspace == 0 {
            bail!("--keyspace must be at least 1");
        }
        if self.requests == Some(0) {
            bail!("--requests must be at least 1");
        }
        for (name, v) in [
            ("--duration", self.duration),
            ("--rate", self.rate),
            ("--timeout", Some(self.timeout)),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && v > 0.0) {
                    bail!("{name} must be a positive number, got {v}");
                }
            }
        }
        if !(self.warmup.is_finite() && self.warmup >= 0.0) {
            bail!("--warmup must be zero or positive");
        }
        if !(self.zipf_skew.is_finite() && self.zipf_skew > 0.0) {
            bail!("--zipf-skew must be positive");
        }
        if self.user.is_some() && self.password.is_none() {
            bail!("--user needs --password");
        }
        if self.rounds == 0 {
            bail!("--rounds must be at least 1");
        }
        if !self.cpus.is_empty() && self.cpus.len() < self.threads {
            bail!(
                "--cpus lists {} CPUs for {} threads",
                self.cpus.len(),
                self.threads
            );
        }
        let (vmin, vmax) = parse_size_range(&self.data_size)?;
        let seed = self.seed.unwrap_or_else(rand::random);
        let weighted = if self.commands.is_empty() {
            let (s, g) = parse_ratio(&self.ratio)?;
            vec![
                (Template::parse("SET __key__ __value__")?, s),
                (Template::parse("GET __key__")?, g),
            ]
        } else {
            self.commands
                .iter()
                .map(|c| Ok((Template::parse(c)?, 1)))
                .collect::<Result<_>>()?
        };
        let workload = Workload::new(weighted, &self.key_prefix, self.keyspace, vmin, vmax, seed)?;
        let requests = match (self.requests, self.duration) {
            (None, None) => Some(100_000),
            (r, _) => r,
        };
        let dist = match self.distribution {
            Distribution::Uniform => KeyDist::Uniform,
            Distribution::Zipf => KeyDist::Zipf {
                skew: self.zipf_skew,
            },
            Distribution::Sequential => KeyDist::Sequential,
        };
        use std::io::IsTerminal;
        let cfg = RunConfig {
            clients: self.clients,
            threads: self.threads,
            cpus: if self.no_pin {
                None
            } else if self.cpus.is_empty() {
                Some(allowed_cpus())
            } else {
                Some(self.cpus.clone())
            },
            pipeline: self.pipeline,
            requests,
            duration: self.duration,
            warmup: self.warmup,
            rate: self.rate,
            dist,
            seed,
            timeout: self.timeout,
            user: self.user.clone(),
            password: self.password.clone(),
            cluster: self.cluster,
            cluster_learn: self.cluster_learn,
            progress: !self.quiet && std::io::stderr().is_terminal(),
        };
        Ok((cfg, workload))
    }
}

/// CPUs this process may run on (respects `taskset`).
fn allowed_cpus() -> Vec<usize> {
    core_affinity::get_core_ids()
        .map(|ids| ids.into_iter().map(|c| c.id).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![0])
}

/// `SET:GET`, e.g. `1:10`.
pub fn parse_ratio(s: &str) -> Result<(u64, u64)> {
    let (a, b) = s
        .split_once(':')
        .with_context(|| format!("--ratio must look like SET:GET (e.g. 1:10), got {s:?}"))?;
    let a: u64 = a
        .trim()
        .parse()
        .with_context(|| format!("bad --ratio {s:?}"))?;
    let b: u64 = b
        .trim()
        .parse()
        .with_context(|| format!("bad --ratio {s:?}"))?;
    if a == 0 && b == 0 {
        bail!("--ratio 0:0 sends nothing");
    }
    Ok((a, b))
}

/// `N` or `MIN-MAX`.
pub fn parse_size_range(s: &str) -> Result<(usize, usize)> {
    let parse = |t: &str| -> Result<usize> {
        t.trim()
            .parse()
            .with_context(|| format!("--data-size must be N or MIN-MAX, got {s:?}"))
    };
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => {
            let n = parse(s)?;
            (n, n)
        }
    };
    if a > b {
        bail!("--data-size range {s:?} has MIN > MAX");
    }
    if b > 512 * 1024 * 1024 {
        bail!("--data-size above 512 MiB is not supported");
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ratio_and_sizes() {
        assert_eq!(parse_ratio("1:10").unwrap(), (1, 10));
        assert_eq!(parse_ratio("0:1").unwrap(), (0, 1));
        assert!(parse_ratio("0:0").is_err());
        assert!(parse_ratio("3").is_err());
        assert_eq!(parse_size_range("32").unwrap(), (32, 32));
        assert_eq!(parse_size_range("10-100").unwrap(), (10, 100));
        assert!(parse_size_range("100-10").is_err());
        assert!(parse_size_range("x").is_err());
    }

    #[test]
    fn rejects_impossible_combinations() {
        let args = |extra: &[&str]| {
            let mut v = vec!["slotkv-bench"];
            v.extend_from_slice(extra);
            Cli::try_parse_from(v).map(|c| c.run.validate())
        };
        assert!(args(&["--threads", "3", "--clients", "2"])
            .unwrap()
            .is_err());
        assert!(args(&["--rate", "0"]).unwrap().is_err());
        assert!(args(&["--requests", "5", "--duration", "1"]).is_err());
        assert!(args(&["--cluster-learn"]).is_err());
        let (cfg, w) = args(&["--ratio", "1:0", "-P", "16"]).unwrap().unwrap();
        assert_eq!(cfg.requests, Some(100_000));
        assert_eq!(cfg.pipeline, 16);
        assert_eq!(w.templates.len(), 1);
        assert_eq!(w.templates[0].name, "SET");
    }
}

//! `slotkv-bench`: a load generator for RESP servers that puts latency first.
//!
//! # The measurement model
//!
//! **Closed loop** (default). Each connection sends `--pipeline` requests, waits for every reply,
//! and only then sends the next batch. A request's latency runs from the moment its batch was
//! written to the socket to the moment its reply was read. This is what redis-benchmark and
//! memtier_benchmark measure, and it answers "how fast does one client see replies while the
//! server is kept busy". It has a blind spot, *coordinated omission*: when the server stalls for
//! 100 ms, a closed-loop client stalls with it and simply does not send the requests it would
//! have sent meanwhile. One slow reply is recorded instead of the thousands a real population of
//! users would have suffered, and the high percentiles look far better than reality.
//!
//! **Open loop** (`--rate R`). Requests follow a fixed schedule, `R` per second in all; request
//! *k* of a connection is *due* at `phase + k / (R / clients)`. It is sent as soon as it is due
//! and the connection has fewer than `--pipeline` requests outstanding, and its latency runs from
//! the **due time**, not the send time. A stall now shows up in every request that fell due
//! during it, as it would for real users: the coordinated-omission correction (as in wrk2). If
//! the server cannot keep up, latency grows without bound — which is the honest answer. In
//! duration mode the requests that fell due but were never sent are reported as `unsent`.
//!
//! Every output states which mode produced it. Latencies go into HDR histograms (3 significant
//! digits, one per command per thread, merged at the end); a warm-up period (`--warmup`) runs
//! the same load but is excluded from every figure. Client CPU time is measured per thread with
//! `getrusage`, so each report also says what the measurement cost the client.
//!
//! # Layout
//!
//! * `cli` — flags and their validation;
//! * `workload`, `keygen` — pre-encoded command templates and key distributions;
//! * `conn`, `client`, `engine`, `poller` — one connection, one client's request schedule, the
//!   pinned per-thread event loops (epoll) that drive the clients;
//! * `cluster`, `probe` — slot routing and the pre-flight check (reachability, AUTH, CLUSTER SLOTS);
//! * `stats`, `progress` — histograms and counters, the live progress line;
//! * `output`, `hgrm`, `plot` — table/JSON/CSV, percentile-distribution files, SVG plots;
//! * `compare`, `summarize` — A/B alternation with per-round ratios; markdown summaries of it.
//!
//! # Exit status
//!
//! 0 on success; 1 when the run could not be done (unreachable server, AUTH failure, timeout,
//! bad flags); 3 when it completed but the server answered some requests with errors (unless
//! `--allow-errors`); 130 when interrupted with Ctrl-C (the partial report is still printed).

mod cli;
mod client;
mod cluster;
mod compare;
mod conn;
mod engine;
mod hgrm;
mod keygen;
mod output;
mod plot;
mod poller;
mod probe;
mod progress;
mod stats;
mod summarize;
mod workload;

use anyhow::{bail, Context, Result};
use clap::Parser;
use cli::{Cli, Command, OutputFormat, PlotArgs, RunArgs, RunConfig};
use compare::{merged_histograms, Comparison};
use engine::Target;
use hdrhistogram::Histogram;
use output::Report;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use workload::{Template, Workload};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("slotkv-bench: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn real_main(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Some(Command::Plot(p)) => {
            plot_files(p)?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Summarize { inputs }) => {
            print!("{}", summarize::markdown(inputs)?);
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
    }
    let args = cli.run;
    let (cfg, wl) = args.validate()?;
    raise_fd_limit();
    let interrupt = Arc::new(AtomicBool::new(false));
    // A second Ctrl-C exits at once; the first one stops the run and reports what it has.
    signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGINT,
        130,
        interrupt.clone(),
    )?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, interrupt.clone())?;

    let cfg = Arc::new(cfg);
    let wl = Arc::new(wl);
    let a_addr = cluster::join_host_port(&args.host, i64::from(args.port));
    let a_label = args.label.clone().unwrap_or_else(|| a_addr.clone());
    let (a, a_server) = prepare(&a_addr, &args.host, &cfg)?;
    let b = match &args.compare {
        Some(spec) => {
            let (host, port) = cluster::parse_endpoint(spec)?;
            let addr = cluster::join_host_port(&host, i64::from(port));
            let label = args.compare_label.clone().unwrap_or_else(|| addr.clone());
            let (t, server) = prepare(&addr, &host, &cfg)?;
            Some((t, server, label))
        }
        None => None,
    };
    if args.preload {
        preload(&a, &cfg, &wl, &interrupt)?;
        if let Some((t, _, _)) = &b {
            preload(t, &cfg, &wl, &interrupt)?;
        }
    }

    let run_one = |t: &Target, label: &str, server: &Option<String>| -> Result<Report> {
        let outcome = engine::run(t, cfg.clone(), wl.clone(), interrupt.clone(), label)?;
        Ok(Report::new(
            label.to_string(),
            t.addr.clone(),
            server.clone(),
            &cfg,
            &wl,
            outcome,
        ))
    };

    let Some((b, b_server, b_label)) = b else {
        let report = run_one(&a, &a_label, &a_server)?;
        write_single(&args, &report)?;
        return Ok(exit_status(&args, &cfg, &[&report]));
    };

    let mut cmp = Comparison {
        a: Vec::new(),
        b: Vec::new(),
    };
    for round in 0..args.rounds {
        if cfg.progress {
            eprintln!("round {}/{}", round + 1, args.rounds);
        }
        cmp.a.push(run_one(&a, &a_label, &a_server)?);
        if interrupted(&interrupt) {
            break;
        }
        cmp.b.push(run_one(&b, &b_label, &b_server)?);
        if interrupted(&interrupt) {
            break;
        }
    }
    if cmp.b.is_empty() {
        bail!("interrupted before the first round finished");
    }
    cmp.a.truncate(cmp.b.len());
    write_compare(&args, &cmp)?;
    let all: Vec<&Report> = cmp.a.iter().chain(&cmp.b).collect();
    Ok(exit_status(&args, &cfg, &all))
}

/// Thousands of connections need more descriptors than the usual soft limit of 1024: raise
/// it to the hard limit (failure is harmless; connecting will then report the real error).
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn interrupted(flag: &AtomicBool) -> bool {
    flag.load(std::sync::atomic::Ordering::Relaxed)
}

/// Probes a server and builds the target description.
fn prepare(addr: &str, host: &str, cfg: &RunConfig) -> Result<(Target, Option<String>)> {
    let info = probe::probe(addr, host, cfg)?;
    Ok((
        Target {
            addr: addr.to_string(),
            topology: info.topology,
            setup: probe::setup_commands(cfg),
        },
        info.version,
    ))
}

/// Writes every key of the key space once (SET, sequential keys) before measuring.
fn preload(
    target: &Target,
    cfg: &Arc<RunConfig>,
    wl: &Arc<Workload>,
    interrupt: &Arc<AtomicBool>,
) -> Result<()> {
    let clients = (cfg.clients as u64).min(wl.keyspace) as usize;
    let mut pcfg = (**cfg).clone();
    pcfg.clients = clients;
    pcfg.threads = cfg.threads.min(clients);
    pcfg.pipeline = cfg.pipeline.max(16);
    pcfg.requests = Some(wl.keyspace);
    pcfg.duration = None;
    pcfg.warmup = 0.0;
    pcfg.rate = None;
    pcfg.dist = keygen::KeyDist::Sequential;
    let pwl = Workload::new(
        vec![(Template::parse("SET __key__ __value__")?, 1)],
        &String::from_utf8_lossy(&wl.key_prefix),
        wl.keyspace,
        wl.value_min,
        wl.value_max,
        cfg.seed,
    )?;
    let label = format!("preload {}", target.addr);
    let o = engine::run(
        target,
        Arc::new(pcfg),
        Arc::new(pwl),
        interrupt.clone(),
        &label,
    )
    .context("preload failed")?;
    if o.stats.errors() > 0 {
        bail!(
            "preload: {} SETs failed on {}; first error: {}",
            o.stats.errors(),
            target.addr,
            o.stats.first_error.as_deref().unwrap_or("?")
        );
    }
    eprintln!(
        "preloaded {} keys on {} in {:.2} s",
        o.stats.replies(),
        target.addr,
        o.elapsed_secs
    );
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn hgrm_path(prefix: &str, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(format!("{prefix}.{safe}.hgrm"))
}

fn histograms_of(report: &Report) -> Vec<(String, Histogram<u64>)> {
    let mut v: Vec<(String, Histogram<u64>)> = report
        .per
        .iter()
        .zip(&report.outcome.stats.cmds)
        .map(|(f, c)| (f.name.clone(), c.hist.clone()))
        .collect();
    v.push(("total".into(), report.outcome.stats.total_histogram()));
    v
}

fn write_single(args: &RunArgs, report: &Report) -> Result<()> {
    let json = output::json(report);
    match args.output {
        OutputFormat::Table => print!("{}", output::table(report)),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&json)?),
        OutputFormat::Csv => print!("{}", output::csv(report)),
    }
    if let Some(p) = &args.json {
        write_file(p, &serde_json::to_string_pretty(&json)?)?;
    }
    if let Some(p) = &args.csv {
        write_file(p, &output::csv(report))?;
    }
    let hists = histograms_of(report);
    if let Some(prefix) = &args.hdr_prefix {
        for (name, h) in &hists {
            hgrm::write(&hgrm_path(prefix, name), h)?;
        }
    }
    if let Some(p) = &args.plot {
        // One command: its curve only; several: each command and the total.
        let curves: Vec<(String, hgrm::Series)> = hists
            .iter()
            .filter(|(name, _)| hists.len() > 2 || name != "total")
            .map(|(name, h)| (format!("{} {name}", report.label), hgrm::series(h)))
            .collect();
        let title = format!("Latency by percentile — {}", output::mode_short(report.cfg));
        write_file(p, &plot::render(&title, &curves))?;
    }
    Ok(())
}

fn write_compare(args: &RunArgs, cmp: &Comparison) -> Result<()> {
    let json = cmp.json();
    match args.output {
        OutputFormat::Table => print!("{}", cmp.table()),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&json)?),
        OutputFormat::Csv => print!("{}", cmp.csv()),
    }
    if let Some(p) = &args.json {
        write_file(p, &serde_json::to_string_pretty(&json)?)?;
    }
    if let Some(p) = &args.csv {
        write_file(p, &cmp.csv())?;
    }
    let sides = [
        (cmp.a[0].label.clone(), merged_histograms(&cmp.a)),
        (cmp.b[0].label.clone(), merged_histograms(&cmp.b)),
    ];
    if let Some(prefix) = &args.hdr_prefix {
        for (label, hists) in &sides {
            for (name, h) in hists {
                hgrm::write(&hgrm_path(prefix, &format!("{label}.{name}")), h)?;
            }
        }
    }
    if let Some(p) = &args.plot {
        let mut curves = Vec::new();
        for (label, hists) in &sides {
            for (name, h) in hists {
                if hists.len() > 2 || name != "total" {
                    curves.push((format!("{label} {name}"), hgrm::series(h)));
                }
            }
        }
        let rounds = cmp.a.len();
        let title = format!(
            "Latency by percentile, {rounds} round{} each — {}",
            if rounds == 1 { "" } else { "s" },
            output::mode_short(cmp.a[0].cfg)
        );
        write_file(p, &plot::render(&title, &curves))?;
    }
    Ok(())
}

/// Decides the exit status and explains a non-zero one on stderr.
fn exit_status(args: &RunArgs, cfg: &RunConfig, reports: &[&Report]) -> ExitCode {
    let errors: u64 = reports.iter().map(|r| r.total.errors).sum();
    let replies: u64 = reports.iter().map(|r| r.total.count).sum();
    let interrupted = reports.iter().any(|r| r.outcome.interrupted);
    if errors > 0 {
        let first = reports
            .iter()
            .find_map(|r| r.outcome.stats.first_error.clone())
            .unwrap_or_default();
        let hint = if !cfg.cluster && (first.starts_with("MOVED") || first.starts_with("ASK")) {
            " (the server is a cluster node: add --cluster)"
        } else {
            ""
        };
        eprintln!(
            "slotkv-bench: {errors} of {replies} requests got error replies; first: {first}{hint}"
        );
    }
    if interrupted {
        eprintln!("slotkv-bench: interrupted; the figures above cover the part that ran");
        return ExitCode::from(130);
    }
    if errors > 0 && !args.allow_errors {
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}

/// `slotkv-bench plot`: overlay existing .hgrm files.
fn plot_files(p: &PlotArgs) -> Result<()> {
    let mut curves = Vec::new();
    for input in &p.inputs {
        let (label, path) = match input.split_once('=') {
            Some((l, f)) => (l.to_string(), PathBuf::from(f)),
            None => {
                let path = PathBuf::from(input);
                let label = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| input.clone());
                (label, path)
            }
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let series = hgrm::parse(&text).with_context(|| format!("in {}", path.display()))?;
        curves.push((label, series));
    }
    write_file(&p.out, &plot::render(&p.title, &curves))
}

//! Runs one phase (preload, or one measured run) on pinned client threads.
//!
//! One thread per `--threads`, each pinned to its own CPU and running one event loop (epoll, see
//! `poller` for why) over its clients; client `i` lives on thread `i mod threads`. Every thread
//! first opens all of its connections (and runs AUTH on them), then all threads meet at a barrier
//! and take the same time zero, so connection set-up is never part of a measurement and every
//! thread's warm-up ends at the same instant.
//!
//! Nothing can hang: connects and set-up have timeouts, each event loop fails the run when a
//! client has waited longer than `--timeout` for a reply, and the main thread gives up on the
//! run when a thread's heartbeat stops for much longer than that.

use crate::cli::RunConfig;
use crate::client::{Client, ThreadCtx, NODE_BITS};
use crate::cluster::Topology;
use crate::conn::Conn;
use crate::poller::{tighten_timer_slack, Poller};
use crate::progress::{ProgressLine, ThreadProgress};
use crate::stats::RunStats;
use crate::workload::Workload;
use anyhow::{anyhow, Context, Result};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, OnceLock};
use std::time::{Duration, Instant};

/// The server a phase runs against.
#[derive(Clone, Debug)]
pub struct Target {
    /// `host:port` of the seed node.
    pub addr: String,
    pub topology: Topology,
    pub setup: Vec<Vec<u8>>,
}

/// What a phase measured.
#[derive(Debug)]
pub struct Outcome {
    pub stats: RunStats,
    /// From the end of warm-up to the last measured reply.
    pub elapsed_secs: f64,
    pub interrupted: bool,
}

const ABORTED: &str = "stopped because another client thread failed";

struct Shared {
    barrier: Barrier,
    start: OnceLock<Instant>,
    stop: Arc<AtomicBool>,
    progress: Vec<ThreadProgress>,
}

/// Runs `wl` against `target` and returns the merged measurements.
pub fn run(
    target: &Target,
    cfg: Arc<RunConfig>,
    wl: Arc<Workload>,
    interrupt: Arc<AtomicBool>,
    label: &str,
) -> Result<Outcome> {
    let shared = Arc::new(Shared {
        barrier: Barrier::new(cfg.threads),
        start: OnceLock::new(),
        stop: Arc::new(AtomicBool::new(false)),
        progress: (0..cfg.threads)
            .map(|_| ThreadProgress::default())
            .collect(),
    });
    let (tx, rx) = mpsc::channel::<(usize, Result<RunStats>)>();
    let mut handles = Vec::with_capacity(cfg.threads);
    for t in 0..cfg.threads {
        let (cfg, wl, shared, tx, interrupt) = (
            cfg.clone(),
            wl.clone(),
            shared.clone(),
            tx.clone(),
            interrupt.clone(),
        );
        let target = target.clone();
        let cpu = cfg.cpus.as_ref().map(|c| c[t % c.len()]);
        let handle = std::thread::Builder::new()
            .name(format!("slotkv-bench-{t}"))
            .spawn(move || {
                if let Some(id) = cpu {
                    core_affinity::set_for_current(core_affinity::CoreId { id });
                }
                let r = thread_main(t, cfg, wl, target, &shared, interrupt);
                if r.is_err() {
                    shared.stop.store(true, Ordering::Relaxed);
                }
                let _ = tx.send((t, r));
            })
            .with_context(|| format!("cannot start client thread {t}"))?;
        handles.push(handle);
    }
    drop(tx);

    let mut line = ProgressLine::new(cfg.progress, label);
    let mut results: Vec<Option<Result<RunStats>>> = (0..cfg.threads).map(|_| None).collect();
    let mut pending = cfg.threads;
    let mut last_tick = Instant::now();
    let mut last_change = Instant::now();
    let mut last_beats = 0;
    let give_up = Duration::from_secs_f64(cfg.timeout * 3.0 + 10.0);
    while pending > 0 {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok((t, r)) => {
                results[t] = Some(r);
                pending -= 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                line.finish();
                return Err(anyhow!("a client thread died without a result"));
            }
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            line.tick(&shared.progress);
            let beats = ThreadProgress::heartbeats(&shared.progress);
            if beats != last_beats {
                last_beats = beats;
                last_change = Instant::now();
            } else if last_change.elapsed() > give_up {
                line.finish();
                return Err(anyhow!(
                    "client threads stopped responding for {:.0}s; giving up",
                    give_up.as_secs_f64()
                ));
            }
        }
    }
    line.finish();
    for h in handles {
        let _ = h.join();
    }

    let mut merged = RunStats::new(wl.templates.len());
    let mut first_err: Option<anyhow::Error> = None;
    for r in results.into_iter().flatten() {
        match r {
            Ok(s) => merged.merge(&s),
            Err(e) => {
                let secondary = e.to_string() == ABORTED;
                if first_err.is_none() || (!secondary && first_is_secondary(&first_err)) {
                    first_err = Some(e);
                }
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let measure_start_ns = (cfg.warmup * 1e9) as u64;
    let elapsed_secs = merged.last_reply_ns.saturating_sub(measure_start_ns) as f64 / 1e9;
    Ok(Outcome {
        stats: merged,
        elapsed_secs,
        interrupted: interrupt.load(Ordering::Relaxed),
    })
}

fn first_is_secondary(e: &Option<anyhow::Error>) -> bool {
    e.as_ref().is_some_and(|e| e.to_string() == ABORTED)
}

fn connect_clients(
    clients: &[usize],
    target: &Target,
    timeout: Duration,
    progress: &ThreadProgress,
) -> Result<Vec<Vec<Option<Conn>>>> {
    clients
        .iter()
        .map(|_| {
            target
                .topology
                .nodes
                .iter()
                .map(|addr| {
                    let c = Conn::open(addr, &target.setup, timeout)?;
                    progress.beat();
                    Ok(Some(c))
                })
                .collect()
        })
        .collect()
}

fn thread_main(
    t: usize,
    cfg: Arc<RunConfig>,
    wl: Arc<Workload>,
    target: Target,
    shared: &Shared,
    interrupt: Arc<AtomicBool>,
) -> Result<RunStats> {
    tighten_timer_slack();
    let timeout = Duration::from_secs_f64(cfg.timeout);
    let mine: Vec<usize> = (t..cfg.clients).step_by(cfg.threads).collect();
    let connected = connect_clients(&mine, &target, timeout, &shared.progress[t]);
    if connected.is_err() {
        shared.stop.store(true, Ordering::Relaxed);
    }
    shared.barrier.wait();
    let conns = connected?;
    if shared.stop.load(Ordering::Relaxed) {
        return Err(anyhow!(ABORTED));
    }
    let base = *shared.start.get_or_init(Instant::now);
    let cpu_before = thread_cpu_secs();
    let measure_start_ns = (cfg.warmup * 1e9) as u64;
    let ctx = Rc::new(ThreadCtx {
        cfg: cfg.clone(),
        wl: wl.clone(),
        topo: RefCell::new(target.topology.clone()),
        stats: RefCell::new(RunStats::new(wl.templates.len())),
        base,
        measure_start_ns,
        end_ns: cfg.duration.map(|d| measure_start_ns + (d * 1e9) as u64),
        stop: shared.stop.clone(),
        interrupt,
        setup: target.setup.clone(),
        timeout,
    });
    let poller = Poller::new().context("creating the epoll instance")?;
    let mut clients = Vec::with_capacity(mine.len());
    for (slot, (&index, conns)) in mine.iter().zip(conns).enumerate() {
        let c = Client::new(ctx.clone(), slot, index, conns);
        c.register(&poller)?;
        clients.push(c);
    }
    event_loop(t, &ctx, poller, &mut clients, shared)?;
    let mut stats = ctx.stats.replace(RunStats::new(0));
    stats.unsent = clients.iter().map(|c| c.unsent).sum();
    stats.cpu_secs = thread_cpu_secs() - cpu_before;
    shared.progress[t].publish(stats.replies() + stats.warmup_replies, stats.errors(), 0);
    Ok(stats)
}

/// Drives this thread's clients until all are finished.
fn event_loop(
    t: usize,
    ctx: &ThreadCtx,
    mut poller: Poller,
    clients: &mut [Client],
    shared: &Shared,
) -> Result<()> {
    const WATCH_NS: u64 = 100_000_000;
    let open = ctx.cfg.rate.is_some();
    let timeout_ns = ctx.timeout.as_nanos() as u64;
    let mask = (1u64 << NODE_BITS) - 1;
    let mut events = Vec::with_capacity(256);
    let now = ctx.now_ns();
    if !open {
        for c in clients.iter_mut() {
            c.next_batch(&poller)?;
        }
    }
    let mut next_watch = now + WATCH_NS;
    let mut watches = 0u64;
    loop {
        let mut wake = next_watch;
        if open {
            let now = ctx.now_ns();
            for c in clients.iter_mut() {
                if let Some(due) = c.tick_open(&poller, now)? {
                    wake = wake.min(due);
                }
            }
        }
        let mut all_done = true;
        for c in clients.iter_mut() {
            if c.finished() {
                c.close();
            } else {
                all_done = false;
            }
        }
        if all_done {
            return Ok(());
        }
        let now = ctx.now_ns();
        poller
            .wait(
                &mut events,
                Some(Duration::from_nanos(wake.saturating_sub(now))),
            )
            .context("epoll_wait")?;
        for ev in &events {
            let slot = (ev.token >> NODE_BITS) as usize;
            clients[slot].on_event(&poller, (ev.token & mask) as usize, *ev)?;
        }
        let now = ctx.now_ns();
        if now >= next_watch {
            next_watch = now + WATCH_NS;
            watches += 1;
            for c in clients.iter() {
                if c.outstanding > 0 && now.saturating_sub(c.last_progress_ns) > timeout_ns {
                    return Err(anyhow!(
                        "timed out: no reply from {} for {:.1}s ({} requests outstanding on client {})",
                        c.waiting_on(),
                        ctx.timeout.as_secs_f64(),
                        c.outstanding,
                        c.index()
                    ));
                }
            }
            publish(t, ctx, shared, watches % 10 == 5);
        }
    }
}

/// Copies this thread's totals where the main thread can read them; the p99 (a histogram
/// merge) only when asked and only when the progress line is shown.
fn publish(t: usize, ctx: &ThreadCtx, shared: &Shared, with_p99: bool) {
    let st = ctx.stats.borrow();
    let progress = &shared.progress[t];
    let p99 = if ctx.cfg.progress && with_p99 {
        let h = st.total_histogram();
        if h.is_empty() {
            0
        } else {
            h.value_at_quantile(0.99)
        }
    } else {
        progress.p99_ns.load(Ordering::Relaxed)
    };
    progress.publish(st.replies() + st.warmup_replies, st.errors(), p99);
}

/// CPU time (user + system) of the calling thread.
pub fn thread_cpu_secs() -> f64 {
    rusage_secs(libc::RUSAGE_THREAD)
}

fn rusage_secs(who: libc::c_int) -> f64 {
    // SAFETY: getrusage only writes into the struct we pass; zeroed is a valid rusage.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage for the duration of the call.
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

//! Runs one phase (preload, or one measured run) on pinned glommio executors.
//!
//! One executor per `--threads`, each pinned to its own CPU; client `i` lives on thread
//! `i mod threads`. Every thread first opens all of its connections (and runs AUTH on them),
//! then all threads meet at a barrier and take the same time zero, so connection set-up is never
//! part of a measurement and every thread's warm-up ends at the same instant.
//!
//! Nothing can hang: connects and set-up have timeouts, each thread runs a watchdog that fails
//! the run when a client has waited longer than `--timeout` for a reply, and the main thread
//! gives up when the published reply counters stop moving for much longer than that.

use crate::cli::RunConfig;
use crate::client::{Client, Health, ThreadCtx};
use crate::cluster::Topology;
use crate::conn::Conn;
use crate::progress::{ProgressLine, ThreadProgress};
use crate::stats::RunStats;
use crate::workload::Workload;
use anyhow::{anyhow, Result};
use glommio::{LocalExecutorBuilder, Placement};
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
        progress: (0..cfg.threads).map(|_| ThreadProgress::default()).collect(),
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
        let handle = LocalExecutorBuilder::new(Placement::Unbound)
            .name(&format!("slotkv-bench-{t}"))
            .io_memory(64 * 1024)
            .spawn(move || async move {
                if let Some(id) = cpu {
                    core_affinity::set_for_current(core_affinity::CoreId { id });
                }
                let r = thread_main(t, cfg, wl, target, shared, interrupt).await;
                let _ = tx.send((t, r));
            })
            .map_err(|e| anyhow!("cannot start client thread {t}: {e}"))?;
        handles.push(handle);
    }
    drop(tx);

    let mut line = ProgressLine::new(cfg.progress, label);
    let mut results: Vec<Option<Result<RunStats>>> = (0..cfg.threads).map(|_| None).collect();
    let mut pending = cfg.threads;
    let mut last_tick = Instant::now();
    let mut last_change = Instant::now();
    let mut last_replies = 0;
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
            let (replies, _, _) = ProgressLine::totals(&shared.progress);
            if replies != last_replies {
                last_replies = replies;
                last_change = Instant::now();
            } else if last_change.elapsed() > give_up {
                line.finish();
                return Err(anyhow!(
                    "no progress for {:.0}s; giving up (client threads are stuck)",
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

async fn connect_clients(
    clients: &[usize],
    target: &Target,
    timeout: Duration,
) -> Result<Vec<Vec<Option<Conn>>>> {
    let mut all = Vec::with_capacity(clients.len());
    for _ in clients {
        let mut conns = Vec::with_capacity(target.topology.nodes.len());
        for addr in &target.topology.nodes {
            let mut c = Conn::connect(addr, timeout).await?;
            c.handshake(&target.setup, timeout).await?;
            conns.push(Some(c));
        }
        all.push(conns);
    }
    Ok(all)
}

async fn thread_main(
    t: usize,
    cfg: Arc<RunConfig>,
    wl: Arc<Workload>,
    target: Target,
    shared: Arc<Shared>,
    interrupt: Arc<AtomicBool>,
) -> Result<RunStats> {
    let timeout = Duration::from_secs_f64(cfg.timeout);
    let mine: Vec<usize> = (t..cfg.clients).step_by(cfg.threads).collect();
    let connected = connect_clients(&mine, &target, timeout).await;
    if connected.is_err() {
        shared.stop.store(true, Ordering::Relaxed);
    }
    // Blocking here is fine: this thread has nothing else to run until everyone is connected.
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
        end_ns: cfg
            .duration
            .map(|d| measure_start_ns + (d * 1e9) as u64),
        stop: shared.stop.clone(),
        interrupt,
        setup: target.setup.clone(),
    });
    let mut healths = Vec::with_capacity(mine.len());
    let mut tasks = Vec::with_capacity(mine.len());
    for (&index, conns) in mine.iter().zip(conns) {
        let health = Rc::new(Health::default());
        healths.push(health.clone());
        let client = Client::new(ctx.clone(), index, conns, health);
        tasks.push(glommio::spawn_local(client.run()));
    }
    let all = async {
        let mut first_err = None;
        let mut unsent = 0;
        for task in tasks {
            match task.await {
                Ok(u) => unsent += u,
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(unsent),
        }
    };
    let unsent = futures_lite::future::or(all, watchdog(t, &ctx, &healths, &shared)).await?;
    let mut stats = ctx.stats.replace(RunStats::new(0));
    stats.unsent = unsent;
    stats.cpu_secs = thread_cpu_secs() - cpu_before;
    shared.progress[t].publish(
        stats.replies() + stats.warmup_replies,
        stats.errors(),
        0,
    );
    Ok(stats)
}

/// Fails the thread when a client waits longer than the timeout; publishes progress meanwhile.
/// Never returns `Ok`: it only ends the race when something is wrong.
async fn watchdog(
    t: usize,
    ctx: &ThreadCtx,
    healths: &[Rc<Health>],
    shared: &Shared,
) -> Result<u64> {
    let timeout_ns = (ctx.cfg.timeout * 1e9) as u64;
    let tick = Duration::from_millis(100);
    let mut ticks = 0u64;
    loop {
        glommio::timer::sleep(tick).await;
        ticks += 1;
        let now = ctx.now_ns();
        for h in healths {
            if h.outstanding.get() > 0 && now.saturating_sub(h.last_ns.get()) > timeout_ns {
                shared.stop.store(true, Ordering::Relaxed);
                let nodes = ctx.topo.borrow().nodes.join(", ");
                return Err(anyhow!(
                    "timed out: no reply from {nodes} for {:.1}s ({} requests outstanding)",
                    ctx.cfg.timeout,
                    h.outstanding.get()
                ));
            }
        }
        if ticks % 10 == 0 {
            let st = ctx.stats.borrow();
            let p99 = if ctx.cfg.progress {
                let h = st.total_histogram();
                if h.is_empty() {
                    0
                } else {
                    h.value_at_quantile(0.99)
                }
            } else {
                0
            };
            shared.progress[t].publish(st.replies() + st.warmup_replies, st.errors(), p99);
        }
    }
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

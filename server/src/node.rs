//! Starting and stopping a node: one pinned glommio executor per core, joined by a channel mesh.
//!
//! Start-up, per core: join the mesh, open the core's RocksDB instance (`<dir>/core-N`), bind the shared
//! port, then serve. The main thread only waits: for SIGTERM/SIGINT (or SHUTDOWN), it raises the node's
//! shutdown flag; each core then stops accepting, lets its connections finish the replies in flight,
//! flushes its memtables, purges its Raft log behind them, syncs the log and closes its instance.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use glommio::channels::channel_mesh::MeshBuilder;
use glommio::{LocalExecutorBuilder, Placement};

use crate::config::Config;
use crate::layout::Layout;
use crate::net::client::ClientRegistry;
use crate::replication::{CoreLog, LogError};
use crate::shard::{expiry, mesh, Mesh, MeshMsgAlias, Node, Settings, Shard, Stats};
use crate::statemachine::durability::{self, Durability};
use crate::storage::{StorageError, Store};

/// Why a node could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("Could not create server TCP listening socket {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot create data folder {dir}: {source}")]
    Dir { dir: String, source: std::io::Error },
    #[error("cannot start RocksDB's background threads: {0}")]
    Background(tuning::TuningError),
    #[error("core {core}: {message}")]
    Core { core: usize, message: String },
}

/// Runs a node until it is shut down.
pub fn run(config: Config) -> Result<(), NodeError> {
    config.validate()?;
    let cores = config.core_count();
    std::fs::create_dir_all(&config.dir).map_err(|source| NodeError::Dir {
        dir: config.dir.display().to_string(),
        source,
    })?;
    let layout = Layout::load_or_create(&config.dir, cores)?;

    // Probe the address without SO_REUSEPORT: fails if anything (another slotkv included) holds it, and
    // resolves port 0 to the port every core will share.
    let addr = SocketAddr::new(config.bind, config.port);
    let probe =
        std::net::TcpListener::bind(addr).map_err(|source| NodeError::Bind { addr, source })?;
    let port = probe
        .local_addr()
        .map_err(|source| NodeError::Bind { addr, source })?
        .port();
    drop(probe);

    let node = Arc::new(Node {
        cores,
        layout,
        port,
        run_id: run_id(),
        started: Instant::now(),
        started_unix: crate::shard::now_ms() / 1000,
        shutdown: AtomicBool::new(false),
        connected_clients: AtomicUsize::new(0),
        drained_cores: AtomicUsize::new(0),
        ready_cores: AtomicUsize::new(0),
        next_client_id: AtomicU64::new(1),
        config,
    });

    // Here, on the unpinned main thread: the cores' threads are each pinned to one CPU, and a RocksDB pool
    // grown from one of them would run every core's flushes and compactions on that CPU.
    let pools = node
        .config
        .rocksdb
        .start_background_pools(cores)
        .map_err(NodeError::Background)?;
    log::info!(
        "RocksDB background threads: {} flush, {} compaction",
        pools.flush,
        pools.compaction
    );
    let signals = spawn_signal_thread(node.clone());
    let mesh = MeshBuilder::<MeshMsgAlias, _>::full(cores, 4096);
    let mut handles = Vec::with_capacity(cores);
    let cpus = crate::config::allowed_cpus();
    for core in 0..cores {
        let placement = match cpus.get(core) {
            Some(&cpu) if node.config.pin_cores => Placement::Fixed(cpu),
            _ => Placement::Unbound,
        };
        let node = node.clone();
        let mesh = mesh.clone();
        let handle = LocalExecutorBuilder::new(placement)
            .name(&format!("slotkv-core-{core}"))
            .spin_before_park(node.config.spin_before_park())
            .spawn(move || async move {
                let result = core_main(node.clone(), core, mesh).await;
                if result.is_err() {
                    node.request_shutdown();
                }
                result
            })
            .map_err(|e| NodeError::Core {
                core,
                message: format!("cannot start executor: {e}"),
            })?;
        handles.push(handle);
    }
    let mut first_error = None;
    for (core, h) in handles.into_iter().enumerate() {
        let r = h.join().map_err(|e| NodeError::Core {
            core,
            message: format!("executor failed: {e}"),
        });
        if let Err(e) = r.and_then(|r| r) {
            first_error.get_or_insert(e);
        }
    }
    node.request_shutdown();
    drop(signals);
    match first_error {
        Some(e) => Err(e),
        None => {
            log::info!("slotkv is now ready to exit, bye bye...");
            Ok(())
        }
    }
}

async fn core_main(
    node: Arc<Node>,
    core: usize,
    mesh: MeshBuilder<MeshMsgAlias, glommio::channels::channel_mesh::Full>,
) -> Result<(), NodeError> {
    let core_err = |message: String| NodeError::Core { core, message };
    // RocksDB counts into a thread-local perf context on every read step unless told not to; nothing here
    // reads those counters.
    rocksdb::perf::set_perf_stats(rocksdb::perf::PerfStatsLevel::Disable);
    let (senders, receivers) = mesh
        .join()
        .await
        .map_err(|_| core_err("cannot join the channel mesh".into()))?;
    let store = Store::open(
        &node.config.dir.join(format!("core-{core}")),
        node.cores,
        &node.config.rocksdb,
    )?;
    store.set_cache_budget(node.config.value_cache_bytes_per_core(node.cores));
    let layout_tag = format!("cores={};core={core}", node.cores);
    match store.get_meta("layout")? {
        Some(v) if v != layout_tag.as_bytes() => {
            return Err(core_err(format!(
                "core-{core}/ belongs to another layout ({}); the data folder was mixed up",
                String::from_utf8_lossy(&v)
            )))
        }
        Some(_) => {}
        None => store.put_meta("layout", layout_tag.as_bytes())?,
    }
    let settings = Settings::from_config(&node.config);
    let log = open_log(&node, core, &store, settings.fsync).await?;
    let (memtable_check, memtable_checks) = glommio::channels::local_channel::new_bounded(1);
    let shard = Rc::new(Shard {
        core,
        durability: Rc::new(Durability::new(settings.fsync, log.engine().clone())),
        log,
        store,
        mesh: Mesh::new(senders),
        settings: RefCell::new(settings),
        stats: Stats::default(),
        clients: RefCell::new(ClientRegistry::default()),
        expiry: Default::default(),
        memtable_check,
        stop: Rc::new(Cell::new(false)),
        scan_cursors: RefCell::new(Default::default()),
        pubsub: RefCell::new(Default::default()),
        blocking: Default::default(),
        node: node.clone(),
    });
    expiry::seed(&shard)?;
    mesh::serve(&shard, receivers);

    let syncer = glommio::spawn_local(durability::run_syncer(
        shard.durability.clone(),
        shard.stop.clone(),
    ));
    let purger = glommio::spawn_local(run_purger(shard.clone(), memtable_checks));

    let addr = SocketAddr::new(node.config.bind, node.port);
    let listener = crate::net::listener::bind_shared(addr)
        .map_err(|source| NodeError::Bind { addr, source })?;
    let acceptor = glommio::spawn_local(crate::net::listener::accept_loop(shard.clone(), listener));
    if node.ready_cores.fetch_add(1, Ordering::AcqRel) + 1 == node.cores {
        log::info!(
            "slotkv {} ready to accept connections tcp on {}:{} with {} core(s), data in {}",
            env!("CARGO_PKG_VERSION"),
            node.config.bind,
            node.port,
            node.cores,
            node.config.dir.display()
        );
    }

    // Housekeeping, `hz` times a second: active expiry, and the shutdown flag.
    while !node.shutting_down() {
        let hz = shard.settings.borrow().hz.max(1);
        glommio::timer::sleep(Duration::from_millis(1000 / hz as u64)).await;
        expiry::run_cycle(&shard);
    }

    // Shutdown: stop accepting, end idle connections, let busy ones finish, then make everything durable.
    acceptor.cancel().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let clients: Vec<_> = shard.clients.borrow().clients.values().cloned().collect();
        if clients.is_empty() || Instant::now() > deadline {
            break;
        }
        for c in clients {
            if let Ok(c) = c.try_borrow() {
                // SAFETY: see ClientRegistry::kill; only ends reads so in-flight replies still go out.
                unsafe {
                    libc::shutdown(c.fd, libc::SHUT_RD);
                }
            }
        }
        glommio::timer::sleep(Duration::from_millis(10)).await;
    }
    shard.stop.set(true);
    syncer.await;
    purger.await;
    // Memtables to disk, then the log behind them: the next start has nothing to replay. If RocksDB
    // cannot flush, the log still holds every entry: sync it, and the next start replays them.
    if let Err(e) = flush_and_purge(&shard, SHUTDOWN_FLUSH_WAIT).await {
        log::warn!(
            "core {}: memtables not flushed at shutdown ({e}); the next start replays the Raft log",
            shard.core
        );
    }
    shard.log.engine().sync().await.map_err(LogError::from)?;
    shard.durability.sync_now().await;
    // Other cores may still be finishing calls to us: keep serving the mesh until every core is done with
    // its connections (bounded, in case a core failed), then close our end.
    node.drained_cores.fetch_add(1, Ordering::AcqRel);
    let deadline = Instant::now() + Duration::from_secs(10);
    while node.drained_cores.load(Ordering::Acquire) < node.cores && Instant::now() < deadline {
        glommio::timer::sleep(Duration::from_millis(10)).await;
    }
    shard.mesh.close();
    Ok(())
}

/// Opens the core's Raft log and replays into `store` what its memtables lost.
async fn open_log(
    node: &Node,
    core: usize,
    store: &Store,
    fsync: crate::config::Fsync,
) -> Result<CoreLog, NodeError> {
    let dir = node.config.dir.join("raftlog").join(format!("core-{core}"));
    std::fs::create_dir_all(&dir).map_err(|source| NodeError::Dir {
        dir: dir.display().to_string(),
        source,
    })?;
    let synced = fsync == crate::config::Fsync::Always;
    let opts = raftlog::EngineOptions {
        segment_size: node.config.raft_log_segment_mb << 20,
        sync_each_batch: synced,
        // A log written without an fsync per batch may have lost an unsynced tail out of order in a
        // power loss; that tail was never promised to survive one.
        tolerate_unsynced_tail: !synced,
        // Entries are read back only by a replay at start (single-member groups): keep none in memory.
        // Groups with peers (replication) read right after appending and will want a cache again.
        cache_bytes: 0,
        ..Default::default()
    };
    let started = Instant::now();
    // A slot import cut short by a crash is finished before anything trusts the slot's applied id.
    for (slot, from) in store.interrupted_imports()? {
        log::warn!(
            "core {core}: finishing the interrupted import of slot {} from {}",
            slot.0,
            from.display()
        );
        store.import_slot(slot, &from)?;
    }
    let log = CoreLog::open(&dir, opts, node.layout.slots_of(core)).await?;
    let report = log.replay(store).await?;
    if report.entries > 0 || report.ahead > 0 {
        log::info!(
            "core {core}: replayed {} Raft log entries of {} slots in {:.3}s ({} slots were ahead of the log)",
            report.entries,
            report.slots,
            started.elapsed().as_secs_f64(),
            report.ahead
        );
    }
    Ok(log)
}

/// How long the purger's flush may take before it gives up and tries again later (the log keeps what the
/// memtables hold, so nothing is lost by waiting).
const PURGE_FLUSH_WAIT: Duration = Duration::from_secs(120);

/// How long the flush at shutdown may take; past it the node stops anyway and the next start replays the
/// log.
const SHUTDOWN_FLUSH_WAIT: Duration = Duration::from_secs(20);

/// Every 100 ms, and when `Shard::propose` asks, between two write steps of the core (this is a task of
/// its executor): switches the memtables once one reaches 3/4 of `write-buffer-mb` (see
/// `tuning::MEMTABLE_SWITCH_QUARTERS`), and flushes and purges the Raft log once `raft-log-purge-mb` of
/// entries accumulated.
async fn run_purger(shard: Rc<Shard>, checks: glommio::channels::local_channel::LocalReceiver<()>) {
    let threshold = shard.node.config.raft_log_purge_mb << 20;
    // After a failed flush (RocksDB refusing writes), retries back off from 1 s to a minute: each one
    // is logged, and a tight retry loop would fill the log of a node whose disk is already full.
    let mut backoff = Duration::ZERO;
    let mut next_purge = Instant::now();
    let mut switch_failure_logged: Option<Instant> = None;
    while !shard.stop.get() {
        futures_lite::future::or(glommio::timer::sleep(Duration::from_millis(100)), async {
            let _ = checks.recv().await;
        })
        .await;
        recheck_store(&shard);
        if shard.log.unpurged_bytes() >= threshold && Instant::now() >= next_purge {
            match flush_and_purge(&shard, PURGE_FLUSH_WAIT).await {
                Ok(()) => backoff = Duration::ZERO,
                Err(e) => {
                    backoff = (backoff * 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
                    next_purge = Instant::now() + backoff;
                    log::error!(
                        "core {}: cannot flush memtables and purge the Raft log (next try in {}s): {e}",
                        shard.core,
                        backoff.as_secs()
                    );
                }
            }
        } else if let Err(e) = switch_if_full(&shard) {
            if switch_failure_logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                log::warn!(
                    "core {}: cannot switch memtables (logged at most once a minute): {e}",
                    shard.core
                );
                switch_failure_logged = Some(Instant::now());
            }
        }
    }
}

/// While the core remembers RocksDB refusing a write, asks RocksDB whether it takes writes again and
/// forgets the refusal once it does. A refusal is otherwise forgotten only by the core's next successful
/// write, and a core that gets no write would report `aof_last_write_status:err` long after RocksDB
/// recovered by itself (it does after a full disk has room again).
fn recheck_store(shard: &Shard) {
    if shard.durability.last_store_error.borrow().is_none() {
        return;
    }
    if shard.store.takes_writes() {
        shard.durability.last_store_error.replace(None);
        log::warn!("core {}: RocksDB takes writes again", shard.core);
    }
}

/// Switches the memtables if one reached the switch size — unless RocksDB could make the switch wait on
/// the core's thread for compactions (level 0 near its slowdown trigger): writes are about to slow down
/// then, and the switch waits for the next look rather than block every client of the core. (A switch
/// may still wait for a flush when all but one memtable await theirs; RocksDB would delay the writes on
/// this thread then too.)
fn switch_if_full(shard: &Shard) -> Result<(), StorageError> {
    if shard.store.switch_would_wait() {
        return Ok(());
    }
    // A switch still owed after range deletes (one that failed at the end of a FLUSH) is made here too.
    shard.store.switch_if_owed()?;
    let switch_at = shard.settings.borrow().rocksdb.memtable_switch_bytes();
    shard.store.switch_memtables_at(switch_at).map(drop)
}

/// One atomic memtable flush, then a purge of every entry it covered. The memtables are switched here,
/// on the core's thread and so between two write steps, and the flush is waited for (at most `wait`)
/// without switching again — except the usual switch of a full memtable, between steps too: what a flush
/// persists is whole steps.
pub async fn flush_and_purge(shard: &Shard, wait: Duration) -> Result<(), NodeError> {
    let core_err = |message: String| NodeError::Core {
        core: shard.core,
        message,
    };
    if let Some(e) = shard.durability.last_store_error.borrow().as_deref() {
        return Err(core_err(format!("RocksDB refuses writes: {e}")));
    }
    let covered = shard.log.unpurged_bytes();
    let marks = shard.log.purge_marks();
    if marks.is_empty() {
        return Ok(());
    }
    let errors = shard.store.background_errors();
    shard.store.switch_memtables()?;
    let deadline = Instant::now() + wait;
    let mut round = 0u32;
    while shard.store.flush_pending() {
        if shard.store.background_errors() > errors {
            return Err(core_err(
                "a memtable flush failed (RocksDB background error)".into(),
            ));
        }
        if Instant::now() > deadline {
            return Err(core_err(format!(
                "memtables not flushed within {}s",
                wait.as_secs()
            )));
        }
        round += 1;
        if round.is_multiple_of(10) {
            switch_if_full(shard)?;
        }
        glommio::timer::sleep(Duration::from_millis(2)).await;
    }
    shard.log.purge(&marks, covered)?;
    Ok(())
}

fn spawn_signal_thread(node: Arc<Node>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("slotkv-signals".into())
        .spawn(move || {
            use signal_hook::consts::{SIGINT, SIGTERM};
            let mut signals = match signal_hook::iterator::Signals::new([SIGTERM, SIGINT]) {
                Ok(s) => s,
                Err(e) => {
                    log::error!("cannot install signal handlers: {e}");
                    return;
                }
            };
            if let Some(sig) = signals.forever().next() {
                log::info!(
                    "received {}, scheduling shutdown...",
                    if sig == SIGTERM { "SIGTERM" } else { "SIGINT" }
                );
                node.request_shutdown();
            }
        })
        .expect("spawn signal thread")
}

fn run_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| std::char::from_digit(rng.gen_range(0..16), 16).unwrap())
        .collect()
}

//! 1024 single-member Raft groups on one glommio executor over one shared engine, started with
//! `raftlog::groups`: all become leader, client writes work and survive a restart, and idle
//! groups cost (next to) nothing.
//!
//! The idle bound: with ticks on, each group wakes every tick (`heartbeat_interval * 13 / 64`
//! = 20 ms with `slot_config`'s 100 ms heartbeat), and each tick runs two tasks (the tick loop
//! and the group's core). Even one timer per group per *heartbeat* interval would be
//! 1024 × 2 s / 100 ms = 20,480 task runs in the 2 s window. The test allows 1% of that.
//!
//! `ticking_groups_wake_the_executor` is the control: the same measurement, with ticks on, sees
//! every tick. To run the 1024-group test itself with ticks on (it then fails, by design), set
//! `MANY_GROUPS_TICKS=on`.
//!
//! The state machine is an in-memory fixture (a running sum), not slotkv's RocksDB one.

mod common;

use std::io;
use std::time::{Duration, Instant};

use common::sum::{SumGroup, SumMachine};
use futures_util::future::join_all;
use glommio::timer::sleep;
use openraft::{BasicNode, EntryPayload, Raft, RaftLogReader, ServerState};
use raftlog::groups::{slot_config, NoPeers, SoloGroups};
use raftlog::{Engine, EngineOptions, LogStore};

type Slot = SumGroup;

const NODE: u64 = 1;
const GROUPS: u32 = 1024;
/// Groups that get client writes.
const WRITTEN: [u32; 4] = [0, 1, 511, 1023];
/// The group that gets a burst of `BURST` concurrent writes.
const BURST_GROUP: u32 = 2;
const BURST: u64 = 2000;
const IDLE: Duration = Duration::from_secs(2);

type SumSm = SumMachine;

/// Starts groups `0..n` with fresh state machines; returns the rafts and their machines.
async fn start_groups(
    engine: &Engine,
    config: openraft::Config,
    n: u32,
) -> (Vec<Raft<Slot, SumSm>>, Vec<SumSm>) {
    let solo = SoloGroups::<Slot>::new(engine.clone(), NODE, BasicNode::default(), config)
        .expect("config");
    let sms: Vec<SumSm> = (0..n).map(|_| SumSm::default()).collect();
    let rafts = solo
        .start_all((0..n).map(|g| (g, NoPeers::new(), sms[g as usize].clone())))
        .await
        .expect("start groups");
    (rafts, sms)
}

/// CPU time (user + system) of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct we pass; an all-zero rusage is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_THREAD is valid on Linux.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    assert_eq!(rc, 0, "getrusage: {}", io::Error::last_os_error());
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// What the executor did over an idle span.
#[derive(Debug)]
struct IdleCost {
    tasks: u64,
    scheduler_runs: u64,
    cpu: Duration,
}

/// Lets the executor run for `span` with nothing but this sleeping task, and reports what it
/// did meanwhile (the sleep itself accounts for one or two task runs).
async fn measure_idle(span: Duration) -> IdleCost {
    // `executor_stats` hands over the counters and resets them.
    let _ = glommio::executor().executor_stats();
    let cpu0 = thread_cpu();
    sleep(span).await;
    let cpu = thread_cpu() - cpu0;
    let stats = glommio::executor().executor_stats();
    IdleCost {
        tasks: stats.tasks_executed(),
        scheduler_runs: stats.scheduler_runs(),
        cpu,
    }
}

async fn state(raft: &Raft<Slot, SumSm>) -> ServerState {
    raft.with_raft_state(|st| st.server_state)
        .await
        .expect("raft running")
}

#[test]
fn a_thousand_idle_groups_cost_nothing_and_writes_are_durable() {
    let ticks = std::env::var("MANY_GROUPS_TICKS").is_ok_and(|v| v == "on");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();

    // (group, log index, command) of every client write, and each written group's final sum.
    let (written, sums) = common::run({
        let path = path.clone();
        move || async move {
            let engine = Engine::open(&path, EngineOptions::default()).await.unwrap();
            let rss0 = rss_mib();
            let t0 = Instant::now();
            let config = openraft::Config {
                enable_tick: ticks,
                ..slot_config()
            };
            let (rafts, sms) = start_groups(&engine, config, GROUPS).await;
            eprintln!(
                "{GROUPS} groups leader in {:?}; RSS +{:.0} MiB; engine: {} fsyncs, {:.1} records/fsync",
                t0.elapsed(),
                rss_mib() - rss0,
                engine.stats().fsyncs,
                engine.stats().records_per_fsync()
            );
            for (g, raft) in rafts.iter().enumerate() {
                assert_eq!(state(raft).await, ServerState::Leader, "group {g}");
            }

            let mut written = Vec::new();
            let mut sums = Vec::new();
            for g in WRITTEN {
                let raft = &rafts[g as usize];
                let mut sum = 0;
                for k in 1..=3u64 {
                    let cmd = u64::from(g) * 1000 + k;
                    let reply = raft.client_write(cmd).await.expect("client write");
                    sum += cmd;
                    assert_eq!(reply.data, sum, "group {g}");
                    written.push((g, reply.log_id.index(), cmd));
                }
                assert_eq!(sms[g as usize].0.borrow().sum, sum);
                sums.push((g, sum));
            }
            // A burst far larger than the API channel (256): writers queue behind each other
            // (backpressure), none is lost and none deadlocks.
            let raft = &rafts[BURST_GROUP as usize];
            let replies = join_all((0..BURST).map(|_| raft.client_write(1))).await;
            let mut indexes = Vec::new();
            for reply in replies {
                let reply = reply.expect("burst write");
                indexes.push(reply.log_id.index());
                written.push((BURST_GROUP, reply.log_id.index(), 1));
            }
            indexes.sort_unstable();
            indexes.dedup();
            assert_eq!(
                indexes.len(),
                BURST as usize,
                "every write has its own entry"
            );
            assert_eq!(sms[BURST_GROUP as usize].0.borrow().sum, BURST);
            sums.push((BURST_GROUP, BURST));
            // Other groups' machines saw no command.
            assert_eq!(sms[3].0.borrow().sum, 0);

            // Let start-up stragglers finish (tick loops' first wait, I/O forwarders).
            sleep(Duration::from_millis(300)).await;
            let idle = measure_idle(IDLE).await;
            let per_heartbeat_timer =
                u64::from(GROUPS) * IDLE.as_millis() as u64 / slot_config().heartbeat_interval;
            eprintln!(
                "idle {IDLE:?} with {GROUPS} groups (ticks {}): {} tasks run, {} scheduler runs, \
                 {:?} CPU ({:.3}% of a core); one timer per group per heartbeat would be {} runs",
                if ticks { "on" } else { "off" },
                idle.tasks,
                idle.scheduler_runs,
                idle.cpu,
                idle.cpu.as_secs_f64() / IDLE.as_secs_f64() * 100.0,
                per_heartbeat_timer
            );
            assert!(
                idle.tasks < per_heartbeat_timer / 100,
                "idle groups woke the executor: {idle:?}"
            );
            assert!(
                idle.cpu < IDLE / 100,
                "idle groups used over 1% of a core: {idle:?}"
            );

            for raft in &rafts {
                raft.shutdown().await.expect("shutdown");
            }
            drop(rafts);
            engine.close().await.unwrap();
            (written, sums)
        }
    });

    // Restart: the log has every write; the groups come back as leaders, their machines rebuilt
    // from the log, and writes continue after the old entries.
    common::run(move || async move {
        let engine = Engine::open(&path, EngineOptions::default()).await.unwrap();
        for &(g, index, cmd) in &written {
            let mut log = LogStore::<Slot>::new(engine.clone(), g);
            let got = log.try_get_log_entries(index..=index).await.unwrap();
            assert_eq!(got.len(), 1, "group {g} entry {index}");
            match &got[0].payload {
                EntryPayload::Normal(c) => assert_eq!(*c, cmd, "group {g} entry {index}"),
                other => panic!("group {g} entry {index}: {other:?}"),
            }
        }

        let (rafts, _sms) = start_groups(&engine, slot_config(), GROUPS).await;
        for &(g, sum) in &sums {
            let raft = &rafts[g as usize];
            let last = written.iter().filter(|w| w.0 == g).map(|w| w.1).max();
            let reply = raft.client_write(7).await.expect("write after restart");
            assert_eq!(
                reply.data,
                sum + 7,
                "group {g}: machine rebuilt from the log"
            );
            assert!(Some(reply.log_id.index()) > last, "group {g}");
        }
        for raft in &rafts {
            raft.shutdown().await.expect("shutdown");
        }
        drop(rafts);
        engine.close().await.unwrap();
    });
}

/// The control: with ticks on, the same measurement sees every group's ticks (64 groups, 20 ms
/// tick: ~3,200 ticks per second, each running the tick task and the group's core).
#[test]
fn ticking_groups_wake_the_executor() {
    const N: u32 = 64;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    common::run(move || async move {
        let engine = Engine::open(&path, EngineOptions::default()).await.unwrap();
        let config = openraft::Config {
            enable_tick: true,
            ..slot_config()
        };
        let (rafts, _sms) = start_groups(&engine, config, N).await;
        sleep(Duration::from_millis(100)).await;
        let span = Duration::from_secs(1);
        let idle = measure_idle(span).await;
        let tick_ms = slot_config().heartbeat_interval * 13 / 64;
        let ticks = u64::from(N) * span.as_millis() as u64 / tick_ms;
        eprintln!("{N} ticking groups over {span:?}: {idle:?}; {ticks} ticks expected");
        assert!(
            idle.tasks >= ticks,
            "every tick runs at least one task: {idle:?}, {ticks} ticks"
        );
        for raft in &rafts {
            raft.shutdown().await.expect("shutdown");
        }
        drop(rafts);
        engine.close().await.unwrap();
    });
}

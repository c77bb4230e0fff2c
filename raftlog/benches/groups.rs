//! `client_write` throughput of many single-member Raft groups on one core, and the group
//! commit the engine achieves under them.
//!
//! - `client_write/<writers>x<groups>`: `groups` groups started with `raftlog::groups`
//!   (`slot_config`, one shared engine, one glommio executor); `writers` concurrent tasks, spread
//!   evenly over the groups, each calling `client_write` with a 100-byte command and awaiting
//!   the reply (durable in the log, applied to the state machine) before the next. One element =
//!   one acknowledged write. After each configuration the engine's records per fsync (entries,
//!   votes and committed markers) and appends per fsync are printed.
//!
//! Every sample starts a fresh executor, engine (in a temporary directory on the build's file
//! system) and set of groups; starting them is not timed. The state machine is an in-memory
//! counter, so the numbers are the cost of openraft plus the log, without RocksDB.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_util::{Stream, StreamExt};
use glommio::LocalExecutorBuilder;
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::vote::RaftLeaderId;
use openraft::{BasicNode, RaftSnapshotBuilder, RaftTypeConfig, StoredMembership};
use raftlog::groups::{slot_config, NoPeers, SoloGroups};
use raftlog::rt::GlommioRuntime;
use raftlog::{Engine, EngineOptions, EngineStats};

openraft::declare_raft_types!(
    /// Commands are opaque strings (stand-ins for encoded slotkv commands); the reply is the number of commands applied so far.
    Bench:
        D = String,
        R = u64,
        AsyncRuntime = GlommioRuntime,
);

type Clid = <<Bench as RaftTypeConfig>::LeaderId as RaftLeaderId>::Committed;
type LogId = openraft::LogId<Clid>;
type Membership = StoredMembership<Clid, u64, BasicNode>;
type Snapshot = openraft::Snapshot<Clid, u64, BasicNode, u64>;
type SnapshotMeta = openraft::SnapshotMeta<Clid, u64, BasicNode>;

const COMMAND_BYTES: usize = 100;

/// Counts applied commands.
#[derive(Clone, Default)]
struct CountSm(Rc<RefCell<(Option<LogId>, Membership, u64)>>);

impl RaftSnapshotBuilder<Bench> for CountSm {
    type SnapshotData = u64;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let s = self.0.borrow();
        let meta = SnapshotMeta {
            last_log_id: s.0,
            last_membership: s.1.clone(),
        };
        Ok(Snapshot {
            meta,
            snapshot: s.2,
        })
    }
}

impl RaftStateMachine<Bench> for CountSm {
    type SnapshotData = u64;
    type SnapshotBuilder = CountSm;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, Membership), io::Error> {
        let s = self.0.borrow();
        Ok((s.0, s.1.clone()))
    }

    async fn apply<S>(&mut self, mut entries: S) -> Result<(), io::Error>
    where
        S: Stream<Item = Result<EntryResponder<Bench>, io::Error>> + Unpin,
    {
        while let Some(next) = entries.next().await {
            let (entry, responder) = next?;
            let count = {
                let mut s = self.0.borrow_mut();
                s.0 = Some(entry.log_id());
                if let Some(m) = entry.get_membership() {
                    s.1 = StoredMembership::new(Some(entry.log_id()), m);
                }
                s.2 += 1;
                s.2
            };
            if let Some(r) = responder {
                r.send(count);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> CountSm {
        self.clone()
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, n: u64) -> Result<(), io::Error> {
        *self.0.borrow_mut() = (meta.last_log_id, meta.last_membership.clone(), n);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        Ok(None)
    }
}

/// One timed sample: `groups` fresh groups, `writers` tasks writing `per_writer` commands each.
/// Returns the time and the engine's counters over the timed part.
fn sample(groups: u32, writers: u64, per_writer: u64) -> (Duration, EngineStats) {
    LocalExecutorBuilder::default()
        .io_memory(2 << 20)
        .spawn(move || async move {
            let dir = tempfile::tempdir().expect("temp dir");
            let engine = Engine::open(dir.path(), EngineOptions::default())
                .await
                .expect("open engine");
            let solo =
                SoloGroups::<Bench>::new(engine.clone(), 1, BasicNode::default(), slot_config())
                    .expect("config");
            let rafts = Rc::new(
                solo.start_all((0..groups).map(|g| (g, NoPeers::<u64>::new(), CountSm::default())))
                    .await
                    .expect("start groups"),
            );

            let before = engine.stats();
            let start = Instant::now();
            let failed = Rc::new(Cell::new(false));
            let mut tasks = Vec::new();
            for w in 0..writers {
                let rafts = rafts.clone();
                let failed = failed.clone();
                tasks.push(glommio::spawn_local(async move {
                    let raft = &rafts[(w % u64::from(groups)) as usize];
                    for _ in 0..per_writer {
                        if raft.client_write("x".repeat(COMMAND_BYTES)).await.is_err() {
                            failed.set(true);
                        }
                    }
                }));
            }
            for task in tasks {
                task.await;
            }
            let elapsed = start.elapsed();
            assert!(!failed.get(), "a client_write failed");
            let after = engine.stats();

            for raft in rafts.iter() {
                raft.shutdown().await.expect("shutdown");
            }
            drop(rafts);
            drop(solo);
            engine.close().await.expect("close");
            let delta = EngineStats {
                fsyncs: after.fsyncs - before.fsyncs,
                records: after.records - before.records,
                appends: after.appends - before.appends,
                entries: after.entries - before.entries,
                ..EngineStats::default()
            };
            (elapsed, delta)
        })
        .expect("start executor")
        .join()
        .expect("executor thread")
}

fn client_write(c: &mut Criterion) {
    const GROUPS: u32 = 256;
    let mut g = c.benchmark_group("client_write");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    for writers in [16u64, 256, 1024] {
        let totals = Rc::new(RefCell::new(EngineStats::default()));
        let t = totals.clone();
        g.bench_function(
            BenchmarkId::from_parameter(format!("{writers}x{GROUPS}")),
            |b| {
                b.iter_custom(|iters| {
                    let per_writer = iters.div_ceil(writers).max(1);
                    let (elapsed, stats) = sample(GROUPS, writers, per_writer);
                    let mut tot = t.borrow_mut();
                    tot.fsyncs += stats.fsyncs;
                    tot.records += stats.records;
                    tot.appends += stats.appends;
                    tot.entries += stats.entries;
                    // Report the time per write actually made.
                    elapsed.mul_f64(iters as f64 / (per_writer * writers) as f64)
                })
            },
        );
        let tot = totals.borrow();
        if tot.fsyncs == 0 {
            continue; // filtered out
        }
        eprintln!(
            "client_write/{writers}x{GROUPS}: {:.1} records per fsync ({:.1} entries), \
             {:.1} appends per fsync ({} fsyncs)",
            tot.records_per_fsync(),
            tot.entries as f64 / tot.fsyncs as f64,
            tot.appends_per_fsync(),
            tot.fsyncs
        );
    }
    g.finish();
}

criterion_group!(benches, client_write);
criterion_main!(benches);

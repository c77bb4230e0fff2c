//! openraft's own log-storage conformance suite (`openraft::testing::log::Suite::test_all`)
//! against [`raftlog::LogStore`], on a glommio executor with [`GlommioRuntime`] as the runtime.
//!
//! It runs twice: once with a fresh engine (and directory) per suite case, and once with every
//! case on its own group of one shared engine — the way slotkv uses it, many groups in one log —
//! which also shows that groups do not see each other's entries, votes or purges.
//!
//! The suite needs a state machine too; `MemSm` is a minimal in-memory one (a fixture for the
//! suite, not a model of slotkv's RocksDB state machine).

mod common;

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};

use futures_util::{Stream, StreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::vote::RaftLeaderId;
use openraft::{
    BasicNode, EntryPayload, RaftSnapshotBuilder, RaftTypeConfig, StorageError, StoredMembership,
};
use raftlog::rt::GlommioRuntime;
use raftlog::{Engine, EngineOptions, LogStore};

openraft::declare_raft_types!(
    /// Type config of the suite: string commands, glommio runtime.
    Cfg:
        D = String,
        R = String,
        AsyncRuntime = GlommioRuntime,
);

type Clid = <<Cfg as RaftTypeConfig>::LeaderId as RaftLeaderId>::Committed;
type LogId = openraft::LogId<Clid>;
type Membership = StoredMembership<Clid, u64, BasicNode>;
type SnapshotMeta = openraft::SnapshotMeta<Clid, u64, BasicNode>;
type Snapshot = openraft::Snapshot<Clid, u64, BasicNode, SmData>;

/// What the state machine holds (and what a snapshot carries).
#[derive(Clone, Debug, Default)]
struct SmData {
    last_applied: Option<LogId>,
    membership: Membership,
    commands: Vec<String>,
}

#[derive(Default)]
struct SmInner {
    data: SmData,
    snapshot: Option<(SnapshotMeta, SmData)>,
}

#[derive(Clone, Default)]
struct MemSm(Rc<RefCell<SmInner>>);

impl RaftSnapshotBuilder<Cfg> for MemSm {
    type SnapshotData = SmData;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let mut i = self.0.borrow_mut();
        let meta = SnapshotMeta {
            last_log_id: i.data.last_applied,
            last_membership: i.data.membership.clone(),
        };
        let data = i.data.clone();
        i.snapshot = Some((meta.clone(), data.clone()));
        Ok(Snapshot {
            meta,
            snapshot: data,
        })
    }
}

impl RaftStateMachine<Cfg> for MemSm {
    type SnapshotData = SmData;
    type SnapshotBuilder = MemSm;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, Membership), io::Error> {
        let i = self.0.borrow();
        Ok((i.data.last_applied, i.data.membership.clone()))
    }

    async fn apply<S>(&mut self, mut entries: S) -> Result<(), io::Error>
    where
        S: Stream<Item = Result<EntryResponder<Cfg>, io::Error>> + Unpin,
    {
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            let reply = {
                let mut i = self.0.borrow_mut();
                i.data.last_applied = Some(entry.log_id);
                match entry.payload {
                    EntryPayload::Blank => String::new(),
                    EntryPayload::Normal(cmd) => {
                        i.data.commands.push(cmd.clone());
                        cmd
                    }
                    EntryPayload::Membership(m) => {
                        i.data.membership = StoredMembership::new(Some(entry.log_id), m);
                        String::new()
                    }
                }
            };
            if let Some(r) = responder {
                r.send(reply);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: SmData,
    ) -> Result<(), io::Error> {
        let mut i = self.0.borrow_mut();
        i.data = snapshot.clone();
        i.snapshot = Some((meta.clone(), snapshot));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        Ok(self
            .0
            .borrow()
            .snapshot
            .clone()
            .map(|(meta, snapshot)| Snapshot { meta, snapshot }))
    }
}

/// A fresh engine in a fresh directory for every case.
struct FreshEngine;

impl StoreBuilder<Cfg, LogStore<Cfg>, MemSm, tempfile::TempDir> for FreshEngine {
    async fn build(&self) -> Result<(tempfile::TempDir, LogStore<Cfg>, MemSm), StorageError<Cfg>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = Engine::open(dir.path(), EngineOptions::default())
            .await
            .expect("open engine");
        Ok((dir, LogStore::new(engine, 1), MemSm::default()))
    }
}

thread_local! {
    static SHARED: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// One engine for all cases (on this executor thread); each case gets a new group.
struct SharedEngine {
    next_group: AtomicU32,
}

impl StoreBuilder<Cfg, LogStore<Cfg>, MemSm> for SharedEngine {
    async fn build(&self) -> Result<((), LogStore<Cfg>, MemSm), StorageError<Cfg>> {
        let engine = SHARED
            .with(|s| s.borrow().clone())
            .expect("shared engine is open");
        let group = self.next_group.fetch_add(1, Ordering::Relaxed);
        Ok(((), LogStore::new(engine, group), MemSm::default()))
    }
}

#[test]
fn openraft_log_suite_fresh_engine_per_case() {
    common::run(|| async {
        Suite::test_all(FreshEngine)
            .await
            .expect("openraft log storage suite");
    });
}

#[test]
fn openraft_log_suite_all_cases_in_one_engine() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    common::run(move || async move {
        let opts = EngineOptions {
            segment_size: 64 << 10,
            ..EngineOptions::default()
        };
        let engine = Engine::open(&path, opts).await.unwrap();
        SHARED.with(|s| *s.borrow_mut() = Some(engine.clone()));
        Suite::test_all(SharedEngine {
            next_group: AtomicU32::new(100),
        })
        .await
        .expect("openraft log storage suite");
        SHARED.with(|s| s.borrow_mut().take());
        let groups = engine.groups();
        assert!(
            groups.len() > 30,
            "every case used its own group: {groups:?}"
        );
        let before = common::snapshot(&engine).await;
        engine.close().await.unwrap();

        // Everything the suite left behind comes back identically after a restart.
        let engine = Engine::open(&path, EngineOptions::default()).await.unwrap();
        assert_eq!(common::snapshot(&engine).await, before);
        engine.close().await.unwrap();
    });
}

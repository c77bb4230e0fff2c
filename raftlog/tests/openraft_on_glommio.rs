//! A real openraft `Raft` running on `GlommioRuntime`: a one-node group is initialized, elects
//! itself, commits and applies client writes, and shuts down, all inside one glommio executor.
//!
//! The log store and state machine are the smallest in-memory ones openraft accepts; they exist
//! only to drive the runtime (the real log engine has its own conformance tests).

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use common::sum::{LogId, Snapshot, SumGroup, SumMachine};
use openraft::entry::RaftEntry;
use openraft::errors::{RPCError, ReplicationClosed, StreamingError};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::{
    BasicNode, Config, LogState, RaftLogReader, RaftNetworkFactory, RaftNetworkV2, RaftTypeConfig,
    ServerState,
};
use openraft_rt::AsyncRuntime;
use raftlog::rt::GlommioRuntime;

type Group = SumGroup;

type Vote = <Group as RaftTypeConfig>::Vote;
type Entry = <Group as RaftTypeConfig>::Entry;

#[derive(Default)]
struct Log {
    vote: Option<Vote>,
    entries: BTreeMap<u64, Entry>,
    purged: Option<LogId>,
}

/// The log; the store and its readers share it (one thread, so an `Rc<RefCell>`).
#[derive(Clone, Default)]
struct MemLog(Rc<RefCell<Log>>);

impl RaftLogReader<Group> for MemLog {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        Ok(self
            .0
            .borrow()
            .entries
            .range(range)
            .map(|(_, e)| e.clone())
            .collect())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        Ok(self.0.borrow().vote)
    }
}

impl RaftLogStorage<Group> for MemLog {
    type LogReader = MemLog;

    async fn get_log_state(&mut self) -> Result<LogState<Group>, io::Error> {
        let log = self.0.borrow();
        let last = log
            .entries
            .values()
            .next_back()
            .map(|e| e.log_id())
            .or(log.purged);
        Ok(LogState {
            last_purged_log_id: log.purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> MemLog {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        self.0.borrow_mut().vote = Some(*vote);
        Ok(())
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<Group>) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry>,
    {
        let mut log = self.0.borrow_mut();
        for entry in entries {
            log.entries.insert(entry.index(), entry);
        }
        // In memory: "persisted" at once, but reported from another task, as a real log engine
        // flushing in the background would.
        drop(GlommioRuntime::spawn(async move {
            callback.io_completed(Ok(()))
        }));
        Ok(())
    }

    async fn truncate_after(&mut self, last: Option<LogId>) -> Result<(), io::Error> {
        let from = last.map_or(0, |id| id.index + 1);
        self.0.borrow_mut().entries.split_off(&from);
        Ok(())
    }

    async fn purge(&mut self, upto: LogId) -> Result<(), io::Error> {
        let mut log = self.0.borrow_mut();
        log.entries = log.entries.split_off(&(upto.index + 1));
        log.purged = Some(upto);
        Ok(())
    }
}

/// A one-node group never talks to anyone.
struct NoPeers;

impl RaftNetworkFactory<Group> for NoPeers {
    type Network = NoPeers;

    async fn new_client(&mut self, target: u64, _node: &BasicNode) -> NoPeers {
        unreachable!("a one-node group has no peer {target}")
    }
}

impl RaftNetworkV2<Group> for NoPeers {
    type SnapshotData = u64;

    async fn append_entries(
        &mut self,
        _rpc: AppendEntriesRequest<Group>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<Group>, RPCError<Group>> {
        unreachable!()
    }

    async fn vote(
        &mut self,
        _rpc: VoteRequest<Group>,
        _option: RPCOption,
    ) -> Result<VoteResponse<Group>, RPCError<Group>> {
        unreachable!()
    }

    async fn full_snapshot(
        &mut self,
        _vote: Vote,
        _snapshot: Snapshot,
        _cancel: impl std::future::Future<Output = ReplicationClosed> + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<Group>, StreamingError<Group>> {
        unreachable!()
    }
}

#[test]
fn one_node_group_elects_itself_and_applies_writes() {
    GlommioRuntime::new(1).block_on(async {
        let config = Config {
            heartbeat_interval: 50,
            election_timeout_min: 150,
            election_timeout_max: 300,
            ..Default::default()
        };
        let config = Arc::new(config.validate().unwrap());
        let sm = SumMachine::default();
        let raft = openraft::Raft::new(1, config, NoPeers, MemLog::default(), sm.clone())
            .await
            .unwrap();

        raft.initialize(BTreeMap::from([(1_u64, BasicNode::default())]))
            .await
            .unwrap();
        raft.wait(Some(Duration::from_secs(5)))
            .state(ServerState::Leader, "becomes leader")
            .await
            .unwrap();

        let mut last_index = 0;
        for (n, expected_sum) in [(5, 5), (7, 12), (30, 42)] {
            let written = raft.client_write(n).await.unwrap();
            assert_eq!(written.data, expected_sum);
            assert!(written.log_id.index > last_index);
            last_index = written.log_id.index;
        }
        assert_eq!(sm.0.borrow().sum, 42);
        assert_eq!(sm.0.borrow().applied.map(|id| id.index), Some(last_index));

        raft.shutdown().await.unwrap();
    });
}

//! The state machine the openraft-driven tests share: a group whose commands add a number to a running
//! sum (an in-memory fixture to drive openraft, not slotkv's RocksDB state machine).

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use futures_util::{Stream, StreamExt};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::vote::RaftLeaderId;
use openraft::{BasicNode, EntryPayload, RaftSnapshotBuilder, RaftTypeConfig, StoredMembership};
use raftlog::rt::GlommioRuntime;

openraft::declare_raft_types!(
    /// A group whose commands add a number to a running sum.
    pub SumGroup:
        D = u64,
        R = u64,
        AsyncRuntime = GlommioRuntime,
);

pub type Clid = <<SumGroup as RaftTypeConfig>::LeaderId as RaftLeaderId>::Committed;
pub type LogId = openraft::LogId<Clid>;
pub type Membership = StoredMembership<Clid, u64, BasicNode>;
pub type Snapshot = openraft::Snapshot<Clid, u64, BasicNode, u64>;
pub type SnapshotMeta = openraft::SnapshotMeta<Clid, u64, BasicNode>;

/// The sum, the last applied log id and the membership.
#[derive(Default)]
pub struct Sum {
    pub applied: Option<LogId>,
    pub membership: Membership,
    pub sum: u64,
}

#[derive(Clone, Default)]
pub struct SumMachine(pub Rc<RefCell<Sum>>);

impl RaftSnapshotBuilder<SumGroup> for SumMachine {
    type SnapshotData = u64;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let sm = self.0.borrow();
        let meta = SnapshotMeta {
            last_log_id: sm.applied,
            last_membership: sm.membership.clone(),
        };
        Ok(Snapshot {
            meta,
            snapshot: sm.sum,
        })
    }
}

impl RaftStateMachine<SumGroup> for SumMachine {
    type SnapshotData = u64;
    type SnapshotBuilder = SumMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, Membership), io::Error> {
        let sm = self.0.borrow();
        Ok((sm.applied, sm.membership.clone()))
    }

    async fn apply<S>(&mut self, mut entries: S) -> Result<(), io::Error>
    where
        S: Stream<Item = Result<EntryResponder<SumGroup>, io::Error>> + Unpin,
    {
        while let Some(next) = entries.next().await {
            let (entry, responder) = next?;
            let sum = {
                let mut sm = self.0.borrow_mut();
                sm.applied = Some(entry.log_id());
                match &entry.payload {
                    EntryPayload::Normal(n) => sm.sum += n,
                    EntryPayload::Membership(m) => {
                        sm.membership = StoredMembership::new(Some(entry.log_id()), m.clone())
                    }
                    EntryPayload::Blank => {}
                }
                sm.sum
            };
            if let Some(responder) = responder {
                responder.send(sum);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> SumMachine {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: u64,
    ) -> Result<(), io::Error> {
        let mut sm = self.0.borrow_mut();
        sm.applied = meta.last_log_id;
        sm.membership = meta.last_membership.clone();
        sm.sum = snapshot;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        Ok(None)
    }
}

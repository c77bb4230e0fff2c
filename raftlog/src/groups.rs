//! Starting many single-member Raft groups on one core, with no periodic wake-ups.
//!
//! # Why
//!
//! slotkv runs one openraft `Raft` per slot: 2048 groups per node, a few hundred per core. The
//! requirements are that idle groups cost nothing (no timer fires for a slot without traffic)
//! and that a node holding 2048 idle groups stays below 1% of a core. openraft's default
//! `Config` violates both by a wide margin: every `Raft` spawns a tick task that wakes every
//! `heartbeat_interval * 13 / 64` ms (10 ms with the default 50 ms heartbeat), and each tick
//! also wakes the group's `RaftCore` task. 1024 groups on one core would be ~100,000 tick
//! wake-ups (~200,000 task runs) per second doing nothing. Measured with 1024 idle groups on one
//! executor over 2 s (`tests/many_groups.rs`): openraft's default timing 410k task runs and 98%
//! of a core; [`slot_config`] with ticks on (20 ms tick) 198k runs, 74%; [`slot_config`] as is
//! (ticks off) one task run (the measuring sleep) and under 0.01%. [`slot_config`] turns the
//! clock off; [`SoloGroups`] starts groups that work without it.
//!
//! # What openraft does without a clock (0.10.0-alpha.37)
//!
//! - `enable_tick = false`: the tick task sleeps its randomized first wait (one to two tick
//!   periods) once, sees the flag off and then parks on the runtime-config watch channel; it is
//!   not polled again until `raft.runtime_config().tick(true)`. No tick means no heartbeat and no
//!   election timeout, whatever `enable_heartbeat` / `enable_elect` say.
//! - Nothing else in a `Raft` polls by itself: the core, state-machine worker, step-down watcher
//!   and I/O-completion forwarder all wait on channels (the forwarder sleeps 1 µs after an I/O
//!   completion to batch notifications: traffic only). Replication tasks exist only for peers.
//! - A lone voter is normally elected by the first tick (openraft elects a single campaigner
//!   at once). Without ticks it must be told: `raft.trigger().elect(false)`, which bypasses
//!   `enable_elect` and is a no-op for a leader. After a restart a group that was leader is
//!   restored as leader at startup (`enable_leader_restore`, default on; safe here because
//!   [`crate::LogStore`] persists the committed log id), so the trigger is then a no-op.
//!
//! # Groups with peers (later)
//!
//! Turning the clock off is only sound while the group has no other voter: a follower without
//! ticks never notices a dead leader, and a leader without heartbeats lets follower leases
//! expire. Options for multi-member groups, none implemented here:
//!
//! - **Ticks while busy** ("hibernation"): keep `enable_tick = false` in the config, call
//!   `raft.runtime_config().tick(true)` on a group when it gets traffic (a client write, an
//!   append or vote RPC) and `tick(false)` after a quiet period in which every follower has
//!   acknowledged the last entry. Toggling is cheap (a watch channel) and ticking resumes on its
//!   old phase grid. Followers that hibernate need another way to learn that the leader's node
//!   died: a node-level liveness heartbeat (one per node pair, not per group) that, on a
//!   suspected node failure, wakes the groups led from that node (`tick(true)`, or
//!   `trigger().elect(true)` — the pre-vote form, which does not disturb a live leader).
//! - **Coalesced heartbeats**: one message per node pair per interval carrying every group's
//!   heartbeat, fed into each group's `Raft` on the receiving side. Cuts messages, not wake-ups.
//! - **`heartbeat_min_interval`**: suppresses heartbeats to followers that acknowledged recent
//!   replication; helps under write load only, the tick still fires.
//! - Lease reads (`ReadPolicy::LeaseRead`) need a fresh quorum acknowledgement; a hibernated
//!   leader must fall back to a read-index round (one heartbeat) for the first read after a quiet
//!   spell.
//!
//! The timing values in [`slot_config`] are chosen for the day ticks are switched on for groups
//! with peers; with `enable_tick = false` they are inert.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::try_join_all;
use openraft::errors::{
    Fatal, InitializeError, RPCError, RaftError, ReplicationClosed, StreamingError, Unreachable,
};
use openraft::network::{NetSnapshot, RPCOption};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::storage::RaftStateMachine;
use openraft::type_config::alias::{SnapshotOf, VoteOf};
use openraft::{
    Config, ConfigError, OptionalSend, Raft, RaftNetworkFactory, RaftNetworkV2, RaftTypeConfig,
    ServerState,
};

use crate::engine::{Engine, GroupId};
use crate::store::LogStore;

/// How long [`SoloGroups`] waits for a group to report itself leader, by default.
pub const DEFAULT_LEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// The openraft [`Config`] of a slotkv slot group. Why each setting:
///
/// - `enable_tick: false`: no periodic wake-up per group (see the module docs); single-member
///   groups are elected explicitly by [`SoloGroups`].
/// - `enable_heartbeat: false`, `enable_elect: false`: state the intent (no timer-driven
///   heartbeats or elections); they only matter if a caller switches ticks on at run time, and
///   then must be switched on with them for a group with peers.
/// - `heartbeat_interval: 100`, `election_timeout_min/max: 500/1000` ms: for when ticks run
///   (groups with peers, see the module docs). A 100 ms heartbeat gives a 20 ms tick; election
///   timeouts of 5–10 heartbeats tolerate a few lost heartbeats on a loaded node.
/// - `api_channel_size: 256`, `notification_channel_size: 256`, `state_machine_channel_size:
///   32` (openraft's defaults: 65,536 / 65,536 / 1,024): the runtime's bounded channels allocate
///   and touch their whole capacity up front, and a `Raft` has four of them (API, snapshot
///   install — also sized by `api_channel_size` —, notifications, state-machine commands). With
///   the defaults one group costs ~35 MiB of RSS (70 GiB for 2048 slots); with these, ~360 KiB,
///   of which ~230 KiB is openraft's fixed per-`Raft` overhead (measured, 256 groups). 256 queued
///   client calls per slot is ample backpressure headroom (a slot's queued writes become one
///   append). The notification channel must stay well above the state-machine channel: the
///   Raft core sends notifications to *itself* (after saving a vote, on I/O progress) and would
///   block forever on its own full channel; with one slot a lone voter never becomes leader,
///   and the state-machine worker can queue one result per queued command.
/// - `cluster_name: "slotkv"`; everything else is openraft's default (snapshot policy, purge
///   batching, leader restore after restart).
pub fn slot_config() -> Config {
    Config {
        cluster_name: "slotkv".to_owned(),
        enable_tick: false,
        enable_heartbeat: false,
        enable_elect: false,
        heartbeat_interval: 100,
        election_timeout_min: 500,
        election_timeout_max: 1000,
        api_channel_size: Some(256),
        notification_channel_size: Some(256),
        state_machine_channel_size: Some(32),
        ..Config::default()
    }
}

/// Why a group could not be started.
#[derive(Debug, thiserror::Error)]
pub enum GroupError<C: RaftTypeConfig> {
    /// The openraft config does not validate.
    #[error("invalid raft config: {0}")]
    Config(#[from] ConfigError),
    /// The group's `Raft` stopped (storage error, panic) while starting.
    #[error("raft group {group}: {source}")]
    Fatal {
        /// The group.
        group: GroupId,
        /// openraft's error.
        source: Fatal<C>,
    },
    /// Writing the initial membership failed.
    #[error("raft group {group}: cannot initialize: {source}")]
    Initialize {
        /// The group.
        group: GroupId,
        /// openraft's error.
        source: RaftError<C, InitializeError<C>>,
    },
    /// The stored membership has voters other than this node: the group needs peers (and ticks).
    #[error("raft group {group}: membership has voters {voters}, not only this node")]
    NotSingleMember {
        /// The group.
        group: GroupId,
        /// The voter ids found, formatted.
        voters: String,
    },
    /// The group did not report itself leader in time.
    #[error("raft group {group}: not leader after {timeout:?}")]
    NotLeader {
        /// The group.
        group: GroupId,
        /// How long it was given.
        timeout: Duration,
    },
}

/// Starts single-member ("solo") Raft groups of one core over its shared [`Engine`], each
/// leader of itself, with no periodic timers.
///
/// Must be used inside the glommio executor that owns the engine (the groups' tasks are spawned
/// in the caller's task queue). Every group's node id is this node's id; the group id names its
/// log in the engine.
pub struct SoloGroups<C: RaftTypeConfig> {
    engine: Engine,
    node_id: C::NodeId,
    node: C::Node,
    config: Arc<Config>,
    leader_timeout: Duration,
}

impl<C: RaftTypeConfig> SoloGroups<C> {
    /// Groups of node `node_id` (described by `node`) over `engine`, run with `config`
    /// (normally [`slot_config`], possibly adjusted), which is validated here.
    pub fn new(
        engine: Engine,
        node_id: C::NodeId,
        node: C::Node,
        config: Config,
    ) -> Result<Self, GroupError<C>> {
        Ok(Self {
            engine,
            node_id,
            node,
            config: Arc::new(config.validate()?),
            leader_timeout: DEFAULT_LEADER_TIMEOUT,
        })
    }

    /// How long [`Self::start`] waits for a group to become leader (default
    /// [`DEFAULT_LEADER_TIMEOUT`]).
    pub fn with_leader_timeout(mut self, timeout: Duration) -> Self {
        self.leader_timeout = timeout;
        self
    }

    /// The validated config every group runs with.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// The shared engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Starts `group` with its state machine and network, and returns once it is leader.
    ///
    /// A new group is initialized with this node as its only voter and elected explicitly; a
    /// group recovered from the engine is checked to be single-member, restored as leader by
    /// openraft, or elected if it was not leader when it stopped.
    pub async fn start<SM, N>(
        &self,
        group: GroupId,
        network: N,
        state_machine: SM,
    ) -> Result<Raft<C, SM>, GroupError<C>>
    where
        SM: RaftStateMachine<C>,
        N: RaftNetworkFactory<C>,
        N::Network: NetSnapshot<C, SnapshotData = SM::SnapshotData>,
    {
        let fatal = |source| GroupError::Fatal { group, source };
        let log = LogStore::<C>::new(self.engine.clone(), group);
        let raft = Raft::new(
            self.node_id.clone(),
            self.config.clone(),
            network,
            log,
            state_machine,
        )
        .await
        .map_err(fatal)?;

        if raft.is_initialized().await.map_err(fatal)? {
            let voters: Vec<C::NodeId> = raft
                .with_raft_state(|st| st.membership_state.effective().voter_ids().collect())
                .await
                .map_err(fatal)?;
            if voters != [self.node_id.clone()] {
                return Err(GroupError::NotSingleMember {
                    group,
                    voters: format!("{voters:?}"),
                });
            }
        } else {
            let members = BTreeMap::from([(self.node_id.clone(), self.node.clone())]);
            raft.initialize(members)
                .await
                .map_err(|source| GroupError::Initialize { group, source })?;
        }

        // Without ticks nothing else would start the election; a no-op for a restored leader.
        raft.trigger().elect(false).await.map_err(fatal)?;
        raft.wait(Some(self.leader_timeout))
            .state(ServerState::Leader, "solo group leader")
            .await
            .map_err(|_| GroupError::NotLeader {
                group,
                timeout: self.leader_timeout,
            })?;
        Ok(raft)
    }

    /// Starts every `(group, network, state machine)` concurrently (their initial writes share
    /// group commits) and returns the `Raft`s in the same order, or the first error.
    pub async fn start_all<SM, N, I>(&self, groups: I) -> Result<Vec<Raft<C, SM>>, GroupError<C>>
    where
        SM: RaftStateMachine<C>,
        N: RaftNetworkFactory<C>,
        N::Network: NetSnapshot<C, SnapshotData = SM::SnapshotData>,
        I: IntoIterator<Item = (GroupId, N, SM)>,
    {
        try_join_all(
            groups
                .into_iter()
                .map(|(group, network, sm)| self.start(group, network, sm)),
        )
        .await
    }
}

/// The network of a single-member group: there is nobody to talk to, so every RPC fails as
/// unreachable. openraft never calls it while the group has no other member.
///
/// `S` is the state machine's snapshot data type (openraft ties the two together).
pub struct NoPeers<S>(PhantomData<fn() -> S>);

impl<S> NoPeers<S> {
    /// The network.
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<S> Default for NoPeers<S> {
    fn default() -> Self {
        Self::new()
    }
}

fn no_peer<C: RaftTypeConfig>() -> Unreachable<C> {
    Unreachable::from_string("single-member raft group has no peers")
}

impl<C, S> RaftNetworkFactory<C> for NoPeers<S>
where
    C: RaftTypeConfig,
    S: OptionalSend + 'static,
{
    type Network = NoPeers<S>;

    async fn new_client(&mut self, _target: C::NodeId, _node: &C::Node) -> Self::Network {
        NoPeers::new()
    }
}

impl<C, S> RaftNetworkV2<C> for NoPeers<S>
where
    C: RaftTypeConfig,
    S: OptionalSend + 'static,
{
    type SnapshotData = S;

    async fn append_entries(
        &mut self,
        _rpc: AppendEntriesRequest<C>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<C>, RPCError<C>> {
        Err(no_peer::<C>().into())
    }

    async fn vote(
        &mut self,
        _rpc: VoteRequest<C>,
        _option: RPCOption,
    ) -> Result<VoteResponse<C>, RPCError<C>> {
        Err(no_peer::<C>().into())
    }

    async fn full_snapshot(
        &mut self,
        _vote: VoteOf<C>,
        _snapshot: SnapshotOf<C, S>,
        _cancel: impl std::future::Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<C>, StreamingError<C>> {
        Err(no_peer::<C>().into())
    }
}

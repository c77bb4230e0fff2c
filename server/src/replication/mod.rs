//! Replication: every write of a slot goes through that slot's Raft log.
//!
//! Each of the 2048 slots is one Raft group. A core keeps the logs of all its groups in one
//! [`raftlog::Engine`] (`<dir>/raftlog/core-N`), so one group commit (one write, one
//! fdatasync) makes the writes of every slot and every connection of the core durable together.
//! The state machine is the core's RocksDB instance: applying an entry writes its data **and the
//! slot's last applied log id in the same atomic write batch**, with RocksDB's own WAL off.
//! RocksDB's state on disk (its flushed SST files) is therefore always a consistent prefix of each
//! slot's log, and recovery replays the log from each slot's applied index ([`CoreLog::replay`]).
//!
//! # Single-member groups commit locally
//!
//! With no peers configured (the standalone node, today's only mode) each group has one voter, so
//! an entry is committed exactly when it is durable in the local log. Such a group does not need a
//! consensus round, an election or a timer, and [`CoreLog`] drives it directly: the write is applied
//! where it is proposed (so the command's reply is computed right away, in request order), its entry
//! is staged in the log with the next index, and the reply is released when the group commit that
//! carries the entry completes (`fsync = always`: after the fdatasync; see [`durability`] for the
//! relaxations). Readers on the same core see a write as soon as it is applied, as in Redis with
//! `appendfsync always`: a reader can observe a write whose reply is still waiting for the disk, and
//! a crash at that moment loses it together with its (never sent) acknowledgement.
//!
//! Why not run openraft's `Raft` for these groups: openraft moves a proposal through its core task,
//! the log-flush callback and the state-machine worker before replying, several task hand-offs per
//! write. Measured in raftlog's `groups` bench, that path sustains ~65K durable writes/s on one core
//! with nothing else running — less than Redis with `appendfsync always` manages on the same disk
//! (65K SET/s), and the whole server budget for the 1.5x target. The log format is openraft's:
//! entries are postcard-encoded `openraft::Entry<SlotRaft>` with log ids of term 1 led by this node,
//! and purge markers are encoded log ids, so the group can be handed to openraft (reading the same
//! log through [`raftlog::LogStore`]) when it gains a second member.
//!
//! [`durability`]: crate::statemachine::durability

pub mod corelog;

pub use corelog::{CoreLog, LogError, ReplayReport};

use crate::statemachine::WireEntry;

openraft::declare_raft_types!(
    /// The Raft type configuration of a slot group: entries carry a versioned [`WireEntry`].
    pub SlotRaft:
        D = WireEntry,
        R = (),
        NodeId = u64,
        Node = openraft::BasicNode,
        AsyncRuntime = raftlog::rt::GlommioRuntime,
);

/// This node's id in its groups' log ids (standalone: always 1).
pub const SOLO_NODE_ID: u64 = 1;
/// The term of every entry of a single-member group (it never holds an election after its first).
pub const SOLO_TERM: u64 = 1;

//! The write seam: commands describe writes as deterministic [`Mutation`]s; a slot's state machine applies
//! them.
//!
//! A write command never touches RocksDB itself. It parses its arguments into a mutation in which nothing
//! is left to chance: relative times are already absolute deadlines, versions are chosen, and the entry
//! carries the proposer's clock (`now_ms`) so that "is this key expired?" has the same answer wherever and
//! whenever the entry is applied. [`apply`] then runs the mutation against the slot through a
//! [`SlotWriter`] and produces the reply.
//!
//! Today the state machine applies a mutation as soon as it is proposed. The replication work puts a Raft
//! log between [`propose`](crate::shard::Shard::propose) and [`apply`] without touching command code:
//! the entry is already the thing that gets replicated.

pub mod durability;
mod writer;

pub use writer::SlotWriter;

use crate::cmd::{
    hashes::HashOp, keys::KeyOp, lists::ListOp, sets::SetOp, strings::StringOp, zsets::ZSetOp,
    CmdError,
};
use crate::slot::SlotId;
use resp::Reply;

/// Format version of log entries; bumped when a mutation's meaning changes.
pub const ENTRY_VERSION: u8 = 1;

/// A deterministic write to the keys of one slot in one database.
#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    String(StringOp),
    Key(KeyOp),
    Hash(HashOp),
    List(ListOp),
    Set(SetOp),
    ZSet(ZSetOp),
}

/// A mutation with everything needed to apply it identically anywhere.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub slot: SlotId,
    pub db: u8,
    /// The proposer's clock, Unix ms: the "now" for every expiry decision made while applying.
    pub now_ms: u64,
    pub mutation: Mutation,
}

/// Applies one entry and returns the command's reply. Errors that leave nothing written (WRONGTYPE, a
/// non-integer value) are replies too; only storage failures are `Err`.
pub fn apply(entry: &LogEntry, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
    match &entry.mutation {
        Mutation::String(op) => op.apply(w),
        Mutation::Key(op) => op.apply(w),
        Mutation::Hash(op) => op.apply(w),
        Mutation::List(op) => op.apply(w),
        Mutation::Set(op) => op.apply(w),
        Mutation::ZSet(op) => op.apply(w),
    }
}

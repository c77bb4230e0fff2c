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
//! the entry is already the thing that gets replicated. What the log stores is a [`WireEntry`]: the entry
//! tagged with its format version, encoded by [`codec`] (which says what may and may not change within a
//! version).

pub mod codec;
pub mod durability;
mod writer;

pub use writer::SlotWriter;

use crate::cmd::{
    hashes::HashOp, keys::KeyOp, lists::ListOp, sets::SetOp, strings::StringOp, zsets::ZSetOp,
    CmdError,
};
use crate::slot::SlotId;
use resp::Reply;
use serde::{Deserialize, Serialize};

/// The newest log entry format version: this build writes [`WireEntry::V1`]. It equals the number of
/// [`WireEntry`] variants (version `n` is variant `n - 1` on the wire); bumped when a new variant is added.
pub const ENTRY_VERSION: u8 = 1;

/// What the Raft log carries: a [`LogEntry`] tagged with the format version it was written in.
///
/// Variants are append-only: never reordered, removed or changed, because the encoding names a variant by
/// its position. A `V2` is added when a mutation's bytes or meaning must change; `V1` entries then keep
/// decoding and applying exactly as before (see [`codec`]).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum WireEntry {
    V1(LogEntry),
}

impl WireEntry {
    /// The format version of this entry (1 for [`WireEntry::V1`]).
    pub fn version(&self) -> u8 {
        match self {
            WireEntry::V1(_) => 1,
        }
    }

    /// The entry to apply.
    pub fn into_entry(self) -> LogEntry {
        match self {
            WireEntry::V1(entry) => entry,
        }
    }
}

/// A one-line summary for logs (openraft prints payloads with it): version, slot, database and the
/// mutation's family, never keys or values.
impl std::fmt::Display for WireEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let WireEntry::V1(e) = self;
        let family = match e.mutation {
            Mutation::String(_) => "string",
            Mutation::Key(_) => "keyspace",
            Mutation::Hash(_) => "hash",
            Mutation::List(_) => "list",
            Mutation::Set(_) => "set",
            Mutation::ZSet(_) => "zset",
        };
        write!(
            f,
            "v{} slot {} db {} {family} write",
            self.version(),
            e.slot.0,
            e.db
        )
    }
}

impl From<LogEntry> for WireEntry {
    /// Wraps an entry in the newest format.
    fn from(entry: LogEntry) -> WireEntry {
        WireEntry::V1(entry)
    }
}

/// A deterministic write to the keys of one slot in one database.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum Mutation {
    String(StringOp),
    Key(KeyOp),
    Hash(HashOp),
    List(ListOp),
    Set(SetOp),
    ZSet(ZSetOp),
}

/// A mutation with everything needed to apply it identically anywhere.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
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

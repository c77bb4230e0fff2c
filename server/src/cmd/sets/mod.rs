//! Sets: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE, SINTER, SINTERCARD,
//! SUNION, SDIFF, SINTERSTORE, SUNIONSTORE, SDIFFSTORE, SSCAN.
//!
//! A set is a metadata record (its member count) plus one empty-valued record per member in the `sub`
//! family under the set's version (storage/collection.rs), so members come back in byte order and a
//! membership test is one point read. Single-member commands never read the whole set.
//!
//! * Writes are [`SetOp`] mutations. Everything random (SPOP, SRANDMEMBER) is decided by the proposer
//!   ([`sample`], uniform thanks to per-core rank [`markers`]); the mutation names the exact members, so
//!   applying it is deterministic.
//! * Multi-key reads (SINTER, SUNION, SDIFF, SINTERCARD) are computed by [`algebra`] on one core, or
//!   across cores by [`gather`] when the keys span cores; the STORE forms then write the destination with
//!   one mutation on its slot. What is atomic is spelled out in [`combine`] and [`smove`]: one core —
//!   atomic; across cores — not.

pub(crate) mod algebra;
mod combine;
mod gather;
pub(crate) mod markers;
mod sadd;
mod sample;
mod scard;
mod sintercard;
mod sismember;
mod smembers;
mod smismember;
mod smove;
mod spop;
mod srandmember;
mod srem;
mod sscan;

pub use algebra::Algebra;

use bytes::Bytes;
use resp::Reply;

use super::{flags::*, CmdError, CommandSpec, KeySpec};
use crate::statemachine::SlotWriter;

/// Deterministic writes of this family.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum SetOp {
    /// SADD (and the add half of SMOVE between slots): reply the number of members added.
    Add { key: Bytes, members: Vec<Bytes> },
    /// SREM (and the remove half of SMOVE between slots): reply the number of members removed.
    Rem { key: Bytes, members: Vec<Bytes> },
    /// SPOP: removes exactly these members, chosen by the proposer. Reply: with `count`, the set of
    /// members removed; without, the one removed (or nil).
    Pop {
        key: Bytes,
        members: Vec<Bytes>,
        count: bool,
    },
    /// SPOP with a count at least the set's size: the whole set goes; reply the set of its members.
    PopAll { key: Bytes },
    /// SMOVE with both keys in this slot: reply 1 if the member moved (or, for `src == dst`, is there).
    Move {
        src: Bytes,
        dst: Bytes,
        member: Bytes,
    },
    /// A STORE form whose result the proposer computed (keys in other slots): `dst` becomes a set of
    /// exactly these members (sorted, distinct), or is deleted when there are none. Reply the count.
    Store { dst: Bytes, members: Vec<Bytes> },
    /// A STORE form with every key in this slot: computed while applying, so the entry stays small.
    Combine {
        dst: Bytes,
        algebra: Algebra,
        keys: Vec<Bytes>,
    },
}

impl SetOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        match self {
            SetOp::Add { key, members } => sadd::apply(key, members, w),
            SetOp::Rem { key, members } => srem::apply(key, members, w),
            SetOp::Pop {
                key,
                members,
                count,
            } => spop::apply(key, members, *count, w),
            SetOp::PopAll { key } => spop::apply_all(key, w),
            SetOp::Move { src, dst, member } => smove::apply(src, dst, member, w),
            SetOp::Store { dst, members } => combine::apply_store(dst, members, w),
            SetOp::Combine { dst, algebra, keys } => {
                let members = algebra::compute(w.store(), w.db, w.now_ms, *algebra, keys, 0)?;
                combine::apply_store(dst, &members, w)
            }
        }
    }
}

super::family_spec!("set");

/// Names, arities, flags, key positions, summaries and versions as Redis 7.0's COMMAND reports them.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    spec("sadd", -3, WRITE | DENYOOM | FAST, KeySpec::ONE, sadd::local, None,
        "Add one or more members to a set", "1.0.0"),
    spec("srem", -3, WF, KeySpec::ONE, srem::local, None,
        "Remove one or more members from a set", "1.0.0"),
    spec("smembers", 2, READONLY, KeySpec::ONE, smembers::local, None,
        "Get all the members in a set", "1.0.0"),
    spec("sismember", 3, RF, KeySpec::ONE, sismember::local, None,
        "Determine if a given value is a member of a set", "1.0.0"),
    spec("smismember", -3, RF, KeySpec::ONE, smismember::local, None,
        "Returns the membership associated with the given elements for a set", "6.2.0"),
    spec("scard", 2, RF, KeySpec::ONE, scard::local, None,
        "Get the number of members in a set", "1.0.0"),
    spec("spop", -2, WF, KeySpec::ONE, spop::local, None,
        "Remove and return one or multiple random members from a set", "1.0.0"),
    spec("srandmember", -2, READONLY, KeySpec::ONE, srandmember::local, None,
        "Get one or multiple random members from a set", "1.0.0"),
    spec("smove", 4, WF, KeySpec::TWO, smove::local, Some(smove::spread),
        "Move a member from one set to another", "1.0.0"),
    spec("sinter", -2, READONLY, KeySpec::ALL, combine::sinter, Some(combine::spread),
        "Intersect multiple sets", "1.0.0"),
    spec("sintercard", -3, READONLY, KeySpec::counted(0, 0, 1), sintercard::local,
        Some(sintercard::spread),
        "Intersect multiple sets and return the cardinality of the result", "7.0.0"),
    spec("sunion", -2, READONLY, KeySpec::ALL, combine::sunion, Some(combine::spread),
        "Add multiple sets", "1.0.0"),
    spec("sdiff", -2, READONLY, KeySpec::ALL, combine::sdiff, Some(combine::spread),
        "Subtract multiple sets", "1.0.0"),
    spec("sinterstore", -3, WRITE | DENYOOM, KeySpec::ALL, combine::sinterstore,
        Some(combine::spread),
        "Intersect multiple sets and store the resulting set in a key", "1.0.0"),
    spec("sunionstore", -3, WRITE | DENYOOM, KeySpec::ALL, combine::sunionstore,
        Some(combine::spread),
        "Add multiple sets and store the resulting set in a key", "1.0.0"),
    spec("sdiffstore", -3, WRITE | DENYOOM, KeySpec::ALL, combine::sdiffstore,
        Some(combine::spread),
        "Subtract multiple sets and store the resulting set in a key", "1.0.0"),
    spec("sscan", -3, READONLY, KeySpec::ONE, sscan::local, None,
        "Incrementally iterate Set elements", "2.8.0"),
];

//! Sorted sets: ZADD, ZRANGE, ... ZSCAN, with Redis 7's options, errors and reply shapes.
//!
//! Layout (storage/collection.rs): a metadata record under the key (type, deadline, version, member
//! count); each member twice, under the key's version — `sub`: member → score (8 bytes, order-preserving
//! encoding), for point reads (ZSCORE, ZADD's current score), and `score`: score · member → empty, for
//! everything ordered (ranges, ranks, pops, counts). [`SlotWriter::put_scored`] and
//! [`SlotWriter::delete_scored`] keep the two in step, and the metadata count is kept exact.
//!
//! Reads ([`read`]) seek in the `score` family and stop when the reply is complete, so a range costs what
//! it returns; what Redis answers in O(log N) from its skiplist's ranks (ZRANK, ZCOUNT, ranges that start
//! deep inside the set) costs here a walk from the nearer end — each command's file says what it costs.
//!
//! Writes are [`ZSetOp`] mutations: parsed and checked in `local`, applied deterministically. Replies
//! follow the protocol through their types: scores are [`Reply::Double`] (a bulk string in RESP2, a double
//! in RESP3, printed `%.17g` like Redis 7.0), WITHSCORES results are [`Reply::Pairs`] (flat in RESP2,
//! `[member, score]` arrays in RESP3).
//!
//! Commands over several keys (ZUNION, ZINTER, ZDIFF and their STORE forms, ZINTERCARD, ZRANGESTORE,
//! ZMPOP) work with their keys anywhere: one slot — one mutation, atomic; one core — computed and written
//! back to back, atomic; several cores — inputs read on their cores, the result written on the
//! destination's, not atomic (see [`setops`], [`range`], [`pop`]).
//!
//! [`SlotWriter::put_scored`]: crate::statemachine::SlotWriter::put_scored
//! [`SlotWriter::delete_scored`]: crate::statemachine::SlotWriter::delete_scored

mod add;
mod bpop;
mod count;
mod lookup;
mod pop;
mod randmember;
mod range;
mod rank;
pub mod read;
mod rem;
mod scan;
pub mod score;
mod setops;
mod sources;
mod store;

pub use add::AddOp;
pub use pop::{PopOp, PopShape};
pub use setops::{Aggregate, Combine, SetOpKind};
pub use store::StoreOp;

use bytes::Bytes;
use resp::Reply;

use super::collection::Loaded;
use super::{flags::*, CmdError, CommandSpec, Ctx, KeySpec};
use crate::statemachine::SlotWriter;
use crate::storage::collection::CollectionMeta;
use crate::storage::record::{Record, ValueType};
use crate::storage::StorageError;
use read::{RangeKind, RangeQuery};

/// Deterministic writes of this family.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ZSetOp {
    /// ZADD, ZINCRBY.
    Add(AddOp),
    /// ZREM.
    Rem { key: Bytes, members: Vec<Bytes> },
    /// ZREMRANGEBYSCORE, ZREMRANGEBYRANK, ZREMRANGEBYLEX.
    RemRange { key: Bytes, kind: RangeKind },
    /// ZPOPMIN, ZPOPMAX, ZMPOP (one key), and the blocking pops once served.
    Pop(PopOp),
    /// ZRANGESTORE with both keys in this slot.
    RangeStore {
        dst: Bytes,
        src: Bytes,
        query: RangeQuery,
    },
    /// ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE with every key in this slot.
    Combine { dst: Bytes, combine: Combine },
    /// A STORE whose result was computed from other slots or cores.
    Store(StoreOp),
}

impl ZSetOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        match self {
            ZSetOp::Add(op) => op.apply(w),
            ZSetOp::Rem { key, members } => rem::apply_rem(w, key, members),
            ZSetOp::RemRange { key, kind } => rem::apply_rem_range(w, key, kind),
            ZSetOp::Pop(op) => op.apply(w),
            ZSetOp::RangeStore { dst, src, query } => range::apply_range_store(w, dst, src, query),
            ZSetOp::Combine { dst, combine } => setops::apply_combine(w, dst, combine),
            ZSetOp::Store(op) => op.apply(w),
        }
    }
}

/// Reads `key` as a sorted set for a read command (WRONGTYPE for other types), counting the keyspace hit
/// or miss as Redis's `lookupKeyRead` does.
fn read_zset(ctx: &Ctx<'_>, key: &[u8]) -> Result<Option<Loaded>, CmdError> {
    let rec = ctx.get(key)?;
    ctx.shard.stats.hit(rec.is_some());
    as_zset(rec)
}

/// A record as a sorted set: `None` when absent, WRONGTYPE for another type.
fn as_zset(rec: Option<Record>) -> Result<Option<Loaded>, CmdError> {
    match rec {
        None => Ok(None),
        Some(r) if r.vtype != ValueType::ZSet => Err(CmdError::WrongType),
        Some(record) => {
            let meta = CollectionMeta::of(&record).map_err(StorageError::from)?;
            Ok(Some(Loaded { record, meta }))
        }
    }
}

super::family_spec!("sorted-set");

/// ZUNION, ZINTER, ZDIFF, ZINTERCARD, ZMPOP: `numkeys key...` from argument 1.
const NUMKEYS_1: KeySpec = KeySpec::counted(0, 0, 1);
/// The STORE forms: the destination, then `numkeys key...` from argument 2.
const DST_NUMKEYS_2: KeySpec = KeySpec::counted(1, 1, 2);

/// Names, arities, flags, key positions, summaries and versions as Redis 7.0's COMMAND reports them
/// (ZRANK and ZREVRANK take Redis 7.2's optional WITHSCORE).
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    spec("zadd", -4, WDF, KeySpec::ONE, add::zadd, None,
        "Add one or more members to a sorted set, or update its score if it already exists", "1.2.0"),
    spec("zincrby", 4, WDF, KeySpec::ONE, add::zincrby, None,
        "Increment the score of a member in a sorted set", "1.2.0"),
    spec("zrem", -3, WF, KeySpec::ONE, rem::zrem, None,
        "Remove one or more members from a sorted set", "1.2.0"),
    spec("zscore", 3, RF, KeySpec::ONE, lookup::zscore, None,
        "Get the score associated with the given member in a sorted set", "1.2.0"),
    spec("zmscore", -3, RF, KeySpec::ONE, lookup::zmscore, None,
        "Get the score associated with the given members in a sorted set", "6.2.0"),
    spec("zcard", 2, RF, KeySpec::ONE, lookup::zcard, None,
        "Get the number of members in a sorted set", "1.2.0"),
    spec("zcount", 4, RF, KeySpec::ONE, count::zcount, None,
        "Count the members in a sorted set with scores within the given values", "2.0.0"),
    spec("zlexcount", 4, RF, KeySpec::ONE, count::zlexcount, None,
        "Count the number of members in a sorted set between a given lexicographical range", "2.8.9"),
    spec("zrange", -4, READONLY, KeySpec::ONE, range::zrange, None,
        "Return a range of members in a sorted set", "1.2.0"),
    spec("zrangestore", -5, WRITE | DENYOOM, KeySpec::TWO, range::zrangestore,
        Some(range::zrangestore_spread),
        "Store a range of members from sorted set into another key", "6.2.0"),
    spec("zrangebyscore", -4, READONLY, KeySpec::ONE, range::zrangebyscore, None,
        "Return a range of members in a sorted set, by score", "1.0.5"),
    spec("zrevrangebyscore", -4, READONLY, KeySpec::ONE, range::zrevrangebyscore, None,
        "Return a range of members in a sorted set, by score, with scores ordered from high to low",
        "2.2.0"),
    spec("zrangebylex", -4, READONLY, KeySpec::ONE, range::zrangebylex, None,
        "Return a range of members in a sorted set, by lexicographical range", "2.8.9"),
    spec("zrevrangebylex", -4, READONLY, KeySpec::ONE, range::zrevrangebylex, None,
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to \
         lower strings.", "2.8.9"),
    spec("zrevrange", -4, READONLY, KeySpec::ONE, range::zrevrange, None,
        "Return a range of members in a sorted set, by index, with scores ordered from high to low",
        "1.2.0"),
    spec("zrank", -3, RF, KeySpec::ONE, rank::zrank, None,
        "Determine the index of a member in a sorted set", "2.0.0"),
    spec("zrevrank", -3, RF, KeySpec::ONE, rank::zrevrank, None,
        "Determine the index of a member in a sorted set, with scores ordered from high to low", "2.0.0"),
    spec("zpopmin", -2, WF, KeySpec::ONE, pop::zpopmin, None,
        "Remove and return members with the lowest scores in a sorted set", "5.0.0"),
    spec("zpopmax", -2, WF, KeySpec::ONE, pop::zpopmax, None,
        "Remove and return members with the highest scores in a sorted set", "5.0.0"),
    spec("zmpop", -4, WRITE, NUMKEYS_1, pop::zmpop, Some(pop::zmpop_spread),
        "Remove and return members with scores in a sorted set", "7.0.0"),
    spec("bzpopmin", -3, WRITE | NOSCRIPT | FAST | BLOCKING, KeySpec::range(1, -2, 1), bpop::bzpop,
        Some(bpop::bzpop_spread),
        "Remove and return the member with the lowest score from one or more sorted sets, or block until \
         one is available", "5.0.0"),
    spec("bzpopmax", -3, WRITE | NOSCRIPT | FAST | BLOCKING, KeySpec::range(1, -2, 1), bpop::bzpop,
        Some(bpop::bzpop_spread),
        "Remove and return the member with the highest score from one or more sorted sets, or block until \
         one is available", "5.0.0"),
    spec("bzmpop", -5, WRITE | BLOCKING, KeySpec::counted(0, 0, 2), bpop::bzmpop,
        Some(bpop::bzmpop_spread),
        "Remove and return members with scores in a sorted set or block until one is available", "7.0.0"),
    spec("zremrangebyscore", 4, WRITE, KeySpec::ONE, rem::zremrangebyscore, None,
        "Remove all members in a sorted set within the given scores", "1.2.0"),
    spec("zremrangebyrank", 4, WRITE, KeySpec::ONE, rem::zremrangebyrank, None,
        "Remove all members in a sorted set within the given indexes", "2.0.0"),
    spec("zremrangebylex", 4, WRITE, KeySpec::ONE, rem::zremrangebylex, None,
        "Remove all members in a sorted set between the given lexicographical range", "2.8.9"),
    spec("zunionstore", -4, WRITE | DENYOOM, DST_NUMKEYS_2, setops::local, Some(setops::spread),
        "Add multiple sorted sets and store the resulting sorted set in a new key", "2.0.0"),
    spec("zinterstore", -4, WRITE | DENYOOM, DST_NUMKEYS_2, setops::local, Some(setops::spread),
        "Intersect multiple sorted sets and store the resulting sorted set in a new key", "2.0.0"),
    spec("zdiffstore", -4, WRITE | DENYOOM, DST_NUMKEYS_2, setops::local, Some(setops::spread),
        "Subtract multiple sorted sets and store the resulting sorted set in a new key", "6.2.0"),
    spec("zunion", -3, READONLY, NUMKEYS_1, setops::local, Some(setops::spread),
        "Add multiple sorted sets", "6.2.0"),
    spec("zinter", -3, READONLY, NUMKEYS_1, setops::local, Some(setops::spread),
        "Intersect multiple sorted sets", "6.2.0"),
    spec("zdiff", -3, READONLY, NUMKEYS_1, setops::local, Some(setops::spread),
        "Subtract multiple sorted sets", "6.2.0"),
    spec("zintercard", -3, READONLY, NUMKEYS_1, setops::local, Some(setops::spread),
        "Intersect multiple sorted sets and return the cardinality of the result", "7.0.0"),
    spec("zrandmember", -2, READONLY, KeySpec::ONE, randmember::zrandmember, None,
        "Get one or multiple random elements from a sorted set", "6.2.0"),
    spec("zscan", -3, READONLY, KeySpec::ONE, scan::zscan, None,
        "Incrementally iterate sorted sets elements and associated scores", "2.8.0"),
];

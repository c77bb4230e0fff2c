//! Hashes: HSET, HSETNX, HMSET, HGET, HMGET, HDEL, HEXISTS, HLEN, HSTRLEN, HKEYS, HVALS, HGETALL, HINCRBY,
//! HINCRBYFLOAT, HRANDFIELD, HSCAN.
//!
//! A hash is a metadata record (its field count) plus one `sub` record per field, field → value
//! (storage/collection.rs). So a point command costs a point lookup whatever the hash's size: HGET, HEXISTS
//! and HSTRLEN read one field, HLEN reads only the metadata, HSET of one field is one metadata read, one field
//! read and one write of each. Only HGETALL, HKEYS and HVALS read every field, because that is their answer;
//! HSCAN reads what it returns; HRANDFIELD walks at most to the last position it picked.
//!
//! Writes are [`HashOp`] mutations: parsed (and their arguments checked, in Redis's order) in `local`,
//! applied through a [`SlotWriter`], which reads the stored fields, writes the changed ones and keeps the
//! metadata count exact through [`collection::store`] — which also deletes a hash whose last field went, as
//! Redis never keeps an empty hash. Every write keeps the hash's time to live. A mutation reads all the
//! fields it needs before it writes any (the writer's own-writes lookup is a linear scan, so reading first
//! keeps a many-field HSET linear).
//!
//! Reads count keyspace hits and misses as Redis's `lookupKeyRead` does (WRONGTYPE counts as a hit).

mod hdel;
mod hexists;
mod hget;
mod hgetall;
mod hincrby;
mod hincrbyfloat;
mod hlen;
mod hmget;
mod hrandfield;
mod hscan;
mod hset;
mod hsetnx;
mod hstrlen;

pub use hdel::HDelOp;
pub use hincrby::HIncrByOp;
pub use hincrbyfloat::HIncrByFloatOp;
pub use hrandfield::MAX_REPEATED_COUNT;
pub use hset::HSetOp;
pub use hsetnx::HSetNxOp;

use bytes::Bytes;
use resp::Reply;

use super::collection::{self, Loaded};
use super::{flags::*, CmdError, CommandSpec, Ctx, KeySpec};
use crate::slot::SlotId;
use crate::statemachine::SlotWriter;
use crate::storage::collection::Family;
use crate::storage::record::ValueType;

/// Deterministic writes of this family.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum HashOp {
    Set(HSetOp),
    SetNx(HSetNxOp),
    Del(HDelOp),
    IncrBy(HIncrByOp),
    IncrByFloat(HIncrByFloatOp),
}

impl HashOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        match self {
            HashOp::Set(op) => op.apply(w),
            HashOp::SetNx(op) => op.apply(w),
            HashOp::Del(op) => op.apply(w),
            HashOp::IncrBy(op) => op.apply(w),
            HashOp::IncrByFloat(op) => op.apply(w),
        }
    }
}

/// Reads `key` as a hash for a read command (`None`: no such key; WRONGTYPE: another type), counting a
/// keyspace hit or miss.
fn read(ctx: &Ctx<'_>, key: &[u8]) -> Result<Option<Loaded>, CmdError> {
    let r = collection::read(ctx, key, ValueType::Hash);
    match &r {
        Ok(h) => ctx.shard.stats.hit(h.is_some()),
        Err(CmdError::WrongType) => ctx.shard.stats.hit(true),
        Err(_) => {}
    }
    r
}

/// One field's value in a read command.
fn field(ctx: &Ctx<'_>, key: &[u8], h: &Loaded, field: &[u8]) -> Result<Option<Bytes>, CmdError> {
    Ok(ctx.shard.store.get_member(
        Family::Sub,
        SlotId::of_key(key),
        ctx.db,
        key,
        h.version(),
        field,
    )?)
}

/// One field's value inside a mutation; a hash created by this mutation has none, so nothing is read.
fn stored_field(
    w: &mut SlotWriter<'_>,
    key: &[u8],
    h: &Loaded,
    field: &[u8],
) -> Result<Option<Bytes>, CmdError> {
    // A stored hash always has a field: a count of zero means `load_or_create` just made it.
    if h.meta.count == 0 {
        return Ok(None);
    }
    Ok(w.get_member(Family::Sub, key, h.version(), field)?)
}

super::family_spec!("hash");

/// Names, arities, flags, key positions, summaries and versions as Redis 7.0's COMMAND reports them.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    spec("hset", -4, WDF, KeySpec::ONE, hset::hset, None, "Set the string value of a hash field", "2.0.0"),
    spec("hmset", -4, WDF, KeySpec::ONE, hset::hmset, None, "Set multiple hash fields to multiple values", "2.0.0"),
    spec("hsetnx", 4, WDF, KeySpec::ONE, hsetnx::local, None,
        "Set the value of a hash field, only if the field does not exist", "2.0.0"),
    spec("hget", 3, RF, KeySpec::ONE, hget::local, None, "Get the value of a hash field", "2.0.0"),
    spec("hmget", -3, RF, KeySpec::ONE, hmget::local, None, "Get the values of all the given hash fields", "2.0.0"),
    spec("hdel", -3, WRITE | FAST, KeySpec::ONE, hdel::local, None, "Delete one or more hash fields", "2.0.0"),
    spec("hexists", 3, RF, KeySpec::ONE, hexists::local, None, "Determine if a hash field exists", "2.0.0"),
    spec("hlen", 2, RF, KeySpec::ONE, hlen::local, None, "Get the number of fields in a hash", "2.0.0"),
    spec("hstrlen", 3, RF, KeySpec::ONE, hstrlen::local, None,
        "Get the length of the value of a hash field", "3.2.0"),
    spec("hkeys", 2, READONLY, KeySpec::ONE, hgetall::hkeys, None, "Get all the fields in a hash", "2.0.0"),
    spec("hvals", 2, READONLY, KeySpec::ONE, hgetall::hvals, None, "Get all the values in a hash", "2.0.0"),
    spec("hgetall", 2, READONLY, KeySpec::ONE, hgetall::hgetall, None,
        "Get all the fields and values in a hash", "2.0.0"),
    spec("hincrby", 4, WDF, KeySpec::ONE, hincrby::local, None,
        "Increment the integer value of a hash field by the given number", "2.0.0"),
    spec("hincrbyfloat", 4, WDF, KeySpec::ONE, hincrbyfloat::local, None,
        "Increment the float value of a hash field by the given amount", "2.6.0"),
    spec("hrandfield", -2, READONLY, KeySpec::ONE, hrandfield::local, None,
        "Get one or multiple random fields from a hash", "6.2.0"),
    spec("hscan", -3, READONLY, KeySpec::ONE, hscan::local, None,
        "Incrementally iterate hash fields and associated values", "2.8.0"),
];

//! String commands. Values are stored whole in the key's record (see `storage::record`).
//!
//! Every write is a [`StringOp`] applied through the slot's [`SlotWriter`]. Read-modify-write commands
//! (INCR*, APPEND, SETRANGE, INCRBYFLOAT, GETDEL, GETEX) compute from the stored value *inside* `apply`, so
//! pipelined or concurrent updates of one key are exact, and the reply comes from `apply`. Anything that
//! depends on the moment or the settings (deadlines, proto-max-bulk-len) is fixed into the op when the
//! command is parsed.
//!
//! Time to live follows Redis: SET (without KEEPTTL), SETEX, PSETEX, GETSET and MSET replace it; INCR*,
//! INCRBYFLOAT, APPEND and SETRANGE keep it; GETEX changes it only when told to.
//!
//! INCRBYFLOAT computes in Redis's `long double` ([`crate::cmd::longdouble`]), so its digits match
//! Redis's. Multi-key commands (MGET, MSET, MSETNX, LCS) split by core when their keys span cores; each
//! file says what is atomic then.

mod append;
mod decr;
mod decrby;
mod get;
mod getdel;
mod getex;
mod getrange;
mod getset;
mod incr;
mod incrby;
mod incrbyfloat;
mod lcs;
mod mget;
mod mset;
mod msetnx;
mod psetex;
mod set;
mod setex;
mod setnx;
mod setrange;
mod strlen;
#[cfg(test)]
mod tests;

pub use append::AppendOp;
pub use getdel::GetDelOp;
pub use getex::{GetExAction, GetExOp};
pub use incrby::IncrByOp;
pub use incrbyfloat::IncrByFloatOp;
pub use mset::MSetOp;
pub use set::{deadline, ExpireAction, ExpireKind, SetCond, SetOp};
pub use setrange::SetRangeOp;

use super::{flags::*, CmdError, CommandSpec, Ctx, KeySpec};
use crate::statemachine::SlotWriter;
use crate::storage::record::{Record, ValueType};
use resp::Reply;

/// Deterministic writes of the string family.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum StringOp {
    Set(SetOp),
    MSet(MSetOp),
    GetDel(GetDelOp),
    GetEx(GetExOp),
    IncrBy(IncrByOp),
    IncrByFloat(IncrByFloatOp),
    Append(AppendOp),
    SetRange(SetRangeOp),
}

impl StringOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        match self {
            StringOp::Set(op) => op.apply(w),
            StringOp::MSet(op) => op.apply(w),
            StringOp::GetDel(op) => op.apply(w),
            StringOp::GetEx(op) => op.apply(w),
            StringOp::IncrBy(op) => op.apply(w),
            StringOp::IncrByFloat(op) => op.apply(w),
            StringOp::Append(op) => op.apply(w),
            StringOp::SetRange(op) => op.apply(w),
        }
    }
}

/// The live string record of a key inside `apply`: `None` if absent, WRONGTYPE if another type.
fn string_record(w: &mut SlotWriter<'_>, key: &[u8]) -> Result<Option<Record>, CmdError> {
    match w.get(key)? {
        Some(r) if r.vtype != ValueType::String => Err(CmdError::WrongType),
        other => Ok(other),
    }
}

/// Counts a keyspace hit or miss for a command that reads the old value through a mutation (GETSET, GETDEL,
/// GETEX, SET ... GET), as Redis's `lookupKeyRead` does: nil is a miss; a value or WRONGTYPE is a hit.
fn count_lookup(ctx: &Ctx<'_>, reply: &Result<Reply, CmdError>) {
    match reply {
        Ok(Reply::Null) => ctx.shard.stats.hit(false),
        Ok(_) | Err(CmdError::WrongType) => ctx.shard.stats.hit(true),
        Err(_) => {}
    }
}

super::family_spec!("string");

/// Names, arities, flags, key positions, summaries and versions as Redis 7.0's COMMAND reports them.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    spec("get", 2, RF, KeySpec::ONE, get::local, None, "Get the value of a key", "1.0.0"),
    spec("set", -3, WRITE | DENYOOM, KeySpec::ONE, set::local, None, "Set the string value of a key", "1.0.0"),
    spec("setnx", 3, WDF, KeySpec::ONE, setnx::local, None,
        "Set the value of a key, only if the key does not exist", "1.0.0"),
    spec("setex", 4, WRITE | DENYOOM, KeySpec::ONE, setex::local, None,
        "Set the value and expiration of a key", "2.0.0"),
    spec("psetex", 4, WRITE | DENYOOM, KeySpec::ONE, psetex::local, None,
        "Set the value and expiration in milliseconds of a key", "2.6.0"),
    spec("getset", 3, WDF, KeySpec::ONE, getset::local, None,
        "Set the string value of a key and return its old value", "1.0.0"),
    spec("getdel", 2, WRITE | FAST, KeySpec::ONE, getdel::local, None,
        "Get the value of a key and delete the key", "6.2.0"),
    spec("getex", -2, WRITE | FAST, KeySpec::ONE, getex::local, None,
        "Get the value of a key and optionally set its expiration", "6.2.0"),
    spec("mget", -2, RF, KeySpec::ALL, mget::local, Some(mget::spread),
        "Get the values of all the given keys", "1.0.0"),
    spec("mset", -3, WRITE | DENYOOM, KeySpec::PAIRS, mset::local, Some(mset::spread),
        "Set multiple keys to multiple values", "1.0.1"),
    spec("msetnx", -3, WRITE | DENYOOM, KeySpec::PAIRS, msetnx::local, Some(msetnx::spread),
        "Set multiple keys to multiple values, only if none of the keys exist", "1.0.1"),
    spec("append", 3, WDF, KeySpec::ONE, append::local, None, "Append a value to a key", "2.0.0"),
    spec("strlen", 2, RF, KeySpec::ONE, strlen::local, None,
        "Get the length of the value stored in a key", "2.2.0"),
    spec("incr", 2, WDF, KeySpec::ONE, incr::local, None,
        "Increment the integer value of a key by one", "1.0.0"),
    spec("decr", 2, WDF, KeySpec::ONE, decr::local, None,
        "Decrement the integer value of a key by one", "1.0.0"),
    spec("incrby", 3, WDF, KeySpec::ONE, incrby::local, None,
        "Increment the integer value of a key by the given amount", "1.0.0"),
    spec("decrby", 3, WDF, KeySpec::ONE, decrby::local, None,
        "Decrement the integer value of a key by the given number", "1.0.0"),
    spec("incrbyfloat", 3, WDF, KeySpec::ONE, incrbyfloat::local, None,
        "Increment the float value of a key by the given amount", "2.6.0"),
    spec("getrange", 4, READONLY, KeySpec::ONE, getrange::local, None,
        "Get a substring of the string stored at a key", "2.4.0"),
    spec("substr", 4, READONLY, KeySpec::ONE, getrange::local, None,
        "Get a substring of the string stored at a key", "1.0.0"),
    spec("setrange", 4, WRITE | DENYOOM, KeySpec::ONE, setrange::local, None,
        "Overwrite part of a string at key starting at the specified offset", "2.2.0"),
    spec("lcs", -3, READONLY, KeySpec::TWO, lcs::local, Some(lcs::spread), "Find longest common substring", "7.0.0"),
];

//! LSET key index element — one point write at `head + index`.

use bytes::Bytes;
use resp::Reply;

use super::elements::{offset, put};
use super::ListOp;
use crate::cmd::args::parse_i64;
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::record::ValueType;

const OUT_OF_RANGE: &str = "ERR index out of range";

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let key = &args[1];
    // Redis: the key (no such key, WRONGTYPE), then the index.
    if collection::read(ctx, key, ValueType::List)?.is_none() {
        return Err(CmdError::NoSuchKey);
    }
    let index = parse_i64(&args[2])?;
    let op = ListOp::Set {
        key: key.clone(),
        index,
        element: args[3].clone(),
    };
    ctx.propose(ctx.slot_of(key), Mutation::List(op))
}

pub fn apply(
    w: &mut SlotWriter<'_>,
    key: &Bytes,
    index: i64,
    element: &Bytes,
) -> Result<Reply, CmdError> {
    let Some(l) = collection::load(w, key, ValueType::List)? else {
        return Err(CmdError::NoSuchKey);
    };
    let Some(i) = offset(index, l.meta.count) else {
        return Err(CmdError::msg(OUT_OF_RANGE));
    };
    put(w, key, l.version(), l.meta.head + i, element);
    // The metadata is unchanged, but storing it marks the key written (WATCH, keyspace bookkeeping).
    collection::store(w, key, &l)?;
    Ok(Reply::Ok)
}

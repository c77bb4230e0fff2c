//! LPUSH / RPUSH key element [element ...], LPUSHX / RPUSHX (only when the list exists).

use bytes::Bytes;
use resp::Reply;

use super::elements::{full, put};
use super::ListOp;
use crate::cmd::collection::{self, Loaded};
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::collection::CollectionMeta;
use crate::storage::record::ValueType;

fn push(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    left: bool,
    only_existing: bool,
) -> Result<Reply, CmdError> {
    let op = ListOp::Push {
        key: args[1].clone(),
        elements: args[2..].to_vec(),
        left,
        only_existing,
    };
    ctx.propose(ctx.slot_of(&args[1]), Mutation::List(op))
}

pub fn lpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    push(ctx, args, true, false)
}

pub fn rpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    push(ctx, args, false, false)
}

pub fn lpushx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    push(ctx, args, true, true)
}

pub fn rpushx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    push(ctx, args, false, true)
}

pub fn apply(
    w: &mut SlotWriter<'_>,
    key: &Bytes,
    elements: &[Bytes],
    left: bool,
    only_existing: bool,
) -> Result<Reply, CmdError> {
    let mut l = match collection::load(w, key, ValueType::List)? {
        Some(l) => l,
        None if only_existing => return Ok(Reply::Integer(0)),
        None => new_list(w)?,
    };
    push_elements(w, key, &mut l, elements, left)?;
    collection::store(w, key, &l)?;
    Ok(Reply::Integer(l.meta.count as i64))
}

/// A new, empty list (fresh version; stored by the caller).
pub fn new_list(w: &mut SlotWriter<'_>) -> Result<Loaded, CmdError> {
    Ok(Loaded {
        record: w.new_collection(ValueType::List)?,
        meta: CollectionMeta::empty(ValueType::List),
    })
}

/// Writes `elements` at one end of `l`, one at a time as LPUSH does (so LPUSH a b c leaves c first).
pub fn push_elements(
    w: &mut SlotWriter<'_>,
    key: &[u8],
    l: &mut Loaded,
    elements: &[Bytes],
    left: bool,
) -> Result<(), CmdError> {
    let version = l.version();
    for e in elements {
        if left {
            l.meta.head = l.meta.head.checked_sub(1).ok_or_else(full)?;
            put(w, key, version, l.meta.head, e);
        } else {
            let pos = l.meta.tail();
            if pos == u64::MAX {
                return Err(full());
            }
            put(w, key, version, pos, e);
        }
        l.meta.count += 1;
    }
    Ok(())
}

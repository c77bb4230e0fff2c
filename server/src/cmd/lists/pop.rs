//! LPOP / RPOP key [count], and the pop every other popping command (LMPOP, BLPOP, BLMPOP, LMOVE across
//! slots) proposes.
//!
//! Reply forms (Redis 7.0): without a count, a bulk or a null bulk; with a count, an array — a null array
//! when the key does not exist (even for count 0), an empty array for count 0 on an existing list.

use bytes::Bytes;
use resp::Reply;

use super::elements::{delete, get, read_run, At};
use super::ListOp;
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::record::ValueType;

/// The form of a pop's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PopShape {
    /// LPOP key: the element.
    Bulk,
    /// LPOP key count: the elements.
    Array,
    /// BLPOP: `[key, element]`.
    KeyBulk,
    /// LMPOP / BLMPOP: `[key, [elements]]`.
    KeyArray,
}

fn pop_cmd(ctx: &mut Ctx<'_>, args: &[Bytes], left: bool) -> Result<Reply, CmdError> {
    if args.len() > 3 {
        return Err(CmdError::WrongArity(
            if left { "lpop" } else { "rpop" }.to_string(),
        ));
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => Some(parse_positive(a)?),
    };
    let op = ListOp::Pop {
        key: args[1].clone(),
        left,
        count,
        shape: if count.is_some() {
            PopShape::Array
        } else {
            PopShape::Bulk
        },
    };
    ctx.propose(ctx.slot_of(&args[1]), Mutation::List(op))
}

/// `getPositiveLongFromObjectOrReply` without a custom message.
fn parse_positive(arg: &[u8]) -> Result<u64, CmdError> {
    match crate::cmd::args::parse_i64_opt(arg) {
        Some(n) if n >= 0 => Ok(n as u64),
        _ => Err(CmdError::msg("ERR value is out of range, must be positive")),
    }
}

pub fn lpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    pop_cmd(ctx, args, true)
}

pub fn rpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    pop_cmd(ctx, args, false)
}

/// A blocking command's pop on one key (see [`crate::cmd::blocking::PopFn`]): `None` when the key is
/// missing, or holds another type and `wake` is set.
pub fn pop_if_list(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    wake: bool,
    left: bool,
    count: Option<u64>,
    shape: PopShape,
) -> Result<Option<Reply>, CmdError> {
    match collection::read(ctx, key, ValueType::List) {
        Ok(Some(_)) => {}
        Ok(None) => return Ok(None),
        Err(CmdError::WrongType) if wake => return Ok(None),
        Err(e) => return Err(e),
    }
    let op = ListOp::Pop {
        key: key.clone(),
        left,
        count,
        shape,
    };
    ctx.propose(ctx.slot_of(key), Mutation::List(op)).map(Some)
}

pub fn apply(
    w: &mut SlotWriter<'_>,
    key: &Bytes,
    left: bool,
    count: Option<u64>,
    shape: PopShape,
) -> Result<Reply, CmdError> {
    let Some(mut l) = collection::load(w, key, ValueType::List)? else {
        return Ok(match shape {
            PopShape::Bulk => Reply::Null,
            _ => Reply::NullArray,
        });
    };
    let n = count.unwrap_or(1).min(l.meta.count);
    if n == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let version = l.version();
    let from = if left { l.meta.head } else { l.meta.tail() - 1 };
    let popped = if n == 1 {
        vec![get(w, key, version, from)?]
    } else {
        read_run(At::of(w.store(), w.db, key, &l), from, n, left)?
    };
    l.meta.count -= n;
    if left {
        l.meta.head += n;
    }
    if l.meta.count > 0 {
        for i in 0..n {
            let pos = if left { from + i } else { from - i };
            delete(w, key, version, pos);
        }
    }
    // An emptied list is deleted; its members are left to the compaction filter.
    collection::store(w, key, &l)?;
    let mut popped = popped.into_iter().map(Reply::Bulk);
    Ok(match shape {
        PopShape::Bulk => popped.next().unwrap_or(Reply::Null),
        PopShape::Array => Reply::Array(popped.collect()),
        PopShape::KeyBulk => Reply::Array(vec![
            Reply::Bulk(key.clone()),
            popped.next().unwrap_or(Reply::Null),
        ]),
        PopShape::KeyArray => Reply::Array(vec![
            Reply::Bulk(key.clone()),
            Reply::Array(popped.collect()),
        ]),
    })
}

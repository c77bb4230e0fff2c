//! BZPOPMIN / BZPOPMAX key [key ...] timeout, and BZMPOP timeout numkeys key [key ...] MIN | MAX
//! [COUNT count] — the pops of [`super::pop`] that wait for data, through the shared machinery of
//! [`crate::cmd::blocking`] (waiting, wake order, timeouts, keys on several cores).
//!
//! Checks in Redis's order: BZPOPMIN/BZPOPMAX check the timeout first; BZMPOP checks numkeys, MIN/MAX and
//! COUNT first, then the timeout. Then each key in order: the first that holds a sorted set is popped; a key
//! of another type is WRONGTYPE on the first try (and skipped when a wait is woken, as in Redis).
//! A timeout, or a call that may not wait (inside MULTI), replies with a null array.

use bytes::Bytes;
use resp::Reply;

use super::pop::{parse_mpop, PopOp, PopShape};
use super::ZSetOp;
use crate::cmd::blocking::{self, Block};
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::statemachine::Mutation;
use crate::storage::record::ValueType;

/// Pops from `key` if it holds a sorted set (see [`blocking::PopFn`]).
fn try_pop(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    max: bool,
    count: u64,
    shape: PopShape,
    wake: bool,
) -> Result<Option<Reply>, CmdError> {
    match ctx.get(key)? {
        None => Ok(None),
        Some(r) if r.vtype != ValueType::ZSet => {
            if wake {
                Ok(None)
            } else {
                Err(CmdError::WrongType)
            }
        }
        Some(_) => {
            let op = PopOp {
                key: key.clone(),
                max,
                count,
                shape,
            };
            ctx.propose(ctx.slot_of(key), Mutation::ZSet(ZSetOp::Pop(op)))
                .map(Some)
        }
    }
}

fn is_max(args: &[Bytes]) -> bool {
    args[0].eq_ignore_ascii_case(b"bzpopmax")
}

/// BZPOPMIN / BZPOPMAX: one member, replied as `[key, member, score]`.
fn pop_one(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    args: &[Bytes],
    wake: bool,
) -> Result<Option<Reply>, CmdError> {
    try_pop(ctx, key, is_max(args), 1, PopShape::KeyedFlat, wake)
}

/// BZMPOP: up to COUNT members, replied as `[key, [[member, score], ...]]`.
fn pop_many(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    args: &[Bytes],
    wake: bool,
) -> Result<Option<Reply>, CmdError> {
    let a = parse_mpop(args, 2)?;
    try_pop(ctx, key, a.max, a.count, PopShape::Keyed, wake)
}

fn parse_bzpop(args: &[Bytes], now_ms: u64) -> Result<Block, CmdError> {
    let deadline = blocking::parse_timeout(&args[args.len() - 1], now_ms)?;
    Ok(Block::null_array(
        args[1..args.len() - 1].to_vec(),
        deadline,
        pop_one,
    ))
}

fn parse_bzmpop(args: &[Bytes], now_ms: u64) -> Result<Block, CmdError> {
    let a = parse_mpop(args, 2)?;
    let deadline = blocking::parse_timeout(&args[1], now_ms)?;
    Ok(Block::null_array(a.keys, deadline, pop_many))
}

pub fn bzpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let b = parse_bzpop(args, ctx.now_ms)?;
    blocking::local(ctx, args, b)
}

pub fn bzpop_spread(s: Spread) -> ReplyFuture {
    match parse_bzpop(&s.args, s.now_ms) {
        Ok(b) => blocking::spread(s, b),
        Err(e) => blocking::ready(e.to_reply()),
    }
}

pub fn bzmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let b = parse_bzmpop(args, ctx.now_ms)?;
    blocking::local(ctx, args, b)
}

pub fn bzmpop_spread(s: Spread) -> ReplyFuture {
    match parse_bzmpop(&s.args, s.now_ms) {
        Ok(b) => blocking::spread(s, b),
        Err(e) => blocking::ready(e.to_reply()),
    }
}

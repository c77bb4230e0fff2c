//! BLPOP / BRPOP key [key ...] timeout, BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count], and
//! LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] (BLMPOP that never waits).
//!
//! The keys are tried in order: a missing or empty key is skipped, the first list pops, a key of another
//! type is WRONGTYPE. Keys on one core: atomic. Keys on several cores: tried one core at a time, in order;
//! waiting across cores is described in [`crate::cmd::blocking`].

use bytes::Bytes;
use resp::Reply;

use super::pop::pop_if_list;
use super::{parse_end, PopShape};
use crate::cmd::args::{is, parse_i64_opt};
use crate::cmd::blocking::{self, parse_timeout, Block, Deadline, PopFn};
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};

fn pop_left(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    _args: &[Bytes],
    wake: bool,
) -> Result<Option<Reply>, CmdError> {
    pop_if_list(ctx, key, wake, true, None, PopShape::KeyBulk)
}

fn pop_right(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    _args: &[Bytes],
    wake: bool,
) -> Result<Option<Reply>, CmdError> {
    pop_if_list(ctx, key, wake, false, None, PopShape::KeyBulk)
}

/// BLPOP/BRPOP: keys and deadline.
fn parse_bpop(args: &[Bytes], now_ms: u64) -> Result<(Vec<Bytes>, Deadline), CmdError> {
    let deadline = parse_timeout(&args[args.len() - 1], now_ms)?;
    Ok((args[1..args.len() - 1].to_vec(), deadline))
}

pub fn blpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let (keys, deadline) = parse_bpop(args, ctx.now_ms)?;
    blocking::local(ctx, args, Block::null_array(keys, deadline, pop_left))
}

pub fn brpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let (keys, deadline) = parse_bpop(args, ctx.now_ms)?;
    blocking::local(ctx, args, Block::null_array(keys, deadline, pop_right))
}

fn bpop_spread(s: Spread, pop: PopFn) -> ReplyFuture {
    match parse_bpop(&s.args, s.now_ms) {
        Ok((keys, deadline)) => blocking::spread(s, Block::null_array(keys, deadline, pop)),
        Err(e) => blocking::ready(e.to_reply()),
    }
}

pub fn blpop_spread(s: Spread) -> ReplyFuture {
    bpop_spread(s, pop_left)
}

pub fn brpop_spread(s: Spread) -> ReplyFuture {
    bpop_spread(s, pop_right)
}

/// Parsed `numkeys key ... LEFT|RIGHT [COUNT count]` starting at `at`.
struct Mpop {
    keys: Vec<Bytes>,
    left: bool,
    count: u64,
}

/// Redis's checks, in its order (`lmpopGenericCommand`).
fn parse_mpop(args: &[Bytes], at: usize) -> Result<Mpop, CmdError> {
    let numkeys = parse_i64_opt(&args[at])
        .filter(|n| *n >= 1)
        .ok_or(CmdError::msg("ERR numkeys should be greater than 0"))?;
    let where_at = (at as u64)
        .checked_add(numkeys as u64 + 1)
        .filter(|w| *w < args.len() as u64)
        .ok_or(CmdError::Syntax)? as usize;
    let left = parse_end(&args[where_at])?;
    let mut count = None;
    let mut j = where_at + 1;
    while j < args.len() {
        if count.is_none() && is(&args[j], "count") && j + 1 < args.len() {
            let n = parse_i64_opt(&args[j + 1])
                .filter(|n| *n >= 1)
                .ok_or(CmdError::msg("ERR count should be greater than 0"))?;
            count = Some(n as u64);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(Mpop {
        keys: args[at + 1..where_at].to_vec(),
        left,
        count: count.unwrap_or(1),
    })
}

/// Where numkeys is: LMPOP's argument 1, BLMPOP's 2.
fn numkeys_at(args: &[Bytes]) -> usize {
    if is(&args[0], "blmpop") {
        2
    } else {
        1
    }
}

fn pop_mpop(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    args: &[Bytes],
    wake: bool,
) -> Result<Option<Reply>, CmdError> {
    let m = parse_mpop(args, numkeys_at(args))?;
    pop_if_list(ctx, key, wake, m.left, Some(m.count), PopShape::KeyArray)
}

/// LMPOP/BLMPOP: the parsed arguments and the deadline (none for LMPOP).
fn parse_any_mpop(args: &[Bytes], now_ms: u64) -> Result<(Vec<Bytes>, Deadline), CmdError> {
    let at = numkeys_at(args);
    let m = parse_mpop(args, at)?;
    let deadline = if at == 2 {
        parse_timeout(&args[1], now_ms)?
    } else {
        None
    };
    Ok((m.keys, deadline))
}

pub fn lmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let (keys, deadline) = parse_any_mpop(args, ctx.now_ms)?;
    blocking::local(ctx, args, Block::null_array(keys, deadline, pop_mpop))
}

pub fn blmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    lmpop(ctx, args)
}

pub fn lmpop_spread(s: Spread) -> ReplyFuture {
    match parse_any_mpop(&s.args, s.now_ms) {
        Ok((keys, deadline)) => blocking::spread(s, Block::null_array(keys, deadline, pop_mpop)),
        Err(e) => blocking::ready(e.to_reply()),
    }
}

pub fn blmpop_spread(s: Spread) -> ReplyFuture {
    lmpop_spread(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::from(s.to_string())).collect()
    }

    #[test]
    fn mpop_arguments_like_redis() {
        let m = parse_mpop(&args(&["lmpop", "2", "a", "b", "right", "count", "3"]), 1).unwrap();
        assert_eq!((m.keys.len(), m.left, m.count), (2, false, 3));
        let e = |v: &[&str], at| parse_mpop(&args(v), at).err().unwrap().to_string();
        assert_eq!(
            e(&["lmpop", "0", "a", "left"], 1),
            "ERR numkeys should be greater than 0"
        );
        assert_eq!(
            e(&["lmpop", "x", "a", "left"], 1),
            "ERR numkeys should be greater than 0"
        );
        assert_eq!(e(&["lmpop", "3", "a", "left"], 1), "ERR syntax error");
        assert_eq!(
            e(&["lmpop", "9223372036854775807", "a", "left"], 1),
            "ERR syntax error"
        );
        assert_eq!(e(&["lmpop", "1", "a", "up"], 1), "ERR syntax error");
        assert_eq!(
            e(&["lmpop", "1", "a", "left", "count", "0"], 1),
            "ERR count should be greater than 0"
        );
        assert_eq!(
            e(&["lmpop", "1", "a", "left", "count", "1", "count", "1"], 1),
            "ERR syntax error"
        );
        assert_eq!(
            e(&["lmpop", "1", "a", "left", "count"], 1),
            "ERR syntax error"
        );
    }
}

//! SINTERCARD numkeys key [key ...] [LIMIT limit] — the size of the intersection, stopping early once it
//! reaches `limit` (0: no limit). Argument errors come first, with Redis's texts, before any key is read.
//! Keys on several cores are combined as SINTER combines them (see `gather`; not one snapshot across
//! cores).

use bytes::Bytes;
use resp::Reply;

use super::algebra::{self, Algebra};
use super::gather;
use crate::cmd::args::{is, parse_i64_opt};
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};

/// The keys and the limit (0: none).
fn parse(args: &[Bytes]) -> Result<(&[Bytes], usize), CmdError> {
    let numkeys = parse_i64_opt(&args[1])
        .filter(|n| *n > 0)
        .ok_or_else(|| CmdError::msg("ERR numkeys should be greater than 0"))?
        as usize;
    if numkeys > args.len() - 2 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0;
    let mut i = 2 + numkeys;
    while i < args.len() {
        if is(&args[i], "limit") && i + 1 < args.len() {
            limit = parse_i64_opt(&args[i + 1])
                .filter(|n| *n >= 0)
                .ok_or_else(|| CmdError::msg("ERR LIMIT can't be negative"))?
                as usize;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((&args[2..2 + numkeys], limit))
}

fn reply(n: usize, limit: usize) -> Reply {
    let n = if limit > 0 { n.min(limit) } else { n };
    Reply::Integer(n as i64)
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let (keys, limit) = parse(args)?;
    let store = &ctx.shard.store;
    let members = algebra::compute(store, ctx.db, ctx.now_ms, Algebra::Inter, keys, limit)?;
    Ok(reply(members.len(), limit))
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let (keys, limit) = match parse(&s.args) {
            Ok((k, l)) => (k.to_vec(), l),
            Err(e) => return e.to_reply(),
        };
        match gather::compute(&s, Algebra::Inter, &keys, limit).await {
            Ok(members) => reply(members.len(), limit),
            Err(e) => e.to_reply(),
        }
    })
}

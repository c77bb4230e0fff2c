//! CLIENT UNBLOCK id [TIMEOUT | ERROR] — releases a client waiting in a blocking command (BLPOP, BZPOPMIN,
//! ...) as if its timeout had passed, or (ERROR) with `-UNBLOCKED client unblocked via CLIENT UNBLOCK`.
//! Replies 1 if the client was blocked, else 0.
//!
//! A blocked client waits on the core that owns its keys (or, for keys on several cores, on its own core),
//! not necessarily where it is connected, so every core is asked; a client waits on one core at a time.

use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use super::unsupported::wrong_args;
use crate::cmd::args::{is, parse_i64};
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::shard::Shard;

/// `(client id, with the UNBLOCKED error)`, checked in Redis's order.
fn parse(args: &[Bytes]) -> Result<(i64, bool), CmdError> {
    if args.len() > 4 {
        return Err(wrong_args(&args[1]));
    }
    let error = match args.get(3) {
        None => false,
        Some(a) if is(a, "timeout") => false,
        Some(a) if is(a, "error") => true,
        Some(_) => {
            return Err(CmdError::msg(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    Ok((parse_i64(&args[2])?, error))
}

fn unblock_here(shard: &Shard, id: i64, error: bool) -> bool {
    u64::try_from(id).is_ok_and(|id| shard.blocking.unblock(id, error))
}

/// One core (a one-core node, or a leg).
pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let (id, error) = parse(args)?;
    Ok(Reply::Integer(unblock_here(ctx.shard, id, error) as i64))
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let (id, error) = match parse(&s.args) {
            Ok(p) => p,
            Err(e) => return e.to_reply(),
        };
        let found = s
            .shard
            .on_every_core(move |sh: &Rc<Shard>| unblock_here(sh, id, error))
            .await;
        Reply::Integer(found.contains(&true) as i64)
    })
}

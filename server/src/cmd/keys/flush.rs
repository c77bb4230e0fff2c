//! FLUSHDB [ASYNC | SYNC], FLUSHALL [ASYNC | SYNC]
//!
//! One [`KeyOp::Flush`] mutation per slot that holds keys: a range delete of the slot's database (or of the
//! whole slot, for FLUSHALL) with its key counts, so it is cheap whatever the number of keys and ASYNC and
//! SYNC behave the same. Expire-index entries of the deleted keys are left behind; the active expiry cycle
//! finds them stale and drops them. Each core flushes its own slots (`spread` runs every core): atomic per
//! slot, not across slots — a write racing with the flush may survive it, as it could just as well have
//! arrived right after it.

use bytes::Bytes;
use resp::Reply;

use super::KeyOp;
use crate::cmd::args::is;
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::slot::SlotId;
use crate::statemachine::Mutation;

fn check_args(args: &[Bytes]) -> Result<(), CmdError> {
    match args.len() {
        1 => Ok(()),
        2 if is(&args[1], "sync") || is(&args[1], "async") => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

fn flush(ctx: &mut Ctx<'_>, args: &[Bytes], all: bool) -> Result<Reply, CmdError> {
    check_args(args)?;
    let databases = if all {
        0..ctx.shard.node.config.databases as u8
    } else {
        ctx.db..ctx.db + 1
    };
    for slot in ctx.shard.node.layout.slots_of(ctx.shard.core) {
        let slot = SlotId(slot);
        let mut has = false;
        for db in databases.clone() {
            // The counts answer without I/O; the seek covers a count that would be wrong.
            let store = &ctx.shard.store;
            if store.counts(slot, db)?.keys != 0 || store.slot_db_has_keys(slot, db)? {
                has = true;
                break;
            }
        }
        if has {
            ctx.propose(slot, Mutation::Key(KeyOp::Flush { all }))?;
        }
    }
    Ok(Reply::Ok)
}

pub fn flushdb(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    flush(ctx, args, false)
}

pub fn flushall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    flush(ctx, args, true)
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        if let Err(e) = check_args(&s.args) {
            return e.to_reply();
        }
        for r in s.on_every_core(&s.args).await {
            if r != Reply::Ok {
                return r;
            }
        }
        Reply::Ok
    })
}

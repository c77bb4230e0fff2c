//! FLUSHDB [ASYNC | SYNC], FLUSHALL [ASYNC | SYNC]
//!
//! One [`KeyOp::Flush`] mutation per slot that holds keys: a range delete of the slot's database (or of the
//! whole slot, for FLUSHALL) with its expire index and key counts, so it is cheap whatever the number of
//! keys and ASYNC and SYNC behave the same. Which slots hold keys is read from their key counts, kept in
//! memory: they are exact (written in the batch of every change they count; a record the compaction
//! filter drops stays counted until the expiry cycle settles it), so a count of 0 means no record, no
//! expire-index entry and no live member (a collection's members live only under its record). The
//! memtable switch every range delete needs is made once, after the last slot (see
//! `Store::write_range_delete`). Each core flushes its own slots (`spread` runs every core): atomic per
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
    let flushed = flush_slots(ctx, databases, all);
    // The flush stands whether or not the switch succeeds: a failed one stays owed, made before the next
    // write (or that write fails).
    if let Err(e) = ctx.shard.store.switch_if_owed() {
        log::warn!("memtable switch after a flush failed ({e}); retried before the next write");
    }
    flushed
}

fn flush_slots(
    ctx: &mut Ctx<'_>,
    databases: std::ops::Range<u8>,
    all: bool,
) -> Result<Reply, CmdError> {
    for slot in ctx.shard.node.layout.slots_of(ctx.shard.core) {
        let slot = SlotId(slot);
        let mut has = false;
        for db in databases.clone() {
            if ctx.shard.store.counts(slot, db)?.keys != 0 {
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

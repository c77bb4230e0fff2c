//! COPY source destination [DB destination-db] [REPLACE]
//!
//! The source record (value and deadline) is read and written under the destination name with one
//! [`KeyOp::Restore`] mutation on the destination's slot, in the destination database. On one core that
//! is atomic. When the keys are on different cores (`spread`), the read happens on the source core and the
//! write on the destination core: not one snapshot — a write to the source between the two is not seen —
//! but the copy is always a value the source really held.

use bytes::Bytes;
use resp::Reply;

use super::{remote, KeyOp};
use crate::cmd::args::is;
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::slot::SlotId;
use crate::statemachine::{LogEntry, Mutation};
use crate::storage::collection::Value;

struct CopyArgs {
    dst_db: u8,
    replace: bool,
}

/// Parses the options with Redis's checks and order, then refuses copying a key onto itself.
fn parse(args: &[Bytes], db: u8, databases: usize) -> Result<CopyArgs, CmdError> {
    let mut out = CopyArgs {
        dst_db: db,
        replace: false,
    };
    let mut j = 3;
    while j < args.len() {
        if is(&args[j], "replace") {
            out.replace = true;
        } else if is(&args[j], "db") && j + 1 < args.len() {
            out.dst_db = crate::cmd::args::parse_db_index(&args[j + 1], databases as u32)?;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if out.dst_db == db && args[1] == args[2] {
        return Err(CmdError::msg(
            "ERR source and destination objects are the same",
        ));
    }
    Ok(out)
}

fn restore_entry(dst: &Bytes, value: Value, c: &CopyArgs, now_ms: u64) -> LogEntry {
    LogEntry {
        slot: SlotId::of_key(dst),
        db: c.dst_db,
        now_ms,
        mutation: Mutation::Key(KeyOp::Restore {
            key: dst.clone(),
            value,
            replace: c.replace,
        }),
    }
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let c = parse(args, ctx.db, ctx.shard.node.config.databases)?;
    let src = &args[1];
    let Some(value) = ctx
        .shard
        .store
        .read_value(SlotId::of_key(src), ctx.db, src, ctx.now_ms)?
    else {
        return Ok(Reply::Integer(0));
    };
    let entry = restore_entry(&args[2], value, &c, ctx.now_ms);
    ctx.propose_entry(&entry)
}

/// The keys are on different cores.
pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let result = async {
            let c = parse(&s.args, s.db, s.shard.node.config.databases)?;
            let src = s.args[1].clone();
            let Some(value) = remote::read_live(&s.shard, s.db, s.now_ms, src).await? else {
                return Ok(Reply::Integer(0));
            };
            let entry = restore_entry(&s.args[2], value, &c, s.now_ms);
            remote::propose_durable(&s.shard, entry).await
        };
        result.await.unwrap_or_else(|e| e.to_reply())
    })
}

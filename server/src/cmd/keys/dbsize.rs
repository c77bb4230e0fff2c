//! DBSIZE — the number of keys in the selected database: the sum of the per-slot key counts that every
//! write maintains (so no scan), over this core's slots in `local` and over the cores in `spread`. Like
//! Redis, a key past its deadline counts until it is deleted (by the active expiry cycle).

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{sum_integers, CmdError, Ctx, ReplyFuture, Spread};
use crate::slot::SlotId;

pub fn local(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    let mut total = 0;
    for slot in ctx.shard.node.layout.slots_of(ctx.shard.core) {
        total += ctx.shard.store.counts(SlotId(slot), ctx.db)?.keys;
    }
    Ok(Reply::Integer(total))
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move { sum_integers(s.on_every_core(&s.args).await) })
}

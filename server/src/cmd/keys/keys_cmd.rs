//! KEYS pattern — every live key of the selected database that matches the glob (see [`super::pattern`]).
//! Each core lists its own slots (skipping slots whose key count is zero); `spread` concatenates the cores'
//! lists. Like Redis, the order is unspecified; each core's share is read at one instant, the cores one
//! after another.

use bytes::Bytes;
use resp::Reply;

use super::pattern;
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::slot::SlotId;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let pat = args[1].as_ref();
    let all = pat == b"*";
    let store = &ctx.shard.store;
    let mut out = Vec::new();
    for slot in ctx.shard.node.layout.slots_of(ctx.shard.core) {
        let slot = SlotId(slot);
        if store.counts(slot, ctx.db)?.keys == 0 {
            continue;
        }
        store.scan_slot(slot, ctx.db, b"", ctx.now_ms, |key, _| {
            if all || pattern::matches(pat, key) {
                out.push(Reply::Bulk(Bytes::copy_from_slice(key)));
            }
            true
        })?;
    }
    Ok(Reply::Array(out))
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let mut out = Vec::new();
        for r in s.on_every_core(&s.args).await {
            match r {
                Reply::Array(keys) => out.extend(keys),
                err => return err,
            }
        }
        Reply::Array(out)
    })
}

//! PUBSUB NUMSUB [channel ...] — `[channel, subscribers, ...]` for each channel named (pattern
//! subscriptions not counted), a flat array in RESP2 and RESP3 alike. `spread` sums the cores' counts.
//!
//! PUBSUB SHARDNUMSUB [shardchannel ...] — slotkv has no shard channels: every count is 0.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let registry = ctx.shard.pubsub.borrow();
    let mut out = Vec::with_capacity((args.len() - 2) * 2);
    for ch in &args[2..] {
        out.push(Reply::Bulk(ch.clone()));
        out.push(Reply::Integer(registry.subscribers(ch) as i64));
    }
    Ok(Reply::Array(out))
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let mut total: Option<Vec<Reply>> = None;
        for reply in s.on_every_core(&s.args).await {
            let Reply::Array(items) = reply else {
                return reply;
            };
            match total.as_mut() {
                None => total = Some(items),
                Some(acc) => {
                    for (sum, item) in acc.iter_mut().zip(items) {
                        if let (Reply::Integer(a), Reply::Integer(b)) = (sum, item) {
                            *a += b;
                        }
                    }
                }
            }
        }
        Reply::Array(total.unwrap_or_default())
    })
}

pub fn shard_local(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let mut out = Vec::with_capacity((args.len() - 2) * 2);
    for ch in &args[2..] {
        out.push(Reply::Bulk(ch.clone()));
        out.push(Reply::Integer(0));
    }
    Ok(Reply::Array(out))
}

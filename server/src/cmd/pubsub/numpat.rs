//! PUBSUB NUMPAT — the number of distinct patterns subscribed to, node-wide. A pattern subscribed on
//! two cores counts once, so on several cores each leg answers with its pattern names and `spread`
//! counts the distinct ones.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};

pub fn local(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    let registry = ctx.shard.pubsub.borrow();
    if ctx.leg {
        return Ok(Reply::Array(
            registry.patterns().into_iter().map(Reply::Bulk).collect(),
        ));
    }
    Ok(Reply::Integer(registry.pattern_count() as i64))
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let mut seen = ahash::AHashSet::new();
        for reply in s.on_every_core(&s.args).await {
            match reply {
                Reply::Array(names) => seen.extend(names.into_iter().filter_map(|n| match n {
                    Reply::Bulk(b) => Some(b),
                    _ => None,
                })),
                other => return other,
            }
        }
        Reply::Integer(seen.len() as i64)
    })
}

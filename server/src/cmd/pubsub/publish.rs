//! PUBLISH channel message — delivers to every subscriber of the channel and of every pattern matching
//! it, on every core; replies with the number of deliveries (a connection subscribed through the channel
//! and a pattern counts twice).
//!
//! `local` delivers on this core. On several cores `spread` runs it on each and sums the counts. Not
//! atomic across cores (a subscriber on another core may see the message a moment later than one here),
//! but ordered: the publishing connection waits for every core before its next request runs, and calls
//! between two cores keep their order, so a subscriber receives one publisher's messages in the order
//! they were published.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{sum_integers, CmdError, Ctx, ReplyFuture, Spread};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let limit = ctx.shard.settings.borrow().obuf_pubsub;
    let n = ctx.shard.pubsub.borrow().publish(&args[1], &args[2], limit);
    Ok(Reply::Integer(n as i64))
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move { sum_integers(s.on_every_core(&s.args).await) })
}

//! UNSUBSCRIBE [channel ...] — one `[unsubscribe, channel, count]` per channel named (subscribed or not);
//! without names, from every channel, in no particular order. With no channel to leave, Redis still
//! answers once: `[unsubscribe, nil, count]`.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};
use crate::shard::pubsub::Kind;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    super::unsubscribe_from(ctx, args, Kind::Channel)
}

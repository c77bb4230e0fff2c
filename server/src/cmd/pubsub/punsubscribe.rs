//! PUNSUBSCRIBE [pattern ...] — UNSUBSCRIBE for pattern subscriptions, with `punsubscribe` confirmations.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};
use crate::shard::pubsub::Kind;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    super::unsubscribe_from(ctx, args, Kind::Pattern)
}

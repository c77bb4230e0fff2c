//! SUBSCRIBE channel [channel ...] — one `[subscribe, channel, count]` confirmation per channel, the count
//! being the connection's channels plus patterns after it; subscribing twice to a channel changes nothing
//! but is confirmed again.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};
use crate::shard::pubsub::Kind;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    super::subscribe_to(ctx, args, Kind::Channel)
}

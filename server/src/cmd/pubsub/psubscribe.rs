//! PSUBSCRIBE pattern [pattern ...] — subscribes to every channel matching a glob pattern (Redis's
//! matcher, as KEYS uses it); messages arrive as `[pmessage, pattern, channel, payload]`.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};
use crate::shard::pubsub::Kind;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    super::subscribe_to(ctx, args, Kind::Pattern)
}

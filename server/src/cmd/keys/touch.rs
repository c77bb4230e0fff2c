//! TOUCH key [key ...] — counts the keys that exist, once per mention. slotkv keeps no access time (no LRU
//! eviction), so there is nothing to update. Keys on several cores are counted per core and summed.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    super::exists::local(ctx, args)
}

pub fn spread(s: Spread) -> ReplyFuture {
    super::exists::spread(s)
}

//! UNLINK key [key ...] — the same as DEL here: a delete is already O(1) per key (collections are orphaned
//! by their version and reclaimed by compaction), so there is nothing left to do in the background.
//! Atomic per core, not across cores.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    super::del::local(ctx, args)
}

pub fn spread(s: Spread) -> ReplyFuture {
    super::del::spread(s)
}

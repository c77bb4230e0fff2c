//! DISCARD — drops the queued commands and every watch.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    let shard = ctx.shard;
    let client = ctx.client();
    if !client.tx.multi {
        return Err(CmdError::msg("ERR DISCARD without MULTI"));
    }
    super::forget(shard, client);
    Ok(Reply::Ok)
}

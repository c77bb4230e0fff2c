//! UNWATCH — forgets every watched key. Inside MULTI it is queued like any command; by the time EXEC runs it
//! the watches are already gone (EXEC drops them first), so it only replies OK — also on a core that runs
//! the queue for a connection it does not hold.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    let shard = ctx.shard;
    if let Some(client) = ctx.client.as_deref_mut() {
        super::unwatch_all(shard, client);
    }
    Ok(Reply::Ok)
}

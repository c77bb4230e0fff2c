//! LASTSAVE — slotkv has no snapshots: every acknowledged write is already in the Raft log, so the data on
//! disk has been current since the node started. It answers with the start time (Unix seconds).

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Ok(Reply::Integer(ctx.shard.node.started_unix as i64))
}

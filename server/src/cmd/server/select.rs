//! SELECT index

use bytes::Bytes;
use resp::Reply;

use crate::cmd::args::parse_db_index;
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let db = parse_db_index(&args[1], ctx.shard.node.config.databases as u32)?;
    ctx.client().db = db;
    Ok(Reply::Ok)
}

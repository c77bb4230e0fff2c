//! SELECT index

use bytes::Bytes;
use resp::Reply;

use crate::cmd::args::parse_i64;
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let db = parse_i64(&args[1])?;
    let databases = ctx.shard.node.config.databases as i64;
    if !(0..databases).contains(&db) {
        return Err(CmdError::DbIndexOutOfRange);
    }
    ctx.client().db = db as u8;
    Ok(Reply::Ok)
}

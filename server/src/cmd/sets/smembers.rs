//! SMEMBERS key — every member, in byte order (Redis's order is unspecified), as a RESP3 set.

use bytes::Bytes;
use resp::Reply;

use super::algebra;
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let store = &ctx.shard.store;
    let Some(set) = algebra::open(store, ctx.db, ctx.now_ms, &args[1])? else {
        return Ok(Reply::Set(Vec::new()));
    };
    let members = algebra::members(store, ctx.db, &set)?;
    Ok(Reply::Set(members.into_iter().map(Reply::Bulk).collect()))
}

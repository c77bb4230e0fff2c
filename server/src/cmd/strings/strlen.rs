//! STRLEN key — length of the value, 0 for a missing key.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};
use crate::storage::record::ValueType;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let rec = ctx.get(&args[1])?;
    ctx.shard.stats.hit(rec.is_some());
    match rec {
        None => Ok(Reply::Integer(0)),
        Some(r) if r.vtype != ValueType::String => Err(CmdError::WrongType),
        Some(r) => Ok(Reply::Integer(r.payload.len() as i64)),
    }
}

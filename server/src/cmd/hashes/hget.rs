//! HGET key field — the field's value, or nil (no such key or field). One point read.

use bytes::Bytes;
use resp::Reply;

use super::{field, read};
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let Some(h) = read(ctx, &args[1])? else {
        return Ok(Reply::Null);
    };
    Ok(field(ctx, &args[1], &h, &args[2])?.map_or(Reply::Null, Reply::Bulk))
}

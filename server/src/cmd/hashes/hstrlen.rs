//! HSTRLEN key field — the length of the field's value, 0 for a missing key or field.

use bytes::Bytes;
use resp::Reply;

use super::{field, read};
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let Some(h) = read(ctx, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let len = field(ctx, &args[1], &h, &args[2])?.map_or(0, |v| v.len());
    Ok(Reply::Integer(len as i64))
}

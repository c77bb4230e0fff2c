//! HEXISTS key field — 1 if the field exists, else 0.

use bytes::Bytes;
use resp::Reply;

use super::{field, read};
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let Some(h) = read(ctx, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    Ok(Reply::Integer(
        field(ctx, &args[1], &h, &args[2])?.is_some() as i64,
    ))
}

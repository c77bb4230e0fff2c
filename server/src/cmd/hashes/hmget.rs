//! HMGET key field [field ...] — one value or nil per field, in order; a missing key reads as an empty hash.

use bytes::Bytes;
use resp::Reply;

use super::{field, read};
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let fields = &args[2..];
    let Some(h) = read(ctx, &args[1])? else {
        return Ok(Reply::Array(vec![Reply::Null; fields.len()]));
    };
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        out.push(field(ctx, &args[1], &h, f)?.map_or(Reply::Null, Reply::Bulk));
    }
    Ok(Reply::Array(out))
}

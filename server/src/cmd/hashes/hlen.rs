//! HLEN key — the number of fields, from the metadata record alone (kept exact by every write).

use bytes::Bytes;
use resp::Reply;

use super::read;
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let n = read(ctx, &args[1])?.map_or(0, |h| h.meta.count);
    Ok(Reply::Integer(n as i64))
}

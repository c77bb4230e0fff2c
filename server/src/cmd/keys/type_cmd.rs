//! TYPE key — `+none` for a missing key, else the type's name (`+string`, `+hash`, ...).

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    Ok(Reply::Simple(match ctx.get(&args[1])? {
        Some(rec) => rec.vtype.name(),
        None => "none",
    }))
}

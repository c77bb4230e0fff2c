//! QUIT — replies +OK, then the connection closes once every earlier reply is written.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    ctx.client().close_after_reply = true;
    Ok(Reply::Ok)
}

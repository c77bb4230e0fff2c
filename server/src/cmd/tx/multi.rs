//! MULTI — starts queueing the connection's commands (see [`super::intercept`]).

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    let tx = &mut ctx.client().tx;
    if tx.multi {
        // Not a queueing error: the transaction goes on.
        return Err(CmdError::msg("ERR MULTI calls can not be nested"));
    }
    tx.multi = true;
    Ok(Reply::Ok)
}

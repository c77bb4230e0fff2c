//! WAIT numreplicas timeout — a node has no replicas, so no replica acknowledges anything: the arguments
//! are checked as Redis checks them and the answer is 0 at once. (Redis would block until the timeout when
//! more than 0 replicas are asked for; answering at once tells the client the same thing sooner.)

use bytes::Bytes;
use resp::Reply;

use crate::cmd::args::{parse_i64, parse_i64_opt};
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    parse_i64(&args[1])?;
    let timeout = parse_i64_opt(&args[2]).ok_or(CmdError::msg(
        "ERR timeout is not an integer or out of range",
    ))?;
    if timeout < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    if timeout > 0 && timeout > i64::MAX - ctx.now_ms as i64 {
        return Err(CmdError::msg("ERR timeout is out of range"));
    }
    Ok(Reply::Integer(0))
}

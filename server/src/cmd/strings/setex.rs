//! SETEX key seconds value — SET with EX; the deadline is fixed when the command is parsed.

use bytes::Bytes;
use resp::Reply;

use super::set::{propose, ExpireAction, ExpireKind, SetCond, SetOp};
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    set_with_expiry(ctx, args, ExpireKind::Ex, "setex")
}

/// SETEX and PSETEX: `key ttl value`, replying OK.
pub fn set_with_expiry(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    kind: ExpireKind,
    cmd: &'static str,
) -> Result<Reply, CmdError> {
    let at = kind.deadline(&args[2], ctx.now_ms, cmd)?;
    let op = SetOp {
        key: args[1].clone(),
        value: args[3].clone(),
        cond: SetCond::Always,
        expire: ExpireAction::At(at),
        get: false,
    };
    propose(ctx, op)
}

//! SETNX key value — SET NX with an integer reply: 1 if the key was set, 0 if it already existed.

use bytes::Bytes;
use resp::Reply;

use super::set::{propose, ExpireAction, SetCond, SetOp};
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let op = SetOp {
        key: args[1].clone(),
        value: args[2].clone(),
        cond: SetCond::Nx,
        expire: ExpireAction::Clear,
        get: false,
    };
    Ok(match propose(ctx, op)? {
        Reply::Ok => Reply::Integer(1),
        _ => Reply::Integer(0),
    })
}

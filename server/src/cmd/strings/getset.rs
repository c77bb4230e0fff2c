//! GETSET key value — SET ... GET: replies with the old value (nil if none) and clears the time to live.

use bytes::Bytes;
use resp::Reply;

use super::count_lookup;
use super::set::{propose, ExpireAction, SetCond, SetOp};
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let op = SetOp {
        key: args[1].clone(),
        value: args[2].clone(),
        cond: SetCond::Always,
        expire: ExpireAction::Clear,
        get: true,
    };
    let reply = propose(ctx, op);
    count_lookup(ctx, &reply);
    reply
}

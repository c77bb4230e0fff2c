//! PSETEX key milliseconds value — SETEX in milliseconds.

use bytes::Bytes;
use resp::Reply;

use super::set::ExpireKind;
use super::setex::set_with_expiry;
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    set_with_expiry(ctx, args, ExpireKind::Px, "psetex")
}

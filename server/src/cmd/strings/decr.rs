//! DECR key — INCRBY key -1.

use bytes::Bytes;
use resp::Reply;

use super::incrby::incr_by;
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    incr_by(ctx, &args[1], -1)
}

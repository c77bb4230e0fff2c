//! DECRBY key decrement — INCRBY with the negated amount; the one amount that cannot be negated
//! (-9223372036854775808) is refused up front, with Redis's text.

use bytes::Bytes;
use resp::Reply;

use super::incrby::incr_by;
use crate::cmd::args::parse_i64;
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let by = parse_i64(&args[2])?;
    let by = by
        .checked_neg()
        .ok_or(CmdError::msg("ERR decrement would overflow"))?;
    incr_by(ctx, &args[1], by)
}

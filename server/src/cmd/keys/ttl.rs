//! TTL, PTTL, EXPIRETIME, PEXPIRETIME key — `-2` for a missing key, `-1` for a key without a deadline,
//! else the time left (or the deadline itself), rounded to the nearest second for the second variants, as
//! Redis does.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};

fn generic(ctx: &mut Ctx<'_>, args: &[Bytes], ms: bool, absolute: bool) -> Result<Reply, CmdError> {
    let Some(rec) = ctx.get(&args[1])? else {
        return Ok(Reply::Integer(-2));
    };
    if rec.expire_at == 0 {
        return Ok(Reply::Integer(-1));
    }
    let at = rec.expire_at.min(i64::MAX as u64) as i64;
    let t = if absolute { at } else { at - ctx.now_ms as i64 }.max(0);
    // Wide, as Redis's build computes it for a deadline near i64::MAX.
    let secs = ((t as i128 + 500) / 1000) as i64;
    Ok(Reply::Integer(if ms { t } else { secs }))
}

pub fn ttl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    generic(ctx, args, false, false)
}

pub fn pttl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    generic(ctx, args, true, false)
}

pub fn expiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    generic(ctx, args, false, true)
}

pub fn pexpiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    generic(ctx, args, true, true)
}

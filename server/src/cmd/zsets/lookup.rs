//! ZSCORE key member, ZMSCORE key member [member ...], ZCARD key — point reads: one `sub` lookup per member
//! (ZCARD reads only the metadata record).

use bytes::Bytes;
use resp::Reply;

use super::read::ZSet;
use super::read_zset;
use crate::cmd::collection::slot_of;
use crate::cmd::{CmdError, Ctx};

fn score_reply(s: Option<f64>) -> Reply {
    s.map_or(Reply::Null, Reply::Double)
}

pub fn zscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let key = &args[1];
    let Some(l) = read_zset(ctx, key)? else {
        return Ok(Reply::Null);
    };
    let z = ZSet::new(&ctx.shard.store, slot_of(key), ctx.db, key, &l);
    Ok(score_reply(z.score_of(&args[2])?))
}

/// A missing key reads as an empty set: every score is nil.
pub fn zmscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let key = &args[1];
    let members = &args[2..];
    let Some(l) = read_zset(ctx, key)? else {
        return Ok(Reply::Array(vec![Reply::Null; members.len()]));
    };
    let z = ZSet::new(&ctx.shard.store, slot_of(key), ctx.db, key, &l);
    let out = members
        .iter()
        .map(|m| Ok(score_reply(z.score_of(m)?)))
        .collect::<Result<_, CmdError>>()?;
    Ok(Reply::Array(out))
}

pub fn zcard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    Ok(Reply::Integer(
        read_zset(ctx, &args[1])?.map_or(0, |l| l.meta.count as i64),
    ))
}

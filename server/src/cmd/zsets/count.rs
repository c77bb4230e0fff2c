//! ZCOUNT key min max, ZLEXCOUNT key min max — counted by walking: the range itself, or what lies outside
//! it, whichever is shorter ([`ZSet::count_range`]); Redis's skiplist answers in O(log N) from ranks, which
//! RocksDB does not keep.

use bytes::Bytes;
use resp::Reply;

use super::read::{RangeKind, RangeQuery, ZSet};
use super::read_zset;
use super::score::{LexRange, ScoreRange};
use crate::cmd::collection::slot_of;
use crate::cmd::{CmdError, Ctx};

fn count(ctx: &mut Ctx<'_>, key: &Bytes, kind: RangeKind) -> Result<Reply, CmdError> {
    let Some(l) = read_zset(ctx, key)? else {
        return Ok(Reply::Integer(0));
    };
    let z = ZSet::new(&ctx.shard.store, slot_of(key), ctx.db, key, &l);
    Ok(Reply::Integer(
        z.count_range(&RangeQuery::plain(kind))? as i64
    ))
}

pub fn zcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let kind = RangeKind::Score(ScoreRange::parse(&args[2], &args[3])?);
    count(ctx, &args[1], kind)
}

pub fn zlexcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let kind = RangeKind::Lex(LexRange::parse(&args[2], &args[3])?);
    count(ctx, &args[1], kind)
}

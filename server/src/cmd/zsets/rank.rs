//! ZRANK / ZREVRANK key member [WITHSCORE] (WITHSCORE as in Redis 7.2, the version we report).
//!
//! Cost: O(min(rank, N - rank)) — the rank is counted from both ends at once, since RocksDB keeps no
//! ranks (Redis's skiplist: O(log N)). A member near either end is cheap; the middle of a million-member
//! set is half a million steps.

use bytes::Bytes;
use resp::Reply;

use super::read::ZSet;
use super::read_zset;
use crate::cmd::args::is;
use crate::cmd::collection::slot_of;
use crate::cmd::{CmdError, Ctx};

fn rank(ctx: &mut Ctx<'_>, args: &[Bytes], reverse: bool) -> Result<Reply, CmdError> {
    let name = if reverse { "zrevrank" } else { "zrank" };
    if args.len() > 4 {
        return Err(CmdError::WrongArity(name.to_string()));
    }
    let withscore = match args.get(3) {
        None => false,
        Some(a) if is(a, "withscore") => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    let nothing = if withscore {
        Reply::NullArray
    } else {
        Reply::Null
    };
    let key = &args[1];
    let Some(l) = read_zset(ctx, key)? else {
        return Ok(nothing);
    };
    let z = ZSet::new(&ctx.shard.store, slot_of(key), ctx.db, key, &l);
    Ok(match z.rank(&args[2], reverse)? {
        None => nothing,
        Some((r, _)) if !withscore => Reply::Integer(r as i64),
        Some((r, s)) => Reply::Array(vec![Reply::Integer(r as i64), Reply::Double(s)]),
    })
}

pub fn zrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    rank(ctx, args, false)
}

pub fn zrevrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    rank(ctx, args, true)
}

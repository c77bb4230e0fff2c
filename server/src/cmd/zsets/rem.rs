//! ZREM key member [member ...], and ZREMRANGEBYSCORE / ZREMRANGEBYRANK / ZREMRANGEBYLEX key min max.
//!
//! ZREM costs one point read per member named. The range forms read the range first (a seek and one step
//! per member removed, as ZRANGE does), then delete; an emptied set is deleted, as in Redis.

use ahash::AHashSet;
use bytes::Bytes;
use resp::Reply;

use super::read::{RangeKind, RangeQuery, ZSet};
use super::score::{LexRange, ScoreRange};
use super::ZSetOp;
use crate::cmd::args::parse_i64;
use crate::cmd::collection::{self, Loaded};
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::record::ValueType;

pub fn zrem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let op = ZSetOp::Rem {
        key: args[1].clone(),
        members: args[2..].to_vec(),
    };
    ctx.propose(ctx.slot_of(&args[1]), Mutation::ZSet(op))
}

pub fn zremrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let kind = RangeKind::Score(ScoreRange::parse(&args[2], &args[3])?);
    propose_range(ctx, args, kind)
}

pub fn zremrangebyrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let kind = RangeKind::Rank {
        start: parse_i64(&args[2])?,
        end: parse_i64(&args[3])?,
    };
    propose_range(ctx, args, kind)
}

pub fn zremrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let kind = RangeKind::Lex(LexRange::parse(&args[2], &args[3])?);
    propose_range(ctx, args, kind)
}

fn propose_range(ctx: &mut Ctx<'_>, args: &[Bytes], kind: RangeKind) -> Result<Reply, CmdError> {
    let op = ZSetOp::RemRange {
        key: args[1].clone(),
        kind,
    };
    ctx.propose(ctx.slot_of(&args[1]), Mutation::ZSet(op))
}

/// ZREM: members named twice count once; stops when the set is empty (Redis deletes it there).
pub fn apply_rem(
    w: &mut SlotWriter<'_>,
    key: &Bytes,
    members: &[Bytes],
) -> Result<Reply, CmdError> {
    let Some(loaded) = collection::load(w, key, ValueType::ZSet)? else {
        return Ok(Reply::Integer(0));
    };
    let mut gone = Vec::new();
    {
        let z = ZSet::new(w.store(), w.slot, w.db, key, &loaded);
        let mut seen = AHashSet::with_capacity(members.len());
        for m in members {
            if (gone.len() as u64) == loaded.meta.count {
                break;
            }
            if seen.insert(&m[..]) {
                if let Some(s) = z.score_of(m)? {
                    gone.push((m, s));
                }
            }
        }
    }
    if gone.is_empty() {
        return Ok(Reply::Integer(0));
    }
    delete_members(w, key, loaded, &gone)
}

/// ZREMRANGEBY*: the range's members, read first, then deleted.
pub fn apply_rem_range(
    w: &mut SlotWriter<'_>,
    key: &Bytes,
    kind: &RangeKind,
) -> Result<Reply, CmdError> {
    let Some(loaded) = collection::load(w, key, ValueType::ZSet)? else {
        return Ok(Reply::Integer(0));
    };
    let gone =
        ZSet::new(w.store(), w.slot, w.db, key, &loaded).range(&RangeQuery::plain(kind.clone()))?;
    if gone.is_empty() {
        return Ok(Reply::Integer(0));
    }
    delete_members(w, key, loaded, &gone)
}

/// Deletes `gone` (members with their current scores) from the set and writes back its count; replies with
/// how many went.
fn delete_members<M: AsRef<[u8]>>(
    w: &mut SlotWriter<'_>,
    key: &Bytes,
    mut loaded: Loaded,
    gone: &[(M, f64)],
) -> Result<Reply, CmdError> {
    let version = loaded.version();
    for (m, s) in gone {
        w.delete_scored(key, version, m.as_ref(), *s);
    }
    loaded.meta.count -= gone.len() as u64;
    collection::store(w, key, &loaded)?;
    Ok(Reply::Integer(gone.len() as i64))
}

//! ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES], its older forms
//! ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX and ZREVRANGE, and ZRANGESTORE dst src
//! min max [BYSCORE | BYLEX] [REV] [LIMIT offset count].
//!
//! One parser, Redis's `zrangeGenericCommand`: the older commands are ZRANGE with the kind or direction
//! fixed, so they accept and reject exactly what Redis does (WITHSCORES with BYLEX, LIMIT by rank, ...).
//! Reads seek and stop: see [`super::read`] for what each kind costs.
//!
//! ZRANGESTORE with both keys in one slot is one mutation (atomic). With the keys in different slots the
//! range is read on the source's core and the result written on the destination's: atomic when both are
//! on one core (nothing runs in between), not across cores (a write to the source in between may or may
//! not be reflected; the destination always gets a range the source held at one instant).

use bytes::Bytes;
use resp::Reply;

use super::read::{RangeKind, RangeQuery, Scored, ZSet};
use super::score::{LexRange, ScoreRange};
use super::store::StoreOp;
use super::{as_zset, read_zset, ZSetOp};
use crate::cmd::args::{is, parse_i64};
use crate::cmd::collection::{self, slot_of};
use crate::cmd::keys::remote;
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::statemachine::{LogEntry, Mutation, SlotWriter};
use crate::storage::record::ValueType;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

/// A parsed range command.
pub struct Parsed {
    pub query: RangeQuery,
    pub withscores: bool,
}

/// `zrangeGenericCommand`'s parsing. `at` is the source key's index; `store` for ZRANGESTORE; `kind` and
/// `reverse` are fixed by the older commands.
fn parse(
    args: &[Bytes],
    at: usize,
    store: bool,
    kind: Kind,
    reverse: Option<bool>,
) -> Result<Parsed, CmdError> {
    let (mut kind, mut dir) = (kind, reverse);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = at + 3;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j];
        if !store && is(a, "withscores") {
            withscores = true;
        } else if is(a, "limit") && left >= 2 {
            offset = parse_i64(&args[j + 1])?;
            limit = parse_i64(&args[j + 2])?;
            j += 2;
        } else if dir.is_none() && is(a, "rev") {
            dir = Some(true);
        } else if kind == Kind::Auto && is(a, "bylex") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && is(a, "byscore") {
            kind = Kind::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let reverse = dir.unwrap_or(false);
    if kind == Kind::Auto {
        kind = Kind::Rank;
    }
    if limit != -1 && kind == Kind::Rank {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return Err(CmdError::msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut lo, mut hi) = (&args[at + 1], &args[at + 2]);
    if reverse && kind != Kind::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let kind = match kind {
        Kind::Score => RangeKind::Score(ScoreRange::parse(lo, hi)?),
        Kind::Lex => RangeKind::Lex(LexRange::parse(lo, hi)?),
        _ => RangeKind::Rank {
            start: parse_i64(lo)?,
            end: parse_i64(hi)?,
        },
    };
    Ok(Parsed {
        query: RangeQuery {
            kind,
            reverse,
            offset,
            limit,
        },
        withscores,
    })
}

/// The reply of a range: members, or `[member, score]` pairs (flat in RESP2).
pub fn range_reply(items: Vec<Scored>, withscores: bool) -> Reply {
    if withscores {
        Reply::Pairs(
            items
                .into_iter()
                .map(|(m, s)| (Reply::Bulk(m), Reply::Double(s)))
                .collect(),
        )
    } else {
        Reply::Array(items.into_iter().map(|(m, _)| Reply::Bulk(m)).collect())
    }
}

fn run(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    kind: Kind,
    reverse: Option<bool>,
) -> Result<Reply, CmdError> {
    let p = parse(args, 1, false, kind, reverse)?;
    let key = &args[1];
    let Some(loaded) = read_zset(ctx, key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let z = ZSet::new(&ctx.shard.store, slot_of(key), ctx.db, key, &loaded);
    Ok(range_reply(z.range(&p.query)?, p.withscores))
}

pub fn zrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    run(ctx, args, Kind::Auto, None)
}

pub fn zrevrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    run(ctx, args, Kind::Rank, Some(true))
}

pub fn zrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    run(ctx, args, Kind::Score, Some(false))
}

pub fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    run(ctx, args, Kind::Score, Some(true))
}

pub fn zrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    run(ctx, args, Kind::Lex, Some(false))
}

pub fn zrevrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    run(ctx, args, Kind::Lex, Some(true))
}

/// ZRANGESTORE with both keys on this core.
pub fn zrangestore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let p = parse(args, 2, true, Kind::Auto, None)?;
    let (dst, src) = (&args[1], &args[2]);
    if slot_of(dst) == slot_of(src) {
        let op = ZSetOp::RangeStore {
            dst: dst.clone(),
            src: src.clone(),
            query: p.query,
        };
        return ctx.propose(ctx.slot_of(dst), Mutation::ZSet(op));
    }
    let members = match collection::read(ctx, src, ValueType::ZSet)? {
        None => Vec::new(),
        Some(l) => ZSet::new(&ctx.shard.store, slot_of(src), ctx.db, src, &l).range(&p.query)?,
    };
    let op = ZSetOp::Store(StoreOp {
        key: dst.clone(),
        members,
    });
    ctx.propose(ctx.slot_of(dst), Mutation::ZSet(op))
}

/// ZRANGESTORE with the keys on two cores: read on the source's, write on the destination's.
pub fn zrangestore_spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let run = async {
            let p = parse(&s.args, 2, true, Kind::Auto, None)?;
            let (dst, src) = (s.args[1].clone(), s.args[2].clone());
            let (db, now) = (s.db, s.now_ms);
            let core = s.shard.node.layout.core_of(slot_of(&src));
            let query = p.query;
            let members = remote::with_core(&s.shard, core, move |shard| {
                let slot = slot_of(&src);
                let rec = shard.store.get_live(slot, db, &src, now)?;
                match as_zset(rec)? {
                    None => Ok(Vec::new()),
                    Some(l) => ZSet::new(&shard.store, slot, db, &src, &l).range(&query),
                }
            })
            .await?;
            let entry = LogEntry {
                slot: slot_of(&dst),
                db,
                now_ms: now,
                mutation: Mutation::ZSet(ZSetOp::Store(StoreOp { key: dst, members })),
            };
            remote::propose_durable(&s.shard, entry).await
        };
        run.await.unwrap_or_else(|e: CmdError| e.to_reply())
    })
}

/// ZRANGESTORE inside one slot: the range is read, then the destination replaced.
pub fn apply_range_store(
    w: &mut SlotWriter<'_>,
    dst: &Bytes,
    src: &Bytes,
    query: &RangeQuery,
) -> Result<Reply, CmdError> {
    let members = match collection::load(w, src, ValueType::ZSet)? {
        None => Vec::new(),
        Some(l) => ZSet::new(w.store(), w.slot, w.db, src, &l).range(query)?,
    };
    super::store::replace(w, dst, &members)
}

//! ZPOPMIN / ZPOPMAX key [count], and ZMPOP numkeys key [key ...] MIN | MAX [COUNT count].
//!
//! A pop reads the members at one end (a seek and one step each) and deletes them in one mutation. ZMPOP
//! pops from the first of its keys that exists: with its keys on one core, the check and the pop run back
//! to back (atomic); across cores each key is tried in turn on its own core, so a key filled in between
//! may be passed over (not atomic across cores).

use bytes::Bytes;
use resp::Reply;

use super::read::{Scored, ZSet};
use super::ZSetOp;
use crate::cmd::args::{is, parse_i64_opt};
use crate::cmd::collection::{self, slot_of};
use crate::cmd::keys::remote;
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::statemachine::{LogEntry, Mutation, SlotWriter};
use crate::storage::record::ValueType;

/// How a pop replies (Redis's `genericZpopCommand` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PopShape {
    /// ZPOPMIN key: `[member, score]`, flat in every protocol.
    Single,
    /// ZPOPMIN key count: pairs (nested in RESP3).
    Counted,
    /// ZMPOP / BZMPOP: `[key, [[member, score], ...]]` (nested in every protocol); nil when there is
    /// nothing.
    Keyed,
    /// BZPOPMIN / BZPOPMAX: `[key, member, score]`, flat; nil when there is nothing.
    KeyedFlat,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PopOp {
    pub key: Bytes,
    /// Pop the highest scores (ZPOPMAX) instead of the lowest.
    pub max: bool,
    pub count: u64,
    pub shape: PopShape,
}

impl PopShape {
    /// The reply when the key does not exist.
    fn nothing(self) -> Reply {
        match self {
            PopShape::Single | PopShape::Counted => Reply::Array(Vec::new()),
            PopShape::Keyed | PopShape::KeyedFlat => Reply::NullArray,
        }
    }

    fn reply(self, key: &Bytes, items: Vec<Scored>) -> Reply {
        let pairs = |items: Vec<Scored>| {
            Reply::Pairs(
                items
                    .into_iter()
                    .map(|(m, s)| (Reply::Bulk(m), Reply::Double(s)))
                    .collect(),
            )
        };
        match self {
            PopShape::Single | PopShape::KeyedFlat => {
                let mut out = Vec::with_capacity(items.len() * 2 + 1);
                if self == PopShape::KeyedFlat {
                    out.push(Reply::Bulk(key.clone()));
                }
                for (m, s) in items {
                    out.push(Reply::Bulk(m));
                    out.push(Reply::Double(s));
                }
                Reply::Array(out)
            }
            PopShape::Counted => pairs(items),
            // Nested in RESP2 too, as Redis replies to ZMPOP.
            PopShape::Keyed => Reply::Array(vec![
                Reply::Bulk(key.clone()),
                Reply::Array(
                    items
                        .into_iter()
                        .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
                        .collect(),
                ),
            ]),
        }
    }
}

impl PopOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        let Some(mut loaded) = collection::load(w, &self.key, ValueType::ZSet)? else {
            return Ok(self.shape.nothing());
        };
        if self.count == 0 {
            return Ok(Reply::Array(Vec::new()));
        }
        let items =
            ZSet::new(w.store(), w.slot, w.db, &self.key, &loaded).ends(self.count, self.max)?;
        let version = loaded.version();
        for (m, s) in &items {
            w.delete_scored(&self.key, version, m, *s);
        }
        loaded.meta.count = loaded.meta.count.saturating_sub(items.len() as u64);
        collection::store(w, &self.key, &loaded)?;
        Ok(self.shape.reply(&self.key, items))
    }
}

fn pop(ctx: &mut Ctx<'_>, args: &[Bytes], max: bool) -> Result<Reply, CmdError> {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let (count, shape) = match args.get(2) {
        None => (1, PopShape::Single),
        Some(a) => match parse_i64_opt(a) {
            Some(n) if n >= 0 => (n as u64, PopShape::Counted),
            _ => return Err(CmdError::msg("ERR value is out of range, must be positive")),
        },
    };
    let op = PopOp {
        key: args[1].clone(),
        max,
        count,
        shape,
    };
    ctx.propose(ctx.slot_of(&args[1]), Mutation::ZSet(ZSetOp::Pop(op)))
}

pub fn zpopmin(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    pop(ctx, args, false)
}

pub fn zpopmax(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    pop(ctx, args, true)
}

/// `numkeys key... MIN|MAX [COUNT n]` of ZMPOP (`at` = index of numkeys) and BZMPOP.
pub struct MPopArgs {
    pub keys: Vec<Bytes>,
    pub max: bool,
    pub count: u64,
}

/// `zmpopGenericCommand`'s parsing, with its texts.
pub fn parse_mpop(args: &[Bytes], at: usize) -> Result<MPopArgs, CmdError> {
    let numkeys = parse_i64_opt(&args[at])
        .filter(|&n| n >= 1)
        .ok_or(CmdError::msg("ERR numkeys should be greater than 0"))? as u64;
    let where_at = (at as u64 + 1).saturating_add(numkeys);
    if where_at >= args.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_at = where_at as usize;
    let max = if is(&args[where_at], "min") {
        false
    } else if is(&args[where_at], "max") {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count = None;
    let mut j = where_at + 1;
    while j < args.len() {
        if count.is_none() && is(&args[j], "count") && j + 1 < args.len() {
            j += 1;
            let n = parse_i64_opt(&args[j])
                .filter(|&n| n >= 1)
                .ok_or(CmdError::msg("ERR count should be greater than 0"))?;
            count = Some(n as u64);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(MPopArgs {
        keys: args[at + 1..where_at].to_vec(),
        max,
        count: count.unwrap_or(1),
    })
}

/// ZMPOP with every key on this core: the first key that exists is popped.
pub fn zmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let a = parse_mpop(args, 1)?;
    for key in a.keys {
        if ctx.get(&key)?.is_none() {
            continue;
        }
        let op = PopOp {
            key: key.clone(),
            max: a.max,
            count: a.count,
            shape: PopShape::Keyed,
        };
        return ctx.propose(ctx.slot_of(&key), Mutation::ZSet(ZSetOp::Pop(op)));
    }
    Ok(Reply::NullArray)
}

/// ZMPOP across cores: each key in turn, on its own core, until one exists.
pub fn zmpop_spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let a = match parse_mpop(&s.args, 1) {
            Ok(a) => a,
            Err(e) => return e.to_reply(),
        };
        for key in a.keys {
            let op = PopOp {
                key: key.clone(),
                max: a.max,
                count: a.count,
                shape: PopShape::Keyed,
            };
            let entry = LogEntry {
                slot: slot_of(&key),
                db: s.db,
                now_ms: s.now_ms,
                mutation: Mutation::ZSet(ZSetOp::Pop(op)),
            };
            match remote::propose_durable(&s.shard, entry).await {
                Ok(Reply::NullArray) => continue,
                Ok(r) => return r,
                Err(e) => return e.to_reply(),
            }
        }
        Reply::NullArray
    })
}

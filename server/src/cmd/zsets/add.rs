//! ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...], and ZINCRBY key increment
//! member (ZADD ... INCR with one pair).
//!
//! Options and scores are checked when the command is parsed, with Redis's texts and in Redis's order;
//! the type check and the update happen in `apply`. Each member costs one point read of its current
//! score and, when it changes, two or three member writes (`sub`, and the `score` entry moved).

use ahash::AHashMap;
use bytes::Bytes;
use resp::Reply;

use super::read::ZSet;
use super::score::parse_score;
use super::ZSetOp;
use crate::cmd::args::is;
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::record::ValueType;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AddOp {
    pub key: Bytes,
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub ch: bool,
    /// ZINCRBY / ZADD INCR: add the score to the current one and reply with the result.
    pub incr: bool,
    pub pairs: Vec<(f64, Bytes)>,
}

pub fn zadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let op = parse(args, false)?;
    ctx.propose(ctx.slot_of(&op.key), Mutation::ZSet(ZSetOp::Add(op)))
}

pub fn zincrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let op = parse(args, true)?;
    ctx.propose(ctx.slot_of(&op.key), Mutation::ZSet(ZSetOp::Add(op)))
}

/// `zaddGenericCommand`'s parsing: options up to the first word that is not one (ZINCRBY goes through the
/// same loop, so `ZINCRBY key nx member` is a syntax error, as in Redis).
fn parse(args: &[Bytes], incr: bool) -> Result<AddOp, CmdError> {
    let mut op = AddOp {
        key: args[1].clone(),
        nx: false,
        xx: false,
        gt: false,
        lt: false,
        ch: false,
        incr,
        pairs: Vec::new(),
    };
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if is(a, "nx") {
            op.nx = true;
        } else if is(a, "xx") {
            op.xx = true;
        } else if is(a, "ch") {
            op.ch = true;
        } else if is(a, "incr") {
            op.incr = true;
        } else if is(a, "gt") {
            op.gt = true;
        } else if is(a, "lt") {
            op.lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = &args[i..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if op.nx && op.xx {
        return Err(CmdError::msg(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (op.nx && (op.gt || op.lt)) || (op.gt && op.lt) {
        return Err(CmdError::msg(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if op.incr && rest.len() > 2 {
        return Err(CmdError::msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    op.pairs = rest
        .chunks_exact(2)
        .map(|p| Ok((parse_score(&p[0])?, p[1].clone())))
        .collect::<Result<_, CmdError>>()?;
    Ok(op)
}

/// What `zsetAdd` does with one pair.
enum Outcome {
    Added(f64),
    Updated {
        old: f64,
        new: f64,
    },
    /// Nothing to write; the member's score when the reply needs it.
    Unchanged(Option<f64>),
    Skipped,
}

impl AddOp {
    fn one(&self, score: f64, current: Option<f64>) -> Result<Outcome, CmdError> {
        let Some(cur) = current else {
            return Ok(if self.xx {
                Outcome::Skipped
            } else {
                Outcome::Added(score)
            });
        };
        if self.nx {
            return Ok(Outcome::Skipped);
        }
        let new = if self.incr {
            let sum = cur + score;
            if sum.is_nan() {
                return Err(CmdError::msg("ERR resulting score is not a number (NaN)"));
            }
            sum
        } else {
            score
        };
        if (self.lt && new >= cur) || (self.gt && new <= cur) {
            return Ok(Outcome::Skipped);
        }
        Ok(if new == cur {
            Outcome::Unchanged(Some(new))
        } else {
            Outcome::Updated { old: cur, new }
        })
    }

    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        let existing = collection::load(w, &self.key, ValueType::ZSet)?;
        if existing.is_none() && self.xx {
            return Ok(self.reply(0, 0, None, false));
        }
        // Current scores, read before anything is written; a member named twice sees its first update.
        let mut current: AHashMap<&[u8], Option<f64>> = AHashMap::with_capacity(self.pairs.len());
        if let Some(l) = &existing {
            let z = ZSet::new(w.store(), w.slot, w.db, &self.key, l);
            for (_, m) in &self.pairs {
                if !current.contains_key(&m[..]) {
                    current.insert(&m[..], z.score_of(m)?);
                }
            }
        }
        let mut loaded = match existing {
            Some(l) => l,
            None => collection::load_or_create(w, &self.key, ValueType::ZSet)?,
        };
        let version = loaded.version();
        let (mut added, mut updated, mut processed) = (0, 0, 0);
        let mut last = None;
        for (score, member) in &self.pairs {
            let cur = current.get(&member[..]).copied().flatten();
            match self.one(*score, cur)? {
                Outcome::Added(s) => {
                    w.put_scored(&self.key, version, member, s, None);
                    loaded.meta.count += 1;
                    current.insert(&member[..], Some(s));
                    added += 1;
                    processed += 1;
                    last = Some(s);
                }
                Outcome::Updated { old, new } => {
                    w.put_scored(&self.key, version, member, new, Some(old));
                    current.insert(&member[..], Some(new));
                    updated += 1;
                    processed += 1;
                    last = Some(new);
                }
                Outcome::Unchanged(s) => {
                    processed += 1;
                    last = s;
                }
                Outcome::Skipped => {}
            }
        }
        if added > 0 || updated > 0 {
            // An update alone leaves the metadata as it was; `store` then only marks the key written.
            collection::store(w, &self.key, &loaded)?;
        }
        Ok(self.reply(added, updated, last, processed > 0))
    }

    fn reply(&self, added: i64, updated: i64, last: Option<f64>, processed: bool) -> Reply {
        if self.incr {
            match last {
                Some(s) if processed => Reply::Double(s),
                _ => Reply::Null,
            }
        } else {
            Reply::Integer(if self.ch { added + updated } else { added })
        }
    }
}

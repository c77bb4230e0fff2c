//! LMOVE source destination LEFT|RIGHT LEFT|RIGHT, RPOPLPUSH source destination, and their blocking forms
//! BLMOVE ... timeout, BRPOPLPUSH source destination timeout.
//!
//! Atomicity:
//! * Both keys in one slot (and the same key, which rotates): one [`ListOp::Move`], atomic.
//! * One core, two slots: the source's pop and the destination's push are two mutations applied back to
//!   back, with the destination's type checked first; no request runs in between.
//! * Two cores (`spread`): the destination's type is checked, the element is popped from the source (and
//!   made durable), then pushed on the destination. **Not atomic**: in between another client can see the
//!   element in neither list, and if the destination changed type meanwhile the push fails and the element
//!   goes back to the end of the source it came from (the reply is then WRONGTYPE, as Redis would have
//!   answered before moving anything).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use super::elements::{delete, full, get, put};
use super::push::{new_list, push_elements};
use super::{parse_end, ListOp, PopShape};
use crate::cmd::blocking::{self, on_core, parse_timeout, Block};
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::shard::{now_ms, Shard};
use crate::slot::SlotId;
use crate::statemachine::{LogEntry, Mutation, SlotWriter};
use crate::storage::record::ValueType;

/// The ends of LMOVE/BLMOVE (args 3 and 4), or RPOPLPUSH's RIGHT LEFT.
fn ends(args: &[Bytes]) -> Result<(bool, bool), CmdError> {
    if args.len() >= 5 {
        // LMOVE (5 arguments) and BLMOVE (6) name them; the arities are exact.
        Ok((parse_end(&args[3])?, parse_end(&args[4])?))
    } else {
        Ok((false, true))
    }
}

pub fn lmove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let (from, to) = ends(args)?;
    Ok(here(ctx, &args[1], &args[2], from, to, false)?.unwrap_or(Reply::Null))
}

pub fn rpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    lmove(ctx, args)
}

pub fn lmove_spread(s: Spread) -> ReplyFuture {
    let (from, to) = match ends(&s.args) {
        Ok(e) => e,
        Err(e) => return blocking::ready(e.to_reply()),
    };
    let (src, dst) = (s.args[1].clone(), s.args[2].clone());
    Box::pin(async move {
        across(s.shard, s.db, src, dst, from, to, false)
            .await
            .unwrap_or(Reply::Null)
    })
}

pub fn rpoplpush_spread(s: Spread) -> ReplyFuture {
    lmove_spread(s)
}

/// The timeout argument's index: BLMOVE's 5, BRPOPLPUSH's 3.
fn timeout_at(args: &[Bytes]) -> usize {
    args.len() - 1
}

fn block_pop(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    args: &[Bytes],
    wake: bool,
) -> Result<Option<Reply>, CmdError> {
    let (from, to) = ends(args)?;
    here(ctx, key, &args[2], from, to, wake)
}

pub fn blmove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    ends(args)?;
    let deadline = parse_timeout(&args[timeout_at(args)], ctx.now_ms)?;
    let block = Block {
        keys: vec![args[1].clone()],
        deadline,
        pop: block_pop,
        timeout_reply: Reply::NullArray,
        denied_reply: Reply::Null,
    };
    blocking::local(ctx, args, block)
}

pub fn brpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    blmove(ctx, args)
}

pub fn blmove_spread(s: Spread) -> ReplyFuture {
    let parsed =
        ends(&s.args).and_then(|e| Ok((e, parse_timeout(&s.args[timeout_at(&s.args)], s.now_ms)?)));
    let ((from, to), deadline) = match parsed {
        Ok(p) => p,
        Err(e) => return blocking::ready(e.to_reply()),
    };
    // Own copies: a long wait would pin the connection's read buffer they are slices of.
    let (src, dst) = (
        Bytes::copy_from_slice(&s.args[1]),
        Bytes::copy_from_slice(&s.args[2]),
    );
    let shard = s.shard.clone();
    let attempt = {
        let (src, shard) = (src.clone(), shard.clone());
        move |wake: bool| {
            across(
                shard.clone(),
                s.db,
                src.clone(),
                dst.clone(),
                from,
                to,
                wake,
            )
        }
    };
    blocking::spread_with(
        shard,
        s.db,
        vec![src],
        deadline,
        Reply::NullArray,
        Reply::Null,
        attempt,
    )
}

pub fn brpoplpush_spread(s: Spread) -> ReplyFuture {
    blmove_spread(s)
}

/// The move with both keys on this core. `None`: the source is missing (or, when `wake`, not a list).
fn here(
    ctx: &mut Ctx<'_>,
    src: &Bytes,
    dst: &Bytes,
    from_left: bool,
    to_left: bool,
    wake: bool,
) -> Result<Option<Reply>, CmdError> {
    match collection::read(ctx, src, ValueType::List) {
        Ok(Some(_)) => {}
        Ok(None) => return Ok(None),
        Err(CmdError::WrongType) if wake => return Ok(None),
        Err(e) => return Err(e),
    }
    let (s_slot, d_slot) = (SlotId::of_key(src), SlotId::of_key(dst));
    if s_slot == d_slot {
        let op = ListOp::Move {
            src: src.clone(),
            dst: dst.clone(),
            from_left,
            to_left,
        };
        return ctx.propose(s_slot, Mutation::List(op)).map(Some);
    }
    // WRONGTYPE for the destination before anything moves.
    collection::read(ctx, dst, ValueType::List)?;
    let pop = ListOp::Pop {
        key: src.clone(),
        left: from_left,
        count: None,
        shape: PopShape::Bulk,
    };
    let value = match ctx.propose(s_slot, Mutation::List(pop))? {
        Reply::Bulk(v) => v,
        other => return Ok(Some(other)),
    };
    let push = ListOp::Push {
        key: dst.clone(),
        elements: vec![value.clone()],
        left: to_left,
        only_existing: false,
    };
    ctx.propose(d_slot, Mutation::List(push))?;
    Ok(Some(Reply::Bulk(value)))
}

/// What a key holds, seen from its core.
enum Kind {
    Missing,
    List,
    Other,
    Failed(Reply),
}

async fn kind(shard: &Rc<Shard>, db: u8, key: Bytes) -> Kind {
    let slot = SlotId::of_key(&key);
    let core = shard.node.layout.core_of(slot);
    on_core(shard, core, move |s: &Rc<Shard>| {
        let k = match s.store.get_live(slot, db, &key, now_ms()) {
            Ok(None) => Kind::Missing,
            Ok(Some(r)) if r.vtype == ValueType::List => Kind::List,
            Ok(Some(_)) => Kind::Other,
            Err(e) => Kind::Failed(CmdError::from(e).to_reply()),
        };
        Box::pin(async move { k }) as Pin<Box<dyn Future<Output = Kind>>>
    })
    .await
}

/// Proposes `op` on the core owning `key` and returns its reply once acknowledged.
async fn propose_on(shard: &Rc<Shard>, db: u8, key: &Bytes, op: ListOp) -> Reply {
    let slot = SlotId::of_key(key);
    let core = shard.node.layout.core_of(slot);
    on_core(shard, core, move |s: &Rc<Shard>| {
        let entry = LogEntry {
            slot,
            db,
            now_ms: now_ms(),
            mutation: Mutation::List(op),
        };
        let (result, seq) = crate::shard::proposal_parts(s.propose(&entry));
        let reply = result.unwrap_or_else(|e| e.to_reply());
        let s = s.clone();
        Box::pin(async move {
            if seq != 0 {
                s.durability.wait(seq).await;
            }
            reply
        }) as Pin<Box<dyn Future<Output = Reply>>>
    })
    .await
}

/// The move between two cores (see the module docs). `None` as for [`here`].
async fn across(
    shard: Rc<Shard>,
    db: u8,
    src: Bytes,
    dst: Bytes,
    from_left: bool,
    to_left: bool,
    wake: bool,
) -> Option<Reply> {
    match kind(&shard, db, src.clone()).await {
        Kind::List => {}
        Kind::Missing => return None,
        Kind::Other if wake => return None,
        Kind::Other => return Some(CmdError::WrongType.to_reply()),
        Kind::Failed(r) => return Some(r),
    }
    match kind(&shard, db, dst.clone()).await {
        Kind::Other => return Some(CmdError::WrongType.to_reply()),
        Kind::Failed(r) => return Some(r),
        Kind::List | Kind::Missing => {}
    }
    let pop = ListOp::Pop {
        key: src.clone(),
        left: from_left,
        count: None,
        shape: PopShape::Bulk,
    };
    let value = match propose_on(&shard, db, &src, pop).await {
        Reply::Bulk(v) => v,
        Reply::Null => return None,
        other => return Some(other),
    };
    let push = ListOp::Push {
        key: dst.clone(),
        elements: vec![value.clone()],
        left: to_left,
        only_existing: false,
    };
    let pushed = propose_on(&shard, db, &dst, push).await;
    if matches!(pushed, Reply::Error(_) | Reply::StaticError(_)) {
        let back = ListOp::Push {
            key: src.clone(),
            elements: vec![value],
            left: from_left,
            only_existing: false,
        };
        propose_on(&shard, db, &src, back).await;
        return Some(pushed);
    }
    Some(Reply::Bulk(value))
}

/// Both keys in this slot.
pub fn apply(
    w: &mut SlotWriter<'_>,
    src: &Bytes,
    dst: &Bytes,
    from_left: bool,
    to_left: bool,
) -> Result<Reply, CmdError> {
    let Some(mut s) = collection::load(w, src, ValueType::List)? else {
        return Ok(Reply::Null);
    };
    let version = s.version();
    let from = if from_left {
        s.meta.head
    } else {
        s.meta.tail() - 1
    };
    let value = get(w, src, version, from)?;
    if src == dst {
        // Rotation: the element leaves one end for the other (same end: nothing moves).
        if from_left && !to_left {
            let to = s.meta.tail();
            if to == u64::MAX {
                return Err(full());
            }
            delete(w, src, version, from);
            put(w, src, version, to, &value);
            s.meta.head += 1;
        } else if !from_left && to_left {
            let to = s.meta.head.checked_sub(1).ok_or_else(full)?;
            delete(w, src, version, from);
            put(w, src, version, to, &value);
            s.meta.head = to;
        }
        collection::store(w, src, &s)?;
        return Ok(Reply::Bulk(value));
    }
    // WRONGTYPE for the destination before anything moves.
    let d = collection::load(w, dst, ValueType::List)?;
    s.meta.count -= 1;
    if from_left {
        s.meta.head += 1;
    }
    if s.meta.count > 0 {
        delete(w, src, version, from);
    }
    let mut d = match d {
        Some(d) => d,
        None => new_list(w)?,
    };
    push_elements(w, dst, &mut d, std::slice::from_ref(&value), to_left)?;
    collection::store(w, src, &s)?;
    collection::store(w, dst, &d)?;
    Ok(Reply::Bulk(value))
}

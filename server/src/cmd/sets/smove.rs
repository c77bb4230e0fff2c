//! SMOVE source destination member
//!
//! Redis's checks, in its order: a missing source replies 0 (whatever the destination holds); then either
//! key holding another type is WRONGTYPE; `source == destination` replies whether the member is there; a
//! member not in the source replies 0. Otherwise it leaves the source (deleted when emptied) and joins the
//! destination (created when absent); reply 1.
//!
//! * Both keys in one slot: one [`SetOp::Move`] mutation — atomic.
//! * Different slots on one core: [`SetOp::Rem`] on the source's slot, then [`SetOp::Add`] on the
//!   destination's, back to back with nothing in between on this core — atomic for every client.
//! * Different cores (`spread`): the member is removed from the source on its core (durably), then added
//!   to the destination on its core. **Not atomic across cores**: in between, a reader on the destination's
//!   core does not see the member in either set. If the destination stopped being a set in that window, the
//!   member is put back into the source and the reply is WRONGTYPE.

use bytes::Bytes;
use resp::Reply;

use super::algebra::{self, open};
use super::{markers, SetOp};
use crate::cmd::collection::{self, slot_of};
use crate::cmd::keys::remote;
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::statemachine::{LogEntry, Mutation, SlotWriter};
use crate::storage::collection::Family;
use crate::storage::record::ValueType;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let (s_slot, d_slot) = (slot_of(src), slot_of(dst));
    if s_slot == d_slot {
        let op = SetOp::Move {
            src: src.clone(),
            dst: dst.clone(),
            member: member.clone(),
        };
        return ctx.propose(s_slot, Mutation::Set(op));
    }
    let store = &ctx.shard.store;
    let Some(set) = open(store, ctx.db, ctx.now_ms, src)? else {
        return Ok(Reply::Integer(0));
    };
    open(store, ctx.db, ctx.now_ms, dst)?;
    if !algebra::contains(store, ctx.db, &set, member)? {
        return Ok(Reply::Integer(0));
    }
    let members = vec![member.clone()];
    let rem = SetOp::Rem {
        key: src.clone(),
        members: members.clone(),
    };
    ctx.propose(s_slot, Mutation::Set(rem))?;
    let add = SetOp::Add {
        key: dst.clone(),
        members,
    };
    ctx.propose(d_slot, Mutation::Set(add))?;
    Ok(Reply::Integer(1))
}

/// The keys are on different cores (so they differ).
pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let (src, dst, member) = (s.args[1].clone(), s.args[2].clone(), s.args[3].clone());
        let entry = |key: &Bytes, op| LogEntry {
            slot: slot_of(key),
            db: s.db,
            now_ms: s.now_ms,
            mutation: Mutation::Set(op),
        };
        let core_of = |k: &Bytes| s.shard.node.layout.core_of(slot_of(k));
        let result = async {
            let (db, now) = (s.db, s.now_ms);
            let (k, m) = (src.clone(), member.clone());
            let present = remote::with_core(&s.shard, core_of(&src), move |sh| {
                match open(&sh.store, db, now, &k)? {
                    None => Ok(None),
                    Some(set) => algebra::contains(&sh.store, db, &set, &m).map(Some),
                }
            })
            .await?;
            let Some(present) = present else {
                return Ok(Reply::Integer(0));
            };
            let k = dst.clone();
            remote::with_core(&s.shard, core_of(&dst), move |sh| {
                open(&sh.store, db, now, &k).map(|_| ())
            })
            .await?;
            if !present {
                return Ok(Reply::Integer(0));
            }
            let rem = SetOp::Rem {
                key: src.clone(),
                members: vec![member.clone()],
            };
            if remote::propose_durable(&s.shard, entry(&src, rem)).await? != Reply::Integer(1) {
                // Removed by someone else in between.
                return Ok(Reply::Integer(0));
            }
            let add = SetOp::Add {
                key: dst.clone(),
                members: vec![member.clone()],
            };
            if let Err(e) = remote::propose_durable(&s.shard, entry(&dst, add)).await {
                let back = SetOp::Add {
                    key: src.clone(),
                    members: vec![member.clone()],
                };
                remote::propose_durable(&s.shard, entry(&src, back)).await?;
                return Err(e);
            }
            Ok(Reply::Integer(1))
        };
        result.await.unwrap_or_else(|e: CmdError| e.to_reply())
    })
}

/// Both keys in this slot.
pub fn apply(
    src: &Bytes,
    dst: &Bytes,
    member: &Bytes,
    w: &mut SlotWriter<'_>,
) -> Result<Reply, CmdError> {
    let Some(mut from) = collection::load(w, src, ValueType::Set)? else {
        return Ok(Reply::Integer(0));
    };
    collection::load(w, dst, ValueType::Set)?;
    let has = w
        .get_member(Family::Sub, src, from.version(), member)?
        .is_some();
    if src == dst || !has {
        return Ok(Reply::Integer(has as i64));
    }
    w.delete_member(Family::Sub, src, from.version(), member);
    from.meta.count -= 1;
    collection::store(w, src, &from)?;
    let one = std::slice::from_ref(member);
    markers::note(w.store(), w.slot, w.db, src, from.version(), &[], one);
    let mut to = collection::load_or_create(w, dst, ValueType::Set)?;
    if w.get_member(Family::Sub, dst, to.version(), member)?
        .is_none()
    {
        w.put_member(Family::Sub, dst, to.version(), member, &[]);
        to.meta.count += 1;
        collection::store(w, dst, &to)?;
        markers::note(w.store(), w.slot, w.db, dst, to.version(), one, &[]);
    }
    Ok(Reply::Integer(1))
}

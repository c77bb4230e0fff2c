//! SADD key member [member ...] — one metadata read, then one point read and at most one write per
//! member; creates the set when the key is absent (or expired).

use bytes::Bytes;
use resp::Reply;

use super::SetOp;
use crate::cmd::collection::{self, slot_of};
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::collection::Family;
use crate::storage::record::ValueType;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let op = SetOp::Add {
        key: args[1].clone(),
        members: args[2..].to_vec(),
    };
    ctx.propose(slot_of(&args[1]), Mutation::Set(op))
}

/// Adds the members that are not there yet; reply how many were added.
pub fn apply(key: &Bytes, members: &[Bytes], w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
    let mut set = collection::load_or_create(w, key, ValueType::Set)?;
    let version = set.version();
    let mut added = 0;
    for m in members {
        // `get_member` sees this entry's own writes, so a member named twice is added once.
        if w.get_member(Family::Sub, key, version, m)?.is_none() {
            w.put_member(Family::Sub, key, version, m, &[]);
            added += 1;
        }
    }
    if added > 0 {
        set.meta.count += added;
        collection::store(w, key, &set)?;
    }
    Ok(Reply::Integer(added as i64))
}

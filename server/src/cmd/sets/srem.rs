//! SREM key member [member ...] — one point read per member; the key goes when its last member does.

use bytes::Bytes;
use resp::Reply;

use super::{markers, SetOp};
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::collection::Family;
use crate::storage::record::ValueType;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let op = SetOp::Rem {
        key: args[1].clone(),
        members: args[2..].to_vec(),
    };
    ctx.propose(ctx.slot_of(&args[1]), Mutation::Set(op))
}

/// Removes the members present; reply how many were removed.
pub fn apply(key: &Bytes, members: &[Bytes], w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
    Ok(Reply::Integer(remove(key, members, w)?.len() as i64))
}

/// Removes the members of `key` that are present and returns them (in argument order, each once).
pub fn remove(
    key: &Bytes,
    members: &[Bytes],
    w: &mut SlotWriter<'_>,
) -> Result<Vec<Bytes>, CmdError> {
    let Some(mut set) = collection::load(w, key, ValueType::Set)? else {
        return Ok(Vec::new());
    };
    let version = set.version();
    let mut removed = Vec::new();
    for m in members {
        if w.get_member(Family::Sub, key, version, m)?.is_some() {
            w.delete_member(Family::Sub, key, version, m);
            removed.push(m.clone());
        }
    }
    if !removed.is_empty() {
        set.meta.count = set.meta.count.saturating_sub(removed.len() as u64);
        collection::store(w, key, &set)?;
        markers::note(w.store(), w.slot, w.db, key, version, &[], &removed);
    }
    Ok(removed)
}

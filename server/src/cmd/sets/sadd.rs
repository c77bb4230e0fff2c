//! SADD key member [member ...] — one metadata read, then one point read and at most one write per
//! member; creates the set when the key is absent (or expired).

use bytes::Bytes;
use resp::Reply;

use super::{markers, SetOp};
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::collection::Family;
use crate::storage::record::ValueType;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let op = SetOp::Add {
        key: args[1].clone(),
        members: args[2..].to_vec(),
    };
    ctx.propose(ctx.slot_of(&args[1]), Mutation::Set(op))
}

/// Adds the members that are not there yet; reply how many were added.
pub fn apply(key: &Bytes, members: &[Bytes], w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
    let mut set = collection::load_or_create(w, key, ValueType::Set)?;
    let version = set.version();
    let tracked = markers::tracked(w.store(), w.slot, w.db, key, version);
    let mut added = Vec::new();
    let mut n = 0;
    for m in members {
        // `get_member` sees this entry's own writes, so a member named twice is added once.
        if w.get_member(Family::Sub, key, version, m)?.is_none() {
            w.put_member(Family::Sub, key, version, m, &[]);
            n += 1;
            if tracked {
                added.push(m.clone());
            }
        }
    }
    if n > 0 {
        set.meta.count += n;
        collection::store(w, key, &set)?;
        if tracked {
            markers::note(w.store(), w.slot, w.db, key, version, &added, &[]);
        }
    }
    Ok(Reply::Integer(n as i64))
}

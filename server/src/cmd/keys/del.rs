//! DEL key [key ...] — O(1) per key: the record goes; a collection's members are orphaned by its version and
//! reclaimed by compaction. Keys on several cores are deleted per core; the total is summed.

use bytes::Bytes;
use resp::Reply;

use super::{group_by_slot, KeyOp};
use crate::cmd::{sum_integers, CmdError, Ctx, KeySpec, ReplyFuture, Spread};
use crate::statemachine::{Mutation, SlotWriter};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let mut total = 0;
    for (slot, keys) in group_by_slot(args[1..].iter()) {
        if let Reply::Integer(n) = ctx.propose(slot, Mutation::Key(KeyOp::Del { keys }))? {
            total += n;
        }
    }
    Ok(Reply::Integer(total))
}

pub fn apply(keys: &[Bytes], w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
    let mut n = 0;
    for k in keys {
        if w.get(k)?.is_some() {
            w.delete(k)?;
            n += 1;
        }
    }
    Ok(Reply::Integer(n))
}

/// Splits a multi-key command by core, runs each share as a leg, and sums the integer replies.
pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move { sum_integers(per_core_legs(&s, KeySpec::ALL).await) })
}

/// Runs `args[0]` with each core's share of the keys (positions per `keys`) on that core.
pub async fn per_core_legs(s: &Spread, keys: KeySpec) -> Vec<Reply> {
    let groups = s.keys_by_core(keys.positions(&s.args));
    let mut legs = Vec::with_capacity(groups.len());
    for (core, idx) in &groups {
        let mut args = Vec::with_capacity(idx.len() + 1);
        args.push(s.args[0].clone());
        args.extend(idx.iter().map(|&i| s.args[i].clone()));
        legs.push(s.leg(*core, args));
    }
    let mut out = Vec::with_capacity(legs.len());
    for leg in legs {
        out.push(leg.await);
    }
    out
}

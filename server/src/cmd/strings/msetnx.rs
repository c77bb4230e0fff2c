//! MSETNX key value [key value ...] — sets every pair only if none of the keys exists (of any type).
//!
//! Atomicity: when all keys are on one core the check and the writes run in one uninterrupted step on that
//! core (and a single-slot MSETNX is one conditional mutation), so it is atomic as in Redis. When the keys
//! span cores, a first round of legs checks existence on every core (EXISTS) and, only if all are absent, a
//! second round sets the pairs on every core (MSET). The two rounds are separate steps on each core, so a
//! key created by another client between them is overwritten, and readers may see the pairs appear core by
//! core: atomic per core, not across cores. Making it atomic across cores would need a cross-core lock or
//! transaction, which thread-per-core avoids on purpose.

use bytes::Bytes;
use resp::Reply;

use super::mset::{check_pairs, pair_legs, pairs_by_slot, MSetOp};
use super::StringOp;
use crate::cmd::{CmdError, Ctx, KeySpec, ReplyFuture, Spread};
use crate::statemachine::Mutation;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    check_pairs(args)?;
    // Check every slot's keys before writing any: several slots need several mutations.
    for pair in args[1..].chunks_exact(2) {
        if ctx.get(&pair[0])?.is_some() {
            return Ok(Reply::Integer(0));
        }
    }
    let mut set = 1;
    for (slot, pairs) in pairs_by_slot(args) {
        let op = MSetOp { pairs, nx: true };
        if let Reply::Integer(0) = ctx.propose(slot, Mutation::String(StringOp::MSet(op)))? {
            set = 0;
        }
    }
    Ok(Reply::Integer(set))
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        if let Err(e) = check_pairs(&s.args) {
            return e.to_reply();
        }
        // Round 1: does any key exist, on any core?
        let groups = s.keys_by_core(KeySpec::PAIRS.positions(&s.args));
        let mut checks = Vec::with_capacity(groups.len());
        for (core, idx) in &groups {
            let mut args = Vec::with_capacity(idx.len() + 1);
            args.push(Bytes::from_static(b"exists"));
            args.extend(idx.iter().map(|&i| s.args[i].clone()));
            checks.push(s.leg(*core, args));
        }
        let mut found = false;
        for check in checks {
            match check.await {
                Reply::Integer(n) => found |= n > 0,
                err => return err,
            }
        }
        if found {
            return Reply::Integer(0);
        }
        // Round 2: set everything.
        for reply in pair_legs(&s, "mset").await {
            if !matches!(reply, Reply::Ok) {
                return reply;
            }
        }
        Reply::Integer(1)
    })
}

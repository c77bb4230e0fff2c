//! MSET key value [key value ...] — one mutation per slot. Keys on several cores are set per core, in
//! parallel: atomic per slot, not across slots or cores (a reader may see some keys set and others not
//! yet). Clears each key's time to live; a repeated key ends with its last value.

use bytes::Bytes;
use resp::Reply;

use super::StringOp;
use crate::cmd::{CmdError, Ctx, KeySpec, ReplyFuture, Spread};
use crate::slot::SlotId;
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::record::Record;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MSetOp {
    /// `(key, value)`, all in the op's slot, in argument order.
    pub pairs: Vec<(Bytes, Bytes)>,
    /// MSETNX: set nothing (reply 0) if any of the keys exists; reply 1 otherwise.
    pub nx: bool,
}

/// MSET needs an even number of arguments after the name; the table only checks the minimum.
pub fn check_pairs(args: &[Bytes]) -> Result<(), CmdError> {
    if args.len() % 2 != 1 {
        let mut name = [0u8; 32];
        let n = crate::cmd::lowercase_name(&args[0], &mut name).unwrap_or(0);
        return Err(CmdError::WrongArity(
            String::from_utf8_lossy(&name[..n]).into_owned(),
        ));
    }
    Ok(())
}

/// The `(key, value)` pairs of `args`, grouped by slot (first-seen order).
pub fn pairs_by_slot(args: &[Bytes]) -> Vec<(SlotId, Vec<(Bytes, Bytes)>)> {
    let mut groups: Vec<(SlotId, Vec<(Bytes, Bytes)>)> = Vec::new();
    for pair in args[1..].chunks_exact(2) {
        let slot = SlotId::of_key(&pair[0]);
        let kv = (pair[0].clone(), pair[1].clone());
        match groups.iter_mut().find(|(s, _)| *s == slot) {
            Some((_, v)) => v.push(kv),
            None => groups.push((slot, vec![kv])),
        }
    }
    groups
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    check_pairs(args)?;
    for (slot, pairs) in pairs_by_slot(args) {
        ctx.propose(
            slot,
            Mutation::String(StringOp::MSet(MSetOp { pairs, nx: false })),
        )?;
    }
    Ok(Reply::Ok)
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        if let Err(e) = check_pairs(&s.args) {
            return e.to_reply();
        }
        for reply in pair_legs(&s, "mset").await {
            if !matches!(reply, Reply::Ok) {
                return reply;
            }
        }
        Reply::Ok
    })
}

/// Runs `name key value ...` on each core with that core's pairs, in parallel; replies in leg order.
pub async fn pair_legs(s: &Spread, name: &'static str) -> Vec<Reply> {
    let groups = s.keys_by_core(KeySpec::PAIRS.positions(&s.args));
    let mut legs = Vec::with_capacity(groups.len());
    for (core, idx) in &groups {
        let mut args = Vec::with_capacity(idx.len() * 2 + 1);
        args.push(Bytes::from_static(name.as_bytes()));
        for &i in idx {
            args.push(s.args[i].clone());
            args.push(s.args[i + 1].clone());
        }
        legs.push(s.leg(*core, args));
    }
    let mut out = Vec::with_capacity(legs.len());
    for leg in legs {
        out.push(leg.await);
    }
    out
}

impl MSetOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        if self.nx {
            for (k, _) in &self.pairs {
                if w.get(k)?.is_some() {
                    return Ok(Reply::Integer(0));
                }
            }
        }
        for (k, v) in &self.pairs {
            w.put(k, Record::string(v.clone(), 0, 0))?;
        }
        Ok(if self.nx {
            Reply::Integer(1)
        } else {
            Reply::Ok
        })
    }
}

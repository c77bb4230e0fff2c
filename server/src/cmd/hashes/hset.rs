//! HSET key field value [field value ...] (reply: fields created) and HMSET, the same write replying OK.
//!
//! A field named twice takes its last value and is counted once, as in Redis. The fields' current
//! existence is read before anything is written; a single-field HSET is one metadata read, one field read
//! and two writes.

use bytes::Bytes;
use resp::Reply;

use super::{stored_field, HashOp};
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::collection::Family;
use crate::storage::record::ValueType;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HSetOp {
    pub key: Bytes,
    pub pairs: Vec<(Bytes, Bytes)>,
    /// HMSET: reply `+OK` instead of the number of fields created.
    pub ok_reply: bool,
}

pub fn hset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    propose(ctx, args, false)
}

pub fn hmset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    propose(ctx, args, true)
}

fn propose(ctx: &mut Ctx<'_>, args: &[Bytes], ok_reply: bool) -> Result<Reply, CmdError> {
    if !args.len().is_multiple_of(2) {
        let name = if ok_reply { "hmset" } else { "hset" };
        return Err(CmdError::WrongArity(name.to_string()));
    }
    let op = HSetOp {
        key: args[1].clone(),
        pairs: args[2..]
            .chunks_exact(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect(),
        ok_reply,
    };
    ctx.propose(ctx.slot_of(&args[1]), Mutation::Hash(HashOp::Set(op)))
}

impl HSetOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        let mut h = collection::load_or_create(w, &self.key, ValueType::Hash)?;
        let version = h.version();
        let mut created = 0;
        if let [(field, _)] = &self.pairs[..] {
            created = stored_field(w, &self.key, &h, field)?.is_none() as u64;
        } else {
            let mut seen = ahash::AHashSet::with_capacity(self.pairs.len());
            for (field, _) in &self.pairs {
                if seen.insert(&field[..]) && stored_field(w, &self.key, &h, field)?.is_none() {
                    created += 1;
                }
            }
        }
        for (field, value) in &self.pairs {
            w.put_member(Family::Sub, &self.key, version, field, value);
        }
        h.meta.count += created;
        collection::store(w, &self.key, &h)?;
        Ok(if self.ok_reply {
            Reply::Ok
        } else {
            Reply::Integer(created as i64)
        })
    }
}

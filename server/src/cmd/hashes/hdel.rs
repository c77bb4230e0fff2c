//! HDEL key field [field ...] — reply: how many of the named fields existed (a field named twice counts
//! once). Deleting the last field deletes the key.

use bytes::Bytes;
use resp::Reply;

use super::{stored_field, HashOp};
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::collection::Family;
use crate::storage::record::ValueType;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HDelOp {
    pub key: Bytes,
    pub fields: Vec<Bytes>,
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let op = HDelOp {
        key: args[1].clone(),
        fields: args[2..].to_vec(),
    };
    ctx.propose(ctx.slot_of(&args[1]), Mutation::Hash(HashOp::Del(op)))
}

impl HDelOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        let Some(mut h) = collection::load(w, &self.key, ValueType::Hash)? else {
            return Ok(Reply::Integer(0));
        };
        // Which fields exist, read before any delete; each field once.
        let mut gone: Vec<&[u8]> = Vec::new();
        if let [field] = &self.fields[..] {
            if stored_field(w, &self.key, &h, field)?.is_some() {
                gone.push(field);
            }
        } else {
            let mut seen = ahash::AHashSet::with_capacity(self.fields.len());
            for field in &self.fields {
                if seen.insert(&field[..]) && stored_field(w, &self.key, &h, field)?.is_some() {
                    gone.push(field);
                }
            }
        }
        if gone.is_empty() {
            return Ok(Reply::Integer(0));
        }
        for field in &gone {
            w.delete_member(Family::Sub, &self.key, h.version(), field);
        }
        h.meta.count = h.meta.count.saturating_sub(gone.len() as u64);
        collection::store(w, &self.key, &h)?;
        Ok(Reply::Integer(gone.len() as i64))
    }
}

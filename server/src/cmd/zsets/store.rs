//! Replacing a key with a computed sorted set: the write half of ZRANGESTORE, ZUNIONSTORE, ZINTERSTORE
//! and ZDIFFSTORE when the result was computed outside the destination's slot (other slot, other core).
//!
//! As Redis's `setKey`: whatever the destination held goes (its members are orphaned by version), the new
//! set has no time to live, and an empty result deletes the destination. The reply is the new size.

use bytes::Bytes;
use resp::Reply;

use super::read::Scored;
use crate::cmd::CmdError;
use crate::statemachine::SlotWriter;
use crate::storage::collection::CollectionMeta;
use crate::storage::record::ValueType;

/// Stores `members` (distinct) as the sorted set `key`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoreOp {
    pub key: Bytes,
    pub members: Vec<Scored>,
}

impl StoreOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        replace(w, &self.key, &self.members)
    }
}

/// Replaces `key` with a new sorted set of `members` (distinct); deletes it when there are none.
pub fn replace(w: &mut SlotWriter<'_>, key: &Bytes, members: &[Scored]) -> Result<Reply, CmdError> {
    if members.is_empty() {
        w.delete(key)?;
        return Ok(Reply::Integer(0));
    }
    let version = w.new_version()?;
    for (m, s) in members {
        w.put_scored(key, version, m, *s, None);
    }
    let meta = CollectionMeta {
        count: members.len() as u64,
        head: 0,
    };
    w.put(key, meta.record(ValueType::ZSet, 0, version))?;
    Ok(Reply::Integer(members.len() as i64))
}

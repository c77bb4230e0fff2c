//! Cross-core helpers for commands whose keys sit on two cores (RENAME, RENAMENX, COPY) and for the
//! node-wide reads (SCAN, RANDOMKEY).
//!
//! They run a closure on the core that owns the data, over the channel mesh (or directly, for this core),
//! instead of going through a public command: the closure reads the store or proposes a mutation there,
//! exactly as that core's `local` would. Nothing here is visible to clients.

use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use crate::cmd::CmdError;
use crate::shard::Shard;
use crate::slot::SlotId;
use crate::statemachine::LogEntry;
use crate::storage::collection::Value;

/// Runs `f` with the shard of `core` (this core included) and returns its result.
pub async fn with_core<T, F>(shard: &Rc<Shard>, core: usize, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce(&Rc<Shard>) -> T + Send + 'static,
{
    if core == shard.core {
        return f(shard);
    }
    shard
        .mesh
        .call(core, move |s: &Rc<Shard>| {
            let v = f(s);
            Box::pin(async move { v })
        })
        .await
}

/// The live key `key` in `db` with all its members, read on the core that owns it.
pub async fn read_live(
    shard: &Rc<Shard>,
    db: u8,
    now_ms: u64,
    key: Bytes,
) -> Result<Option<Value>, CmdError> {
    let slot = SlotId::of_key(&key);
    let core = shard.node.layout.core_of(slot);
    with_core(shard, core, move |s| {
        s.store
            .read_value(slot, db, &key, now_ms)
            .map_err(CmdError::from)
    })
    .await
}

/// Proposes `entry` on the core that owns its slot and returns the reply once the write is durable.
pub async fn propose_durable(shard: &Rc<Shard>, entry: LogEntry) -> Result<Reply, CmdError> {
    let core = shard.node.layout.core_of(entry.slot);
    let run = move |s: Rc<Shard>| async move {
        let (result, seq) = crate::shard::proposal_parts(s.propose(&entry));
        if seq != 0 {
            s.durability.wait(seq).await;
        }
        result
    };
    if core == shard.core {
        return run(shard.clone()).await;
    }
    shard
        .mesh
        .call(core, move |s: &Rc<Shard>| Box::pin(run(s.clone())))
        .await
}

//! WATCH key [key ...] — EXEC will not run the transaction if any of these keys is modified first.
//!
//! Each key is registered on the core that owns it ([`crate::shard::watch`]): keys of this core at once,
//! keys of other cores over the mesh, as a barrier (the connection's next request, an EXEC say, waits until
//! the tickets are back). Watching a key twice is watching it once.

use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use super::{client_of, Watched};
use crate::cmd::{CmdError, Ctx};
use crate::net::client::ClientState;
use crate::shard::{Dispatch, Shard};
use crate::slot::SlotId;

const INSIDE_MULTI: &str = "ERR WATCH inside MULTI is not allowed";

/// Never reached: the dispatcher answers WATCH through [`dispatch`] before routing (its keys may be on
/// any core, and it needs the connection). Kept so the command table has a `local` like every command.
pub fn local(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Err(CmdError::msg("ERR WATCH is answered by the dispatcher"))
}

pub fn dispatch(
    shard: &Rc<Shard>,
    client: &mut ClientState,
    args: Vec<Bytes>,
    now: u64,
) -> Dispatch {
    if client.tx.multi {
        return Dispatch::Done(Reply::StaticError(INSIDE_MULTI));
    }
    let db = client.db;
    let mut local = Vec::new();
    let mut remote: Vec<(usize, Vec<Bytes>)> = Vec::new();
    let mut pending = ahash::AHashSet::new();
    for key in args.into_iter().skip(1) {
        if client.tx.watched.contains_key(&(db, key.clone())) || !pending.insert(key.clone()) {
            continue;
        }
        let core = shard.node.layout.core_of(SlotId::of_key(&key));
        if core == shard.core {
            local.push(key);
        } else {
            match remote.iter_mut().find(|(c, _)| *c == core) {
                Some((_, keys)) => keys.push(key),
                None => remote.push((core, vec![key])),
            }
        }
    }
    for (key, ticket) in shard.watch_keys(db, local, now) {
        let core = shard.core;
        client
            .tx
            .watched
            .insert((db, key), Watched { core, ticket });
    }
    if remote.is_empty() {
        return Dispatch::Done(Reply::Ok);
    }
    let (shard, id) = (shard.clone(), client.id);
    Dispatch::Barrier(Box::pin(async move {
        for (core, keys) in remote {
            let tickets = shard
                .mesh
                .call(core, move |s: &Rc<Shard>| {
                    let t = s.watch_keys(db, keys, now);
                    Box::pin(async move { t })
                })
                .await;
            let Some(client) = client_of(&shard, id) else {
                // Gone (cannot happen while it awaits this barrier): give the watches back.
                let tickets = tickets.into_iter().map(|(k, t)| (db, k, t)).collect();
                super::release_on(&shard, core, tickets, None).await;
                continue;
            };
            let mut client = client.borrow_mut();
            for (key, ticket) in tickets {
                client
                    .tx
                    .watched
                    .insert((db, key), Watched { core, ticket });
            }
        }
        Reply::Ok
    }))
}

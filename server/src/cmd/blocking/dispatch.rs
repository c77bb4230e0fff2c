//! Dispatch of the commands flagged BLOCKING: where they run and how a wait becomes a barrier on the
//! connection.

use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use super::ClientRef;
use crate::cmd::{table, CommandSpec, ReplyFuture};
use crate::net::client::ClientState;
use crate::shard::{Dispatch, Shard};
use crate::slot::SlotId;

impl Shard {
    /// Dispatch of a command flagged BLOCKING (called by `Shard::dispatch`): like any command, but one that
    /// ends up waiting is a barrier on its connection, and a request forwarded to the keys' core waits
    /// there, queued with that core's own waiters.
    pub(crate) fn dispatch_blocking(
        self: &Rc<Self>,
        spec: &'static CommandSpec,
        client: &mut ClientState,
        now: u64,
        args: Vec<Bytes>,
    ) -> Dispatch {
        let db = client.db;
        // EXEC dispatching its queue (`in_exec`) and a held `deny` never wait.
        let may_wait = self.blocking.denies.get() == 0 && !client.tx.in_exec;
        let me = may_wait.then(|| ClientRef::of(client));
        let layout = &self.node.layout;
        let mut cores = spec
            .keys
            .positions(&args)
            .map(|i| layout.core_of(SlotId::of_key(&args[i])));
        let one_core = match cores.next() {
            None => Some(self.core),
            Some(first) => cores.all(|c| c == first).then_some(first),
        };
        match one_core {
            Some(core) if core == self.core => {
                self.blocking.context.set(me);
                let (reply, seq) = self.run_local(spec, Some(client), db, now, &args, false, None);
                self.blocking.context.set(None);
                let parked = self.blocking.parked.borrow_mut().take();
                match parked {
                    Some(wait) => Dispatch::Barrier(wait),
                    None if seq == 0 => Dispatch::Done(reply),
                    None => Dispatch::Durable(reply, seq),
                }
            }
            Some(core) => {
                let shard = self.clone();
                Dispatch::Barrier(Box::pin(async move {
                    shard
                        .mesh
                        .call(core, move |s: &Rc<Shard>| {
                            let s = s.clone();
                            Box::pin(async move { s.run_blocking_here(db, now, args, me).await })
                                as ReplyFuture
                        })
                        .await
                }))
            }
            None => {
                self.blocking.context.set(me);
                let d = self.spread(spec, db, now, args);
                self.blocking.context.set(None);
                d
            }
        }
    }

    /// Runs a blocking request forwarded from another core, waiting here if it must.
    async fn run_blocking_here(
        self: Rc<Self>,
        db: u8,
        now: u64,
        args: Vec<Bytes>,
        me: Option<ClientRef>,
    ) -> Reply {
        let spec = match table::resolve(&args) {
            Ok(spec) => spec,
            Err(e) => return e.to_reply(),
        };
        self.blocking.context.set(me);
        let (reply, seq) = self.run_local(spec, None, db, now, &args, false, None);
        self.blocking.context.set(None);
        let parked = self.blocking.parked.borrow_mut().take();
        if let Some(wait) = parked {
            return wait.await;
        }
        if seq != 0 {
            self.durability.wait(seq).await;
        }
        reply
    }
}

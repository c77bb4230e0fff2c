//! EXEC — runs the queued commands and replies with the array of their replies (a null array if a watched
//! key was touched, `-EXECABORT` if a command was rejected while queueing).
//!
//! Where the queue runs is decided from the command table alone ([`plan`]):
//!
//! * [`Plan::Here`]: every key on the connection's core (or no keys). The watches of this core are checked
//!   and the commands run in one synchronous step; when no watch lives elsewhere EXEC never leaves
//!   dispatch.
//! * [`Plan::On`]: every key on one other core. The queue travels there in one mesh call, whose job checks
//!   that core's watches and runs every command back to back, then waits for durability. Keyless commands
//!   go along when they need no connection (PING, ECHO, TIME, SELECT — whose database the job tracks and
//!   hands back); any other keyless command makes the plan [`Plan::InOrder`].
//! * [`Plan::InOrder`]: keys on several cores, or node-wide commands on a multi-core node. The commands are
//!   dispatched one after another as if sent alone, each finished before the next starts. Not isolated
//!   across cores (see the family's docs).
//!
//! Watches held on cores other than the running one are checked first, over the mesh; between that check
//! and the run a write to such a key can slip in — cross-core WATCH is as isolated as cross-core EXEC.
//!
//! Blocking commands never wait inside EXEC (BLPOP on an empty list replies nil at once, as under Redis's
//! `CLIENT_DENY_BLOCKING`): `run_local` runs them non-blocking, and [`Plan::InOrder`] dispatches with
//! [`super::TxState::in_exec`] set. Clients blocked on keys the transaction writes are served after the
//! whole transaction, not between its commands ([`crate::cmd::blocking::Blocking::hold`] on the running
//! core; on every core for [`Plan::InOrder`]), and before EXEC replies, as in Redis.

use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use resp::{Protocol, Reply};

use super::{by_core, client_of, is, release_on, Queued, Tickets};
use crate::cmd::{flags, CmdError, Ctx};
use crate::net::client::ClientState;
use crate::shard::{Dispatch, Shard};
use crate::slot::SlotId;

const WITHOUT_MULTI: &str = "ERR EXEC without MULTI";
const ABORTED: &str = "EXECABORT Transaction discarded because of previous errors.";

/// Never reached: the dispatcher answers EXEC through [`dispatch`] (it may have to wait on other cores).
pub fn local(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Err(CmdError::msg("ERR EXEC is answered by the dispatcher"))
}

/// Where a transaction runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Here,
    On(usize),
    InOrder,
}

/// Keyless commands that can run on a core that does not hold the connection.
const PORTABLE: &[&str] = &["ping", "echo", "time", "select", "unwatch"];

fn plan(shard: &Shard, queue: &[Queued]) -> Plan {
    let mut target = None;
    let mut portable = true;
    for q in queue {
        let mut keys = q.spec.keys.positions(&q.args).peekable();
        if keys.peek().is_none() {
            if q.spec.has(flags::NODE_WIDE) && shard.node.cores > 1 {
                return Plan::InOrder;
            }
            portable &= PORTABLE.iter().any(|n| is(q.spec, n));
            continue;
        }
        for i in keys {
            let core = shard.node.layout.core_of(SlotId::of_key(&q.args[i]));
            match target {
                None => target = Some(core),
                Some(t) if t != core => return Plan::InOrder,
                _ => {}
            }
        }
    }
    match target {
        None => Plan::Here,
        Some(core) if core == shard.core => Plan::Here,
        Some(_) if !portable => Plan::InOrder,
        Some(core) => Plan::On(core),
    }
}

pub fn dispatch(shard: &Rc<Shard>, client: &mut ClientState, now: u64) -> Dispatch {
    if !client.tx.multi {
        return Dispatch::Done(Reply::StaticError(WITHOUT_MULTI));
    }
    let queue = std::mem::take(&mut client.tx.queue);
    let failed = client.tx.failed;
    client.tx.multi = false;
    client.tx.failed = false;
    if failed {
        super::unwatch_all(shard, client);
        return Dispatch::Done(Reply::StaticError(ABORTED));
    }
    let plan = plan(shard, &queue);
    let mut remote = Vec::new();
    let local = by_core(
        shard.core,
        std::mem::take(&mut client.tx.watched),
        &mut remote,
    );
    if plan == Plan::Here && remote.is_empty() {
        // The whole transaction in one step on this core: check, run, reply.
        if shard.release_watches(local, Some(now)) {
            return Dispatch::Done(Reply::NullArray);
        }
        // A CLIENT REPLY in the queue changes the mode for the commands after EXEC; EXEC itself is
        // answered by the mode it started with, and its array stays whole (as when it waits on
        // another core).
        let skip = client.reply_off || client.reply_skip_next;
        let (replies, seq) = run_here(shard, client, now, queue);
        client.reply_skip_next = false;
        client.reply_skip_decided = Some(skip);
        return match seq {
            0 => Dispatch::Done(Reply::Array(replies)),
            seq => Dispatch::Durable(Reply::Array(replies), seq),
        };
    }
    let run = Run {
        shard: shard.clone(),
        client: client.id,
        db: client.db,
        now,
        plan,
    };
    Dispatch::Barrier(Box::pin(run.go(local, remote, queue)))
}

/// A transaction that waits on other cores.
struct Run {
    shard: Rc<Shard>,
    client: u64,
    db: u8,
    now: u64,
    plan: Plan,
}

impl Run {
    async fn go(self, local: Tickets, remote: Vec<(usize, Tickets)>, queue: Vec<Queued>) -> Reply {
        let shard = &self.shard;
        let run_core = match self.plan {
            Plan::Here => Some(shard.core),
            Plan::On(core) => Some(core),
            Plan::InOrder => None,
        };
        // Check (and drop) the watches of every core but the one that runs the queue.
        let mut touched = false;
        let mut on_run_core = Tickets::new();
        if run_core == Some(shard.core) {
            on_run_core = local;
        } else {
            touched |= shard.release_watches(local, Some(self.now));
        }
        for (core, tickets) in remote {
            if run_core == Some(core) {
                on_run_core = tickets;
            } else {
                touched |= release_on(shard, core, tickets, Some(self.now)).await;
            }
        }
        match self.plan {
            Plan::Here => {
                // Check and run in one step.
                if shard.release_watches(on_run_core, Some(self.now)) || touched {
                    return Reply::NullArray;
                }
                let Some(client) = client_of(shard, self.client) else {
                    return Reply::NullArray;
                };
                let (replies, seq) = run_here(shard, &mut client.borrow_mut(), self.now, queue);
                if seq != 0 {
                    shard.durability.wait(seq).await;
                }
                Reply::Array(replies)
            }
            Plan::On(core) => {
                let (db, now) = (self.db, self.now);
                let done = shard
                    .mesh
                    .call(core, move |s: &Rc<Shard>| {
                        let s = s.clone();
                        Box::pin(async move {
                            // Check and run in one step on the keys' core.
                            if s.release_watches(on_run_core, Some(now)) || touched {
                                return None;
                            }
                            let (replies, seq, db) = run_elsewhere(&s, db, now, queue);
                            if seq != 0 {
                                s.durability.wait(seq).await;
                            }
                            Some((replies, db))
                        })
                    })
                    .await;
                let Some((replies, db)) = done else {
                    return Reply::NullArray;
                };
                if let Some(client) = client_of(shard, self.client) {
                    client.borrow_mut().db = db;
                }
                Reply::Array(replies)
            }
            Plan::InOrder if touched => Reply::NullArray,
            Plan::InOrder => self.in_order(queue).await,
        }
    }

    /// Dispatches each command as if sent alone, one after the other.
    async fn in_order(&self, queue: Vec<Queued>) -> Reply {
        let shard = &self.shard;
        let Some(client) = client_of(shard, self.client) else {
            return Reply::NullArray;
        };
        // Blocked clients are served after the whole transaction, whichever cores its keys are on.
        let hold = NodeHold::new(shard).await;
        let mut replies = Vec::with_capacity(queue.len());
        let mut protocols = Vec::with_capacity(queue.len());
        let mut seq = 0;
        // CLIENT LIST names EXEC, not the queued commands dispatched here.
        let exec = client.borrow().last_cmd;
        for q in queue {
            let dispatched = {
                let mut c = client.borrow_mut();
                c.tx.in_exec = true;
                shard.dispatch(&mut c, q.args, self.now)
            };
            replies.push(match dispatched {
                Dispatch::Done(reply) => reply,
                Dispatch::Durable(reply, s) => {
                    seq = seq.max(s);
                    reply
                }
                Dispatch::Forward(fut) | Dispatch::Barrier(fut) => fut.await,
            });
            protocols.push(client.borrow().protocol);
        }
        {
            let mut c = client.borrow_mut();
            c.tx.in_exec = false;
            c.last_cmd = exec;
            encode_switched(&mut replies, protocols, c.protocol);
        }
        hold.release().await;
        if seq != 0 {
            shard.durability.wait(seq).await;
        }
        Reply::Array(replies)
    }
}

/// [`crate::cmd::blocking::Blocking::hold`] on every core, for a transaction that runs on several.
/// [`NodeHold::release`] ends it before EXEC replies; a transaction abandoned half way (its connection
/// gone) ends it on drop.
struct NodeHold {
    shard: Option<Rc<Shard>>,
}

impl NodeHold {
    async fn new(shard: &Rc<Shard>) -> NodeHold {
        shard
            .on_every_core(|s: &Rc<Shard>| s.blocking.hold_detached())
            .await;
        NodeHold {
            shard: Some(shard.clone()),
        }
    }

    /// Serves, on every core, the clients blocked on keys the transaction wrote.
    async fn release(mut self) {
        if let Some(shard) = self.shard.take() {
            shard
                .on_every_core(|s: &Rc<Shard>| s.blocking.release())
                .await;
        }
    }
}

impl Drop for NodeHold {
    fn drop(&mut self) {
        if let Some(shard) = self.shard.take() {
            glommio::spawn_local(async move {
                shard
                    .on_every_core(|s: &Rc<Shard>| s.blocking.release())
                    .await;
            })
            .detach();
        }
    }
}

/// Runs the queue on the connection's core, back to back; returns the replies and the durability sequence
/// to wait for.
fn run_here(
    shard: &Rc<Shard>,
    client: &mut ClientState,
    now: u64,
    queue: Vec<Queued>,
) -> (Vec<Reply>, u64) {
    let mut replies = Vec::with_capacity(queue.len());
    let mut seq = 0;
    // Clients blocked on keys the transaction writes are served after it, not between its commands.
    let _hold = shard.blocking.hold();
    client.tx.in_exec = true;
    let mut protocols = Vec::new();
    for q in queue {
        // SELECT inside the transaction changes the database of the commands after it.
        let db = client.db;
        let (reply, s) = shard.run_local(q.spec, Some(&mut *client), db, now, &q.args, false, None);
        replies.push(reply);
        protocols.push(client.protocol);
        seq = seq.max(s);
    }
    client.tx.in_exec = false;
    encode_switched(&mut replies, protocols, client.protocol);
    (replies, seq)
}

/// EXEC's array goes out in the protocol the connection ends with (`last`). When a HELLO in the queue
/// switched it, each reply is in the protocol in force once its command ran, as in Redis: those made under
/// another protocol than `last` are encoded here, with the one recorded for them.
fn encode_switched(replies: &mut [Reply], protocols: Vec<Protocol>, last: Protocol) {
    if protocols.iter().all(|p| *p == last) {
        return;
    }
    for (reply, proto) in replies.iter_mut().zip(protocols) {
        if proto != last {
            let mut out = BytesMut::new();
            reply.encode(proto, &mut out);
            *reply = Reply::Encoded(out.freeze());
        }
    }
}

/// Runs the queue on the core that owns its keys, for a connection held by another core; SELECT is tracked
/// here. Returns the replies, the durability sequence and the database the connection ends in.
fn run_elsewhere(
    shard: &Rc<Shard>,
    mut db: u8,
    now: u64,
    queue: Vec<Queued>,
) -> (Vec<Reply>, u64, u8) {
    let mut replies = Vec::with_capacity(queue.len());
    let mut seq = 0;
    let _hold = shard.blocking.hold();
    for q in queue {
        if is(q.spec, "select") {
            replies.push(match select(shard, &q.args[1]) {
                Ok(selected) => {
                    db = selected;
                    Reply::Ok
                }
                Err(e) => e.to_reply(),
            });
            continue;
        }
        let (reply, s) = shard.run_local(q.spec, None, db, now, &q.args, false, None);
        replies.push(reply);
        seq = seq.max(s);
    }
    (replies, seq, db)
}

/// SELECT's checks, for a run without the connection.
fn select(shard: &Shard, index: &[u8]) -> Result<u8, CmdError> {
    crate::cmd::args::parse_db_index(index, shard.node.config.databases as u32)
}

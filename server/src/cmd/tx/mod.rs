//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! A connection in MULTI does not run its commands: the dispatcher hands each one to [`intercept`], which
//! queues it and replies `+QUEUED`, or — for a command rejected before queueing (unknown, wrong arity,
//! not allowed in a transaction) — replies the error and marks the transaction failed, so EXEC answers
//! `-EXECABORT`. EXEC, MULTI, DISCARD, WATCH, QUIT and RESET are not queued, as in Redis.
//!
//! How EXEC runs the queue (`exec.rs`):
//!
//! * Every key of the transaction on one core: the whole queue runs there, each command's `local` back to
//!   back with no await in between. A core is one thread, so nothing interleaves: the transaction is
//!   atomic and isolated, as in Redis. The watched keys of that core are checked in the same step. The
//!   reply waits for the durability of the last write.
//! * Keys on several cores (a standalone node with more than one core; Redis Cluster would refuse with
//!   CROSSSLOT): the commands run in order, each routed as if sent alone. **Not isolated across cores**:
//!   another connection may observe or interleave with a transaction half done, and a crash may keep some
//!   of its writes and not others. Every command still runs, in order, and replies in the array.
//!
//! WATCH registers keys on their owning cores ([`crate::shard::watch`]); EXEC hands the tickets back there to
//! learn whether any was touched (a null reply) before anything runs.

mod discard;
mod exec;
mod multi;
mod unwatch;
mod watch;

use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use super::{flags::*, table, CmdError, CommandSpec, KeySpec};
use crate::net::client::ClientState;
use crate::shard::watch::WatchTicket;
use crate::shard::{Dispatch, Shard};

/// A command accepted by MULTI, to run at EXEC.
pub struct Queued {
    pub spec: &'static CommandSpec,
    pub args: Vec<Bytes>,
}

/// A watched key: its owning core and the ticket the core gave.
#[derive(Debug, Clone, Copy)]
pub struct Watched {
    pub core: usize,
    pub ticket: WatchTicket,
}

/// A connection's transaction state.
#[derive(Default)]
pub struct TxState {
    /// Between MULTI and EXEC/DISCARD.
    pub multi: bool,
    /// A command was rejected while queueing: EXEC discards the transaction.
    pub failed: bool,
    pub queue: Vec<Queued>,
    /// Watched keys by `(db, key)`.
    pub watched: ahash::AHashMap<(u8, Bytes), Watched>,
    /// EXEC is running this connection's queue: commands must not block (BLPOP answers at once).
    pub in_exec: bool,
}

impl TxState {
    /// Anything the dispatcher must look at before running a command.
    #[inline]
    fn is_active(&self) -> bool {
        self.multi || !self.watched.is_empty()
    }
}

/// What [`intercept`] did with a request.
pub enum Intercept {
    /// Not a transaction matter: dispatch as usual.
    Pass(Vec<Bytes>),
    /// Answered (queued, rejected, or run as EXEC / WATCH).
    Handled(Dispatch),
}

/// Commands Redis refuses inside MULTI (`no-multi` in its command table) that slotkv has.
const NO_MULTI: &[&str] = &["shutdown", "save", "sync", "psync"];

/// Whether MULTI refuses `spec` (COMMAND reports these with Redis's `no_multi` flag).
pub fn refused_in_multi(spec: &'static CommandSpec) -> bool {
    NO_MULTI.iter().any(|n| is(spec, n))
}

/// Whether `spec` is the top-level command `name` (not a subcommand of that name, like SLOWLOG RESET).
fn is(spec: &'static CommandSpec, name: &str) -> bool {
    spec.name == name && table::lookup(name.as_bytes()).is_some_and(|s| std::ptr::eq(s, spec))
}

/// Whether `spec` is one of this family's.
#[inline]
fn is_tx_command(spec: &'static CommandSpec) -> bool {
    COMMANDS
        .as_ptr_range()
        .contains(&(spec as *const CommandSpec))
}

/// Called by the dispatcher for every resolved, authorised request before routing.
#[inline]
pub fn intercept(
    shard: &Rc<Shard>,
    client: &mut ClientState,
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
    now: u64,
) -> Intercept {
    if !client.tx.is_active() && !is_tx_command(spec) {
        return Intercept::Pass(args);
    }
    intercept_slow(shard, client, spec, args, now)
}

fn intercept_slow(
    shard: &Rc<Shard>,
    client: &mut ClientState,
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
    now: u64,
) -> Intercept {
    if is_tx_command(spec) {
        return match spec.name {
            "exec" => Intercept::Handled(exec::dispatch(shard, client, now)),
            "watch" => Intercept::Handled(watch::dispatch(shard, client, args, now)),
            "unwatch" if client.tx.multi => Intercept::Handled(queue(client, spec, args)),
            // MULTI, DISCARD, UNWATCH: connection state only, run by their `local`.
            _ => Intercept::Pass(args),
        };
    }
    if is(spec, "reset") {
        // RESET discards the transaction and the watches, then resets the rest.
        forget(shard, client);
        return Intercept::Pass(args);
    }
    if !client.tx.multi || is(spec, "quit") {
        return Intercept::Pass(args);
    }
    if refused_in_multi(spec) {
        client.tx.failed = true;
        return Intercept::Handled(Dispatch::Done(Reply::StaticError(
            "ERR Command not allowed inside a transaction",
        )));
    }
    Intercept::Handled(queue(client, spec, args))
}

fn queue(client: &mut ClientState, spec: &'static CommandSpec, args: Vec<Bytes>) -> Dispatch {
    client.tx.queue.push(Queued { spec, args });
    Dispatch::Done(Reply::Simple("QUEUED"))
}

/// The reply to a request the dispatcher rejected before running it (unknown command, wrong arity,
/// NOAUTH): inside MULTI the transaction is marked failed, and a rejected EXEC discards it, as Redis's
/// `rejectCommand` does.
pub fn rejected(
    shard: &Rc<Shard>,
    client: &mut ClientState,
    args: &[Bytes],
    err: CmdError,
) -> Reply {
    if client.tx.multi {
        client.tx.failed = true;
    }
    if !args[0].eq_ignore_ascii_case(b"exec") {
        return err.to_reply();
    }
    forget(shard, client);
    let text = err.to_string();
    let text = text.strip_prefix("ERR ").unwrap_or(&text);
    Reply::error(format!(
        "EXECABORT Transaction discarded because of: {text}"
    ))
}

/// Ends the transaction, if any, and drops every watch (DISCARD, RESET, a failed EXEC, a disconnect).
pub fn forget(shard: &Rc<Shard>, client: &mut ClientState) {
    let tx = &mut client.tx;
    tx.multi = false;
    tx.failed = false;
    tx.queue = Vec::new();
    unwatch_all(shard, client);
}

/// Drops every watch of the connection: at once on this core, in the background on the others (nothing
/// waits for the answer, and registration and release commute).
pub fn unwatch_all(shard: &Rc<Shard>, client: &mut ClientState) {
    if client.tx.watched.is_empty() {
        return;
    }
    let watched = std::mem::take(&mut client.tx.watched);
    let mut remote = Vec::new();
    shard.release_watches(by_core(shard.core, watched, &mut remote), None);
    if remote.is_empty() {
        return;
    }
    let shard = shard.clone();
    glommio::spawn_local(async move {
        for (core, tickets) in remote {
            release_on(&shard, core, tickets, None).await;
        }
    })
    .detach();
}

/// Tickets of one core, ready to hand back.
type Tickets = Vec<(u8, Bytes, WatchTicket)>;

/// Splits watches into this core's tickets (returned) and the other cores' (appended to `remote`).
fn by_core(
    here: usize,
    watched: ahash::AHashMap<(u8, Bytes), Watched>,
    remote: &mut Vec<(usize, Tickets)>,
) -> Tickets {
    let mut local = Vec::new();
    for ((db, key), w) in watched {
        if w.core == here {
            local.push((db, key, w.ticket));
        } else {
            match remote.iter_mut().find(|(c, _)| *c == w.core) {
                Some((_, v)) => v.push((db, key, w.ticket)),
                None => remote.push((w.core, vec![(db, key, w.ticket)])),
            }
        }
    }
    local
}

/// Hands tickets back to `core` (this one included); with `now`, returns whether any was touched.
async fn release_on(shard: &Rc<Shard>, core: usize, tickets: Tickets, now: Option<u64>) -> bool {
    if core == shard.core {
        return shard.release_watches(tickets, now);
    }
    shard
        .mesh
        .call(core, move |s: &Rc<Shard>| {
            let touched = s.release_watches(tickets, now);
            Box::pin(async move { touched })
        })
        .await
}

/// The state of connection `id` of this core, for work that continues after dispatch returned (the
/// connection awaits it as a barrier, so it is still there and not borrowed).
fn client_of(shard: &Shard, id: u64) -> Option<Rc<std::cell::RefCell<ClientState>>> {
    shard.clients.borrow().clients.get(&id).cloned()
}

const TX: u32 = NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY;

super::family_spec!("transactions");

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "multi",
        1,
        TX,
        KeySpec::NONE,
        multi::local,
        None,
        "Mark the start of a transaction block",
        "1.2.0",
    ),
    spec(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        KeySpec::NONE,
        exec::local,
        None,
        "Execute all commands issued after MULTI",
        "1.2.0",
    ),
    spec(
        "discard",
        1,
        TX,
        KeySpec::NONE,
        discard::local,
        None,
        "Discard all commands issued after MULTI",
        "2.0.0",
    ),
    spec(
        "watch",
        -2,
        TX,
        KeySpec::ALL,
        watch::local,
        None,
        "Watch the given keys to determine execution of the MULTI/EXEC block",
        "2.2.0",
    ),
    spec(
        "unwatch",
        1,
        TX,
        KeySpec::NONE,
        unwatch::local,
        None,
        "Forget about all watched keys",
        "2.2.0",
    ),
];

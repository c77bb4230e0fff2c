//! Blocking commands — BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP and BZPOPMIN, BZPOPMAX, BZMPOP — wait for
//! data with Redis 7's semantics. This module is the machinery they share; a command supplies its pop.
//!
//! # Using it from a command
//!
//! * Flag the spec [`flags::BLOCKING`](super::flags::BLOCKING). `Shard::dispatch` sends such commands
//!   here ([`Shard::dispatch_blocking`]): a command that ends up waiting becomes a barrier on its
//!   connection, so its pipelined followers run (and reply) only after it.
//! * Write the command's pop on **one** key, a [`PopFn`]:
//!   `fn(ctx, key, args, wake) -> Result<Option<Reply>, CmdError>`. It runs on the core owning `key`.
//!   `Ok(Some(reply))`: it popped (its mutation went through `ctx.propose`) and `reply` is the command's
//!   whole reply. `Ok(None)`: nothing to pop — the key is missing, or (only when `wake` is true) holds
//!   another type. `Err(e)`: the command ends with `e` (WRONGTYPE on the first try, i.e. `wake` false).
//!   `args` are the command's own arguments (re-parse what you need: COUNT, LEFT/RIGHT...).
//! * `local` (all keys on this core): parse, with [`parse_timeout`] in Redis's order among the other
//!   checks, then `blocking::local(ctx, args, Block { keys, deadline, pop, timeout_reply, denied_reply })`.
//! * `spread` (keys on several cores): parse the same way (a parse error: `blocking::ready(e.to_reply())`),
//!   then `blocking::spread(s, Block { .. })`. A command whose attempt spans cores itself (BLMOVE between
//!   two cores) uses [`spread_with`] and its own attempt.
//! * Non-blocking twins reuse the same code: LMPOP is `local`/`spread` with a `Block` — outside a blocking
//!   dispatch nothing waits and the `denied_reply` comes back at once.
//!
//! # When a command may wait, and when it may not
//!
//! Only requests that come through `Shard::dispatch` can wait, and not while the connection's EXEC runs
//! its queue (`TxState::in_exec`). Anything else that runs a command — `run_local` (EXEC's queue on one
//! core), spread legs, scripts — runs it non-blocking: the pop is tried and, when nothing is there, the
//! command replies `denied_reply` (what Redis replies under `CLIENT_DENY_BLOCKING`). Other callers that go
//! through `dispatch` and must not block hold [`Blocking::deny`] (core-wide while it lives). Redis serves
//! blocked clients after a whole MULTI/EXEC or script, not between its commands: hold [`Blocking::hold`]
//! around a synchronous EXEC and the core's waiters are served when it drops.
//!
//! # How waiters are served (one core)
//!
//! A waiter is queued, in blocking order, on every key it waits for. After any entry commits on the core,
//! `Shard::propose` hands the written keys to [`Blocking::keys_written`] (the key-events hook). Keys with
//! waiters become *ready*, and right then — before any other request runs on the core — each ready key's
//! waiters are served first come, first served: the waiter's pop is proposed for it, repeated while
//! waiters and elements remain, exactly like Redis's `handleClientsBlockedOnKeys`. A pop that pushes (BLMOVE)
//! makes its destination ready in turn, so chains resolve in the same pass. A waiter whose client is gone
//! (the socket reads EOF: checked just before its pop, and periodically while it waits, see [`Ticker`]) is
//! dropped instead of served, so no element is handed to a dead client. Timeouts are the waiter's own
//! timer. A waiter for keys on another core whose client lives here is forwarded there whole: it is queued
//! and served on the keys' core, exactly as that core's own clients.
//!
//! # Keys on several cores
//!
//! A BLPOP whose keys span cores cannot pop atomically across them. Its client's core tries the keys in
//! order (one non-blocking pop per key on its core, stopping at the first that pops); if none pops it
//! registers a *notify* entry, in the same FIFO queues, on each key's core, and waits. A notify entry never
//! pops: the key's core only tells the client's core, which tries the keys again in order and waits again if
//! it lost the race — so one waiter can never pop twice. **Wake order across cores is best effort**: a
//! notified waiter competes with waiters served directly on the key's core, and its place in the queue is
//! kept for the next element.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use resp::Reply;

use super::{args, CmdError, CommandSpec, Ctx, ReplyFuture, Spread};
use crate::net::client::ClientState;
use crate::shard::keyevents::WrittenKeys;
use crate::shard::{now_ms, Dispatch, Shard};
use crate::slot::SlotId;

/// How often a waiting client's socket is checked for a hang-up: soon after it blocks, then less and less
/// often. The check only reclaims the waiter early (and lets shutdown proceed); an element is never handed
/// to a client that hung up, because the socket is checked again right before serving it.
const FIRST_CHECK: Duration = Duration::from_millis(50);
const LAST_CHECK: Duration = Duration::from_secs(1);

/// The reply of a waiter released by `CLIENT UNBLOCK id ERROR`.
pub const UNBLOCKED_ERROR: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

/// When a wait ends: Unix ms, or `None` to wait forever (timeout 0).
pub type Deadline = Option<u64>;

/// A blocking command's pop on one key (see the module docs).
pub type PopFn = fn(&mut Ctx<'_>, &Bytes, &[Bytes], bool) -> Result<Option<Reply>, CmdError>;

/// What a blocking command waits for.
pub struct Block {
    /// Keys to try and wait on, in the command's order (repeats are tried again but waited on once).
    pub keys: Vec<Bytes>,
    pub deadline: Deadline,
    pub pop: PopFn,
    /// The reply when the timeout passes (Redis: a null array for every list and sorted-set command).
    pub timeout_reply: Reply,
    /// The reply when the command may not wait and nothing popped (BLMOVE: a null bulk; others as timeout).
    pub denied_reply: Reply,
}

/// Parses a timeout in seconds as Redis 7.0 does (`getTimeoutFromObjectOrReply`, seconds as a long
/// double, rounded up to whole milliseconds). `now_ms` makes it a deadline.
pub fn parse_timeout(arg: &[u8], now_ms: u64) -> Result<Deadline, CmdError> {
    // strtold's limits: nothing longer than its buffer, no leading space (the rest is parse_f64's rules).
    let value = (arg.len() < 5 * 1024 && !arg.first().is_some_and(u8::is_ascii_whitespace))
        .then(|| args::parse_f64_opt(arg))
        .flatten()
        .ok_or_else(|| CmdError::msg("ERR timeout is not a float or out of range"))?;
    let ms = (value * 1000.0).ceil();
    // A value past the range of `long long` converts to LLONG_MIN on the platforms Redis runs on.
    if !(0.0..9.223_372_036_854_775e18).contains(&ms) {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    let ms = ms as u64;
    Ok((ms > 0).then(|| now_ms.saturating_add(ms)))
}

/// A future that is already done (a spread command's parse error).
pub fn ready(reply: Reply) -> ReplyFuture {
    Box::pin(async move { reply })
}

/// The connection a waiter answers: its id and its socket, for noticing that it hung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRef {
    pub id: u64,
    pub fd: RawFd,
}

impl ClientRef {
    fn of(c: &ClientState) -> ClientRef {
        ClientRef { id: c.id, fd: c.fd }
    }

    /// Whether the peer is still there: a peek at the socket that reads EOF (or an error) means it hung up.
    /// The descriptor stays open while the client waits: its connection task owns it and is itself waiting
    /// for this waiter's reply.
    pub fn alive(&self) -> bool {
        let mut byte = 0u8;
        // SAFETY: recv(2) into one byte of our own stack; MSG_PEEK leaves the data for the connection, and
        // MSG_DONTWAIT never blocks the core.
        let n = unsafe {
            libc::recv(
                self.fd,
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        match n {
            0 => false,
            n if n > 0 => true,
            _ => matches!(
                std::io::Error::last_os_error().raw_os_error(),
                Some(libc::EAGAIN | libc::EINTR)
            ),
        }
    }
}

/// How a wait ended, other than by timing out.
enum Outcome {
    Served(Reply, u64),
    Gone,
    Unblocked { error: bool },
}

/// A client waiting on keys of this core, served here.
struct Waiter {
    id: u64,
    client: ClientRef,
    db: u8,
    keys: Vec<Bytes>,
    args: Vec<Bytes>,
    pop: PopFn,
    outcome: RefCell<Option<Outcome>>,
    waker: RefCell<Option<Waker>>,
}

/// A spread wait (keys on several cores) whose client lives on this core: woken, never served.
struct WatchState {
    client: ClientRef,
    notified: Cell<bool>,
    unblocked: Cell<Option<bool>>,
    waker: RefCell<Option<Waker>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// A waiter of this core, served by proposing its pop.
    Serve(u64),
    /// A spread wait on `core`: told, not served.
    Notify { core: usize, watch: u64 },
}

/// One core's blocked clients (a [`Shard`] field).
#[derive(Default)]
pub struct Blocking {
    shard: RefCell<Weak<Shard>>,
    queues: RefCell<ahash::AHashMap<(u8, Bytes), VecDeque<Entry>>>,
    waiters: RefCell<ahash::AHashMap<u64, Rc<Waiter>>>,
    watches: RefCell<ahash::AHashMap<u64, Rc<WatchState>>>,
    ready: RefCell<VecDeque<(u8, Bytes)>>,
    serving: Cell<bool>,
    holds: Cell<u32>,
    denies: Cell<u32>,
    /// Set by `dispatch_blocking` while it runs a blocking command that may wait.
    context: Cell<Option<ClientRef>>,
    /// The wait a command's `local` parked, for `dispatch_blocking` to return.
    parked: RefCell<Option<ReplyFuture>>,
    next_id: Cell<u64>,
}

/// Serving is deferred while this lives (see [`Blocking::hold`]).
pub struct Hold<'a>(&'a Blocking);

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.0.holds.set(self.0.holds.get() - 1);
        self.0.serve_ready();
    }
}

/// Blocking commands run non-blocking while this lives (see [`Blocking::deny`]).
pub struct Deny<'a>(&'a Blocking);

impl Drop for Deny<'_> {
    fn drop(&mut self) {
        self.0.denies.set(self.0.denies.get() - 1);
    }
}

impl Blocking {
    /// Whether anything waits on keys of this core (the key-events hook runs only then).
    #[inline]
    pub fn has_waiters(&self) -> bool {
        !self.queues.borrow().is_empty()
    }

    /// Clients blocked on this core: waiters served here plus spread waits of this core's clients.
    pub fn blocked_clients(&self) -> usize {
        self.waiters.borrow().len() + self.watches.borrow().len()
    }

    /// Defers serving waiters until the guard drops (MULTI/EXEC: Redis serves them after EXEC).
    pub fn hold(&self) -> Hold<'_> {
        self.holds.set(self.holds.get() + 1);
        Hold(self)
    }

    /// Makes blocking commands dispatched while the guard lives run non-blocking.
    pub fn deny(&self) -> Deny<'_> {
        self.denies.set(self.denies.get() + 1);
        Deny(self)
    }

    /// CLIENT UNBLOCK: releases client `id` if it waits on this core, with the timeout reply or (`error`)
    /// the UNBLOCKED error. Returns whether it was blocked here.
    pub fn unblock(&self, id: u64, error: bool) -> bool {
        let waiter = self
            .waiters
            .borrow()
            .values()
            .find(|w| w.client.id == id)
            .map(|w| w.id);
        if let Some(w) = waiter {
            self.finish(w, Outcome::Unblocked { error });
            return true;
        }
        let watches = self.watches.borrow();
        match watches.values().find(|w| w.client.id == id) {
            Some(w) => {
                w.unblocked.set(Some(error));
                if let Some(waker) = w.waker.borrow_mut().take() {
                    waker.wake();
                }
                true
            }
            None => false,
        }
    }

    /// The key-events hook: marks written keys that have waiters as ready and serves them now (unless
    /// serving is already under way further up the stack, or held).
    pub fn keys_written(&self, events: &WrittenKeys) {
        {
            let queues = self.queues.borrow();
            let mut ready = self.ready.borrow_mut();
            for key in &events.keys {
                let k = (events.db, key.clone());
                if queues.contains_key(&k) && !ready.contains(&k) {
                    ready.push_back(k);
                }
            }
        }
        self.serve_ready();
    }

    fn fresh_id(&self) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        id
    }

    fn serve_ready(&self) {
        if self.serving.get() || self.holds.get() > 0 || self.ready.borrow().is_empty() {
            return;
        }
        let Some(shard) = self.shard.borrow().upgrade() else {
            self.ready.borrow_mut().clear();
            return;
        };
        self.serving.set(true);
        loop {
            let next = self.ready.borrow_mut().pop_front();
            let Some((db, key)) = next else { break };
            self.serve_key(&shard, db, &key);
        }
        self.serving.set(false);
    }

    /// Serves `key`'s queue in order while it holds data.
    fn serve_key(&self, shard: &Rc<Shard>, db: u8, key: &Bytes) {
        let entries: Vec<Entry> = match self.queues.borrow().get(&(db, key.clone())) {
            Some(q) => q.iter().copied().collect(),
            None => return,
        };
        let slot = SlotId::of_key(key);
        for entry in entries {
            let now = now_ms();
            if !matches!(shard.store.get_live(slot, db, key, now), Ok(Some(_))) {
                return;
            }
            match entry {
                Entry::Notify { core, watch } => notify(shard, core, watch),
                Entry::Serve(id) => {
                    let Some(w) = self.waiters.borrow().get(&id).cloned() else {
                        continue;
                    };
                    if !w.client.alive() {
                        self.finish(id, Outcome::Gone);
                        continue;
                    }
                    let mut ctx = Ctx {
                        shard,
                        db,
                        now_ms: now,
                        client: None,
                        wait_seq: 0,
                        leg: false,
                    };
                    let reply = match (w.pop)(&mut ctx, key, &w.args, true) {
                        Ok(Some(reply)) => reply,
                        Ok(None) => continue,
                        Err(e) => e.to_reply(),
                    };
                    self.finish(id, Outcome::Served(reply, ctx.wait_seq));
                }
            }
        }
    }

    /// Queues a new waiter on each of its keys.
    fn register(&self, shard: &Rc<Shard>, mut w: Waiter) -> Rc<Waiter> {
        *self.shard.borrow_mut() = Rc::downgrade(shard);
        w.id = self.fresh_id();
        let mut unique: Vec<Bytes> = Vec::with_capacity(w.keys.len());
        for k in &w.keys {
            if !unique.contains(k) {
                unique.push(k.clone());
            }
        }
        w.keys = unique;
        let w = Rc::new(w);
        let mut queues = self.queues.borrow_mut();
        for k in &w.keys {
            queues
                .entry((w.db, k.clone()))
                .or_default()
                .push_back(Entry::Serve(w.id));
        }
        self.waiters.borrow_mut().insert(w.id, w.clone());
        w
    }

    /// Ends waiter `id` (if still waiting): off every queue, outcome delivered.
    fn finish(&self, id: u64, outcome: Outcome) {
        let Some(w) = self.waiters.borrow_mut().remove(&id) else {
            return;
        };
        self.unqueue(w.db, &w.keys, Entry::Serve(id));
        *w.outcome.borrow_mut() = Some(outcome);
        let waker = w.waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn unqueue(&self, db: u8, keys: &[Bytes], entry: Entry) {
        let mut queues = self.queues.borrow_mut();
        for k in keys {
            let qk = (db, k.clone());
            if let Some(q) = queues.get_mut(&qk) {
                q.retain(|e| *e != entry);
                if q.is_empty() {
                    queues.remove(&qk);
                }
            }
        }
    }

    /// A spread wait on `core` wants to hear about writes to `keys` (run on the keys' core).
    fn add_notify(&self, shard: &Rc<Shard>, db: u8, keys: &[Bytes], core: usize, watch: u64) {
        *self.shard.borrow_mut() = Rc::downgrade(shard);
        let mut queues = self.queues.borrow_mut();
        for k in keys {
            queues
                .entry((db, k.clone()))
                .or_default()
                .push_back(Entry::Notify { core, watch });
        }
    }

    fn notify_watch(&self, watch: u64) {
        if let Some(w) = self.watches.borrow().get(&watch) {
            w.notified.set(true);
            if let Some(waker) = w.waker.borrow_mut().take() {
                waker.wake();
            }
        }
    }
}

/// Tells spread wait `watch` on `core` that one of its keys was written.
fn notify(shard: &Rc<Shard>, core: usize, watch: u64) {
    if core == shard.core {
        shard.blocking.notify_watch(watch);
        return;
    }
    let shard = shard.clone();
    glommio::spawn_local(async move {
        shard
            .mesh
            .call(core, move |s: &Rc<Shard>| {
                s.blocking.notify_watch(watch);
                Box::pin(async {}) as Pin<Box<dyn Future<Output = ()>>>
            })
            .await
    })
    .detach();
}

/// Tries `block.pop` on each key in order; when nothing pops, parks a wait for `Shard::dispatch_blocking`
/// to return (if this request may wait) or replies `denied_reply`.
pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes], block: Block) -> Result<Reply, CmdError> {
    for key in &block.keys {
        if let Some(reply) = (block.pop)(ctx, key, args, false)? {
            return Ok(reply);
        }
    }
    let client = match ctx.shard.blocking.context.take() {
        Some(c) if !ctx.leg => c,
        _ => return Ok(block.denied_reply),
    };
    let waiter = ctx.shard.blocking.register(
        ctx.shard,
        Waiter {
            id: 0,
            client,
            db: ctx.db,
            keys: block.keys,
            args: args.to_vec(),
            pop: block.pop,
            outcome: RefCell::new(None),
            waker: RefCell::new(None),
        },
    );
    let guard = Unregister {
        shard: ctx.shard.clone(),
        waiter,
    };
    let wait = wait_served(guard, block.deadline, block.timeout_reply);
    *ctx.shard.blocking.parked.borrow_mut() = Some(Box::pin(wait));
    // Not sent: dispatch replies with the parked wait instead.
    Ok(Reply::NullArray)
}

/// Takes a waiter off the queues when its wait ends or is dropped (even unpolled: it is captured).
struct Unregister {
    shard: Rc<Shard>,
    waiter: Rc<Waiter>,
}

impl Drop for Unregister {
    fn drop(&mut self) {
        self.shard.blocking.finish(self.waiter.id, Outcome::Gone);
    }
}

/// Resolves when a waiter has an outcome.
struct OutcomeReady<'a>(&'a Waiter);

impl Future for OutcomeReady<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.outcome.borrow().is_some() {
            return Poll::Ready(());
        }
        *self.0.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// When a waiter looks at its deadline and its client's socket next.
struct Ticker(Duration);

impl Ticker {
    fn new() -> Ticker {
        Ticker(FIRST_CHECK)
    }

    /// How long to sleep: until the deadline, at most the current check period (which then doubles, up to
    /// [`LAST_CHECK`]). `None` when the deadline has passed.
    fn next(&mut self, deadline: Deadline) -> Option<Duration> {
        let every = self.0;
        self.0 = (every * 2).min(LAST_CHECK);
        let now = now_ms();
        match deadline {
            Some(d) if d <= now => None,
            Some(d) => Some(Duration::from_millis(d - now).min(every)),
            None => Some(every),
        }
    }
}

async fn wait_served(guard: Unregister, deadline: Deadline, timeout_reply: Reply) -> Reply {
    let w = guard.waiter.clone();
    let mut ticker = Ticker::new();
    loop {
        let outcome = w.outcome.borrow_mut().take();
        match outcome {
            Some(Outcome::Served(reply, seq)) => {
                if seq != 0 {
                    guard.shard.durability.wait(seq).await;
                }
                return reply;
            }
            Some(Outcome::Unblocked { error: true }) => return Reply::StaticError(UNBLOCKED_ERROR),
            Some(_) => return timeout_reply,
            None => {}
        }
        let Some(tick) = ticker.next(deadline) else {
            return timeout_reply;
        };
        futures_lite::future::or(OutcomeReady(&w), glommio::timer::sleep(tick)).await;
        if w.outcome.borrow().is_none() && !w.client.alive() {
            return timeout_reply;
        }
    }
}

/// A spread wait's registration: a notify entry on each of its keys' cores, removed on drop.
struct Watch {
    shard: Rc<Shard>,
    id: u64,
    state: Rc<WatchState>,
    db: u8,
    by_core: Vec<(usize, Vec<Bytes>)>,
}

enum Woken {
    Notified,
    Ended(Reply),
}

impl Watch {
    async fn register(shard: &Rc<Shard>, db: u8, keys: &[Bytes], client: ClientRef) -> Watch {
        let id = shard.blocking.fresh_id();
        let state = Rc::new(WatchState {
            client,
            notified: Cell::new(false),
            unblocked: Cell::new(None),
            waker: RefCell::new(None),
        });
        shard
            .blocking
            .watches
            .borrow_mut()
            .insert(id, state.clone());
        let mut by_core: Vec<(usize, Vec<Bytes>)> = Vec::new();
        for k in keys {
            let core = shard.node.layout.core_of(SlotId::of_key(k));
            match by_core.iter_mut().find(|(c, _)| *c == core) {
                Some((_, v)) if v.contains(k) => {}
                Some((_, v)) => v.push(k.clone()),
                None => by_core.push((core, vec![k.clone()])),
            }
        }
        let me = shard.core;
        for (core, keys) in &by_core {
            if *core == me {
                shard.blocking.add_notify(shard, db, keys, me, id);
            } else {
                let keys = keys.clone();
                shard
                    .mesh
                    .call(*core, move |s: &Rc<Shard>| {
                        s.blocking.add_notify(s, db, &keys, me, id);
                        Box::pin(async {}) as Pin<Box<dyn Future<Output = ()>>>
                    })
                    .await;
            }
        }
        Watch {
            shard: shard.clone(),
            id,
            state,
            db,
            by_core,
        }
    }

    /// Waits for a notification, the deadline, the client leaving, or CLIENT UNBLOCK.
    async fn wait(&self, deadline: Deadline, timeout_reply: &Reply) -> Woken {
        let mut ticker = Ticker::new();
        loop {
            if self.state.notified.get() {
                return Woken::Notified;
            }
            match self.state.unblocked.get() {
                Some(true) => return Woken::Ended(Reply::StaticError(UNBLOCKED_ERROR)),
                Some(false) => return Woken::Ended(timeout_reply.clone()),
                None => {}
            }
            let Some(tick) = ticker.next(deadline) else {
                return Woken::Ended(timeout_reply.clone());
            };
            futures_lite::future::or(WatchReady(&self.state), glommio::timer::sleep(tick)).await;
            if !self.state.notified.get() && !self.state.client.alive() {
                return Woken::Ended(timeout_reply.clone());
            }
        }
    }
}

struct WatchReady<'a>(&'a WatchState);

impl Future for WatchReady<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.notified.get() || self.0.unblocked.get().is_some() {
            return Poll::Ready(());
        }
        *self.0.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.shard.blocking.watches.borrow_mut().remove(&self.id);
        let (me, id, db) = (self.shard.core, self.id, self.db);
        for (core, keys) in std::mem::take(&mut self.by_core) {
            let entry = Entry::Notify {
                core: me,
                watch: id,
            };
            if core == me {
                self.shard.blocking.unqueue(db, &keys, entry);
                continue;
            }
            let shard = self.shard.clone();
            glommio::spawn_local(async move {
                shard
                    .mesh
                    .call(core, move |s: &Rc<Shard>| {
                        s.blocking.unqueue(db, &keys, entry);
                        Box::pin(async {}) as Pin<Box<dyn Future<Output = ()>>>
                    })
                    .await
            })
            .detach();
        }
    }
}

/// Runs `f` on `core` (this one included) with that core's shard.
pub async fn on_core<T, F>(shard: &Rc<Shard>, core: usize, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce(&Rc<Shard>) -> Pin<Box<dyn Future<Output = T>>> + Send + 'static,
{
    if core == shard.core {
        return f(shard).await;
    }
    shard.mesh.call(core, f).await
}

/// Runs `pop` on `key` on the core owning it, waiting until its write is acknowledged; errors become
/// replies.
pub async fn pop_on_core(
    shard: &Rc<Shard>,
    db: u8,
    key: Bytes,
    args: Rc<Vec<Bytes>>,
    pop: PopFn,
    wake: bool,
) -> Option<Reply> {
    let core = shard.node.layout.core_of(SlotId::of_key(&key));
    let args: Vec<Bytes> = args.as_ref().clone();
    on_core(shard, core, move |s: &Rc<Shard>| {
        let mut ctx = Ctx {
            shard: s,
            db,
            now_ms: now_ms(),
            client: None,
            wait_seq: 0,
            leg: true,
        };
        let out = match pop(&mut ctx, &key, &args, wake) {
            Ok(r) => r,
            Err(e) => Some(e.to_reply()),
        };
        let seq = ctx.wait_seq;
        let s = s.clone();
        Box::pin(async move {
            if seq != 0 {
                s.durability.wait(seq).await;
            }
            out
        }) as Pin<Box<dyn Future<Output = Option<Reply>>>>
    })
    .await
}

/// The spread form of [`local`]: keys on several cores, tried in order one core at a time.
pub fn spread(s: Spread, block: Block) -> ReplyFuture {
    let Block {
        keys,
        deadline,
        pop,
        timeout_reply,
        denied_reply,
    } = block;
    let (shard, db) = (s.shard.clone(), s.db);
    let args = Rc::new(s.args);
    let tried = keys.clone();
    let attempt = move |wake: bool| {
        let (shard, keys, args) = (shard.clone(), tried.clone(), args.clone());
        async move {
            for key in keys {
                if let Some(reply) = pop_on_core(&shard, db, key, args.clone(), pop, wake).await {
                    return Some(reply);
                }
            }
            None
        }
    };
    spread_with(
        s.shard,
        db,
        keys,
        deadline,
        timeout_reply,
        denied_reply,
        attempt,
    )
}

/// A spread wait with the command's own `attempt` (`wake` as for [`PopFn`]): tried once; if it gives
/// nothing and the request may wait, notify entries go on `keys`' cores and it is tried again after each
/// notification until it gives a reply, the deadline passes or the client leaves.
pub fn spread_with<F, Fut>(
    shard: Rc<Shard>,
    db: u8,
    keys: Vec<Bytes>,
    deadline: Deadline,
    timeout_reply: Reply,
    denied_reply: Reply,
    attempt: F,
) -> ReplyFuture
where
    F: Fn(bool) -> Fut + 'static,
    Fut: Future<Output = Option<Reply>> + 'static,
{
    let client = shard.blocking.context.take();
    Box::pin(async move {
        if let Some(reply) = attempt(false).await {
            return reply;
        }
        let Some(client) = client else {
            return denied_reply;
        };
        let watch = Watch::register(&shard, db, &keys, client).await;
        loop {
            watch.state.notified.set(false);
            if !client.alive() {
                return timeout_reply;
            }
            if let Some(reply) = attempt(true).await {
                return reply;
            }
            match watch.wait(deadline, &timeout_reply).await {
                Woken::Notified => continue,
                Woken::Ended(reply) => return reply,
            }
        }
    })
}

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
                let (reply, seq) = self.run_local(spec, Some(client), db, now, &args, false);
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
        let spec = match super::table::resolve(&args) {
            Ok(spec) => spec,
            Err(e) => return e.to_reply(),
        };
        self.blocking.context.set(me);
        let (reply, seq) = self.run_local(spec, None, db, now, &args, false);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_like_redis() {
        let now = 1_000_000;
        assert_eq!(parse_timeout(b"0", now).unwrap(), None);
        assert_eq!(parse_timeout(b"1.5", now).unwrap(), Some(now + 1500));
        assert_eq!(parse_timeout(b"0.0001", now).unwrap(), Some(now + 1));
        // ceil(-0.1 ms) is 0: forever, not negative.
        assert_eq!(parse_timeout(b"-0.0001", now).unwrap(), None);
        let text = |a: &[u8]| parse_timeout(a, now).unwrap_err().to_string();
        assert_eq!(text(b"-1"), "ERR timeout is negative");
        assert_eq!(text(b"inf"), "ERR timeout is negative");
        assert_eq!(text(b"1e20"), "ERR timeout is negative");
        for bad in [&b"x"[..], b"nan", b" 1", b"1 ", b""] {
            assert_eq!(text(bad), "ERR timeout is not a float or out of range");
        }
        assert_eq!(
            parse_timeout(b"9e15", now).unwrap(),
            Some(now + 9_000_000_000_000_000)
        );
    }
}

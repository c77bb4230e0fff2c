//! The per-core registry of blocked clients: the FIFO queue of every key that has waiters, the waiters
//! served on this core, and the spread waits of this core's clients; and the serving pass run from the
//! key-events hook.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::Waker;

use bytes::Bytes;
use resp::Reply;

use super::PopFn;
use crate::cmd::{Ctx, ReplyFuture};
use crate::net::client::ClientState;
use crate::shard::keyevents::WrittenKeys;
use crate::shard::{now_ms, Shard};
use crate::slot::SlotId;

/// The connection a waiter answers: its id and its socket, for noticing that it hung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRef {
    pub id: u64,
    pub fd: RawFd,
}

impl ClientRef {
    pub(super) fn of(c: &ClientState) -> ClientRef {
        ClientRef { id: c.id, fd: c.fd }
    }

    /// Whether the peer is still there. It hung up once it shut down its side (`POLLRDHUP`), also when
    /// requests it sent before are still unread — Redis frees such a client when its read finds the end
    /// of the stream, and an element popped for it would be lost. The descriptor stays open while the
    /// client waits: its connection task owns it and is itself waiting for this waiter's reply.
    pub fn alive(&self) -> bool {
        let mut p = libc::pollfd {
            fd: self.fd,
            events: libc::POLLRDHUP,
            revents: 0,
        };
        // SAFETY: one pollfd of our own stack; a zero timeout never blocks the core.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        if n < 0 {
            return matches!(
                std::io::Error::last_os_error().raw_os_error(),
                Some(libc::EAGAIN | libc::EINTR)
            );
        }
        p.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) == 0
    }
}

/// How a wait ended, other than by timing out.
pub(super) enum Outcome {
    Served(Reply, u64),
    Gone,
    Unblocked { error: bool },
}

/// A client waiting on keys of this core, served here.
pub(super) struct Waiter {
    pub(super) id: u64,
    pub(super) client: ClientRef,
    pub(super) db: u8,
    pub(super) keys: Vec<Bytes>,
    pub(super) args: Vec<Bytes>,
    pub(super) pop: PopFn,
    pub(super) outcome: RefCell<Option<Outcome>>,
    pub(super) waker: RefCell<Option<Waker>>,
}

/// A spread wait (keys on several cores) whose client lives on this core: woken, never served.
pub(super) struct WatchState {
    pub(super) client: ClientRef,
    pub(super) notified: Cell<bool>,
    pub(super) unblocked: Cell<Option<bool>>,
    pub(super) waker: RefCell<Option<Waker>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entry {
    /// A waiter of this core, served by proposing its pop.
    Serve(u64),
    /// A spread wait on `core`: told, not served.
    Notify { core: usize, watch: u64 },
}

/// One core's blocked clients (a [`Shard`] field).
#[derive(Default)]
pub struct Blocking {
    pub(super) shard: RefCell<Weak<Shard>>,
    pub(super) queues: RefCell<ahash::AHashMap<(u8, Bytes), VecDeque<Entry>>>,
    pub(super) waiters: RefCell<ahash::AHashMap<u64, Rc<Waiter>>>,
    pub(super) watches: RefCell<ahash::AHashMap<u64, Rc<WatchState>>>,
    pub(super) ready: RefCell<VecDeque<(u8, Bytes)>>,
    pub(super) serving: Cell<bool>,
    pub(super) holds: Cell<u32>,
    pub(super) denies: Cell<u32>,
    /// Set by `dispatch_blocking` while it runs a blocking command that may wait.
    pub(super) context: Cell<Option<ClientRef>>,
    /// The wait a command's `local` parked, for `dispatch_blocking` to return.
    pub(super) parked: RefCell<Option<ReplyFuture>>,
    /// Set by [`Blocking::track_wait`] while a spread blocking command is built: the spread wait takes it
    /// and marks it once it waits, so SLOWLOG can leave the wait out.
    pub(super) waited: RefCell<Option<Rc<Cell<bool>>>>,
    pub(super) next_id: Cell<u64>,
}

/// Serving is deferred while this lives (see [`Blocking::hold`]).
pub struct Hold<'a>(&'a Blocking);

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.0.release();
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
    /// A flag the next spread wait built on this core sets if it has to wait (see `spread_with`). Call
    /// [`Blocking::end_track_wait`] once the spread future is built, whether or not it took the flag.
    pub fn track_wait(&self) -> Rc<Cell<bool>> {
        let flag = Rc::new(Cell::new(false));
        *self.waited.borrow_mut() = Some(flag.clone());
        flag
    }

    /// Drops a flag no spread wait took (the command failed before it could wait).
    pub fn end_track_wait(&self) {
        self.waited.borrow_mut().take();
    }

    /// Whether anything waits on keys of this core (the key-events hook runs only then).
    #[inline]
    pub fn has_waiters(&self) -> bool {
        !self.queues.borrow().is_empty()
    }

    /// Clients blocked on this core: waiters served here plus spread waits of this core's clients.
    pub fn blocked_clients(&self) -> usize {
        self.waiters.borrow().len() + self.watches.borrow().len()
    }

    /// Keys of this core that clients wait on (INFO `total_blocking_keys`, summed over cores).
    pub fn blocking_keys(&self) -> usize {
        self.queues.borrow().len()
    }

    /// Defers serving waiters until the guard drops (MULTI/EXEC: Redis serves them after EXEC).
    pub fn hold(&self) -> Hold<'_> {
        self.holds.set(self.holds.get() + 1);
        Hold(self)
    }

    /// [`Blocking::hold`] for a hold that spans awaits and cores (an EXEC whose commands run on several
    /// cores holds every core): each call must be matched by one [`Blocking::release`].
    pub fn hold_detached(&self) {
        self.holds.set(self.holds.get() + 1);
    }

    /// Ends one hold; the last one serves the keys that became ready meanwhile.
    pub fn release(&self) {
        self.holds.set(self.holds.get() - 1);
        self.serve_ready();
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

    pub(super) fn fresh_id(&self) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        id
    }

    pub(super) fn serve_ready(&self) {
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
                        routed: None,
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
    pub(super) fn register(&self, shard: &Rc<Shard>, mut w: Waiter) -> Rc<Waiter> {
        *self.shard.borrow_mut() = Rc::downgrade(shard);
        w.id = self.fresh_id();
        // Own copies: the arguments are slices of a connection's read buffer, which a long wait would pin.
        let mut unique: Vec<Bytes> = Vec::with_capacity(w.keys.len());
        for k in &w.keys {
            if !unique.contains(k) {
                unique.push(Bytes::copy_from_slice(k));
            }
        }
        w.keys = unique;
        w.args = w.args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
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
    pub(super) fn finish(&self, id: u64, outcome: Outcome) {
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

    pub(super) fn unqueue(&self, db: u8, keys: &[Bytes], entry: Entry) {
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
    pub(super) fn add_notify(
        &self,
        shard: &Rc<Shard>,
        db: u8,
        keys: &[Bytes],
        core: usize,
        watch: u64,
    ) {
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

//! The waits themselves: a waiter served on its keys' core, and a spread wait's notify registrations,
//! each with its deadline and periodic checks of the client's socket.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use resp::Reply;

use super::registry::{Entry, Outcome, Waiter, WatchState};
use super::{ClientRef, Deadline, UNBLOCKED_ERROR};
use crate::shard::{now_ms, Shard};
use crate::slot::SlotId;

/// How often a waiting client's socket is checked for a hang-up: soon after it blocks, then less and less
/// often. The check only reclaims the waiter early (and lets shutdown proceed); an element is never handed
/// to a client that hung up, because the socket is checked again right before serving it.
const FIRST_CHECK: Duration = Duration::from_millis(50);
const LAST_CHECK: Duration = Duration::from_secs(1);

pub(super) struct Unregister {
    pub(super) shard: Rc<Shard>,
    pub(super) waiter: Rc<Waiter>,
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

pub(super) async fn wait_served(
    guard: Unregister,
    deadline: Deadline,
    timeout_reply: Reply,
) -> Reply {
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
pub(super) struct Watch {
    pub(super) shard: Rc<Shard>,
    pub(super) id: u64,
    pub(super) state: Rc<WatchState>,
    pub(super) db: u8,
    pub(super) by_core: Vec<(usize, Vec<Bytes>)>,
}

pub(super) enum Woken {
    Notified,
    Ended(Reply),
}

impl Watch {
    pub(super) async fn register(
        shard: &Rc<Shard>,
        db: u8,
        keys: &[Bytes],
        client: ClientRef,
    ) -> Watch {
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
                Some((_, v)) => v.push(Bytes::copy_from_slice(k)),
                None => by_core.push((core, vec![Bytes::copy_from_slice(k)])),
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
    pub(super) async fn wait(&self, deadline: Deadline, timeout_reply: &Reply) -> Woken {
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

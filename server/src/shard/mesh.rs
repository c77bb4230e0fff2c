//! Cross-core calls over glommio's channel mesh.
//!
//! A core never touches another core's state. To get something done on core B, core A sends B a job — a
//! `Send` closure — over the mesh (one bounded single-producer/single-consumer channel per ordered pair of
//! cores, woken by eventfd). B runs the job on its own executor, awaits whatever it returns (a durable write,
//! say), and sends the boxed result back on the B→A channel. A's receiver task completes the waiting call.
//!
//! Jobs from A to B run in the order A sent them, so a connection that pipelines two commands for B sees
//! them executed in order, just as on one core. Results come back in completion order and are matched to
//! calls by id; the connection keeps its own reply order.

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use glommio::channels::channel_mesh::{Receivers, Senders};

use super::Shard;

/// What a job produces, type-erased for the trip home.
pub type CallResult = Box<dyn Any + Send>;
/// A job's continuation on the target core.
pub type JobFuture = Pin<Box<dyn Future<Output = CallResult>>>;
/// A job: runs on the target core with that core's shard.
pub type Job = Box<dyn FnOnce(&Rc<Shard>) -> JobFuture + Send>;

/// A message on the mesh.
pub enum MeshMsg {
    Call { id: u64, from: usize, job: Job },
    Done { id: u64, result: CallResult },
}

#[derive(Default)]
struct PendingCall {
    result: Option<CallResult>,
    waker: Option<Waker>,
}

/// This core's end of the mesh.
pub struct Mesh {
    senders: Senders<MeshMsg>,
    pending: RefCell<ahash::AHashMap<u64, PendingCall>>,
    next_id: std::cell::Cell<u64>,
}

impl Mesh {
    pub fn new(senders: Senders<MeshMsg>) -> Mesh {
        Mesh {
            senders,
            pending: RefCell::new(ahash::AHashMap::new()),
            next_id: std::cell::Cell::new(1),
        }
    }

    /// This core's index.
    pub fn core(&self) -> usize {
        self.senders.peer_id()
    }

    /// Runs `job` on `core` and returns its result. `core` must not be this core.
    pub async fn call<T, F>(&self, core: usize, job: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&Rc<Shard>) -> Pin<Box<dyn Future<Output = T>>> + Send + 'static,
    {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.pending.borrow_mut().insert(id, PendingCall::default());
        let job: Job = Box::new(move |shard: &Rc<Shard>| {
            let fut = job(shard);
            Box::pin(async move { Box::new(fut.await) as CallResult }) as JobFuture
        });
        let msg = MeshMsg::Call {
            id,
            from: self.core(),
            job,
        };
        if self.senders.send_to(core, msg).await.is_err() {
            // The peer closed its end: the node is shutting down and every core has stopped serving. The
            // call can never complete; its connection goes away with the executor.
            self.pending.borrow_mut().remove(&id);
            log::debug!("call to core {core} after it closed its mesh (shutdown)");
            return futures_lite::future::pending().await;
        }
        let result = CallWait { mesh: self, id }.await;
        *result
            .downcast::<T>()
            .expect("a call's result has the type its job produced")
    }

    fn complete(&self, id: u64, result: CallResult) {
        if let Some(p) = self.pending.borrow_mut().get_mut(&id) {
            p.result = Some(result);
            if let Some(w) = p.waker.take() {
                w.wake();
            }
        }
    }

    /// Sends a job's result back to the core that asked.
    async fn reply(&self, to: usize, id: u64, result: CallResult) {
        // The peer only goes away at shutdown, when nobody waits for the result any more.
        let _ = self.senders.send_to(to, MeshMsg::Done { id, result }).await;
    }

    /// Closes this core's senders (shutdown).
    pub fn close(&self) {
        self.senders.close();
    }
}

struct CallWait<'a> {
    mesh: &'a Mesh,
    id: u64,
}

impl Future for CallWait<'_> {
    type Output = CallResult;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CallResult> {
        let mut pending = self.mesh.pending.borrow_mut();
        let p = pending.get_mut(&self.id).expect("pending call registered");
        match p.result.take() {
            Some(r) => {
                pending.remove(&self.id);
                Poll::Ready(r)
            }
            None => {
                p.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Spawns one task per peer that serves that peer's messages until the mesh closes.
pub fn serve(shard: &Rc<Shard>, mut receivers: Receivers<MeshMsg>) {
    for (_peer, stream) in receivers.streams() {
        let shard = shard.clone();
        glommio::spawn_local(async move {
            while let Some(msg) = stream.recv().await {
                match msg {
                    MeshMsg::Call { id, from, job } => {
                        let fut = job(&shard);
                        let shard = shard.clone();
                        glommio::spawn_local(async move {
                            let result = fut.await;
                            shard.mesh.reply(from, id, result).await;
                        })
                        .detach();
                    }
                    MeshMsg::Done { id, result } => shard.mesh.complete(id, result),
                }
            }
        })
        .detach();
    }
}

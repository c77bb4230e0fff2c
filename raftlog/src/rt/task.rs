//! Spawned tasks: glommio tasks with tokio-like handles.
//!
//! openraft expects tokio's handle semantics: dropping a handle detaches the task (it spawns
//! helpers and forgets their handles), awaiting it yields the output or an error saying whether
//! the task panicked. glommio's [`glommio::Task`] cancels on drop and lets a panic unwind through
//! the executor, so [`spawn`] detaches at once and catches the panic in the task.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::FutureExt;

/// Why a spawned task produced no output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// The task panicked; the panic message, when it was a string.
    #[error("task panicked: {0}")]
    Panicked(String),
    /// The task was cancelled with [`JoinHandle::abort`] before it finished.
    #[error("task was cancelled")]
    Cancelled,
}

/// Handle to a task spawned with `GlommioRuntime::spawn`.
///
/// Awaiting it yields the task's output. Dropping it detaches the task, which keeps running.
#[derive(Debug)]
pub struct JoinHandle<T> {
    inner: glommio::task::JoinHandle<std::thread::Result<T>>,
}

impl<T> JoinHandle<T> {
    /// Cancels the task: it is not polled again and its future is dropped on the executor's next
    /// turn. Awaiting the handle afterwards yields [`JoinError::Cancelled`] (or the output, if the
    /// task had already finished). No effect on a finished task.
    pub fn abort(&self) {
        self.inner.cancel();
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.inner)
            .poll(cx)
            .map(|finished| match finished {
                Some(Ok(output)) => Ok(output),
                Some(Err(payload)) => Err(JoinError::Panicked(panic_message(payload.as_ref()))),
                // glommio yields `None` for a cancelled task, and for a panicked one, which cannot
                // happen here because the panic is caught inside the task.
                None => Err(JoinError::Cancelled),
            })
    }
}

/// Spawns `future` on the current glommio executor, in the task queue of the caller, detached.
///
/// Panics outside a running glommio executor.
pub(super) fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    // Unwind safety: a panicking task's state is dropped with it; what it shared with other tasks
    // is as consistent as after a tokio task panic, which is the contract openraft is written for.
    let task = glommio::spawn_local(AssertUnwindSafe(future).catch_unwind());
    JoinHandle {
        inner: task.detach(),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

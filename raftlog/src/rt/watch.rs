//! openraft's watch channel: one value, many readers, each told when it changes.
//!
//! Why our own: the usable watch channels are tokio's (which would bring tokio back in) or small
//! single-author crates. On one thread a watch is just a shared cell with a version counter; the
//! only subtle part, waking waiters without losing or leaking registrations when they are
//! cancelled, is delegated to [`event_listener::Event`].
//!
//! Semantics follow tokio's (openraft's tests are written against them):
//! - a receiver remembers the version it has seen;
//!   [`changed`](openraft_rt::WatchReceiver::changed) returns at once if a newer one exists,
//!   marking it seen, else waits for the next send;
//! - `changed` fails once every sender is gone and nothing unseen remains; `send` fails (and
//!   keeps the old value) once every receiver is gone;
//! - `send_if_modified` stores the modification and wakes receivers only when the closure says it
//!   changed something.
//!
//! Borrows are `RefCell` borrows: holding one across an `.await` while another task sends panics
//! (a lock-based watch would deadlock instead). openraft's contract already forbids it.

use std::cell::{Cell, Ref, RefCell};
use std::fmt;
use std::rc::Rc;

use event_listener::Event;
use openraft_rt::watch::{RecvError, SendError, Watch};
use openraft_rt::{OptionalSend, OptionalSync};

/// The [`Watch`] implementation of `GlommioRuntime`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GlommioWatch;

struct Shared<T> {
    value: RefCell<T>,
    /// Bumped by every notifying send.
    version: Cell<u64>,
    senders: Cell<usize>,
    receivers: Cell<usize>,
    /// Notified (all listeners) on every version bump and when the last sender goes.
    changed: Event,
}

impl<T> Shared<T> {
    fn publish(&self) {
        self.version.set(self.version.get() + 1);
        self.changed.notify(usize::MAX);
    }
}

/// Sending half; cloneable. Receivers see the channel closed when the last one is dropped.
pub struct WatchSender<T> {
    shared: Rc<Shared<T>>,
}

/// Receiving half; cloneable (a clone starts with the same seen version).
pub struct WatchReceiver<T> {
    shared: Rc<Shared<T>>,
    seen: u64,
}

impl Watch for GlommioWatch {
    type Sender<T: OptionalSend + OptionalSync> = WatchSender<T>;
    type Receiver<T: OptionalSend + OptionalSync> = WatchReceiver<T>;
    type Ref<'a, T: OptionalSend + 'a> = Ref<'a, T>;

    fn channel<T: OptionalSend + OptionalSync>(init: T) -> (Self::Sender<T>, Self::Receiver<T>) {
        let shared = Rc::new(Shared {
            value: RefCell::new(init),
            version: Cell::new(0),
            senders: Cell::new(1),
            receivers: Cell::new(1),
            changed: Event::new(),
        });
        let rx = WatchReceiver {
            shared: Rc::clone(&shared),
            seen: 0,
        };
        (WatchSender { shared }, rx)
    }
}

impl<T> fmt::Debug for WatchSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchSender")
            .field("version", &self.shared.version.get())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for WatchReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchReceiver")
            .field("version", &self.shared.version.get())
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl<T> Clone for WatchSender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.set(self.shared.senders.get() + 1);
        Self {
            shared: Rc::clone(&self.shared),
        }
    }
}

impl<T> Drop for WatchSender<T> {
    fn drop(&mut self) {
        let left = self.shared.senders.get() - 1;
        self.shared.senders.set(left);
        if left == 0 {
            self.shared.changed.notify(usize::MAX);
        }
    }
}

impl<T: OptionalSend + OptionalSync> openraft_rt::WatchSender<GlommioWatch, T> for WatchSender<T> {
    fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.receivers.get() == 0 {
            return Err(SendError(value));
        }
        *self.shared.value.borrow_mut() = value;
        self.shared.publish();
        Ok(())
    }

    fn send_if_modified<F>(&self, modify: F) -> bool
    where
        F: FnOnce(&mut T) -> bool,
    {
        let modified = modify(&mut self.shared.value.borrow_mut());
        if modified {
            self.shared.publish();
        }
        modified
    }

    fn borrow_watched(&self) -> Ref<'_, T> {
        self.shared.value.borrow()
    }

    fn subscribe(&self) -> WatchReceiver<T> {
        self.shared.receivers.set(self.shared.receivers.get() + 1);
        WatchReceiver {
            shared: Rc::clone(&self.shared),
            seen: self.shared.version.get(),
        }
    }
}

impl<T> Clone for WatchReceiver<T> {
    fn clone(&self) -> Self {
        self.shared.receivers.set(self.shared.receivers.get() + 1);
        Self {
            shared: Rc::clone(&self.shared),
            seen: self.seen,
        }
    }
}

impl<T> Drop for WatchReceiver<T> {
    fn drop(&mut self) {
        self.shared.receivers.set(self.shared.receivers.get() - 1);
    }
}

impl<T: OptionalSend + OptionalSync> openraft_rt::WatchReceiver<GlommioWatch, T>
    for WatchReceiver<T>
{
    async fn changed(&mut self) -> Result<(), RecvError> {
        loop {
            let version = self.shared.version.get();
            if version != self.seen {
                self.seen = version;
                return Ok(());
            }
            if self.shared.senders.get() == 0 {
                return Err(RecvError(()));
            }
            // Single-threaded: nothing can send between the checks above and registering here, so
            // no notification is missed.
            self.shared.changed.listen().await;
        }
    }

    fn borrow_watched(&self) -> Ref<'_, T> {
        self.shared.value.borrow()
    }

    fn borrow_and_update(&mut self) -> Ref<'_, T> {
        self.seen = self.shared.version.get();
        self.shared.value.borrow()
    }
}

//! openraft's oneshot channel, on [`futures_channel::oneshot`]: a small shared slot that the
//! receiver awaits; sending never waits, and either side dropping is seen by the other.

use openraft_rt::{Oneshot, OptionalSend};

/// The [`Oneshot`] implementation of `GlommioRuntime`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GlommioOneshot;

/// Sending half of a oneshot channel.
#[derive(Debug)]
pub struct OneshotSender<T>(futures_channel::oneshot::Sender<T>);

impl Oneshot for GlommioOneshot {
    type Sender<T: OptionalSend> = OneshotSender<T>;
    type Receiver<T: OptionalSend> = futures_channel::oneshot::Receiver<T>;
    type ReceiverError = futures_channel::oneshot::Canceled;

    fn channel<T: OptionalSend>() -> (Self::Sender<T>, Self::Receiver<T>) {
        let (tx, rx) = futures_channel::oneshot::channel();
        (OneshotSender(tx), rx)
    }
}

impl<T: OptionalSend> openraft_rt::OneshotSender<T> for OneshotSender<T> {
    /// Hands `t` to the receiver; gives it back if the receiver was dropped.
    fn send(self, t: T) -> Result<(), T> {
        self.0.send(t)
    }
}

//! openraft's bounded MPSC channel, on [`async_channel`].
//!
//! Why async-channel: its bounded channel holds exactly `buffer` messages (futures' channel adds a
//! slot per sender, which breaks openraft's backpressure expectations), it has weak senders, a
//! sender blocked on a full channel fails as soon as the receiver is dropped, and a woken sender
//! or receiver that is cancelled hands its wake-up to the next waiter (event-listener).

use openraft_rt::{Mpsc, OptionalSend, SendError, TryRecvError};

/// The [`Mpsc`] implementation of `GlommioRuntime`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GlommioMpsc;

/// Sending half; clone it for more producers. The channel closes when the last one is dropped.
#[derive(Debug)]
pub struct MpscSender<T>(async_channel::Sender<T>);

/// Receiving half (exactly one per channel).
#[derive(Debug)]
pub struct MpscReceiver<T>(async_channel::Receiver<T>);

/// A sender that does not keep the channel open; upgrade it
/// ([`openraft_rt::MpscWeakSender::upgrade`]) to send.
#[derive(Debug)]
pub struct MpscWeakSender<T>(async_channel::WeakSender<T>);

impl<T> Clone for MpscSender<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Clone for MpscWeakSender<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl Mpsc for GlommioMpsc {
    type Sender<T: OptionalSend> = MpscSender<T>;
    type Receiver<T: OptionalSend> = MpscReceiver<T>;
    type WeakSender<T: OptionalSend> = MpscWeakSender<T>;

    /// A channel holding at most `buffer` messages. Panics if `buffer` is 0 (as tokio's does).
    fn channel<T: OptionalSend>(buffer: usize) -> (Self::Sender<T>, Self::Receiver<T>) {
        let (tx, rx) = async_channel::bounded(buffer);
        (MpscSender(tx), MpscReceiver(rx))
    }
}

impl<T: OptionalSend> openraft_rt::MpscSender<GlommioMpsc, T> for MpscSender<T> {
    async fn send(&self, msg: T) -> Result<(), SendError<T>> {
        self.0
            .send(msg)
            .await
            .map_err(|e| SendError(e.into_inner()))
    }

    fn downgrade(&self) -> MpscWeakSender<T> {
        MpscWeakSender(self.0.downgrade())
    }
}

impl<T: OptionalSend> openraft_rt::MpscReceiver<T> for MpscReceiver<T> {
    async fn recv(&mut self) -> Option<T> {
        self.0.recv().await.ok()
    }

    fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.0.try_recv().map_err(|e| match e {
            async_channel::TryRecvError::Empty => TryRecvError::Empty,
            async_channel::TryRecvError::Closed => TryRecvError::Disconnected,
        })
    }
}

impl<T: OptionalSend> openraft_rt::MpscWeakSender<GlommioMpsc, T> for MpscWeakSender<T> {
    fn upgrade(&self) -> Option<MpscSender<T>> {
        self.0.upgrade().map(MpscSender)
    }
}

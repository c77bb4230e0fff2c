//! Sleeps and timeouts on glommio's reactor timers.
//!
//! The deadline is fixed when the [`Sleep`] is created (as with tokio), but the glommio
//! [`Timer`] is only created on the first poll that finds the deadline still ahead: a sleep that is
//! built and dropped unpolled, or whose deadline has passed, never touches the reactor. While
//! pending, the timer sits in the reactor's timer set and wakes the task exactly once, when it
//! fires; dropping the sleep removes it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use glommio::timer::Timer;

/// A future that completes at a deadline. Created by `GlommioRuntime::sleep` / `sleep_until`.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    deadline: Instant,
    timer: Option<Timer>,
}

impl Sleep {
    /// Completes once `duration` has passed from now.
    pub fn after(duration: Duration) -> Self {
        let now = Instant::now();
        // A duration too long to represent means "never"; about 30 years is as good as never.
        let deadline = now
            .checked_add(duration)
            .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 86_400));
        Self::until(deadline)
    }

    /// Completes at `deadline` (at once if it has passed).
    pub fn until(deadline: Instant) -> Self {
        Self {
            deadline,
            timer: None,
        }
    }

    /// When this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let now = Instant::now();
        if now >= self.deadline {
            // Dropping a charged timer deregisters it from the reactor.
            self.timer = None;
            return Poll::Ready(());
        }
        let remaining = self.deadline - now;
        // glommio's timer fires at `creation + remaining`, which is not before our deadline.
        let timer = self.timer.get_or_insert_with(|| Timer::new(remaining));
        Pin::new(timer).poll(cx).map(|_fired_at| ())
    }
}

/// The error of a [`Timeout`] whose deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("deadline has elapsed")]
pub struct Elapsed;

pin_project_lite::pin_project! {
    /// A future raced against a deadline. Created by `GlommioRuntime::timeout` / `timeout_at`.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    pub(super) fn new(future: F, sleep: Sleep) -> Self {
        Self { future, sleep }
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The future first: one that is ready wins even if the deadline passed meanwhile.
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        Pin::new(this.sleep).poll(cx).map(|()| Err(Elapsed))
    }
}

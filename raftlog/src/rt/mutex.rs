//! openraft's async mutex, on [`futures_util::lock::Mutex`]. openraft takes it rarely and never on
//! the per-request path, so a general-purpose, well-tested lock is the right trade.

use std::future::Future;

use openraft_rt::OptionalSend;

/// The async mutex of `GlommioRuntime`.
#[derive(Debug)]
pub struct Mutex<T>(futures_util::lock::Mutex<T>);

impl<T: OptionalSend + 'static> openraft_rt::Mutex<T> for Mutex<T> {
    type Guard<'a> = futures_util::lock::MutexGuard<'a, T>;

    fn new(value: T) -> Self {
        Self(futures_util::lock::Mutex::new(value))
    }

    fn lock(&self) -> impl Future<Output = Self::Guard<'_>> {
        self.0.lock()
    }
}

//! Key events: what happens on a core after a write commits, for the features that wait on keys.
//!
//! WATCH (a transaction fails if a watched key was written since) and blocked clients (BLPOP and friends
//! are served when a key they wait on gets data) both need to know which keys a committed entry wrote.
//! [`Shard::propose`] hands them here, but only while some listener exists on this core
//! ([`Shard::has_key_listeners`]), so plain writes pay one check.

use bytes::Bytes;
use smallvec::SmallVec;

use super::Shard;

/// The keys one committed entry stored or deleted.
pub struct WrittenKeys {
    pub db: u8,
    /// User keys (repeats possible).
    pub keys: SmallVec<[Bytes; 2]>,
    /// Databases wiped whole by the entry (`Some(None)`: all of them), as FLUSHDB / FLUSHALL do.
    pub wiped: Option<Option<u8>>,
}

impl Shard {
    /// Whether anything on this core waits on keys (watched keys, blocked clients).
    #[inline]
    pub fn has_key_listeners(&self) -> bool {
        self.has_watched_keys() || self.blocking.has_waiters()
    }

    /// Called after an entry that wrote `events` committed.
    pub fn keys_written(&self, events: WrittenKeys) {
        self.watched_keys_written(&events);
        self.blocking.keys_written(&events);
    }
}

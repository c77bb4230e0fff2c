//! Errors of the log engine.
//!
//! One enum for everything the engine can report, so callers can match on the cause: I/O failures
//! (with the file and the operation), corruption found by recovery (with the file and offset, so
//! an operator can look at it), misuse of the API (non-contiguous appends, truncating purged
//! entries), and the engine's own lifecycle (failed after an I/O error, closed).
//!
//! [`ReadManyError`] wraps the caller's own error type for reads that hand entries to a callback,
//! so a callback failure comes back unchanged instead of being squeezed into an engine error.
//!
//! Errors are `Send + Sync` and carry no `Rc`: openraft wraps them in `std::io::Error`, which
//! requires that. A failure shared by many waiters is therefore carried as its message.

use std::io;
use std::path::PathBuf;

use crate::engine::GroupId;

/// What went wrong in the log engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A system call on a log file or directory failed.
    #[error("raftlog: cannot {op} {}: {source}", path.display())]
    Io {
        /// What the engine was doing ("write", "fdatasync", "open", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Recovery found damaged data that it must not skip: a bad record followed by valid ones, a
    /// damaged sealed segment, or records that contradict each other.
    #[error("raftlog: corrupt log {} at offset {offset}: {reason}", path.display())]
    Corrupt {
        /// Segment file.
        path: PathBuf,
        /// Byte offset of the damage in that file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A segment between the first and the last one is missing.
    #[error("raftlog: segment {missing} is missing in {}", dir.display())]
    MissingSegment {
        /// The log directory.
        dir: PathBuf,
        /// Sequence number of the missing segment.
        missing: u64,
    },
    /// Another engine (in this or another process) holds the directory.
    #[error("raftlog: {} is locked by another engine", dir.display())]
    Locked {
        /// The log directory.
        dir: PathBuf,
    },
    /// An option is out of range.
    #[error("raftlog: invalid option: {0}")]
    InvalidOption(String),
    /// An appended entry does not continue the group's log.
    #[error(
        "raftlog: group {group}: entry {index} does not follow the log (next index is {expected})"
    )]
    NotNext {
        /// Raft group.
        group: GroupId,
        /// Index of the rejected entry.
        index: u64,
        /// The index the log expects next.
        expected: u64,
    },
    /// An entry at or below the purge point was appended to an empty log.
    #[error("raftlog: group {group}: entry {index} is at or below the purged index {purged}")]
    BelowPurged {
        /// Raft group.
        group: GroupId,
        /// Index of the rejected entry.
        index: u64,
        /// The group's purge point.
        purged: u64,
    },
    /// A truncation would remove purged entries.
    #[error(
        "raftlog: group {group}: cannot truncate from {from}: entries up to {purged} are purged"
    )]
    TruncatePurged {
        /// Raft group.
        group: GroupId,
        /// First index to remove.
        from: u64,
        /// The group's purge point.
        purged: u64,
    },
    /// A payload is larger than one record may be.
    #[error("raftlog: payload of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Payload size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The pending batch is full: the disk is far behind. Retry after awaiting earlier appends.
    #[error("raftlog: {pending} bytes are already waiting for the disk")]
    Backlog {
        /// Bytes pending.
        pending: usize,
    },
    /// An earlier write or fsync failed; nothing written after it can be trusted, so the engine
    /// refuses further writes. Reopen it (recovery) to continue.
    #[error("raftlog: stopped after an earlier I/O failure: {0}")]
    Failed(String),
    /// The engine was closed.
    #[error("raftlog: the engine is closed")]
    Closed,
}

/// Why [`crate::Engine::read_in_log_order`] stopped: the engine failed to read (I/O, or a
/// damaged or misplaced record), or the caller's callback returned an error. Either way no entry
/// after the failing one was delivered.
#[derive(Debug, thiserror::Error)]
pub enum ReadManyError<E> {
    /// Reading or verifying the log failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The callback returned this error.
    #[error("raftlog: the reader's callback failed: {0}")]
    Callback(E),
}

impl EngineError {
    /// A write of `expected` bytes to `path` that wrote `wrote`: an error unless all went.
    pub(crate) fn check_write(
        path: impl Into<PathBuf>,
        wrote: u64,
        expected: u64,
    ) -> Result<(), EngineError> {
        if wrote == expected {
            return Ok(());
        }
        Err(Self::io(
            "write",
            path,
            io::Error::other(format!("short write: {wrote} of {expected} bytes")),
        ))
    }

    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
        source: impl Into<io::Error>,
    ) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source: source.into(),
        }
    }

    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
    ) -> Self {
        Self::Corrupt {
            path: path.into(),
            offset,
            reason: reason.into(),
        }
    }
}

impl From<EngineError> for io::Error {
    fn from(e: EngineError) -> Self {
        let kind = match &e {
            EngineError::Io { source, .. } => source.kind(),
            EngineError::Corrupt { .. } | EngineError::MissingSegment { .. } => {
                io::ErrorKind::InvalidData
            }
            EngineError::NotNext { .. }
            | EngineError::BelowPurged { .. }
            | EngineError::TruncatePurged { .. }
            | EngineError::TooLarge { .. }
            | EngineError::InvalidOption(_) => io::ErrorKind::InvalidInput,
            EngineError::Locked { .. } => io::ErrorKind::ResourceBusy,
            EngineError::Backlog { .. } => io::ErrorKind::WouldBlock,
            EngineError::Failed(_) | EngineError::Closed => io::ErrorKind::BrokenPipe,
        };
        io::Error::new(kind, e)
    }
}

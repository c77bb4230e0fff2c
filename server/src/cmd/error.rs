//! Errors a command replies with. Their `Display` is the exact Redis 7 error line (without the leading
//! `-`), so every text lives in one place and is tested against Redis's.

use std::borrow::Cow;

use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    /// An error line that quotes the request's own bytes, which Redis echoes as they are (not as UTF-8):
    /// an unknown command or subcommand.
    #[error("{}", String::from_utf8_lossy(.0))]
    Echo(bytes::Bytes),
    #[error("ERR syntax error")]
    Syntax,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    #[error("ERR increment would produce NaN or Infinity")]
    NanOrInfinity,
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("ERR no such key")]
    NoSuchKey,
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpire(&'static str),
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    #[error("NOAUTH Authentication required.")]
    NoAuth,
    #[error("WRONGPASS invalid username-password pair or user is disabled.")]
    WrongPass,
    #[error("{0}")]
    Msg(Cow<'static, str>),
    #[error("ERR storage error: {0}")]
    Storage(#[from] StorageError),
    #[error("ERR {0}")]
    Log(#[from] crate::replication::LogError),
}

impl CmdError {
    /// An error with a custom text (must include the error code, e.g. `ERR ...`).
    pub fn msg(text: impl Into<Cow<'static, str>>) -> CmdError {
        CmdError::Msg(text.into())
    }

    /// The reply frame for this error.
    pub fn to_reply(&self) -> resp::Reply {
        match self {
            CmdError::Msg(Cow::Borrowed(s)) => resp::Reply::StaticError(s),
            CmdError::Echo(line) => resp::Reply::Error(line.clone()),
            other => resp::Reply::Error(other.to_string().into()),
        }
    }
}

impl From<rocksdb::Error> for CmdError {
    fn from(e: rocksdb::Error) -> Self {
        CmdError::Storage(StorageError::Rocks(e))
    }
}

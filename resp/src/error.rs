//! The ways a client's byte stream can break the protocol.
//!
//! Each variant's `Display` is the text Redis 7 sends after `-ERR ` (networking.c,
//! `processMultibulkBuffer` / `processInlineBuffer`), so the server can answer
//! `-ERR {error}\r\n` and close the connection exactly as Redis does. Every one of them is
//! fatal to the connection: after a framing error the stream position is unknown.

use bytes::{BufMut, Bytes, BytesMut};

/// A framing error. `Display` is Redis 7's text after `-ERR `.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// `*<n>` where `<n>` is not a canonical integer or exceeds the multibulk limit.
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// `$<n>` where `<n>` is not a canonical integer, is negative (`$-1` included) or exceeds
    /// `proto-max-bulk-len`.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// An array element that is not a bulk string. `got` is the raw first byte of the element
    /// line, with `\r` and `\n` already turned into spaces as Redis does. A byte above 0x7F is
    /// shown here as the Latin-1 character; use [`ProtocolError::reply_bytes`] for the exact
    /// bytes Redis sends.
    #[error("Protocol error: expected '$', got '{}'", char::from(*got))]
    ExpectedBulk { got: u8 },
    /// No `\r` within `inline_max_size` bytes of a `*` line.
    #[error("Protocol error: too big mbulk count string")]
    TooBigMultibulkCountString,
    /// No `\r` within `inline_max_size` bytes of a `$` line.
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCountString,
    /// No `\n` within `inline_max_size` bytes of an inline command's start.
    #[error("Protocol error: too big inline request")]
    TooBigInlineRequest,
    /// An inline command whose quoting does not close (or a closing quote followed by a
    /// non-space).
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// More than 10 arguments before the client authenticated.
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    /// A bulk string over 16384 bytes before the client authenticated.
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
}

impl ProtocolError {
    /// Builds `ExpectedBulk` from the offending byte, mapping `\r` and `\n` to a space the way
    /// Redis's `addReplyErrorFormat` does.
    pub(crate) fn expected_bulk(byte: u8) -> Self {
        let got = if byte == b'\r' || byte == b'\n' {
            b' '
        } else {
            byte
        };
        ProtocolError::ExpectedBulk { got }
    }

    /// The complete error reply Redis sends, `-ERR ...\r\n`, byte for byte. Only differs from
    /// formatting `Display` for `ExpectedBulk` with a non-ASCII byte, which Redis sends raw.
    pub fn reply_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(64);
        out.put_slice(b"-ERR ");
        match self {
            ProtocolError::ExpectedBulk { got } => {
                out.put_slice(b"Protocol error: expected '$', got '");
                out.put_u8(*got);
                out.put_u8(b'\'');
            }
            other => out.put_slice(other.to_string().as_bytes()),
        }
        out.put_slice(b"\r\n");
        out.freeze()
    }
}

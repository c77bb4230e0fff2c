//! Splitting client requests off the front of a connection's read buffer.
//!
//! Two paths, chosen per request:
//!
//! - **Fast path** (a whole, well-formed request already buffered — nearly every request):
//!   redis-protocol's `decode_range` frames it in one pass, giving the argument ranges; a few
//!   integer comparisons per argument check Redis's limits and that every length was written
//!   canonically (so we accept exactly what Redis accepts); the request is then split off the
//!   buffer and each argument is a `Bytes` slice of it. No byte is looked at twice.
//! - **Slow path** (`multibulk.rs`) for a request that is incomplete, malformed, or larger than
//!   the fast path's window: a resumable reader that mirrors Redis's own state machine, so
//!   limits are enforced the moment a length arrives, errors carry Redis's exact text, and a
//!   request arriving in pieces is walked once overall.
//!
//! The fast path looks at most [`FAST_PATH_WINDOW`] bytes. redis-protocol parses nested arrays
//! recursively, and a hostile `*1\r\n*1\r\n...` would otherwise recurse once per 4 bytes of
//! input until the stack overflows; the window caps that depth at a few hundred frames.
//!
//! Inline commands (first byte not `*`) go through `inline.rs`.

mod inline;
mod multibulk;

pub use multibulk::{UNAUTHENTICATED_MAX_BULK_LEN, UNAUTHENTICATED_MAX_MULTIBULK_LEN};

use crate::ProtocolError;
use bytes::{Buf, Bytes, BytesMut};
use redis_protocol::resp2::{decode::decode_range, types::RangeFrame};

/// Most bytes handed to redis-protocol at once. 4 KiB holds a SET with a 1 KB value or a
/// 100-key MGET and bounds nesting to 1024 levels (about 280 KB of stack in release builds;
/// debug builds use 2.5 KB per level, hence the smaller window there).
pub const FAST_PATH_WINDOW: usize = if cfg!(debug_assertions) { 2048 } else { 4096 };

/// Redis's request-size limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest bulk string accepted (Redis `proto-max-bulk-len`, default 512 MB).
    pub proto_max_bulk_len: usize,
    /// Largest argument count accepted (Redis hard-codes `INT_MAX`).
    pub max_multibulk_len: usize,
    /// Longest inline command, or `*`/`$` line, without its line end (Redis
    /// `PROTO_INLINE_MAX_SIZE`, 64 KB).
    pub inline_max_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            proto_max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as usize,
            inline_max_size: 64 * 1024,
        }
    }
}

/// One client request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The command name and its arguments; never empty. Slices of the read buffer where the
    /// wire bytes are the argument bytes.
    pub args: Vec<Bytes>,
    /// Whether the request came as an inline command rather than a RESP array.
    pub inline: bool,
}

/// Decodes requests for one connection, remembering its place inside a partial request.
///
/// Always pass the same buffer, only appending to it between calls; the decoder removes the
/// bytes of each request (and of skipped empty requests) from its front.
#[derive(Debug, Default)]
pub struct RequestDecoder {
    limits: Limits,
    pending: Pending,
}

/// The request in progress at the front of the buffer, if any.
#[derive(Debug, Default)]
enum Pending {
    #[default]
    Idle,
    Multibulk(multibulk::Progress),
    Inline(inline::Progress),
}

/// The fast path's verdict.
enum Fast {
    Request(Request),
    /// An empty request (`*0\r\n`, `*-1\r\n`) was consumed.
    Skipped,
    /// Let the slow path decide: incomplete, malformed, over a limit, or too big for the window.
    SlowPath,
}

impl RequestDecoder {
    pub fn new(limits: Limits) -> Self {
        RequestDecoder {
            limits,
            pending: Pending::Idle,
        }
    }

    /// Replaces the limits (e.g. after `CONFIG SET proto-max-bulk-len`); they apply from the
    /// next length read.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Splits the next complete request off the front of `buf`. `Ok(None)` = need more bytes.
    ///
    /// Empty requests (`*0\r\n`, `*-1\r\n`, blank inline lines) are consumed and skipped like
    /// Redis. `authenticated == false` applies Redis's limits for clients that still have to
    /// AUTH. On `Err` the caller replies `-ERR <error>\r\n` (see
    /// [`ProtocolError::reply_bytes`]) and closes the connection.
    pub fn decode(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Option<Request>, ProtocolError> {
        let result = self.decode_inner(buf, authenticated);
        if result.is_err() {
            self.pending = Pending::Idle;
        }
        result
    }

    /// Bytes the request in progress still needs, when known: the rest of the bulk string
    /// being received (so the caller can reserve room for a large value in one go). Ask after
    /// `decode` returned `Ok(None)`; `None` while no length is pending.
    pub fn bytes_needed_hint(&self, buf: &[u8]) -> Option<usize> {
        match &self.pending {
            Pending::Multibulk(p) if p.fits(buf.len()) => p.bulk_bytes_needed(buf.len()),
            _ => None,
        }
    }

    fn decode_inner(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Option<Request>, ProtocolError> {
        loop {
            let stale = match &self.pending {
                Pending::Idle => false,
                Pending::Multibulk(p) => !p.fits(buf.len()),
                Pending::Inline(p) => !p.fits(buf.len()),
            };
            if buf.is_empty() || stale {
                self.pending = Pending::Idle;
            }
            if buf.is_empty() {
                return Ok(None);
            }
            if let Pending::Idle = self.pending {
                if buf[0] != b'*' {
                    self.pending = Pending::Inline(inline::Progress::default());
                } else {
                    match self.fast_path(buf, authenticated) {
                        Fast::Request(request) => return Ok(Some(request)),
                        Fast::Skipped => continue,
                        Fast::SlowPath => {
                            self.pending = Pending::Multibulk(multibulk::Progress::default())
                        }
                    }
                }
            }
            match &mut self.pending {
                Pending::Idle => unreachable!("set above"),
                Pending::Multibulk(progress) => {
                    match progress.advance(buf, &self.limits, authenticated)? {
                        multibulk::Step::Incomplete => return Ok(None),
                        multibulk::Step::Empty(consumed) => {
                            buf.advance(consumed);
                            self.pending = Pending::Idle;
                        }
                        multibulk::Step::Complete(consumed) => {
                            let frame = buf.split_to(consumed).freeze();
                            let args = progress.args.iter().map(|r| frame.slice(r.clone()));
                            let args = args.collect();
                            self.pending = Pending::Idle;
                            return Ok(Some(Request {
                                args,
                                inline: false,
                            }));
                        }
                    }
                }
                Pending::Inline(progress) => {
                    let Some(line) = progress.advance(buf, &self.limits)? else {
                        return Ok(None);
                    };
                    self.pending = Pending::Idle;
                    let bytes = buf.split_to(line.consumed).freeze();
                    let args = inline::split_args(&bytes.slice(..line.len))?;
                    if !args.is_empty() {
                        return Ok(Some(Request { args, inline: true }));
                    }
                }
            }
        }
    }

    /// Frames a complete, canonical request with redis-protocol (see the module docs).
    fn fast_path(&self, buf: &mut BytesMut, authenticated: bool) -> Fast {
        let window = &buf[..buf.len().min(FAST_PATH_WINDOW)];
        let (elements, consumed) = match decode_range(window) {
            Ok(Some((RangeFrame::Array(elements), consumed))) => (elements, consumed),
            Ok(Some((RangeFrame::Null, 5))) => {
                buf.advance(5); // `*-1\r\n`
                return Fast::Skipped;
            }
            _ => return Fast::SlowPath,
        };
        let count = elements.len();
        if count > self.limits.max_multibulk_len
            || (count > UNAUTHENTICATED_MAX_MULTIBULK_LEN && !authenticated)
        {
            return Fast::SlowPath;
        }
        // Where each header must start and end if every number is written canonically; a
        // longer header means `+3`, `03` or `-0`, which Redis rejects.
        let mut cursor = 1 + decimal_len(count) + 2;
        for element in &elements {
            let RangeFrame::BulkString((start, end)) = *element else {
                return Fast::SlowPath;
            };
            let len = end - start;
            if start != cursor + 1 + decimal_len(len) + 2
                || len > self.limits.proto_max_bulk_len
                || (len > UNAUTHENTICATED_MAX_BULK_LEN && !authenticated)
            {
                return Fast::SlowPath;
            }
            cursor = end + 2;
        }
        if cursor != consumed {
            return Fast::SlowPath;
        }
        let frame = buf.split_to(consumed).freeze();
        if count == 0 {
            return Fast::Skipped;
        }
        let args = elements
            .iter()
            .filter_map(|e| match *e {
                RangeFrame::BulkString((start, end)) => Some(frame.slice(start..end)),
                _ => None, // excluded above
            })
            .collect();
        Fast::Request(Request {
            args,
            inline: false,
        })
    }
}

/// Number of decimal digits in `n`.
fn decimal_len(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

#[cfg(test)]
mod tests;

//! A resumable reader for `*<n>\r\n$<len>\r\n<data>\r\n...` that follows Redis 7's
//! `processMultibulkBuffer` step by step.
//!
//! It is the decoder's slow path: it runs only for a request that redis-protocol reported as
//! incomplete or malformed (or that is bigger than the fast path's window). Because it keeps
//! its place between calls, a request that trickles in over many reads is walked once in
//! total, and a 512 MB value costs one length comparison per read until it is all there.
//!
//! Faithful details that matter for byte-exact errors:
//! - a header line ends at the first `\r`, which must be followed by one more byte (any byte:
//!   Redis skips two without looking); the search stops at a NUL byte as `strchr` does, so a
//!   NUL inside a header line means "never complete" until the too-big limit trips;
//! - numbers are parsed like `string2ll`: no `+`, no leading zeros, no `-0`;
//! - the two bytes after bulk data are skipped unchecked.

use super::Limits;
use crate::ProtocolError;
use std::ops::Range;

/// Redis accepts at most this many arguments before authentication (`ll > 10 && authRequired`).
pub const UNAUTHENTICATED_MAX_MULTIBULK_LEN: usize = 10;
/// Redis accepts bulk strings of at most this many bytes before authentication.
pub const UNAUTHENTICATED_MAX_BULK_LEN: usize = 16384;

/// What one call to [`Progress::advance`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// More bytes are needed.
    Incomplete,
    /// `*0`, `*-1` and other counts <= 0: the first `n` bytes are an empty request.
    Empty(usize),
    /// The request occupies the first `n` bytes; its arguments are in [`Progress::args`].
    Complete(usize),
}

/// Where the reader stands inside the request at the front of the buffer.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// Offset of the next unread header line or bulk data.
    pos: usize,
    /// Offset where the search for the current line's `\r` resumes.
    cr_from: usize,
    /// Arguments still to read; `None` until the `*<n>` line is read.
    remaining: Option<usize>,
    /// Length of the bulk string whose `$` line has been read.
    bulk_len: Option<usize>,
    /// Ranges of the arguments read so far.
    pub(super) args: Vec<Range<usize>>,
    /// Nothing can change before the buffer holds this many bytes.
    wake_at: usize,
}

impl Progress {
    /// Bytes still missing from the bulk string being read, when its length is known.
    pub(super) fn bulk_bytes_needed(&self, buffered: usize) -> Option<usize> {
        let len = self.bulk_len?;
        let end = self.pos + len + 2;
        (end > buffered).then(|| end - buffered)
    }

    /// Whether this progress can belong to `buf` (the caller did not shrink it under us).
    pub(super) fn fits(&self, buffered: usize) -> bool {
        self.pos <= buffered
    }

    /// Reads as far as `buf` allows.
    pub(super) fn advance(
        &mut self,
        buf: &[u8],
        limits: &Limits,
        authenticated: bool,
    ) -> Result<Step, ProtocolError> {
        if buf.len() < self.wake_at {
            return Ok(Step::Incomplete);
        }
        let mut remaining = match self.remaining {
            Some(n) => n,
            None => {
                let Some(cr) =
                    self.find_line(buf, limits, ProtocolError::TooBigMultibulkCountString)?
                else {
                    return Ok(Step::Incomplete);
                };
                debug_assert_eq!(buf[self.pos], b'*');
                let count = match parse_redis_int(&buf[self.pos + 1..cr]) {
                    Some(n) if n <= 0 || n as u64 <= limits.max_multibulk_len as u64 => n,
                    _ => return Err(ProtocolError::InvalidMultibulkLength),
                };
                if count > UNAUTHENTICATED_MAX_MULTIBULK_LEN as i64 && !authenticated {
                    return Err(ProtocolError::UnauthenticatedMultibulkLength);
                }
                self.pos = cr + 2;
                if count <= 0 {
                    return Ok(Step::Empty(self.pos));
                }
                let count = count as usize;
                self.args.reserve(count.min(1024));
                count
            }
        };
        while remaining > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    let Some(cr) =
                        self.find_line(buf, limits, ProtocolError::TooBigBulkCountString)?
                    else {
                        break;
                    };
                    if buf[self.pos] != b'$' {
                        return Err(ProtocolError::expected_bulk(buf[self.pos]));
                    }
                    let len = match parse_redis_int(&buf[self.pos + 1..cr]) {
                        Some(n) if n >= 0 && n as u64 <= limits.proto_max_bulk_len as u64 => {
                            n as usize
                        }
                        _ => return Err(ProtocolError::InvalidBulkLength),
                    };
                    if len > UNAUTHENTICATED_MAX_BULK_LEN && !authenticated {
                        return Err(ProtocolError::UnauthenticatedBulkLength);
                    }
                    self.pos = cr + 2;
                    self.bulk_len = Some(len);
                    len
                }
            };
            let end = self.pos + len + 2;
            if buf.len() < end {
                self.wake_at = end;
                break;
            }
            self.args.push(self.pos..self.pos + len);
            self.pos = end;
            self.bulk_len = None;
            remaining -= 1;
        }
        self.remaining = Some(remaining);
        Ok(if remaining == 0 {
            Step::Complete(self.pos)
        } else {
            Step::Incomplete
        })
    }

    /// Finds the `\r` ending the line at `self.pos`, as Redis's `strchr` + "must also contain
    /// `\n`" check does. `Ok(None)` means wait; `too_big` is returned when there is no `\r`
    /// and more than `inline_max_size` bytes wait behind the line start.
    fn find_line(
        &mut self,
        buf: &[u8],
        limits: &Limits,
        too_big: ProtocolError,
    ) -> Result<Option<usize>, ProtocolError> {
        let from = self.cr_from.max(self.pos);
        match buf[from..].iter().position(|&b| b == b'\r' || b == 0) {
            Some(i) if buf[from + i] == b'\r' => {
                let cr = from + i;
                self.cr_from = cr;
                if cr + 2 > buf.len() {
                    self.wake_at = cr + 2;
                    return Ok(None);
                }
                Ok(Some(cr))
            }
            found => {
                // A NUL ends strchr's search for good: remember where it is.
                self.cr_from = found.map_or(buf.len(), |i| from + i);
                if buf.len() - self.pos > limits.inline_max_size {
                    return Err(too_big);
                }
                self.wake_at = buf.len() + 1;
                Ok(None)
            }
        }
    }
}

/// Parses a decimal integer exactly as Redis's `string2ll`: optional `-`, no `+`, no leading
/// zeros, no `-0`, at most 20 characters, within `i64`.
pub(crate) fn parse_redis_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

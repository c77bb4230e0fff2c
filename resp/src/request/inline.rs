//! Inline commands: what `telnet` and `redis-cli` piping plain text send (`SET k "a b"\r\n`).
//!
//! The line is found like Redis's `processInlineBuffer` (first `\n`, an optional `\r` before
//! it, the search stopping at a NUL as `strchr` does) and split like `sdssplitargs`. Tokens
//! that need no unescaping are slices of the line, so the common case stays zero-copy.

use super::Limits;
use crate::ProtocolError;
use bytes::Bytes;

/// Where the search for the end of the inline line stands.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// Offset where the search for `\n` resumes (or where a NUL stopped it for good).
    scanned: usize,
}

/// A complete line at the front of the buffer.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Line {
    /// Bytes of the line itself, without `\r\n` / `\n`.
    pub(super) len: usize,
    /// Bytes to consume, line ending included.
    pub(super) consumed: usize,
}

impl Progress {
    pub(super) fn fits(&self, buffered: usize) -> bool {
        self.scanned <= buffered
    }

    /// Finds the line at the front of `buf`; `Ok(None)` means wait for more bytes.
    pub(super) fn advance(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<Line>, ProtocolError> {
        let from = self.scanned;
        match buf[from..].iter().position(|&b| b == b'\n' || b == 0) {
            Some(i) if buf[from + i] == b'\n' => {
                let newline = from + i;
                let len = if newline > 0 && buf[newline - 1] == b'\r' {
                    newline - 1
                } else {
                    newline
                };
                Ok(Some(Line {
                    len,
                    consumed: newline + 1,
                }))
            }
            found => {
                self.scanned = found.map_or(buf.len(), |i| from + i);
                if buf.len() > limits.inline_max_size {
                    return Err(ProtocolError::TooBigInlineRequest);
                }
                Ok(None)
            }
        }
    }
}

/// Splits an inline line into arguments the way Redis's `sdssplitargs` does.
///
/// `line` holds no NUL and no `\n` (the line search guarantees it), so reading past its end
/// as 0 reproduces the C string's terminator.
pub(super) fn split_args(line: &Bytes) -> Result<Vec<Bytes>, ProtocolError> {
    let s: &[u8] = line;
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < s.len() && is_c_space(s[p]) {
            p += 1;
        }
        if p >= s.len() {
            return Ok(args);
        }
        let mut token = Token::Span(p..p);
        let (mut in_double, mut in_single, mut done) = (false, false, false);
        while !done {
            let c = at(p);
            if in_double {
                if c == b'\\' && at(p + 1) == b'x' && is_hex(at(p + 2)) && is_hex(at(p + 3)) {
                    token.push_byte(s, hex_value(at(p + 2)) * 16 + hex_value(at(p + 3)));
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    let escaped = match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    };
                    token.push_byte(s, escaped);
                } else if c == b'"' {
                    // The closing quote must be followed by a space or nothing at all.
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    done = true;
                } else if c == 0 {
                    return Err(ProtocolError::UnbalancedQuotes);
                } else {
                    token.push_source(s, p);
                }
            } else if in_single {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    token.push_byte(s, b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    done = true;
                } else if c == 0 {
                    return Err(ProtocolError::UnbalancedQuotes);
                } else {
                    token.push_source(s, p);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    _ => token.push_source(s, p),
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        args.push(token.finish(line));
    }
}

/// An argument being built: a slice of the line while its bytes are contiguous there, an
/// owned copy once an escape or a quote breaks the run.
enum Token {
    Span(std::ops::Range<usize>),
    Owned(Vec<u8>),
}

impl Token {
    /// Appends the line's byte at `p`.
    fn push_source(&mut self, line: &[u8], p: usize) {
        match self {
            Token::Span(r) if r.start == r.end => *r = p..p + 1,
            Token::Span(r) if r.end == p => r.end += 1,
            _ => self.push_byte(line, line[p]),
        }
    }

    /// Appends a byte that is not (or not at this place) in the line.
    fn push_byte(&mut self, line: &[u8], byte: u8) {
        if let Token::Span(r) = self {
            *self = Token::Owned(line[r.clone()].to_vec());
        }
        if let Token::Owned(v) = self {
            v.push(byte);
        }
    }

    fn finish(self, line: &Bytes) -> Bytes {
        match self {
            Token::Span(r) => line.slice(r),
            Token::Owned(v) => Bytes::from(v),
        }
    }
}

/// C `isspace` in the C locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

fn hex_value(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

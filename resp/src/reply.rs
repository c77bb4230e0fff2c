//! Replies and their RESP2/RESP3 encoding.
//!
//! A command builds a [`Reply`]; the connection encodes it for the protocol the client chose
//! with `HELLO`. Each variant maps to what the matching Redis `addReply*` call sends in each
//! protocol (a RESP3 map is a flat array in RESP2, a boolean an integer, and so on).
//!
//! Integers and bulk strings — most replies — are the same bytes in RESP2 and RESP3 and are written
//! here: redis-protocol sizes each frame first, counting digits with `f64::log10` (6% of LRANGE 100's
//! CPU, and wrong past 15 digits, see `settle`). The other scalars with data go through its
//! borrowed-frame encoders, which write from `&[u8]` without cloning `Bytes`. Aggregates are written as a header
//! followed by each element in turn, so no frame tree is ever built. Fixed replies (`+OK`,
//! nulls) are constants. Errors are written here: Redis errors may carry any byte (the
//! `'%c'` of a protocol error, a quoted user key) and redis-protocol's error frames are `&str`.
//! Status and error text has `\r` and `\n` turned into spaces, as Redis's
//! `addReplyErrorFormat` does, so a reply can never break the framing.

mod double;

pub use double::DoubleFormat;

use bytes::{BufMut, Bytes, BytesMut};
use redis_protocol::error::RedisProtocolError;
use redis_protocol::resp2::{
    encode::extend_encode_borrowed as encode2, types::BorrowedFrame as Frame2,
};
use redis_protocol::resp3::encode::complete::extend_encode_borrowed as encode3;
use redis_protocol::resp3::types::{BorrowedFrame as Frame3, VerbatimStringFormat};

/// The protocol a connection speaks (`HELLO 2` / `HELLO 3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Resp2,
    Resp3,
}

/// A reply to one command.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `+OK`
    Ok,
    /// `+<text>`, e.g. `PONG`, `QUEUED`.
    Simple(&'static str),
    /// `+<text>`
    SimpleOwned(Bytes),
    /// `-<text>`: the full text including the code, e.g. `ERR syntax error`.
    Error(Bytes),
    /// Same as [`Reply::Error`], static text.
    StaticError(&'static str),
    /// `:<n>`
    Integer(i64),
    /// `$<len>` + data.
    Bulk(Bytes),
    /// RESP2 `$-1`, RESP3 `_`.
    Null,
    /// RESP2 `*-1`, RESP3 `_`.
    NullArray,
    Array(Vec<Reply>),
    /// RESP3 `%`; RESP2 a flat array of 2n.
    Map(Vec<(Reply, Reply)>),
    /// RESP3 `~`; RESP2 an array.
    Set(Vec<Reply>),
    /// RESP3 `,`; RESP2 a bulk string. Printed per [`DoubleFormat`].
    Double(f64),
    /// RESP3 `#t`/`#f`; RESP2 `:1`/`:0`.
    Boolean(bool),
    /// RESP3 `=<len>\r\n<format>:<text>`; RESP2 a bulk string of the text.
    Verbatim {
        format: [u8; 3],
        text: Bytes,
    },
    /// RESP3 `>`; RESP2 an array.
    Push(Vec<Reply>),
    /// Several replies written back to back, with no header of their own: what a command that answers
    /// more than once sends (SUBSCRIBE a b: a confirmation per channel). Inside EXEC's array, which Redis
    /// sizes by commands, not replies, they stay flat too: `*1` followed by two confirmations.
    Frames(Vec<Reply>),
    /// RESP3 an array of 2-element arrays; RESP2 a flat array of 2n (Redis 7's WITHSCORES and WITHVALUES
    /// replies: ZRANGE, ZPOPMIN with a count, ZRANDMEMBER, HRANDFIELD, ...).
    Pairs(Vec<(Reply, Reply)>),
    /// Bytes already encoded, identical in RESP2 and RESP3: an array of bulk strings built by
    /// [`BulkArray`] while a command reads its elements (LRANGE), with no `Reply` per element.
    Encoded(Bytes),
}

/// Writes an array of `n` bulk strings straight into its RESP encoding (the same bytes in RESP2 and
/// RESP3). For replies of many elements read in one pass: one buffer instead of a `Bytes` and a
/// `Reply` per element (LRANGE 100: ~15% of its CPU went to building and walking those).
#[derive(Debug)]
pub struct BulkArray {
    buf: BytesMut,
    left: usize,
}

impl BulkArray {
    /// An array of exactly `n` elements of about `bytes` bytes in all.
    pub fn new(n: usize, bytes: usize) -> BulkArray {
        let mut buf = BytesMut::with_capacity(16 + bytes + n * 16);
        header(b'*', n, &mut buf);
        BulkArray { buf, left: n }
    }

    /// Appends the next element.
    pub fn push(&mut self, data: &[u8]) {
        debug_assert!(self.left > 0, "more elements than announced");
        self.left = self.left.saturating_sub(1);
        put_bulk(data, &mut self.buf);
    }

    /// Elements still to push.
    pub fn left(&self) -> usize {
        self.left
    }

    /// The reply; every announced element must have been pushed.
    pub fn finish(self) -> Reply {
        assert_eq!(self.left, 0, "fewer elements than announced");
        Reply::Encoded(self.buf.freeze())
    }
}

impl Reply {
    /// An error reply; `text` includes the code (`"ERR ..."`, `"WRONGTYPE ..."`).
    pub fn error(text: impl Into<Bytes>) -> Reply {
        Reply::Error(text.into())
    }

    /// Appends the reply to `out`, printing doubles as Redis 7.2+ does.
    pub fn encode(&self, proto: Protocol, out: &mut BytesMut) {
        self.encode_with(proto, DoubleFormat::default(), out);
    }

    /// Appends the reply to `out`, printing doubles in the given Redis version's style.
    pub fn encode_with(&self, proto: Protocol, doubles: DoubleFormat, out: &mut BytesMut) {
        let resp3 = proto == Protocol::Resp3;
        match self {
            Reply::Ok => out.extend_from_slice(b"+OK\r\n"),
            Reply::Simple(text) => simple(proto, text.as_bytes(), out),
            Reply::SimpleOwned(text) => simple(proto, text, out),
            Reply::Error(text) => line(b'-', text, out),
            Reply::StaticError(text) => line(b'-', text.as_bytes(), out),
            Reply::Integer(n) => put_integer(*n, out),
            Reply::Bulk(data) => put_bulk(data, out),
            Reply::Null if resp3 => out.extend_from_slice(b"_\r\n"),
            Reply::Null => out.extend_from_slice(b"$-1\r\n"),
            Reply::NullArray if resp3 => out.extend_from_slice(b"_\r\n"),
            Reply::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Reply::Array(items) => {
                header(b'*', items.len(), out);
                items
                    .iter()
                    .for_each(|r| r.encode_with(proto, doubles, out));
            }
            Reply::Set(items) => {
                header(if resp3 { b'~' } else { b'*' }, items.len(), out);
                items
                    .iter()
                    .for_each(|r| r.encode_with(proto, doubles, out));
            }
            Reply::Push(items) => {
                header(if resp3 { b'>' } else { b'*' }, items.len(), out);
                items
                    .iter()
                    .for_each(|r| r.encode_with(proto, doubles, out));
            }
            Reply::Frames(items) => items
                .iter()
                .for_each(|r| r.encode_with(proto, doubles, out)),
            Reply::Map(pairs) => {
                if resp3 {
                    header(b'%', pairs.len(), out);
                } else {
                    header(b'*', pairs.len() * 2, out);
                }
                for (key, value) in pairs {
                    key.encode_with(proto, doubles, out);
                    value.encode_with(proto, doubles, out);
                }
            }
            Reply::Pairs(pairs) => {
                header(b'*', if resp3 { pairs.len() } else { pairs.len() * 2 }, out);
                for (first, second) in pairs {
                    if resp3 {
                        out.extend_from_slice(b"*2\r\n");
                    }
                    first.encode_with(proto, doubles, out);
                    second.encode_with(proto, doubles, out);
                }
            }
            Reply::Double(d) => {
                let text = double::format_double(*d, doubles);
                if resp3 {
                    line(b',', text.as_bytes(), out);
                } else {
                    put_bulk(text.as_bytes(), out);
                }
            }
            Reply::Boolean(b) if resp3 => boolean(*b, out),
            Reply::Boolean(b) => put_integer(i64::from(*b), out),
            Reply::Verbatim { text, .. } if !resp3 => put_bulk(text, out),
            Reply::Verbatim { format, text } => verbatim(format, text, out),
            Reply::Encoded(bytes) => out.extend_from_slice(bytes),
        }
    }
}

fn simple(proto: Protocol, text: &[u8], out: &mut BytesMut) {
    if has_line_break(text) {
        return line(b'+', text, out);
    }
    let fallback = |out: &mut BytesMut| line(b'+', text, out);
    match proto {
        Protocol::Resp2 => frame2(&Frame2::SimpleString(text), out, fallback),
        Protocol::Resp3 => {
            let frame = Frame3::SimpleString {
                data: text,
                attributes: None,
            };
            frame3(&frame, out, fallback)
        }
    }
}

fn boolean(b: bool, out: &mut BytesMut) {
    let frame = Frame3::Boolean {
        data: b,
        attributes: None,
    };
    let fallback =
        |out: &mut BytesMut| out.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
    frame3(&frame, out, fallback);
}

fn verbatim(format: &[u8; 3], text: &[u8], out: &mut BytesMut) {
    let fallback = |out: &mut BytesMut| put_verbatim(format, text, out);
    let known = match format {
        b"txt" => Some(VerbatimStringFormat::Text),
        b"mkd" => Some(VerbatimStringFormat::Markdown),
        _ => None,
    };
    match known {
        Some(format) => {
            let frame = Frame3::VerbatimString {
                data: text,
                format,
                attributes: None,
            };
            frame3(&frame, out, fallback)
        }
        None => fallback(out),
    }
}

fn frame2(frame: &Frame2, out: &mut BytesMut, fallback: impl FnOnce(&mut BytesMut)) {
    let start = out.len();
    settle(start, encode2(out, frame, false), out, fallback);
}

fn frame3(frame: &Frame3, out: &mut BytesMut, fallback: impl FnOnce(&mut BytesMut)) {
    let start = out.len();
    settle(start, encode3(out, frame, false), out, fallback);
}

/// Trims what redis-protocol appended to what it actually wrote. Its size estimate counts
/// digits with `f64::log10`, which says 17 for 9999999999999999, and the unwritten byte would
/// otherwise go out as a NUL. Should it ever estimate short and fail, our own writer takes
/// over rather than dropping the reply.
fn settle(
    start: usize,
    written: Result<usize, RedisProtocolError>,
    out: &mut BytesMut,
    fallback: impl FnOnce(&mut BytesMut),
) {
    match written {
        Ok(n) => out.truncate(start + n),
        Err(_) => {
            out.truncate(start);
            fallback(out);
        }
    }
}

/// `:<n>\r\n`
fn put_integer(n: i64, out: &mut BytesMut) {
    put_line(b':', itoa::Buffer::new().format(n).as_bytes(), out);
}

/// `$<len>\r\n<data>\r\n`
fn put_bulk(data: &[u8], out: &mut BytesMut) {
    out.reserve(data.len() + 24);
    header(b'$', data.len(), out);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// `=<len>\r\n<format>:<text>\r\n`
fn put_verbatim(format: &[u8; 3], text: &[u8], out: &mut BytesMut) {
    header(b'=', text.len() + 4, out);
    out.reserve(text.len() + 6);
    out.put_slice(format);
    out.put_u8(b':');
    out.put_slice(text);
    out.put_slice(b"\r\n");
}

/// `<prefix><n>\r\n`
fn header(prefix: u8, n: usize, out: &mut BytesMut) {
    put_line(prefix, itoa::Buffer::new().format(n).as_bytes(), out);
}

/// `<prefix><digits>\r\n` in one copy (a header is written per element of every array reply).
#[inline]
fn put_line(prefix: u8, digits: &[u8], out: &mut BytesMut) {
    let mut line = [0u8; 24];
    let n = digits.len();
    line[0] = prefix;
    line[1..1 + n].copy_from_slice(digits);
    line[1 + n..3 + n].copy_from_slice(b"\r\n");
    out.extend_from_slice(&line[..3 + n]);
}

/// `<prefix><text>\r\n` with line breaks in `text` turned into spaces.
fn line(prefix: u8, text: &[u8], out: &mut BytesMut) {
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    if has_line_break(text) {
        out.extend(
            text.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
    } else {
        out.put_slice(text);
    }
    out.put_slice(b"\r\n");
}

fn has_line_break(text: &[u8]) -> bool {
    text.iter().any(|&b| b == b'\r' || b == b'\n')
}

#[cfg(test)]
mod tests;

//! One TCP connection to one server: buffered writes, buffered reads, and the FIFO of requests
//! waiting for their replies.
//!
//! RESP replies come back in request order on a connection, so matching a reply to its request
//! is a `pop_front` — no ids, no maps. Connections are opened and authenticated with blocking
//! calls and timeouts, then switched to non-blocking mode for the event loop.
//!
//! Replies are framed with `redis_protocol::resp2::decode::decode_range`, which returns byte
//! ranges into our read buffer instead of copying: a reply is only looked at to decide whether it
//! is an error (and, in cluster mode, a redirect).

use anyhow::{anyhow, bail, Context as _, Result};
use redis_protocol::resp2::{decode::decode_range, types::RangeFrame};
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

/// What a queued reply belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingKind {
    /// A workload request: its reply is timed and counted.
    Request,
    /// The `ASKING` sent before a request redirected by `-ASK`: its reply is swallowed.
    Asking,
}

/// A request whose reply has not arrived yet. Everything needed to re-send it after a redirect
/// is here (the key is regenerated from its number), so no request bytes are kept.
#[derive(Clone, Copy, Debug)]
pub struct Pending {
    /// When the request was sent (closed loop) or was due (open loop), ns since the run began.
    pub start_ns: u64,
    pub key: u64,
    pub value_offset: u32,
    pub value_size: u32,
    pub cmd: u16,
    pub redirects: u8,
    pub kind: PendingKind,
}

/// A reply taken off the wire: the request it answers and, for error replies, the range of the
/// error text in the read buffer.
pub type Reply = (Pending, Option<(usize, usize)>);

pub struct Conn {
    pub addr: String,
    stream: TcpStream,
    pub wbuf: Vec<u8>,
    wpos: usize,
    /// Write interest is registered with the poller (a write was incomplete).
    pub want_write: bool,
    rbuf: Vec<u8>,
    rpos: usize,
    rlen: usize,
    pub pending: VecDeque<Pending>,
}

const READ_BUFFER: usize = 32 * 1024;

impl Conn {
    /// Connects, runs the set-up commands (AUTH ...) and switches to non-blocking mode.
    /// Every step is bounded by `timeout`.
    pub fn open(addr: &str, setup: &[Vec<u8>], timeout: Duration) -> Result<Conn> {
        let sockaddr = addr
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {addr}"))?
            .next()
            .ok_or_else(|| anyhow!("{addr} resolves to no address"))?;
        let stream = TcpStream::connect_timeout(&sockaddr, timeout).map_err(|e| {
            if e.kind() == ErrorKind::TimedOut {
                anyhow!("cannot connect to {addr}: no answer within {timeout:?}")
            } else {
                anyhow!("cannot connect to {addr}: {e}")
            }
        })?;
        stream
            .set_nodelay(true)
            .and_then(|()| stream.set_read_timeout(Some(timeout)))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .with_context(|| format!("configuring the socket to {addr}"))?;
        let mut conn = Conn {
            addr: addr.to_string(),
            stream,
            wbuf: Vec::with_capacity(16 * 1024),
            wpos: 0,
            want_write: false,
            rbuf: vec![0; READ_BUFFER],
            rpos: 0,
            rlen: 0,
            pending: VecDeque::with_capacity(64),
        };
        conn.handshake(setup, timeout)?;
        conn.stream
            .set_nonblocking(true)
            .with_context(|| format!("configuring the socket to {addr}"))?;
        Ok(conn)
    }

    /// Sends set-up commands on the still-blocking socket and checks every reply.
    fn handshake(&mut self, commands: &[Vec<u8>], timeout: Duration) -> Result<()> {
        for cmd in commands {
            self.stream
                .write_all(cmd)
                .with_context(|| format!("sending set-up commands to {}", self.addr))?;
            loop {
                if self.rlen > 0 {
                    match decode_range(&self.rbuf[self.rpos..self.rlen]) {
                        Ok(Some((frame, used))) => {
                            let (start, end) = (self.rpos, self.rpos + used);
                            self.rpos = end;
                            if let RangeFrame::Error((a, b)) = frame {
                                let text =
                                    String::from_utf8_lossy(&self.rbuf[start + a..start + b]);
                                return Err(setup_error(&self.addr, &text));
                            }
                            break;
                        }
                        Ok(None) => {}
                        Err(e) => bail!("protocol error from {}: {e:?}", self.addr),
                    }
                }
                match self.stream.read(&mut self.rbuf[self.rlen..]) {
                    Ok(0) => bail!("{} closed the connection during set-up", self.addr),
                    Ok(n) => self.rlen += n,
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        bail!(
                            "{} did not answer the connection set-up within {timeout:?}",
                            self.addr
                        )
                    }
                    Err(e) => bail!("reading from {}: {e}", self.addr),
                }
            }
        }
        self.rpos = 0;
        self.rlen = 0;
        Ok(())
    }

    pub fn fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }

    /// Writes as much of the write buffer as the socket takes; `true` when all of it went out.
    #[inline]
    pub fn flush(&mut self) -> Result<bool> {
        while self.wpos < self.wbuf.len() {
            match self.stream.write(&self.wbuf[self.wpos..]) {
                Ok(0) => bail!("{} stopped accepting data", self.addr),
                Ok(n) => self.wpos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => bail!("writing to {}: {e}", self.addr),
            }
        }
        self.wbuf.clear();
        self.wpos = 0;
        Ok(true)
    }

    /// Reads whatever has arrived into the read buffer (one `recv`); 0 when nothing had.
    #[inline]
    pub fn fill(&mut self) -> Result<usize> {
        if self.rpos == self.rlen {
            self.rpos = 0;
            self.rlen = 0;
        } else if self.rlen == self.rbuf.len() {
            if self.rpos > 0 {
                self.rbuf.copy_within(self.rpos..self.rlen, 0);
                self.rlen -= self.rpos;
                self.rpos = 0;
            } else {
                // One reply larger than the buffer: grow.
                let len = self.rbuf.len() * 2;
                self.rbuf.resize(len, 0);
            }
        }
        match self.stream.read(&mut self.rbuf[self.rlen..]) {
            Ok(0) => bail!(
                "{} closed the connection ({} replies outstanding)",
                self.addr,
                self.pending.len()
            ),
            Ok(n) => {
                self.rlen += n;
                Ok(n)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => Ok(0),
            Err(e) => bail!("reading from {}: {e}", self.addr),
        }
    }

    /// The next complete reply in the read buffer, matched with its request.
    #[inline]
    pub fn next_reply(&mut self) -> Result<Option<Reply>> {
        if self.rpos == self.rlen {
            return Ok(None);
        }
        match scan_scalar(&self.rbuf[self.rpos..self.rlen]) {
            Scan::Frame { used, error } => {
                let base = self.rpos;
                self.rpos += used;
                let Some(p) = self.pending.pop_front() else {
                    bail!("{} sent a reply nobody asked for", self.addr);
                };
                return Ok(Some((p, error.map(|(a, b)| (base + a, base + b)))));
            }
            Scan::Incomplete => return Ok(None),
            Scan::Other => {}
        }
        match decode_range(&self.rbuf[self.rpos..self.rlen]) {
            Ok(Some((frame, used))) => {
                let base = self.rpos;
                self.rpos += used;
                let err = match frame {
                    RangeFrame::Error((a, b)) => Some((base + a, base + b)),
                    _ => None,
                };
                let Some(p) = self.pending.pop_front() else {
                    bail!("{} sent a reply nobody asked for", self.addr);
                };
                Ok(Some((p, err)))
            }
            Ok(None) => Ok(None),
            Err(e) => bail!("protocol error from {}: {e:?}", self.addr),
        }
    }

    /// The text of an error reply returned by [`Conn::next_reply`].
    pub fn error_text(&self, range: (usize, usize)) -> &[u8] {
        &self.rbuf[range.0..range.1]
    }
}

/// What the fast scan made of the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    /// A whole reply of `used` bytes; `error` is the range of the text of an error reply.
    Frame {
        used: usize,
        error: Option<(usize, usize)>,
    },
    /// A simple reply whose end has not arrived yet.
    Incomplete,
    /// Not a reply the fast scan handles (arrays, nulls, anything odd): use `decode_range`.
    Other,
}

/// Frames the replies almost every benchmark gets — `+OK`, `-ERR ...`, `:1`, `$3 abc` — without
/// going through the general parser, which costs a few percent of the client's CPU at
/// pipeline 16. Anything else, including anything malformed, is left to `decode_range`, which
/// also produces the protocol errors.
#[inline]
fn scan_scalar(buf: &[u8]) -> Scan {
    match buf[0] {
        b'+' | b'-' | b':' => match buf.iter().position(|&b| b == b'\n') {
            Some(nl) if nl >= 2 && buf[nl - 1] == b'\r' => {
                if buf[0] == b':' && !is_integer(&buf[1..nl - 1]) {
                    return Scan::Other;
                }
                Scan::Frame {
                    used: nl + 1,
                    error: (buf[0] == b'-').then_some((1, nl - 1)),
                }
            }
            Some(_) => Scan::Other,
            None => Scan::Incomplete,
        },
        b'$' if buf.get(1) == Some(&b'-') => {
            const NULL: &[u8] = b"$-1\r\n";
            if buf.starts_with(NULL) {
                Scan::Frame {
                    used: NULL.len(),
                    error: None,
                }
            } else if NULL.starts_with(buf) {
                Scan::Incomplete
            } else {
                Scan::Other
            }
        }
        b'$' => {
            let mut len = 0usize;
            let mut i = 1;
            while i < buf.len() && i <= 10 && buf[i].is_ascii_digit() {
                len = len * 10 + usize::from(buf[i] - b'0');
                i += 1;
            }
            if i == buf.len() {
                return Scan::Incomplete;
            }
            if i == 1 || buf[i] != b'\r' || buf.get(i + 1).is_some_and(|&b| b != b'\n') {
                return Scan::Other;
            }
            let trailer = i + 2 + len;
            let end = trailer + 2;
            for (k, &b) in buf.iter().enumerate().take(end).skip(trailer) {
                if b != b"\r\n"[k - trailer] {
                    return Scan::Other;
                }
            }
            if buf.len() < end {
                return Scan::Incomplete;
            }
            Scan::Frame {
                used: end,
                error: None,
            }
        }
        _ => Scan::Other,
    }
}

fn is_integer(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    !digits.is_empty() && digits.len() <= 19 && digits.iter().all(u8::is_ascii_digit)
}

/// Turns a failed set-up command into a message that says what to do.
pub fn setup_error(addr: &str, text: &str) -> anyhow::Error {
    if text.starts_with("NOAUTH") {
        anyhow!("{addr} requires authentication ({text}); pass --password (and --user)")
    } else if text.starts_with("WRONGPASS") || text.contains("invalid password") {
        anyhow!("AUTH failed on {addr}: {text}")
    } else {
        anyhow!("{addr} rejected the connection set-up: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast scan agrees with redis-protocol on every prefix of every input it accepts.
    #[test]
    fn scan_agrees_with_decode_range() {
        let inputs: [&[u8]; 15] = [
            b"+OK\r\n",
            b"-ERR value is not an integer or out of range\r\n",
            b":12345\r\n",
            b"$3\r\nabc\r\n",
            b"$0\r\n\r\n",
            b"$12\r\nhello\r\nworld\r\n",
            b"$-1\r\n",
            b"*2\r\n$1\r\na\r\n:1\r\n",
            b"+OK\n",
            b"$3\r\nabcd\r\n",
            b"$x\r\n",
            b"?what\r\n",
            b":-7\r\n",
            b":1x\r\n",
            b"$-1\r\nx",
        ];
        for input in inputs {
            for cut in 1..=input.len() {
                let part = &input[..cut];
                let reference = decode_range(part);
                match scan_scalar(part) {
                    Scan::Frame { used, error } => {
                        let (frame, n) = reference
                            .unwrap_or_else(|e| panic!("{part:?}: scan accepted, parser: {e:?}"))
                            .unwrap_or_else(|| {
                                panic!("{part:?}: scan accepted an incomplete frame")
                            });
                        assert_eq!(used, n, "{part:?}");
                        match frame {
                            RangeFrame::Error(r) => assert_eq!(error, Some(r), "{part:?}"),
                            _ => assert_eq!(error, None, "{part:?}"),
                        }
                    }
                    Scan::Incomplete => assert!(
                        matches!(reference, Ok(None)),
                        "{part:?}: scan says incomplete, parser says {reference:?}"
                    ),
                    Scan::Other => {}
                }
            }
        }
        assert_eq!(
            scan_scalar(b"+OK\r\n+OK\r\n"),
            Scan::Frame {
                used: 5,
                error: None
            }
        );
        assert_eq!(
            scan_scalar(b"$-1\r\n+OK"),
            Scan::Frame {
                used: 5,
                error: None
            }
        );
        assert_eq!(scan_scalar(b"$-2\r\n"), Scan::Other);
        assert_eq!(scan_scalar(b"*1\r\n"), Scan::Other);
    }
}

//! One TCP connection to one server: buffered writes, buffered reads, and the FIFO of requests
//! waiting for their replies.
//!
//! RESP replies come back in request order on a connection, so matching a reply to its request
//! is a `pop_front` — no ids, no maps. The connection exposes poll-style methods instead of
//! `async fn`s so that one client task can drive several connections (one per cluster node) from
//! a single `poll_fn` without spawning a task or allocating a future per request.
//!
//! Replies are framed with `redis_protocol::resp2::decode::decode_range`, which returns byte
//! ranges into our read buffer instead of copying: a reply is only looked at to decide whether it
//! is an error (and, in cluster mode, a redirect).

use anyhow::{anyhow, bail, Context as _, Result};
use futures_lite::{AsyncRead, AsyncWrite};
use glommio::net::TcpStream;
use redis_protocol::resp2::{decode::decode_range, types::RangeFrame};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::net::ToSocketAddrs;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// What a queued reply belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingKind {
    /// A workload request: its reply is timed and counted.
    Request,
    /// The `ASKING` sent before a request redirected by `-ASK`: its reply is swallowed.
    Asking,
    /// A set-up command (AUTH, SELECT, READONLY): any error is fatal.
    Setup,
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
    rbuf: Vec<u8>,
    rpos: usize,
    rlen: usize,
    pub pending: VecDeque<Pending>,
}

const READ_BUFFER: usize = 32 * 1024;

impl Conn {
    /// Connects with a timeout and disables Nagle (latency, not throughput, is the point).
    pub async fn connect(addr: &str, timeout: Duration) -> Result<Conn> {
        let sockaddr = addr
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {addr}"))?
            .next()
            .ok_or_else(|| anyhow!("{addr} resolves to no address"))?;
        let stream = TcpStream::connect_timeout(sockaddr, timeout)
            .await
            .map_err(|e| anyhow!("cannot connect to {addr}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| anyhow!("setting TCP_NODELAY on {addr}: {e}"))?;
        Ok(Conn {
            addr: addr.to_string(),
            stream,
            wbuf: Vec::with_capacity(16 * 1024),
            wpos: 0,
            rbuf: vec![0; READ_BUFFER],
            rpos: 0,
            rlen: 0,
            pending: VecDeque::with_capacity(64),
        })
    }

    /// Sends set-up commands (already encoded) and checks that none of them fails.
    pub async fn handshake(&mut self, commands: &[Vec<u8>], timeout: Duration) -> Result<()> {
        if commands.is_empty() {
            return Ok(());
        }
        for c in commands {
            self.wbuf.extend_from_slice(c);
            self.pending.push_back(Pending {
                start_ns: 0,
                key: 0,
                value_offset: 0,
                value_size: 0,
                cmd: 0,
                redirects: 0,
                kind: PendingKind::Setup,
            });
        }
        let addr = self.addr.clone();
        let io = poll_fn(|cx| -> Poll<Result<()>> {
            loop {
                if let Poll::Ready(Err(e)) = self.poll_flush(cx) {
                    return Poll::Ready(Err(e));
                }
                while let Some((_, err)) = self.next_reply()? {
                    if let Some(r) = err {
                        let text = String::from_utf8_lossy(self.error_text(r)).into_owned();
                        return Poll::Ready(Err(setup_error(&self.addr, &text)));
                    }
                }
                if self.pending.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                match self.poll_fill(cx) {
                    Poll::Ready(Ok(_)) => continue,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
        });
        futures_lite::future::or(io, async move {
            glommio::timer::sleep(timeout).await;
            Err(anyhow!(
                "{addr} did not answer the connection set-up within {timeout:?}"
            ))
        })
        .await
    }

    /// Writes as much of the write buffer as the socket takes.
    #[inline]
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        while self.wpos < self.wbuf.len() {
            match Pin::new(&mut self.stream).poll_write(cx, &self.wbuf[self.wpos..]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(anyhow!("{} stopped accepting data", self.addr)))
                }
                Poll::Ready(Ok(n)) => self.wpos += n,
                Poll::Ready(Err(e)) => {
                    return Poll::Ready(Err(anyhow!("writing to {}: {e}", self.addr)))
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        self.wbuf.clear();
        self.wpos = 0;
        Poll::Ready(Ok(()))
    }

    /// Reads whatever has arrived into the read buffer.
    #[inline]
    pub fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<usize>> {
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
        match Pin::new(&mut self.stream).poll_read(cx, &mut self.rbuf[self.rlen..]) {
            Poll::Ready(Ok(0)) => Poll::Ready(Err(anyhow!(
                "{} closed the connection ({} replies outstanding)",
                self.addr,
                self.pending.len()
            ))),
            Poll::Ready(Ok(n)) => {
                self.rlen += n;
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(anyhow!("reading from {}: {e}", self.addr))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The next complete reply in the read buffer, matched with its request.
    #[inline]
    pub fn next_reply(&mut self) -> Result<Option<Reply>> {
        if self.rpos == self.rlen {
            return Ok(None);
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

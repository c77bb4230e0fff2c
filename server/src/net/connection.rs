//! One connection: read requests, dispatch them, write replies in request order.
//!
//! The loop reads whatever the socket has, decodes every complete request in the buffer (a pipeline
//! arrives as one read), dispatches each, and writes all replies with one `write`. Hot path: a request for a
//! key on this core is decoded into `Bytes` slices of the read buffer, run against the store and encoded
//! straight into the write buffer — no allocation beyond the argument vector and the value copied out of
//! RocksDB.
//!
//! Replies that are not ready at once — a request forwarded to another core, a write waiting for the group
//! fsync — are queued with the replies after them, so the client always sees request order. A spread
//! command (keys on several cores) is a barrier: requests after it are dispatched only when it is done, so
//! a pipeline never observes its own writes out of order. Before waiting on a reply that is not ready,
//! the replies before it that are go out: a BLPOP blocked mid-pipeline does not hold back the replies of
//! the requests sent before it.
//!
//! A subscribed connection (Pub/Sub) also waits for messages: publishers leave them in its mailbox
//! (`shard::pubsub`) and wake it. Messages join the reply stream where they arrived: those that came before
//! a request was dispatched, or during it (a PUBLISH to oneself), go before its reply; those that come
//! while replies are pending queue behind them. An idle subscriber writes them out as they come.
//!
//! Memory per connection stays bounded: replies are flushed to the socket whenever the write buffer passes
//! `FLUSH_AT`, a connection whose queued replies pass `client-output-buffer-limit` is dropped, and one that
//! stays above the soft limit for `client-output-buffer-soft-seconds` (it is not reading) is dropped too.
//! A subscribed connection is held to the pubsub class of `client-output-buffer-limit` instead, its
//! backlog of messages included (the mailbox enforces it as messages arrive).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use resp::{Protocol, Reply, RequestDecoder};

use super::client::ClientState;
use crate::cmd::ReplyFuture;
use crate::shard::pubsub::Mailbox;
use crate::shard::{Dispatch, Shard};

/// Read sizes adapt between these: small reads keep the per-read zeroing of the buffer cheap, a read that
/// fills its space doubles the next one.
const READ_MIN: usize = 4 * 1024;
const READ_MAX: usize = 256 * 1024;
const READ_CHUNK: usize = 16 * 1024;
/// Write buffered replies out once they pass this size, even mid-pipeline.
const FLUSH_AT: usize = 64 * 1024;

/// A reply not written yet, with the protocol to encode it in — `None` when the client turned replies off
/// (CLIENT REPLY OFF/SKIP) for that command.
enum Pending {
    Ready(Reply, Option<Protocol>),
    Durable(Reply, u64, Option<Protocol>),
    Remote(ReplyFuture, Option<Protocol>),
    /// Already encoded: Pub/Sub messages, subscribe confirmations.
    Raw(BytesMut),
}

fn encode(reply: &Reply, proto: Option<Protocol>, wbuf: &mut BytesMut) {
    if let Some(proto) = proto {
        reply.encode(proto, wbuf);
    }
}

/// Moves the messages waiting in the mailbox into the reply stream at this point: straight into `wbuf`
/// when no reply is pending, else behind the pending replies.
fn pump(
    mailbox: Option<&Mailbox>,
    proto: Protocol,
    queue: &mut VecDeque<Pending>,
    wbuf: &mut BytesMut,
) {
    let Some(mb) = mailbox.filter(|m| m.has_messages()) else {
        return;
    };
    if queue.is_empty() {
        mb.take_into(proto, wbuf);
    } else {
        let mut out = BytesMut::new();
        mb.take_into(proto, &mut out);
        queue.push_back(Pending::Raw(out));
    }
}

/// Why a connection ended (debug log).
#[derive(Debug)]
enum Close {
    Peer,
    Quit,
    Error,
    /// A subscriber's backlog passed the pubsub output limit.
    OutputLimit,
}

pub async fn serve(shard: Rc<Shard>, mut stream: TcpStream, client: Rc<RefCell<ClientState>>) {
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut wbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut decoder = RequestDecoder::new(shard.settings.borrow().limits());
    let mut queue: VecDeque<Pending> = VecDeque::new();
    let mut read_size = READ_MIN;
    // The connection's Pub/Sub mailbox, from its first subscription on.
    let mut mailbox: Option<Rc<Mailbox>> = None;

    let reason = 'conn: loop {
        // A subscription made where the dispatch below could not see it (an EXEC that settled as a
        // barrier) still gets its messages.
        if mailbox.is_none() {
            mailbox = client.borrow().pubsub.as_ref().map(|s| s.mailbox.clone());
        }
        // Read.
        let want = match decoder.bytes_needed_hint(&rbuf) {
            Some(hint) if hint > read_size => hint.min(64 * 1024 * 1024),
            _ => read_size,
        };
        let len = rbuf.len();
        rbuf.resize(len + want, 0);
        let subscribed = client.borrow().subscriptions() > 0;
        let timeout = shard.settings.borrow().timeout;
        let read = if let Some(mb) = mailbox.clone().filter(|_| subscribed) {
            // A subscriber waits for a request or a message, whichever comes first; like Redis, it is
            // exempt from the idle timeout. (A read cancelled here loses nothing: glommio reads with a
            // plain recv(2) once the socket polls readable.)
            let got = futures_lite::future::or(
                async { Some(stream.read(&mut rbuf[len..]).await) },
                async {
                    mb.wait().await;
                    None
                },
            )
            .await;
            match got {
                Some(r) => r,
                None => {
                    rbuf.truncate(len);
                    if mb.is_cut_off() {
                        break 'conn Close::OutputLimit;
                    }
                    let proto = client.borrow().protocol;
                    mb.take_into(proto, &mut wbuf);
                    if write_out(&shard, &client, &mut stream, &mut wbuf)
                        .await
                        .is_err()
                    {
                        break 'conn Close::Error;
                    }
                    continue 'conn;
                }
            }
        } else if timeout > 0 {
            match glommio::timer::timeout(Duration::from_secs(timeout), async {
                Ok(stream.read(&mut rbuf[len..]).await)
            })
            .await
            {
                Ok(r) => r,
                Err(_) => break 'conn Close::Peer,
            }
        } else {
            stream.read(&mut rbuf[len..]).await
        };
        let n = match read {
            Ok(0) | Err(_) => break 'conn Close::Peer,
            Ok(n) => n,
        };
        rbuf.truncate(len + n);
        read_size = if n == want {
            (read_size * 2).min(READ_MAX)
        } else if n < read_size / 4 {
            (read_size / 2).max(READ_MIN)
        } else {
            read_size
        };
        shard
            .stats
            .net_input_bytes
            .set(shard.stats.net_input_bytes.get() + n as u64);
        if client.borrow().killed.get() {
            break 'conn Close::Peer;
        }

        // Decode and dispatch every complete request; they share one clock reading.
        let mut batch_started = Instant::now();
        let mut batch_now_ms = crate::shard::now_ms();
        let mut pipelined = 0usize;
        loop {
            let authenticated =
                client.borrow().authenticated || !shard.settings.borrow().requires_auth();
            let req = match decoder.decode(&mut rbuf, authenticated) {
                Ok(Some(req)) => {
                    pipelined += 1;
                    req
                }
                Ok(None) => break,
                Err(e) => {
                    if drain(&shard, &client, &mut stream, &mut queue, &mut wbuf)
                        .await
                        .is_err()
                    {
                        break 'conn Close::Error;
                    }
                    let proto = client.borrow().protocol;
                    Reply::error(format!("ERR {e}")).encode(proto, &mut wbuf);
                    let _ = write_out(&shard, &client, &mut stream, &mut wbuf).await;
                    break 'conn Close::Error;
                }
            };
            let (dispatch, proto, suppress, frames) = {
                let mut c = client.borrow_mut();
                c.last_interaction = batch_started;
                pump(mailbox.as_deref(), c.protocol, &mut queue, &mut wbuf);
                let d = shard.dispatch(&mut c, req.args, batch_now_ms);
                if mailbox.is_none() {
                    mailbox = c.pubsub.as_ref().map(|s| s.mailbox.clone());
                }
                if !matches!(d, Dispatch::Barrier(_)) {
                    // Messages this command delivered to ourselves precede its reply, as in Redis.
                    pump(mailbox.as_deref(), c.protocol, &mut queue, &mut wbuf);
                }
                // (Un)subscribe confirmations are frames of their own, sent even with replies off.
                let frames = matches!(d, Dispatch::Done(Reply::Frames(_)));
                let skip = match c.reply_skip_decided.take() {
                    Some(skip) => skip,
                    None => c.reply_off || std::mem::take(&mut c.reply_skip_next),
                };
                let suppress = skip && !frames;
                (d, (!suppress).then_some(c.protocol), suppress, frames)
            };
            match dispatch {
                Dispatch::Done(reply) if frames => {
                    let proto = proto.expect("frames are never suppressed");
                    if queue.is_empty() {
                        reply.encode(proto, &mut wbuf);
                    } else {
                        let mut out = BytesMut::new();
                        reply.encode(proto, &mut out);
                        queue.push_back(Pending::Raw(out));
                    }
                }
                Dispatch::Done(reply) if queue.is_empty() => {
                    if !suppress {
                        encode(&reply, proto, &mut wbuf);
                    }
                }
                Dispatch::Done(reply) => queue.push_back(Pending::Ready(reply, proto)),
                Dispatch::Durable(reply, seq) => {
                    queue.push_back(Pending::Durable(reply, seq, proto))
                }
                Dispatch::Forward(mut fut) => {
                    shard.stats.forwarded.set(shard.stats.forwarded.get() + 1);
                    // Hand the request to its core now, so a pipeline's forwarded requests are all on
                    // their way (and their writes share the other core's group commit) instead of
                    // each leaving only when the replies before it are out.
                    match futures_lite::future::poll_once(&mut fut).await {
                        Some(reply) => queue.push_back(Pending::Ready(reply, proto)),
                        None => queue.push_back(Pending::Remote(fut, proto)),
                    }
                }
                Dispatch::Barrier(mut fut) => {
                    if drain(&shard, &client, &mut stream, &mut queue, &mut wbuf)
                        .await
                        .is_err()
                    {
                        // Never polled, so nothing started: dropped, as the rest of the pipeline is.
                        break 'conn Close::Error;
                    }
                    // A blocked BLPOP may wait for seconds: the replies before it go out first.
                    let Ok(reply) = settle(&mut fut, &shard, &client, &mut stream, &mut wbuf).await
                    else {
                        abandon(&mut fut, &stream).await;
                        break 'conn Close::Error;
                    };
                    let now_proto = client.borrow().protocol;
                    pump(mailbox.as_deref(), now_proto, &mut queue, &mut wbuf);
                    // In the protocol the connection has now: an EXEC that waited may have run a HELLO.
                    encode(&reply, proto.map(|_| now_proto), &mut wbuf);
                    // Time passed while waiting: later requests read the clock afresh.
                    batch_started = Instant::now();
                    batch_now_ms = crate::shard::now_ms();
                }
            }
            if client.borrow().killed.get() {
                // Closed by the server (a cross-protocol request): nothing more is written.
                break 'conn Close::Peer;
            }
            if client.borrow().close_after_reply {
                let _ = drain(&shard, &client, &mut stream, &mut queue, &mut wbuf).await;
                let _ = write_out(&shard, &client, &mut stream, &mut wbuf).await;
                break 'conn Close::Quit;
            }
            if wbuf.len() >= FLUSH_AT {
                if drain(&shard, &client, &mut stream, &mut queue, &mut wbuf)
                    .await
                    .is_err()
                    || write_out(&shard, &client, &mut stream, &mut wbuf)
                        .await
                        .is_err()
                {
                    break 'conn Close::Error;
                }
                // The flush may have waited on the socket or the disk.
                batch_started = Instant::now();
                batch_now_ms = crate::shard::now_ms();
            }
        }
        client.borrow_mut().query_buffer = rbuf.len();

        // Reply.
        // Replies that wait (for durability or another core) resume together with the other waiters of
        // their round, so their sends are back to back already.
        let waits = queue
            .iter()
            .any(|p| matches!(p, Pending::Durable(..) | Pending::Remote(..)));
        if drain(&shard, &client, &mut stream, &mut queue, &mut wbuf)
            .await
            .is_err()
        {
            break 'conn Close::Error;
        }
        let now_proto = client.borrow().protocol;
        pump(mailbox.as_deref(), now_proto, &mut queue, &mut wbuf);
        if pipelined > 1 && !waits && !wbuf.is_empty() {
            // A pipelining client's replies go out at the end of the executor's round, after every other
            // connection ready in it was served (Redis writes all replies before it sleeps, too): the
            // sends then come back to back, and the kernel wakes a client (an IPI on a VM) once per
            // round instead of once per send. Pipelined GET: the wake-up went from 13-17% of the server's
            // CPU to 3%. A single request's reply goes at once (measured neutral at -c 50), and so do
            // replies that waited (see `waits`).
            futures_lite::future::yield_now().await;
        }
        if write_out(&shard, &client, &mut stream, &mut wbuf)
            .await
            .is_err()
        {
            break 'conn Close::Error;
        }
        if shard.node.shutting_down() && rbuf.is_empty() {
            break 'conn Close::Quit;
        }
        // Give back memory after a large request.
        if rbuf.capacity() > 4 * 1024 * 1024 && rbuf.is_empty() {
            rbuf = BytesMut::with_capacity(READ_CHUNK);
        }
    };
    log::debug!("client id={} closed: {reason:?}", client.borrow().id);
    // Its watched keys are registered on their cores: give them back.
    crate::cmd::tx::forget(&shard, &mut client.borrow_mut());
    // Subscriptions are registered on this core: drop them before the socket closes.
    crate::cmd::pubsub::forget(&shard, &mut client.borrow_mut());
    let _ = stream.close().await;
}

/// Resolves every queued reply, in order, into `wbuf`.
async fn drain(
    shard: &Rc<Shard>,
    client: &Rc<RefCell<ClientState>>,
    stream: &mut TcpStream,
    queue: &mut VecDeque<Pending>,
    wbuf: &mut BytesMut,
) -> Result<(), ()> {
    while let Some(p) = queue.pop_front() {
        match p {
            Pending::Ready(reply, proto) => encode(&reply, proto, wbuf),
            Pending::Durable(reply, seq, proto) => {
                settle(&mut shard.durability.wait(seq), shard, client, stream, wbuf).await?;
                encode(&reply, proto, wbuf);
            }
            Pending::Remote(mut fut, proto) => {
                let reply = settle(&mut fut, shard, client, stream, wbuf).await?;
                encode(&reply, proto, wbuf);
            }
            Pending::Raw(bytes) => wbuf.extend_from_slice(&bytes),
        }
    }
    Ok(())
}

/// How long a connection that failed waits for its pending barrier before dropping it: more than the
/// longest interval between a blocked waiter's checks of its client's socket (one second).
const ABANDON_WAIT: Duration = Duration::from_secs(3);

/// Ends a connection whose barrier started and is still pending after a write to its client failed. A
/// blocking wait forwarded to another core is not cancelled by dropping its future, and it checks its
/// client's socket by descriptor number: closed at once, the number could go to the next connection
/// accepted, and the waiter would then take an element for a client that is gone. So the socket is shut down first (the
/// waiter sees the hang-up at its next check) and the barrier gets [`ABANDON_WAIT`] to end.
async fn abandon<F: Future + Unpin>(fut: &mut F, stream: &TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Both).await;
    let _ = glommio::timer::timeout(ABANDON_WAIT, async {
        fut.await;
        Ok(())
    })
    .await;
}

/// Awaits `fut`; if it is not ready at once, the replies already in `wbuf` are written out first, so a
/// client never waits for replies that exist behind one that does not (Redis sends each as it is made).
/// A pipeline whose replies are all ready, or all pending, still goes out in one write.
async fn settle<F: Future + Unpin>(
    fut: &mut F,
    shard: &Rc<Shard>,
    client: &Rc<RefCell<ClientState>>,
    stream: &mut TcpStream,
    wbuf: &mut BytesMut,
) -> Result<F::Output, ()> {
    if let Some(out) = futures_lite::future::poll_once(&mut *fut).await {
        return Ok(out);
    }
    write_out(shard, client, stream, wbuf).await?;
    Ok(fut.await)
}

/// Writes `wbuf` to the socket, enforcing the output buffer limits.
async fn write_out(
    shard: &Rc<Shard>,
    client: &Rc<RefCell<ClientState>>,
    stream: &mut TcpStream,
    wbuf: &mut BytesMut,
) -> Result<(), ()> {
    if wbuf.is_empty() {
        return Ok(());
    }
    let (hard, soft, soft_secs) = {
        let s = shard.settings.borrow();
        if client.borrow().subscriptions() > 0 {
            let (hard, soft, secs) = s.obuf_pubsub;
            (hard as usize, soft as usize, secs)
        } else {
            (
                s.client_output_buffer_limit as usize,
                s.client_output_buffer_soft_limit as usize,
                s.client_output_buffer_soft_seconds,
            )
        }
    };
    let len = wbuf.len();
    if hard != 0 && len > hard {
        log::warn!(
            "closing client id={}: {len} bytes of replies pass client-output-buffer-limit {hard}",
            client.borrow().id
        );
        return Err(());
    }
    client.borrow_mut().output_pending = len;
    let result = if soft != 0 && len > soft {
        match glommio::timer::timeout(Duration::from_secs(soft_secs.max(1)), async {
            Ok(stream.write_all(wbuf).await)
        })
        .await
        {
            Ok(r) => r.map_err(|_| ()),
            Err(_) => {
                log::warn!(
                    "closing client id={}: {len} bytes of replies above the soft limit for {soft_secs}s",
                    client.borrow().id
                );
                Err(())
            }
        }
    } else {
        stream.write_all(wbuf).await.map_err(|_| ())
    };
    shard
        .stats
        .net_output_bytes
        .set(shard.stats.net_output_bytes.get() + len as u64);
    {
        let mut c = client.borrow_mut();
        c.output_pending = 0;
        if let Some(subs) = &c.pubsub {
            subs.mailbox.written();
        }
    }
    wbuf.clear();
    if wbuf.capacity() > 4 * 1024 * 1024 {
        *wbuf = BytesMut::with_capacity(READ_CHUNK);
    }
    result
}

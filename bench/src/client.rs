//! One logical client: the request schedule, closed or open, and redirect handling.
//!
//! A client is a state machine driven by its thread's event loop (`engine`). Outside cluster
//! mode it has one connection; in cluster mode one per master, and each request goes to the
//! connection of its key's slot owner.
//!
//! **Closed loop** (the default): send `pipeline` requests, wait for all their replies, repeat.
//! Each request's latency runs from the moment its batch was written.
//!
//! **Open loop** (`--rate`): request *k* of this client is due at `phase + k × interval`. Due
//! requests are sent as soon as the connection has room (at most `pipeline` outstanding), and
//! latency runs from the *due* time, not from when the client got round to sending it. A
//! server stall therefore shows up in every request that should have been sent during it —
//! the coordinated-omission correction.
//!
//! The hot path — [`Client::issue`], [`Client::on_event`], [`Client::drain`] — does no
//! allocation for ordinary replies: keys are rewritten in place, requests are appended to the
//! connection's write buffer, replies are framed in the read buffer.

use crate::cli::RunConfig;
use crate::cluster::{host_of, key_slot, parse_redirect, Redirect, Topology};
use crate::conn::{Conn, Pending, PendingKind};
use crate::keygen::KeyGen;
use crate::poller::{Event, Poller};
use crate::stats::RunStats;
use crate::workload::{Workload, VALUE_POOL_SLACK};
use anyhow::{bail, Context, Result};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ASKING: &[u8] = b"*1\r\n$6\r\nASKING\r\n";
/// A request bounced more often than this is counted as an error.
const MAX_REDIRECTS: u8 = 16;
/// Bits of a poller token that hold the node index; the rest is the client's slot.
pub const NODE_BITS: u32 = 16;
/// Most nodes one client will open connections to.
const MAX_NODES: usize = 1024;

/// What every client of one thread shares.
pub struct ThreadCtx {
    pub cfg: Arc<RunConfig>,
    pub wl: Arc<Workload>,
    pub topo: RefCell<Topology>,
    pub stats: RefCell<RunStats>,
    /// Time zero of the run (the same instant on every thread).
    pub base: Instant,
    /// Requests due before this are warm-up.
    pub measure_start_ns: u64,
    /// No request is sent at or after this (duration mode).
    pub end_ns: Option<u64>,
    /// Set when another thread failed: stop sending, drain, return.
    pub stop: Arc<AtomicBool>,
    /// Set by Ctrl-C.
    pub interrupt: Arc<AtomicBool>,
    pub setup: Vec<Vec<u8>>,
    pub timeout: Duration,
}

impl ThreadCtx {
    #[inline]
    pub fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.interrupt.load(Ordering::Relaxed)
    }
}

pub struct Client {
    ctx: Rc<ThreadCtx>,
    wl: Arc<Workload>,
    /// Position of this client in its thread (the high bits of its poller tokens).
    slot: usize,
    /// Position among all clients (keys, quota, phase).
    index: usize,
    conns: Vec<Option<Conn>>,
    keygen: KeyGen,
    key: Vec<u8>,
    pattern_pos: usize,
    value_offset: usize,
    /// Measured requests this client still has to send (request-count mode).
    quota: Option<u64>,
    pub outstanding: usize,
    cluster: bool,
    /// Still sending new requests.
    issuing: bool,
    /// Open loop: the next request's number and the schedule.
    next_k: u64,
    interval_ns: f64,
    phase_ns: f64,
    /// Last time a reply arrived or a wait began (for the watchdog).
    pub last_progress_ns: u64,
    /// Open loop, duration mode: requests due before the end that were never sent.
    pub unsent: u64,
}

impl Client {
    /// Builds a client over connections already open (index = node).
    pub fn new(ctx: Rc<ThreadCtx>, slot: usize, index: usize, conns: Vec<Option<Conn>>) -> Self {
        let cfg = &ctx.cfg;
        let wl = ctx.wl.clone();
        let clients = cfg.clients as u64;
        let quota = cfg
            .requests
            .map(|n| n / clients + u64::from((index as u64) < n % clients));
        let seed = cfg
            .seed
            .wrapping_add((index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let interval_ns = cfg.rate.map_or(0.0, |r| cfg.clients as f64 * 1e9 / r);
        Client {
            keygen: KeyGen::new(cfg.dist, wl.keyspace, seed, index as u64, clients),
            key: wl.key_buffer(),
            pattern_pos: index % wl.pattern.len(),
            value_offset: (index * 131) % VALUE_POOL_SLACK,
            quota,
            outstanding: 0,
            cluster: cfg.cluster,
            issuing: true,
            next_k: 0,
            interval_ns,
            // Stagger clients evenly over one interval so they do not fire together.
            phase_ns: interval_ns * index as f64 / cfg.clients as f64,
            last_progress_ns: 0,
            unsent: 0,
            wl,
            ctx,
            slot,
            index,
            conns,
        }
    }

    pub fn token(&self, node: usize) -> u64 {
        ((self.slot as u64) << NODE_BITS) | node as u64
    }

    /// Registers this client's connections with the poller.
    pub fn register(&self, poller: &Poller) -> Result<()> {
        for (node, c) in self.conns.iter().enumerate() {
            if let Some(c) = c {
                poller
                    .add(c.fd(), self.token(node))
                    .context("registering a connection with epoll")?;
            }
        }
        Ok(())
    }

    /// Done: nothing more to send and every reply is in.
    pub fn finished(&self) -> bool {
        !self.issuing && self.outstanding == 0
    }

    /// Closed loop: sends the next batch, or stops issuing when the run is over. The batch's
    /// start time is read here, just before encoding and writing it, so the time spent handling
    /// the previous replies is not charged to the server.
    pub fn next_batch(&mut self, poller: &Poller) -> Result<()> {
        if !self.issuing {
            return Ok(());
        }
        let now = self.ctx.now_ns();
        if self.ctx.stopping() || self.ctx.end_ns.is_some_and(|end| now >= end) {
            self.issuing = false;
            return Ok(());
        }
        let measured = now >= self.ctx.measure_start_ns;
        let mut n = self.ctx.cfg.pipeline as u64;
        if measured {
            if let Some(q) = self.quota.as_mut() {
                n = n.min(*q);
                *q -= n;
            }
            if n == 0 {
                self.issuing = false;
                return Ok(());
            }
            self.ctx.stats.borrow_mut().sent += n;
        }
        for _ in 0..n {
            self.issue(poller, now)?;
        }
        self.last_progress_ns = now;
        self.flush_all(poller)
    }

    /// Open loop: sends every request that is due and fits in the window. Returns when the
    /// next one falls due, if the client is waiting for that rather than for replies.
    pub fn tick_open(&mut self, poller: &Poller, now: u64) -> Result<Option<u64>> {
        if !self.issuing {
            return Ok(None);
        }
        let (phase, interval) = (self.phase_ns, self.interval_ns);
        let due = move |k: u64| (phase + k as f64 * interval) as u64;
        if self.ctx.stopping() || self.ctx.end_ns.is_some_and(|e| now >= e) {
            self.issuing = false;
            if let Some(end) = self.ctx.end_ns {
                let due_before_end = ((end as f64 - self.phase_ns) / self.interval_ns)
                    .ceil()
                    .max(0.0) as u64;
                self.unsent = due_before_end.saturating_sub(self.next_k);
            }
            return Ok(None);
        }
        let window = self.ctx.cfg.pipeline;
        let ctx = self.ctx.clone();
        let mut st = ctx.stats.borrow_mut();
        let mut issued = false;
        while self.outstanding < window {
            let d = due(self.next_k);
            if d > now {
                break;
            }
            if d >= self.ctx.measure_start_ns {
                if let Some(q) = self.quota.as_mut() {
                    if *q == 0 {
                        self.issuing = false;
                        break;
                    }
                    *q -= 1;
                }
                st.sent += 1;
                st.send_lag.saturating_record(now - d);
            }
            if self.outstanding == 0 {
                self.last_progress_ns = now;
            }
            self.issue(poller, d)?;
            self.next_k += 1;
            issued = true;
        }
        drop(st);
        if self.quota == Some(0) {
            self.issuing = false;
        }
        if issued {
            self.flush_all(poller)?;
        }
        Ok((self.issuing && self.outstanding < window).then(|| due(self.next_k)))
    }

    /// Queues one request, due or sent at `start_ns`.
    #[inline]
    fn issue(&mut self, poller: &Poller, start_ns: u64) -> Result<()> {
        let wl = &*self.wl;
        let cmd = wl.pattern[self.pattern_pos];
        self.pattern_pos += 1;
        if self.pattern_pos == wl.pattern.len() {
            self.pattern_pos = 0;
        }
        let key = self.keygen.next_key();
        let size = if wl.value_min == wl.value_max {
            wl.value_min
        } else {
            wl.value_min
                + self
                    .keygen
                    .rng()
                    .below((wl.value_max - wl.value_min + 1) as u64) as usize
        };
        self.value_offset = (self.value_offset + 97) % VALUE_POOL_SLACK;
        self.outstanding += 1;
        let p = Pending {
            start_ns,
            key,
            value_offset: self.value_offset as u32,
            value_size: size as u32,
            cmd,
            redirects: 0,
            kind: PendingKind::Request,
        };
        self.route(poller, p, None, false)
    }

    /// Encodes `p` into the write buffer of its node's connection (or of `target`), opening
    /// that connection first if a redirect named a node this client has not met.
    #[inline]
    fn route(
        &mut self,
        poller: &Poller,
        p: Pending,
        target: Option<usize>,
        asking: bool,
    ) -> Result<()> {
        self.wl.write_key(&mut self.key, p.key);
        let node = match target {
            Some(n) => n,
            None if self.cluster => {
                usize::from(self.ctx.topo.borrow().slots[usize::from(key_slot(&self.key))])
            }
            None => 0,
        };
        if self.conns.get(node).is_none_or(Option::is_none) {
            self.open_node(poller, node)?;
        }
        let wl = &*self.wl;
        let conn = self.conns[node].as_mut().expect("opened above");
        if asking {
            conn.wbuf.extend_from_slice(ASKING);
            conn.pending.push_back(Pending {
                kind: PendingKind::Asking,
                ..p
            });
        }
        let value = wl.value(p.value_offset as usize, p.value_size as usize);
        wl.templates[usize::from(p.cmd)].encode(&mut conn.wbuf, &self.key, value);
        conn.pending.push_back(p);
        Ok(())
    }

    /// Connects to a node learnt from a redirect. Blocking (bounded by the timeout), but this
    /// happens once per node and client, not per request.
    fn open_node(&mut self, poller: &Poller, node: usize) -> Result<()> {
        if node >= MAX_NODES {
            bail!("redirected to more than {MAX_NODES} distinct nodes; is the cluster flapping?");
        }
        let addr = self.ctx.topo.borrow().nodes[node].clone();
        let conn = Conn::open(&addr, &self.ctx.setup, self.ctx.timeout)?;
        poller
            .add(conn.fd(), self.token(node))
            .context("registering a connection with epoll")?;
        if self.conns.len() <= node {
            self.conns.resize_with(node + 1, || None);
        }
        self.conns[node] = Some(conn);
        Ok(())
    }

    /// Writes out every connection's queued requests.
    fn flush_all(&mut self, poller: &Poller) -> Result<()> {
        for node in 0..self.conns.len() {
            let token = self.token(node);
            let Some(conn) = self.conns[node].as_mut() else {
                continue;
            };
            if conn.wbuf.is_empty() || conn.want_write {
                continue;
            }
            if !conn.flush()? {
                conn.want_write = true;
                poller.set_write_interest(conn.fd(), token, true)?;
            }
        }
        Ok(())
    }

    /// Handles readiness of connection `node`.
    pub fn on_event(&mut self, poller: &Poller, node: usize, ev: Event) -> Result<()> {
        let token = self.token(node);
        let Some(conn) = self.conns.get_mut(node).and_then(Option::as_mut) else {
            return Ok(());
        };
        if ev.writable && conn.want_write && conn.flush()? {
            conn.want_write = false;
            poller.set_write_interest(conn.fd(), token, false)?;
        }
        if !(ev.readable || ev.closed) || conn.fill()? == 0 {
            return Ok(());
        }
        let now = self.ctx.now_ns();
        self.last_progress_ns = now;
        self.drain(poller, node, now)?;
        if self.ctx.cfg.rate.is_none() {
            if self.outstanding == 0 {
                self.next_batch(poller)?;
            } else if self.cluster {
                // Redirected requests may be waiting in another connection's buffer.
                self.flush_all(poller)?;
            }
        } else {
            self.flush_all(poller)?;
        }
        Ok(())
    }

    /// Handles every complete reply buffered on connection `node`.
    fn drain(&mut self, poller: &Poller, node: usize, now: u64) -> Result<()> {
        loop {
            let conn = self.conns[node]
                .as_mut()
                .expect("drained connection exists");
            let Some((p, err)) = conn.next_reply()? else {
                return Ok(());
            };
            let mut redirect = None;
            let mut text = None;
            if let Some(r) = err {
                let t = conn.error_text(r);
                if self.cluster {
                    redirect = parse_redirect(t, host_of(&conn.addr));
                }
                if redirect.is_none() && self.ctx.stats.borrow().first_error.is_none() {
                    text = Some(String::from_utf8_lossy(t).into_owned());
                }
            }
            self.on_reply(poller, p, err.is_some(), redirect, text, now)?;
        }
    }

    fn on_reply(
        &mut self,
        poller: &Poller,
        mut p: Pending,
        is_err: bool,
        redirect: Option<Redirect>,
        mut text: Option<String>,
        now: u64,
    ) -> Result<()> {
        let measured = p.start_ns >= self.ctx.measure_start_ns;
        if p.kind == PendingKind::Asking {
            if is_err {
                let mut st = self.ctx.stats.borrow_mut();
                if st.first_error.is_none() {
                    st.first_error = text.map(|t| format!("ASKING: {t}"));
                }
            }
            return Ok(());
        }
        if let Some(r) = redirect {
            if measured {
                let mut st = self.ctx.stats.borrow_mut();
                let c = &mut st.cmds[usize::from(p.cmd)];
                if r.ask {
                    c.ask += 1;
                } else {
                    c.moved += 1;
                }
            }
            if p.redirects < MAX_REDIRECTS {
                let target = {
                    let mut topo = self.ctx.topo.borrow_mut();
                    let target = topo.node_index(&r.addr);
                    if !r.ask {
                        topo.slots[usize::from(r.slot)] = target as u16;
                    }
                    target
                };
                p.redirects += 1;
                return self.route(poller, p, Some(target), r.ask);
            }
            text = Some(format!(
                "request redirected more than {MAX_REDIRECTS} times (last to {})",
                r.addr
            ));
        }
        self.outstanding -= 1;
        let mut st = self.ctx.stats.borrow_mut();
        if measured {
            let c = &mut st.cmds[usize::from(p.cmd)];
            c.hist.saturating_record(now.saturating_sub(p.start_ns));
            if is_err {
                c.errors += 1;
                if st.first_error.is_none() {
                    st.first_error = text;
                }
            }
            if now > st.last_reply_ns {
                st.last_reply_ns = now;
            }
        } else {
            st.warmup_replies += 1;
        }
        Ok(())
    }

    /// Closes the connections of a finished client (which also removes them from epoll), so a
    /// server closing an idle connection cannot disturb the clients still running.
    pub fn close(&mut self) {
        self.conns.clear();
    }

    /// The nodes this client is waiting on, for error messages.
    pub fn waiting_on(&self) -> String {
        self.conns
            .iter()
            .flatten()
            .filter(|c| !c.pending.is_empty())
            .map(|c| c.addr.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Position among all clients.
    pub fn index(&self) -> usize {
        self.index
    }
}

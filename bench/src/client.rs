//! One logical client: the request loop, closed or open, and redirect handling.
//!
//! A client is one task on one executor. Outside cluster mode it has one connection; in cluster
//! mode one per master, and each request goes to the connection of its key's slot owner.
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
//! The hot path — [`Client::issue`], [`Client::pump`], [`Client::drain`] — does no allocation
//! for ordinary replies: keys are rewritten in place, requests are appended to the connection's
//! write buffer, replies are framed in the read buffer.

use crate::cli::RunConfig;
use crate::cluster::{host_of, key_slot, parse_redirect, Redirect, Topology};
use crate::conn::{Conn, Pending, PendingKind};
use crate::keygen::KeyGen;
use crate::stats::RunStats;
use crate::workload::{Workload, VALUE_POOL_SLACK};
use anyhow::{bail, Result};
use glommio::timer::Timer;
use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

const ASKING: &[u8] = b"*1\r\n$6\r\nASKING\r\n";
/// A request bounced more often than this is counted as an error.
const MAX_REDIRECTS: u8 = 16;

/// What every client of one executor thread shares.
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
    /// Set on Ctrl-C or when another client failed: stop sending, drain, return.
    pub stop: Arc<AtomicBool>,
    pub interrupt: Arc<AtomicBool>,
    pub setup: Vec<Vec<u8>>,
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

/// What the watchdog sees of a client.
#[derive(Default)]
pub struct Health {
    /// Last time a reply arrived or a wait began, ns since the run began.
    pub last_ns: Cell<u64>,
    pub outstanding: Cell<usize>,
}

pub struct Client {
    ctx: Rc<ThreadCtx>,
    wl: Arc<Workload>,
    index: usize,
    conns: Vec<Option<Conn>>,
    keygen: KeyGen,
    key: Vec<u8>,
    pattern_pos: usize,
    value_offset: usize,
    /// Measured requests this client still has to send (request-count mode).
    quota: Option<u64>,
    outstanding: usize,
    /// Requests redirected to a node this client has no connection to yet.
    deferred: Vec<(usize, Pending, bool)>,
    health: Rc<Health>,
    cluster: bool,
    /// Requests that were due but never sent because the run ended (open loop).
    pub unsent: u64,
}

impl Client {
    pub fn new(
        ctx: Rc<ThreadCtx>,
        index: usize,
        conns: Vec<Option<Conn>>,
        health: Rc<Health>,
    ) -> Client {
        let cfg = &ctx.cfg;
        let wl = ctx.wl.clone();
        let clients = cfg.clients as u64;
        let quota = cfg.requests.map(|n| {
            n / clients + u64::from((index as u64) < n % clients)
        });
        let seed = cfg
            .seed
            .wrapping_add((index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        Client {
            keygen: KeyGen::new(cfg.dist, wl.keyspace, seed, index as u64, clients),
            key: wl.key_buffer(),
            pattern_pos: index % wl.pattern.len(),
            value_offset: (index * 131) % VALUE_POOL_SLACK,
            quota,
            outstanding: 0,
            deferred: Vec::new(),
            health,
            cluster: cfg.cluster,
            unsent: 0,
            wl,
            ctx,
            index,
            conns,
        }
    }

    /// Runs the client to completion. On failure it asks every other client to stop.
    pub async fn run(mut self) -> Result<u64> {
        let r = match self.ctx.cfg.rate {
            Some(rate) => self.run_open(rate).await,
            None => self.run_closed().await,
        };
        if r.is_err() {
            self.ctx.stop.store(true, Ordering::Relaxed);
        }
        r.map(|()| self.unsent)
    }

    async fn run_closed(&mut self) -> Result<()> {
        let pipeline = self.ctx.cfg.pipeline as u64;
        loop {
            if self.ctx.stopping() {
                break;
            }
            let now = self.ctx.now_ns();
            if self.ctx.end_ns.is_some_and(|end| now >= end) {
                break;
            }
            let measured = now >= self.ctx.measure_start_ns;
            let mut n = pipeline;
            if measured {
                if let Some(q) = self.quota.as_mut() {
                    n = n.min(*q);
                    *q -= n;
                }
                if n == 0 {
                    break;
                }
                self.ctx.stats.borrow_mut().sent += n;
            }
            for _ in 0..n {
                self.issue(now);
            }
            self.health.last_ns.set(now);
            self.wait(None).await?;
            while !self.deferred.is_empty() || self.outstanding > 0 {
                self.connect_deferred().await?;
                self.wait(None).await?;
            }
        }
        Ok(())
    }

    async fn run_open(&mut self, rate: f64) -> Result<()> {
        let cfg = self.ctx.cfg.clone();
        let interval = cfg.clients as f64 * 1e9 / rate;
        // Stagger clients evenly over one interval so they do not fire together.
        let phase = interval * self.index as f64 / cfg.clients as f64;
        let due = |k: u64| (phase + k as f64 * interval) as u64;
        let mut k = 0u64;
        let mut timer = Timer::new(Duration::ZERO);
        let mut issuing = true;
        loop {
            let now = self.ctx.now_ns();
            if issuing && (self.ctx.stopping() || self.ctx.end_ns.is_some_and(|e| now >= e)) {
                issuing = false;
                if let Some(end) = self.ctx.end_ns {
                    // Everything due before the end that we could not send in time.
                    let due_total = ((end as f64 - phase) / interval).ceil().max(0.0) as u64;
                    self.unsent = due_total.saturating_sub(k);
                }
            }
            let mut sent = 0;
            while issuing && self.outstanding < cfg.pipeline {
                let d = due(k);
                if d > now {
                    break;
                }
                if d >= self.ctx.measure_start_ns {
                    if let Some(q) = self.quota.as_mut() {
                        if *q == 0 {
                            issuing = false;
                            break;
                        }
                        *q -= 1;
                    }
                    sent += 1;
                }
                if self.outstanding == 0 {
                    self.health.last_ns.set(now);
                }
                self.issue(d);
                k += 1;
            }
            if sent > 0 {
                self.ctx.stats.borrow_mut().sent += sent;
            }
            if issuing && self.quota == Some(0) {
                issuing = false;
            }
            if !issuing && self.outstanding == 0 && self.deferred.is_empty() {
                return Ok(());
            }
            let next = (issuing && self.outstanding < cfg.pipeline).then(|| due(k));
            if let Some(d) = next {
                timer.reset(Duration::from_nanos(d.saturating_sub(now)));
            }
            self.wait(next.map(|_| &mut timer)).await?;
            self.connect_deferred().await?;
        }
    }

    /// Queues one request, due or sent at `start_ns`.
    #[inline]
    fn issue(&mut self, start_ns: u64) {
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
            wl.value_min + self.keygen.rng().below((wl.value_max - wl.value_min + 1) as u64) as usize
        };
        self.value_offset = (self.value_offset + 97) % VALUE_POOL_SLACK;
        self.outstanding += 1;
        self.route(
            Pending {
                start_ns,
                key,
                value_offset: self.value_offset as u32,
                value_size: size as u32,
                cmd,
                redirects: 0,
                kind: PendingKind::Request,
            },
            None,
            false,
        );
    }

    /// Encodes `p` into the write buffer of its node's connection (or of `target`).
    #[inline]
    fn route(&mut self, p: Pending, target: Option<usize>, asking: bool) {
        let wl = &*self.wl;
        wl.write_key(&mut self.key, p.key);
        let node = match target {
            Some(n) => n,
            None if self.cluster => {
                usize::from(self.ctx.topo.borrow().slots[usize::from(key_slot(&self.key))])
            }
            None => 0,
        };
        match self.conns.get_mut(node).and_then(Option::as_mut) {
            Some(conn) => {
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
            }
            None => self.deferred.push((node, p, asking)),
        }
    }

    /// Waits until all outstanding replies are in (closed loop), or until at least one reply
    /// arrived or `timer` fired (open loop).
    async fn wait(&mut self, mut timer: Option<&mut Timer>) -> Result<()> {
        let open = self.ctx.cfg.rate.is_some();
        poll_fn(|cx| {
            let replies = match self.pump(cx) {
                Ok(n) => n,
                Err(e) => return Poll::Ready(Err(e)),
            };
            self.health.outstanding.set(self.outstanding);
            if !self.deferred.is_empty() || (open && replies > 0) {
                return Poll::Ready(Ok(()));
            }
            match timer.as_mut() {
                Some(t) => {
                    if Pin::new(&mut **t).poll(cx).is_ready() {
                        return Poll::Ready(Ok(()));
                    }
                }
                None if self.outstanding == 0 => return Poll::Ready(Ok(())),
                None => {}
            }
            Poll::Pending
        })
        .await
    }

    /// Flushes and reads every connection until none can make progress; returns the number of
    /// replies handled. Every connection left `Pending` has registered the task's waker.
    fn pump(&mut self, cx: &mut Context<'_>) -> Result<usize> {
        let mut replies = 0;
        loop {
            let mut again = false;
            for i in 0..self.conns.len() {
                let Some(conn) = self.conns[i].as_mut() else {
                    continue;
                };
                if let Poll::Ready(Err(e)) = conn.poll_flush(cx) {
                    return Err(e);
                }
                if conn.pending.is_empty() {
                    continue;
                }
                match conn.poll_fill(cx) {
                    Poll::Ready(Ok(_)) => {
                        let now = self.ctx.now_ns();
                        replies += self.drain(i, now)?;
                        again = true;
                    }
                    Poll::Ready(Err(e)) => return Err(e),
                    Poll::Pending => {}
                }
            }
            if !again {
                return Ok(replies);
            }
        }
    }

    /// Handles every complete reply buffered on connection `i`.
    fn drain(&mut self, i: usize, now: u64) -> Result<usize> {
        let mut n = 0;
        loop {
            let conn = self.conns[i].as_mut().expect("drained connection exists");
            let Some((p, err)) = conn.next_reply()? else {
                break;
            };
            n += 1;
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
            self.on_reply(p, err.is_some(), redirect, text, now);
        }
        if n > 0 {
            self.health.last_ns.set(now);
        }
        Ok(n)
    }

    fn on_reply(
        &mut self,
        mut p: Pending,
        is_err: bool,
        redirect: Option<Redirect>,
        text: Option<String>,
        now: u64,
    ) {
        let measured = p.start_ns >= self.ctx.measure_start_ns;
        if p.kind == PendingKind::Asking {
            if is_err {
                let mut st = self.ctx.stats.borrow_mut();
                if st.first_error.is_none() {
                    st.first_error = text.map(|t| format!("ASKING: {t}"));
                }
            }
            return;
        }
        let mut text = text;
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
                self.route(p, Some(target), r.ask);
                return;
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
    }

    /// Opens connections to nodes learnt from redirects and sends what waited for them.
    async fn connect_deferred(&mut self) -> Result<()> {
        if self.deferred.is_empty() {
            return Ok(());
        }
        let timeout = Duration::from_secs_f64(self.ctx.cfg.timeout);
        for (node, p, asking) in std::mem::take(&mut self.deferred) {
            if self.conns.len() <= node {
                self.conns.resize_with(node + 1, || None);
            }
            if self.conns[node].is_none() {
                let addr = self.ctx.topo.borrow().nodes[node].clone();
                let mut c = Conn::connect(&addr, timeout).await?;
                c.handshake(&self.ctx.setup, timeout).await?;
                self.conns[node] = Some(c);
            }
            self.route(p, Some(node), asking);
        }
        if self.conns.len() > 64 {
            bail!("redirected to more than 64 distinct nodes; is the cluster flapping?");
        }
        Ok(())
    }
}

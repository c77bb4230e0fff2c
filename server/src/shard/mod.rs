//! A shard is everything one core owns: its slots' RocksDB instance, its connections, its commit tracker,
//! its statistics and its copy of the live settings. Nothing in a shard is shared with another core; the
//! only node-wide state is [`Node`], which is immutable after start except for a few atomic counters
//! (connection count, client ids, the shutdown flag) that are never on a request's critical path.
//!
//! [`Shard::dispatch`] is where a request is routed, using nothing but the command table:
//!
//! ```text
//!   keys all on this core ──────────────► run `local` here, reply now (or after the group fsync)
//!   keys all on core B ─────────────────► forward the request to B over the mesh, reply when B answers
//!   keys on several cores / node-wide ──► `spread`: per-core legs, merged; later requests wait for it
//! ```

pub mod expiry;
pub mod keyevents;
pub mod mesh;
pub mod pubsub;
pub mod settings;
pub mod stats;
pub mod watch;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{self, flags, CmdError, CommandSpec, Ctx, ReplyFuture, Spread};
use crate::config::Config;
use crate::layout::Layout;
use crate::net::client::{ClientRegistry, ClientState};
use crate::replication::{corelog, CoreLog};
use crate::slot::SlotId;
use crate::statemachine::{self, durability::Durability, LogEntry, SlotWriter};
use crate::storage::{StorageError, Store};

pub use mesh::{Mesh, MeshMsg as MeshMsgAlias};
pub use settings::Settings;
pub use stats::Stats;

/// Node-wide facts, shared read-only by every core (plus a few atomics).
pub struct Node {
    pub cores: usize,
    pub layout: Layout,
    /// The configuration the node started with (live changes live in each shard's [`Settings`]).
    pub config: Config,
    /// The port actually listened on (differs from the config when it asked for port 0).
    pub port: u16,
    pub run_id: String,
    pub started: Instant,
    pub started_unix: u64,
    pub shutdown: AtomicBool,
    pub connected_clients: AtomicUsize,
    /// Cores that finished serving their connections at shutdown; none closes its mesh before all have.
    pub drained_cores: AtomicUsize,
    /// Cores that replayed their logs and listen; the last one announces the node ready.
    pub ready_cores: AtomicUsize,
    pub next_client_id: AtomicU64,
}

impl Node {
    pub fn shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    pub fn request_shutdown(&self) {
        self.shutdown.store(true, Ordering::Release);
    }
}

/// How a request proceeds after dispatch.
pub enum Dispatch {
    /// The reply, ready now.
    Done(Reply),
    /// The reply, to be sent once durability sequence `seq` is on disk.
    Durable(Reply, u64),
    /// One hop to another core; later requests may be dispatched before it completes (the mesh keeps the
    /// order of requests to the same core).
    Forward(ReplyFuture),
    /// Multi-step work (spread): must complete before the next request of the connection is dispatched.
    Barrier(ReplyFuture),
}

/// One core's state.
pub struct Shard {
    pub core: usize,
    pub node: Arc<Node>,
    pub store: Store,
    pub durability: Rc<Durability>,
    /// The Raft logs of this core's slots.
    pub log: CoreLog,
    pub mesh: Mesh,
    pub settings: RefCell<Settings>,
    pub stats: Stats,
    pub clients: RefCell<ClientRegistry>,
    pub expiry: expiry::ExpirySchedule,
    /// Wakes the core's purger to check the memtables' sizes (see [`Shard::propose`]).
    pub memtable_check: glommio::channels::local_channel::LocalSender<()>,
    pub stop: Rc<Cell<bool>>,
    /// SCAN resume points of this core's slots (see `cmd::keys::scan`).
    pub scan_cursors: RefCell<crate::cmd::keys::ScanCursors>,
    /// This core's Pub/Sub subscriptions.
    pub pubsub: RefCell<pubsub::PubSub>,
    /// Clients blocked on this core's keys (BLPOP and friends, see `cmd::blocking`).
    pub blocking: crate::cmd::blocking::Blocking,
}

/// Unix time in milliseconds.
#[inline]
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A proposal that failed. `wait` is the log batch the error reply must wait for: when the entry was
/// logged before its RocksDB write failed, the truncation that withdraws it — so a client that saw the
/// error cannot see the write appear after a crash and restart.
#[derive(Debug)]
pub struct Refused {
    pub error: CmdError,
    pub wait: u64,
}

impl From<CmdError> for Refused {
    fn from(error: CmdError) -> Refused {
        Refused { error, wait: 0 }
    }
}

impl Refused {
    /// The error, and the log batch its reply must wait for (0: none).
    pub fn into_parts(self) -> (CmdError, u64) {
        (self.error, self.wait)
    }
}

/// A proposal's outcome as its reply needs it: the reply (or error) and the log batch to wait for.
pub fn proposal_parts(r: Result<(Reply, u64), Refused>) -> (Result<Reply, CmdError>, u64) {
    match r {
        Ok((reply, seq)) => (Ok(reply), seq),
        Err(refused) => {
            let (error, wait) = refused.into_parts();
            (Err(error), wait)
        }
    }
}

impl Shard {
    /// Proposes an entry to its slot's Raft group: applies it to this core's store, stages it in the
    /// slot's log with the applied log id in the same RocksDB batch, and returns the reply and the log
    /// batch the reply must wait for (0: the entry wrote nothing, so nothing is logged).
    /// An entry whose RocksDB write fails after it was logged is withdrawn from the log (see [`Refused`]).
    pub fn propose(&self, entry: &LogEntry) -> Result<(Reply, u64), Refused> {
        debug_assert_eq!(self.node.layout.core_of(entry.slot), self.core);
        let mut w = SlotWriter::new(&self.store, entry.slot, entry.db, entry.now_ms);
        let reply = statemachine::apply(entry, &mut w)?;
        let events = self.has_key_listeners().then(|| {
            let (written, wiped) = w.written();
            keyevents::WrittenKeys {
                db: entry.db,
                keys: written.into(),
                wiped,
            }
        });
        if w.is_empty() {
            // Nothing to log or wait for. But a command Redis counts as a write even when it changes
            // nothing (LTRIM keeping every element, LMOVE of a list onto its own end) touched its key,
            // and WATCH sees that.
            if let Some(events) = events.filter(|e| !e.keys.is_empty()) {
                self.keys_written(events);
            }
            return Ok((reply, 0));
        }
        let new_deadline = w.new_deadline;
        // The log first: a log that refuses the entry leaves the state untouched.
        let (index, seq) = self.log.append(entry).map_err(CmdError::from)?;
        w.set_applied(&corelog::applied_value(&corelog::solo_log_id(index)));
        if let Err(e) = w.commit() {
            // RocksDB refused the write (a background error: failed flush, full disk). The entry must not
            // come back at restart, when the log is replayed: the client is told it failed. INFO reports
            // RocksDB's refusals (the purger probes until they end), not an entry's own error.
            if matches!(e, StorageError::Rocks(_)) {
                *self.durability.last_store_error.borrow_mut() = Some(e.to_string());
            }
            return Err(match self.log.withdraw(entry.slot, index) {
                Ok(wait) => Refused {
                    error: e.into(),
                    wait,
                },
                Err(undo) => {
                    log::error!(
                        "slot {}: write failed ({e}) and could not be withdrawn from the log ({undo}); \
                         a restart may apply it",
                        entry.slot.0
                    );
                    Refused {
                        error: CmdError::msg(format!(
                            "ERR storage error: {e}; the write could not be withdrawn from the log \
                             and may be applied after a restart"
                        )),
                        wait: 0,
                    }
                }
            });
        }
        if self.durability.last_store_error.borrow().is_some() {
            self.durability.last_store_error.replace(None);
        }
        // Memtables are switched by the purger, a task of this core, so between two steps: wake it when
        // enough was written for a memtable to be near its switch size.
        if self.store.unchecked_bytes()
            >= self.settings.borrow().rocksdb.memtable_switch_bytes() / 16
        {
            let _ = self.memtable_check.try_send(());
        }
        if let Some(deadline) = new_deadline {
            self.expiry.note(entry.slot, entry.db, deadline);
        }
        if let Some(events) = events {
            self.keys_written(events);
        }
        self.stats.dirty.set(self.stats.dirty.get() + 1);
        Ok((reply, seq))
    }

    /// Routes and runs one request of a connection on this core.
    /// `now` is the clock for this request (Unix ms); a connection reads it once per batch of pipelined
    /// requests.
    pub fn dispatch(
        self: &Rc<Self>,
        client: &mut ClientState,
        args: Vec<Bytes>,
        now: u64,
    ) -> Dispatch {
        if client.reply_skip_following {
            // CLIENT REPLY SKIP was the previous command: this one's reply is dropped.
            client.reply_skip_following = false;
            client.reply_skip_next = true;
        }
        let spec = match cmd::table::resolve_naming(&args, &mut client.last_cmd) {
            Ok(spec) => spec,
            Err(_) if client.last_cmd.name.is_none() && is_http_request(&args[0]) => {
                return cross_protocol_attack(client);
            }
            Err(e) => {
                self.stats
                    .rejected_calls
                    .set(self.stats.rejected_calls.get() + 1);
                return Dispatch::Done(cmd::tx::rejected(self, client, &args, e));
            }
        };
        if !client.authenticated
            && !spec.has(flags::NO_AUTH)
            && self.settings.borrow().requires_auth()
        {
            self.stats
                .rejected_calls
                .set(self.stats.rejected_calls.get() + 1);
            return Dispatch::Done(cmd::tx::rejected(self, client, &args, CmdError::NoAuth));
        }
        // EXEC's queue runs as Redis's EXEC calls commands: without this check (Redis applies it to the
        // EXEC itself, not to what it queued).
        if client.subscribed_resp2() && !client.tx.in_exec {
            if let Some(e) = cmd::pubsub::not_allowed_when_subscribed(spec, &args) {
                self.stats
                    .rejected_calls
                    .set(self.stats.rejected_calls.get() + 1);
                return Dispatch::Done(cmd::tx::rejected(self, client, &args, e));
            }
        }
        // MULTI queues the command; EXEC and WATCH are answered here.
        let args = match cmd::tx::intercept(self, client, spec, args, now) {
            cmd::tx::Intercept::Pass(args) => args,
            cmd::tx::Intercept::Handled(dispatch) => return dispatch,
        };
        if spec.has(flags::BLOCKING) {
            return self.dispatch_blocking(spec, client, now, args);
        }
        let db = client.db;
        let mut positions = spec.keys.positions(&args);
        let mut routed = None;
        let target = match positions.next() {
            None => None,
            Some(first) => {
                let slot = SlotId::of_key(&args[first]);
                routed = Some((first, slot));
                let core = self.node.layout.core_of(slot);
                if positions.all(|i| self.node.layout.core_of(SlotId::of_key(&args[i])) == core) {
                    Some(core)
                } else {
                    return self.spread(spec, db, now, args);
                }
            }
        };
        match target {
            None if spec.has(flags::NODE_WIDE) && self.node.cores > 1 => {
                self.spread(spec, db, now, args)
            }
            Some(core) if core != self.core => {
                let shard = self.clone();
                Dispatch::Forward(Box::pin(async move {
                    shard.run_on_core(core, db, now, args, false).await
                }))
            }
            _ => {
                let (reply, seq) =
                    self.run_local(spec, Some(client), db, now, &args, false, routed);
                if seq == 0 {
                    Dispatch::Done(reply)
                } else {
                    Dispatch::Durable(reply, seq)
                }
            }
        }
    }

    pub(crate) fn spread(
        self: &Rc<Self>,
        spec: &'static CommandSpec,
        db: u8,
        now_ms: u64,
        args: Vec<Bytes>,
    ) -> Dispatch {
        match spec.spread {
            Some(f) => {
                let shard = self.clone();
                let logged = (!spec.has(flags::SKIP_SLOWLOG)).then(|| args.clone());
                // A blocking command that had to wait is not slow-logged: Redis never logs the wait.
                let waited = spec
                    .has(flags::BLOCKING)
                    .then(|| self.blocking.track_wait());
                let fut = f(Spread {
                    shard: self.clone(),
                    db,
                    now_ms,
                    args,
                });
                self.blocking.end_track_wait();
                Dispatch::Barrier(Box::pin(async move {
                    let started = Instant::now();
                    let reply = fut.await;
                    let elapsed = started.elapsed();
                    shard.stats.record_call(elapsed);
                    let logged = logged.filter(|_| !waited.is_some_and(|w| w.get()));
                    if let Some(args) = logged {
                        shard
                            .stats
                            .slowlog_maybe(&shard.settings.borrow(), elapsed, &args, None);
                    }
                    reply
                }))
            }
            None => Dispatch::Done(Reply::StaticError(
                "CROSSSLOT Keys in request don't hash to the same slot",
            )),
        }
    }

    /// Runs a command's `local` function on this core, timing it for SLOWLOG and the stats. `routed` is
    /// the position and slot of a key the router already hashed, so the command need not hash it again.
    #[allow(clippy::too_many_arguments)]
    pub fn run_local(
        self: &Rc<Self>,
        spec: &'static CommandSpec,
        client: Option<&mut ClientState>,
        db: u8,
        now_ms: u64,
        args: &[Bytes],
        leg: bool,
        routed: Option<(usize, SlotId)>,
    ) -> (Reply, u64) {
        let started = Instant::now();
        let mut ctx = Ctx {
            shard: self,
            db,
            now_ms,
            client,
            wait_seq: 0,
            leg,
            routed: routed.map(|(i, slot)| cmd::RoutedKey::new(&args[i], slot)),
        };
        let reply = match (spec.local)(&mut ctx, args) {
            Ok(r) => r,
            Err(e) => {
                self.stats
                    .error_replies
                    .set(self.stats.error_replies.get() + 1);
                e.to_reply()
            }
        };
        let seq = ctx.wait_seq;
        if leg {
            // A spread command is counted (and slow-logged) once, where its connection is.
            return (reply, seq);
        }
        let elapsed = started.elapsed();
        self.stats.record_call(elapsed);
        let threshold = self.settings.borrow().slowlog_log_slower_than;
        if !spec.has(flags::SKIP_SLOWLOG)
            && threshold >= 0
            && elapsed.as_micros() as i64 >= threshold
        {
            // Only now, off the fast path, describe the client.
            let client_id = ctx
                .client
                .as_ref()
                .map(|c| (c.id, c.addr_string(), c.name.clone()));
            self.stats
                .slowlog_maybe(&self.settings.borrow(), elapsed, args, client_id);
        }
        (reply, seq)
    }

    /// Runs a request as one leg of a spread command on `core` (this core included): that core's share
    /// only; waits for its reply (and durability).
    pub async fn run_leg(
        self: &Rc<Self>,
        core: usize,
        db: u8,
        now_ms: u64,
        args: Vec<Bytes>,
    ) -> Reply {
        self.run_on_core(core, db, now_ms, args, true).await
    }

    /// Runs a request on `core`: a whole forwarded request (`leg = false`), or a spread command's leg.
    async fn run_on_core(
        self: &Rc<Self>,
        core: usize,
        db: u8,
        now_ms: u64,
        args: Vec<Bytes>,
        leg: bool,
    ) -> Reply {
        if core == self.core {
            return self
                .clone()
                .execute_handed_over(db, now_ms, args, leg)
                .await;
        }
        self.mesh
            .call(core, move |shard: &Rc<Shard>| {
                let shard = shard.clone();
                Box::pin(async move { shard.execute_handed_over(db, now_ms, args, leg).await })
            })
            .await
    }

    /// Runs a request that another core (or a spread on this core) handed over.
    async fn execute_handed_over(
        self: Rc<Self>,
        db: u8,
        now_ms: u64,
        args: Vec<Bytes>,
        leg: bool,
    ) -> Reply {
        let spec = match cmd::table::resolve(&args) {
            Ok(spec) => spec,
            Err(e) => return e.to_reply(),
        };
        let (reply, seq) = self.run_local(spec, None, db, now_ms, &args, leg, None);
        if seq != 0 {
            self.durability.wait(seq).await;
        }
        reply
    }

    /// Runs a closure on every core (this one included) and collects the results in core order.
    pub async fn on_every_core<T, F>(self: &Rc<Self>, f: F) -> Vec<T>
    where
        T: Send + 'static,
        F: Fn(&Rc<Shard>) -> T + Send + Clone + 'static,
    {
        let mut out = Vec::with_capacity(self.node.cores);
        for core in 0..self.node.cores {
            if core == self.core {
                out.push(f(self));
            } else {
                let f = f.clone();
                out.push(
                    self.mesh
                        .call(core, move |s: &Rc<Shard>| {
                            let v = f(s);
                            Box::pin(async move { v })
                        })
                        .await,
                );
            }
        }
        out
    }
}

/// Whether a request's first word is an HTTP method line's `POST` or a header's `Host:` — what a browser
/// tricked into posting to the server's port sends (cross-protocol scripting).
fn is_http_request(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"post") || name.eq_ignore_ascii_case(b"host:")
}

/// Redis's answer to such a request: the connection closed at once (replies still queued for requests
/// before it are dropped: Redis skips writes to a client it is closing), and a warning in the log at
/// most once a minute. The connection stops at the `killed` flag, so the reply returned is never sent.
fn cross_protocol_attack(client: &mut ClientState) -> Dispatch {
    static LAST_WARNING_MS: AtomicU64 = AtomicU64::new(0);
    let now = now_ms();
    let last = LAST_WARNING_MS.load(Ordering::Relaxed);
    if now.saturating_sub(last) > 60_000 {
        LAST_WARNING_MS.store(now, Ordering::Relaxed);
        log::warn!(
            "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands \
             to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to \
             compromise your Redis instance. Connection aborted."
        );
    }
    client.killed.set(true);
    Dispatch::Done(Reply::Ok)
}

//! Blocking commands — BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP and BZPOPMIN, BZPOPMAX, BZMPOP — wait for
//! data with Redis 7's semantics. This module is the machinery they share; a command supplies its pop.
//!
//! # Using it from a command
//!
//! * Flag the spec [`flags::BLOCKING`](super::flags::BLOCKING). `Shard::dispatch` sends such commands
//!   here ([`Shard::dispatch_blocking`]): a command that ends up waiting becomes a barrier on its
//!   connection, so its pipelined followers run (and reply) only after it.
//! * Write the command's pop on **one** key, a [`PopFn`]:
//!   `fn(ctx, key, args, wake) -> Result<Option<Reply>, CmdError>`. It runs on the core owning `key`.
//!   `Ok(Some(reply))`: it popped (its mutation went through `ctx.propose`) and `reply` is the command's
//!   whole reply. `Ok(None)`: nothing to pop — the key is missing, or (only when `wake` is true) holds
//!   another type. `Err(e)`: the command ends with `e` (WRONGTYPE on the first try, i.e. `wake` false).
//!   `args` are the command's own arguments (re-parse what you need: COUNT, LEFT/RIGHT...).
//! * `local` (all keys on this core): parse, with [`parse_timeout`] in Redis's order among the other
//!   checks, then `blocking::local(ctx, args, Block { keys, deadline, pop, timeout_reply, denied_reply })`.
//! * `spread` (keys on several cores): parse the same way (a parse error: `blocking::ready(e.to_reply())`),
//!   then `blocking::spread(s, Block { .. })`. A command whose attempt spans cores itself (BLMOVE between
//!   two cores) uses [`spread_with`] and its own attempt.
//! * Non-blocking twins reuse the same code: LMPOP is `local`/`spread` with a `Block` — outside a blocking
//!   dispatch nothing waits and the `denied_reply` comes back at once.
//!
//! ```text
//! // A sketch (lists/bpop.rs and lists/pop.rs are the real thing):
//! fn pop_min(ctx: &mut Ctx, key: &Bytes, args: &[Bytes], wake: bool) -> Result<Option<Reply>, CmdError> {
//!     match collection::read(ctx, key, ValueType::ZSet) {
//!         Ok(Some(_)) => {}
//!         Ok(None) => return Ok(None),
//!         Err(CmdError::WrongType) if wake => return Ok(None),
//!         Err(e) => return Err(e),
//!     }
//!     ctx.propose(ctx.slot_of(key), Mutation::ZSet(..)).map(Some)      // [key, member, score]
//! }
//! pub fn bzpopmin(ctx: &mut Ctx, args: &[Bytes]) -> Result<Reply, CmdError> {
//!     let deadline = blocking::parse_timeout(&args[args.len() - 1], ctx.now_ms)?;
//!     let keys = args[1..args.len() - 1].to_vec();
//!     blocking::local(ctx, args, Block { keys, deadline, pop: pop_min,
//!         timeout_reply: Reply::NullArray, denied_reply: Reply::NullArray })
//! }
//! // spec: WRITE | NOSCRIPT | BLOCKING | FAST, KeySpec::range(1, -2, 1), Some(bzpopmin_spread) where the
//! // spread parses the same way and returns blocking::spread(s, Block { .. }).
//! ```
//!
//! For the server commands: [`Blocking::blocked_clients`] (INFO `blocked_clients`, summed over cores) and
//! [`Blocking::unblock`] (CLIENT UNBLOCK, tried on every core).
//!
//! # When a command may wait, and when it may not
//!
//! Only requests that come through `Shard::dispatch` can wait, and not while the connection's EXEC runs
//! its queue (`TxState::in_exec`). Anything else that runs a command — `run_local` (EXEC's queue on one
//! core), spread legs, scripts — runs it non-blocking: the pop is tried and, when nothing is there, the
//! command replies `denied_reply` (what Redis replies under `CLIENT_DENY_BLOCKING`). Other callers that go
//! through `dispatch` and must not block hold [`Blocking::deny`] (core-wide while it lives). Redis serves
//! blocked clients after a whole MULTI/EXEC or script, not between its commands: hold [`Blocking::hold`]
//! around a synchronous EXEC and the core's waiters are served when it drops.
//!
//! # How waiters are served (one core)
//!
//! A waiter is queued, in blocking order, on every key it waits for. After any entry commits on the core,
//! `Shard::propose` hands the written keys to [`Blocking::keys_written`] (the key-events hook). Keys with
//! waiters become *ready*, and right then — before any other request runs on the core — each ready key's
//! waiters are served first come, first served: the waiter's pop is proposed for it, repeated while
//! waiters and elements remain, exactly like Redis's `handleClientsBlockedOnKeys`. A pop that pushes (BLMOVE)
//! makes its destination ready in turn, so chains resolve in the same pass. A waiter whose client is gone
//! (the socket reads EOF: checked just before its pop, and periodically while it waits) is
//! dropped instead of served, so no element is handed to a dead client. Timeouts are the waiter's own
//! timer. A waiter for keys on another core whose client lives here is forwarded there whole: it is queued
//! and served on the keys' core, exactly as that core's own clients.
//!
//! # Keys on several cores
//!
//! A BLPOP whose keys span cores cannot pop atomically across them. Its client's core tries the keys in
//! order (one non-blocking pop per key on its core, stopping at the first that pops); if none pops it
//! registers a *notify* entry, in the same FIFO queues, on each key's core, and waits. A notify entry never
//! pops: the key's core only tells the client's core, which tries the keys again in order and waits again if
//! it lost the race — so one waiter can never pop twice. **Wake order across cores is best effort**: a
//! notified waiter competes with waiters served directly on the key's core, and its place in the queue is
//! kept for the next element.

// registry.rs: the per-core queues and the serving pass; wait.rs: the waits (deadline, socket checks,
// notify registrations); dispatch.rs: routing of BLOCKING commands.
mod dispatch;
mod registry;
mod wait;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use super::longdouble::LongDouble;
use super::{CmdError, Ctx, ReplyFuture, Spread};
use crate::shard::{now_ms, Shard};
use crate::slot::SlotId;

use registry::Waiter;
pub use registry::{Blocking, ClientRef, Deny, Hold};
use wait::{wait_served, Unregister, Watch, Woken};

/// The reply of a waiter released by `CLIENT UNBLOCK id ERROR`.
pub const UNBLOCKED_ERROR: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

/// When a wait ends: Unix ms, or `None` to wait forever (timeout 0).
pub type Deadline = Option<u64>;

/// A blocking command's pop on one key (see the module docs).
pub type PopFn = fn(&mut Ctx<'_>, &Bytes, &[Bytes], bool) -> Result<Option<Reply>, CmdError>;

/// What a blocking command waits for.
pub struct Block {
    /// Keys to try and wait on, in the command's order (repeats are tried again but waited on once).
    pub keys: Vec<Bytes>,
    pub deadline: Deadline,
    pub pop: PopFn,
    /// The reply when the timeout passes (Redis: a null array for every list and sorted-set command).
    pub timeout_reply: Reply,
    /// The reply when the command may not wait and nothing popped (BLMOVE: a null bulk; others as timeout).
    pub denied_reply: Reply,
}

impl Block {
    /// A block whose timeout and not-allowed-to-wait replies are both a null array, as for every list and
    /// sorted-set pop except BLMOVE / BRPOPLPUSH.
    pub fn null_array(keys: Vec<Bytes>, deadline: Deadline, pop: PopFn) -> Block {
        Block {
            keys,
            deadline,
            pop,
            timeout_reply: Reply::NullArray,
            denied_reply: Reply::NullArray,
        }
    }
}

/// Parses a timeout in seconds as Redis 7.0 does (`getTimeoutFromObjectOrReply`): `strtold`'s syntax (hex
/// included) and range, in `long double` — so `1e-400` is a tiny positive timeout, not a zero that would
/// wait forever — rounded up to whole milliseconds. `now_ms` makes it a deadline.
pub fn parse_timeout(arg: &[u8], now_ms: u64) -> Result<Deadline, CmdError> {
    let seconds = LongDouble::parse(arg)
        .ok_or_else(|| CmdError::msg("ERR timeout is not a float or out of range"))?;
    let ms = seconds.seconds_to_millis();
    if ms < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    Ok((ms > 0).then(|| now_ms.saturating_add(ms as u64)))
}

/// A future that is already done (a spread command's parse error).
pub fn ready(reply: Reply) -> ReplyFuture {
    Box::pin(async move { reply })
}
/// to return (if this request may wait) or replies `denied_reply`.
pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes], block: Block) -> Result<Reply, CmdError> {
    for key in &block.keys {
        if let Some(reply) = (block.pop)(ctx, key, args, false)? {
            return Ok(reply);
        }
    }
    let client = match ctx.shard.blocking.context.take() {
        Some(c) if !ctx.leg => c,
        _ => return Ok(block.denied_reply),
    };
    let waiter = ctx.shard.blocking.register(
        ctx.shard,
        Waiter {
            id: 0,
            client,
            db: ctx.db,
            keys: block.keys,
            args: args.to_vec(),
            pop: block.pop,
            outcome: RefCell::new(None),
            waker: RefCell::new(None),
        },
    );
    let guard = Unregister {
        shard: ctx.shard.clone(),
        waiter,
    };
    let wait = wait_served(guard, block.deadline, block.timeout_reply);
    *ctx.shard.blocking.parked.borrow_mut() = Some(Box::pin(wait));
    // Not sent: dispatch replies with the parked wait instead.
    Ok(Reply::NullArray)
}

/// Runs `f` on `core` (this one included) with that core's shard.
pub async fn on_core<T, F>(shard: &Rc<Shard>, core: usize, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce(&Rc<Shard>) -> Pin<Box<dyn Future<Output = T>>> + Send + 'static,
{
    if core == shard.core {
        return f(shard).await;
    }
    shard.mesh.call(core, f).await
}

/// Runs `pop` on `key` on the core owning it, waiting until its write is acknowledged; errors become
/// replies.
pub async fn pop_on_core(
    shard: &Rc<Shard>,
    db: u8,
    key: Bytes,
    args: Rc<Vec<Bytes>>,
    pop: PopFn,
    wake: bool,
) -> Option<Reply> {
    let core = shard.node.layout.core_of(SlotId::of_key(&key));
    let args: Vec<Bytes> = args.as_ref().clone();
    on_core(shard, core, move |s: &Rc<Shard>| {
        let mut ctx = Ctx {
            shard: s,
            db,
            now_ms: now_ms(),
            client: None,
            wait_seq: 0,
            leg: true,
            routed: None,
        };
        let out = match pop(&mut ctx, &key, &args, wake) {
            Ok(r) => r,
            Err(e) => Some(e.to_reply()),
        };
        let seq = ctx.wait_seq;
        let s = s.clone();
        Box::pin(async move {
            if seq != 0 {
                s.durability.wait(seq).await;
            }
            out
        }) as Pin<Box<dyn Future<Output = Option<Reply>>>>
    })
    .await
}

/// The spread form of [`local`]: keys on several cores, tried in order one core at a time.
pub fn spread(s: Spread, block: Block) -> ReplyFuture {
    let Block {
        keys,
        deadline,
        pop,
        timeout_reply,
        denied_reply,
    } = block;
    let (shard, db) = (s.shard.clone(), s.db);
    // Own copies: the arguments are slices of a connection's read buffer, which a long wait would pin.
    let own = |v: &[Bytes]| -> Vec<Bytes> { v.iter().map(|a| Bytes::copy_from_slice(a)).collect() };
    let args = Rc::new(own(&s.args));
    let keys = own(&keys);
    let tried = keys.clone();
    let attempt = move |wake: bool| {
        let (shard, keys, args) = (shard.clone(), tried.clone(), args.clone());
        async move {
            for key in keys {
                if let Some(reply) = pop_on_core(&shard, db, key, args.clone(), pop, wake).await {
                    return Some(reply);
                }
            }
            None
        }
    };
    spread_with(
        s.shard,
        db,
        keys,
        deadline,
        timeout_reply,
        denied_reply,
        attempt,
    )
}

/// A spread wait with the command's own `attempt` (`wake` as for [`PopFn`]): tried once; if it gives
/// nothing and the request may wait, notify entries go on `keys`' cores and it is tried again after each
/// notification until it gives a reply, the deadline passes or the client leaves.
pub fn spread_with<F, Fut>(
    shard: Rc<Shard>,
    db: u8,
    keys: Vec<Bytes>,
    deadline: Deadline,
    timeout_reply: Reply,
    denied_reply: Reply,
    attempt: F,
) -> ReplyFuture
where
    F: Fn(bool) -> Fut + 'static,
    Fut: Future<Output = Option<Reply>> + 'static,
{
    let client = shard.blocking.context.take();
    let waited = shard.blocking.waited.borrow_mut().take();
    Box::pin(async move {
        if let Some(reply) = attempt(false).await {
            return reply;
        }
        let Some(client) = client else {
            return denied_reply;
        };
        if let Some(w) = waited {
            w.set(true);
        }
        let watch = Watch::register(&shard, db, &keys, client).await;
        loop {
            watch.state.notified.set(false);
            if !client.alive() {
                return timeout_reply;
            }
            if let Some(reply) = attempt(true).await {
                return reply;
            }
            match watch.wait(deadline, &timeout_reply).await {
                Woken::Notified => continue,
                Woken::Ended(reply) => return reply,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_like_redis() {
        let now = 1_000_000;
        assert_eq!(parse_timeout(b"0", now).unwrap(), None);
        assert_eq!(parse_timeout(b"1.5", now).unwrap(), Some(now + 1500));
        assert_eq!(parse_timeout(b"0.0001", now).unwrap(), Some(now + 1));
        // ceil(-0.1 ms) is 0: forever, not negative.
        assert_eq!(parse_timeout(b"-0.0001", now).unwrap(), None);
        let text = |a: &[u8]| parse_timeout(a, now).unwrap_err().to_string();
        assert_eq!(text(b"-1"), "ERR timeout is negative");
        assert_eq!(text(b"inf"), "ERR timeout is negative");
        assert_eq!(text(b"1e20"), "ERR timeout is negative");
        for bad in [&b"x"[..], b"nan", b" 1", b"1 ", b""] {
            assert_eq!(text(bad), "ERR timeout is not a float or out of range");
        }
        assert_eq!(
            parse_timeout(b"9e15", now).unwrap(),
            Some(now + 9_000_000_000_000_000_000)
        );
        // Replies of Redis 7.0.15 (x86-64): below f64's range, hex, and at the edges of `long long`.
        let ms = |a: &[u8]| parse_timeout(a, 0).map(|d| d.map_or(0, |d| d as i64));
        for (arg, want) in [
            (&b"1e-400"[..], 1),
            (b"1e-4940", 1),
            (b"0x1", 1000),
            (b"0X1p3", 8000),
            (b"0x1p-20", 1),
            (b"0x.8", 500),
            (b"0.0015", 2),
            (b"-0x1p-20", 0),
            (b"9.223372036854775807e15", i64::MAX),
        ] {
            assert_eq!(ms(arg).unwrap(), want, "{arg:?}");
        }
        assert_eq!(
            text(b"1e-5000"),
            "ERR timeout is not a float or out of range"
        );
        assert_eq!(
            text(b"1e5000"),
            "ERR timeout is not a float or out of range"
        );
        assert_eq!(text(b"0x"), "ERR timeout is not a float or out of range");
        assert_eq!(text(b"9.3e15"), "ERR timeout is negative");
        assert_eq!(text(b"-9.3e15"), "ERR timeout is negative");
        assert_eq!(text(b"1e400"), "ERR timeout is negative");
    }
}

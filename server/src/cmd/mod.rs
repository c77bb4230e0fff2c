//! Commands: one file per command, all described by one table of [`CommandSpec`]s.
//!
//! A spec says everything the server needs to know before running a command: its name, arity, flags and
//! where its keys are. Routing is decided from the spec alone — which core owns the keys, whether they
//! span cores — so a command file only says what the command *does*:
//!
//! * `local`: runs on the core that owns every key of the request (any core, for keyless commands). Reads
//!   go straight to that core's [`Store`](crate::storage::Store); writes become a deterministic
//!   [`Mutation`](crate::statemachine::Mutation) proposed through [`Ctx::propose`].
//! * `spread` (optional): runs when the keys span cores, or — for keyless node-wide commands such as
//!   DBSIZE — always. It splits the work into per-core `local` runs over the channel mesh and merges the
//!   replies.
//!
//! Families: [`strings`], [`keys`] (the keyspace), [`hashes`], [`lists`], [`sets`], [`zsets`] (with the
//! helpers they share in [`collection`]), [`server`] (connection and server commands), [`tx`] (MULTI/EXEC
//! and WATCH), [`pubsub`] (SUBSCRIBE, PUBLISH, ...).

/// Defines a family's `spec(name, arity, flags, keys, local, spread, summary, since)`: [`CommandSpec::new`]
/// with the family's group filled in, so the families' tables read as one row per command.
macro_rules! family_spec {
    ($group:literal) => {
        #[allow(clippy::too_many_arguments)]
        const fn spec(
            name: &'static str,
            arity: i32,
            flags: u32,
            keys: $crate::cmd::KeySpec,
            local: $crate::cmd::LocalFn,
            spread: Option<$crate::cmd::SpreadFn>,
            summary: &'static str,
            since: &'static str,
        ) -> $crate::cmd::CommandSpec {
            $crate::cmd::CommandSpec::new(
                $group, name, arity, flags, keys, local, spread, summary, since,
            )
        }
    };
}
pub(crate) use family_spec;

pub mod args;
pub mod blocking;
pub mod collection;
mod error;
pub mod hashes;
pub mod keys;
pub mod lists;
pub mod longdouble;
pub mod pubsub;
pub mod server;
pub mod sets;
pub mod strings;
pub mod table;
pub mod tx;
pub mod zsets;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

pub use error::CmdError;

use crate::net::client::ClientState;
use crate::shard::Shard;
use crate::slot::SlotId;
use crate::statemachine::{LogEntry, Mutation};
use crate::storage::record::Record;
use crate::storage::StorageError;

/// Command flags, as COMMAND reports them.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const LOADING: u32 = 1 << 6;
    pub const STALE: u32 = 1 << 7;
    pub const SKIP_MONITOR: u32 = 1 << 8;
    pub const SKIP_SLOWLOG: u32 = 1 << 9;
    pub const FAST: u32 = 1 << 10;
    /// Allowed before AUTH when a password is set.
    pub const NO_AUTH: u32 = 1 << 11;
    pub const MAY_REPLICATE: u32 = 1 << 12;
    pub const SENTINEL: u32 = 1 << 13;
    pub const ALLOW_BUSY: u32 = 1 << 14;
    /// Keyless, but answers for the whole node (spread always runs).
    pub const NODE_WIDE: u32 = 1 << 15;

    /// Combinations the command tables use over and over.
    pub const RF: u32 = READONLY | FAST;
    pub const WF: u32 = WRITE | FAST;
    pub const WD: u32 = WRITE | DENYOOM;
    pub const WDF: u32 = WRITE | DENYOOM | FAST;
    /// May wait for data (BLPOP, ...): dispatched through `cmd::blocking`.
    pub const BLOCKING: u32 = 1 << 16;

    /// `(flag, name)` in the order COMMAND lists them.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// Where a command's keys are: Redis's legacy (first, last, step) triple — `last = -1` means "to the end",
/// `last = -2` "to the end but one" — plus, for commands that say how many keys follow (ZUNIONSTORE,
/// LMPOP, SINTERCARD, ...), the position of that count (`numkeys`, 0 for none): the keys are the
/// `numkeys` arguments after it. A count that is not a valid number adds no keys (the command then fails
/// with Redis's error wherever it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub first: i32,
    pub last: i32,
    pub step: i32,
    pub numkeys: i32,
}

impl KeySpec {
    pub const NONE: KeySpec = KeySpec::range(0, 0, 0);
    pub const ONE: KeySpec = KeySpec::range(1, 1, 1);
    pub const TWO: KeySpec = KeySpec::range(1, 2, 1);
    pub const ALL: KeySpec = KeySpec::range(1, -1, 1);
    pub const PAIRS: KeySpec = KeySpec::range(1, -1, 2);

    /// The legacy triple alone.
    pub const fn range(first: i32, last: i32, step: i32) -> KeySpec {
        KeySpec {
            first,
            last,
            step,
            numkeys: 0,
        }
    }

    /// Keys counted by the argument at `at` (plus the legacy triple, e.g. a destination key at 1).
    pub const fn counted(first: i32, last: i32, at: i32) -> KeySpec {
        KeySpec {
            first,
            last,
            step: 1,
            numkeys: at,
        }
    }

    /// Whether the key count (for a spec with one) names at least one key and no more than follow it:
    /// what Redis's key extraction requires before it reports any key of the command (COMMAND GETKEYS).
    pub fn count_is_valid(&self, args: &[Bytes]) -> bool {
        self.numkeys == 0 || self.count(args).is_some_and(|n| n >= 1)
    }

    /// The key count at `numkeys` when it is a number and that many keys follow it.
    #[inline]
    fn count(&self, args: &[Bytes]) -> Option<usize> {
        let at = self.numkeys as usize;
        args.get(at)
            .and_then(|a| std::str::from_utf8(a).ok())
            .and_then(|a| a.parse::<usize>().ok())
            .filter(|n| at + n < args.len())
    }

    /// Indexes of the key arguments in `args` (args[0] is the command name).
    #[inline]
    pub fn positions(&self, args: &[Bytes]) -> impl Iterator<Item = usize> {
        let argc = args.len();
        let (first, step) = (self.first.max(0) as usize, self.step.max(1) as usize);
        let last = match self.last {
            0 => 0,
            l if l < 0 => (argc as i64 + l as i64).max(0) as usize,
            l => (l as usize).min(argc.saturating_sub(1)),
        };
        let end = if self.first == 0 { 0 } else { last + 1 };
        let counted = match self.numkeys {
            0 => 0..0,
            at => {
                let at = at as usize;
                let n = self.count(args).unwrap_or(0);
                at + 1..at + 1 + n
            }
        };
        (first..end).step_by(step).chain(counted)
    }
}

/// A command's `local` function.
pub type LocalFn = fn(&mut Ctx<'_>, &[Bytes]) -> Result<Reply, CmdError>;
/// A future producing a reply.
pub type ReplyFuture = Pin<Box<dyn Future<Output = Reply>>>;
/// A command's `spread` function.
pub type SpreadFn = fn(Spread) -> ReplyFuture;

/// One row of the command table.
pub struct CommandSpec {
    /// Lower-case name (for subcommands: the subcommand alone, e.g. "get" under "config").
    pub name: &'static str,
    /// Redis arity: exact if positive, a minimum if negative. Counts the command name (and subcommand).
    pub arity: i32,
    pub flags: u32,
    pub keys: KeySpec,
    pub local: LocalFn,
    pub spread: Option<SpreadFn>,
    /// One line for COMMAND DOCS.
    pub summary: &'static str,
    pub since: &'static str,
    pub group: &'static str,
    /// For container commands (CONFIG, CLIENT, ...): their subcommands.
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    /// A plain (non-container) command; the families' tables are built from this.
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        group: &'static str,
        name: &'static str,
        arity: i32,
        flags: u32,
        keys: KeySpec,
        local: LocalFn,
        spread: Option<SpreadFn>,
        summary: &'static str,
        since: &'static str,
    ) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags,
            keys,
            local,
            spread,
            summary,
            since,
            group,
            subcommands: &[],
        }
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// Whether `argc` arguments (name included) satisfy the arity.
    #[inline]
    pub fn arity_ok(&self, argc: usize) -> bool {
        if self.arity >= 0 {
            argc == self.arity as usize
        } else {
            argc >= (-self.arity) as usize
        }
    }
}

/// What a `local` function runs with.
pub struct Ctx<'a> {
    pub shard: &'a Rc<Shard>,
    pub db: u8,
    /// The clock for this command, Unix ms.
    pub now_ms: u64,
    /// The connection, when the command runs on the core that holds it; `None` for work done on behalf of a
    /// connection on another core.
    pub client: Option<&'a mut ClientState>,
    /// Durability sequence the reply must wait for (0 = none).
    pub wait_seq: u64,
    /// True when this run is one leg of a spread command: answer for this core only.
    pub leg: bool,
    /// The key the router hashed to pick this core, with its slot.
    pub routed: Option<RoutedKey>,
}

/// A key argument whose slot the router already computed (CRC16 was ~3% of a pipelined GET when done
/// twice). Recognised by address and length: it is the very argument, not merely equal bytes.
#[derive(Clone, Copy)]
pub struct RoutedKey {
    ptr: *const u8,
    len: usize,
    slot: SlotId,
}

impl RoutedKey {
    pub fn new(key: &[u8], slot: SlotId) -> RoutedKey {
        RoutedKey {
            ptr: key.as_ptr(),
            len: key.len(),
            slot,
        }
    }
}

impl Ctx<'_> {
    /// The live record of `key` in this context's database.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Result<Option<Record>, StorageError> {
        self.shard
            .store
            .get_live(self.slot_of(key), self.db, key, self.now_ms)
    }

    /// The slot of `key`, without hashing it again when it is the argument the router hashed.
    #[inline]
    pub fn slot_of(&self, key: &[u8]) -> SlotId {
        match self.routed {
            Some(r) if r.ptr == key.as_ptr() && r.len == key.len() => r.slot,
            _ => SlotId::of_key(key),
        }
    }

    /// Proposes a write to `slot` and returns its reply.
    pub fn propose(&mut self, slot: SlotId, mutation: Mutation) -> Result<Reply, CmdError> {
        let entry = LogEntry {
            slot,
            db: self.db,
            now_ms: self.now_ms,
            mutation,
        };
        self.propose_entry(&entry)
    }

    /// Proposes a prepared entry and returns its reply; the connection waits for what the reply needs
    /// durable (the entry, or the withdrawal of a failed one).
    pub fn propose_entry(&mut self, entry: &LogEntry) -> Result<Reply, CmdError> {
        let (result, seq) = crate::shard::proposal_parts(self.shard.propose(entry));
        self.wait_seq = self.wait_seq.max(seq);
        result
    }

    /// The connection; for connection-level commands, which always run on the connection's core.
    pub fn client(&mut self) -> &mut ClientState {
        self.client
            .as_deref_mut()
            .expect("connection commands have no keys and run where their connection lives")
    }
}

/// What a `spread` function runs with.
pub struct Spread {
    pub shard: Rc<Shard>,
    pub db: u8,
    pub now_ms: u64,
    pub args: Vec<Bytes>,
}

impl Spread {
    /// Runs `args` as a leg (this core's share only) on `core` and returns its reply.
    pub async fn leg(&self, core: usize, args: Vec<Bytes>) -> Reply {
        self.shard.run_leg(core, self.db, self.now_ms, args).await
    }

    /// Runs the same arguments as a leg on every core, in core order.
    pub async fn on_every_core(&self, args: &[Bytes]) -> Vec<Reply> {
        let cores = self.shard.node.cores;
        let mut futs = Vec::with_capacity(cores);
        for core in 0..cores {
            futs.push(self.leg(core, args.to_vec()));
        }
        let mut out = Vec::with_capacity(cores);
        for f in futs {
            out.push(f.await);
        }
        out
    }

    /// Groups the key arguments (positions per the spec) by owning core: `(core, [arg indexes])`.
    pub fn keys_by_core(&self, positions: impl Iterator<Item = usize>) -> Vec<(usize, Vec<usize>)> {
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for i in positions {
            let core = self
                .shard
                .node
                .layout
                .core_of(SlotId::of_key(&self.args[i]));
            match groups.iter_mut().find(|(c, _)| *c == core) {
                Some((_, v)) => v.push(i),
                None => groups.push((core, vec![i])),
            }
        }
        groups
    }
}

/// Sums integer replies of legs; the first error wins.
pub fn sum_integers(replies: Vec<Reply>) -> Reply {
    let mut total = 0i64;
    for r in replies {
        match r {
            Reply::Integer(n) => total += n,
            other => return other,
        }
    }
    Reply::Integer(total)
}

/// Lower-cases a command name into a small stack buffer for the table lookup.
#[inline]
pub fn lowercase_name(name: &[u8], buf: &mut [u8; 32]) -> Option<usize> {
    if name.len() > buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    Some(name.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_positions() {
        let args =
            |n: usize| -> Vec<Bytes> { (0..n).map(|i| Bytes::from(i.to_string())).collect() };
        let p: Vec<_> = KeySpec::ONE.positions(&args(3)).collect();
        assert_eq!(p, vec![1]);
        let p: Vec<_> = KeySpec::ALL.positions(&args(4)).collect();
        assert_eq!(p, vec![1, 2, 3]);
        let p: Vec<_> = KeySpec::PAIRS.positions(&args(5)).collect();
        assert_eq!(p, vec![1, 3]);
        let p: Vec<_> = KeySpec::NONE.positions(&args(5)).collect();
        assert!(p.is_empty());
        let p: Vec<_> = KeySpec::TWO.positions(&args(3)).collect();
        assert_eq!(p, vec![1, 2]);
        // ZUNIONSTORE dst 2 a b WEIGHTS 1 2
        let z: Vec<Bytes> = ["zunionstore", "dst", "2", "a", "b", "weights", "1", "2"]
            .iter()
            .map(|s| Bytes::from(*s))
            .collect();
        let p: Vec<_> = KeySpec::counted(1, 1, 2).positions(&z).collect();
        assert_eq!(p, vec![1, 3, 4]);
        // LMPOP 2 a b LEFT; a count past the end or not a number adds nothing.
        let l: Vec<Bytes> = ["lmpop", "2", "a", "b", "left"]
            .iter()
            .map(|s| Bytes::from(*s))
            .collect();
        assert_eq!(
            KeySpec::counted(0, 0, 1).positions(&l).collect::<Vec<_>>(),
            vec![2, 3]
        );
        let bad: Vec<Bytes> = ["lmpop", "9", "a"]
            .iter()
            .map(|s| Bytes::from(*s))
            .collect();
        assert!(KeySpec::counted(0, 0, 1).positions(&bad).next().is_none());
        let bad: Vec<Bytes> = ["lmpop", "x", "a"]
            .iter()
            .map(|s| Bytes::from(*s))
            .collect();
        assert!(KeySpec::counted(0, 0, 1).positions(&bad).next().is_none());
    }
}

//! # slotkv-server
//!
//! A Redis-compatible key-value server: thread-per-core on glommio (io_uring), RocksDB underneath, keys
//! divided into 2048 slots. A tour, in the order a request travels (docs/architecture.md draws it):
//!
//! * [`node`] starts one pinned executor per core, joined by a channel mesh, and stops them cleanly.
//! * [`net`]: every core accepts on the same port ([`net::listener`]); each connection is one task
//!   ([`net::connection`]) that decodes requests with the `resp` crate and writes replies in order.
//! * [`shard`]: what one core owns. [`shard::Shard::dispatch`] routes a request from the command table alone:
//!   run here, forward to the owning core over the mesh ([`shard::mesh`]), or spread over several cores.
//! * [`cmd`]: one file per command behind one table ([`cmd::table`]) of name, arity, flags and key positions.
//! * [`statemachine`]: the write seam. Commands turn writes into deterministic [`statemachine::Mutation`]s;
//!   the slot's state machine applies them and the commit tracker ([`statemachine::durability`]) makes them
//!   durable with one group fsync per core.
//! * [`storage`]: one RocksDB instance per core; the physical key layout ([`storage::keycodec`]) and the
//!   value record ([`storage::record`]).
//! * [`slot`] and [`layout`]: key → slot (Redis Cluster's CRC16, eight Redis slots per slot) → core.
//!
//! Why thread-per-core: a core that owns its slots, its connections and its RocksDB instance never waits on
//! another core's lock, so latency is the core's own work plus I/O, and capacity grows with cores.

pub mod cmd;
pub mod config;
pub mod layout;
pub mod net;
pub mod node;
pub mod replication;
pub mod shard;
pub mod slot;
pub mod statemachine;
pub mod storage;

//! RESP framing for slotkv: client requests in, replies out, byte-compatible with Redis 7.
//!
//! # A tour
//!
//! - [`request`]: [`RequestDecoder`] splits [`Request`]s (a command's arguments) off the front
//!   of a connection's read buffer, enforcing Redis's [`Limits`].
//! - [`reply`]: [`Reply`] is what a command answers; [`Reply::encode`] appends it to the write
//!   buffer in the connection's [`Protocol`] (RESP2 or RESP3).
//! - [`error`]: [`ProtocolError`], the framing errors, whose text is Redis's own.
//!
//! ```
//! use bytes::BytesMut;
//! use resp::{Limits, Protocol, Reply, RequestDecoder};
//!
//! let mut decoder = RequestDecoder::new(Limits::default());
//! let mut input = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n"[..]);
//! let get = decoder.decode(&mut input, true).unwrap().unwrap();
//! assert_eq!(get.args, ["GET", "k"]);
//! let ping = decoder.decode(&mut input, true).unwrap().unwrap();
//! assert!(ping.inline);
//! assert_eq!(decoder.decode(&mut input, true), Ok(None)); // wait for more bytes
//!
//! let mut output = BytesMut::new();
//! Reply::Bulk("v".into()).encode(Protocol::Resp2, &mut output);
//! Reply::Null.encode(Protocol::Resp3, &mut output);
//! assert_eq!(&output[..], b"$1\r\nv\r\n_\r\n");
//! ```
//!
//! # Why framing is two steps
//!
//! TCP delivers a request in whatever pieces it likes, so "not all here yet" is the normal
//! case, not an error. Step one is redis-protocol's parser run over the buffered bytes: for a
//! request that arrived whole — almost all of them — it yields the argument boundaries in a
//! single pass, and a few integer comparisons confirm the request is one Redis would accept.
//! Only when that step says "incomplete" or "malformed" does step two run: a small reader that
//! mirrors Redis's `processMultibulkBuffer` line by line. It exists for three reasons. It
//! enforces the limits as soon as a length is announced, so a client cannot make us buffer
//! past `proto-max-bulk-len` (or 16 KB before AUTH) by simply sending slowly. It keeps its
//! place between reads, so a request that trickles in is walked once in total and a 512 MB
//! value costs one comparison per read, and it can tell the caller how many bytes are still
//! to come ([`RequestDecoder::bytes_needed_hint`]) to reserve the buffer in one go. And it
//! produces Redis's exact error for malformed input, which a generic parser cannot know.
//!
//! # Why zero-copy
//!
//! A `SET` value may be hundreds of megabytes and an `MSET` carries many values; copying each
//! argument out of the read buffer would double the memory traffic of every write. Instead a
//! finished request is split off the buffer as one frozen `Bytes` and every argument is a
//! slice of it: reference-counted views into the allocation the socket read into. They can
//! travel to another core, into a Raft log entry or a RocksDB write batch without a copy; the
//! read buffer's memory is freed when the last slice is dropped.
//!
//! # Where the limits come from
//!
//! They are Redis's own, so clients see the same behaviour: `proto-max-bulk-len` (512 MB by
//! default) caps one argument; the argument count is capped at `INT_MAX`; `*`/`$` lines and
//! inline commands get 64 KB (`PROTO_INLINE_MAX_SIZE`) to find their line end. A client that
//! has not authenticated yet (when a password is required) may send at most 10 arguments of at
//! most 16384 bytes each: Redis added those after CVE-2021-32675, where unauthenticated
//! clients could make a server allocate huge argument arrays.
//!
//! # Doubles
//!
//! Redis 7.0 printed doubles with `%.17g` and Redis 7.2 prints the shortest round-trip form;
//! [`Reply::encode`] follows 7.2, [`Reply::encode_with`] can follow either ([`DoubleFormat`]).

pub mod error;
pub mod reply;
pub mod request;

pub use error::ProtocolError;
pub use reply::{BulkArray, DoubleFormat, Protocol, Reply};
pub use request::{Limits, Request, RequestDecoder};

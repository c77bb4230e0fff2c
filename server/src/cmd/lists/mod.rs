//! Lists: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LRANGE, LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS,
//! LMOVE, RPOPLPUSH, LMPOP and the blocking pops BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP.
//!
//! Layout (storage/collection.rs): a list's elements sit at consecutive positions `head .. head + count` of
//! the `sub` family under the key's version; the metadata record holds `count` and `head`. So an index is
//! a position, and what each command costs follows from how many positions it reads or rewrites:
//!
//! | command                    | cost                                                                    |
//! |----------------------------|-------------------------------------------------------------------------|
//! | LPUSH/RPUSH, LPOP/RPOP     | one member write per element; the metadata record                     |
//! | LLEN                       | the metadata record                                                     |
//! | LINDEX, LSET               | one point read (and write): O(1) at any index                           |
//! | LRANGE                     | one seek to `head + start`, then only the slice                         |
//! | LPOS                       | a scan from the chosen end, stopping at COUNT matches / MAXLEN          |
//! | LINSERT                    | a scan to the pivot, then the shorter side shifted by one (min(i, n−i)) |
//! | LREM                       | a scan from the chosen end; the kept elements on the shorter side of the removed ones are rewritten |
//! | LTRIM                      | min(removed, kept): deletes the removed, or copies the kept to a fresh version (the old members are reclaimed by compaction) |
//! | LMOVE, RPOPLPUSH           | one read, one delete, one write                                         |
//!
//! A list whose last element goes is deleted (Redis keeps no empty lists); its members are then left to the
//! compaction filter instead of being deleted one by one.
//!
//! Writes are [`ListOp`] mutations. Commands on one key are atomic. LMOVE between two slots of one core is
//! two mutations applied back to back (no other request runs in between; a crash between them can lose the
//! moved element); between two cores it is remove-then-add over the mesh and **not atomic** (see
//! [`lmove`]). LMPOP/BLPOP over keys on several cores try the keys in order, one core at a time.
//! The blocking commands use [`crate::cmd::blocking`].

mod bpop;
mod elements;
mod linsert;
mod lmove;
mod lpos;
mod lrem;
mod lset;
mod ltrim;
mod pop;
mod push;
mod read;

use bytes::Bytes;
use resp::Reply;

use super::args::is;
use super::{flags::*, CmdError, CommandSpec, KeySpec};
use crate::statemachine::SlotWriter;

pub use pop::PopShape;

/// Deterministic writes of this family.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ListOp {
    /// LPUSH/RPUSH (`left`), LPUSHX/RPUSHX (`only_existing`). Reply: the new length (0 when the X form found
    /// no list).
    Push {
        key: Bytes,
        elements: Vec<Bytes>,
        left: bool,
        only_existing: bool,
    },
    /// Pops `count` elements (`None`: one, replied as a bulk) from one end; the reply's form is `shape`.
    Pop {
        key: Bytes,
        left: bool,
        count: Option<u64>,
        shape: PopShape,
    },
    /// LSET.
    Set {
        key: Bytes,
        index: i64,
        element: Bytes,
    },
    /// LINSERT: `element` before (or `after`) the first `pivot` from the head.
    Insert {
        key: Bytes,
        after: bool,
        pivot: Bytes,
        element: Bytes,
    },
    /// LREM: `count` > 0 from the head, < 0 from the tail, 0 all.
    Rem {
        key: Bytes,
        count: i64,
        element: Bytes,
    },
    /// LTRIM with Redis's index rules.
    Trim { key: Bytes, start: i64, stop: i64 },
    /// LMOVE with both keys in this slot (the same key rotates).
    Move {
        src: Bytes,
        dst: Bytes,
        from_left: bool,
        to_left: bool,
    },
}

impl ListOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        match self {
            ListOp::Push {
                key,
                elements,
                left,
                only_existing,
            } => push::apply(w, key, elements, *left, *only_existing),
            ListOp::Pop {
                key,
                left,
                count,
                shape,
            } => pop::apply(w, key, *left, *count, *shape),
            ListOp::Set {
                key,
                index,
                element,
            } => lset::apply(w, key, *index, element),
            ListOp::Insert {
                key,
                after,
                pivot,
                element,
            } => linsert::apply(w, key, *after, pivot, element),
            ListOp::Rem {
                key,
                count,
                element,
            } => lrem::apply(w, key, *count, element),
            ListOp::Trim { key, start, stop } => ltrim::apply(w, key, *start, *stop),
            ListOp::Move {
                src,
                dst,
                from_left,
                to_left,
            } => lmove::apply(w, src, dst, *from_left, *to_left),
        }
    }
}

/// LEFT or RIGHT (true for LEFT); anything else is a syntax error.
fn parse_end(arg: &[u8]) -> Result<bool, CmdError> {
    if is(arg, "left") {
        Ok(true)
    } else if is(arg, "right") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

super::family_spec!("list");

/// BLPOP's keys: all but the trailing timeout.
const BKEYS: KeySpec = KeySpec::range(1, -2, 1);

/// Names, arities, flags, key positions, summaries and versions as Redis 7.0's COMMAND reports them.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    spec("lpush", -3, WDF, KeySpec::ONE, push::lpush, None, "Prepend one or multiple elements to a list", "1.0.0"),
    spec("rpush", -3, WDF, KeySpec::ONE, push::rpush, None, "Append one or multiple elements to a list", "1.0.0"),
    spec("lpushx", -3, WDF, KeySpec::ONE, push::lpushx, None, "Prepend an element to a list, only if the list exists", "2.2.0"),
    spec("rpushx", -3, WDF, KeySpec::ONE, push::rpushx, None, "Append an element to a list, only if the list exists", "2.2.0"),
    spec("lpop", -2, WF, KeySpec::ONE, pop::lpop, None, "Remove and get the first elements in a list", "1.0.0"),
    spec("rpop", -2, WF, KeySpec::ONE, pop::rpop, None, "Remove and get the last elements in a list", "1.0.0"),
    spec("llen", 2, RF, KeySpec::ONE, read::llen, None, "Get the length of a list", "1.0.0"),
    spec("lrange", 4, READONLY, KeySpec::ONE, read::lrange, None, "Get a range of elements from a list", "1.0.0"),
    spec("lindex", 3, READONLY, KeySpec::ONE, read::lindex, None, "Get an element from a list by its index", "1.0.0"),
    spec("lset", 4, WD, KeySpec::ONE, lset::local, None, "Set the value of an element in a list by its index", "1.0.0"),
    spec("linsert", 5, WD, KeySpec::ONE, linsert::local, None, "Insert an element before or after another element in a list", "2.2.0"),
    spec("lrem", 4, WRITE, KeySpec::ONE, lrem::local, None, "Remove elements from a list", "1.0.0"),
    spec("ltrim", 4, WRITE, KeySpec::ONE, ltrim::local, None, "Trim a list to the specified range", "1.0.0"),
    spec("lpos", -3, READONLY, KeySpec::ONE, lpos::local, None, "Return the index of matching elements on a list", "6.0.6"),
    spec("lmove", 5, WD, KeySpec::TWO, lmove::lmove, Some(lmove::lmove_spread), "Pop an element from a list, push it to another list and return it", "6.2.0"),
    spec("rpoplpush", 3, WD, KeySpec::TWO, lmove::rpoplpush, Some(lmove::rpoplpush_spread), "Remove the last element in a list, prepend it to another list and return it", "1.2.0"),
    spec("lmpop", -4, WRITE, KeySpec::counted(0, 0, 1), bpop::lmpop, Some(bpop::lmpop_spread), "Pop elements from a list", "7.0.0"),
    spec("blpop", -3, WRITE | NOSCRIPT | BLOCKING, BKEYS, bpop::blpop, Some(bpop::blpop_spread), "Remove and get the first element in a list, or block until one is available", "2.0.0"),
    spec("brpop", -3, WRITE | NOSCRIPT | BLOCKING, BKEYS, bpop::brpop, Some(bpop::brpop_spread), "Remove and get the last element in a list, or block until one is available", "2.0.0"),
    spec("blmove", 6, WD | NOSCRIPT | BLOCKING, KeySpec::TWO, lmove::blmove, Some(lmove::blmove_spread), "Pop an element from a list, push it to another list and return it; or block until one is available", "6.2.0"),
    spec("brpoplpush", 4, WD | NOSCRIPT | BLOCKING, KeySpec::TWO, lmove::brpoplpush, Some(lmove::brpoplpush_spread), "Pop an element from a list, push it to another list and return it; or block until one is available", "2.2.0"),
    spec("blmpop", -5, WRITE | BLOCKING, KeySpec::counted(0, 0, 2), bpop::blmpop, Some(bpop::blmpop_spread), "Pop elements from a list, or block until one is available", "7.0.0"),
];

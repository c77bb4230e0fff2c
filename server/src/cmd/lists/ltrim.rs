//! LTRIM key start stop
//!
//! Cost: min(removed, kept). Trimming a few elements deletes them; keeping a few of many copies the kept
//! ones under a fresh version of the key and leaves the old members to the compaction filter (the same trick
//! that makes DEL O(1)), so `LTRIM big 0 99` writes 100 elements whatever the list's length.

use bytes::Bytes;
use resp::Reply;

use super::elements::{delete, put, range, read_run, At};
use super::ListOp;
use crate::cmd::args::parse_i64;
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::collection::LIST_START;
use crate::storage::record::ValueType;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let start = parse_i64(&args[2])?;
    let stop = parse_i64(&args[3])?;
    let op = ListOp::Trim {
        key: args[1].clone(),
        start,
        stop,
    };
    ctx.propose(ctx.slot_of(&args[1]), Mutation::List(op))
}

pub fn apply(
    w: &mut SlotWriter<'_>,
    key: &Bytes,
    start: i64,
    stop: i64,
) -> Result<Reply, CmdError> {
    let Some(mut l) = collection::load(w, key, ValueType::List)? else {
        return Ok(Reply::Ok);
    };
    let (head, n, version) = (l.meta.head, l.meta.count, l.version());
    let (ltrim, rtrim) = match range(start, stop, n) {
        None => (n, 0),
        Some((from, to)) => (from, n - to - 1),
    };
    let kept = n - ltrim - rtrim;
    if kept > 0 && ltrim + rtrim <= kept {
        for pos in (head..head + ltrim).chain(head + n - rtrim..head + n) {
            delete(w, key, version, pos);
        }
        l.meta.head += ltrim;
    } else if kept > 0 {
        let keep = read_run(At::of(w.store(), w.db, key, &l), head + ltrim, kept, true)?;
        let fresh = w.new_version()?;
        for (i, v) in keep.iter().enumerate() {
            put(w, key, fresh, LIST_START + i as u64, v);
        }
        l.record.version = fresh;
        l.meta.head = LIST_START;
    }
    // Nothing kept: the key goes (members to the compaction filter). Stored even when nothing was trimmed:
    // the key counts as written, as in Redis.
    l.meta.count = kept;
    collection::store(w, key, &l)?;
    Ok(Reply::Ok)
}

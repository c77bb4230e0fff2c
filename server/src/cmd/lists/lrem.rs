//! LREM key count element — removes the first `count` occurrences from the head (count > 0), from the tail
//! (count < 0) or all of them (0).
//!
//! Cost: a scan from the chosen end (as Redis); then, to keep elements at consecutive positions, the kept
//! elements between the removed ones and the nearer end move: the side after the first removed element or
//! the side before the last, whichever is shorter.

use std::ops::ControlFlow;

use bytes::Bytes;
use resp::Reply;

use super::elements::{delete, put, read_run, scan, At};
use super::ListOp;
use crate::cmd::args::parse_i64;
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::record::ValueType;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let count = parse_i64(&args[2])?;
    let op = ListOp::Rem {
        key: args[1].clone(),
        count,
        element: args[3].clone(),
    };
    ctx.propose(ctx.slot_of(&args[1]), Mutation::List(op))
}

pub fn apply(
    w: &mut SlotWriter<'_>,
    key: &Bytes,
    count: i64,
    element: &Bytes,
) -> Result<Reply, CmdError> {
    let Some(mut l) = collection::load(w, key, ValueType::List)? else {
        return Ok(Reply::Integer(0));
    };
    let (head, n, version) = (l.meta.head, l.meta.count, l.version());
    let forward = count >= 0;
    let limit = count.unsigned_abs() as usize;
    // Offsets (from the head) of the elements to remove.
    let mut removed: Vec<u64> = Vec::new();
    let from = if forward { head } else { l.meta.tail() - 1 };
    scan(
        At::of(w.store(), w.db, key, &l),
        from,
        n,
        forward,
        |pos, v| {
            if v == &element[..] {
                removed.push(pos - head);
                if limit != 0 && removed.len() == limit {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        },
    )?;
    if removed.is_empty() {
        return Ok(Reply::Integer(0));
    }
    if !forward {
        removed.reverse();
    }
    let k = removed.len() as u64;
    if k < n {
        let (first, last) = (removed[0], removed[removed.len() - 1]);
        let at = At::of(w.store(), w.db, key, &l);
        if n - first <= last + 1 {
            // The elements after the first removed one close up towards the head.
            let after = read_run(at, head + first + 1, n - first - 1, true)?;
            let mut gone = removed.iter().skip(1).peekable();
            let mut dest = first;
            for (i, v) in after.iter().enumerate() {
                let o = first + 1 + i as u64;
                if gone.peek() == Some(&&o) {
                    gone.next();
                    continue;
                }
                put(w, key, version, head + dest, v);
                dest += 1;
            }
            for o in n - k..n {
                delete(w, key, version, head + o);
            }
        } else {
            // The elements before the last removed one close up towards the tail.
            let before = match last {
                0 => Vec::new(),
                _ => read_run(at, head + last - 1, last, false)?,
            };
            let mut gone = removed.iter().rev().skip(1).peekable();
            let mut dest = last;
            for (i, v) in before.iter().enumerate() {
                let o = last - 1 - i as u64;
                if gone.peek() == Some(&&o) {
                    gone.next();
                    continue;
                }
                put(w, key, version, head + dest, v);
                dest -= 1;
            }
            for o in 0..k {
                delete(w, key, version, head + o);
            }
            l.meta.head += k;
        }
    }
    // All removed: the key goes, its members are left to the compaction filter.
    l.meta.count -= k;
    collection::store(w, key, &l)?;
    Ok(Reply::Integer(k as i64))
}

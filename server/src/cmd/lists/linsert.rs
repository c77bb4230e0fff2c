//! LINSERT key BEFORE|AFTER pivot element
//!
//! Cost: a scan from the head to the first pivot (as Redis), then the shorter side of the insertion point
//! moves by one position — min(i, n − i) element rewrites — so elements stay at consecutive positions.

use std::ops::ControlFlow;

use bytes::Bytes;
use resp::Reply;

use super::elements::{full, put, read_run, scan, At};
use super::ListOp;
use crate::cmd::args::is;
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::record::ValueType;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let after = if is(&args[2], "after") {
        true
    } else if is(&args[2], "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let op = ListOp::Insert {
        key: args[1].clone(),
        after,
        pivot: args[3].clone(),
        element: args[4].clone(),
    };
    ctx.propose(ctx.slot_of(&args[1]), Mutation::List(op))
}

pub fn apply(
    w: &mut SlotWriter<'_>,
    key: &Bytes,
    after: bool,
    pivot: &Bytes,
    element: &Bytes,
) -> Result<Reply, CmdError> {
    let Some(mut l) = collection::load(w, key, ValueType::List)? else {
        return Ok(Reply::Integer(0));
    };
    let (head, n, version) = (l.meta.head, l.meta.count, l.version());
    let half = n / 2;
    // Elements before the pivot are kept while they may be the side that moves (the first half).
    let mut before: Vec<Bytes> = Vec::new();
    let mut found = None;
    scan(At::of(w.store(), w.db, key, &l), head, n, true, |pos, v| {
        let i = pos - head;
        if v == &pivot[..] {
            found = Some(i);
            return ControlFlow::Break(());
        }
        if i < half {
            before.push(Bytes::copy_from_slice(v));
        }
        ControlFlow::Continue(())
    })?;
    let Some(i) = found else {
        return Ok(Reply::Integer(-1));
    };
    // The new element's index.
    let j = if after { i + 1 } else { i };
    if j <= n - j {
        // Elements 0..j move one position towards the head (j <= n/2, so `before` holds them).
        if after {
            before.push(pivot.clone());
        }
        debug_assert_eq!(before.len() as u64, j);
        let new_head = head.checked_sub(1).ok_or_else(full)?;
        for (k, v) in before.iter().enumerate() {
            put(w, key, version, new_head + k as u64, v);
        }
        put(w, key, version, new_head + j, element);
        l.meta.head = new_head;
    } else {
        // Elements j..n move one position towards the tail.
        if l.meta.tail() == u64::MAX {
            return Err(full());
        }
        let moved = read_run(At::of(w.store(), w.db, key, &l), head + j, n - j, true)?;
        for (k, v) in moved.iter().enumerate().rev() {
            put(w, key, version, head + j + k as u64 + 1, v);
        }
        put(w, key, version, head + j, element);
    }
    l.meta.count += 1;
    collection::store(w, key, &l)?;
    Ok(Reply::Integer(l.meta.count as i64))
}

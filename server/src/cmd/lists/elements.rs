//! Reading and rewriting a list's elements by position (`head .. head + count`, see the family docs).
//!
//! Reads go through a member cursor (one seek, then sequential steps), which does not see the writes of
//! the mutation being applied: every op reads what it needs before it writes.

use std::ops::ControlFlow;

use bytes::Bytes;

use crate::cmd::collection::Loaded;
use crate::cmd::CmdError;
use crate::slot::SlotId;
use crate::statemachine::SlotWriter;
use crate::storage::collection::{list_pos, Family};
use crate::storage::record::CorruptRecord;
use crate::storage::{StorageError, Store};

/// Where a list's members are.
#[derive(Clone, Copy)]
pub struct At<'a> {
    pub store: &'a Store,
    pub slot: SlotId,
    pub db: u8,
    pub key: &'a [u8],
    pub version: u64,
}

impl<'a> At<'a> {
    pub fn of(store: &'a Store, db: u8, key: &'a [u8], l: &Loaded) -> At<'a> {
        At {
            store,
            slot: SlotId::of_key(key),
            db,
            key,
            version: l.version(),
        }
    }
}

/// A position that should hold an element but does not: the count and the members disagree.
pub fn corrupt() -> CmdError {
    CmdError::Storage(StorageError::from(CorruptRecord(0)))
}

/// Visits elements from position `from`, towards the tail (`forward`) or the head, calling `f(position,
/// element)` until it breaks or `n` elements were visited. Fails if a position in the run is missing.
pub fn scan(
    at: At<'_>,
    from: u64,
    n: u64,
    forward: bool,
    mut f: impl FnMut(u64, &[u8]) -> ControlFlow<()>,
) -> Result<(), CmdError> {
    if n == 0 {
        return Ok(());
    }
    let mut c = at
        .store
        .member_cursor(Family::Sub, at.slot, at.db, at.key, at.version);
    if forward {
        c.seek(&list_pos(from));
    } else {
        c.seek_for_prev(&list_pos(from));
    }
    let mut pos = from;
    for i in 0..n {
        if !c.valid() {
            c.status()?;
            return Err(corrupt());
        }
        if c.member() != list_pos(pos) {
            return Err(corrupt());
        }
        if f(pos, c.value()).is_break() {
            return Ok(());
        }
        if i + 1 < n {
            if forward {
                c.next();
                pos = pos.wrapping_add(1);
            } else {
                c.prev();
                pos = pos.wrapping_sub(1);
            }
        }
    }
    Ok(())
}

/// The `n` elements from position `from` on (forward) or back (not forward), in visiting order.
///
/// The elements are copied into one buffer and handed out as slices of it: one allocation per call rather
/// than one per element (LRANGE replies are made of these).
pub fn read_run(at: At<'_>, from: u64, n: u64, forward: bool) -> Result<Vec<Bytes>, CmdError> {
    let mut ends = Vec::with_capacity(n.min(1 << 16) as usize);
    let mut buf = bytes::BytesMut::new();
    scan(at, from, n, forward, |_, v| {
        buf.extend_from_slice(v);
        ends.push(buf.len());
        ControlFlow::Continue(())
    })?;
    let buf = buf.freeze();
    let mut start = 0;
    Ok(ends
        .into_iter()
        .map(|end| {
            let b = buf.slice(start..end);
            start = end;
            b
        })
        .collect())
}

/// The element at `pos`, read through the writer (sees this entry's own writes).
pub fn get(w: &mut SlotWriter<'_>, key: &[u8], version: u64, pos: u64) -> Result<Bytes, CmdError> {
    w.get_member(Family::Sub, key, version, &list_pos(pos))?
        .ok_or_else(corrupt)
}

pub fn put(w: &mut SlotWriter<'_>, key: &[u8], version: u64, pos: u64, element: &[u8]) {
    w.put_member(Family::Sub, key, version, &list_pos(pos), element);
}

pub fn delete(w: &mut SlotWriter<'_>, key: &[u8], version: u64, pos: u64) {
    w.delete_member(Family::Sub, key, version, &list_pos(pos));
}

/// Redis's range rules (`addListRangeReply`, LTRIM): negative indexes count from the end, the start is
/// clamped to 0 and the end to the last element. `None` when the range is empty.
pub fn range(start: i64, end: i64, len: u64) -> Option<(u64, u64)> {
    let len = len as i64;
    let start = if start < 0 { start + len } else { start }.max(0);
    let end = if end < 0 { end + len } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as u64, end.min(len - 1) as u64))
}

/// An index (negative from the end) as an offset from the head, if it is inside the list.
pub fn offset(index: i64, len: u64) -> Option<u64> {
    let len = len as i64;
    let i = if index < 0 {
        index.checked_add(len)?
    } else {
        index
    };
    (0..len).contains(&i).then_some(i as u64)
}

/// Message for a list that would pass either end of the position space (2^63 pushes on one side).
pub fn full() -> CmdError {
    CmdError::msg("ERR list position space exhausted")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_redis() {
        assert_eq!(range(0, -1, 5), Some((0, 4)));
        assert_eq!(range(-100, 100, 5), Some((0, 4)));
        assert_eq!(range(2, 1, 5), None);
        assert_eq!(range(5, 10, 5), None);
        assert_eq!(range(-2, -1, 5), Some((3, 4)));
        assert_eq!(range(0, -6, 5), None);
        assert_eq!(range(0, 0, 0), None);
        assert_eq!(range(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(offset(-1, 3), Some(2));
        assert_eq!(offset(-4, 3), None);
        assert_eq!(offset(3, 3), None);
        assert_eq!(offset(i64::MIN, 3), None);
    }
}

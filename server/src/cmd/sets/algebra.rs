//! Set algebra on one core: intersection, union and difference of sets that this core owns, read straight
//! from its store. Synchronous, so a computation sees one state of the store (nothing else runs on the
//! core meanwhile).
//!
//! Members are read in byte order, so every intermediate result is a sorted, distinct list. Costs:
//!
//! * intersection: the smallest set is read (in chunks, so SINTERCARD's LIMIT stops early) and its members
//!   are tested against the others, smallest first — O(smallest × sets) point reads, or a merge with a set
//!   that is much smaller than the candidates;
//! * difference: the first set is read, then each other set removes its members the same way;
//! * union: every set is read.
//!
//! The same functions continue a computation started on another core: given candidates, intersection and
//! difference only filter them (see `gather`).

use bytes::Bytes;

use crate::cmd::CmdError;
use crate::slot::SlotId;
use crate::storage::collection::{CollectionMeta, Family};
use crate::storage::record::ValueType;
use crate::storage::{StorageError, Store};

/// Which combination of sets a command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Algebra {
    Inter,
    Union,
    Diff,
}

impl Algebra {
    /// The algebra of SINTER/SUNION/SDIFF and their STORE forms, from the command name.
    pub fn of_command(name: &[u8]) -> Option<(Algebra, bool)> {
        let lower = name.to_ascii_lowercase();
        let (base, store) = match lower.strip_suffix(b"store") {
            Some(b) => (b, true),
            None => (&lower[..], false),
        };
        let algebra = match base {
            b"sinter" => Algebra::Inter,
            b"sunion" => Algebra::Union,
            b"sdiff" => Algebra::Diff,
            _ => return None,
        };
        Some((algebra, store))
    }
}

/// A live set on this core: where its members are and how many there are.
#[derive(Debug, Clone)]
pub struct SetRef {
    pub key: Bytes,
    pub slot: SlotId,
    pub version: u64,
    pub count: u64,
}

/// Reads `key` as a set: `None` if absent (or expired), WRONGTYPE if it holds another type.
pub fn open(store: &Store, db: u8, now_ms: u64, key: &Bytes) -> Result<Option<SetRef>, CmdError> {
    let slot = SlotId::of_key(key);
    let Some(rec) = store.get_live(slot, db, key, now_ms)? else {
        return Ok(None);
    };
    if rec.vtype != ValueType::Set {
        return Err(CmdError::WrongType);
    }
    let meta = CollectionMeta::of(&rec).map_err(StorageError::from)?;
    Ok(Some(SetRef {
        key: key.clone(),
        slot,
        version: rec.version,
        count: meta.count,
    }))
}

/// Opens every key, checking all their types first (Redis replies WRONGTYPE even when an earlier key is
/// missing).
pub fn open_all(
    store: &Store,
    db: u8,
    now_ms: u64,
    keys: &[Bytes],
) -> Result<Vec<Option<SetRef>>, CmdError> {
    keys.iter().map(|k| open(store, db, now_ms, k)).collect()
}

/// Up to `max` members after `after` (all from the start when `None`), in byte order, and whether more
/// follow.
pub fn chunk(
    store: &Store,
    db: u8,
    set: &SetRef,
    after: Option<&[u8]>,
    max: usize,
) -> Result<(Vec<Bytes>, bool), CmdError> {
    let mut c = store.member_cursor(Family::Sub, set.slot, db, &set.key, set.version);
    match after {
        Some(m) => {
            c.seek(m);
            if c.valid() && c.member() == m {
                c.next();
            }
        }
        None => c.seek_to_first(),
    }
    let mut out = Vec::with_capacity((set.count as usize).min(max).min(4096));
    while c.valid() && out.len() < max {
        out.push(Bytes::copy_from_slice(c.member()));
        c.next();
    }
    c.status()?;
    Ok((out, c.valid()))
}

/// Every member of a set, in byte order.
pub fn members(store: &Store, db: u8, set: &SetRef) -> Result<Vec<Bytes>, CmdError> {
    Ok(chunk(store, db, set, None, usize::MAX)?.0)
}

/// Whether `member` is in `set`.
pub fn contains(store: &Store, db: u8, set: &SetRef, member: &[u8]) -> Result<bool, CmdError> {
    Ok(store
        .get_member(Family::Sub, set.slot, db, &set.key, set.version, member)?
        .is_some())
}

/// Keeps the candidates (sorted, distinct) that are members of `set` (`keep_members`) or that are not.
/// A set much smaller than the candidates is read and merged; otherwise each candidate is one point read.
pub fn filter(
    store: &Store,
    db: u8,
    set: &SetRef,
    candidates: Vec<Bytes>,
    keep_members: bool,
) -> Result<Vec<Bytes>, CmdError> {
    if candidates.is_empty() {
        return Ok(candidates);
    }
    if set.count.saturating_mul(8) < candidates.len() as u64 {
        let theirs = members(store, db, set)?;
        let mut j = 0;
        let mut out = Vec::with_capacity(candidates.len());
        for c in candidates {
            while j < theirs.len() && theirs[j] < c {
                j += 1;
            }
            let present = j < theirs.len() && theirs[j] == c;
            if present == keep_members {
                out.push(c);
            }
        }
        return Ok(out);
    }
    let mut out = Vec::with_capacity(candidates.len());
    for c in candidates {
        if contains(store, db, set, &c)? == keep_members {
            out.push(c);
        }
    }
    Ok(out)
}

/// Members read per step of an intersection that may stop early (SINTERCARD LIMIT).
const CHUNK: usize = 1024;

/// The intersection of `keys` (all on this core), further restricted to `candidates` when given. With a
/// `limit` (0: none) it stops once that many members are found (and may return more).
pub fn inter(
    store: &Store,
    db: u8,
    now_ms: u64,
    keys: &[Bytes],
    candidates: Option<Vec<Bytes>>,
    limit: usize,
) -> Result<Vec<Bytes>, CmdError> {
    let Some(mut sets) = open_all(store, db, now_ms, keys)?
        .into_iter()
        .collect::<Option<Vec<SetRef>>>()
    else {
        // A missing key is an empty set: so is the intersection.
        return Ok(Vec::new());
    };
    sets.sort_by_key(|s| s.count);
    let narrow = |mut c: Vec<Bytes>, sets: &[SetRef]| -> Result<Vec<Bytes>, CmdError> {
        for s in sets {
            if c.is_empty() {
                break;
            }
            c = filter(store, db, s, c, true)?;
        }
        Ok(c)
    };
    if let Some(c) = candidates {
        return narrow(c, &sets);
    }
    let Some((first, rest)) = sets.split_first() else {
        return Ok(Vec::new());
    };
    if limit == 0 {
        return narrow(members(store, db, first)?, rest);
    }
    let mut out = Vec::new();
    let mut after: Option<Bytes> = None;
    loop {
        let (part, more) = chunk(store, db, first, after.as_deref(), CHUNK)?;
        after = part.last().cloned();
        out.extend(narrow(part, rest)?);
        if !more || out.len() >= limit {
            return Ok(out);
        }
    }
}

/// The difference `first - others` (keys on this core); with `candidates`, `candidates - others` (the
/// first set was on another core, `first` is then `None`).
pub fn diff(
    store: &Store,
    db: u8,
    now_ms: u64,
    first: Option<&Bytes>,
    others: &[Bytes],
    candidates: Option<Vec<Bytes>>,
) -> Result<Vec<Bytes>, CmdError> {
    let first = match first {
        Some(k) => open(store, db, now_ms, k)?,
        None => None,
    };
    let others = open_all(store, db, now_ms, others)?;
    let mut c = match (candidates, first) {
        (Some(c), _) => c,
        (None, Some(f)) => members(store, db, &f)?,
        (None, None) => return Ok(Vec::new()),
    };
    for s in others.iter().flatten() {
        if c.is_empty() {
            break;
        }
        c = filter(store, db, s, c, false)?;
    }
    Ok(c)
}

/// The union of `keys` (all on this core), sorted and distinct.
pub fn union(store: &Store, db: u8, now_ms: u64, keys: &[Bytes]) -> Result<Vec<Bytes>, CmdError> {
    let sets = open_all(store, db, now_ms, keys)?;
    let mut out = Vec::new();
    for s in sets.iter().flatten() {
        out.extend(members(store, db, s)?);
    }
    merge_distinct(&mut out);
    Ok(out)
}

/// Sorts and removes duplicates.
pub fn merge_distinct(v: &mut Vec<Bytes>) {
    v.sort_unstable();
    v.dedup();
}

/// `algebra` over `keys`, all on this core (SINTER's first key is not special; SDIFF's is). `limit` is
/// SINTERCARD's (0: none).
pub fn compute(
    store: &Store,
    db: u8,
    now_ms: u64,
    algebra: Algebra,
    keys: &[Bytes],
    limit: usize,
) -> Result<Vec<Bytes>, CmdError> {
    match algebra {
        Algebra::Inter => inter(store, db, now_ms, keys, None, limit),
        Algebra::Union => union(store, db, now_ms, keys),
        Algebra::Diff => match keys.split_first() {
            Some((first, others)) => diff(store, db, now_ms, Some(first), others, None),
            None => Ok(Vec::new()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algebra_from_command_names() {
        assert_eq!(
            Algebra::of_command(b"SINTER"),
            Some((Algebra::Inter, false))
        );
        assert_eq!(
            Algebra::of_command(b"sunionstore"),
            Some((Algebra::Union, true))
        );
        assert_eq!(
            Algebra::of_command(b"SDiffStore"),
            Some((Algebra::Diff, true))
        );
        assert_eq!(Algebra::of_command(b"sintercard"), None);
        assert_eq!(Algebra::of_command(b"store"), None);
    }

    #[test]
    fn merge_sorts_and_dedups() {
        let mut v: Vec<Bytes> = ["b", "a", "b", "c", "a"]
            .iter()
            .map(|s| Bytes::from_static(s.as_bytes()))
            .collect();
        merge_distinct(&mut v);
        assert_eq!(v, vec!["a", "b", "c"]);
    }
}

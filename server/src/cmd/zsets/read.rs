//! Reading one sorted set: point lookups in `sub` (member → score) and ordered walks in `score`
//! (score · member), which every range command, count, rank and pop shares.
//!
//! Costs, against Redis's skiplist:
//!
//! * By score: a seek to the first bound, then one step per member returned — `ZRANGEBYSCORE ... LIMIT 0
//!   10` reads about ten entries whatever the set's size. An offset is walked (O(offset)), as Redis does.
//! * By rank: a seek to the nearer end, then a walk to the start rank — O(min(start, N - start)) plus what
//!   is returned (Redis: O(log N)). `ZRANGE 0 9` and `ZRANGE -10 -1` are ten steps.
//! * ZRANK / ZREVRANK: O(min(rank, N - rank)), counting from both ends at once (Redis: O(log N)).
//! * ZCOUNT / ZLEXCOUNT: about twice the smaller of the members counted and the members outside the
//!   range — both are walked in lockstep (Redis: O(log N)).
//! * By lex: when every score is equal (the case BYLEX is meant for) a seek, like by score. With mixed
//!   scores Redis's result depends on its encoding; we give what its compact (listpack) encoding gives —
//!   the first member in (score, member) order that is `>=` min, then onward while `<=` max — at the cost
//!   of a walk from the first member.
//!
//! A walk reads the store as committed: inside a mutation it does not see that mutation's own writes, so
//! mutations read what they need before they write.

use bytes::Bytes;

use super::score::{LexRange, ScoreRange};
use crate::cmd::collection::Loaded;
use crate::cmd::CmdError;
use crate::slot::SlotId;
use crate::storage::collection::{parse_score_value, split_score_member, Family, MemberCursor};
use crate::storage::keycodec::encode_score;
use crate::storage::{StorageError, Store};

/// What a range selects.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum RangeKind {
    /// Ranks `start..=end`, negative from the end (ZRANGE, ZREMRANGEBYRANK).
    Rank {
        start: i64,
        end: i64,
    },
    Score(ScoreRange),
    Lex(LexRange),
}

/// A range query: kind, direction and (score and lex only) `LIMIT offset count` — a negative count means
/// no limit, a negative offset selects nothing (as in Redis, whose walk runs off the end).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RangeQuery {
    pub kind: RangeKind,
    pub reverse: bool,
    pub offset: i64,
    pub limit: i64,
}

impl RangeQuery {
    /// Everything the kind selects, lowest first.
    pub fn plain(kind: RangeKind) -> RangeQuery {
        RangeQuery {
            kind,
            reverse: false,
            offset: 0,
            limit: -1,
        }
    }
}

/// A member and its score.
pub type Scored = (Bytes, f64);

/// One live sorted set, read from a store (a core's, or a mutation's view of it).
pub struct ZSet<'a> {
    pub(super) store: &'a Store,
    pub(super) slot: SlotId,
    pub(super) db: u8,
    pub(super) key: &'a [u8],
    pub(super) version: u64,
    /// Members, from the metadata record.
    pub count: u64,
}

/// The `score` family cursor of a set, positioned by score.
struct Walk<'a> {
    c: MemberCursor<'a>,
}

impl Walk<'_> {
    fn valid(&self) -> bool {
        self.c.valid()
    }

    /// The current `(score, member)`; call only when valid.
    fn entry(&self) -> Result<(f64, &[u8]), CmdError> {
        split_score_member(self.c.member())
            .ok_or_else(|| CmdError::Storage(crate::storage::record::CorruptRecord(0).into()))
    }

    fn step(&mut self, reverse: bool) {
        if reverse {
            self.c.prev()
        } else {
            self.c.next()
        }
    }

    fn status(&self) -> Result<(), CmdError> {
        Ok(self.c.status()?)
    }
}

/// The encoded score just above `s` (a seek target past every member of score `s`).
fn above(s: f64) -> [u8; 8] {
    u64::from_be_bytes(encode_score(s))
        .saturating_add(1)
        .to_be_bytes()
}

impl<'a> ZSet<'a> {
    pub fn new(store: &'a Store, slot: SlotId, db: u8, key: &'a [u8], loaded: &Loaded) -> ZSet<'a> {
        ZSet {
            store,
            slot,
            db,
            key,
            version: loaded.version(),
            count: loaded.meta.count,
        }
    }

    /// The score of `member`, if it is in the set: one point lookup.
    pub fn score_of(&self, member: &[u8]) -> Result<Option<f64>, CmdError> {
        let raw = self.store.get_member(
            Family::Sub,
            self.slot,
            self.db,
            self.key,
            self.version,
            member,
        )?;
        match raw {
            None => Ok(None),
            Some(v) => Ok(Some(parse_score_value(&v).map_err(StorageError::from)?)),
        }
    }

    fn walk(&self) -> Walk<'a> {
        Walk {
            c: self
                .store
                .member_cursor(Family::Score, self.slot, self.db, self.key, self.version),
        }
    }

    /// Visits what `q` selects, in order, until `visit` returns false.
    pub fn visit(
        &self,
        q: &RangeQuery,
        mut visit: impl FnMut(&[u8], f64) -> bool,
    ) -> Result<(), CmdError> {
        match &q.kind {
            RangeKind::Rank { start, end } => {
                let Some((start, end)) = rank_bounds(*start, *end, self.count) else {
                    return Ok(());
                };
                let mut w = self.at_rank(start, q.reverse);
                for _ in start..=end {
                    if !w.valid() {
                        break;
                    }
                    let (s, m) = w.entry()?;
                    if !visit(m, s) {
                        return Ok(());
                    }
                    w.step(q.reverse);
                }
                w.status()
            }
            RangeKind::Score(r) => {
                if q.offset < 0 || (q.offset > 0 && q.offset as u64 >= self.count) {
                    return Ok(());
                }
                let mut w = self.walk();
                if q.reverse {
                    w.c.seek_for_prev(&if r.maxex {
                        encode_score(r.max)
                    } else {
                        above(r.max)
                    });
                    if w.valid() && !r.lte_max(w.entry()?.0) {
                        w.c.prev();
                    }
                } else if r.minex {
                    w.c.seek(&above(r.min));
                } else {
                    w.c.seek(&encode_score(r.min));
                }
                let in_range = |s: f64| {
                    if q.reverse {
                        r.gte_min(s)
                    } else {
                        r.lte_max(s)
                    }
                };
                self.take(w, q, |s, _| in_range(s), visit)
            }
            RangeKind::Lex(r) => {
                if q.offset < 0 {
                    return Ok(());
                }
                let Some(w) = self.lex_start(r, q.reverse)? else {
                    return Ok(());
                };
                let in_range = |m: &[u8]| {
                    if q.reverse {
                        r.gte_min(m)
                    } else {
                        r.lte_max(m)
                    }
                };
                self.take(w, q, |_, m| in_range(m), visit)
            }
        }
    }

    /// From a positioned walk: skip `offset`, then visit up to `limit` members while `in_range` holds.
    fn take(
        &self,
        mut w: Walk<'a>,
        q: &RangeQuery,
        in_range: impl Fn(f64, &[u8]) -> bool,
        mut visit: impl FnMut(&[u8], f64) -> bool,
    ) -> Result<(), CmdError> {
        for _ in 0..q.offset {
            if !w.valid() {
                break;
            }
            w.step(q.reverse);
        }
        let mut left = q.limit;
        while w.valid() && left != 0 {
            let (s, m) = w.entry()?;
            if !in_range(s, m) || !visit(m, s) {
                break;
            }
            left -= 1;
            w.step(q.reverse);
        }
        w.status()
    }

    /// A walk positioned at rank `rank` (0-based, counted in the walk's direction), from the nearer end.
    fn at_rank(&self, rank: u64, reverse: bool) -> Walk<'a> {
        let mut w = self.walk();
        let from_far_end = rank > self.count / 2;
        let (steps, seek_last) = if from_far_end {
            (self.count - 1 - rank, !reverse)
        } else {
            (rank, reverse)
        };
        if seek_last {
            w.c.seek_to_last();
        } else {
            w.c.seek_to_first();
        }
        // Walking away from the end we seeked to: towards the other end.
        for _ in 0..steps {
            if !w.valid() {
                break;
            }
            w.step(seek_last);
        }
        w
    }

    /// Where a lex walk starts (`zzlFirstInLexRange` / `zzlLastInLexRange`), or `None` when the range
    /// selects nothing.
    fn lex_start(&self, r: &LexRange, reverse: bool) -> Result<Option<Walk<'a>>, CmdError> {
        if r.is_empty() || self.count == 0 {
            return Ok(None);
        }
        let mut w = self.walk();
        w.c.seek_to_last();
        if !w.valid() {
            w.status()?;
            return Ok(None);
        }
        let (last_score, last_ok) = {
            let (s, m) = w.entry()?;
            (s, r.gte_min(m))
        };
        w.c.seek_to_first();
        if !w.valid() {
            w.status()?;
            return Ok(None);
        }
        let (first_score, first_ok) = {
            let (s, m) = w.entry()?;
            (s, r.lte_max(m))
        };
        if !last_ok || !first_ok {
            return Ok(None);
        }
        if first_score == last_score {
            // One score for all: (score, member) order is member order, so seek.
            let s = encode_score(first_score);
            if reverse {
                match &r.max {
                    super::score::LexBound::Max => w.c.seek_to_last(),
                    super::score::LexBound::Incl(b) | super::score::LexBound::Excl(b) => {
                        let mut target = s.to_vec();
                        target.extend_from_slice(b);
                        w.c.seek_for_prev(&target);
                    }
                    super::score::LexBound::Min => return Ok(None),
                }
                if w.valid() && !r.lte_max(w.entry()?.1) {
                    w.c.prev();
                }
            } else {
                match &r.min {
                    super::score::LexBound::Min => w.c.seek_to_first(),
                    super::score::LexBound::Incl(b) | super::score::LexBound::Excl(b) => {
                        let mut target = s.to_vec();
                        target.extend_from_slice(b);
                        w.c.seek(&target);
                    }
                    super::score::LexBound::Max => return Ok(None),
                }
                if w.valid() && !r.gte_min(w.entry()?.1) {
                    w.c.next();
                }
            }
        } else {
            // Mixed scores: the first member (in walk order) on the near side of the far bound.
            if reverse {
                w.c.seek_to_last();
            }
            while w.valid() {
                let m = w.entry()?.1;
                if if reverse { r.lte_max(m) } else { r.gte_min(m) } {
                    break;
                }
                w.step(reverse);
            }
        }
        if !w.valid() {
            w.status()?;
            return Ok(None);
        }
        let m = w.entry()?.1;
        let ok = if reverse { r.gte_min(m) } else { r.lte_max(m) };
        Ok(ok.then_some(w))
    }

    /// What `q` selects, with scores.
    pub fn range(&self, q: &RangeQuery) -> Result<Vec<Scored>, CmdError> {
        let mut out = Vec::new();
        self.visit(q, |m, s| {
            out.push((Bytes::copy_from_slice(m), s));
            true
        })?;
        Ok(out)
    }

    /// How many members `q` selects. A plain score range (ZCOUNT), or a lex range over equal scores
    /// (ZLEXCOUNT), is counted from whichever side is shorter — the members inside it, or those below and
    /// above it (subtracted from the count) — walked in lockstep, so `ZCOUNT key -inf +inf` costs a step
    /// or two, and any count about twice the smaller side.
    pub fn count_range(&self, q: &RangeQuery) -> Result<u64, CmdError> {
        let plain = !q.reverse && q.offset == 0 && q.limit < 0;
        match &q.kind {
            RangeKind::Score(r) if plain => {
                if r.min > r.max || (r.min == r.max && (r.minex || r.maxex)) {
                    return Ok(0);
                }
                let mut inside = self.walk();
                if r.minex {
                    inside.c.seek(&above(r.min));
                } else {
                    inside.c.seek(&encode_score(r.min));
                }
                self.count_both_ways(
                    inside,
                    |s, _| r.lte_max(s),
                    |s, _| !r.gte_min(s),
                    |s, _| !r.lte_max(s),
                )
            }
            RangeKind::Lex(r) if plain && self.uniform_scores()? => {
                let Some(inside) = self.lex_start(r, false)? else {
                    return Ok(0);
                };
                self.count_both_ways(
                    inside,
                    |_, m| r.lte_max(m),
                    |_, m| !r.gte_min(m),
                    |_, m| !r.lte_max(m),
                )
            }
            _ => {
                let mut n = 0;
                self.visit(q, |_, _| {
                    n += 1;
                    true
                })?;
                Ok(n)
            }
        }
    }

    /// Counts a range two ways at once: `inside` (positioned at its first member) forward while `in_range`;
    /// and the members from the low end while `below`, from the high end while `above`. Whichever finishes
    /// first answers. The range must not be empty (then below and above are disjoint).
    fn count_both_ways(
        &self,
        mut inside: Walk<'a>,
        in_range: impl Fn(f64, &[u8]) -> bool,
        below: impl Fn(f64, &[u8]) -> bool,
        above: impl Fn(f64, &[u8]) -> bool,
    ) -> Result<u64, CmdError> {
        let (mut low, mut high) = (self.walk(), self.walk());
        low.c.seek_to_first();
        high.c.seek_to_last();
        let (mut n_in, mut n_low, mut n_high) = (0u64, 0u64, 0u64);
        let (mut low_done, mut high_done) = (false, false);
        loop {
            if inside.valid() && {
                let (s, m) = inside.entry()?;
                in_range(s, m)
            } {
                n_in += 1;
                inside.c.next();
            } else {
                inside.status()?;
                return Ok(n_in);
            }
            if !low_done {
                if low.valid() && {
                    let (s, m) = low.entry()?;
                    below(s, m)
                } {
                    n_low += 1;
                    low.c.next();
                } else {
                    low.status()?;
                    low_done = true;
                }
            }
            if !high_done {
                if high.valid() && {
                    let (s, m) = high.entry()?;
                    above(s, m)
                } {
                    n_high += 1;
                    high.c.prev();
                } else {
                    high.status()?;
                    high_done = true;
                }
            }
            if low_done && high_done {
                return Ok(self.count.saturating_sub(n_low + n_high));
            }
        }
    }

    /// Whether every member has the same score (the lowest equals the highest).
    fn uniform_scores(&self) -> Result<bool, CmdError> {
        let mut w = self.walk();
        w.c.seek_to_first();
        if !w.valid() {
            w.status()?;
            return Ok(true);
        }
        let first = w.entry()?.0;
        w.c.seek_to_last();
        if !w.valid() {
            w.status()?;
            return Ok(true);
        }
        Ok(w.entry()?.0 == first)
    }

    /// Every member, lowest score first.
    pub fn all(&self) -> Result<Vec<Scored>, CmdError> {
        let mut out = Vec::with_capacity(self.count.min(1 << 20) as usize);
        let q = RangeQuery::plain(RangeKind::Rank { start: 0, end: -1 });
        self.visit(&q, |m, s| {
            out.push((Bytes::copy_from_slice(m), s));
            true
        })?;
        Ok(out)
    }

    /// The first `n` members from the low end (or the high end when `high`).
    pub fn ends(&self, n: u64, high: bool) -> Result<Vec<Scored>, CmdError> {
        let mut out = Vec::with_capacity(n.min(self.count).min(1 << 16) as usize);
        let mut w = self.walk();
        if high {
            w.c.seek_to_last();
        } else {
            w.c.seek_to_first();
        }
        while w.valid() && (out.len() as u64) < n {
            let (s, m) = w.entry()?;
            out.push((Bytes::copy_from_slice(m), s));
            w.step(high);
        }
        w.status()?;
        Ok(out)
    }

    /// The rank of `member` (from the high end when `reverse`) and its score: counted from both ends at
    /// once, so it costs the distance to the nearer end.
    pub fn rank(&self, member: &[u8], reverse: bool) -> Result<Option<(u64, f64)>, CmdError> {
        let Some(score) = self.score_of(member)? else {
            return Ok(None);
        };
        let mut target = encode_score(score).to_vec();
        target.extend_from_slice(member);
        let (mut low, mut high) = (self.walk(), self.walk());
        low.c.seek_to_first();
        high.c.seek_to_last();
        let mut steps = 0u64;
        while steps < self.count {
            if low.valid() && low.c.member() == &target[..] {
                let r = if reverse {
                    self.count - 1 - steps
                } else {
                    steps
                };
                return Ok(Some((r, score)));
            }
            if high.valid() && high.c.member() == &target[..] {
                let r = if reverse {
                    steps
                } else {
                    self.count - 1 - steps
                };
                return Ok(Some((r, score)));
            }
            if !low.valid() && !high.valid() {
                break;
            }
            low.c.next();
            high.c.prev();
            steps += 1;
        }
        low.status()?;
        high.status()?;
        // The member's `score` entry is missing: the two families disagree.
        Err(CmdError::Storage(
            crate::storage::record::CorruptRecord(target.len()).into(),
        ))
    }
}

/// Redis's rank normalisation: negative from the end, clamped; `None` when the range is empty.
pub fn rank_bounds(start: i64, end: i64, len: u64) -> Option<(u64, u64)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as u64, end as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_normalise_like_redis() {
        assert_eq!(rank_bounds(0, -1, 3), Some((0, 2)));
        assert_eq!(rank_bounds(-100, 100, 3), Some((0, 2)));
        assert_eq!(rank_bounds(2, 1, 3), None);
        assert_eq!(rank_bounds(3, 5, 3), None);
        assert_eq!(rank_bounds(0, -4, 3), None);
        assert_eq!(rank_bounds(0, 0, 0), None);
        assert_eq!(rank_bounds(i64::MIN, i64::MAX, 2), Some((0, 1)));
    }
}

//! SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
//!
//! Keys are visited slot by slot (0..2047; within a slot in storage order — bucket, then key — straight
//! from RocksDB), so the cursor only has to say where to resume:
//!
//! ```text
//!   cursor = slot << 40 | token          token 0: the start of the slot
//! ```
//!
//! A non-zero token names a resume key kept in a small table ([`ScanCursors`]) on the core that owns the
//! slot: "continue this slot from this key". The table is bounded ([`MAX_CURSORS`] entries, oldest evicted
//! first) and per core, so idle cursors cost nothing for long; a token that is unknown, evicted, or was
//! issued for another slot or database restarts its slot from the start. That gives SCAN's guarantee: a
//! full iteration returns every key present for the whole scan, possibly more than once, never missing one.
//! Tokens come from a per-core 40-bit counter, so they are not reused in practice; every cursor stays
//! below 2^51, which JavaScript clients represent exactly.
//!
//! COUNT (default 10) bounds the keys *visited* per call, as in Redis (MATCH and TYPE filter afterwards, so
//! a call may return fewer keys, even none, with a non-zero cursor). Slots with no keys are skipped using
//! the per-slot key counts, without touching RocksDB, so SCAN 0 on an empty database answers "0" at once.
//! On several cores, `spread` runs the same step on the core owning the cursor's slot, and moves on to the
//! next core while the COUNT budget is not spent. A cursor past the last slot ends the iteration.

use std::collections::VecDeque;
use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use super::pattern;
use super::remote;
use crate::cmd::args::{is, parse_i64};
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::shard::Shard;
use crate::slot::{SlotId, SLOT_COUNT};

/// Bits of the cursor that hold the token.
const TOKEN_BITS: u32 = 40;
const TOKEN_MASK: u64 = (1 << TOKEN_BITS) - 1;
/// Resume points one core remembers.
pub const MAX_CURSORS: usize = 4096;

/// One core's table of resume points: token → (slot, db, first key not yet visited).
#[derive(Default)]
pub struct ScanCursors {
    map: ahash::AHashMap<u64, (SlotId, u8, Bytes)>,
    order: VecDeque<u64>,
    last: u64,
}

impl ScanCursors {
    /// Remembers a resume point and returns its token (never 0).
    pub fn insert(&mut self, slot: SlotId, db: u8, key: Bytes) -> u64 {
        self.last = if self.last >= TOKEN_MASK {
            1
        } else {
            self.last + 1
        };
        let token = self.last;
        while self.order.len() >= MAX_CURSORS {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
        self.map.insert(token, (slot, db, key));
        self.order.push_back(token);
        token
    }

    /// The resume key of `token`, if it is known and was issued for this slot and database.
    pub fn resume(&self, token: u64, slot: SlotId, db: u8) -> Option<Bytes> {
        match self.map.get(&token) {
            Some((s, d, key)) if *s == slot && *d == db => Some(key.clone()),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Parsed SCAN options.
#[derive(Clone)]
pub struct ScanOpts {
    pub count: usize,
    /// `None` when absent or `*`.
    pub pattern: Option<Bytes>,
    pub type_name: Option<Bytes>,
}

/// Redis parses the cursor with `strtoul`: optional sign (a negative value wraps), decimal digits, nothing
/// else; an empty string is cursor 0.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::msg("ERR invalid cursor");
    // Redis reads the cursor as a C string (strtoul): it ends at the first NUL byte.
    let arg = &arg[..arg.iter().position(|&b| b == 0).unwrap_or(arg.len())];
    let (neg, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if arg.is_empty() {
        return Ok(0);
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((d - b'0') as u64))
            .ok_or_else(invalid)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// Parses `SCAN cursor [options]`, with Redis's order of checks.
pub fn parse(args: &[Bytes]) -> Result<(u64, ScanOpts), CmdError> {
    let cursor = parse_cursor(&args[1])?;
    let mut opts = ScanOpts {
        count: 10,
        pattern: None,
        type_name: None,
    };
    let mut i = 2;
    while i < args.len() {
        let more = i + 1 < args.len();
        if is(&args[i], "count") && more {
            let n = parse_i64(&args[i + 1])?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            opts.count = n as usize;
        } else if is(&args[i], "match") && more {
            let p = &args[i + 1];
            opts.pattern = (p.as_ref() != b"*").then(|| p.clone());
        } else if is(&args[i], "type") && more {
            opts.type_name = Some(args[i + 1].clone());
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok((cursor, opts))
}

/// What one core's share of a SCAN call produced.
pub struct ScanStep {
    /// Where to continue: inside this core's slots, at the first slot of another core, or 0 at the end.
    pub next: u64,
    pub keys: Vec<Bytes>,
    /// Keys visited (before MATCH / TYPE filtering).
    pub visited: usize,
}

/// Visits up to `opts.count` keys of this core's slots from `cursor` on.
pub fn scan_core(
    shard: &Rc<Shard>,
    db: u8,
    now_ms: u64,
    cursor: u64,
    opts: &ScanOpts,
) -> Result<ScanStep, CmdError> {
    let mut step = ScanStep {
        next: 0,
        keys: Vec::new(),
        visited: 0,
    };
    let first = cursor >> TOKEN_BITS;
    if first >= SLOT_COUNT as u64 {
        return Ok(step);
    }
    let mine = shard.node.layout.slots_of(shard.core);
    let mut slot = first as u16;
    let mut from = match cursor & TOKEN_MASK {
        0 => None,
        token => shard.scan_cursors.borrow().resume(token, SlotId(slot), db),
    };
    while mine.contains(&slot) {
        let id = SlotId(slot);
        if step.visited >= opts.count {
            step.next = (slot as u64) << TOKEN_BITS;
            return Ok(step);
        }
        if shard.store.counts(id, db)?.keys > 0 {
            let mut stopped_at: Option<Bytes> = None;
            let start = from.take().unwrap_or_default();
            shard.store.scan_slot(id, db, &start, now_ms, |key, rec| {
                if step.visited >= opts.count {
                    stopped_at = Some(Bytes::copy_from_slice(key));
                    return false;
                }
                step.visited += 1;
                let keep = opts
                    .pattern
                    .as_ref()
                    .is_none_or(|p| pattern::matches(p, key))
                    && opts
                        .type_name
                        .as_ref()
                        .is_none_or(|t| t.eq_ignore_ascii_case(rec.vtype.name().as_bytes()));
                if keep {
                    step.keys.push(Bytes::copy_from_slice(key));
                }
                true
            })?;
            if let Some(key) = stopped_at {
                let token = shard.scan_cursors.borrow_mut().insert(id, db, key);
                step.next = (slot as u64) << TOKEN_BITS | token;
                return Ok(step);
            }
        }
        slot += 1;
    }
    if (slot as usize) < SLOT_COUNT {
        step.next = (slot as u64) << TOKEN_BITS;
    }
    Ok(step)
}

fn reply(cursor: u64, keys: Vec<Bytes>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(cursor.to_string())),
        Reply::Array(keys.into_iter().map(Reply::Bulk).collect()),
    ])
}

/// One core (or a leg): this core's slots only.
pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let (cursor, opts) = parse(args)?;
    let step = scan_core(ctx.shard, ctx.db, ctx.now_ms, cursor, &opts)?;
    Ok(reply(step.next, step.keys))
}

/// Several cores: step through the owners of the cursor's slots until the COUNT budget is spent.
pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let (mut cursor, opts) = match parse(&s.args) {
            Ok(v) => v,
            Err(e) => return e.to_reply(),
        };
        let mut keys = Vec::new();
        let mut budget = opts.count;
        loop {
            let slot = cursor >> TOKEN_BITS;
            if slot >= SLOT_COUNT as u64 {
                cursor = 0;
                break;
            }
            let core = s.shard.node.layout.core_of(SlotId(slot as u16));
            let mut o = opts.clone();
            o.count = budget;
            let (db, now) = (s.db, s.now_ms);
            let step =
                remote::with_core(&s.shard, core, move |sh| scan_core(sh, db, now, cursor, &o))
                    .await;
            let step = match step {
                Ok(step) => step,
                Err(e) => return e.to_reply(),
            };
            keys.extend(step.keys);
            cursor = step.next;
            if cursor == 0 || step.visited >= budget {
                break;
            }
            budget -= step.visited;
        }
        reply(cursor, keys)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(list: &[&str]) -> Vec<Bytes> {
        list.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0").unwrap(), 0);
        assert_eq!(parse_cursor(b"").unwrap(), 0);
        assert_eq!(parse_cursor(b"+12").unwrap(), 12);
        assert_eq!(parse_cursor(b"-1").unwrap(), u64::MAX);
        assert_eq!(parse_cursor(b"18446744073709551615").unwrap(), u64::MAX);
        assert_eq!(parse_cursor(b"7\0abc").unwrap(), 7);
        assert_eq!(parse_cursor(b"\0").unwrap(), 0);
        assert!(parse_cursor(b"+\0").is_err());
        for bad in [
            &b"18446744073709551616"[..],
            b" 1",
            b"1 ",
            b"x",
            b"-",
            b"1.5",
        ] {
            assert_eq!(
                parse_cursor(bad).unwrap_err().to_string(),
                "ERR invalid cursor"
            );
        }
    }

    #[test]
    fn options() {
        let (c, o) = parse(&b(&[
            "scan", "7", "MATCH", "a*", "count", "5", "type", "string",
        ]))
        .unwrap();
        assert_eq!(c, 7);
        assert_eq!(o.count, 5);
        assert_eq!(o.pattern.as_deref(), Some(&b"a*"[..]));
        assert_eq!(o.type_name.as_deref(), Some(&b"string"[..]));
        let (_, o) = parse(&b(&["scan", "0", "match", "*"])).unwrap();
        assert!(o.pattern.is_none());
        let e = |a: &[&str]| parse(&b(a)).err().map(|e| e.to_string());
        assert_eq!(e(&["scan", "0", "count", "0"]).unwrap(), "ERR syntax error");
        assert_eq!(e(&["scan", "0", "count"]).unwrap(), "ERR syntax error");
        assert_eq!(
            e(&["scan", "0", "count", "x"]).unwrap(),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            e(&["scan", "x", "count", "0"]).unwrap(),
            "ERR invalid cursor"
        );
    }

    #[test]
    fn cursor_table_is_bounded_and_checked() {
        let mut t = ScanCursors::default();
        let first = t.insert(SlotId(3), 0, Bytes::from_static(b"k"));
        assert_eq!(t.resume(first, SlotId(3), 0).as_deref(), Some(&b"k"[..]));
        assert_eq!(t.resume(first, SlotId(4), 0), None);
        assert_eq!(t.resume(first, SlotId(3), 1), None);
        for _ in 0..MAX_CURSORS {
            t.insert(SlotId(1), 0, Bytes::from_static(b"x"));
        }
        assert_eq!(t.len(), MAX_CURSORS);
        assert_eq!(t.resume(first, SlotId(3), 0), None);
    }
}

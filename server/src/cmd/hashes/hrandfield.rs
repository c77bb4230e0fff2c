//! HRANDFIELD key [count [WITHVALUES]]
//!
//! * No count: one random field (bulk), or nil for a missing key.
//! * count > 0: that many distinct fields (all of them, in field order, when count ≥ the hash's size),
//!   in random order.
//! * count < 0: |count| fields picked independently, so repeats are possible.
//! * WITHVALUES: field-value pairs — a flat array in RESP2, an array of two-element arrays in RESP3
//!   ([`Reply::Pairs`]), as Redis 7 replies.
//!
//! Checks in Redis's order: the count must be an integer above `i64::MIN`, only WITHVALUES may follow, and
//! with WITHVALUES |count| must be at most `i64::MAX / 2`; then the key (missing: nil or an empty array),
//! then a zero count is an empty array.
//!
//! A deliberate limit: a negative count asks for |count| replies from a few bytes of request, whatever the
//! hash holds, and Redis 7.0 builds that reply in memory until it runs out (`HRANDFIELD h -4611686018427387903
//! WITHVALUES` ends the process). Here |count| above [`MAX_REPEATED_COUNT`] is refused with Redis's own
//! `ERR value is out of range`.
//!
//! How fields are picked: uniformly by position. The positions are drawn here, in `local` (a read needs no
//! mutation), then one cursor walk from the first field (from the last, for a single pick in the second
//! half) collects them, so the cost is the distance to the farthest position picked — never a load of the
//! whole hash into memory, and exact uniformity, unlike sampling by random seeks over field bytes. A hash of
//! more than 512 fields (picking fewer than a sixteenth of them) goes through the rank markers SPOP uses
//! (cmd/sets/markers.rs): one O(n) scan builds them, then each pick is a seek plus a short walk while the
//! hash keeps its size (hash writes do not update the markers; a size change rebuilds them). Without them
//! one pick walked up to half the hash (about 8 ms at 100k fields).

use bytes::Bytes;
use rand::Rng;
use resp::Reply;

use super::read;
use crate::cmd::args::{is, parse_i64};
use crate::cmd::collection::Loaded;
use crate::cmd::{CmdError, Ctx};
use crate::slot::SlotId;
use crate::storage::collection::Family;

/// The largest |count| a negative count may ask for.
pub const MAX_REPEATED_COUNT: u64 = 1 << 20;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let key = &args[1];
    if args.len() < 3 {
        let Some(h) = read(ctx, key)? else {
            return Ok(Reply::Null);
        };
        let at = rand::thread_rng().gen_range(0..h.meta.count.max(1));
        let picked = pick(ctx, key, &h, &[at], false)?;
        return Ok(picked
            .into_iter()
            .next()
            .map_or(Reply::Null, |(f, _)| Reply::Bulk(f)));
    }
    let l = parse_i64(&args[2])?;
    if l == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and \
             9223372036854775807",
        ));
    }
    let withvalues = match args.len() {
        3 => false,
        4 if is(&args[3], "withvalues") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    let Some(h) = read(ctx, key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let size = h.meta.count;
    if l == 0 || size == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let mut rng = rand::thread_rng();
    let positions: Vec<u64> = if l < 0 {
        let n = l.unsigned_abs();
        if n > MAX_REPEATED_COUNT {
            return Err(CmdError::msg("ERR value is out of range"));
        }
        (0..n).map(|_| rng.gen_range(0..size)).collect()
    } else if l as u64 >= size {
        (0..size).collect()
    } else {
        rand::seq::index::sample(&mut rng, size as usize, l as usize)
            .into_iter()
            .map(|i| i as u64)
            .collect()
    };
    let picked = pick(ctx, key, &h, &positions, withvalues)?;
    Ok(if withvalues {
        Reply::Pairs(
            picked
                .into_iter()
                .map(|(f, v)| (Reply::Bulk(f), Reply::Bulk(v)))
                .collect(),
        )
    } else {
        Reply::Array(picked.into_iter().map(|(f, _)| Reply::Bulk(f)).collect())
    })
}

/// Hashes above this many fields pick through rank markers.
const MARKERS_FROM: u64 = 512;

/// The fields (and values, if asked) at `positions` of the hash's field order, in the order of
/// `positions` (repeats allowed). Positions past the end (a count that disagrees with the stored fields)
/// are left out rather than failing the read.
fn pick(
    ctx: &Ctx<'_>,
    key: &[u8],
    h: &Loaded,
    positions: &[u64],
    values: bool,
) -> Result<Vec<(Bytes, Bytes)>, CmdError> {
    let mut c =
        ctx.shard
            .store
            .member_cursor(Family::Sub, SlotId::of_key(key), ctx.db, key, h.version());
    let take = |c: &crate::storage::collection::MemberCursor<'_>| {
        let v = if values {
            Bytes::copy_from_slice(c.value())
        } else {
            Bytes::new()
        };
        (Bytes::copy_from_slice(c.member()), v)
    };
    // A big hash: the rank markers shared with SPOP / SRANDMEMBER (cmd/sets/markers.rs) turn each position
    // into one seek plus a short walk instead of a walk from an end. Hash writes do not report to the
    // markers, so a hash that changed size since rebuilds them (one scan, as the walk below would be).
    if h.meta.count > MARKERS_FROM && (positions.len() as u64) < h.meta.count / 16 {
        let set = crate::cmd::sets::algebra::SetRef {
            key: Bytes::copy_from_slice(key),
            slot: SlotId::of_key(key),
            version: h.version(),
            count: h.meta.count,
        };
        let mut ranks: Vec<u64> = positions.to_vec();
        ranks.sort_unstable();
        ranks.dedup();
        let fields = crate::cmd::sets::markers::at_ranks(&ctx.shard.store, ctx.db, &set, &ranks)?;
        let mut out = Vec::with_capacity(positions.len());
        for p in positions {
            let Ok(i) = ranks.binary_search(p) else {
                continue;
            };
            let Some(field) = fields.get(i) else {
                continue;
            };
            let value = if values {
                match ctx.shard.store.get_member(
                    Family::Sub,
                    set.slot,
                    ctx.db,
                    key,
                    h.version(),
                    field,
                )? {
                    Some(v) => v,
                    None => continue,
                }
            } else {
                Bytes::new()
            };
            out.push((field.clone(), value));
        }
        return Ok(out);
    }
    // One pick in the second half: walk back from the last field.
    if let [at] = positions {
        let from_end = h.meta.count.saturating_sub(1).saturating_sub(*at);
        if from_end < *at {
            c.seek_to_last();
            for _ in 0..from_end {
                if !c.valid() {
                    break;
                }
                c.prev();
            }
            c.status()?;
            return Ok(if c.valid() {
                vec![take(&c)]
            } else {
                Vec::new()
            });
        }
    }
    let mut order: Vec<(u64, usize)> = positions.iter().copied().zip(0..).collect();
    order.sort_unstable();
    let mut out: Vec<Option<(Bytes, Bytes)>> = vec![None; positions.len()];
    c.seek_to_first();
    let mut at = 0u64;
    let mut last: Option<(u64, (Bytes, Bytes))> = None;
    for (pos, slot) in order {
        if let Some((p, item)) = &last {
            if *p == pos {
                out[slot] = Some(item.clone());
                continue;
            }
        }
        while at < pos && c.valid() {
            c.next();
            at += 1;
        }
        if !c.valid() {
            break;
        }
        let item = take(&c);
        out[slot] = Some(item.clone());
        last = Some((pos, item));
    }
    c.status()?;
    Ok(out.into_iter().flatten().collect())
}

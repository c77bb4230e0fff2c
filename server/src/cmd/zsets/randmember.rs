//! ZRANDMEMBER key [count [WITHSCORES]]
//!
//! * No count: one random member (bulk), nil for a missing key.
//! * count > 0: that many distinct members, in random order (all of them, highest score first as Redis
//!   lists them, when count is at least the set's size).
//! * count < 0: |count| members drawn independently, so repeats are possible.
//! * WITHSCORES: `[member, score]` pairs, flat in RESP2, nested in RESP3.
//!
//! Positions are drawn here, in `local` (a read: no mutation, nothing random is ever applied), uniformly;
//! then one walk of the `score` family from the low end collects them — the cost is the distance to the
//! farthest position drawn, never a load of the whole set. Sets of more than 512 members (picking fewer
//! than a sixteenth) resolve positions through rank markers instead ([`by_markers`]). As with HRANDFIELD, a negative count above
//! [`MAX_REPEATED_COUNT`] is refused with `ERR value is out of range` (Redis 7.0 would build the reply in
//! memory until the process dies).

use bytes::Bytes;
use rand::seq::SliceRandom;
use rand::Rng;
use resp::Reply;

use super::range::range_reply;
use super::read::{RangeKind, RangeQuery, Scored, ZSet};
use super::read_zset;
use crate::cmd::args::{is, parse_i64};
use crate::cmd::collection::slot_of;
use crate::cmd::{CmdError, Ctx};
use crate::storage::collection::{parse_score_value, Family};

/// The largest |count| a negative count may ask for.
pub const MAX_REPEATED_COUNT: u64 = 1 << 20;

pub fn zrandmember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let key = &args[1];
    if args.len() < 3 {
        let Some(l) = read_zset(ctx, key)? else {
            return Ok(Reply::Null);
        };
        let z = ZSet::new(&ctx.shard.store, slot_of(key), ctx.db, key, &l);
        let at = rand::thread_rng().gen_range(0..z.count.max(1));
        let picked = pick(&z, &[at])?;
        return Ok(picked
            .into_iter()
            .next()
            .map_or(Reply::Null, |(m, _)| Reply::Bulk(m)));
    }
    let l = parse_i64(&args[2])?;
    if l == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and \
             9223372036854775807",
        ));
    }
    let withscores = match args.len() {
        3 => false,
        4 if is(&args[3], "withscores") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    let Some(loaded) = read_zset(ctx, key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    if l == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let z = ZSet::new(&ctx.shard.store, slot_of(key), ctx.db, key, &loaded);
    let size = z.count;
    if size == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let mut rng = rand::thread_rng();
    let items = if l > 0 {
        let count = l as u64;
        if count >= size {
            // Redis walks sorted sets from the top here.
            let mut all = z.all()?;
            all.reverse();
            all
        } else {
            let positions: Vec<u64> =
                rand::seq::index::sample(&mut rng, size as usize, count as usize)
                    .into_iter()
                    .map(|p| p as u64)
                    .collect();
            let mut items = pick(&z, &positions)?;
            items.shuffle(&mut rng);
            items
        }
    } else {
        let count = l.unsigned_abs();
        if count > MAX_REPEATED_COUNT {
            return Err(CmdError::msg("ERR value is out of range"));
        }
        let positions: Vec<u64> = (0..count).map(|_| rng.gen_range(0..size)).collect();
        pick(&z, &positions)?
    };
    Ok(range_reply(items, withscores))
}

/// The members at `positions` (ranks, repeats allowed), in the order given.
fn pick(z: &ZSet<'_>, positions: &[u64]) -> Result<Vec<Scored>, CmdError> {
    let mut wanted: Vec<u64> = positions.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let found: Vec<Option<Scored>> =
        if z.count > MARKERS_FROM && (wanted.len() as u64) < z.count / 16 {
            by_markers(z, &wanted)?
        } else {
            walk(z, &wanted)?.into_iter().map(Some).collect()
        };
    Ok(positions
        .iter()
        .filter_map(|p| {
            wanted
                .binary_search(p)
                .ok()
                .and_then(|i| found.get(i).cloned().flatten())
        })
        .collect())
}

/// The members at `wanted` (ascending ranks in score order): one walk from the low end to the last.
fn walk(z: &ZSet<'_>, wanted: &[u64]) -> Result<Vec<Scored>, CmdError> {
    let Some(&last) = wanted.last() else {
        return Ok(Vec::new());
    };
    let mut found: Vec<Scored> = Vec::with_capacity(wanted.len());
    let mut next = 0;
    let mut rank = 0u64;
    let q = RangeQuery::plain(RangeKind::Rank {
        start: 0,
        end: last as i64,
    });
    z.visit(&q, |m, s| {
        if wanted.get(next) == Some(&rank) {
            found.push((Bytes::copy_from_slice(m), s));
            next += 1;
        }
        rank += 1;
        next < wanted.len()
    })?;
    Ok(found)
}

/// Sets above this many members pick through rank markers.
const MARKERS_FROM: u64 = 512;

/// A big set: positions are ranks in *member* order, resolved through the rank markers SPOP uses
/// (cmd/sets/markers.rs: one O(n) scan builds them, then a seek plus a short walk per pick while the set
/// keeps its size; zset writes do not update them, a size change rebuilds them). Uniform all the same — a
/// random rank in member order is as random as one in score order — and the scores are point reads.
fn by_markers(z: &ZSet<'_>, wanted: &[u64]) -> Result<Vec<Option<Scored>>, CmdError> {
    let set = crate::cmd::sets::algebra::SetRef {
        key: Bytes::copy_from_slice(z.key),
        slot: z.slot,
        version: z.version,
        count: z.count,
    };
    let members = crate::cmd::sets::markers::at_ranks(z.store, z.db, &set, wanted)?;
    let mut found: Vec<Option<Scored>> = Vec::with_capacity(members.len());
    for m in members {
        let score = z
            .store
            .get_member(Family::Sub, z.slot, z.db, z.key, z.version, &m)?
            .map(|raw| parse_score_value(&raw))
            .transpose()
            .map_err(crate::storage::StorageError::from)?;
        found.push(score.map(|s| (m, s)));
    }
    Ok(found)
}

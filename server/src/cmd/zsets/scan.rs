//! ZSCAN key cursor [MATCH pattern] [COUNT count]
//!
//! A set of at most [`SMALL`] members comes back whole in one reply, lowest score first, scores printed
//! as Redis's compact encoding keeps them (`d2string`) — what Redis 7 answers for such sets, byte for
//! byte. A larger set is scanned in member order from a resume point ([`collection::scan_members`]): each
//! call costs what it returns, and every member present for the whole scan is returned at least once.
//!
//! Checks in Redis's order: the cursor, then the key (missing: an empty scan; another type: WRONGTYPE),
//! then the options.

use bytes::Bytes;
use resp::Reply;

use super::read::ZSet;
use super::read_zset;
use super::score::{d2string, printf17g};
use crate::cmd::collection::{self, parse_member_scan, scan_reply, slot_of};
use crate::cmd::keys::pattern;
use crate::cmd::{CmdError, Ctx};
use crate::storage::collection::{parse_score_value, Family};
use crate::storage::StorageError;

/// Redis keeps sorted sets of up to 128 members compact (`zset-max-listpack-entries`) and scans those
/// whole.
pub const SMALL: u64 = 128;

pub fn zscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    parse_member_scan(&args[2..3])?;
    let key = &args[1];
    let Some(loaded) = read_zset(ctx, key)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let opts = parse_member_scan(&args[2..])?;
    let keep = |m: &[u8]| opts.pattern.as_ref().is_none_or(|p| pattern::matches(p, m));
    let mut items = Vec::new();
    if loaded.meta.count <= SMALL {
        let z = ZSet::new(&ctx.shard.store, slot_of(key), ctx.db, key, &loaded);
        for (m, s) in z.all()? {
            if keep(&m) {
                items.push(Reply::Bulk(m));
                items.push(Reply::Bulk(d2string(s)));
            }
        }
        return Ok(scan_reply(0, items));
    }
    let mut bad = None;
    let cursor = collection::scan_members(ctx, key, &loaded, Family::Sub, &opts, |m, v| {
        match parse_score_value(v) {
            Ok(s) => {
                items.push(Reply::Bulk(Bytes::copy_from_slice(m)));
                items.push(Reply::Bulk(printf17g(s)));
            }
            Err(e) => bad = Some(e),
        }
    })?;
    if let Some(e) = bad {
        return Err(StorageError::from(e).into());
    }
    Ok(scan_reply(cursor, items))
}

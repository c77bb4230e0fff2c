//! HSCAN key cursor [MATCH pattern] [COUNT count] — `[cursor, [field, value, ...]]`.
//!
//! Checks in Redis's order: the cursor first (`ERR invalid cursor`), then the key (a missing key answers
//! `0` and no fields without looking at the options; another type is WRONGTYPE), then the options. Each
//! call visits at most COUNT fields from where the cursor left off (one seek, then in field order), so it
//! costs what it returns whatever the hash's size; MATCH filters the visited fields. Cursors are tokens of
//! the core's scan table (see [`crate::cmd::collection`]): a full iteration returns every field present
//! from start to end at least once.

use bytes::Bytes;
use resp::Reply;

use super::read;
use crate::cmd::collection::{parse_member_scan, scan_members, scan_reply};
use crate::cmd::{CmdError, Ctx};
use crate::storage::collection::Family;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    parse_member_scan(&args[2..3])?;
    let Some(h) = read(ctx, &args[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let opts = parse_member_scan(&args[2..])?;
    let mut items = Vec::with_capacity(2 * opts.count.min(1024));
    let cursor = scan_members(ctx, &args[1], &h, Family::Sub, &opts, |field, value| {
        items.push(Reply::Bulk(Bytes::copy_from_slice(field)));
        items.push(Reply::Bulk(Bytes::copy_from_slice(value)));
    })?;
    Ok(scan_reply(cursor, items))
}

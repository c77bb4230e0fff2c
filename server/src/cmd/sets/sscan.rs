//! SSCAN key cursor [MATCH pattern] [COUNT count] — resumes from a member (see `cmd::collection`), so each
//! call costs what it visits. As in Redis, the cursor is checked first, then the key, then the options (a
//! missing key answers an empty scan whatever the options).

use bytes::Bytes;
use resp::Reply;

use crate::cmd::collection::{self, parse_member_scan, scan_members, scan_reply};
use crate::cmd::{CmdError, Ctx};
use crate::storage::collection::Family;
use crate::storage::record::ValueType;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    parse_member_scan(&args[2..3])?;
    let key = &args[1];
    let Some(set) = collection::read(ctx, key, ValueType::Set)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let scan = parse_member_scan(&args[2..])?;
    let mut items = Vec::new();
    let cursor = scan_members(ctx, key, &set, Family::Sub, &scan, |m, _| {
        items.push(Reply::Bulk(Bytes::copy_from_slice(m)))
    })?;
    Ok(scan_reply(cursor, items))
}

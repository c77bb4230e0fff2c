//! HGETALL key (a map: RESP3 `%`, RESP2 a flat field-value array), HKEYS key and HVALS key (arrays).
//!
//! These read every field — their answer is the whole hash — in field byte order (Redis's order is its
//! table's, which no client may rely on). A missing key is an empty map or array.

use bytes::Bytes;
use resp::Reply;

use super::read;
use crate::cmd::{CmdError, Ctx};
use crate::slot::SlotId;
use crate::storage::collection::Family;

/// What to return of each field.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    Fields,
    Values,
    Both,
}

pub fn hgetall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    all(ctx, &args[1], Part::Both)
}

pub fn hkeys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    all(ctx, &args[1], Part::Fields)
}

pub fn hvals(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    all(ctx, &args[1], Part::Values)
}

fn all(ctx: &Ctx<'_>, key: &[u8], part: Part) -> Result<Reply, CmdError> {
    let h = read(ctx, key)?;
    let n = h.as_ref().map_or(0, |h| h.meta.count as usize);
    let mut pairs = Vec::with_capacity(if part == Part::Both { n } else { 0 });
    let mut items = Vec::with_capacity(if part == Part::Both { 0 } else { n });
    if let Some(h) = &h {
        let mut c = ctx.shard.store.member_cursor(
            Family::Sub,
            SlotId::of_key(key),
            ctx.db,
            key,
            h.version(),
        );
        c.seek_to_first();
        while c.valid() {
            let bulk = |b: &[u8]| Reply::Bulk(Bytes::copy_from_slice(b));
            match part {
                Part::Both => pairs.push((bulk(c.member()), bulk(c.value()))),
                Part::Fields => items.push(bulk(c.member())),
                Part::Values => items.push(bulk(c.value())),
            }
            c.next();
        }
        c.status()?;
    }
    Ok(match part {
        Part::Both => Reply::Map(pairs),
        _ => Reply::Array(items),
    })
}

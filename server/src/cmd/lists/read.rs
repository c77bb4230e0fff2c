//! LLEN key, LRANGE key start stop, LINDEX key index.
//!
//! LINDEX is one point read at `head + index`; LRANGE seeks to `head + start` and reads only the slice, so
//! both cost the same on a list of ten elements or ten million.

use std::ops::ControlFlow;

use bytes::Bytes;
use resp::{BulkArray, Reply};

use super::elements::{corrupt, offset, range, scan, At};
use crate::cmd::args::parse_i64;
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::slot::SlotId;
use crate::storage::collection::{list_pos, Family};
use crate::storage::record::ValueType;

pub fn llen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let l = collection::read(ctx, &args[1], ValueType::List)?;
    Ok(Reply::Integer(l.map_or(0, |l| l.meta.count as i64)))
}

pub fn lrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let start = parse_i64(&args[2])?;
    let stop = parse_i64(&args[3])?;
    let key = &args[1];
    let Some(l) = collection::read(ctx, key, ValueType::List)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let Some((from, to)) = range(start, stop, l.meta.count) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let at = At::of(&ctx.shard.store, ctx.db, key, &l);
    let n = to - from + 1;
    // Encoded while read: no Bytes or Reply per element.
    let mut out = BulkArray::new(n as usize, 0);
    scan(at, l.meta.head + from, n, true, |_, v| {
        out.push(v);
        ControlFlow::Continue(())
    })?;
    Ok(out.finish())
}

pub fn lindex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let key = &args[1];
    // Redis looks the key up before it parses the index.
    let Some(l) = collection::read(ctx, key, ValueType::List)? else {
        return Ok(Reply::Null);
    };
    let index = parse_i64(&args[2])?;
    let Some(i) = offset(index, l.meta.count) else {
        return Ok(Reply::Null);
    };
    let element = ctx.shard.store.get_member(
        Family::Sub,
        SlotId::of_key(key),
        ctx.db,
        key,
        l.version(),
        &list_pos(l.meta.head + i),
    )?;
    element.map(Reply::Bulk).ok_or_else(corrupt)
}

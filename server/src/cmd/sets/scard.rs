//! SCARD key — the count kept in the metadata record: O(1).

use bytes::Bytes;
use resp::Reply;

use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::storage::record::ValueType;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let n = collection::read(ctx, &args[1], ValueType::Set)?.map_or(0, |s| s.meta.count);
    Ok(Reply::Integer(n as i64))
}

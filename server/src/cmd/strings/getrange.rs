//! GETRANGE key start end (and its old name SUBSTR) — inclusive range, negative indexes from the end,
//! clamped like Redis; an empty string when nothing is selected or the key is missing.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::args::parse_i64;
use crate::cmd::{CmdError, Ctx};
use crate::storage::record::ValueType;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let start = parse_i64(&args[2])?;
    let end = parse_i64(&args[3])?;
    let rec = ctx.get(&args[1])?;
    ctx.shard.stats.hit(rec.is_some());
    let value = match rec {
        None => return Ok(Reply::Bulk(Bytes::new())),
        Some(r) if r.vtype != ValueType::String => return Err(CmdError::WrongType),
        Some(r) => r.payload,
    };
    Ok(Reply::Bulk(match range(value.len(), start, end) {
        Some((from, to)) => value.slice(from..=to),
        None => Bytes::new(),
    }))
}

/// The inclusive byte range GETRANGE selects from a string of `len` bytes, as Redis computes it.
fn range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    if (start < 0 && end < 0 && start > end) || len == 0 {
        return None;
    }
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 {
        (len + end).max(0)
    } else {
        end.min(len - 1)
    };
    (start <= end).then_some((start as usize, end as usize))
}

#[cfg(test)]
mod tests {
    use super::range;

    #[test]
    fn ranges_like_redis() {
        assert_eq!(range(5, 0, -1), Some((0, 4)));
        assert_eq!(range(5, -3, -1), Some((2, 4)));
        assert_eq!(range(5, -1, -3), None);
        assert_eq!(range(5, 3, 1), None);
        assert_eq!(range(5, 0, 100), Some((0, 4)));
        assert_eq!(range(5, -100, 1), Some((0, 1)));
        assert_eq!(range(5, 10, 20), None);
        assert_eq!(range(0, 0, -1), None);
        assert_eq!(range(5, i64::MIN, i64::MAX), Some((0, 4)));
        assert_eq!(range(5, 0, i64::MIN), Some((0, 0)));
    }
}

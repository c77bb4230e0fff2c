//! LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]
//!
//! The longest common subsequence of two strings, by Redis's dynamic programming table (so ties resolve to
//! the same subsequence and the same match ranges as Redis). The table may take at most proto-max-bulk-len
//! bytes, as in Redis. When the two keys live on different cores, each value is fetched from its core with
//! a GET leg and the table is computed here; the two reads are not one snapshot.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::args::{is, parse_i64};
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::storage::record::ValueType;

const NOT_STRINGS: &str = "ERR The specified keys must contain string values";

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let mut values = [Bytes::new(), Bytes::new()];
    let mut wrong_type = false;
    for (slot, key) in values.iter_mut().zip(&args[1..3]) {
        let rec = ctx.get(key)?;
        ctx.shard.stats.hit(rec.is_some());
        match rec {
            Some(r) if r.vtype != ValueType::String => wrong_type = true,
            Some(r) => *slot = r.payload,
            None => {}
        }
    }
    if wrong_type {
        return Err(CmdError::msg(NOT_STRINGS));
    }
    let max = ctx.shard.settings.borrow().proto_max_bulk_len;
    lcs(&values[0], &values[1], &args[3..], max)
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let mut values = [Bytes::new(), Bytes::new()];
        let mut wrong_type = false;
        for (slot, key) in values.iter_mut().zip(&s.args[1..3]) {
            let core = s
                .shard
                .node
                .layout
                .core_of(crate::slot::SlotId::of_key(key));
            match s
                .leg(core, vec![Bytes::from_static(b"get"), key.clone()])
                .await
            {
                Reply::Bulk(v) => *slot = v,
                Reply::Null => {}
                Reply::Error(e) if e.starts_with(b"WRONGTYPE") => wrong_type = true,
                other => return other,
            }
        }
        if wrong_type {
            return CmdError::msg(NOT_STRINGS).to_reply();
        }
        let max = s.shard.settings.borrow().proto_max_bulk_len;
        lcs(&values[0], &values[1], &s.args[3..], max).unwrap_or_else(|e| e.to_reply())
    })
}

/// Parses the options and computes the reply for values `a` and `b`.
fn lcs(a: &[u8], b: &[u8], opts: &[Bytes], max_table: u64) -> Result<Reply, CmdError> {
    let (mut get_len, mut get_idx, mut with_len) = (false, false, false);
    let mut min_len: u64 = 0;
    let mut i = 0;
    while i < opts.len() {
        let o = &opts[i];
        if is(o, "idx") {
            get_idx = true;
        } else if is(o, "len") {
            get_len = true;
        } else if is(o, "withmatchlen") {
            with_len = true;
        } else if is(o, "minmatchlen") && i + 1 < opts.len() {
            min_len = parse_i64(&opts[i + 1])?.max(0) as u64;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if get_len && get_idx {
        return Err(CmdError::msg(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        return Err(CmdError::msg("ERR String too long for LCS"));
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    if cells * 4 > max_table {
        return Err(CmdError::msg(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    // table[i * (blen + 1) + j] = LCS length of a[..i] and b[..j].
    let w = blen + 1;
    let mut table = vec![0u32; cells as usize];
    for i in 1..=alen {
        for j in 1..=blen {
            table[i * w + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * w + j - 1] + 1
            } else {
                table[(i - 1) * w + j].max(table[i * w + j - 1])
            };
        }
    }
    let total = table[alen * w + blen];
    if get_len && !get_idx {
        return Ok(Reply::Integer(total as i64));
    }
    // Walk back from the end, collecting the subsequence and the contiguous matching ranges, exactly in
    // Redis's order (ranges from the end of the strings towards the start).
    let mut result = vec![0u8; total as usize];
    let mut k = total as usize;
    let mut matches = Vec::new();
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (alen, 0, 0, 0);
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[k - 1] = a[i - 1];
            if a_start == alen {
                (a_start, a_end, b_start, b_end) = (i - 1, i - 1, j - 1, j - 1);
            } else if a_start == i && b_start == j {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            k -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * w + j] > table[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if a_start != alen {
                emit = true;
            }
        }
        if emit {
            let match_len = (a_end as i64 - a_start as i64 + 1) as u64;
            if get_idx && (min_len == 0 || match_len >= min_len) {
                let range = |s: usize, e: usize| {
                    Reply::Array(vec![Reply::Integer(s as i64), Reply::Integer(e as i64)])
                };
                let mut m = vec![range(a_start, a_end), range(b_start, b_end)];
                if with_len {
                    m.push(Reply::Integer(match_len as i64));
                }
                matches.push(Reply::Array(m));
            }
            a_start = alen;
        }
    }
    if get_idx {
        return Ok(Reply::Map(vec![
            (
                Reply::Bulk(Bytes::from_static(b"matches")),
                Reply::Array(matches),
            ),
            (
                Reply::Bulk(Bytes::from_static(b"len")),
                Reply::Integer(total as i64),
            ),
        ]));
    }
    Ok(Reply::Bulk(Bytes::from(result)))
}

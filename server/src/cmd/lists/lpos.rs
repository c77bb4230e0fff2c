//! LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
//!
//! A scan from the head (or, for a negative RANK, from the tail) that stops at the wanted match, at
//! COUNT matches, or after MAXLEN elements. Indexes are LINDEX's (from the head) either way.

use std::ops::ControlFlow;

use bytes::Bytes;
use resp::Reply;

use super::elements::{scan, At};
use crate::cmd::args::{is, parse_i64, parse_i64_opt};
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::storage::record::ValueType;

const RANK_ZERO: &str =
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
                         or use negative to start from the end of the list";

fn non_negative(arg: &[u8], msg: &'static str) -> Result<i64, CmdError> {
    parse_i64_opt(arg)
        .filter(|n| *n >= 0)
        .ok_or(CmdError::msg(msg))
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let (key, element) = (&args[1], &args[2]);
    let (mut rank, mut count, mut maxlen) = (1i64, None::<i64>, 0i64);
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        if is(&args[j], "rank") && more {
            rank = parse_i64(&args[j + 1])?;
            if rank == 0 {
                return Err(CmdError::msg(RANK_ZERO));
            }
        } else if is(&args[j], "count") && more {
            count = Some(non_negative(&args[j + 1], "ERR COUNT can't be negative")?);
        } else if is(&args[j], "maxlen") && more {
            maxlen = non_negative(&args[j + 1], "ERR MAXLEN can't be negative")?;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    // A negative rank searches from the tail (Redis negates it; i64::MIN stays negative, as there).
    let forward = rank > 0;
    if !forward {
        rank = rank.wrapping_neg();
    }
    let Some(l) = collection::read(ctx, key, ValueType::List)? else {
        return Ok(match count {
            Some(_) => Reply::Array(Vec::new()),
            None => Reply::Null,
        });
    };
    let n = l.meta.count;
    let visit = if maxlen > 0 { n.min(maxlen as u64) } else { n };
    let from = if forward {
        l.meta.head
    } else {
        l.meta.tail() - 1
    };
    let (mut matches, mut found) = (0i64, Vec::new());
    let mut index = 0u64;
    scan(
        At::of(&ctx.shard.store, ctx.db, key, &l),
        from,
        visit,
        forward,
        |_, v| {
            let here = index;
            index += 1;
            if v != &element[..] {
                return ControlFlow::Continue(());
            }
            matches += 1;
            if matches < rank {
                return ControlFlow::Continue(());
            }
            found.push(if forward { here } else { n - here - 1 } as i64);
            match count {
                None => ControlFlow::Break(()),
                Some(c) if c != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= c => {
                    ControlFlow::Break(())
                }
                Some(_) => ControlFlow::Continue(()),
            }
        },
    )?;
    Ok(match count {
        Some(_) => Reply::Array(found.into_iter().map(Reply::Integer).collect()),
        None => found.first().map_or(Reply::Null, |i| Reply::Integer(*i)),
    })
}

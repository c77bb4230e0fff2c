//! SRANDMEMBER key [count] — random members, chosen as SPOP chooses them ([`super::sample`]).
//!
//! Replies as Redis 7.0: without a count, a member or nil; with a count, an array (not a set, even in
//! RESP3): `count > 0` distinct members (the whole set when it is smaller), `count < 0` that many members
//! with repeats allowed. A negative count beyond [`MAX_REPEATED`] is refused: Redis would build that reply
//! in memory until it ran out (a known Redis problem, fixed the same way in Valkey).

use bytes::Bytes;
use resp::Reply;

use super::algebra::{self, open};
use super::sample;
use crate::cmd::args::parse_i64;
use crate::cmd::{CmdError, Ctx};

/// The largest number of members a negative count may ask for.
pub const MAX_REPEATED: u64 = 1 << 20;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => {
            let n = parse_i64(a)?;
            if n == i64::MIN {
                return Err(CmdError::msg(
                    "ERR value is out of range, value must between -9223372036854775807 and \
                     9223372036854775807",
                ));
            }
            Some(n)
        }
    };
    let store = &ctx.shard.store;
    let Some(set) = open(store, ctx.db, ctx.now_ms, &args[1])? else {
        return Ok(match count {
            Some(_) => Reply::Array(Vec::new()),
            None => Reply::Null,
        });
    };
    let rng = &mut rand::thread_rng();
    let members = match count {
        None => {
            let m = sample::distinct(store, ctx.db, &set, 1, rng)?;
            return Ok(m.into_iter().next().map_or(Reply::Null, Reply::Bulk));
        }
        Some(0) => Vec::new(),
        // The whole set, in member order (as Redis returns a small integer set: sorted).
        Some(n) if n > 0 && n as u64 >= set.count => algebra::members(store, ctx.db, &set)?,
        Some(n) if n > 0 => sample::distinct(store, ctx.db, &set, n as usize, rng)?,
        Some(n) => {
            let k = n.unsigned_abs();
            if k > MAX_REPEATED {
                return Err(CmdError::msg("ERR value is out of range"));
            }
            sample::repeated(store, ctx.db, &set, k as usize, rng)?
        }
    };
    Ok(Reply::Array(members.into_iter().map(Reply::Bulk).collect()))
}

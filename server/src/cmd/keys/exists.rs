//! EXISTS key [key ...] — counts a key once per mention, like Redis.

use bytes::Bytes;
use resp::Reply;

use super::del::per_core_legs;
use crate::cmd::{sum_integers, CmdError, Ctx, KeySpec, ReplyFuture, Spread};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let mut n = 0;
    for k in &args[1..] {
        if ctx.get(k)?.is_some() {
            n += 1;
        }
    }
    Ok(Reply::Integer(n))
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move { sum_integers(per_core_legs(&s, KeySpec::ALL).await) })
}

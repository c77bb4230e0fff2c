//! MGET key [key ...] — keys on several cores are fetched per core in parallel and put back in order. Each
//! core's share is read at one instant; across cores the reads are not one snapshot.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx, KeySpec, ReplyFuture, Spread};
use crate::storage::record::ValueType;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let mut out = Vec::with_capacity(args.len() - 1);
    for key in &args[1..] {
        let rec = ctx.get(key)?;
        ctx.shard.stats.hit(rec.is_some());
        out.push(match rec {
            Some(r) if r.vtype == ValueType::String => Reply::Bulk(r.payload),
            _ => Reply::Null,
        });
    }
    Ok(Reply::Array(out))
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let groups = s.keys_by_core(KeySpec::ALL.positions(&s.args));
        let mut legs = Vec::with_capacity(groups.len());
        for (core, idx) in &groups {
            let mut args = Vec::with_capacity(idx.len() + 1);
            args.push(s.args[0].clone());
            args.extend(idx.iter().map(|&i| s.args[i].clone()));
            legs.push(s.leg(*core, args));
        }
        let mut out = vec![Reply::Null; s.args.len() - 1];
        for ((_, idx), leg) in groups.iter().zip(legs) {
            match leg.await {
                Reply::Array(values) => {
                    for (&i, v) in idx.iter().zip(values) {
                        out[i - 1] = v;
                    }
                }
                err => return err,
            }
        }
        Reply::Array(out)
    })
}

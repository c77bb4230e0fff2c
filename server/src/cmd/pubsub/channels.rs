//! PUBSUB CHANNELS [pattern] — the channels with at least one subscriber (pattern subscriptions do not
//! count), optionally only those matching a glob pattern, in no particular order. Each core lists its
//! own; `spread` merges them, a channel subscribed on two cores listed once.
//!
//! PUBSUB SHARDCHANNELS [pattern] — slotkv has no shard channels (no SSUBSCRIBE): always empty.

use bytes::Bytes;
use resp::Reply;

use super::subcommand_syntax_error;
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    if args.len() > 3 {
        return Err(subcommand_syntax_error(args));
    }
    let names = ctx
        .shard
        .pubsub
        .borrow()
        .channels(args.get(2).map(|p| &p[..]));
    Ok(Reply::Array(names.into_iter().map(Reply::Bulk).collect()))
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        if s.args.len() > 3 {
            return subcommand_syntax_error(&s.args).to_reply();
        }
        let mut seen = ahash::AHashSet::new();
        let mut out = Vec::new();
        for reply in s.on_every_core(&s.args).await {
            match reply {
                Reply::Array(names) => {
                    for n in names {
                        if let Reply::Bulk(name) = &n {
                            if seen.insert(name.clone()) {
                                out.push(n);
                            }
                        }
                    }
                }
                other => return other,
            }
        }
        Reply::Array(out)
    })
}

pub fn shard_local(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    if args.len() > 3 {
        return Err(subcommand_syntax_error(args));
    }
    Ok(Reply::Array(Vec::new()))
}

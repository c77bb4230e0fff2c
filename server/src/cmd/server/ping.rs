//! PING [message]
//!
//! A RESP2 connection in Pub/Sub mode gets `[pong, message]` (`""` without one), as Redis answers there.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    if ctx.client.as_deref().is_some_and(|c| c.subscribed_resp2()) && args.len() <= 2 {
        return Ok(Reply::Array(vec![
            Reply::Bulk(Bytes::from_static(b"pong")),
            Reply::Bulk(args.get(1).cloned().unwrap_or_default()),
        ]));
    }
    match args.len() {
        1 => Ok(Reply::Simple("PONG")),
        2 => Ok(Reply::Bulk(args[1].clone())),
        _ => Err(CmdError::WrongArity("ping".into())),
    }
}

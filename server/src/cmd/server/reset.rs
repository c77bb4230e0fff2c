//! RESET — the connection goes back to a new connection's state: database 0, RESP2, no name, replies on,
//! and unauthenticated again when a password is set; no subscriptions (dropped without confirmations).

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    let authenticated = !ctx.shard.settings.borrow().requires_auth();
    crate::cmd::pubsub::forget(ctx.shard, ctx.client());
    ctx.client().reset_connection_state(authenticated);
    Ok(Reply::Simple("RESET"))
}

//! SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] — stops the node the way SIGTERM does: every core stops
//! accepting, finishes the replies in flight, fsyncs its WAL and flushes its memtables, and the process
//! exits 0. Like Redis, a successful SHUTDOWN gets no reply: the connection just closes.
//!
//! The flags are checked as Redis checks them but change nothing: there is no snapshot to save or skip
//! (every acknowledged write is in the WAL either way) and no replica to wait for. A shutdown cannot be
//! aborted once raised, so ABORT always answers that none is in progress.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::args::is;
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let (mut save, mut nosave, mut abort, mut other) = (false, false, false, false);
    for a in &args[1..] {
        if is(a, "nosave") {
            nosave = true;
        } else if is(a, "save") {
            save = true;
        } else if is(a, "now") || is(a, "force") {
            other = true;
        } else if is(a, "abort") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (abort && (save || nosave || other)) || (save && nosave) {
        return Err(CmdError::Syntax);
    }
    if abort {
        return Err(CmdError::msg("ERR No shutdown in progress."));
    }
    log::info!("User requested shutdown...");
    ctx.shard.node.request_shutdown();
    let c = ctx.client();
    c.reply_skip_next = true;
    c.close_after_reply = true;
    Ok(Reply::Ok)
}

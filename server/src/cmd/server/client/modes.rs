//! CLIENT REPLY ON|OFF|SKIP | NO-EVICT ON|OFF | NO-TOUCH ON|OFF.
//!
//! REPLY OFF and SKIP produce no reply themselves: the connection drops the reply of a command dispatched
//! with `reply_off` or `reply_skip_next` set, and SKIP arms `reply_skip_following` so the next command's
//! reply is dropped too. Queued in MULTI, they change the mode for the commands after EXEC, whose own
//! reply follows the mode it started with (`cmd::tx::exec`). NO-EVICT and NO-TOUCH only show in CLIENT
//! LIST flags: slotkv neither evicts clients nor keeps LRU/LFU data.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::args::is;
use crate::cmd::{CmdError, Ctx};

pub fn reply(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let c = ctx.client();
    if is(&args[2], "on") {
        c.reply_off = false;
        c.reply_skip_following = false;
        c.reply_skip_next = false;
        Ok(Reply::Ok)
    } else if is(&args[2], "off") {
        c.reply_off = true;
        Ok(Reply::Ok)
    } else if is(&args[2], "skip") {
        if !c.reply_off {
            c.reply_skip_next = true;
            c.reply_skip_following = true;
        }
        Ok(Reply::Ok)
    } else {
        Err(CmdError::Syntax)
    }
}

fn on_off(arg: &[u8]) -> Result<bool, CmdError> {
    if is(arg, "on") {
        Ok(true)
    } else if is(arg, "off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

pub fn no_evict(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    ctx.client().no_evict = on_off(&args[2])?;
    Ok(Reply::Ok)
}

pub fn no_touch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    ctx.client().no_touch = on_off(&args[2])?;
    Ok(Reply::Ok)
}

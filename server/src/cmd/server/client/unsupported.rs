//! CLIENT PAUSE | UNPAUSE | TRACKING | TRACKINGINFO | GETREDIR | CACHING — see the module docs of
//! `client` for why each answers as it does. Arguments are checked as Redis checks them first, so a bad
//! call gets Redis's error either way.

use bytes::Bytes;
use resp::Reply;

use super::super::text;
use crate::cmd::args::{is, parse_i64_opt};
use crate::cmd::{CmdError, Ctx};

/// Redis's `addReplySubcommandSyntaxError`, naming the subcommand as typed.
pub(super) fn wrong_args(sub: &[u8]) -> CmdError {
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
        text(sub)
    ))
}

pub fn pause(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    if args.len() > 4 {
        return Err(wrong_args(&args[1]));
    }
    if args.len() == 4 && !is(&args[3], "write") && !is(&args[3], "all") {
        return Err(CmdError::msg("ERR CLIENT PAUSE mode must be WRITE or ALL"));
    }
    let t = parse_i64_opt(&args[2]).ok_or(CmdError::msg(
        "ERR timeout is not an integer or out of range",
    ))?;
    if t < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    Err(CmdError::msg(
        "ERR CLIENT PAUSE is not supported by slotkv: commands are never paused",
    ))
}

pub fn unpause(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Ok(Reply::Ok)
}

pub fn tracking(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        if (is(&args[i], "redirect") || is(&args[i], "prefix")) && more {
            i += 2;
        } else if ["bcast", "optin", "optout", "noloop"]
            .iter()
            .any(|o| is(&args[i], o))
        {
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if is(&args[2], "on") {
        Err(CmdError::msg(
            "ERR CLIENT TRACKING is not supported by slotkv (no client-side caching invalidation)",
        ))
    } else if is(&args[2], "off") {
        Ok(Reply::Ok)
    } else {
        Err(CmdError::Syntax)
    }
}

pub fn trackinginfo(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    let bulk = |s: &'static str| Reply::Bulk(Bytes::from_static(s.as_bytes()));
    Ok(Reply::Map(vec![
        (bulk("flags"), Reply::Set(vec![bulk("off")])),
        (bulk("redirect"), Reply::Integer(-1)),
        (bulk("prefixes"), Reply::Array(Vec::new())),
    ]))
}

pub fn getredir(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Ok(Reply::Integer(-1))
}

pub fn caching(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Err(CmdError::msg(
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT \
         mode enabled",
    ))
}

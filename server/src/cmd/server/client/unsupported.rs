//! CLIENT PAUSE | UNPAUSE | TRACKING | TRACKINGINFO | GETREDIR | CACHING — see the module docs of
//! `client` for why each answers as it does. Arguments are checked as Redis checks them first, so a bad
//! call gets Redis's error either way.

use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use super::super::text;
use crate::cmd::args::{is, parse_i64_opt};
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::shard::Shard;

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

/// CLIENT TRACKING as Redis parses it: options in order, a REDIRECT's client looked up when it is read
/// (so its "does not exist" comes before a later option's error), then ON or OFF.
struct Tracking {
    redirect: Option<u64>,
    /// The first error after the REDIRECT, reported only if its client exists.
    later: Option<CmdError>,
    on: bool,
}

fn parse_tracking(args: &[Bytes]) -> Result<Tracking, CmdError> {
    let mut t = Tracking {
        redirect: None,
        later: None,
        on: false,
    };
    let fail = |t: &mut Tracking, e: CmdError| match t.redirect {
        Some(_) => {
            t.later.get_or_insert(e);
            Ok(())
        }
        None => Err(e),
    };
    let mut i = 3;
    while i < args.len() && t.later.is_none() {
        let more = i + 1 < args.len();
        if is(&args[i], "redirect") && more {
            if t.redirect.is_some() {
                fail(
                    &mut t,
                    CmdError::msg("ERR A client can only redirect to a single other client"),
                )?;
            } else {
                match parse_i64_opt(&args[i + 1]) {
                    Some(id) => t.redirect = Some(id as u64),
                    None => fail(&mut t, CmdError::NotInteger)?,
                }
            }
            i += 2;
        } else if is(&args[i], "prefix") && more {
            i += 2;
        } else if ["bcast", "optin", "optout", "noloop"]
            .iter()
            .any(|o| is(&args[i], o))
        {
            i += 1;
        } else {
            fail(&mut t, CmdError::Syntax)?;
        }
    }
    if is(&args[2], "on") {
        t.on = true;
    } else if !is(&args[2], "off") {
        fail(&mut t, CmdError::Syntax)?;
    }
    Ok(t)
}

/// The reply once the REDIRECT client's existence is known.
fn tracking_reply(t: Tracking, redirect_exists: bool) -> Result<Reply, CmdError> {
    if t.redirect.is_some() && !redirect_exists {
        return Err(CmdError::msg(
            "ERR The client ID you want redirect to does not exist",
        ));
    }
    if let Some(e) = t.later {
        return Err(e);
    }
    if t.on {
        return Err(CmdError::msg(
            "ERR CLIENT TRACKING is not supported by slotkv (no client-side caching invalidation)",
        ));
    }
    Ok(Reply::Ok)
}

fn connected_here(shard: &Shard, id: u64) -> bool {
    shard
        .clients
        .borrow()
        .clients
        .get(&id)
        .is_some_and(|c| c.try_borrow().map_or(true, |c| !c.killed.get()))
}

pub fn tracking(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let t = parse_tracking(args)?;
    let exists = t.redirect.is_some_and(|id| connected_here(ctx.shard, id));
    tracking_reply(t, exists)
}

/// With several cores the REDIRECT client may be any core's.
pub fn tracking_spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let t = match parse_tracking(&s.args) {
            Ok(t) => t,
            Err(e) => return e.to_reply(),
        };
        let exists = match t.redirect {
            Some(id) => s
                .shard
                .on_every_core(move |sh: &Rc<Shard>| connected_here(sh, id))
                .await
                .into_iter()
                .any(|here| here),
            None => false,
        };
        tracking_reply(t, exists).unwrap_or_else(|e| e.to_reply())
    })
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

//! CLIENT KILL addr | CLIENT KILL [ID id] [TYPE type] [ADDR ip:port] [LADDR ip:port] [USER name]
//! [SKIPME yes|no].
//!
//! Every core closes its own matching connections (the socket is shut down; the connection's task ends
//! it). The caller, when it matches and SKIPME is no (the default of the old form), is closed after its
//! reply. Not atomic across cores: a connection accepted meanwhile on another core may be missed.

use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use super::super::{caller_during_dispatch, for_each_client, text};
use super::list::{client_type, ClientType};
use crate::cmd::args::{is, parse_i64_opt};
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::net::client::{ClientRegistry, ClientState};
use crate::shard::Shard;

#[derive(Clone, Default)]
struct Filter {
    old_form: bool,
    addr: Option<String>,
    laddr: Option<String>,
    client_type: Option<ClientType>,
    id: u64,
    skipme: bool,
}

fn parse(args: &[Bytes]) -> Result<Filter, CmdError> {
    if args.len() == 3 {
        return Ok(Filter {
            old_form: true,
            addr: Some(text(&args[2])),
            ..Default::default()
        });
    }
    let mut f = Filter {
        skipme: true,
        ..Default::default()
    };
    let mut i = 2;
    while i < args.len() {
        let (opt, value) = match args.get(i + 1) {
            Some(v) => (&args[i], v),
            None => return Err(CmdError::Syntax),
        };
        if is(opt, "id") {
            f.id = parse_i64_opt(value)
                .filter(|&n| n >= 1)
                .ok_or(CmdError::msg("ERR client-id should be greater than 0"))?
                as u64;
        } else if is(opt, "type") {
            f.client_type = Some(client_type(value)?);
        } else if is(opt, "addr") {
            f.addr = Some(text(value));
        } else if is(opt, "laddr") {
            f.laddr = Some(text(value));
        } else if is(opt, "user") {
            if &value[..] != b"default" {
                return Err(CmdError::msg(format!("ERR No such user '{}'", text(value))));
            }
        } else if is(opt, "skipme") {
            f.skipme = if is(value, "yes") {
                true
            } else if is(value, "no") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(f)
}

impl Filter {
    fn matches(&self, c: &ClientState) -> bool {
        self.addr.as_ref().is_none_or(|a| *a == c.addr.to_string())
            && self
                .laddr
                .as_ref()
                .is_none_or(|a| *a == c.laddr.to_string())
            && self.client_type.is_none_or(|t| t == ClientType::of(c))
            && (self.id == 0 || self.id == c.id)
    }
}

/// Closes this core's matching connections; returns how many.
fn kill_on(
    shard: &Rc<Shard>,
    caller: Option<&mut ClientState>,
    caller_id: Option<u64>,
    f: &Filter,
) -> usize {
    let mut killed = 0;
    for_each_client(shard, caller, |c| {
        if !f.matches(c) {
            return;
        }
        if Some(c.id) == caller_id {
            if f.skipme {
                return;
            }
            c.close_after_reply = true;
        } else {
            ClientRegistry::kill(c);
        }
        killed += 1;
    });
    killed
}

fn reply(f: &Filter, killed: usize) -> Reply {
    if !f.old_form {
        Reply::Integer(killed as i64)
    } else if killed == 0 {
        Reply::StaticError("ERR No such client")
    } else {
        Reply::Ok
    }
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let f = parse(args)?;
    let caller_id = ctx.client.as_ref().map(|c| c.id);
    let killed = kill_on(ctx.shard, ctx.client.as_deref_mut(), caller_id, &f);
    Ok(reply(&f, killed))
}

pub fn spread(s: Spread) -> ReplyFuture {
    let caller_id = caller_during_dispatch(&s.shard);
    Box::pin(async move {
        let f = match parse(&s.args) {
            Ok(f) => f,
            Err(e) => return e.to_reply(),
        };
        let filter = f.clone();
        let killed: usize = s
            .shard
            .on_every_core(move |sh: &Rc<Shard>| kill_on(sh, None, caller_id, &filter))
            .await
            .into_iter()
            .sum();
        reply(&f, killed)
    })
}

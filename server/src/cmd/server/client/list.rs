//! CLIENT LIST [TYPE type | ID id [id ...]] and CLIENT INFO.
//!
//! LIST shows every connection of the node: each core describes its own connections (a snapshot per core,
//! not one instant for the whole node), sorted by id, or in the order the IDs were asked for.

use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use super::super::{for_each_client, text};
use crate::cmd::args::{is, parse_i64_opt};
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::net::client::ClientState;
use crate::shard::Shard;

/// Which connections LIST shows.
#[derive(Clone)]
enum Filter {
    All,
    Type(ClientType),
    Ids(Vec<u64>),
}

/// Redis's client types. A connection with subscriptions is `pubsub`, any other `normal`; slotkv has no
/// replication links yet, so no connection is `master` or `replica`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ClientType {
    Normal,
    PubSub,
    Replica,
    Master,
}

impl ClientType {
    pub fn of(c: &ClientState) -> ClientType {
        if c.subscriptions() > 0 {
            ClientType::PubSub
        } else {
            ClientType::Normal
        }
    }
}

/// Parses a client type name as CLIENT LIST / CLIENT KILL take it.
pub fn client_type(name: &[u8]) -> Result<ClientType, CmdError> {
    Ok(if is(name, "normal") {
        ClientType::Normal
    } else if is(name, "pubsub") {
        ClientType::PubSub
    } else if is(name, "slave") || is(name, "replica") {
        ClientType::Replica
    } else if is(name, "master") {
        ClientType::Master
    } else {
        return Err(CmdError::msg(format!(
            "ERR Unknown client type '{}'",
            text(name)
        )));
    })
}

fn parse(args: &[Bytes]) -> Result<Filter, CmdError> {
    if args.len() == 4 && is(&args[2], "type") {
        return Ok(Filter::Type(client_type(&args[3])?));
    }
    if args.len() > 3 && is(&args[2], "id") {
        let ids = args[3..]
            .iter()
            .map(|a| parse_i64_opt(a).map(|n| n as u64))
            .collect::<Option<Vec<u64>>>()
            .ok_or(CmdError::msg("ERR Invalid client ID"))?;
        return Ok(Filter::Ids(ids));
    }
    if args.len() != 2 {
        return Err(CmdError::Syntax);
    }
    Ok(Filter::All)
}

/// This core's connections as `(id, line)`.
fn lines_on(
    shard: &Rc<Shard>,
    caller: Option<&mut ClientState>,
    filter: &Filter,
) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    for_each_client(shard, caller, |c| {
        let wanted = match filter {
            Filter::All => true,
            Filter::Type(t) => ClientType::of(c) == *t,
            Filter::Ids(ids) => ids.contains(&c.id),
        };
        if wanted {
            out.push((c.id, c.info_line()));
        }
    });
    out
}

fn render(filter: &Filter, mut lines: Vec<(u64, String)>) -> Reply {
    let mut text = String::new();
    if let Filter::Ids(ids) = filter {
        for id in ids {
            if let Some((_, line)) = lines.iter().find(|(i, _)| i == id) {
                text.push_str(line);
                text.push('\n');
            }
        }
    } else {
        lines.sort_unstable_by_key(|(id, _)| *id);
        for (_, line) in lines {
            text.push_str(&line);
            text.push('\n');
        }
    }
    Reply::Verbatim {
        format: *b"txt",
        text: Bytes::from(text),
    }
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let filter = parse(args)?;
    let lines = lines_on(ctx.shard, ctx.client.as_deref_mut(), &filter);
    Ok(render(&filter, lines))
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let filter = match parse(&s.args) {
            Ok(f) => f,
            Err(e) => return e.to_reply(),
        };
        let f = filter.clone();
        let per_core = s
            .shard
            .on_every_core(move |sh: &Rc<Shard>| lines_on(sh, None, &f))
            .await;
        render(&filter, per_core.into_iter().flatten().collect())
    })
}

pub fn info(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    let c = ctx.client();
    let mut line = c.info_line();
    line.push('\n');
    Ok(Reply::Verbatim {
        format: *b"txt",
        text: Bytes::from(line),
    })
}

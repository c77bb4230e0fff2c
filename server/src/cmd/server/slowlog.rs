//! SLOWLOG GET [count] | LEN | RESET | HELP.
//!
//! Each core logs the commands it ran slower than `slowlog-log-slower-than` (shard::stats); ids come from
//! one node-wide sequence. GET merges every core's log newest first (by id) and LEN counts the merged
//! log; both are capped at `slowlog-max-len`, which applies per core when logging. RESET clears every core.
//! A command forwarded to another core is logged there without the client's address and name.

use bytes::Bytes;
use resp::Reply;

use super::{help_reply, spec, text};
use crate::cmd::args::parse_i64_opt;
use crate::cmd::flags::*;
use crate::cmd::{CmdError, CommandSpec, Ctx, ReplyFuture, Spread};
use crate::shard::stats::SlowEntry;
use crate::shard::Shard;

pub static SUBCOMMANDS: &[CommandSpec] = &[
    spec(
        "get",
        -2,
        ADMIN | LOADING | STALE | NODE_WIDE,
        get_local,
        Some(get_spread),
        "Returns the slow log's entries.",
        "2.2.12",
        "server",
    ),
    spec(
        "len",
        2,
        ADMIN | LOADING | STALE | NODE_WIDE,
        len_local,
        Some(len_spread),
        "Returns the number of entries in the slow log.",
        "2.2.12",
        "server",
    ),
    spec(
        "reset",
        2,
        ADMIN | LOADING | STALE | NODE_WIDE,
        reset_local,
        Some(reset_spread),
        "Clears all entries from the slow log.",
        "2.2.12",
        "server",
    ),
    spec(
        "help",
        2,
        LOADING | STALE,
        help,
        None,
        "Show helpful text about the different subcommands",
        "6.2.0",
        "server",
    ),
];

fn help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Ok(help_reply(
        "slowlog",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    ))
}

/// How many entries GET asked for (`None`: all).
fn get_count(args: &[Bytes]) -> Result<Option<usize>, CmdError> {
    match args.len() {
        2 => Ok(Some(10)),
        3 => match parse_i64_opt(&args[2]) {
            Some(-1) => Ok(None),
            Some(n) if n >= 0 => Ok(Some(n as usize)),
            _ => Err(CmdError::msg(
                "ERR count should be greater than or equal to -1",
            )),
        },
        _ => Err(CmdError::msg(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try SLOWLOG HELP.",
            text(&args[1])
        ))),
    }
}

fn entries(shard: &Shard) -> Vec<SlowEntry> {
    shard.stats.slowlog.borrow().iter().cloned().collect()
}

fn render(mut all: Vec<SlowEntry>, count: Option<usize>, max_len: usize) -> Reply {
    all.sort_unstable_by_key(|e| std::cmp::Reverse(e.id));
    let n = count.unwrap_or(usize::MAX).min(max_len).min(all.len());
    Reply::Array(
        all.into_iter()
            .take(n)
            .map(|e| {
                Reply::Array(vec![
                    Reply::Integer(e.id as i64),
                    Reply::Integer(e.unix_secs as i64),
                    Reply::Integer(e.micros as i64),
                    Reply::Array(e.args.into_iter().map(Reply::Bulk).collect()),
                    Reply::Bulk(Bytes::from(e.client_addr)),
                    Reply::Bulk(e.client_name),
                ])
            })
            .collect(),
    )
}

fn get_local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let count = get_count(args)?;
    let max_len = ctx.shard.settings.borrow().slowlog_max_len;
    Ok(render(entries(ctx.shard), count, max_len))
}

fn get_spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let count = match get_count(&s.args) {
            Ok(c) => c,
            Err(e) => return e.to_reply(),
        };
        let max_len = s.shard.settings.borrow().slowlog_max_len;
        let per_core = s
            .shard
            .on_every_core(|sh: &std::rc::Rc<Shard>| entries(sh))
            .await;
        render(per_core.into_iter().flatten().collect(), count, max_len)
    })
}

fn len_local(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Ok(Reply::Integer(ctx.shard.stats.slowlog.borrow().len() as i64))
}

fn len_spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let max_len = s.shard.settings.borrow().slowlog_max_len;
        let lens = s
            .shard
            .on_every_core(|sh: &std::rc::Rc<Shard>| sh.stats.slowlog.borrow().len())
            .await;
        Reply::Integer(lens.into_iter().sum::<usize>().min(max_len) as i64)
    })
}

fn reset_local(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    ctx.shard.stats.slowlog.borrow_mut().clear();
    Ok(Reply::Ok)
}

fn reset_spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        s.shard
            .on_every_core(|sh: &std::rc::Rc<Shard>| sh.stats.slowlog.borrow_mut().clear())
            .await;
        Reply::Ok
    })
}

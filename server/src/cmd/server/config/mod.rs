//! CONFIG GET | SET | RESETSTAT | REWRITE | HELP. The parameters are listed in [`params`].
//!
//! Settings live on every core (`Shard::settings`) and are equal everywhere: GET reads this core's copy;
//! SET and RESETSTAT change every core, one after the other (atomic per core, not across cores: a command
//! running on another core meanwhile may still see the old value). CONFIG REWRITE is refused: the
//! configuration is a TOML file an operator owns, and CONFIG SET changes last until the node restarts.

mod get;
mod params;
mod set;

use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use super::{help_reply, spec};
use crate::cmd::flags::*;
use crate::cmd::{CmdError, CommandSpec, Ctx, ReplyFuture, Spread};
use crate::shard::Shard;

const ADMIN_CONF: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub static SUBCOMMANDS: &[CommandSpec] = &[
    spec(
        "get",
        -3,
        ADMIN_CONF,
        get::local,
        None,
        "Returns the effective values of configuration parameters.",
        "2.0.0",
        "server",
    ),
    spec(
        "set",
        -4,
        ADMIN_CONF | NODE_WIDE,
        set::local,
        Some(set::spread),
        "Sets configuration parameters in-flight.",
        "2.0.0",
        "server",
    ),
    spec(
        "resetstat",
        2,
        ADMIN_CONF | NODE_WIDE,
        resetstat_local,
        Some(resetstat_spread),
        "Resets the server's statistics.",
        "2.0.0",
        "server",
    ),
    spec(
        "rewrite",
        2,
        ADMIN_CONF,
        rewrite,
        None,
        "Persists the effective configuration to file.",
        "2.8.0",
        "server",
    ),
    spec(
        "help",
        2,
        LOADING | STALE,
        help,
        None,
        "Returns helpful text about the different subcommands.",
        "5.0.0",
        "server",
    ),
];

fn help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Ok(help_reply(
        "config",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    ))
}

/// The `--config` file the server was started with, if any (INFO config_file, CONFIG REWRITE).
pub fn config_file() -> Option<String> {
    let mut args = std::env::args();
    while let Some(a) = args.next() {
        if a == "--config" {
            return args.next();
        }
        if let Some(path) = a.strip_prefix("--config=") {
            return Some(path.to_string());
        }
    }
    None
}

fn rewrite(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    match config_file() {
        None => Err(CmdError::msg(
            "ERR The server is running without a config file",
        )),
        Some(_) => Err(CmdError::msg(
            "ERR CONFIG REWRITE is not supported: edit the TOML config file; CONFIG SET changes last \
             until restart",
        )),
    }
}

fn reset_stats(shard: &Rc<Shard>) {
    shard.stats.reset_counters();
    shard.durability.reset_stats();
}

fn resetstat_local(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    reset_stats(ctx.shard);
    Ok(Reply::Ok)
}

fn resetstat_spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        s.shard.on_every_core(reset_stats_job).await;
        Reply::Ok
    })
}

fn reset_stats_job(shard: &Rc<Shard>) {
    reset_stats(shard)
}

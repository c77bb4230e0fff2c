//! Connection and server commands. All are keyless: connection commands (PING, HELLO, AUTH, CLIENT SETNAME,
//! ...) run on the connection's core with its [`ClientState`]; node-wide ones (INFO, CLIENT LIST/KILL,
//! CONFIG SET, SLOWLOG) are flagged `NODE_WIDE`.
//!
//! How a node-wide command reaches every core: on a one-core node the dispatcher runs its `local`, which
//! answers from this core alone, reaching the caller through `ctx.client` (the caller's `RefCell` is
//! mutably borrowed during dispatch, so it cannot be reached through the registry). On more cores it runs
//! its `spread`, which gathers per-core data with [`Shard::on_every_core`] and merges it. A spread runs
//! after dispatch returned, when no `ClientState` is borrowed; it learns which connection is the caller
//! with [`caller_during_dispatch`] while dispatch is still running.
//!
//! The version reported to clients (HELLO, INFO) is [`REDIS_VERSION`]: the Redis release whose behaviour
//! and error texts slotkv follows.

mod auth;
mod client;
mod command;
mod config;
mod echo;
mod hello;
mod info;
mod lastsave;
mod ping;
mod quit;
mod readonly;
mod reset;
mod select;
mod shutdown;
mod slowlog;
mod time;
mod wait;

use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use super::{flags::*, CmdError, CommandSpec, Ctx, KeySpec};
use crate::net::client::ClientState;
use crate::shard::Shard;

/// The Redis version slotkv answers as (HELLO, INFO redis_version): Redis 7.2 semantics and error texts.
pub const REDIS_VERSION: &str = "7.2.0";

#[allow(clippy::too_many_arguments)]
const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    local: super::LocalFn,
    spread: Option<super::SpreadFn>,
    summary: &'static str,
    since: &'static str,
    group: &'static str,
) -> CommandSpec {
    CommandSpec::new(
        group,
        name,
        arity,
        flags,
        KeySpec::NONE,
        local,
        spread,
        summary,
        since,
    )
}

/// A container command (CLIENT, CONFIG, ...): `local` only runs for a bare call its arity allows.
#[allow(clippy::too_many_arguments)]
const fn container(
    name: &'static str,
    arity: i32,
    flags: u32,
    local: super::LocalFn,
    summary: &'static str,
    since: &'static str,
    group: &'static str,
    subcommands: &'static [CommandSpec],
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys: KeySpec::NONE,
        local,
        spread: None,
        summary,
        since,
        group,
        subcommands,
    }
}

/// `local` of containers that always need a subcommand; the table's arity check answers first.
fn needs_subcommand(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    Err(CmdError::WrongArity(
        String::from_utf8_lossy(&args[0]).to_ascii_lowercase(),
    ))
}

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "ping",
        -1,
        FAST | SENTINEL,
        ping::local,
        None,
        "Returns the server's liveliness response.",
        "1.0.0",
        "connection",
    ),
    spec(
        "echo",
        2,
        LOADING | STALE | FAST,
        echo::local,
        None,
        "Returns the given string.",
        "1.0.0",
        "connection",
    ),
    spec(
        "select",
        2,
        LOADING | STALE | FAST,
        select::local,
        None,
        "Changes the selected database.",
        "1.0.0",
        "connection",
    ),
    spec(
        "quit",
        -1,
        NO_AUTH | LOADING | STALE | FAST | ALLOW_BUSY | NOSCRIPT,
        quit::local,
        None,
        "Closes the connection.",
        "1.0.0",
        "connection",
    ),
    spec(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
        hello::local,
        None,
        "Handshakes with the Redis server.",
        "6.0.0",
        "connection",
    ),
    spec(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
        auth::local,
        None,
        "Authenticates the connection.",
        "1.0.0",
        "connection",
    ),
    spec(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        reset::local,
        None,
        "Resets the connection.",
        "6.2.0",
        "connection",
    ),
    container(
        "client",
        -2,
        SENTINEL,
        needs_subcommand,
        "A container for client connection commands.",
        "2.4.0",
        "connection",
        client::SUBCOMMANDS,
    ),
    container(
        "command",
        -1,
        LOADING | STALE | SENTINEL,
        command::bare,
        "Returns detailed information about all commands.",
        "2.8.13",
        "server",
        command::SUBCOMMANDS,
    ),
    container(
        "config",
        -2,
        0,
        needs_subcommand,
        "A container for server configuration commands.",
        "2.0.0",
        "server",
        config::SUBCOMMANDS,
    ),
    spec(
        "info",
        -1,
        LOADING | STALE | SENTINEL | NODE_WIDE,
        info::local,
        Some(info::spread),
        "Returns information and statistics about the server.",
        "1.0.0",
        "server",
    ),
    container(
        "slowlog",
        -2,
        0,
        needs_subcommand,
        "A container for slow log commands.",
        "2.2.12",
        "server",
        slowlog::SUBCOMMANDS,
    ),
    spec(
        "time",
        1,
        LOADING | STALE | FAST,
        time::local,
        None,
        "Returns the server time.",
        "2.6.0",
        "server",
    ),
    spec(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        lastsave::local,
        None,
        "Returns the Unix timestamp of the last successful save to disk.",
        "1.0.0",
        "server",
    ),
    spec(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | SENTINEL | ALLOW_BUSY,
        shutdown::local,
        None,
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        "1.0.0",
        "server",
    ),
    spec(
        "wait",
        3,
        NOSCRIPT,
        wait::local,
        None,
        "Blocks until the asynchronous replication of all preceding write commands sent by the connection \
         is completed.",
        "3.0.0",
        "generic",
    ),
    spec(
        "readonly",
        1,
        FAST | LOADING | STALE,
        readonly::readonly,
        None,
        "Enables read-only queries for a connection to a Redis Cluster replica node.",
        "3.0.0",
        "cluster",
    ),
    spec(
        "readwrite",
        1,
        FAST | LOADING | STALE,
        readonly::readwrite,
        None,
        "Enables read-write queries for a connection to a Redis Cluster replica node.",
        "3.0.0",
        "cluster",
    ),
];

/// A subcommand HELP reply as Redis's `addReplyHelp` builds it: a header, the lines, and the HELP entry.
fn help_reply(container: &str, lines: &[&'static str]) -> Reply {
    let mut out = Vec::with_capacity(lines.len() + 3);
    out.push(Reply::SimpleOwned(Bytes::from(format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        container.to_ascii_uppercase()
    ))));
    out.extend(lines.iter().map(|l| Reply::Simple(l)));
    out.push(Reply::Simple("HELP"));
    out.push(Reply::Simple("    Prints this help."));
    Reply::Array(out)
}

/// The id of the connection being dispatched on this core, for a `spread` to call while dispatch still
/// runs (before its future is first polled). Dispatch runs synchronously with the caller's `RefCell`
/// mutably borrowed, and nothing else holds a connection's state across that call (the core is one
/// thread), so the caller is the one connection whose state cannot be borrowed now.
fn caller_during_dispatch(shard: &Shard) -> Option<u64> {
    shard
        .clients
        .borrow()
        .clients
        .iter()
        .find(|(_, c)| c.try_borrow_mut().is_err())
        .map(|(id, _)| *id)
}

/// Runs `f` on every live connection of this core, in id order. `caller` is the connection being served, when
/// this runs inside its dispatch (one-core `local`): its state is borrowed there and reached through it.
fn for_each_client(
    shard: &Rc<Shard>,
    mut caller: Option<&mut ClientState>,
    mut f: impl FnMut(&mut ClientState),
) {
    let mut clients: Vec<_> = shard
        .clients
        .borrow()
        .clients
        .iter()
        .map(|(id, c)| (*id, c.clone()))
        .collect();
    clients.sort_unstable_by_key(|(id, _)| *id);
    for (id, c) in clients {
        match c.try_borrow_mut() {
            // A killed connection is gone as far as clients can tell; its task is ending.
            Ok(state) if state.killed.get() => {}
            Ok(mut state) => f(&mut state),
            Err(_) => {
                if let Some(me) = caller.as_deref_mut().filter(|me| me.id == id) {
                    f(me);
                }
            }
        }
    }
}

/// Lossy text of an argument for error messages.
fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

/// Formats a byte count as Redis's `bytesToHuman` does ("1.50M").
fn bytes_to_human(n: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 10, "K"),
        (1 << 20, "M"),
        (1 << 30, "G"),
        (1 << 40, "T"),
        (1 << 50, "P"),
    ];
    if n < 1024 {
        return format!("{n}B");
    }
    for (i, (div, unit)) in UNITS.iter().enumerate() {
        let next = UNITS.get(i + 1).map(|(d, _)| *d).unwrap_or(u64::MAX);
        if n < next {
            return format!("{:.2}{unit}", n as f64 / *div as f64);
        }
    }
    format!("{n}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_like_redis() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1024), "1.00K");
        assert_eq!(bytes_to_human(1536 * 1024), "1.50M");
        assert_eq!(bytes_to_human(3 << 30), "3.00G");
    }

    #[test]
    fn help_has_header_and_footer() {
        let Reply::Array(lines) = help_reply("config", &["GET <pattern>"]) else {
            panic!()
        };
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            Reply::SimpleOwned(Bytes::from_static(
                b"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
            ))
        );
        assert_eq!(lines[3], Reply::Simple("    Prints this help."));
    }
}

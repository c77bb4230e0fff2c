//! Connection and server commands: keyless; they run on the connection's core, and node-wide ones
//! (DBSIZE, INFO, FLUSHALL, ...) spread to every core.

mod echo;
mod ping;
mod quit;
mod select;

use super::{flags::*, CommandSpec, KeySpec};

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
    CommandSpec {
        name,
        arity,
        flags,
        keys: KeySpec::NONE,
        local,
        spread,
        summary,
        since,
        group,
        subcommands: &[],
    }
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
        FAST,
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
        NO_AUTH | LOADING | STALE | FAST | ALLOW_BUSY,
        quit::local,
        None,
        "Closes the connection.",
        "1.0.0",
        "connection",
    ),
];

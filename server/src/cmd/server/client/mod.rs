//! CLIENT subcommands: the connection's own attributes (ID, SETNAME, REPLY, ...) run on its core;
//! LIST and KILL reach every core's connections (see the family docs for how).
//!
//! Not supported, because slotkv has no such machinery: PAUSE (an error: pretending to pause would let a
//! failover script believe writes had stopped), TRACKING ON (client-side caching invalidation; an error).
//! Harmless forms answer as an idle Redis does: UNPAUSE (+OK), TRACKING OFF (+OK), TRACKINGINFO (off),
//! GETREDIR (-1), CACHING (Redis's "not in tracking mode" error). UNBLOCK reaches a blocked client on
//! whichever core it waits.

mod attrs;
mod kill;
mod list;
mod modes;
mod unblock;
mod unsupported;

use super::spec;
use crate::cmd::flags::*;
use crate::cmd::CommandSpec;

/// Whether a client name or library attribute is acceptable: printable ASCII without spaces (so CLIENT
/// LIST lines stay splittable); empty is allowed (it clears the attribute).
pub fn valid_client_attr(v: &[u8]) -> bool {
    v.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

const CONN: u32 = NOSCRIPT | LOADING | STALE | SENTINEL;

pub static SUBCOMMANDS: &[CommandSpec] = &[
    spec(
        "id",
        2,
        CONN,
        attrs::id,
        None,
        "Returns the unique client ID of the connection.",
        "5.0.0",
        "connection",
    ),
    spec(
        "setname",
        3,
        CONN,
        attrs::setname,
        None,
        "Sets the connection name.",
        "2.6.9",
        "connection",
    ),
    spec(
        "getname",
        2,
        CONN,
        attrs::getname,
        None,
        "Returns the name of the connection.",
        "2.6.9",
        "connection",
    ),
    spec(
        "setinfo",
        4,
        CONN,
        attrs::setinfo,
        None,
        "Sets information specific to the client or connection.",
        "7.2.0",
        "connection",
    ),
    spec(
        "info",
        2,
        CONN,
        list::info,
        None,
        "Returns information about the connection.",
        "6.2.0",
        "connection",
    ),
    spec(
        "list",
        -2,
        ADMIN | CONN | NODE_WIDE,
        list::local,
        Some(list::spread),
        "Lists open connections.",
        "2.4.0",
        "connection",
    ),
    spec(
        "kill",
        -3,
        ADMIN | CONN | NODE_WIDE,
        kill::local,
        Some(kill::spread),
        "Terminates open connections.",
        "2.4.0",
        "connection",
    ),
    spec(
        "reply",
        3,
        CONN,
        modes::reply,
        None,
        "Instructs the server whether to reply to commands.",
        "3.2.0",
        "connection",
    ),
    spec(
        "no-evict",
        3,
        ADMIN | CONN,
        modes::no_evict,
        None,
        "Sets the client eviction mode of the connection.",
        "7.0.0",
        "connection",
    ),
    spec(
        "no-touch",
        3,
        NOSCRIPT | LOADING | STALE,
        modes::no_touch,
        None,
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
        "7.2.0",
        "connection",
    ),
    spec(
        "pause",
        -3,
        ADMIN | CONN,
        unsupported::pause,
        None,
        "Suspends commands processing.",
        "3.0.0",
        "connection",
    ),
    spec(
        "unpause",
        2,
        ADMIN | CONN,
        unsupported::unpause,
        None,
        "Resumes processing commands from paused clients.",
        "6.2.0",
        "connection",
    ),
    spec(
        "tracking",
        -3,
        CONN | NODE_WIDE,
        unsupported::tracking,
        Some(unsupported::tracking_spread),
        "Controls server-assisted client-side caching for the connection.",
        "6.0.0",
        "connection",
    ),
    spec(
        "trackinginfo",
        2,
        CONN,
        unsupported::trackinginfo,
        None,
        "Returns information about server-assisted client-side caching for the connection.",
        "6.2.0",
        "connection",
    ),
    spec(
        "getredir",
        2,
        CONN,
        unsupported::getredir,
        None,
        "Returns the client ID to which the connection's tracking notifications are redirected.",
        "6.0.0",
        "connection",
    ),
    spec(
        "caching",
        3,
        CONN,
        unsupported::caching,
        None,
        "Instructs the server whether to track the keys in the next request.",
        "6.0.0",
        "connection",
    ),
    spec(
        "unblock",
        -3,
        ADMIN | CONN | NODE_WIDE,
        unblock::local,
        Some(unblock::spread),
        "Unblocks a client blocked by a blocking command from a different connection.",
        "5.0.0",
        "connection",
    ),
    spec(
        "help",
        2,
        LOADING | STALE | SENTINEL,
        attrs::help,
        None,
        "Returns helpful text about the different subcommands.",
        "5.0.0",
        "connection",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_attrs() {
        assert!(valid_client_attr(b""));
        assert!(valid_client_attr(b"my-app_1.0"));
        assert!(!valid_client_attr(b"a b"));
        assert!(!valid_client_attr(b"a\nb"));
        assert!(!valid_client_attr("é".as_bytes()));
    }
}

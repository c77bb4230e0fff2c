//! Pub/Sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and PUBSUB.
//!
//! Subscriptions belong to the connection's core ([`crate::shard::pubsub`]); the (un)subscribe commands
//! are keyless and always run there, with the connection's state. PUBLISH and the PUBSUB counters are
//! node-wide: on several cores they run on every core and merge (a PUBLISH reply is the sum of what each
//! core delivered). PUBLISH is a barrier for its connection, so the next request of the publisher starts
//! after every core has the message: one publisher's messages reach one subscriber in order.
//!
//! Reply shapes follow Redis 7. A (un)subscribe answers with one confirmation per channel or pattern,
//! each a separate frame (`[subscribe, channel, count]`, a push in RESP3): the command returns them as
//! [`Reply::Frames`], written one after the other (inside EXEC's array too, which counts one element per
//! command however many frames it holds, as Redis's does); they are sent even under CLIENT REPLY OFF, as
//! Redis 7 sends confirmations and messages. A RESP2 connection with a
//! subscription may only (un)subscribe, PING (answered `[pong, msg]`), QUIT and RESET
//! ([`not_allowed_when_subscribed`]); a RESP3 one may run anything, messages arriving as push frames.

mod channels;
mod numpat;
mod numsub;
mod psubscribe;
mod publish;
mod punsubscribe;
mod subscribe;
mod unsubscribe;

use bytes::Bytes;
use resp::Reply;

use super::{flags::*, table, CmdError, CommandSpec, Ctx, KeySpec};
use crate::shard::pubsub::{Kind, Subscriptions};

super::family_spec!("pubsub");

static PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    spec(
        "channels",
        -2,
        PUBSUB | LOADING | STALE | NODE_WIDE,
        KeySpec::NONE,
        channels::local,
        Some(channels::spread),
        "Returns the active channels.",
        "2.8.0",
    ),
    spec(
        "numsub",
        -2,
        PUBSUB | LOADING | STALE | NODE_WIDE,
        KeySpec::NONE,
        numsub::local,
        Some(numsub::spread),
        "Returns a count of subscribers to channels.",
        "2.8.0",
    ),
    spec(
        "numpat",
        2,
        PUBSUB | LOADING | STALE | NODE_WIDE,
        KeySpec::NONE,
        numpat::local,
        Some(numpat::spread),
        "Returns a count of unique pattern subscriptions.",
        "2.8.0",
    ),
    spec(
        "shardchannels",
        -2,
        PUBSUB | LOADING | STALE,
        KeySpec::NONE,
        channels::shard_local,
        None,
        "Returns the active shard channels.",
        "7.0.0",
    ),
    spec(
        "shardnumsub",
        -2,
        PUBSUB | LOADING | STALE,
        KeySpec::NONE,
        numsub::shard_local,
        None,
        "Returns the count of subscribers of shard channels.",
        "7.0.0",
    ),
    spec(
        "help",
        2,
        LOADING | STALE,
        KeySpec::NONE,
        help,
        None,
        "Returns helpful text about the different subcommands.",
        "6.2.0",
    ),
];

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "subscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        KeySpec::NONE,
        subscribe::local,
        None,
        "Listens for messages published to channels.",
        "2.0.0",
    ),
    spec(
        "unsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        KeySpec::NONE,
        unsubscribe::local,
        None,
        "Stops listening to messages posted to channels.",
        "2.0.0",
    ),
    spec(
        "psubscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        KeySpec::NONE,
        psubscribe::local,
        None,
        "Listens for messages published to channels that match one or more patterns.",
        "2.0.0",
    ),
    spec(
        "punsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        KeySpec::NONE,
        punsubscribe::local,
        None,
        "Stops listening to messages published to channels that match one or more patterns.",
        "2.0.0",
    ),
    spec(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE | NODE_WIDE,
        KeySpec::NONE,
        publish::local,
        Some(publish::spread),
        "Posts a message to a channel.",
        "2.0.0",
    ),
    CommandSpec {
        name: "pubsub",
        arity: -2,
        flags: 0,
        keys: KeySpec::NONE,
        local: needs_subcommand,
        spread: None,
        summary: "A container for Pub/Sub commands.",
        since: "2.8.0",
        group: "pubsub",
        subcommands: PUBSUB_SUBCOMMANDS,
    },
];

/// The commands a RESP2 connection in Pub/Sub mode may run.
const ALLOWED_WHEN_SUBSCRIBED: &[&str] = &[
    "subscribe",
    "unsubscribe",
    "psubscribe",
    "punsubscribe",
    "ssubscribe",
    "sunsubscribe",
    "ping",
    "quit",
    "reset",
];

/// The error a RESP2 connection in Pub/Sub mode gets for any other command; `spec` is what `args`
/// resolved to (a subcommand's spec for containers). A rejection like the dispatcher's others (an EXEC
/// so refused answers EXECABORT).
pub fn not_allowed_when_subscribed(spec: &CommandSpec, args: &[Bytes]) -> Option<CmdError> {
    let top = table::lookup(&args[0])?;
    let full = if std::ptr::eq(top, spec) {
        if ALLOWED_WHEN_SUBSCRIBED.contains(&spec.name) {
            return None;
        }
        spec.name.to_string()
    } else {
        format!("{}|{}", top.name, spec.name)
    };
    Some(CmdError::msg(format!(
        "ERR Can't execute '{full}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are \
         allowed in this context"
    )))
}

/// `[kind, name, count]`: one (un)subscribe confirmation; a push frame in RESP3.
fn confirmation(kind: &'static str, name: Option<Bytes>, count: usize) -> Reply {
    Reply::Push(vec![
        Reply::Bulk(Bytes::from_static(kind.as_bytes())),
        name.map_or(Reply::Null, Reply::Bulk),
        Reply::Integer(count as i64),
    ])
}

/// SUBSCRIBE / PSUBSCRIBE: subscribes the connection to each name, confirming each.
fn subscribe_to(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind) -> Result<Reply, CmdError> {
    let shard = ctx.shard.clone();
    let c = ctx.client();
    let (id, fd, killed) = (c.id, c.fd, c.killed.clone());
    let subs = c
        .pubsub
        .get_or_insert_with(|| Box::new(Subscriptions::new(id, fd, killed)));
    let mut registry = shard.pubsub.borrow_mut();
    let label = match kind {
        Kind::Channel => "subscribe",
        Kind::Pattern => "psubscribe",
    };
    let frames = args[1..]
        .iter()
        .map(|name| {
            registry.subscribe(subs, kind, name);
            confirmation(label, Some(name.clone()), subs.count())
        })
        .collect();
    Ok(Reply::Frames(frames))
}

/// UNSUBSCRIBE / PUNSUBSCRIBE: from each name given, or from every channel (pattern) when none is.
fn unsubscribe_from(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind) -> Result<Reply, CmdError> {
    let shard = ctx.shard.clone();
    let label = match kind {
        Kind::Channel => "unsubscribe",
        Kind::Pattern => "punsubscribe",
    };
    let Some(subs) = ctx.client().pubsub.as_deref_mut() else {
        let frames = if args.len() == 1 {
            vec![confirmation(label, None, 0)]
        } else {
            args[1..]
                .iter()
                .map(|name| confirmation(label, Some(name.clone()), 0))
                .collect()
        };
        return Ok(Reply::Frames(frames));
    };
    let names: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        match kind {
            Kind::Channel => subs.channels.iter().cloned().collect(),
            Kind::Pattern => subs.patterns.iter().cloned().collect(),
        }
    };
    if names.is_empty() {
        return Ok(Reply::Frames(vec![confirmation(label, None, subs.count())]));
    }
    let mut registry = shard.pubsub.borrow_mut();
    let frames = names
        .into_iter()
        .map(|name| {
            registry.unsubscribe(subs, kind, &name);
            confirmation(label, Some(name), subs.count())
        })
        .collect();
    Ok(Reply::Frames(frames))
}

/// RESET and disconnect: every subscription of the connection goes, without confirmations.
pub fn forget(shard: &crate::shard::Shard, client: &mut crate::net::client::ClientState) {
    if let Some(subs) = client.pubsub.as_deref_mut() {
        shard.pubsub.borrow_mut().forget(subs);
    }
}

/// `local` of the bare container; the table's arity check answers first.
fn needs_subcommand(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Err(CmdError::WrongArity("pubsub".into()))
}

/// PUBSUB HELP, as Redis 7 words it.
fn help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    const LINES: &[&str] = &[
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    ];
    Ok(Reply::Array(
        LINES.iter().map(|l| Reply::Simple(l)).collect(),
    ))
}

/// Redis's reply to a PUBSUB subcommand given too many arguments (it names the subcommand as typed, as
/// a C string).
fn subcommand_syntax_error(args: &[Bytes]) -> CmdError {
    let mut line = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
    line.extend_from_slice(table::c_str(&args[1], 128));
    line.extend_from_slice(b"'. Try PUBSUB HELP.");
    CmdError::Echo(line.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<Bytes> {
        list.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    fn check(list: &[&str]) -> Option<String> {
        let a = args(list);
        let spec = table::resolve(&a).unwrap();
        not_allowed_when_subscribed(spec, &a).map(|e| e.to_string())
    }

    #[test]
    fn subscribed_mode_names_the_command_like_redis() {
        assert_eq!(check(&["PING"]), None);
        assert_eq!(check(&["Subscribe", "a"]), None);
        assert_eq!(check(&["reset"]), None);
        assert_eq!(
            check(&["GET", "x"]).unwrap(),
            "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are \
             allowed in this context"
        );
        // A subcommand named like an allowed command is still a subcommand.
        assert!(check(&["SLOWLOG", "RESET"])
            .unwrap()
            .contains("'slowlog|reset'"));
        assert!(check(&["pubsub", "numpat"])
            .unwrap()
            .contains("'pubsub|numpat'"));
    }
}

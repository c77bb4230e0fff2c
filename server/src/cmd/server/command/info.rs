//! COMMAND INFO [name ...], and the per-command description COMMAND (bare) also uses: Redis 7's ten fields
//! (name, arity, flags, first key, last key, step, ACL categories, tips, key specs, subcommands).

use bytes::Bytes;
use resp::Reply;

use super::{lookup_full, Described};
use crate::cmd::flags::{self, NAMES};
use crate::cmd::{table, CmdError, Ctx};

pub fn local(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    if args.len() == 2 {
        return Ok(Reply::Array(
            table::all().map(|s| describe(Described::top(s))).collect(),
        ));
    }
    Ok(Reply::Array(
        args[2..]
            .iter()
            .map(|name| lookup_full(name).map(describe).unwrap_or(Reply::Null))
            .collect(),
    ))
}

/// One command's COMMAND INFO entry.
pub fn describe(d: Described) -> Reply {
    let spec = d.spec;
    let flags = flag_names(d).into_iter().map(Reply::Simple).collect();
    // Redis's legacy triple comes from its first plain range key spec; a command whose keys are all
    // counted (LMPOP, ZUNION, ...) has none and reports 0 0 0.
    let k = spec.keys;
    let (first, last, step) = if k.first == 0 {
        (0, 0, 0)
    } else {
        (k.first, k.last, k.step)
    };
    let subcommands = if spec.subcommands.is_empty() {
        Reply::Set(Vec::new())
    } else {
        Reply::Array(d.subcommands().map(describe).collect())
    };
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(d.full_name())),
        Reply::Integer(spec.arity as i64),
        Reply::Set(flags),
        Reply::Integer(first as i64),
        Reply::Integer(last as i64),
        Reply::Integer(step as i64),
        Reply::Set(categories(d).into_iter().map(Reply::Simple).collect()),
        Reply::Set(Vec::new()),
        Reply::Set(super::keyspecs::key_specs(d)),
        subcommands,
    ])
}

/// COMMAND's flags in Redis's order: the spec's (Redis hides may_replicate, and sentinel, which NAMES
/// leaves out), then the two Redis derives — `no_multi` (MULTI refuses the command) and `movablekeys`
/// (keys counted by an argument: the legacy triple cannot say where they are) — before `allow_busy`.
pub fn flag_names(d: Described) -> Vec<&'static str> {
    let spec = d.spec;
    let mut out: Vec<&'static str> = NAMES
        .iter()
        .filter(|(f, _)| spec.has(*f) && *f != flags::MAY_REPLICATE && *f != flags::ALLOW_BUSY)
        .map(|(_, name)| *name)
        .collect();
    if d.parent.is_none() && crate::cmd::tx::refused_in_multi(spec) {
        out.push("no_multi");
    }
    if spec.keys.numkeys != 0 {
        out.push("movablekeys");
    }
    if spec.has(flags::ALLOW_BUSY) {
        out.push("allow_busy");
    }
    out
}

/// Categories Redis declares for these commands (and a container's subcommands) where the group's would
/// be wrong or incomplete; they replace the group's category. Categories implied by flags are added
/// anyway.
const DECLARED: &[(&str, &[&str])] = &[
    ("command", &["@connection"]),
    ("dbsize", &["@keyspace"]),
    ("flushall", &["@keyspace", "@dangerous"]),
    ("flushdb", &["@keyspace", "@dangerous"]),
    ("info", &["@dangerous"]),
    ("keys", &["@keyspace", "@dangerous"]),
    ("lastsave", &["@admin", "@dangerous"]),
    ("readonly", &["@connection"]),
    ("readwrite", &["@connection"]),
    ("wait", &["@connection"]),
];

/// ACL categories in Redis's order, derived from the group and the flags (see the module docs).
pub fn categories(d: Described) -> Vec<&'static str> {
    const ORDER: [&str; 21] = [
        "@keyspace",
        "@read",
        "@write",
        "@set",
        "@sortedset",
        "@list",
        "@hash",
        "@string",
        "@bitmap",
        "@hyperloglog",
        "@geo",
        "@stream",
        "@pubsub",
        "@admin",
        "@fast",
        "@slow",
        "@blocking",
        "@dangerous",
        "@connection",
        "@transaction",
        "@scripting",
    ];
    let spec = d.spec;
    let mut have: Vec<&'static str> = Vec::new();
    let declared = DECLARED
        .iter()
        .find(|(name, _)| *name == d.parent.unwrap_or(spec).name)
        .map(|(_, cats)| *cats);
    let by_group = match d.group() {
        _ if declared.is_some() => None,
        // Redis's containers (CLIENT, CONFIG, OBJECT, ...) carry no category of their own.
        _ if !spec.subcommands.is_empty() => None,
        "generic" => Some("@keyspace"),
        "string" => Some("@string"),
        "list" => Some("@list"),
        "hash" => Some("@hash"),
        "set" => Some("@set"),
        "sorted-set" | "sorted_set" | "zset" => Some("@sortedset"),
        "bitmap" => Some("@bitmap"),
        "hyperloglog" => Some("@hyperloglog"),
        "geo" => Some("@geo"),
        "stream" => Some("@stream"),
        "transactions" => Some("@transaction"),
        "scripting" => Some("@scripting"),
        "connection" => Some("@connection"),
        _ => None,
    };
    have.extend(by_group);
    have.extend(declared.unwrap_or_default());
    if spec.has(flags::WRITE) {
        have.push("@write");
    }
    if spec.has(flags::READONLY) && !have.contains(&"@scripting") {
        have.push("@read");
    }
    if spec.has(flags::ADMIN) {
        have.extend(["@admin", "@dangerous"]);
    }
    if spec.has(flags::PUBSUB) {
        have.push("@pubsub");
    }
    if spec.has(flags::BLOCKING) {
        have.push("@blocking");
    }
    have.push(if spec.has(flags::FAST) {
        "@fast"
    } else {
        "@slow"
    });
    ORDER.into_iter().filter(|c| have.contains(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_is_read_string_fast() {
        let d = lookup_full(b"get").unwrap();
        assert_eq!(categories(d), vec!["@read", "@string", "@fast"]);
        let d = lookup_full(b"config").unwrap();
        assert_eq!(categories(d), vec!["@slow"]);
        let d = lookup_full(b"config|set").unwrap();
        assert_eq!(categories(d), vec!["@admin", "@slow", "@dangerous"]);
    }

    #[test]
    fn derived_flags_and_categories() {
        let d = lookup_full(b"blmpop").unwrap();
        assert_eq!(flag_names(d), vec!["write", "blocking", "movablekeys"]);
        assert_eq!(categories(d), vec!["@write", "@list", "@slow", "@blocking"]);
        let d = lookup_full(b"shutdown").unwrap();
        assert_eq!(flag_names(d).last(), Some(&"allow_busy"));
        assert!(flag_names(d).contains(&"no_multi"));
        assert_eq!(
            categories(lookup_full(b"command|info").unwrap()),
            vec!["@slow", "@connection"]
        );
        assert_eq!(categories(lookup_full(b"object").unwrap()), vec!["@slow"]);
    }
}

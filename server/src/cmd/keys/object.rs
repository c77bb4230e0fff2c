//! OBJECT ENCODING | FREQ | IDLETIME | REFCOUNT key, and OBJECT HELP.
//!
//! Redis answers these from its in-memory object; slotkv has no such object, so each answer is chosen to
//! be what a client would expect from Redis for a value of the same shape, and never invented detail:
//!
//! * ENCODING. Strings by value shape, as Redis's `tryObjectEncoding` picks: `int` for a strict base-10
//!   64-bit integer of at most 20 characters, else `embstr` up to 44 bytes, else `raw`. (Redis keeps a
//!   string written by APPEND or SETRANGE `raw` whatever its shape; slotkv stores every string the same
//!   way and answers by shape.) Collections: slotkv has no compact small-collection form (no listpack or
//!   intset) — every hash, list, set and sorted set is a metadata record plus one record per member — so
//!   each type answers the name of Redis's general-purpose encoding, the one Redis reports for a large
//!   collection: `hashtable` (hash), `quicklist` (list), `hashtable` (set), `skiplist` (sorted set).
//! * FREQ. Redis tracks access frequency only under an LFU maxmemory policy; slotkv's policy is always
//!   `noeviction`, so an existing key gets Redis's error for that case (a missing key: nil, checked first).
//! * IDLETIME. Access times are not tracked (recording one would turn every read into a write): always 0,
//!   as if the key had just been used. Redis answers in seconds, so 0 is also its answer for a key used
//!   within the last second.
//! * REFCOUNT. Values are never shared between keys, so 1 — except where Redis shares: with maxmemory 0
//!   Redis stores the integers 0..=9999 as shared objects whose count is `INT_MAX` (2147483647), and that
//!   is the answer for a string of such a value here too, as for `int` above.
//!
//! Lookups count keyspace hits and misses like Redis's (which reads without touching the key).

use bytes::Bytes;
use resp::Reply;

use crate::cmd::args::parse_i64_opt;
use crate::cmd::flags::{LOADING, READONLY, STALE};
use crate::cmd::{CmdError, CommandSpec, Ctx, KeySpec};
use crate::storage::record::{Record, ValueType};

/// Redis's `OBJ_ENCODING_EMBSTR_SIZE_LIMIT`.
const EMBSTR_LIMIT: usize = 44;
/// Redis's `OBJ_SHARED_INTEGERS`: integers below it are shared objects.
const SHARED_INTEGERS: i64 = 10_000;
/// Redis's `OBJ_SHARED_REFCOUNT` (`INT_MAX`).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;

const KEY: KeySpec = KeySpec::range(2, 2, 1);

const fn sub(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: KeySpec,
    local: crate::cmd::LocalFn,
    summary: &'static str,
    since: &'static str,
) -> CommandSpec {
    CommandSpec::new(
        "generic", name, arity, flags, keys, local, None, summary, since,
    )
}

static SUBCOMMANDS: &[CommandSpec] = &[
    sub(
        "encoding",
        3,
        READONLY,
        KEY,
        encoding,
        "Inspect the internal encoding of a Redis object",
        "2.2.3",
    ),
    sub(
        "freq",
        3,
        READONLY,
        KEY,
        freq,
        "Get the logarithmic access frequency counter of a Redis object",
        "4.0.0",
    ),
    sub(
        "help",
        2,
        LOADING | STALE,
        KeySpec::NONE,
        help,
        "Show helpful text about the different subcommands",
        "6.2.0",
    ),
    sub(
        "idletime",
        3,
        READONLY,
        KEY,
        idletime,
        "Get the time since a Redis object was last accessed",
        "2.2.3",
    ),
    sub(
        "refcount",
        3,
        READONLY,
        KEY,
        refcount,
        "Get the number of references to the value of the key",
        "2.2.3",
    ),
];

/// The OBJECT container, for the keyspace family's table.
pub const COMMAND: CommandSpec = CommandSpec {
    name: "object",
    arity: -2,
    flags: 0,
    keys: KeySpec::NONE,
    local: needs_subcommand,
    spread: None,
    summary: "A container for object introspection commands",
    since: "2.2.3",
    group: "generic",
    subcommands: SUBCOMMANDS,
};

/// Never runs: the table answers a bare OBJECT with the arity error.
fn needs_subcommand(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Err(CmdError::WrongArity("object".to_string()))
}

/// The live record of the key argument, counting a keyspace hit or miss.
fn lookup(ctx: &Ctx<'_>, args: &[Bytes]) -> Result<Option<Record>, CmdError> {
    let rec = ctx.get(&args[2])?;
    ctx.shard.stats.hit(rec.is_some());
    Ok(rec)
}

/// The string value as Redis would hold it: a (possibly shared) integer, or neither.
fn as_integer(rec: &Record) -> Option<i64> {
    if rec.vtype != ValueType::String || rec.payload.len() > 20 {
        return None;
    }
    parse_i64_opt(&rec.payload)
}

/// The encoding name OBJECT ENCODING reports for a record (see the module doc).
pub fn encoding_of(rec: &Record) -> &'static str {
    match rec.vtype {
        ValueType::String if as_integer(rec).is_some() => "int",
        ValueType::String if rec.payload.len() <= EMBSTR_LIMIT => "embstr",
        ValueType::String => "raw",
        ValueType::Hash | ValueType::Set => "hashtable",
        ValueType::List => "quicklist",
        ValueType::ZSet => "skiplist",
    }
}

fn encoding(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    Ok(match lookup(ctx, args)? {
        Some(rec) => Reply::Bulk(Bytes::from_static(encoding_of(&rec).as_bytes())),
        None => Reply::Null,
    })
}

fn freq(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    match lookup(ctx, args)? {
        Some(_) => Err(CmdError::msg(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note \
             that when switching between policies at runtime LRU and LFU data will take some time to \
             adjust.",
        )),
        None => Ok(Reply::Null),
    }
}

fn idletime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    Ok(match lookup(ctx, args)? {
        Some(_) => Reply::Integer(0),
        None => Reply::Null,
    })
}

fn refcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    Ok(match lookup(ctx, args)? {
        Some(rec) => match as_integer(&rec) {
            Some(n) if (0..SHARED_INTEGERS).contains(&n) => Reply::Integer(SHARED_REFCOUNT),
            _ => Reply::Integer(1),
        },
        None => Reply::Null,
    })
}

/// Redis's help text, framed as every container's HELP is (`addReplyHelp`).
fn help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    const LINES: &[&str] = &[
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ];
    Ok(Reply::Array(
        LINES.iter().copied().map(Reply::Simple).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(v: &str) -> Record {
        Record::string(Bytes::copy_from_slice(v.as_bytes()), 0, 0)
    }

    #[test]
    fn string_encodings_follow_value_shape() {
        assert_eq!(encoding_of(&string("100")), "int");
        assert_eq!(encoding_of(&string("-5")), "int");
        assert_eq!(encoding_of(&string("9223372036854775807")), "int");
        assert_eq!(encoding_of(&string("99999999999999999999")), "embstr");
        assert_eq!(encoding_of(&string("01")), "embstr");
        assert_eq!(encoding_of(&string("")), "embstr");
        assert_eq!(encoding_of(&string(&"a".repeat(44))), "embstr");
        assert_eq!(encoding_of(&string(&"a".repeat(45))), "raw");
    }
}

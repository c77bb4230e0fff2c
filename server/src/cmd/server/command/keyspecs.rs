//! Redis 7 key specs (COMMAND INFO's ninth field, COMMAND GETKEYSANDFLAGS): where a command's keys are and
//! what it does with each.
//!
//! Where the keys are comes from the spec's [`crate::cmd::KeySpec`], the one the server routes by: a range
//! (begin_search index, find_keys range) and/or a key count (find_keys keynum). What is done with them is
//! Redis's own declaration, copied from redis-server 7.0.15's COMMAND INFO into [`DECLARED`] for every
//! command where it differs from the default: `RW update` for writes, `RO access` for reads. Redis splits
//! a command's keys into two specs when the first key is used differently from the others (LMOVE's source
//! is `RW access delete`, its destination `RW insert`; a STORE's destination `OW update`, its sources `RO
//! access`): [`Access::FirstRest`], listed as two specs.

use bytes::Bytes;
use resp::Reply;

use super::Described;
use crate::cmd::flags;

type Flags = &'static [&'static str];

/// What a command does with its keys.
#[derive(Clone, Copy)]
enum Access {
    /// The same flags for every key.
    All(Flags),
    /// The first key's flags, then the other keys' (two key specs).
    FirstRest(Flags, Flags),
}

use Access::{All, FirstRest};

const RO: Flags = &["RO"];
const RO_ACCESS: Flags = &["RO", "access"];
const RW_UPDATE: Flags = &["RW", "update"];
const RW_INSERT: Flags = &["RW", "insert"];
const RW_DELETE: Flags = &["RW", "delete"];
const RW_ACCESS_UPDATE: Flags = &["RW", "access", "update"];
const RW_ACCESS_DELETE: Flags = &["RW", "access", "delete"];
const OW_UPDATE: Flags = &["OW", "update"];
const OW_INSERT: Flags = &["OW", "insert"];
const RM_DELETE: Flags = &["RM", "delete"];

/// Redis's key-spec flags where they differ from the default (`name` or `container|subcommand`).
const DECLARED: &[(&str, Access)] = &[
    // Strings.
    ("append", All(RW_INSERT)),
    ("decr", All(RW_ACCESS_UPDATE)),
    ("decrby", All(RW_ACCESS_UPDATE)),
    ("getdel", All(RW_ACCESS_DELETE)),
    ("getex", All(RW_ACCESS_UPDATE)),
    ("getset", All(RW_ACCESS_UPDATE)),
    ("incr", All(RW_ACCESS_UPDATE)),
    ("incrby", All(RW_ACCESS_UPDATE)),
    ("incrbyfloat", All(RW_ACCESS_UPDATE)),
    ("mset", All(OW_UPDATE)),
    ("msetnx", All(OW_INSERT)),
    ("psetex", All(OW_UPDATE)),
    // SET's flags depend on GET: see `SET_WITHOUT_GET`.
    ("set", All(&["RW", "access", "update", "variable_flags"])),
    ("setex", All(OW_UPDATE)),
    ("setnx", All(OW_INSERT)),
    ("strlen", All(RO)),
    // Keyspace.
    ("copy", FirstRest(RO_ACCESS, OW_UPDATE)),
    ("del", All(RM_DELETE)),
    ("exists", All(RO)),
    ("object|encoding", All(RO)),
    ("object|freq", All(RO)),
    ("object|idletime", All(RO)),
    ("object|refcount", All(RO)),
    ("rename", FirstRest(RW_ACCESS_DELETE, OW_UPDATE)),
    ("renamenx", FirstRest(RW_ACCESS_DELETE, OW_INSERT)),
    ("touch", All(RO)),
    ("type", All(RO)),
    ("unlink", All(RM_DELETE)),
    // Hashes.
    ("hdel", All(RW_DELETE)),
    ("hexists", All(RO)),
    ("hincrby", All(RW_ACCESS_UPDATE)),
    ("hincrbyfloat", All(RW_ACCESS_UPDATE)),
    ("hlen", All(RO)),
    ("hsetnx", All(RW_INSERT)),
    ("hstrlen", All(RO)),
    // Lists.
    ("blmove", FirstRest(RW_ACCESS_DELETE, RW_INSERT)),
    ("blmpop", All(RW_ACCESS_DELETE)),
    ("blpop", All(RW_ACCESS_DELETE)),
    ("brpop", All(RW_ACCESS_DELETE)),
    ("brpoplpush", FirstRest(RW_ACCESS_DELETE, RW_INSERT)),
    ("linsert", All(RW_INSERT)),
    ("llen", All(RO)),
    ("lmove", FirstRest(RW_ACCESS_DELETE, RW_INSERT)),
    ("lmpop", All(RW_ACCESS_DELETE)),
    ("lpop", All(RW_ACCESS_DELETE)),
    ("lpush", All(RW_INSERT)),
    ("lpushx", All(RW_INSERT)),
    ("lrem", All(RW_DELETE)),
    ("ltrim", All(RW_DELETE)),
    ("rpop", All(RW_ACCESS_DELETE)),
    ("rpoplpush", FirstRest(RW_ACCESS_DELETE, RW_INSERT)),
    ("rpush", All(RW_INSERT)),
    ("rpushx", All(RW_INSERT)),
    // Sets (Redis 7.0 declares SINTERSTORE's destination RW, SUNIONSTORE's and SDIFFSTORE's OW).
    ("sadd", All(RW_INSERT)),
    ("scard", All(RO)),
    ("sdiffstore", FirstRest(OW_UPDATE, RO_ACCESS)),
    ("sinterstore", FirstRest(RW_UPDATE, RO_ACCESS)),
    ("sismember", All(RO)),
    ("smove", FirstRest(RW_ACCESS_DELETE, RW_INSERT)),
    ("spop", All(RW_ACCESS_DELETE)),
    ("srem", All(RW_DELETE)),
    ("sunionstore", FirstRest(OW_UPDATE, RO_ACCESS)),
    // Sorted sets.
    ("bzmpop", All(RW_ACCESS_DELETE)),
    ("bzpopmax", All(RW_ACCESS_DELETE)),
    ("bzpopmin", All(RW_ACCESS_DELETE)),
    ("zcard", All(RO)),
    ("zdiffstore", FirstRest(OW_UPDATE, RO_ACCESS)),
    ("zincrby", All(RW_ACCESS_UPDATE)),
    ("zinterstore", FirstRest(OW_UPDATE, RO_ACCESS)),
    ("zmpop", All(RW_ACCESS_DELETE)),
    ("zpopmax", All(RW_ACCESS_DELETE)),
    ("zpopmin", All(RW_ACCESS_DELETE)),
    ("zrangestore", FirstRest(OW_UPDATE, RO_ACCESS)),
    ("zrem", All(RW_DELETE)),
    ("zremrangebylex", All(RW_DELETE)),
    ("zremrangebyrank", All(RW_DELETE)),
    ("zremrangebyscore", All(RW_DELETE)),
    ("zunionstore", FirstRest(OW_UPDATE, RO_ACCESS)),
];

/// Key-spec notes Redis attaches.
const NOTES: &[(&str, &str)] = &[
    ("getex", "RW and UPDATE because it changes the TTL"),
    ("set", "RW and ACCESS due to the optional `GET` argument"),
];

/// What Redis's `setGetKeys` reports for SET's key without a GET argument (with one: the declared flags
/// minus `variable_flags`).
const SET_WITHOUT_GET: Flags = OW_UPDATE;

fn is_named(d: Described, name: &str) -> bool {
    match (d.parent, name.split_once('|')) {
        (None, None) => d.spec.name == name,
        (Some(p), Some((top, sub))) => p.name == top && d.spec.name == sub,
        _ => false,
    }
}

fn access(d: Described) -> Access {
    if let Some((_, a)) = DECLARED.iter().find(|(name, _)| is_named(d, name)) {
        return *a;
    }
    All(if d.spec.has(flags::WRITE) {
        RW_UPDATE
    } else if d.spec.has(flags::READONLY) {
        RO_ACCESS
    } else {
        RO
    })
}

/// The flags of the `nth` key (0-based, in the order [`crate::cmd::KeySpec::positions`] finds them) of
/// `args` (the command's own arguments, its name first), as COMMAND GETKEYSANDFLAGS reports them.
pub fn flags_of_key(d: Described, nth: usize, args: &[Bytes]) -> Flags {
    if is_named(d, "set") {
        // Redis compares the words as C strings: "GET" followed by a NUL byte is GET too.
        let get = args
            .iter()
            .skip(3)
            .any(|a| crate::cmd::table::c_str(a, a.len()).eq_ignore_ascii_case(b"get"));
        return if get {
            RW_ACCESS_UPDATE
        } else {
            SET_WITHOUT_GET
        };
    }
    match access(d) {
        All(f) => f,
        FirstRest(first, _) if nth == 0 => first,
        FirstRest(_, rest) => rest,
    }
}

fn bulk(s: &'static str) -> Reply {
    Reply::Bulk(Bytes::from_static(s.as_bytes()))
}

fn int_map(pairs: &[(&'static str, i64)]) -> Reply {
    Reply::Map(
        pairs
            .iter()
            .map(|&(k, v)| (bulk(k), Reply::Integer(v)))
            .collect(),
    )
}

/// One key spec: `find` is the find_keys type and its fields.
fn spec(
    flags: Flags,
    notes: Option<&'static str>,
    index: i32,
    find: &'static str,
    fields: &[(&'static str, i64)],
) -> Reply {
    let mut out = Vec::with_capacity(4);
    if let Some(notes) = notes {
        out.push((bulk("notes"), bulk(notes)));
    }
    out.push((
        bulk("flags"),
        Reply::Set(flags.iter().map(|f| Reply::Simple(f)).collect()),
    ));
    out.push((
        bulk("begin_search"),
        Reply::Map(vec![
            (bulk("type"), bulk("index")),
            (bulk("spec"), int_map(&[("index", index as i64)])),
        ]),
    ));
    out.push((
        bulk("find_keys"),
        Reply::Map(vec![
            (bulk("type"), bulk(find)),
            (bulk("spec"), int_map(fields)),
        ]),
    ));
    Reply::Map(out)
}

fn range(flags: Flags, notes: Option<&'static str>, first: i32, last: i32, step: i32) -> Reply {
    // Redis's lastkey counts from the spec's first key, or from the end when negative.
    let lastkey = if last >= 0 { last - first } else { last };
    let fields = [
        ("lastkey", lastkey as i64),
        ("keystep", step as i64),
        ("limit", 0),
    ];
    spec(flags, notes, first, "range", &fields)
}

/// The command's key specs as COMMAND INFO lists them: the range of the legacy triple (split after its
/// first key for [`Access::FirstRest`] without a key count), then the counted keys.
pub fn key_specs(d: Described) -> Vec<Reply> {
    let k = d.spec.keys;
    let notes = NOTES
        .iter()
        .find(|(name, _)| is_named(d, name))
        .map(|(_, n)| *n);
    let (first, rest) = match access(d) {
        All(f) => (f, f),
        FirstRest(first, rest) => (first, rest),
    };
    let mut out = Vec::new();
    if k.first != 0 {
        let split = first != rest && k.numkeys == 0;
        if split {
            out.push(range(first, notes, k.first, k.first, 1));
            out.push(range(rest, notes, k.first + k.step, k.last, k.step));
        } else {
            out.push(range(first, notes, k.first, k.last, k.step));
        }
    }
    if k.numkeys != 0 {
        let fields = [("keynumidx", 0), ("firstkey", 1), ("keystep", 1)];
        out.push(spec(rest, notes, k.numkeys, "keynum", &fields));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::lookup_full;
    use super::*;

    #[test]
    fn every_declared_command_exists_and_first_rest_has_two_keys() {
        for (name, a) in DECLARED {
            let d = lookup_full(name.as_bytes()).unwrap_or_else(|| panic!("{name}"));
            let k = d.spec.keys;
            assert!(k.first != 0 || k.numkeys != 0, "{name} has no keys");
            if let FirstRest(..) = a {
                // A first key of its own: a one-key range then a count, or a range of two or more.
                assert!(
                    (k.numkeys != 0 && k.first == k.last) || k.last < 0 || k.last > k.first,
                    "{name}"
                );
            }
        }
        for (name, _) in NOTES {
            assert!(lookup_full(name.as_bytes()).is_some(), "{name}");
        }
    }

    #[test]
    fn lmove_splits_source_and_destination() {
        let d = lookup_full(b"lmove").unwrap();
        assert_eq!(key_specs(d).len(), 2);
        let args: Vec<Bytes> = ["lmove", "a", "b", "LEFT", "LEFT"]
            .iter()
            .map(|s| Bytes::from_static(s.as_bytes()))
            .collect();
        assert_eq!(flags_of_key(d, 0, &args), RW_ACCESS_DELETE);
        assert_eq!(flags_of_key(d, 1, &args), RW_INSERT);
    }
}

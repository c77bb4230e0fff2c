//! COMMAND [COUNT | LIST | INFO | DOCS | GETKEYS | GETKEYSANDFLAGS | HELP] — the command table as Redis 7
//! describes its own, built from [`crate::cmd::table::all`] and the [`CommandSpec`] fields, so it can never
//! disagree with what the server actually runs.
//!
//! What a spec does not record is derived the way Redis derives its implicit parts: ACL categories from
//! the flags and the group (`@write`/`@read`, `@admin @dangerous`, `@blocking`, `@fast` else `@slow`,
//! `@string` for the string group, `@keyspace` for generic, ...), except for the few commands whose
//! declared categories differ from their group's (`info::DECLARED`); the `movablekeys` and `no_multi`
//! flags; key specs from the legacy (first, last, step) triple and the key count's position, with Redis's
//! flags for each key (`keyspecs::DECLARED`; else RO/access for reads, RW/update for writes). There are no
//! command tips, no argument
//! lists in DOCS (redis-cli then shows summaries without argument hints), and no complexity strings.

mod docs;
mod getkeys;
mod info;
mod keyspecs;

use bytes::Bytes;
use resp::Reply;

use super::{help_reply, spec};
use crate::cmd::args::is;
use crate::cmd::flags::*;
use crate::cmd::keys::pattern::matches_case;
use crate::cmd::{table, CmdError, CommandSpec, Ctx};

const DOC: u32 = LOADING | STALE | SENTINEL;

pub static SUBCOMMANDS: &[CommandSpec] = &[
    spec(
        "count",
        2,
        DOC,
        count,
        None,
        "Returns a count of commands.",
        "2.8.13",
        "server",
    ),
    spec(
        "list",
        -2,
        DOC,
        list,
        None,
        "Returns a list of command names.",
        "7.0.0",
        "server",
    ),
    spec(
        "info",
        -2,
        DOC,
        info::local,
        None,
        "Returns information about one, multiple or all commands.",
        "2.8.13",
        "server",
    ),
    spec(
        "docs",
        -2,
        DOC,
        docs::local,
        None,
        "Returns documentary information about one, multiple or all commands.",
        "7.0.0",
        "server",
    ),
    spec(
        "getkeys",
        -4,
        DOC,
        getkeys::getkeys,
        None,
        "Extracts the key names from an arbitrary command.",
        "2.8.13",
        "server",
    ),
    spec(
        "getkeysandflags",
        -4,
        DOC,
        getkeys::getkeysandflags,
        None,
        "Extracts the key names and access flags for an arbitrary command.",
        "7.0.0",
        "server",
    ),
    spec(
        "help",
        2,
        DOC,
        help,
        None,
        "Returns helpful text about the different subcommands.",
        "5.0.0",
        "server",
    ),
];

/// A command or subcommand, with its container for subcommands.
#[derive(Clone, Copy)]
pub struct Described {
    pub spec: &'static CommandSpec,
    pub parent: Option<&'static CommandSpec>,
}

impl Described {
    pub fn top(spec: &'static CommandSpec) -> Described {
        Described { spec, parent: None }
    }

    /// "get", or "config|get" for a subcommand.
    pub fn full_name(&self) -> String {
        match self.parent {
            Some(p) => format!("{}|{}", p.name, self.spec.name),
            None => self.spec.name.to_string(),
        }
    }

    pub fn subcommands(&self) -> impl Iterator<Item = Described> {
        let parent = self.spec;
        parent.subcommands.iter().map(move |s| Described {
            spec: s,
            parent: Some(parent),
        })
    }

    /// The group of the command (a subcommand's, else its container's).
    pub fn group(&self) -> &'static str {
        self.spec.group
    }
}

/// Looks up "name" or "container|sub", any case, as Redis's `lookupCommandBySds` does.
pub fn lookup_full(name: &[u8]) -> Option<Described> {
    let mut parts = name.split(|&b| b == b'|');
    let top = table::lookup(parts.next()?)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(Described::top(top)),
        (Some(sub), None) => top
            .subcommands
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(sub))
            .map(|s| Described {
                spec: s,
                parent: Some(top),
            }),
        _ => None,
    }
}

/// COMMAND with no subcommand: every top-level command's info.
pub fn bare(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Ok(Reply::Array(
        table::all()
            .map(|s| info::describe(Described::top(s)))
            .collect(),
    ))
}

fn count(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Ok(Reply::Integer(table::all().count() as i64))
}

enum ListFilter {
    None,
    Module,
    AclCat(Vec<u8>),
    Pattern(Bytes),
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]
fn list(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let mut filter = ListFilter::None;
    let mut i = 2;
    while i < args.len() {
        if is(&args[i], "filterby") && args.len() - 1 - i == 2 {
            filter = if is(&args[i + 1], "module") {
                ListFilter::Module
            } else if is(&args[i + 1], "aclcat") {
                ListFilter::AclCat(args[i + 2].to_ascii_lowercase())
            } else if is(&args[i + 1], "pattern") {
                ListFilter::Pattern(args[i + 2].clone())
            } else {
                return Err(CmdError::Syntax);
            };
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut out = Vec::new();
    let mut visit = |d: Described| {
        let name = d.full_name();
        let keep = match &filter {
            ListFilter::None => true,
            ListFilter::Module => false,
            ListFilter::AclCat(cat) => info::categories(d)
                .iter()
                .any(|c| c.as_bytes()[1..] == cat[..]),
            ListFilter::Pattern(p) => matches_case(p, name.as_bytes(), true),
        };
        if keep {
            out.push(Reply::Bulk(Bytes::from(name)));
        }
    };
    for spec in table::all() {
        let d = Described::top(spec);
        visit(d);
        d.subcommands().for_each(&mut visit);
    }
    Ok(Reply::Array(out))
}

fn help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Ok(help_reply(
        "command",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_names_resolve() {
        assert_eq!(lookup_full(b"GET").unwrap().full_name(), "get");
        assert_eq!(
            lookup_full(b"Config|GET").unwrap().full_name(),
            "config|get"
        );
        assert!(lookup_full(b"get|x").is_none());
        assert!(lookup_full(b"config|get|x").is_none());
        assert!(lookup_full(b"nosuch").is_none());
    }
}

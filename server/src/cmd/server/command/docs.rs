//! COMMAND DOCS [name ...] — a map of command name to its summary, since, group and, for containers, the
//! same for each subcommand. Unknown names are left out, as in Redis.

use bytes::Bytes;
use resp::Reply;

use super::{lookup_full, Described};
use crate::cmd::{table, CmdError, Ctx};

fn bulk(s: &'static str) -> Reply {
    Reply::Bulk(Bytes::from_static(s.as_bytes()))
}

pub fn local(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let found: Vec<Described> = if args.len() == 2 {
        table::all().map(Described::top).collect()
    } else {
        args[2..].iter().filter_map(|n| lookup_full(n)).collect()
    };
    Ok(Reply::Map(
        found
            .into_iter()
            .map(|d| (Reply::Bulk(Bytes::from(d.full_name())), document(d)))
            .collect(),
    ))
}

fn document(d: Described) -> Reply {
    let spec = d.spec;
    let mut fields = vec![
        (bulk("summary"), bulk(spec.summary)),
        (bulk("since"), bulk(spec.since)),
        (bulk("group"), bulk(d.group())),
    ];
    if !spec.subcommands.is_empty() {
        fields.push((
            bulk("subcommands"),
            Reply::Map(
                d.subcommands()
                    .map(|s| (Reply::Bulk(Bytes::from(s.full_name())), document(s)))
                    .collect(),
            ),
        ));
    }
    Reply::Map(fields)
}

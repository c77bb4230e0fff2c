//! INFO [section ...] — Redis's sections (server, clients, memory, persistence, stats, replication, cpu,
//! modules, commandstats, errorstats, latencystats, cluster, keyspace) plus slotkv's `cores`, one line per
//! core. Section names are case-insensitive; "default", "all" and "everything" select as in Redis.
//!
//! Each core contributes a [`snapshot::CoreSnapshot`] of its counters (gathered over the mesh when the node
//! has several cores; each core's numbers are read at one instant, the cores one after the other), and
//! [`render`] adds them up into Redis's text: `field:value` lines ending in CRLF, sections headed by
//! `# Name` and separated by an empty line. RESP3 gets a verbatim string (`txt`), RESP2 a bulk string.
//!
//! What the numbers mean here: used_memory is the process's resident size (RocksDB's memtables and block
//! cache are shown separately); instantaneous_* rates are measured between successive INFO calls on each
//! core; keyspace counts stored keys (a key past its deadline counts until it is deleted, as in Redis) and
//! reports avg_ttl as 0; commandstats, errorstats and latencystats are empty (not tracked per command).

mod render;
mod snapshot;

use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::shard::Shard;
use snapshot::CoreSnapshot;

/// Sections in output order, and whether "default" includes them.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
    ("cores", true),
];

/// The chosen sections, as a bit per entry of [`SECTIONS`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Selection(u32);

impl Selection {
    fn parse(args: &[Bytes]) -> Selection {
        let defaults = SECTIONS
            .iter()
            .enumerate()
            .filter(|(_, (_, d))| *d)
            .fold(0, |m, (i, _)| m | 1 << i);
        if args.len() <= 1 {
            return Selection(defaults);
        }
        let mut bits = 0u32;
        for a in &args[1..] {
            let a = a.to_ascii_lowercase();
            match &a[..] {
                b"default" => bits |= defaults,
                b"all" | b"everything" => bits = u32::MAX,
                b"module_list" => bits |= Selection::bit("modules"),
                name => {
                    if let Some(i) = SECTIONS.iter().position(|(s, _)| s.as_bytes() == name) {
                        bits |= 1 << i;
                    }
                }
            }
        }
        Selection(bits)
    }

    fn bit(name: &str) -> u32 {
        SECTIONS
            .iter()
            .position(|(s, _)| *s == name)
            .map(|i| 1 << i)
            .unwrap_or(0)
    }

    pub fn has(self, name: &str) -> bool {
        self.0 & Selection::bit(name) != 0
    }

    /// Whether the per-core key counts are needed (they cost a read per slot and database).
    pub fn needs_keys(self) -> bool {
        self.has("keyspace") || self.has("cores")
    }
}

fn reply(text: String) -> Reply {
    Reply::Verbatim {
        format: *b"txt",
        text: Bytes::from(text),
    }
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let sel = Selection::parse(args);
    let snap = CoreSnapshot::take(ctx.shard, sel.needs_keys());
    Ok(reply(render::render(sel, &ctx.shard.node, &[snap])?))
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let sel = Selection::parse(&s.args);
        let needs_keys = sel.needs_keys();
        let snaps = s
            .shard
            .on_every_core(move |sh: &Rc<Shard>| CoreSnapshot::take(sh, needs_keys))
            .await;
        match render::render(sel, &s.shard.node, &snaps) {
            Ok(text) => reply(text),
            Err(e) => e.to_reply(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(args: &[&str]) -> Selection {
        let mut v = vec![Bytes::from_static(b"info")];
        v.extend(args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())));
        Selection::parse(&v)
    }

    #[test]
    fn sections_select_like_redis() {
        assert!(sel(&[]).has("server") && !sel(&[]).has("commandstats"));
        assert!(sel(&["SERVER"]).has("server") && !sel(&["server"]).has("clients"));
        assert!(sel(&["all"]).has("commandstats"));
        assert!(sel(&["default", "commandstats"]).has("commandstats"));
        assert_eq!(sel(&["nosuch"]), Selection(0));
        assert!(sel(&["module_list"]).has("modules"));
        assert!(!sel(&["server"]).needs_keys() && sel(&["keyspace"]).needs_keys());
    }
}

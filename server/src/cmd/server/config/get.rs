//! CONFIG GET pattern [pattern ...] — a map of parameter name to value. A pattern without glob characters
//! is looked up exactly (any case, and answered under the name as given, like Redis); a glob matches names
//! case-insensitively. Each parameter appears once.

use bytes::Bytes;
use resp::Reply;

use super::params::{self, Param};
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let mut found: Vec<(Bytes, Param)> = Vec::new();
    let add = |name: Bytes, p: Param, found: &mut Vec<(Bytes, Param)>| {
        // Aliases are distinct names; a name asked twice (or matched twice) is listed once.
        if !found.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            found.push((name, p));
        }
    };
    for pattern in &args[2..] {
        if !pattern.iter().any(|b| matches!(b, b'[' | b'*' | b'?')) {
            if let Some((_, p)) = params::lookup(pattern) {
                add(pattern.clone(), p, &mut found);
            }
            continue;
        }
        for (name, p) in params::matching(pattern) {
            add(Bytes::from_static(name.as_bytes()), p, &mut found);
        }
    }
    let settings = ctx.shard.settings.borrow();
    Ok(Reply::Map(
        found
            .into_iter()
            .map(|(name, p)| {
                (
                    Reply::Bulk(name),
                    Reply::Bulk(Bytes::from(params::value(p, &settings, &ctx.shard.node))),
                )
            })
            .collect(),
    ))
}

//! CONFIG SET parameter value [parameter value ...] — every pair is checked first (unknown names, fixed
//! parameters, duplicates, then values, with Redis's errors and precedence); only if all pass is anything
//! changed, on every core in turn. Only a live RocksDB option can still fail while applying (RocksDB
//! refusing it), which may leave earlier cores changed.

use std::rc::Rc;

use bytes::Bytes;
use resp::Reply;

use super::params::{self, Change, Param};
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::shard::{Settings, Shard};

fn failed(name: &str, why: &str) -> CmdError {
    CmdError::msg(format!(
        "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
    ))
}

/// Checks every pair against the current settings.
fn plan(args: &[Bytes], current: &Settings) -> Result<Vec<(&'static str, Change)>, CmdError> {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let pairs: Vec<(&Bytes, &Bytes)> = args[2..].chunks(2).map(|c| (&c[0], &c[1])).collect();
    let mut seen: Vec<(&'static str, Param)> = Vec::with_capacity(pairs.len());
    for (name, _) in &pairs {
        let Some((canonical, p)) = params::lookup(name) else {
            return Err(CmdError::msg(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                String::from_utf8_lossy(name)
            )));
        };
        let as_given = String::from_utf8_lossy(name);
        if let Some(why) = params::fixed(p) {
            return Err(failed(&as_given, why));
        }
        if seen.iter().any(|(_, q)| *q == p) {
            return Err(failed(&as_given, "duplicate parameter"));
        }
        seen.push((canonical, p));
    }
    let mut out = Vec::with_capacity(pairs.len());
    for ((canonical, p), (_, value)) in seen.into_iter().zip(pairs) {
        let change = params::parse(p, value, current).map_err(|why| failed(canonical, &why))?;
        out.push((canonical, change));
    }
    Ok(out)
}

/// Applies the changes on one core; the first failure names its parameter.
fn apply_all(
    shard: &Rc<Shard>,
    changes: &[(&'static str, Change)],
) -> Result<(), (String, String)> {
    for (name, change) in changes {
        change.apply(shard).map_err(|why| (name.to_string(), why))?;
    }
    Ok(())
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let changes = plan(args, &ctx.shard.settings.borrow())?;
    apply_all(ctx.shard, &changes).map_err(|(name, why)| failed(&name, &why))?;
    Ok(Reply::Ok)
}

pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let changes = match plan(&s.args, &s.shard.settings.borrow()) {
            Ok(c) => c,
            Err(e) => return e.to_reply(),
        };
        let results = s
            .shard
            .on_every_core(move |sh: &Rc<Shard>| apply_all(sh, &changes))
            .await;
        match results.into_iter().find_map(Result::err) {
            Some((name, why)) => failed(&name, &why).to_reply(),
            None => Reply::Ok,
        }
    })
}

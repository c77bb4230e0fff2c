//! COMMAND GETKEYS command [arg ...] and COMMAND GETKEYSANDFLAGS — the keys the server would route the
//! given command by, from its key spec.

use bytes::Bytes;
use resp::Reply;

use super::{keyspecs::flags_of_key, Described};
use crate::cmd::{table, CmdError, Ctx};

fn keys_of(args: &[Bytes]) -> Result<(Described, Vec<usize>), CmdError> {
    let target = &args[2..];
    let top = table::lookup(&target[0]).ok_or(CmdError::msg("ERR Invalid command specified"))?;
    let d = if target.len() >= 2 && !top.subcommands.is_empty() {
        let sub = top
            .subcommands
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(&target[1]))
            .ok_or(CmdError::msg("ERR Invalid command specified"))?;
        Described {
            spec: sub,
            parent: Some(top),
        }
    } else {
        Described::top(top)
    };
    let spec = d.spec;
    if spec.keys.first == 0 && spec.keys.numkeys == 0 {
        return Err(CmdError::msg("ERR The command has no key arguments"));
    }
    let argc = target.len() as i64;
    let arity = spec.arity as i64;
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err(CmdError::msg(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let positions: Vec<usize> = spec.keys.positions(target).collect();
    if positions.is_empty() || !spec.keys.count_is_valid(target) {
        return Err(CmdError::msg("ERR Invalid arguments specified for command"));
    }
    Ok((d, positions))
}

pub fn getkeys(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let (_, positions) = keys_of(args)?;
    Ok(Reply::Array(
        positions
            .into_iter()
            .map(|i| Reply::Bulk(args[2 + i].clone()))
            .collect(),
    ))
}

pub fn getkeysandflags(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let (d, positions) = keys_of(args)?;
    Ok(Reply::Array(
        positions
            .into_iter()
            .enumerate()
            .map(|(nth, i)| {
                let flags = flags_of_key(d, nth, &args[2..]);
                Reply::Array(vec![
                    Reply::Bulk(args[2 + i].clone()),
                    Reply::Set(flags.iter().map(|f| Reply::Simple(f)).collect()),
                ])
            })
            .collect(),
    ))
}

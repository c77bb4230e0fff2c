//! The command table: every command the server knows, looked up by name.
//!
//! Built once from the families' lists and never changed, so every core reads it without coordination.
//! Name lookup lower-cases into a stack buffer: no allocation per request.

use std::sync::OnceLock;

use bytes::Bytes;

use super::{
    hashes, keys, lists, lowercase_name, server, sets, strings, tx, zsets, CmdError, CommandSpec,
};
use crate::net::client::LastCmd;

type Table = ahash::AHashMap<&'static [u8], &'static CommandSpec>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Table::new();
        for spec in all() {
            let prev = t.insert(spec.name.as_bytes(), spec);
            assert!(prev.is_none(), "command {} registered twice", spec.name);
        }
        t
    })
}

/// Every top-level command, family by family.
pub fn all() -> impl Iterator<Item = &'static CommandSpec> {
    strings::COMMANDS
        .iter()
        .chain(keys::COMMANDS.iter())
        .chain(hashes::COMMANDS.iter())
        .chain(lists::COMMANDS.iter())
        .chain(sets::COMMANDS.iter())
        .chain(zsets::COMMANDS.iter())
        .chain(server::COMMANDS.iter())
        .chain(tx::COMMANDS.iter())
        .chain(super::pubsub::COMMANDS.iter())
}

/// Looks up a top-level command by name, any case.
#[inline]
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut buf = [0u8; 32];
    let n = lowercase_name(name, &mut buf)?;
    table().get(&buf[..n]).copied()
}

/// Finds the spec that runs `args` — the subcommand's for container commands — and checks its arity,
/// with Redis 7's error texts.
pub fn resolve(args: &[Bytes]) -> Result<&'static CommandSpec, CmdError> {
    resolve_naming(args, &mut LastCmd::default())
}

/// [`resolve`], also naming the command found in `last` (before its arity is checked: Redis's
/// `lastcmd`, which CLIENT LIST shows; `NULL` for an unknown command or subcommand).
pub fn resolve_naming(
    args: &[Bytes],
    last: &mut LastCmd,
) -> Result<&'static CommandSpec, CmdError> {
    *last = LastCmd::default();
    let Some(spec) = lookup(&args[0]) else {
        return Err(unknown_command(args));
    };
    if spec.subcommands.is_empty() {
        last.name = Some(spec.name);
        if !spec.arity_ok(args.len()) {
            return Err(CmdError::WrongArity(spec.name.to_string()));
        }
        return Ok(spec);
    }
    if args.len() < 2 {
        last.name = Some(spec.name);
        // A bare container runs its own `local` when its arity allows it (COMMAND), as in Redis.
        if spec.arity_ok(args.len()) {
            return Ok(spec);
        }
        return Err(CmdError::WrongArity(spec.name.to_string()));
    }
    let sub = spec
        .subcommands
        .iter()
        .find(|s| args[1].eq_ignore_ascii_case(s.name.as_bytes()))
        .ok_or_else(|| unknown_subcommand(spec, &args[1]))?;
    *last = LastCmd {
        container: Some(spec.name),
        name: Some(sub.name),
    };
    if !sub.arity_ok(args.len()) {
        return Err(CmdError::WrongArity(format!("{}|{}", spec.name, sub.name)));
    }
    Ok(sub)
}

/// Redis's text, byte for byte, with its quirks: the names are printed as C strings (`%.128s`: up to a NUL
/// byte, at most 128 bytes, not UTF-8-checked), each argument quoted and followed by a space, stopping
/// once the list reaches 128 bytes. (The reply encoder blanks `\r` and `\n`, as Redis does.)
fn unknown_command(args: &[Bytes]) -> CmdError {
    let mut line = b"ERR unknown command '".to_vec();
    line.extend_from_slice(c_str(&args[0], 128));
    line.extend_from_slice(b"', with args beginning with: ");
    let start = line.len();
    for a in &args[1..] {
        let len = line.len() - start;
        if len >= 128 {
            break;
        }
        line.push(b'\'');
        line.extend_from_slice(c_str(a, 128 - len));
        line.extend_from_slice(b"' ");
    }
    CmdError::Echo(line.into())
}

/// `unknown subcommand '%.128s'. Try %s HELP.`, the subcommand as a C string (see [`unknown_command`]).
fn unknown_subcommand(spec: &CommandSpec, sub: &[u8]) -> CmdError {
    let mut line = b"ERR unknown subcommand '".to_vec();
    line.extend_from_slice(c_str(sub, 128));
    line.extend_from_slice(b"'. Try ");
    line.extend_from_slice(spec.name.to_ascii_uppercase().as_bytes());
    line.extend_from_slice(b" HELP.");
    CmdError::Echo(line.into())
}

/// What C's `%.{max}s` prints of an argument: the bytes before its first NUL, at most `max` of them.
pub fn c_str(b: &[u8], max: usize) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end.min(max)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<Bytes> {
        list.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn table_builds_and_names_are_lowercase() {
        for spec in all() {
            assert_eq!(spec.name, spec.name.to_ascii_lowercase());
            assert!(spec.arity != 0, "{}", spec.name);
            for sub in spec.subcommands {
                assert_eq!(sub.name, sub.name.to_ascii_lowercase());
            }
        }
        assert!(lookup(b"GeT").is_some());
    }

    #[test]
    fn error_texts() {
        let e = resolve(&args(&["foo", "a", "b"]))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            e,
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        let e = resolve(&args(&["foo"])).err().unwrap().to_string();
        assert_eq!(e, "ERR unknown command 'foo', with args beginning with: ");
        let e = resolve(&args(&["get"])).err().unwrap().to_string();
        assert_eq!(e, "ERR wrong number of arguments for 'get' command");
    }
}

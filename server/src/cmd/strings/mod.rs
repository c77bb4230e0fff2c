//! String commands. Values are stored whole in the key's record (see `storage::record`).

mod get;
mod mget;
mod set;

pub use set::{ExpireAction, SetCond, SetOp};

use super::{flags::*, CmdError, CommandSpec, KeySpec};
use crate::statemachine::SlotWriter;
use resp::Reply;

/// Deterministic writes of the string family.
#[derive(Debug, Clone, PartialEq)]
pub enum StringOp {
    Set(SetOp),
}

impl StringOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        match self {
            StringOp::Set(op) => op.apply(w),
        }
    }
}

const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: KeySpec,
    local: super::LocalFn,
    spread: Option<super::SpreadFn>,
    summary: &'static str,
    since: &'static str,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys,
        local,
        spread,
        summary,
        since,
        group: "string",
        subcommands: &[],
    }
}

pub static COMMANDS: &[CommandSpec] = &[
    spec("get", 2, READONLY | FAST, KeySpec::ONE, get::local, None, "Returns the string value of a key.", "1.0.0"),
    spec(
        "set",
        -3,
        WRITE | DENYOOM,
        KeySpec::ONE,
        set::local,
        None,
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
        "1.0.0",
    ),
    spec(
        "mget",
        -2,
        READONLY | FAST,
        KeySpec::ALL,
        mget::local,
        Some(mget::spread),
        "Atomically returns the string values of one or more keys.",
        "1.0.0",
    ),
];

//! Sets: SADD, SREM, ... SSCAN.
//!
//! Members live in the `sub` column family under the key's version (storage/collection.rs); reads go
//! through [`crate::cmd::collection`], writes are [`SetOp`] mutations applied through a
//! [`SlotWriter`].

use resp::Reply;

use super::{flags::*, CmdError, CommandSpec, KeySpec};
use crate::statemachine::SlotWriter;

/// Deterministic writes of this family.
#[derive(Debug, Clone, PartialEq)]
pub enum SetOp {}

impl SetOp {
    pub fn apply(&self, _w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        match *self {}
    }
}

#[allow(clippy::too_many_arguments, dead_code)]
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
    CommandSpec::new(
        "set", name, arity, flags, keys, local, spread, summary, since,
    )
}

#[allow(dead_code)]
const WF: u32 = WRITE | FAST;

/// Names, arities, flags, key positions, summaries and versions as Redis 7.0's COMMAND reports them.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[];

//! READONLY / READWRITE — cluster-mode commands. A slotkv node answers as a standalone Redis does.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};

const DISABLED: &str = "ERR This instance has cluster support disabled";

pub fn readonly(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Err(CmdError::msg(DISABLED))
}

pub fn readwrite(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<Reply, CmdError> {
    Err(CmdError::msg(DISABLED))
}

//! SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
//! PXAT unix-time-milliseconds | KEEPTTL]
//!
//! Also the mutation behind SETNX, SETEX, PSETEX, GETSET and MSET: relative expiry is turned into an absolute
//! deadline when the command is parsed, so the mutation means the same wherever it is applied.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::args::{is, parse_i64};
use crate::cmd::{CmdError, Ctx};
use crate::slot::SlotId;
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::record::{Record, ValueType};

use super::StringOp;

/// Existence condition of a SET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetCond {
    Always,
    /// Only if the key does not exist.
    Nx,
    /// Only if the key exists.
    Xx,
}

/// What happens to the key's time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireAction {
    /// No expiry afterwards.
    Clear,
    /// Keep the current deadline.
    Keep,
    /// Expire at this Unix ms.
    At(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SetOp {
    pub key: Bytes,
    pub value: Bytes,
    pub cond: SetCond,
    pub expire: ExpireAction,
    /// Reply with the old value (SET ... GET, GETSET).
    pub get: bool,
}

/// Turns a relative or absolute expiry argument into a deadline, with Redis's checks.
pub fn deadline(
    arg: &[u8],
    unit_ms: i64,
    absolute: bool,
    now_ms: u64,
    cmd: &'static str,
) -> Result<u64, CmdError> {
    let v = parse_i64(arg)?;
    if v <= 0 {
        return Err(CmdError::InvalidExpire(cmd));
    }
    let ms = v.checked_mul(unit_ms).ok_or(CmdError::InvalidExpire(cmd))?;
    let at = if absolute {
        ms
    } else {
        ms.checked_add(now_ms as i64)
            .ok_or(CmdError::InvalidExpire(cmd))?
    };
    Ok(at as u64)
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let mut cond = SetCond::Always;
    let mut expire = ExpireAction::Clear;
    let mut expire_set = false;
    let mut get = false;
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        let next = args.get(i + 1);
        if is(a, "nx") && cond != SetCond::Xx {
            cond = SetCond::Nx;
        } else if is(a, "xx") && cond != SetCond::Nx {
            cond = SetCond::Xx;
        } else if is(a, "get") {
            get = true;
        } else if is(a, "keepttl") && !expire_set {
            expire = ExpireAction::Keep;
            expire_set = true;
        } else if !expire_set
            && next.is_some()
            && (is(a, "ex") || is(a, "px") || is(a, "exat") || is(a, "pxat"))
        {
            let unit = if is(a, "ex") || is(a, "exat") {
                1000
            } else {
                1
            };
            let absolute = is(a, "exat") || is(a, "pxat");
            expire = ExpireAction::At(deadline(next.unwrap(), unit, absolute, ctx.now_ms, "set")?);
            expire_set = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let op = SetOp {
        key: args[1].clone(),
        value: args[2].clone(),
        cond,
        expire,
        get,
    };
    ctx.propose(
        SlotId::of_key(&args[1]),
        Mutation::String(StringOp::Set(op)),
    )
}

impl SetOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        let old = w.get(&self.key)?;
        if self.get {
            if let Some(r) = &old {
                if r.vtype != ValueType::String {
                    return Err(CmdError::WrongType);
                }
            }
        }
        let old_reply = || match &old {
            Some(r) => Reply::Bulk(r.payload.clone()),
            None => Reply::Null,
        };
        let blocked = match self.cond {
            SetCond::Always => false,
            SetCond::Nx => old.is_some(),
            SetCond::Xx => old.is_none(),
        };
        if blocked {
            return Ok(if self.get { old_reply() } else { Reply::Null });
        }
        let expire_at = match self.expire {
            ExpireAction::Clear => 0,
            ExpireAction::Keep => old.as_ref().map_or(0, |r| r.expire_at),
            ExpireAction::At(t) => t,
        };
        if expire_at != 0 && expire_at <= w.now_ms {
            // Already expired: the key ends up absent, as in Redis.
            w.delete(&self.key)?;
        } else {
            w.put(&self.key, Record::string(self.value.clone(), expire_at, 0))?;
        }
        Ok(if self.get { old_reply() } else { Reply::Ok })
    }
}

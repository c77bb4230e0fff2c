//! SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
//! PXAT unix-time-milliseconds | KEEPTTL]
//!
//! Also the mutation behind SETNX, SETEX, PSETEX and GETSET, and the option parser GETEX shares: relative
//! expiry is turned into an absolute deadline when the command is parsed, so the mutation means the same
//! wherever it is applied.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::args::{is, parse_i64};
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::record::{Record, ValueType};

use super::{count_lookup, StringOp};

/// Existence condition of a SET.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SetCond {
    Always,
    /// Only if the key does not exist.
    Nx,
    /// Only if the key exists.
    Xx,
}

/// What happens to the key's time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExpireAction {
    /// No expiry afterwards.
    Clear,
    /// Keep the current deadline.
    Keep,
    /// Expire at this Unix ms.
    At(u64),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SetOp {
    pub key: Bytes,
    pub value: Bytes,
    pub cond: SetCond,
    pub expire: ExpireAction,
    /// Reply with the old value (SET ... GET, GETSET).
    pub get: bool,
}

/// The unit and base of an expiry argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl ExpireKind {
    /// Redis's `getExpireMillisecondsOrReply`: the argument as an absolute Unix-ms deadline. `cmd` names the
    /// command in the error text.
    pub fn deadline(self, arg: &[u8], now_ms: u64, cmd: &'static str) -> Result<u64, CmdError> {
        let seconds = matches!(self, ExpireKind::Ex | ExpireKind::ExAt);
        let relative = matches!(self, ExpireKind::Ex | ExpireKind::Px);
        deadline(arg, if seconds { 1000 } else { 1 }, !relative, now_ms, cmd)
    }
}

/// Turns a relative or absolute expiry argument into a deadline, with Redis's checks: not positive, or
/// overflowing once scaled or added to the clock, is "invalid expire time".
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

/// Options of SET (`set = true`) and GETEX, accepted in any order and combination Redis accepts
/// (`parseExtendedStringArgumentsOrReply`): repeats are fine, conflicts are a syntax error.
#[derive(Debug, Default)]
pub struct ExtendedArgs<'a> {
    pub nx: bool,
    pub xx: bool,
    pub get: bool,
    pub keepttl: bool,
    pub persist: bool,
    pub expire: Option<(ExpireKind, &'a Bytes)>,
}

pub fn parse_extended(
    args: &[Bytes],
    from: usize,
    set: bool,
) -> Result<ExtendedArgs<'_>, CmdError> {
    let mut o = ExtendedArgs::default();
    let mut i = from;
    while i < args.len() {
        let a = &args[i];
        let next = args.get(i + 1);
        let kind = o.expire.map(|(k, _)| k);
        let other_expire = |k: ExpireKind| kind.is_some_and(|have| have != k);
        let timed = |k: ExpireKind| {
            is(
                a,
                match k {
                    ExpireKind::Ex => "ex",
                    ExpireKind::Px => "px",
                    ExpireKind::ExAt => "exat",
                    ExpireKind::PxAt => "pxat",
                },
            ) && !o.keepttl
                && !o.persist
                && !other_expire(k)
                && next.is_some()
        };
        if set && is(a, "nx") && !o.xx {
            o.nx = true;
        } else if set && is(a, "xx") && !o.nx {
            o.xx = true;
        } else if set && is(a, "get") {
            o.get = true;
        } else if set && is(a, "keepttl") && !o.persist && kind.is_none() {
            o.keepttl = true;
        } else if !set && is(a, "persist") && kind.is_none() && !o.keepttl {
            o.persist = true;
        } else if let Some(k) = [
            ExpireKind::Ex,
            ExpireKind::Px,
            ExpireKind::ExAt,
            ExpireKind::PxAt,
        ]
        .into_iter()
        .find(|&k| timed(k))
        {
            o.expire = Some((k, &args[i + 1]));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let o = parse_extended(args, 3, true)?;
    let expire = match o.expire {
        Some((kind, arg)) => ExpireAction::At(kind.deadline(arg, ctx.now_ms, "set")?),
        None if o.keepttl => ExpireAction::Keep,
        None => ExpireAction::Clear,
    };
    let cond = match (o.nx, o.xx) {
        (true, _) => SetCond::Nx,
        (_, true) => SetCond::Xx,
        _ => SetCond::Always,
    };
    let op = SetOp {
        key: args[1].clone(),
        value: args[2].clone(),
        cond,
        expire,
        get: o.get,
    };
    let reply = propose(ctx, op);
    if o.get {
        count_lookup(ctx, &reply);
    }
    reply
}

/// Proposes a SET-like mutation.
pub fn propose(ctx: &mut Ctx<'_>, op: SetOp) -> Result<Reply, CmdError> {
    ctx.propose(ctx.slot_of(&op.key), Mutation::String(StringOp::Set(op)))
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
        let reply = if self.get { old_reply() } else { Reply::Ok };
        if expire_at != 0 && expire_at <= w.now_ms {
            // A deadline already past: the key ends up absent, as it reads in Redis.
            w.delete(&self.key)?;
        } else {
            w.put(&self.key, Record::string(self.value.clone(), expire_at, 0))?;
        }
        Ok(reply)
    }
}

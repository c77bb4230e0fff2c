//! EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX | XX | GT | LT]
//!
//! Parsing turns the argument into an absolute deadline in Unix ms (negative and past values allowed, with
//! Redis's overflow checks); the NX/XX/GT/LT comparison happens in `apply`, against the stored record. A
//! deadline at or before the entry's clock deletes the key and still replies 1, as Redis 7 does. A new
//! deadline is set by re-putting the record, which indexes it for the active expiry cycle.

use bytes::Bytes;
use resp::Reply;

use super::KeyOp;
use crate::cmd::args::{is, parse_i64};
use crate::cmd::{CmdError, Ctx};
use crate::slot::SlotId;
use crate::statemachine::{Mutation, SlotWriter};

/// The NX / XX / GT / LT options of the EXPIRE family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExpireCond {
    /// Only if the key has no deadline.
    pub nx: bool,
    /// Only if the key has a deadline.
    pub xx: bool,
    /// Only if the new deadline is later (no deadline counts as infinite).
    pub gt: bool,
    /// Only if the new deadline is earlier (no deadline counts as infinite).
    pub lt: bool,
}

impl ExpireCond {
    /// Parses the options after the time argument, with Redis's texts and checks, in Redis's order.
    pub fn parse(opts: &[Bytes]) -> Result<ExpireCond, CmdError> {
        let mut c = ExpireCond::default();
        for o in opts {
            if is(o, "nx") {
                c.nx = true;
            } else if is(o, "xx") {
                c.xx = true;
            } else if is(o, "gt") {
                c.gt = true;
            } else if is(o, "lt") {
                c.lt = true;
            } else {
                return Err(CmdError::msg(format!(
                    "ERR Unsupported option {}",
                    crate::cmd::args::lossy(o)
                )));
            }
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            return Err(CmdError::msg(
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if c.gt && c.lt {
            return Err(CmdError::msg(
                "ERR GT and LT options at the same time are not compatible",
            ));
        }
        Ok(c)
    }

    /// Whether a key whose deadline is `current` (-1: none) may get deadline `when`.
    fn allows(self, current: i64, when: i64) -> bool {
        !((self.nx && current != -1)
            || (self.xx && current == -1)
            || (self.gt && (current == -1 || when <= current))
            || (self.lt && current != -1 && when >= current))
    }
}

/// The absolute deadline from the time argument: `unit_ms` 1000 for seconds, `relative` adds now.
fn deadline(
    arg: &[u8],
    unit_ms: i64,
    relative: bool,
    now_ms: u64,
    cmd: &'static str,
) -> Result<i64, CmdError> {
    let mut when = parse_i64(arg)?;
    if unit_ms != 1 {
        when = when
            .checked_mul(unit_ms)
            .ok_or(CmdError::InvalidExpire(cmd))?;
    }
    let base = if relative { now_ms as i64 } else { 0 };
    when.checked_add(base).ok_or(CmdError::InvalidExpire(cmd))
}

fn generic(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    unit_ms: i64,
    relative: bool,
    cmd: &'static str,
) -> Result<Reply, CmdError> {
    let cond = ExpireCond::parse(&args[3..])?;
    let when = deadline(&args[2], unit_ms, relative, ctx.now_ms, cmd)?;
    let key = args[1].clone();
    ctx.propose(
        SlotId::of_key(&key),
        Mutation::Key(KeyOp::Expire { key, when, cond }),
    )
}

pub fn expire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    generic(ctx, args, 1000, true, "expire")
}

pub fn pexpire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    generic(ctx, args, 1, true, "pexpire")
}

pub fn expireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    generic(ctx, args, 1000, false, "expireat")
}

pub fn pexpireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    generic(ctx, args, 1, false, "pexpireat")
}

pub fn apply(
    key: &Bytes,
    when: i64,
    cond: ExpireCond,
    w: &mut SlotWriter<'_>,
) -> Result<Reply, CmdError> {
    let Some(mut rec) = w.get(key)? else {
        return Ok(Reply::Integer(0));
    };
    let current = if rec.expire_at == 0 {
        -1
    } else {
        rec.expire_at.min(i64::MAX as u64) as i64
    };
    if !cond.allows(current, when) {
        return Ok(Reply::Integer(0));
    }
    if when <= w.now_ms as i64 {
        w.delete(key)?;
    } else {
        rec.expire_at = when as u64;
        w.put(key, rec)?;
    }
    Ok(Reply::Integer(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(list: &[&str]) -> Vec<Bytes> {
        list.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn options() {
        assert_eq!(ExpireCond::parse(&b(&[])).unwrap(), ExpireCond::default());
        let c = ExpireCond::parse(&b(&["Gt", "xx"])).unwrap();
        assert!(c.gt && c.xx && !c.nx && !c.lt);
        let e = |o: &[&str]| ExpireCond::parse(&b(o)).unwrap_err().to_string();
        assert_eq!(
            e(&["nx", "xx"]),
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        );
        assert_eq!(
            e(&["gt", "lt"]),
            "ERR GT and LT options at the same time are not compatible"
        );
        assert_eq!(e(&["foo", "nx"]), "ERR Unsupported option foo");
    }

    #[test]
    fn conditions() {
        let c = |s: &[&str]| ExpireCond::parse(&b(s)).unwrap();
        assert!(c(&["nx"]).allows(-1, 5));
        assert!(!c(&["nx"]).allows(10, 5));
        assert!(!c(&["xx"]).allows(-1, 5));
        assert!(c(&["gt"]).allows(10, 11));
        assert!(!c(&["gt"]).allows(10, 10));
        assert!(!c(&["gt"]).allows(-1, 10));
        assert!(c(&["lt"]).allows(-1, 10));
        assert!(c(&["lt"]).allows(10, 9));
        assert!(!c(&["lt"]).allows(10, 10));
    }

    #[test]
    fn overflow() {
        assert!(deadline(b"9223372036854775", 1000, false, 0, "expire").is_ok());
        let e = deadline(b"9223372036854776", 1000, false, 0, "expire").unwrap_err();
        assert_eq!(e.to_string(), "ERR invalid expire time in 'expire' command");
        assert!(deadline(b"9223372036854775807", 1, true, 5, "pexpire").is_err());
        assert_eq!(deadline(b"-5", 1, true, 100, "pexpire").unwrap(), 95);
    }
}

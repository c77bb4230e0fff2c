//! HELLO [protover [AUTH username password] [SETNAME clientname]] — switch protocol, authenticate and name
//! the connection in one round trip, as Redis 7.2 does it: every option is checked before any takes effect,
//! authentication comes first, and the name is set only once the connection is authenticated.

use bytes::Bytes;
use resp::{Protocol, Reply};

use super::{auth, client::valid_client_attr, text, REDIS_VERSION};
use crate::cmd::args::{is, parse_i64_opt};
use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let mut proto = None;
    if args.len() >= 2 {
        let v = parse_i64_opt(&args[1]).ok_or(CmdError::msg(
            "ERR Protocol version is not an integer or out of range",
        ))?;
        proto = Some(match v {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Err(CmdError::msg("NOPROTO unsupported protocol version")),
        });
    }
    let mut credentials = None;
    let mut name = None;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if is(&args[i], "auth") && more >= 2 {
            credentials = Some((&args[i + 1], &args[i + 2]));
            i += 3;
        } else if is(&args[i], "setname") && more >= 1 {
            if !valid_client_attr(&args[i + 1]) {
                return Err(CmdError::msg(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            name = Some(args[i + 1].clone());
            i += 2;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                text(&args[i])
            )));
        }
    }
    let (requirepass, requires_auth) = {
        let s = ctx.shard.settings.borrow();
        (s.requirepass.clone(), s.requires_auth())
    };
    if let Some((user, pass)) = credentials {
        if !auth::credentials_ok(&requirepass, user, pass) {
            return Err(CmdError::WrongPass);
        }
        ctx.client().authenticated = true;
    }
    let c = ctx.client();
    if !c.authenticated && requires_auth {
        return Err(CmdError::msg(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO \
             <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP \
             protocol version at the same time",
        ));
    }
    if let Some(name) = name {
        c.name = (!name.is_empty()).then_some(name);
    }
    if let Some(p) = proto {
        c.protocol = p;
    }
    let bulk = |s: &'static str| Reply::Bulk(Bytes::from_static(s.as_bytes()));
    Ok(Reply::Map(vec![
        (bulk("server"), bulk("redis")),
        (bulk("version"), bulk(REDIS_VERSION)),
        (
            bulk("proto"),
            Reply::Integer(match c.protocol {
                Protocol::Resp2 => 2,
                Protocol::Resp3 => 3,
            }),
        ),
        (bulk("id"), Reply::Integer(c.id as i64)),
        (bulk("mode"), bulk("standalone")),
        (bulk("role"), bulk("master")),
        (bulk("modules"), Reply::Array(Vec::new())),
    ]))
}

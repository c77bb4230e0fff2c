//! AUTH [username] password — the only user is `default`, whose password is `requirepass` (no password:
//! any password is accepted for `default`, as for Redis's `nopass` user).

use bytes::Bytes;
use resp::Reply;

use crate::cmd::{CmdError, Ctx};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let requirepass = ctx.shard.settings.borrow().requirepass.clone();
    let (user, pass) = match args.len() {
        2 if requirepass.is_empty() => return Err(CmdError::msg(
            "ERR AUTH <password> called without any password configured for the default user. Are \
                 you sure your configuration is correct?",
        )),
        2 => (&b"default"[..], &args[1][..]),
        _ => (&args[1][..], &args[2][..]),
    };
    if !credentials_ok(&requirepass, user, pass) {
        return Err(CmdError::WrongPass);
    }
    ctx.client().authenticated = true;
    Ok(Reply::Ok)
}

/// Whether `user`/`pass` authenticate against the `default` user with password `requirepass`.
pub fn credentials_ok(requirepass: &str, user: &[u8], pass: &[u8]) -> bool {
    user == b"default" && (requirepass.is_empty() || same_secret(requirepass.as_bytes(), pass))
}

/// Compares secrets in time independent of where they differ (Redis's `time_independent_strcmp`).
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() != b.len()) as u8;
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials() {
        assert!(credentials_ok("", b"default", b"anything"));
        assert!(!credentials_ok("", b"bob", b"anything"));
        assert!(credentials_ok("pw", b"default", b"pw"));
        assert!(!credentials_ok("pw", b"default", b"pw2"));
        assert!(!credentials_ok("pw", b"default", b"p"));
        assert!(!credentials_ok("pw", b"default", b""));
    }
}

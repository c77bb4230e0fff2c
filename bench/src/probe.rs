//! Before any load: one plain blocking connection to check the server is there, that AUTH works,
//! what it is, and (in cluster mode) who owns which slot.
//!
//! Doing this with `std::net` and socket timeouts, before the executors start, gives the clear
//! error messages the user needs ("connection refused", "AUTH failed: WRONGPASS ...") in well
//! under a second, instead of fifty connections failing at once inside the engine.

use crate::cli::RunConfig;
use crate::cluster::Topology;
use crate::conn::setup_error;
use crate::workload::encode_command;
use anyhow::{anyhow, bail, Context, Result};
use redis_protocol::resp2::{decode::decode, types::OwnedFrame};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// What the probe learnt.
#[derive(Debug)]
pub struct ServerInfo {
    /// `redis_version` (or `slotkv_version`) from INFO, when the server answers INFO.
    pub version: Option<String>,
    pub topology: Topology,
}

/// Set-up commands every connection sends first (AUTH when a password is given).
pub fn setup_commands(cfg: &RunConfig) -> Vec<Vec<u8>> {
    match (&cfg.user, &cfg.password) {
        (Some(u), Some(p)) => vec![encode_command(&[b"AUTH", u.as_bytes(), p.as_bytes()])],
        (None, Some(p)) => vec![encode_command(&[b"AUTH", p.as_bytes()])],
        _ => Vec::new(),
    }
}

struct Blocking {
    addr: String,
    stream: TcpStream,
    buf: Vec<u8>,
    timeout: Duration,
}

impl Blocking {
    fn connect(addr: &str, timeout: Duration) -> Result<Blocking> {
        let sockaddr = addr
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {addr}"))?
            .next()
            .ok_or_else(|| anyhow!("{addr} resolves to no address"))?;
        let stream = TcpStream::connect_timeout(&sockaddr, timeout).map_err(|e| {
            if e.kind() == std::io::ErrorKind::TimedOut {
                anyhow!("cannot connect to {addr}: no answer within {timeout:?}")
            } else {
                anyhow!("cannot connect to {addr}: {e}")
            }
        })?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Blocking {
            addr: addr.to_string(),
            stream,
            buf: Vec::new(),
            timeout,
        })
    }

    fn call(&mut self, encoded: &[u8], what: &str) -> Result<OwnedFrame> {
        self.stream
            .write_all(encoded)
            .with_context(|| format!("sending {what} to {}", self.addr))?;
        loop {
            if let Some((frame, used)) = decode(&self.buf)
                .map_err(|e| anyhow!("protocol error from {}: {e:?}", self.addr))?
            {
                self.buf.drain(..used);
                return Ok(frame);
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => bail!("{} closed the connection after {what}", self.addr),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    bail!(
                        "{} did not answer {what} within {:?}",
                        self.addr,
                        self.timeout
                    )
                }
                Err(e) => bail!("reading the {what} reply from {}: {e}", self.addr),
            }
        }
    }
}

/// Checks `addr` and returns what the run needs to know about it.
pub fn probe(addr: &str, host: &str, cfg: &RunConfig) -> Result<ServerInfo> {
    let timeout = Duration::from_secs_f64(cfg.timeout);
    let mut c = Blocking::connect(addr, timeout)?;
    for cmd in setup_commands(cfg) {
        if let OwnedFrame::Error(e) = c.call(&cmd, "AUTH")? {
            return Err(setup_error(addr, &e));
        }
    }
    match c.call(&encode_command(&[b"PING"]), "PING")? {
        OwnedFrame::Error(e) => return Err(setup_error(addr, &e)),
        OwnedFrame::SimpleString(_) | OwnedFrame::BulkString(_) => {}
        other => bail!("{addr} answered PING with {other:?}"),
    }
    let version = match c.call(&encode_command(&[b"INFO", b"server"]), "INFO")? {
        OwnedFrame::BulkString(text) => parse_version(&String::from_utf8_lossy(&text)),
        _ => None,
    };
    let topology = if cfg.cluster && !cfg.cluster_learn {
        match c.call(&encode_command(&[b"CLUSTER", b"SLOTS"]), "CLUSTER SLOTS")? {
            OwnedFrame::Error(e) => {
                bail!("--cluster given but {addr} answered CLUSTER SLOTS with: {e}")
            }
            reply => Topology::from_cluster_slots(&reply, host)?,
        }
    } else {
        Topology::single(addr)
    };
    Ok(ServerInfo { version, topology })
}

fn parse_version(info: &str) -> Option<String> {
    let mut name_version = None;
    for line in info.lines() {
        if let Some(v) = line.strip_prefix("slotkv_version:") {
            return Some(format!("slotkv {}", v.trim()));
        }
        if let Some(v) = line.strip_prefix("redis_version:") {
            name_version = Some(format!("redis {}", v.trim()));
        }
    }
    name_version
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_prefers_slotkv() {
        assert_eq!(
            parse_version("# Server\r\nredis_version:7.0.15\r\n").as_deref(),
            Some("redis 7.0.15")
        );
        assert_eq!(
            parse_version("redis_version:7.0.0\r\nslotkv_version:0.1.0\r\n").as_deref(),
            Some("slotkv 0.1.0")
        );
        assert_eq!(parse_version("nothing"), None);
    }
}

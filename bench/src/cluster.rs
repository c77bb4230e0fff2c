//! Cluster routing: hash slots, the slot → node table from CLUSTER SLOTS, and redirects.
//!
//! A key's slot is `CRC16-XMODEM(key) mod 16384`, hashing only the `{tag}` part when the key has a
//! non-empty hash tag — the rule every Redis Cluster client uses, and the one slotkv reports in
//! CLUSTER SLOTS and MOVED. The table is per executor thread (`Rc<RefCell<Topology>>`): a MOVED
//! seen by one connection re-routes the whole thread's later requests for that slot, and no
//! locks are involved.

use anyhow::{bail, Context, Result};
use redis_protocol::resp2::types::OwnedFrame;

/// Number of Redis Cluster hash slots.
pub const SLOTS: usize = 16384;

const fn crc16_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut b = 0;
        while b < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            b += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static CRC16: [u16; 256] = crc16_table();

/// CRC16-XMODEM (polynomial 0x1021, initial value 0).
pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ CRC16[usize::from((crc >> 8) as u8 ^ b)]
    })
}

/// The hash slot of `key`, honouring `{hash tags}`.
#[inline]
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16(hashed) & (SLOTS as u16 - 1)
}

/// Which node serves each slot. Node 0 is the seed node in learn mode.
#[derive(Clone, Debug)]
pub struct Topology {
    /// `host:port` of each known node, index = node id used by connections.
    pub nodes: Vec<String>,
    /// Node index per slot.
    pub slots: Vec<u16>,
}

impl Topology {
    /// Every slot on one node: a plain server, or a cluster whose owners are learnt from MOVED.
    pub fn single(addr: &str) -> Topology {
        Topology {
            nodes: vec![addr.to_string()],
            slots: vec![0; SLOTS],
        }
    }

    /// Index of `addr`, adding it if new.
    pub fn node_index(&mut self, addr: &str) -> usize {
        if let Some(i) = self.nodes.iter().position(|n| n == addr) {
            return i;
        }
        self.nodes.push(addr.to_string());
        self.nodes.len() - 1
    }

    /// Builds the table from a CLUSTER SLOTS reply. `seed_host` replaces empty or `?` hosts
    /// (a node that does not know its own address reports it that way).
    pub fn from_cluster_slots(reply: &OwnedFrame, seed_host: &str) -> Result<Topology> {
        let OwnedFrame::Array(ranges) = reply else {
            bail!("CLUSTER SLOTS: expected an array, got {reply:?}");
        };
        let mut topo = Topology {
            nodes: Vec::new(),
            slots: vec![u16::MAX; SLOTS],
        };
        for range in ranges {
            let OwnedFrame::Array(parts) = range else {
                bail!("CLUSTER SLOTS: malformed range {range:?}");
            };
            let (Some(OwnedFrame::Integer(start)), Some(OwnedFrame::Integer(end))) =
                (parts.first(), parts.get(1))
            else {
                bail!("CLUSTER SLOTS: malformed range bounds {range:?}");
            };
            let Some(OwnedFrame::Array(master)) = parts.get(2) else {
                bail!("CLUSTER SLOTS: range without a master {range:?}");
            };
            let host = match master.first() {
                Some(OwnedFrame::BulkString(h)) => String::from_utf8_lossy(h).into_owned(),
                _ => bail!("CLUSTER SLOTS: bad master host {range:?}"),
            };
            let Some(OwnedFrame::Integer(port)) = master.get(1) else {
                bail!("CLUSTER SLOTS: bad master port {range:?}");
            };
            let host = if host.is_empty() || host == "?" {
                seed_host.to_string()
            } else {
                host
            };
            if !(0..SLOTS as i64).contains(start) || !(*start..SLOTS as i64).contains(end) {
                bail!("CLUSTER SLOTS: slot range {start}-{end} out of bounds");
            }
            let node = topo.node_index(&join_host_port(&host, *port)) as u16;
            for slot in *start..=*end {
                topo.slots[slot as usize] = node;
            }
        }
        if let Some(slot) = topo.slots.iter().position(|&n| n == u16::MAX) {
            bail!("the cluster does not cover all slots: slot {slot} has no owner");
        }
        Ok(topo)
    }
}

/// `host:port`, bracketing IPv6 literals.
pub fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A parsed `-MOVED` or `-ASK` error.
#[derive(Debug, PartialEq, Eq)]
pub struct Redirect {
    pub ask: bool,
    pub slot: u16,
    pub addr: String,
}

/// Parses `MOVED <slot> <host>:<port>` or `ASK ...`; `None` for any other error text.
/// An empty host (`MOVED 12 :7000`) means "the host you are connected to".
pub fn parse_redirect(err: &[u8], current_host: &str) -> Option<Redirect> {
    let text = std::str::from_utf8(err).ok()?;
    let mut words = text.split_ascii_whitespace();
    let ask = match words.next()? {
        "MOVED" => false,
        "ASK" => true,
        _ => return None,
    };
    let slot: u16 = words.next()?.parse().ok()?;
    let endpoint = words.next()?;
    let (host, port) = endpoint.rsplit_once(':')?;
    let port: i64 = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host.is_empty() { current_host } else { host };
    Some(Redirect {
        ask,
        slot: slot % SLOTS as u16,
        addr: join_host_port(host, port),
    })
}

/// The host part of `host:port`.
pub fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Parses a `host:port` command-line value.
pub fn parse_endpoint(s: &str) -> Result<(String, u16)> {
    let (host, port) = s
        .rsplit_once(':')
        .with_context(|| format!("expected HOST:PORT, got {s:?}"))?;
    let port = port.parse().with_context(|| format!("bad port in {s:?}"))?;
    Ok((
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis() {
        // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), crc16(b"foo{}{bar}") & 16383);
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
    }

    #[test]
    fn parses_redirects() {
        assert_eq!(
            parse_redirect(b"MOVED 3999 127.0.0.1:6381", "x"),
            Some(Redirect {
                ask: false,
                slot: 3999,
                addr: "127.0.0.1:6381".into()
            })
        );
        assert_eq!(
            parse_redirect(b"ASK 1 :7000", "10.0.0.1").unwrap().addr,
            "10.0.0.1:7000"
        );
        assert!(parse_redirect(b"ERR unknown command", "x").is_none());
        assert!(parse_redirect(b"MOVED nonsense", "x").is_none());
    }
}

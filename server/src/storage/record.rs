//! The value record stored under every data key.
//!
//! ```text
//! [type u8][expire_at ms u64 BE][version u64 BE][payload ...]
//! ```
//!
//! * `type` tells strings from the collection types that arrive later (hash, list, set, sorted set): for those
//!   the payload is their metadata (member count) and the members live as sub-keys tagged with `version`.
//! * `expire_at` is an absolute deadline in Unix milliseconds, 0 for none. Absolute, so that a record means the
//!   same on every replica and after a restart; it is what lazy expiry, the active cycle and the compaction
//!   filter all read.
//! * `version` is chosen when the key is created (deterministically, by the mutation that creates it). A
//!   collection that is deleted or overwritten gets a new version, which orphans its old sub-keys at once
//!   (O(1) DEL); the compaction filter reclaims them later.

use bytes::Bytes;

/// Bytes before the payload.
pub const HEADER_LEN: usize = 17;

/// The data type of a key, as TYPE names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum ValueType {
    String = 1,
    Hash = 2,
    List = 3,
    Set = 4,
    ZSet = 5,
}

impl ValueType {
    pub fn from_u8(b: u8) -> Option<ValueType> {
        Some(match b {
            1 => ValueType::String,
            2 => ValueType::Hash,
            3 => ValueType::List,
            4 => ValueType::Set,
            5 => ValueType::ZSet,
            _ => return None,
        })
    }

    /// The name TYPE replies with.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Hash => "hash",
            ValueType::List => "list",
            ValueType::Set => "set",
            ValueType::ZSet => "zset",
        }
    }
}

/// A decoded record. `payload` is its own `Bytes` so a GET reply can hand it to the socket without copying.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub vtype: ValueType,
    /// Absolute deadline in Unix ms; 0 means no expiry.
    pub expire_at: u64,
    pub version: u64,
    pub payload: Bytes,
}

/// A stored record that cannot be decoded: corruption, or data from an incompatible build.
#[derive(Debug, thiserror::Error)]
#[error("corrupt record ({0} bytes)")]
pub struct CorruptRecord(pub usize);

impl Record {
    pub fn string(payload: Bytes, expire_at: u64, version: u64) -> Record {
        Record {
            vtype: ValueType::String,
            expire_at,
            version,
            payload,
        }
    }

    /// Whether the record is expired at `now_ms`.
    #[inline]
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.payload.len());
        out.push(self.vtype as u8);
        out.extend_from_slice(&self.expire_at.to_be_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    pub fn decode(raw: &[u8]) -> Result<Record, CorruptRecord> {
        let (vtype, expire_at, version) = decode_header(raw).ok_or(CorruptRecord(raw.len()))?;
        Ok(Record {
            vtype,
            expire_at,
            version,
            payload: Bytes::copy_from_slice(&raw[HEADER_LEN..]),
        })
    }
}

/// Reads only the header: `(type, expire_at, version)`.
#[inline]
pub fn decode_header(raw: &[u8]) -> Option<(ValueType, u64, u64)> {
    if raw.len() < HEADER_LEN {
        return None;
    }
    let vtype = ValueType::from_u8(raw[0])?;
    let expire_at = u64::from_be_bytes(raw[1..9].try_into().ok()?);
    let version = u64::from_be_bytes(raw[9..17].try_into().ok()?);
    Some((vtype, expire_at, version))
}

/// The deadline of an encoded record without decoding the rest (used by the compaction filter).
#[inline]
pub fn expire_at_of(raw: &[u8]) -> Option<u64> {
    decode_header(raw).map(|(_, e, _)| e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let r = Record::string(Bytes::from_static(b"hello"), 1234, 99);
        let raw = r.encode();
        assert_eq!(raw.len(), HEADER_LEN + 5);
        assert_eq!(Record::decode(&raw).unwrap(), r);
        assert_eq!(expire_at_of(&raw), Some(1234));
        assert!(Record::decode(&raw[..5]).is_err());
        assert!(r.is_expired(1234) && !r.is_expired(1233));
        assert!(!Record::string(Bytes::new(), 0, 0).is_expired(u64::MAX));
    }
}

//! Hash slots: which of the 2048 slots a key belongs to.
//!
//! Redis Cluster clients compute `CRC16-XMODEM(key) mod 16384` themselves (honouring `{hash tags}`). We keep
//! their arithmetic and fold eight consecutive Redis slots into one of ours:
//! `slot = (crc16(key) & 16383) >> 3`. Each of our slots is therefore exactly the Redis-slot range
//! `[slot*8, slot*8+7]`, so every range we report to a cluster client is a plain multiple-of-8 interval and a
//! MOVED reply can name the key's own Redis slot.

use crc::{Crc, Table, CRC_16_XMODEM};

/// Number of slots a slotkv cluster is divided into.
pub const SLOT_COUNT: usize = 2048;
/// Number of slots Redis Cluster clients know about.
pub const REDIS_SLOT_COUNT: usize = 16384;

/// Slice-by-16 tables (8 KiB): a typical 16-30 byte key takes one or two steps of 16 independent lookups
/// instead of a chain of one dependent lookup per byte (the router hashes every request's key).
const CRC16: Crc<u16, Table<16>> = Crc::<u16, Table<16>>::new(&CRC_16_XMODEM);

/// One of the 2048 slots.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct SlotId(pub u16);

impl SlotId {
    /// The slot of a key.
    #[inline]
    pub fn of_key(key: &[u8]) -> SlotId {
        SlotId(redis_slot(key) >> 3)
    }

    /// The Redis-slot range `[first, last]` this slot covers.
    pub fn redis_range(self) -> (u16, u16) {
        (self.0 * 8, self.0 * 8 + 7)
    }
}

/// The part of a key that is hashed: the content of the first non-empty `{...}`, else the whole key.
#[inline]
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        if let Some(len) = key[open + 1..].iter().position(|&b| b == b'}') {
            if len > 0 {
                return &key[open + 1..open + 1 + len];
            }
        }
    }
    key
}

/// The Redis Cluster slot (0..16384) of a key, as `CLUSTER KEYSLOT` reports it.
#[inline]
pub fn redis_slot(key: &[u8]) -> u16 {
    CRC16.checksum(hash_tag(key)) & (REDIS_SLOT_COUNT as u16 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_cluster_keyslot() {
        // Values from redis-cli CLUSTER KEYSLOT against Redis 7.
        assert_eq!(redis_slot(b"foo"), 12182);
        assert_eq!(redis_slot(b"bar"), 5061);
        assert_eq!(redis_slot(b"123456789"), 0x31C3 & 16383);
        assert_eq!(redis_slot(b"{user1000}.following"), redis_slot(b"user1000"));
        assert_eq!(redis_slot(b"foo{}{bar}"), redis_slot(b"foo{}{bar}"));
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
    }

    #[test]
    fn slot_is_redis_slot_div_8() {
        for key in [&b"a"[..], b"b", b"hello", b"{x}y"] {
            let s = SlotId::of_key(key);
            let (lo, hi) = s.redis_range();
            assert!((lo..=hi).contains(&redis_slot(key)));
            assert!((s.0 as usize) < SLOT_COUNT);
        }
    }
}

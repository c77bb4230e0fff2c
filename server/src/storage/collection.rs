//! Collections (hash, list, set, sorted set) on RocksDB: the metadata record and the member families.
//!
//! A collection is one metadata [`Record`] under its data key (type, deadline, version, and the
//! [`CollectionMeta`] payload) plus one record per member in the [`Family::Sub`] column family, keyed by
//! `slot · db · keylen · key · version · member` (see [`super::keycodec`]). Sorted sets also keep
//! `encoded score · member` in [`Family::Score`], so score ranges are one ordered scan.
//!
//! Why this shape (Kvrocks's, and WTable's): a collection of millions of members is never read or rewritten
//! whole. A point read is one lookup, a range is one seek plus what it returns, and DEL, expiry and
//! overwrite only touch the metadata record — the members are left under a version nothing refers to any
//! more, and the compaction filter reclaims them (storage/compaction.rs). Versions come from a per-slot
//! counter that is part of the slot's state (written in the same batch as the metadata), so every replica
//! applying the same log hands out the same versions.
//!
//! Member values per type:
//!
//! | type       | member bytes                         | value                                   |
//! |------------|--------------------------------------|-----------------------------------------|
//! | hash       | field                                | field value                             |
//! | set        | member                               | empty                                   |
//! | list       | position (u64 BE, see below)         | element                                 |
//! | sorted set | member                               | [`encode_score`] of its score (8 bytes) |
//!
//! Lists keep their elements at consecutive positions `head .. head + count`; the first list element is
//! placed at [`LIST_START`] (the middle of the u64 range) so both ends can grow by 2^63 pushes.

use bytes::Bytes;
use rocksdb::{DBRawIteratorWithThreadMode, ReadOptions, DB};

use super::keycodec::{decode_score, encode_score, KeyBuf, KeyCodec};
use super::record::{CorruptRecord, Record, ValueType};
use super::{StorageError, Store};
use crate::slot::SlotId;

/// Position of the first element pushed to an empty list.
pub const LIST_START: u64 = 1 << 63;

/// The column families holding collection members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Hash fields, set members, list elements, sorted-set member → score.
    Sub,
    /// Sorted sets: `encoded score · member` → empty.
    Score,
}

impl Family {
    /// The RocksDB column family name.
    pub const fn cf_name(self) -> &'static str {
        match self {
            Family::Sub => "sub",
            Family::Score => "score",
        }
    }

    pub const ALL: [Family; 2] = [Family::Sub, Family::Score];
}

/// The payload of a collection's metadata record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectionMeta {
    /// Members (hash fields, list elements, set or sorted-set members).
    pub count: u64,
    /// Lists: position of the first element (elements are at `head .. head + count`). 0 for other types.
    pub head: u64,
}

impl CollectionMeta {
    /// An empty collection of `vtype` (lists start at [`LIST_START`]).
    pub fn empty(vtype: ValueType) -> CollectionMeta {
        CollectionMeta {
            count: 0,
            head: if vtype == ValueType::List {
                LIST_START
            } else {
                0
            },
        }
    }

    /// Lists: the position one past the last element.
    pub fn tail(&self) -> u64 {
        self.head.wrapping_add(self.count)
    }

    pub fn encode(&self, vtype: ValueType) -> Bytes {
        let mut out = Vec::with_capacity(16);
        out.extend_from_slice(&self.count.to_be_bytes());
        if vtype == ValueType::List {
            out.extend_from_slice(&self.head.to_be_bytes());
        }
        Bytes::from(out)
    }

    /// The metadata of a collection record; `CorruptRecord` for strings or a malformed payload.
    pub fn of(rec: &Record) -> Result<CollectionMeta, CorruptRecord> {
        let p = &rec.payload[..];
        let want = match rec.vtype {
            ValueType::String => return Err(CorruptRecord(p.len())),
            ValueType::List => 16,
            _ => 8,
        };
        if p.len() != want {
            return Err(CorruptRecord(p.len()));
        }
        let count = u64::from_be_bytes(p[..8].try_into().unwrap());
        let head = if want == 16 {
            u64::from_be_bytes(p[8..16].try_into().unwrap())
        } else {
            0
        };
        Ok(CollectionMeta { count, head })
    }

    /// The metadata record for this collection.
    pub fn record(&self, vtype: ValueType, expire_at: u64, version: u64) -> Record {
        Record {
            vtype,
            expire_at,
            version,
            payload: self.encode(vtype),
        }
    }
}

/// A list position as member bytes (big-endian, so byte order is position order).
#[inline]
pub fn list_pos(pos: u64) -> [u8; 8] {
    pos.to_be_bytes()
}

/// A sorted-set member's stored score.
#[inline]
pub fn score_value(score: f64) -> [u8; 8] {
    encode_score(score)
}

/// Decodes a stored score value (a `sub` value of a sorted-set member).
pub fn parse_score_value(raw: &[u8]) -> Result<f64, CorruptRecord> {
    let arr: [u8; 8] = raw.try_into().map_err(|_| CorruptRecord(raw.len()))?;
    Ok(decode_score(arr))
}

/// `encoded score · member`: the member part of a `score` family key.
pub fn score_member(score: f64, member: &[u8]) -> KeyBuf {
    let mut out = KeyBuf::with_capacity(8 + member.len());
    out.extend_from_slice(&encode_score(score));
    out.extend_from_slice(member);
    out
}

/// Splits the member part of a `score` key into `(score, member)`.
pub fn split_score_member(raw: &[u8]) -> Option<(f64, &[u8])> {
    let (s, m) = raw.split_at_checked(8)?;
    Some((decode_score(s.try_into().ok()?), m))
}

/// A whole key: its record and, for a collection, every member as `(member, value)` of the `sub` family
/// (the `score` family is derived from it). What RENAME and COPY move between slots and cores.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Value {
    pub record: Record,
    pub members: Vec<(Bytes, Bytes)>,
}

/// A cursor over the members of one collection in one family, in member byte order. Bounds are set to
/// the collection's range, so it never sees another key's members.
pub struct MemberCursor<'a> {
    it: DBRawIteratorWithThreadMode<'a, DB>,
    prefix: KeyBuf,
}

impl<'a> MemberCursor<'a> {
    fn full(&self, member: &[u8]) -> KeyBuf {
        let mut k = self.prefix.clone();
        k.extend_from_slice(member);
        k
    }

    /// Positions at the first member `>= member`.
    pub fn seek(&mut self, member: &[u8]) {
        let k = self.full(member);
        self.it.seek(&k);
    }

    /// Positions at the last member `<= member`.
    pub fn seek_for_prev(&mut self, member: &[u8]) {
        let k = self.full(member);
        self.it.seek_for_prev(&k);
    }

    pub fn seek_to_first(&mut self) {
        self.it.seek_to_first();
    }

    pub fn seek_to_last(&mut self) {
        self.it.seek_to_last();
    }

    pub fn next(&mut self) {
        self.it.next();
    }

    pub fn prev(&mut self) {
        self.it.prev();
    }

    /// Whether the cursor is on a member; check [`MemberCursor::status`] when it is not.
    pub fn valid(&self) -> bool {
        self.it.valid()
    }

    /// The member bytes (after the collection prefix). Call only when valid.
    pub fn member(&self) -> &[u8] {
        self.it
            .key()
            .map_or(&[][..], |k| k.get(self.prefix.len()..).unwrap_or(&[]))
    }

    /// The member's value. Call only when valid.
    pub fn value(&self) -> &[u8] {
        self.it.value().unwrap_or(&[])
    }

    /// An I/O or corruption error met while moving.
    pub fn status(&self) -> Result<(), StorageError> {
        self.it.status().map_err(StorageError::from)
    }
}

impl Store {
    pub(crate) fn cf(&self, family: Family) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(family.cf_name())
            .expect("member column families are created at open")
    }

    /// The stored value of one member.
    pub fn get_member(
        &self,
        family: Family,
        slot: SlotId,
        db: u8,
        key: &[u8],
        version: u64,
        member: &[u8],
    ) -> Result<Option<Bytes>, StorageError> {
        let k = KeyCodec::sub_key(slot, db, key, version, member);
        Ok(self
            .db
            .get_pinned_cf(self.cf(family), &k)?
            .map(|v| Bytes::copy_from_slice(&v)))
    }

    /// A cursor over one collection's members in `family` (not positioned yet: seek first).
    pub fn member_cursor(
        &self,
        family: Family,
        slot: SlotId,
        db: u8,
        key: &[u8],
        version: u64,
    ) -> MemberCursor<'_> {
        let prefix = KeyCodec::sub_prefix(slot, db, key, version);
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(prefix.to_vec());
        ro.set_iterate_upper_bound(KeyCodec::sub_prefix_end(slot, db, key, version).to_vec());
        MemberCursor {
            it: self.db.raw_iterator_cf_opt(self.cf(family), ro),
            prefix,
        }
    }

    /// Every member of a collection record, in member order (for RENAME, COPY and tests): O(members).
    pub fn members_of(
        &self,
        slot: SlotId,
        db: u8,
        key: &[u8],
        rec: &Record,
    ) -> Result<Vec<(Bytes, Bytes)>, StorageError> {
        let mut out = Vec::new();
        if rec.vtype == ValueType::String {
            return Ok(out);
        }
        let mut c = self.member_cursor(Family::Sub, slot, db, key, rec.version);
        c.seek_to_first();
        while c.valid() {
            out.push((
                Bytes::copy_from_slice(c.member()),
                Bytes::copy_from_slice(c.value()),
            ));
            c.next();
        }
        c.status()?;
        Ok(out)
    }

    /// The live key `key` with all its members, or `None`.
    pub fn read_value(
        &self,
        slot: SlotId,
        db: u8,
        key: &[u8],
        now_ms: u64,
    ) -> Result<Option<Value>, StorageError> {
        let Some(record) = self.get_live(slot, db, key, now_ms)? else {
            return Ok(None);
        };
        let members = self.members_of(slot, db, key, &record)?;
        Ok(Some(Value { record, members }))
    }

    /// The slot's next collection version (not yet handed out).
    pub(crate) fn next_version(&self, slot: SlotId) -> Result<u64, StorageError> {
        if let Some(v) = self.versions.borrow().get(&slot.0) {
            return Ok(*v);
        }
        let v = match self.db.get_pinned(KeyCodec::slot_version_key(slot))? {
            Some(raw) if raw.len() == 8 => u64::from_be_bytes(raw[..].try_into().unwrap()),
            Some(raw) => return Err(CorruptRecord(raw.len()).into()),
            None => 1,
        };
        self.versions.borrow_mut().insert(slot.0, v);
        Ok(v)
    }

    /// Records the slot's next version once the batch that staged it is written.
    pub(crate) fn set_next_version(&self, slot: SlotId, next: u64) {
        self.versions.borrow_mut().insert(slot.0, next);
    }

    /// Forgets cached versions (after a slot range was wiped).
    pub(crate) fn forget_versions(&self, slot: SlotId) {
        self.versions.borrow_mut().remove(&slot.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trips_per_type() {
        for vtype in [
            ValueType::Hash,
            ValueType::List,
            ValueType::Set,
            ValueType::ZSet,
        ] {
            let mut m = CollectionMeta::empty(vtype);
            m.count = 42;
            let rec = m.record(vtype, 7, 9);
            assert_eq!(CollectionMeta::of(&rec).unwrap(), m);
        }
        let s = Record::string(Bytes::from_static(b"x"), 0, 0);
        assert!(CollectionMeta::of(&s).is_err());
        let mut bad = CollectionMeta::empty(ValueType::Hash).record(ValueType::Hash, 0, 1);
        bad.payload = Bytes::from_static(b"123");
        assert!(CollectionMeta::of(&bad).is_err());
    }

    #[test]
    fn score_members_split() {
        let sm = score_member(-1.5, b"m");
        assert_eq!(split_score_member(&sm), Some((-1.5, &b"m"[..])));
        assert_eq!(parse_score_value(&score_value(3.0)).unwrap(), 3.0);
        assert!(split_score_member(b"short").is_none());
    }
}

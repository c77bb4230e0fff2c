//! The bytes of a log entry: [`encode`] and [`decode`] turn a [`LogEntry`] into the [`WireEntry`] the Raft
//! log stores, and back.
//!
//! **Why postcard.** The format is serde-derived, so the forty-odd op types need no hand-written encoder
//! that could drift from them; it is compact (integers are varints, no field names or type tags, byte
//! strings are a length and the bytes), and one value always gives the same bytes. raftlog already uses
//! it for openraft's own records, so the log holds one format. postcard's 1.x wire format is specified and
//! stable; what it lacks is any schema evolution, which is what [`WireEntry`] adds.
//!
//! **How versioning works.** On the wire an entry is `WireEntry::V1(entry)`: postcard writes the variant's
//! position as a varint (one byte, `0x00` for V1) and then the entry. Struct fields are written in
//! declaration order, enum variants by position, and nothing is named, so everything reachable from
//! [`LogEntry`] is part of V1's format. [`decode`] reads the tag first and reports a version newer than
//! [`ENTRY_VERSION`] as such, rather than as garbage: that is what an old build sees when a newer leader's
//! entry reaches it.
//!
//! **The rule: within a version, a mutation's bytes and meaning never change.** A log outlives builds: a
//! follower on a new build applies entries an old leader proposed, and a restarted node replays entries it
//! wrote before the upgrade. Every replica must reach the same state from the same bytes, so:
//!
//! * allowed within V1: a new variant appended at the *end* of an enum (old bytes still decode to the
//!   same value), proposed only once every replica runs a build that knows it;
//! * needs a new `WireEntry` variant: adding, removing, reordering or retyping a field; inserting or
//!   reordering variants; and any change to what `apply` does with bytes that already exist (a changed
//!   reply, rounding, default). The old variant stays, and keeps decoding and applying as before, for as
//!   long as any log or snapshot can hold it.
//!
//! The golden tests below pin exact bytes, so an accidental format change fails them. (The file passes 600
//! lines only because its tests build an entry of every op variant; the codec is the first hundred.)

use bytes::Bytes;
use serde::Serialize;

use super::{LogEntry, WireEntry, ENTRY_VERSION};
use crate::slot::SLOT_COUNT;

/// Why bytes are not a log entry this build can apply.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The bytes end before the entry does (a torn or cut-short record).
    #[error("log entry truncated: the bytes end before the entry does")]
    Truncated,
    /// Written in a format version this build does not know (by a newer build).
    #[error("log entry has format version {found}, but this build reads versions up to {newest}")]
    UnknownVersion { found: u64, newest: u8 },
    /// A whole entry decoded, but bytes follow it: the record is not one entry.
    #[error("log entry followed by {0} unexpected trailing bytes")]
    TrailingBytes(usize),
    /// The entry names a slot that does not exist.
    #[error("log entry names slot {0}, outside 0..{SLOT_COUNT}")]
    BadSlot(u16),
    /// The bytes are not an entry (a bad tag, boolean or varint).
    #[error("malformed log entry: {0}")]
    Malformed(postcard::Error),
}

impl From<postcard::Error> for CodecError {
    fn from(e: postcard::Error) -> CodecError {
        match e {
            postcard::Error::DeserializeUnexpectedEnd => CodecError::Truncated,
            other => CodecError::Malformed(other),
        }
    }
}

/// Serializes exactly as [`WireEntry::V1`] (postcard writes no names, only the variant's position and its
/// contents), but borrows the entry, so encoding does not clone it.
#[derive(Serialize)]
enum WireEntryRef<'a> {
    V1(&'a LogEntry),
}

/// Encodes an entry in the newest format ([`ENTRY_VERSION`]).
pub fn encode(entry: &LogEntry) -> Bytes {
    let wire = WireEntryRef::V1(entry);
    // Sizing walks the entry without copying any bytes, and saves growing the buffer for large values.
    let capacity = postcard::serialize_with_flavor(&wire, postcard::ser_flavors::Size::default())
        .unwrap_or(64);
    // Writing into a Vec fails only for data postcard cannot express (a sequence of unknown length), which
    // derived impls over Vecs, tuples and Bytes never produce; the tests encode every op variant.
    let out = postcard::to_extend(&wire, Vec::with_capacity(capacity))
        .expect("log entries always serialize into a Vec");
    Bytes::from(out)
}

/// Decodes one entry, which must fill `bytes` exactly. Never panics: anything but a valid entry of a known
/// version is an error.
pub fn decode(bytes: &[u8]) -> Result<LogEntry, CodecError> {
    let (tag, _) = postcard::take_from_bytes::<u32>(bytes)?;
    if tag >= u32::from(ENTRY_VERSION) {
        return Err(CodecError::UnknownVersion {
            found: u64::from(tag) + 1,
            newest: ENTRY_VERSION,
        });
    }
    let (wire, rest) = postcard::take_from_bytes::<WireEntry>(bytes)?;
    if !rest.is_empty() {
        return Err(CodecError::TrailingBytes(rest.len()));
    }
    let entry = wire.into_entry();
    if usize::from(entry.slot.0) >= SLOT_COUNT {
        return Err(CodecError::BadSlot(entry.slot.0));
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::hashes::{HDelOp, HIncrByFloatOp, HIncrByOp, HSetNxOp, HSetOp, HashOp};
    use crate::cmd::keys::{ExpireCond, KeyOp};
    use crate::cmd::lists::{self, ListOp};
    use crate::cmd::sets::{self, Algebra};
    use crate::cmd::strings::{
        AppendOp, ExpireAction, GetDelOp, GetExAction, GetExOp, IncrByFloatOp, IncrByOp, MSetOp,
        SetCond, SetRangeOp, StringOp,
    };
    use crate::cmd::zsets::read::{RangeKind, RangeQuery};
    use crate::cmd::zsets::score::{LexBound, LexRange, ScoreRange};
    use crate::cmd::zsets::{
        AddOp, Aggregate, Combine, PopOp, PopShape, SetOpKind, StoreOp, ZSetOp,
    };
    use crate::slot::SlotId;
    use crate::statemachine::Mutation;
    use crate::storage::collection::Value;
    use crate::storage::record::{Record, ValueType};

    fn b(s: &'static [u8]) -> Bytes {
        Bytes::from_static(s)
    }

    fn entry(mutation: Mutation) -> LogEntry {
        LogEntry {
            slot: SlotId(1234),
            db: 3,
            now_ms: 1_700_000_000_123,
            mutation,
        }
    }

    /// Number of op variants over all families: `variant` numbers them `0..VARIANTS`.
    const VARIANTS: usize = 42;

    /// One number per op variant of every family. The match is exhaustive, so a new variant does not
    /// compile until it is numbered here; numbering it means raising `VARIANTS`, and then
    /// `every_variant_round_trips` fails until `samples` holds one.
    fn variant(m: &Mutation) -> usize {
        match m {
            Mutation::String(op) => match op {
                StringOp::Set(_) => 0,
                StringOp::MSet(_) => 1,
                StringOp::GetDel(_) => 2,
                StringOp::GetEx(_) => 3,
                StringOp::IncrBy(_) => 4,
                StringOp::IncrByFloat(_) => 5,
                StringOp::Append(_) => 6,
                StringOp::SetRange(_) => 7,
            },
            Mutation::Key(op) => match op {
                KeyOp::Del { .. } => 8,
                KeyOp::ExpireDue { .. } => 9,
                KeyOp::Expire { .. } => 10,
                KeyOp::Persist { .. } => 11,
                KeyOp::Rename { .. } => 12,
                KeyOp::Restore { .. } => 13,
                KeyOp::DelIfUnchanged { .. } => 14,
                KeyOp::Flush { .. } => 15,
            },
            Mutation::Hash(op) => match op {
                HashOp::Set(_) => 16,
                HashOp::SetNx(_) => 17,
                HashOp::Del(_) => 18,
                HashOp::IncrBy(_) => 19,
                HashOp::IncrByFloat(_) => 20,
            },
            Mutation::List(op) => match op {
                ListOp::Push { .. } => 21,
                ListOp::Pop { .. } => 22,
                ListOp::Set { .. } => 23,
                ListOp::Insert { .. } => 24,
                ListOp::Rem { .. } => 25,
                ListOp::Trim { .. } => 26,
                ListOp::Move { .. } => 27,
            },
            Mutation::Set(op) => match op {
                sets::SetOp::Add { .. } => 28,
                sets::SetOp::Rem { .. } => 29,
                sets::SetOp::Pop { .. } => 30,
                sets::SetOp::PopAll { .. } => 31,
                sets::SetOp::Move { .. } => 32,
                sets::SetOp::Store { .. } => 33,
                sets::SetOp::Combine { .. } => 34,
            },
            Mutation::ZSet(op) => match op {
                ZSetOp::Add(_) => 35,
                ZSetOp::Rem { .. } => 36,
                ZSetOp::RemRange { .. } => 37,
                ZSetOp::Pop(_) => 38,
                ZSetOp::RangeStore { .. } => 39,
                ZSetOp::Combine { .. } => 40,
                ZSetOp::Store(_) => 41,
            },
        }
    }

    fn string_set(cond: SetCond, expire: ExpireAction, get: bool) -> Mutation {
        Mutation::String(StringOp::Set(crate::cmd::strings::SetOp {
            key: b(b"key"),
            value: b(b"\x00\xff value"),
            cond,
            expire,
            get,
        }))
    }

    fn string_samples() -> Vec<Mutation> {
        let getex = |action| {
            Mutation::String(StringOp::GetEx(GetExOp {
                key: b(b"k"),
                action,
            }))
        };
        vec![
            string_set(SetCond::Always, ExpireAction::Clear, false),
            string_set(SetCond::Nx, ExpireAction::Keep, true),
            string_set(SetCond::Xx, ExpireAction::At(u64::MAX), false),
            Mutation::String(StringOp::MSet(MSetOp {
                pairs: vec![(b(b"a"), b(b"1")), (b(b""), b(b""))],
                nx: true,
            })),
            Mutation::String(StringOp::GetDel(GetDelOp { key: b(b"k") })),
            getex(GetExAction::Persist),
            getex(GetExAction::At(1_700_000_500_000)),
            getex(GetExAction::NotInteger),
            getex(GetExAction::InvalidExpire),
            Mutation::String(StringOp::IncrBy(IncrByOp {
                key: b(b"n"),
                by: i64::MIN,
            })),
            Mutation::String(StringOp::IncrByFloat(IncrByFloatOp {
                key: b(b"f"),
                by: b(b"-1.5e3"),
            })),
            Mutation::String(StringOp::Append(AppendOp {
                key: b(b"k"),
                value: b(b"tail"),
                max_len: 512 << 20,
            })),
            Mutation::String(StringOp::SetRange(SetRangeOp {
                key: b(b"k"),
                offset: 7,
                value: b(b"mid"),
                max_len: 512 << 20,
            })),
        ]
    }

    fn key_samples() -> Vec<Mutation> {
        let record = |vtype| Record {
            vtype,
            expire_at: 1_700_000_900_000,
            version: 42,
            payload: b(b"\x02\x00"),
        };
        let hash = Value {
            record: record(ValueType::Hash),
            members: vec![(b(b"field"), b(b"value")), (b(b"f2"), b(b""))],
        };
        let cond = ExpireCond {
            nx: false,
            xx: true,
            gt: true,
            lt: false,
        };
        vec![
            Mutation::Key(KeyOp::Del {
                keys: vec![b(b"a"), b(b"b")],
            }),
            Mutation::Key(KeyOp::ExpireDue {
                entries: vec![(b(b"\x01idx"), 1_699_999_999_999, b(b"a"))],
            }),
            Mutation::Key(KeyOp::Expire {
                key: b(b"k"),
                when: -5,
                cond,
            }),
            Mutation::Key(KeyOp::Persist { key: b(b"k") }),
            Mutation::Key(KeyOp::Rename {
                src: b(b"s"),
                dst: b(b"d"),
                nx: true,
            }),
            Mutation::Key(KeyOp::Restore {
                key: b(b"h"),
                value: hash.clone(),
                replace: false,
            }),
            Mutation::Key(KeyOp::Restore {
                key: b(b"s"),
                value: Value {
                    record: record(ValueType::String),
                    members: vec![],
                },
                replace: true,
            }),
            Mutation::Key(KeyOp::DelIfUnchanged {
                key: b(b"h"),
                expect: hash,
            }),
            Mutation::Key(KeyOp::DelIfUnchanged {
                key: b(b"l"),
                expect: Value {
                    record: record(ValueType::List),
                    members: vec![],
                },
            }),
            Mutation::Key(KeyOp::Restore {
                key: b(b"z"),
                value: Value {
                    record: record(ValueType::ZSet),
                    members: vec![],
                },
                replace: true,
            }),
            Mutation::Key(KeyOp::Restore {
                key: b(b"t"),
                value: Value {
                    record: record(ValueType::Set),
                    members: vec![],
                },
                replace: true,
            }),
            Mutation::Key(KeyOp::Flush { all: true }),
        ]
    }

    fn hash_samples() -> Vec<Mutation> {
        vec![
            Mutation::Hash(HashOp::Set(HSetOp {
                key: b(b"h"),
                pairs: vec![(b(b"f"), b(b"v"))],
                ok_reply: true,
            })),
            Mutation::Hash(HashOp::SetNx(HSetNxOp {
                key: b(b"h"),
                field: b(b"f"),
                value: b(b"v"),
            })),
            Mutation::Hash(HashOp::Del(HDelOp {
                key: b(b"h"),
                fields: vec![b(b"f"), b(b"g")],
            })),
            Mutation::Hash(HashOp::IncrBy(HIncrByOp {
                key: b(b"h"),
                field: b(b"n"),
                by: -3,
            })),
            Mutation::Hash(HashOp::IncrByFloat(HIncrByFloatOp {
                key: b(b"h"),
                field: b(b"f"),
                by: b(b"0.1"),
            })),
        ]
    }

    fn list_samples() -> Vec<Mutation> {
        let pop = |count, shape| {
            Mutation::List(ListOp::Pop {
                key: b(b"l"),
                left: true,
                count,
                shape,
            })
        };
        vec![
            Mutation::List(ListOp::Push {
                key: b(b"l"),
                elements: vec![b(b"x"), b(b"")],
                left: false,
                only_existing: true,
            }),
            pop(None, lists::PopShape::Bulk),
            pop(Some(3), lists::PopShape::Array),
            pop(None, lists::PopShape::KeyBulk),
            pop(Some(u64::MAX), lists::PopShape::KeyArray),
            Mutation::List(ListOp::Set {
                key: b(b"l"),
                index: -1,
                element: b(b"e"),
            }),
            Mutation::List(ListOp::Insert {
                key: b(b"l"),
                after: true,
                pivot: b(b"p"),
                element: b(b"e"),
            }),
            Mutation::List(ListOp::Rem {
                key: b(b"l"),
                count: -2,
                element: b(b"e"),
            }),
            Mutation::List(ListOp::Trim {
                key: b(b"l"),
                start: 0,
                stop: i64::MAX,
            }),
            Mutation::List(ListOp::Move {
                src: b(b"a"),
                dst: b(b"b"),
                from_left: false,
                to_left: true,
            }),
        ]
    }

    fn set_samples() -> Vec<Mutation> {
        let combine = |algebra| {
            Mutation::Set(sets::SetOp::Combine {
                dst: b(b"d"),
                algebra,
                keys: vec![b(b"a"), b(b"b")],
            })
        };
        vec![
            Mutation::Set(sets::SetOp::Add {
                key: b(b"s"),
                members: vec![b(b"m")],
            }),
            Mutation::Set(sets::SetOp::Rem {
                key: b(b"s"),
                members: vec![b(b"m"), b(b"n")],
            }),
            Mutation::Set(sets::SetOp::Pop {
                key: b(b"s"),
                members: vec![b(b"m")],
                count: true,
            }),
            Mutation::Set(sets::SetOp::PopAll { key: b(b"s") }),
            Mutation::Set(sets::SetOp::Move {
                src: b(b"a"),
                dst: b(b"b"),
                member: b(b"m"),
            }),
            Mutation::Set(sets::SetOp::Store {
                dst: b(b"d"),
                members: vec![],
            }),
            combine(Algebra::Inter),
            combine(Algebra::Union),
            combine(Algebra::Diff),
        ]
    }

    fn zset_samples() -> Vec<Mutation> {
        let range = |kind| Mutation::ZSet(ZSetOp::RemRange { key: b(b"z"), kind });
        let pop = |shape| {
            Mutation::ZSet(ZSetOp::Pop(PopOp {
                key: b(b"z"),
                max: true,
                count: 2,
                shape,
            }))
        };
        let combine = |kind, aggregate| {
            Mutation::ZSet(ZSetOp::Combine {
                dst: b(b"d"),
                combine: Combine {
                    kind,
                    keys: vec![b(b"a"), b(b"b")],
                    weights: vec![1.0, -0.5],
                    aggregate,
                },
            })
        };
        vec![
            Mutation::ZSet(ZSetOp::Add(AddOp {
                key: b(b"z"),
                nx: true,
                xx: false,
                gt: true,
                lt: false,
                ch: true,
                incr: false,
                pairs: vec![
                    (1.5, b(b"m")),
                    (f64::NEG_INFINITY, b(b"lo")),
                    (f64::INFINITY, b(b"")),
                ],
            })),
            Mutation::ZSet(ZSetOp::Rem {
                key: b(b"z"),
                members: vec![b(b"m")],
            }),
            range(RangeKind::Rank { start: -3, end: -1 }),
            range(RangeKind::Score(ScoreRange {
                min: f64::NEG_INFINITY,
                max: 2.25,
                minex: false,
                maxex: true,
            })),
            range(RangeKind::Lex(LexRange {
                min: LexBound::Min,
                max: LexBound::Max,
            })),
            range(RangeKind::Lex(LexRange {
                min: LexBound::Incl(b(b"a")),
                max: LexBound::Excl(b(b"c")),
            })),
            pop(PopShape::Single),
            pop(PopShape::Counted),
            pop(PopShape::Keyed),
            pop(PopShape::KeyedFlat),
            Mutation::ZSet(ZSetOp::RangeStore {
                dst: b(b"d"),
                src: b(b"z"),
                query: RangeQuery {
                    kind: RangeKind::Score(ScoreRange {
                        min: 0.0,
                        max: 10.0,
                        minex: true,
                        maxex: false,
                    }),
                    reverse: true,
                    offset: 1,
                    limit: -1,
                },
            }),
            combine(SetOpKind::Union, Aggregate::Sum),
            combine(SetOpKind::Inter, Aggregate::Min),
            combine(SetOpKind::Diff, Aggregate::Max),
            Mutation::ZSet(ZSetOp::Store(StoreOp {
                key: b(b"d"),
                members: vec![(b(b"m"), -0.25), (b(b"n"), 1e300)],
            })),
        ]
    }

    fn samples() -> Vec<LogEntry> {
        [
            string_samples(),
            key_samples(),
            hash_samples(),
            list_samples(),
            set_samples(),
            zset_samples(),
        ]
        .into_iter()
        .flatten()
        .map(entry)
        .collect()
    }

    #[test]
    fn every_variant_round_trips() {
        let mut seen = [false; VARIANTS];
        for e in samples() {
            seen[variant(&e.mutation)] = true;
            let bytes = encode(&e);
            assert_eq!(decode(&bytes).unwrap(), e);
            // The borrowed encoder writes exactly what the owned `WireEntry` would.
            let owned = postcard::to_allocvec(&WireEntry::from(e.clone())).unwrap();
            assert_eq!(bytes, owned);
            assert_eq!(WireEntry::from(e).version(), ENTRY_VERSION);
        }
        let missing: Vec<usize> = (0..VARIANTS).filter(|&v| !seen[v]).collect();
        assert!(missing.is_empty(), "no sample for op variants {missing:?}");
    }

    #[test]
    fn version_tags_follow_variant_positions() {
        // Exhaustive: a new WireEntry variant does not compile until it is listed, with its position.
        let position = |w: &WireEntry| match w {
            WireEntry::V1(_) => 0u8,
        };
        let w = WireEntry::from(samples().remove(0));
        assert_eq!(position(&w) + 1, w.version());
        assert_eq!(
            w.version(),
            ENTRY_VERSION,
            "WireEntry::from must build the newest version"
        );
        assert_eq!(encode(&w.clone().into_entry())[0], position(&w));
        // What openraft prints: no keys or values.
        assert_eq!(w.to_string(), "v1 slot 1234 db 3 string write");
    }

    #[test]
    fn golden_set_bytes() {
        let e = LogEntry {
            slot: SlotId(5),
            db: 0,
            now_ms: 1_700_000_000_000,
            mutation: Mutation::String(StringOp::Set(crate::cmd::strings::SetOp {
                key: b(b"k"),
                value: b(b"v"),
                cond: SetCond::Nx,
                expire: ExpireAction::At(1_700_000_060_000),
                get: false,
            })),
        };
        #[rustfmt::skip]
        let expected: &[u8] = &[
            0x00,                                     // WireEntry::V1
            0x05,                                     // slot, varint
            0x00,                                     // db, one byte
            0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31,       // now_ms, varint
            0x00, 0x00,                               // Mutation::String, StringOp::Set
            0x01, b'k', 0x01, b'v',                   // key, value: length and bytes
            0x01,                                     // SetCond::Nx
            0x02, 0xe0, 0xa4, 0x99, 0xff, 0xbc, 0x31, // ExpireAction::At(varint)
            0x00,                                     // get: false
        ];
        assert_eq!(&encode(&e)[..], expected);
        assert_eq!(decode(expected).unwrap(), e);
    }

    #[test]
    fn golden_zadd_bytes() {
        let e = LogEntry {
            slot: SlotId(2047),
            db: 15,
            now_ms: 0,
            mutation: Mutation::ZSet(ZSetOp::Add(AddOp {
                key: b(b"z"),
                nx: false,
                xx: false,
                gt: false,
                lt: false,
                ch: true,
                incr: false,
                pairs: vec![(1.5, b(b"m"))],
            })),
        };
        #[rustfmt::skip]
        let expected: &[u8] = &[
            0x00, 0xff, 0x0f, 0x0f, 0x00,                   // V1, slot 2047, db 15, now_ms 0
            0x05, 0x00,                                     // Mutation::ZSet, ZSetOp::Add
            0x01, b'z',                                     // key
            0x00, 0x00, 0x00, 0x00, 0x01, 0x00,             // nx xx gt lt ch incr
            0x01,                                           // one pair
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f, // 1.5, IEEE 754 little-endian
            0x01, b'm',
        ];
        assert_eq!(&encode(&e)[..], expected);
        assert_eq!(decode(expected).unwrap(), e);
    }

    /// CRC-32C of each sample's encoding, in `samples()` order: pins the format of every op type, not just
    /// the two spelled out above. A new sample appends its CRC; an existing CRC must never change.
    #[rustfmt::skip]
    const SAMPLE_CRCS: &[u32] = &[
        0x39224078, 0x7daac972, 0x52a11b18, 0x6a7c5503, 0xed436e86, 0x2b826617, 0x3f0df12e,
        0xcab916e0, 0x38d295e3, 0xefe236bf, 0x392a2820, 0xd20b979b, 0x305188be, 0xc2bddea2,
        0xf458e835, 0xdcb6e543, 0x95475640, 0x9bf84707, 0xa53ccf5e, 0x1646266b, 0xb1ab00a3,
        0x8a1185b6, 0x2aebd56b, 0xeec8b2e7, 0xee186fb3, 0x1461dc78, 0x8aab9ad3, 0x4669db40,
        0xa57df159, 0xcd47b6bd, 0xe6d97eb4, 0x2c66ef31, 0xf31446e8, 0xcd5d9fc6, 0x9a8d8577,
        0x5f4f3be2, 0x41850cc6, 0x7959fe5b, 0x9d823a21, 0x0b2a3fcb, 0x15df1976, 0x900882fa,
        0x273ce53e, 0xa9a752ab, 0x1e52a79a, 0xe8fbc028, 0x2fdc2646, 0xc0ec4d5f, 0xf4508685,
        0xf38d2cce, 0xb9ed97f9, 0x4a1ff333, 0x814c31e9, 0x58585895, 0xad3864bc, 0x88684012,
        0x7a03c311, 0x695330e5, 0x9b38b3e6, 0x5b18be72, 0x2d9e423e, 0x65ba03b3, 0xbdd6c124,
        0x35211feb,
    ];

    #[test]
    fn golden_every_sample() {
        let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
        let got: Vec<u32> = samples().iter().map(|e| crc.checksum(&encode(e))).collect();
        assert_eq!(
            got, SAMPLE_CRCS,
            "format of an existing op changed (or a new sample needs its CRC)"
        );
    }

    #[test]
    fn truncated_input_is_an_error() {
        for e in samples() {
            let bytes = encode(&e);
            for len in 0..bytes.len() {
                assert!(
                    matches!(decode(&bytes[..len]), Err(CodecError::Truncated)),
                    "{len} of {} bytes of {e:?}",
                    bytes.len()
                );
            }
        }
        assert_eq!(
            CodecError::Truncated.to_string(),
            "log entry truncated: the bytes end before the entry does"
        );
    }

    #[test]
    fn unknown_version_is_reported() {
        let mut bytes = encode(&samples()[0]).to_vec();
        bytes[0] = 0x01;
        let err = decode(&bytes).unwrap_err();
        assert!(
            matches!(
                err,
                CodecError::UnknownVersion {
                    found: 2,
                    newest: 1
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "log entry has format version 2, but this build reads versions up to 1"
        );
        // A tag too long for a u32 varint is garbage, not a version.
        let err = decode(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap_err();
        assert!(matches!(err, CodecError::Malformed(_)), "{err:?}");
    }

    #[test]
    fn trailing_bytes_bad_slot_and_bad_values_are_errors() {
        let golden = encode(&samples()[0]).to_vec();
        let mut long = golden.clone();
        long.extend_from_slice(b"xy");
        assert!(matches!(decode(&long), Err(CodecError::TrailingBytes(2))));

        // Slot 2048 (varint 0x80 0x10) in place of 1234 (0xd2 0x09).
        let mut slot = golden.clone();
        assert_eq!(&slot[1..3], &[0xd2, 0x09]);
        slot[1..3].copy_from_slice(&[0x80, 0x10]);
        let err = decode(&slot).unwrap_err();
        assert!(matches!(err, CodecError::BadSlot(2048)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "log entry names slot 2048, outside 0..2048"
        );

        // The last byte of the first sample is SET's `get` flag: 2 is not a bool.
        let mut flag = golden.clone();
        *flag.last_mut().unwrap() = 2;
        assert!(matches!(decode(&flag), Err(CodecError::Malformed(_))));

        // An unknown op variant inside a known version.
        let mut op = golden;
        assert_eq!(op[11], 0x00, "StringOp::Set");
        op[11] = 0x7f;
        assert!(matches!(decode(&op), Err(CodecError::Malformed(_))));

        // A byte string claiming far more bytes than there are: an error, not an allocation.
        let huge = [
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f,
        ];
        assert!(matches!(decode(&huge), Err(CodecError::Truncated)));
    }

    #[test]
    fn garbage_never_panics() {
        // xorshift64: deterministic, so a failure reproduces.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let valid: Vec<Vec<u8>> = samples().iter().map(|e| encode(e).to_vec()).collect();
        let mut decoded = 0;
        for round in 0..20_000 {
            let bytes: Vec<u8> = if round % 2 == 0 {
                let len = (next() % 64) as usize;
                (0..len).map(|_| next() as u8).collect()
            } else {
                // A valid entry with one byte flipped: gets past the version tag.
                let mut v = valid[(next() as usize) % valid.len()].clone();
                let at = (next() as usize) % v.len();
                v[at] ^= (next() as u8) | 1;
                v
            };
            if let Ok(e) = decode(&bytes) {
                assert!(usize::from(e.slot.0) < SLOT_COUNT);
                decoded += 1;
            }
        }
        // Flipped bytes often still decode (another key, another count); the test is that nothing panics.
        assert!(decoded > 0);
    }
}

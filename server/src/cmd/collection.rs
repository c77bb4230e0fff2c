//! What every collection command (hashes, lists, sets, sorted sets) shares: loading a key as a collection
//! of one type (or WRONGTYPE), writing back its metadata (an emptied collection is deleted, as in Redis),
//! and the member cursor behind HSCAN, SSCAN and ZSCAN.
//!
//! Member scans resume from a member, not from an offset, so each call costs what it returns whatever the
//! collection's size. The cursor a client sees is a token naming "this key, this version, from this
//! member" in the core's [`ScanCursors`](super::keys::ScanCursors) table (bounded, oldest evicted); an
//! unknown or evicted token restarts the scan from the first member, which keeps SCAN's guarantee (every
//! member present for the whole scan is returned at least once).

use bytes::{BufMut, Bytes, BytesMut};
use resp::Reply;

use super::args::{is, parse_i64};
use super::keys::pattern;
use super::{CmdError, Ctx};
use crate::slot::SlotId;
use crate::statemachine::SlotWriter;
use crate::storage::collection::{CollectionMeta, Family};
use crate::storage::record::{Record, ValueType};

/// A live collection: its metadata record and decoded metadata.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub record: Record,
    pub meta: CollectionMeta,
}

impl Loaded {
    pub fn version(&self) -> u64 {
        self.record.version
    }
}

fn typed(rec: Option<Record>, vtype: ValueType) -> Result<Option<Loaded>, CmdError> {
    match rec {
        None => Ok(None),
        Some(r) if r.vtype != vtype => Err(CmdError::WrongType),
        Some(record) => {
            let meta = CollectionMeta::of(&record).map_err(crate::storage::StorageError::from)?;
            Ok(Some(Loaded { record, meta }))
        }
    }
}

/// Reads `key` as a collection of `vtype` for a read command: `None` if it does not exist, WRONGTYPE if it
/// holds another type.
pub fn read(ctx: &Ctx<'_>, key: &[u8], vtype: ValueType) -> Result<Option<Loaded>, CmdError> {
    typed(ctx.get(key)?, vtype)
}

/// Reads `key` as a collection of `vtype` inside a mutation (the entry's own writes included).
pub fn load(
    w: &mut SlotWriter<'_>,
    key: &[u8],
    vtype: ValueType,
) -> Result<Option<Loaded>, CmdError> {
    typed(w.get(key)?, vtype)
}

/// Like [`load`], but creates an empty collection (fresh version, not stored yet) when the key is absent.
pub fn load_or_create(
    w: &mut SlotWriter<'_>,
    key: &[u8],
    vtype: ValueType,
) -> Result<Loaded, CmdError> {
    match load(w, key, vtype)? {
        Some(l) => Ok(l),
        None => {
            let record = w.new_collection(vtype)?;
            Ok(Loaded {
                meta: CollectionMeta::empty(vtype),
                record,
            })
        }
    }
}

/// Writes back a collection's metadata after its members changed: deleted when it became empty (its
/// members are all gone already, or orphaned by version), else stored with the new count, keeping its
/// deadline. Not rewritten when nothing in it changed (HSET of an existing field, ZADD of a new score):
/// the member write alone is the whole change.
pub fn store(w: &mut SlotWriter<'_>, key: &Bytes, loaded: &Loaded) -> Result<(), CmdError> {
    if loaded.meta.count == 0 {
        w.delete(key)?;
    } else if CollectionMeta::of(&loaded.record).ok() == Some(loaded.meta)
        && w.get_stored(key)?.as_ref() == Some(&loaded.record)
    {
        // Unchanged and already stored as is; the members changed, so the key was still written.
        w.touch(key);
    } else {
        let rec = loaded.meta.record(
            loaded.record.vtype,
            loaded.record.expire_at,
            loaded.record.version,
        );
        w.put(key, rec)?;
    }
    Ok(())
}

/// The slot of a key (commands whose keys are all in one slot use the first key's).
pub fn slot_of(key: &[u8]) -> SlotId {
    SlotId::of_key(key)
}

/// Parsed `cursor [MATCH pattern] [COUNT count]` of HSCAN / SSCAN / ZSCAN (args start at the cursor).
pub struct MemberScanArgs {
    pub cursor: u64,
    pub pattern: Option<Bytes>,
    pub count: usize,
}

/// Parses the cursor and options with Redis's checks and error texts.
pub fn parse_member_scan(args: &[Bytes]) -> Result<MemberScanArgs, CmdError> {
    // strtoul's rules, as SCAN: a sign is allowed (negative wraps), "" is 0.
    let cursor = super::keys::scan::parse_cursor(&args[0])?;
    let mut out = MemberScanArgs {
        cursor,
        pattern: None,
        count: 10,
    };
    let mut i = 1;
    while i < args.len() {
        let a = &args[i];
        let has_value = i + 1 < args.len();
        if is(a, "count") && has_value {
            let n = parse_i64(&args[i + 1])?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            out.count = n as usize;
            i += 2;
        } else if is(a, "match") && has_value {
            let p = &args[i + 1];
            // MATCH * matches everything: skip the matcher, as Redis does.
            out.pattern = (p.as_ref() != b"*").then(|| p.clone());
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(out)
}

/// One step of a member scan over `family` of `key` (at most `count` members visited): calls `emit`
/// with each matching member and its value, and returns the cursor to reply with (0 when done).
pub fn scan_members(
    ctx: &Ctx<'_>,
    key: &[u8],
    loaded: &Loaded,
    family: Family,
    args: &MemberScanArgs,
    mut emit: impl FnMut(&[u8], &[u8]),
) -> Result<u64, CmdError> {
    let slot = SlotId::of_key(key);
    let version = loaded.version();
    let resume = match args.cursor {
        0 => None,
        token => {
            let cursors = ctx.shard.scan_cursors.borrow();
            cursors
                .resume(token, slot, ctx.db)
                .and_then(|r| split_resume(&r, key, version))
        }
    };
    let mut c = ctx
        .shard
        .store
        .member_cursor(family, slot, ctx.db, key, version);
    match &resume {
        Some(m) => c.seek(m),
        None => c.seek_to_first(),
    }
    let mut visited = 0;
    while c.valid() && visited < args.count {
        let member = c.member();
        if args
            .pattern
            .as_ref()
            .is_none_or(|p| pattern::matches(p, member))
        {
            emit(member, c.value());
        }
        visited += 1;
        c.next();
    }
    c.status()?;
    if !c.valid() {
        return Ok(0);
    }
    let resume = join_resume(key, version, c.member());
    let token = ctx
        .shard
        .scan_cursors
        .borrow_mut()
        .insert(slot, ctx.db, resume);
    Ok(token)
}

/// `keylen · key · version · member`: a resume point that only the same key and version accept.
fn join_resume(key: &[u8], version: u64, member: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(12 + key.len() + member.len());
    b.put_u32(key.len() as u32);
    b.put_slice(key);
    b.put_u64(version);
    b.put_slice(member);
    b.freeze()
}

fn split_resume(raw: &[u8], key: &[u8], version: u64) -> Option<Vec<u8>> {
    let len = u32::from_be_bytes(raw.get(..4)?.try_into().ok()?) as usize;
    let k = raw.get(4..4 + len)?;
    let v = u64::from_be_bytes(raw.get(4 + len..12 + len)?.try_into().ok()?);
    (k == key && v == version).then(|| raw[12 + len..].to_vec())
}

/// The reply of a member scan: `[cursor, [items...]]`.
pub fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(cursor.to_string())),
        Reply::Array(items),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_points_belong_to_one_key_and_version() {
        let r = join_resume(b"h", 7, b"field");
        assert_eq!(split_resume(&r, b"h", 7), Some(b"field".to_vec()));
        assert_eq!(split_resume(&r, b"h", 8), None);
        assert_eq!(split_resume(&r, b"g", 7), None);
        assert_eq!(split_resume(b"\x00", b"h", 7), None);
    }

    #[test]
    fn scan_options_parse_like_redis() {
        let a =
            |v: &[&str]| -> Vec<Bytes> { v.iter().map(|s| Bytes::from(s.to_string())).collect() };
        let p = parse_member_scan(&a(&["0", "MATCH", "f*", "COUNT", "5"])).unwrap();
        assert_eq!((p.cursor, p.count), (0, 5));
        assert_eq!(p.pattern.as_deref(), Some(&b"f*"[..]));
        assert!(parse_member_scan(&a(&["x"])).is_err());
        assert_eq!(parse_member_scan(&a(&[""])).unwrap().cursor, 0);
        assert_eq!(parse_member_scan(&a(&["-1"])).unwrap().cursor, u64::MAX);
        assert!(parse_member_scan(&a(&["0", "COUNT", "0"])).is_err());
        assert!(parse_member_scan(&a(&["0", "COUNT"])).is_err());
        assert!(parse_member_scan(&a(&["0", "MATCH", "*"]))
            .unwrap()
            .pattern
            .is_none());
    }
}

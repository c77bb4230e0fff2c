//! The on-disk format: segment headers, batch frames and records, and nothing else.
//!
//! Every byte layout the engine writes is defined here, so the format can be read (and changed) in
//! one place; the crate docs describe it for humans. All integers are little-endian.
//!
//! Why two levels of framing:
//! - A **record** carries its own crc32c, so one entry can be read back from disk (a cache miss)
//!   and verified without reading anything around it.
//! - A **batch** is exactly what one group-commit write put on disk. Its header says how many
//!   bytes and records follow, so recovery can tell a *torn* write (the last batch is incomplete
//!   or fails a checksum, nothing valid after it: the write that was in flight at the crash) from
//!   *corruption* (a bad batch followed by a valid one: acknowledged data damaged, which must stop
//!   recovery instead of being skipped). Records inside a batch are not individually framed for
//!   that purpose: a batch is valid only if its header checksum holds and every record in it does.

/// Size of the segment header block. Data starts at this offset, which keeps every write of the
/// first block of data aligned for O_DIRECT.
pub const SEGMENT_HEADER_LEN: u64 = 4096;
/// First eight bytes of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"SKVRAFTL";
/// Format version written into every segment header; recovery refuses other versions.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes of the segment header that carry information (the rest of the block is zero).
const SEGMENT_HEADER_USED: usize = 32;

/// Magic number at the start of every batch header ("RLB1").
pub const BATCH_MAGIC: u32 = u32::from_le_bytes(*b"RLB1");
/// Batch header length; batches start at 8-byte aligned offsets.
pub const BATCH_HEADER_LEN: usize = 16;
/// Alignment of batch starts inside a segment.
pub const BATCH_ALIGN: u64 = 8;
/// Record header length.
pub const RECORD_HEADER_LEN: usize = 32;
/// Largest payload of one record (an entry, a vote, a marker): room for a Redis command carrying a
/// 512 MB value (`proto-max-bulk-len`) and its framing.
pub const MAX_PAYLOAD: usize = 1 << 30;
/// Largest body of one batch; staging refuses records beyond it until the flusher catches up. The
/// batch header stores the body length as a u32.
pub const MAX_BATCH_BODY: usize = 3 << 30;

/// Rounds `v` up to the batch alignment.
pub fn align_batch(v: u64) -> u64 {
    v.div_ceil(BATCH_ALIGN) * BATCH_ALIGN
}

/// What a record means. The numeric values are part of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A log entry of a group: `term`, `index`, payload = the entry.
    Entry = 1,
    /// Removes the group's entries with index >= `index` (a conflicting suffix).
    Truncate = 2,
    /// Removes the group's entries with index <= `index`; payload = caller's marker for the
    /// purged position (for openraft: the encoded last purged log id); `term` is informational.
    Purge = 3,
    /// The group's vote (payload opaque to the engine).
    Vote = 4,
    /// The group's committed marker (payload opaque).
    Committed = 5,
    /// The group's applied marker (payload opaque).
    Applied = 6,
    /// Forgets the group entirely: entries, markers and purge state.
    RemoveGroup = 7,
    /// Segment `term` was fdatasynced through byte `index` (written without `sync_each_batch`, at the
    /// start of the first batch after a sync). Recovery never cuts a tail inside that range.
    SyncMark = 8,
}

impl RecordKind {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => Self::Entry,
            2 => Self::Truncate,
            3 => Self::Purge,
            4 => Self::Vote,
            5 => Self::Committed,
            6 => Self::Applied,
            7 => Self::RemoveGroup,
            8 => Self::SyncMark,
            _ => return None,
        })
    }
}

/// Fills `block` (a segment's first block) with segment `seq`'s header and zeros after it.
pub fn fill_segment_header_block(block: &mut [u8], seq: u64) {
    let h = encode_segment_header(seq);
    block[..h.len()].copy_from_slice(&h);
    block[h.len()..].fill(0);
}

/// Encodes a segment header block prefix (the caller zero-fills the rest of the block).
pub fn encode_segment_header(seq: u64) -> [u8; SEGMENT_HEADER_USED] {
    let mut h = [0u8; SEGMENT_HEADER_USED];
    h[0..8].copy_from_slice(&SEGMENT_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(SEGMENT_HEADER_LEN as u32).to_le_bytes());
    h[16..24].copy_from_slice(&seq.to_le_bytes());
    let crc = crc32c::crc32c(&h[0..28]);
    h[28..32].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Why a segment header was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentHeaderProblem {
    /// Fewer bytes than a header.
    Short,
    /// Every byte is zero: the file was created but its header never reached the disk.
    Blank,
    /// Bad magic or checksum.
    Garbled,
    /// A format version this build cannot read.
    Version(u32),
}

/// Decodes a segment header and returns the sequence number it carries.
pub fn decode_segment_header(b: &[u8]) -> Result<u64, SegmentHeaderProblem> {
    if b.len() < SEGMENT_HEADER_USED {
        return Err(SegmentHeaderProblem::Short);
    }
    let h = &b[..SEGMENT_HEADER_USED];
    if h.iter().all(|&x| x == 0) {
        return Err(SegmentHeaderProblem::Blank);
    }
    if h[0..8] != SEGMENT_MAGIC || crc32c::crc32c(&h[0..28]) != le_u32(&h[28..32]) {
        return Err(SegmentHeaderProblem::Garbled);
    }
    let version = le_u32(&h[8..12]);
    if version != FORMAT_VERSION || le_u32(&h[12..16]) as u64 != SEGMENT_HEADER_LEN {
        return Err(SegmentHeaderProblem::Version(version));
    }
    Ok(le_u64(&h[16..24]))
}

/// Checksum of a batch header: covers the segment and offset the batch was written at as well as
/// its fields, so a batch is only valid in its own place. A batch-shaped byte string inside an
/// entry's payload, or a stale copy elsewhere, never passes.
fn batch_header_crc(h: &[u8], seg: u64, offset: u64) -> u32 {
    let c = crc32c::crc32c(&seg.to_le_bytes());
    let c = crc32c::crc32c_append(c, &offset.to_le_bytes());
    crc32c::crc32c_append(c, &h[0..12])
}

/// Writes the header of a batch at `offset` of segment `seg`, for a body of `body_len` bytes
/// holding `count` records.
pub fn encode_batch_header(
    seg: u64,
    offset: u64,
    body_len: u32,
    count: u32,
) -> [u8; BATCH_HEADER_LEN] {
    let mut h = [0u8; BATCH_HEADER_LEN];
    h[0..4].copy_from_slice(&BATCH_MAGIC.to_le_bytes());
    h[4..8].copy_from_slice(&body_len.to_le_bytes());
    h[8..12].copy_from_slice(&count.to_le_bytes());
    let crc = batch_header_crc(&h, seg, offset);
    h[12..16].copy_from_slice(&crc.to_le_bytes());
    h
}

/// A decoded batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Bytes of records after the header.
    pub body_len: u32,
    /// Number of records in the body.
    pub count: u32,
}

impl BatchHeader {
    /// Total bytes from the header start to the start of the next batch.
    pub fn span(&self) -> u64 {
        align_batch(BATCH_HEADER_LEN as u64 + self.body_len as u64)
    }
}

/// Decodes the header of a batch at `offset` of segment `seg`; `None` if the magic or the
/// checksum does not match.
pub fn decode_batch_header(b: &[u8], seg: u64, offset: u64) -> Option<BatchHeader> {
    if b.len() < BATCH_HEADER_LEN || le_u32(&b[0..4]) != BATCH_MAGIC {
        return None;
    }
    if batch_header_crc(b, seg, offset) != le_u32(&b[12..16]) {
        return None;
    }
    Some(BatchHeader {
        body_len: le_u32(&b[4..8]),
        count: le_u32(&b[8..12]),
    })
}

/// Appends one record to `buf`.
///
/// The caller checks `payload.len() <= MAX_PAYLOAD`.
pub fn encode_record(
    buf: &mut Vec<u8>,
    kind: RecordKind,
    group: u32,
    term: u64,
    index: u64,
    payload: &[u8],
) {
    debug_assert!(payload.len() <= MAX_PAYLOAD);
    let start = buf.len();
    buf.reserve(RECORD_HEADER_LEN + payload.len());
    buf.extend_from_slice(&[0u8; 4]);
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&[kind as u8, 0, 0, 0]);
    buf.extend_from_slice(&group.to_le_bytes());
    buf.extend_from_slice(&term.to_le_bytes());
    buf.extend_from_slice(&index.to_le_bytes());
    buf.extend_from_slice(payload);
    let crc = crc32c::crc32c(&buf[start + 4..]);
    buf[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Bytes a record with a payload of `payload_len` bytes occupies.
pub fn record_len(payload_len: usize) -> usize {
    RECORD_HEADER_LEN + payload_len
}

/// A record decoded in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// What the record means.
    pub kind: RecordKind,
    /// Raft group it belongs to.
    pub group: u32,
    /// Term (entries, purge).
    pub term: u64,
    /// Log index (entries, truncate, purge).
    pub index: u64,
    /// Payload bytes.
    pub payload: &'a [u8],
}

/// Why a record did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordProblem {
    /// The buffer ends before the record does.
    Short,
    /// The length field is beyond [`MAX_PAYLOAD`].
    Length,
    /// The checksum does not match.
    Checksum,
    /// Unknown kind byte, or non-zero reserved bytes.
    Kind,
}

impl std::fmt::Display for RecordProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Short => "record extends past its batch",
            Self::Length => "record length out of range",
            Self::Checksum => "record checksum mismatch",
            Self::Kind => "unknown record kind",
        })
    }
}

/// Decodes the record at the start of `b`; returns it and the bytes it occupies.
pub fn decode_record(b: &[u8]) -> Result<(RecordView<'_>, usize), RecordProblem> {
    if b.len() < RECORD_HEADER_LEN {
        return Err(RecordProblem::Short);
    }
    let len = le_u32(&b[4..8]) as usize;
    if len > MAX_PAYLOAD {
        return Err(RecordProblem::Length);
    }
    let total = RECORD_HEADER_LEN + len;
    if b.len() < total {
        return Err(RecordProblem::Short);
    }
    if crc32c::crc32c(&b[4..total]) != le_u32(&b[0..4]) {
        return Err(RecordProblem::Checksum);
    }
    let kind = RecordKind::from_u8(b[8]).ok_or(RecordProblem::Kind)?;
    if b[9..12] != [0, 0, 0] {
        return Err(RecordProblem::Kind);
    }
    let view = RecordView {
        kind,
        group: le_u32(&b[12..16]),
        term: le_u64(&b[16..24]),
        index: le_u64(&b[24..32]),
        payload: &b[RECORD_HEADER_LEN..total],
    };
    Ok((view, total))
}

/// The outcome of decoding a batch at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum BatchParse<'a> {
    /// A complete, valid batch: its records (offsets relative to the batch start) and its span.
    Valid {
        /// `(offset from batch start, record)` for every record.
        records: Vec<(usize, RecordView<'a>)>,
        /// Exact length of the batch (header and body).
        len: u64,
        /// Bytes from this batch's start to the next batch's start.
        span: u64,
    },
    /// The header is valid but the buffer ends before the batch does: read more.
    NeedMore(u64),
    /// The header bytes are all zero: the end of the written log.
    Zero,
    /// Not a valid batch (bad header, bad record, or records do not fill the body exactly).
    Invalid(&'static str),
}

/// Decodes the batch at the start of `b` (which sits at `offset` of segment `seg`), verifying
/// every record in it.
pub fn parse_batch(b: &[u8], seg: u64, offset: u64) -> BatchParse<'_> {
    if b.len() < BATCH_HEADER_LEN {
        return BatchParse::NeedMore(BATCH_HEADER_LEN as u64);
    }
    if b[..BATCH_HEADER_LEN].iter().all(|&x| x == 0) {
        return BatchParse::Zero;
    }
    let Some(h) = decode_batch_header(b, seg, offset) else {
        return BatchParse::Invalid("bad batch header");
    };
    let end = BATCH_HEADER_LEN + h.body_len as usize;
    if b.len() < end {
        return BatchParse::NeedMore(end as u64);
    }
    let mut records = Vec::with_capacity(h.count as usize);
    let mut off = BATCH_HEADER_LEN;
    while off < end {
        match decode_record(&b[off..end]) {
            Ok((r, n)) => {
                records.push((off, r));
                off += n;
            }
            Err(RecordProblem::Short) => return BatchParse::Invalid("record crosses batch end"),
            Err(RecordProblem::Length) => return BatchParse::Invalid("record length out of range"),
            Err(RecordProblem::Checksum) => return BatchParse::Invalid("record checksum mismatch"),
            Err(RecordProblem::Kind) => return BatchParse::Invalid("unknown record kind"),
        }
    }
    if records.len() != h.count as usize {
        return BatchParse::Invalid("record count mismatch");
    }
    BatchParse::Valid {
        records,
        len: end as u64,
        span: h.span(),
    }
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(records: &[(RecordKind, u32, u64, u64, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for &(k, g, t, i, p) in records {
            encode_record(&mut body, k, g, t, i, p);
        }
        let mut b = encode_batch_header(3, 4096, body.len() as u32, records.len() as u32).to_vec();
        b.extend_from_slice(&body);
        b
    }

    #[test]
    fn record_roundtrip_and_checksum() {
        let mut buf = Vec::new();
        encode_record(&mut buf, RecordKind::Entry, 7, 3, 42, b"hello");
        assert_eq!(buf.len(), record_len(5));
        let (r, n) = decode_record(&buf).unwrap();
        assert_eq!(n, buf.len());
        assert_eq!(
            (r.kind, r.group, r.term, r.index, r.payload),
            (RecordKind::Entry, 7, 3, 42, &b"hello"[..])
        );
        for i in 0..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x10;
            assert!(
                decode_record(&bad).is_err(),
                "flip at byte {i} not detected"
            );
        }
        assert_eq!(
            decode_record(&buf[..buf.len() - 1]),
            Err(RecordProblem::Short)
        );
    }

    #[test]
    fn segment_header_roundtrip() {
        let h = encode_segment_header(99);
        assert_eq!(decode_segment_header(&h), Ok(99));
        assert_eq!(
            decode_segment_header(&[0u8; 32]),
            Err(SegmentHeaderProblem::Blank)
        );
        let mut bad = h;
        bad[17] ^= 1;
        assert_eq!(
            decode_segment_header(&bad),
            Err(SegmentHeaderProblem::Garbled)
        );
        assert_eq!(
            decode_segment_header(&h[..10]),
            Err(SegmentHeaderProblem::Short)
        );
    }

    #[test]
    fn batch_parse_outcomes() {
        let b = batch(&[
            (RecordKind::Entry, 1, 1, 1, b"a"),
            (RecordKind::Vote, 2, 0, 0, b"vv"),
        ]);
        match parse_batch(&b, 3, 4096) {
            BatchParse::Valid { records, len, span } => {
                assert_eq!(len, b.len() as u64);
                assert_eq!(records.len(), 2);
                assert_eq!(records[0].0, BATCH_HEADER_LEN);
                assert_eq!(records[1].1.payload, b"vv");
                assert_eq!(span, align_batch(b.len() as u64));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_batch(&b[..b.len() - 1], 3, 4096),
            BatchParse::NeedMore(_)
        ));
        assert_eq!(parse_batch(&[0u8; 64], 3, 4096), BatchParse::Zero);
        let mut bad = b.clone();
        bad[BATCH_HEADER_LEN + 40] ^= 0xff;
        assert!(matches!(parse_batch(&bad, 3, 4096), BatchParse::Invalid(_)));
        let mut bad_header = b.clone();
        bad_header[5] ^= 1;
        assert!(matches!(
            parse_batch(&bad_header, 3, 4096),
            BatchParse::Invalid(_)
        ));
        // A batch is only valid where it was written.
        assert!(matches!(parse_batch(&b, 3, 4104), BatchParse::Invalid(_)));
        assert!(matches!(parse_batch(&b, 4, 4096), BatchParse::Invalid(_)));
    }

    #[test]
    fn batch_count_must_match() {
        let mut body = Vec::new();
        encode_record(&mut body, RecordKind::Entry, 1, 1, 1, b"x");
        let mut b = encode_batch_header(3, 4096, body.len() as u32, 2).to_vec();
        b.extend_from_slice(&body);
        assert_eq!(
            parse_batch(&b, 3, 4096),
            BatchParse::Invalid("record count mismatch")
        );
    }
}

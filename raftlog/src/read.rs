//! Reading a range of a group's entries: from memory when cached, otherwise from the segments.
//!
//! A read is planned synchronously against the index (which entries, cached payloads, disk
//! locations and the open files holding them), then the disk reads run. Because segments are
//! append-only and a deleted file stays readable while a handle is open, the plan stays valid
//! whatever happens to the log meanwhile: the result reflects the log as it was when the read
//! started, as openraft requires.
//!
//! Misses that are close together in one segment are fetched with a single I/O (entries of one
//! group are interleaved with other groups' records, so "close" is bounded by
//! `read_coalesce_bytes`). Every record read from disk is checked against its checksum and
//! against the index (group and index), so a damaged or misplaced record is an error, not data.

use std::ops::Range;
use std::rc::Rc;

use glommio::io::DmaFile;

use crate::engine::{Entry, GroupId, Shared};
use crate::error::EngineError;
use crate::format::{decode_record, RecordKind};

struct Miss {
    at: usize,
    index: u64,
    seg: u64,
    offset: u64,
    len: u32,
}

pub(crate) async fn read(
    shared: &Rc<Shared>,
    group: GroupId,
    range: Range<u64>,
    max_bytes: usize,
) -> Result<Vec<Entry>, EngineError> {
    let mut out: Vec<Entry> = Vec::new();
    let mut misses: Vec<Miss> = Vec::new();
    let mut files: Vec<(u64, Rc<DmaFile>)> = Vec::new();
    {
        let mut st = shared.state.borrow_mut();
        let Some(g) = st.groups.get(&group) else {
            return Ok(out);
        };
        let Some((first, last)) = g.range() else {
            return Ok(out);
        };
        let start = range.start.max(first);
        let end = range.end.min(last.saturating_add(1));
        let mut bytes = 0usize;
        let mut hits = 0u64;
        for index in start..end {
            if !out.is_empty() && bytes >= max_bytes {
                break;
            }
            let (slot, cached) = g.get(index).expect("index within range");
            match cached {
                Some(c) => {
                    bytes += c.payload.len();
                    hits += 1;
                    out.push(Entry {
                        index,
                        term: slot.term,
                        payload: c.payload.clone(),
                    });
                }
                None => {
                    bytes += slot.len as usize;
                    if !files.iter().any(|(s, _)| *s == slot.seg) {
                        let seg = st.segments.get(&slot.seg).and_then(|s| s.file.clone());
                        let Some(file) = seg else {
                            return Err(EngineError::corrupt(
                                st.dir.join(crate::segment::file_name(slot.seg)),
                                slot.offset,
                                format!("group {group} entry {index} points to a segment that is not open"),
                            ));
                        };
                        files.push((slot.seg, file));
                    }
                    misses.push(Miss {
                        at: out.len(),
                        index,
                        seg: slot.seg,
                        offset: slot.offset,
                        len: slot.len,
                    });
                    out.push(Entry {
                        index,
                        term: slot.term,
                        payload: bytes::Bytes::new(),
                    });
                }
            }
        }
        st.stats.cache_hits += hits;
        st.stats.disk_entries += misses.len() as u64;
    }
    let coalesce = shared.opts.read_coalesce_bytes as u64;
    let mut i = 0;
    while i < misses.len() {
        let run_seg = misses[i].seg;
        let run_start = misses[i].offset;
        let mut run_end = run_start + misses[i].len as u64;
        let mut j = i + 1;
        while j < misses.len()
            && misses[j].seg == run_seg
            && misses[j].offset >= run_start
            && misses[j].offset + misses[j].len as u64 - run_start
                <= coalesce.max(run_end - run_start)
        {
            run_end = run_end.max(misses[j].offset + misses[j].len as u64);
            j += 1;
        }
        let file = &files
            .iter()
            .find(|(s, _)| *s == run_seg)
            .expect("file collected")
            .1;
        let path = || shared.dir.join(crate::segment::file_name(run_seg));
        let buf = file
            .read_at(run_start, (run_end - run_start) as usize)
            .await
            .map_err(|e| EngineError::io("read", path(), e))?;
        shared.state.borrow_mut().stats.disk_reads += 1;
        for m in &misses[i..j] {
            let from = (m.offset - run_start) as usize;
            let to = from + m.len as usize;
            let rec = buf
                .get(from..to)
                .ok_or_else(|| {
                    EngineError::corrupt(
                        path(),
                        m.offset,
                        "record extends past the end of the file",
                    )
                })
                .and_then(|b| {
                    decode_record(b)
                        .map_err(|p| EngineError::corrupt(path(), m.offset, p.to_string()))
                })?;
            let (r, _) = rec;
            if r.kind != RecordKind::Entry || r.group != group || r.index != m.index {
                return Err(EngineError::corrupt(
                    path(),
                    m.offset,
                    format!(
                        "expected entry {} of group {group}, found {:?} {} of group {}",
                        m.index, r.kind, r.index, r.group
                    ),
                ));
            }
            out[m.at].payload = bytes::Bytes::copy_from_slice(r.payload);
        }
        i = j;
    }
    Ok(out)
}

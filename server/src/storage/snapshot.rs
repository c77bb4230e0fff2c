//! Slot snapshots: one slot's whole content, exported to SST files and installed by ingesting them.
//!
//! This is what a slot's Raft group sends to a follower that is too far behind for the log (and what a
//! new replica of a slot starts from). WTable seeds a replica from a RocksDB checkpoint; TiKV sends the
//! SST files of a region's key ranges. We do the latter, because a core's RocksDB instance holds many
//! slots and each slot is its own Raft group: a checkpoint would ship every other slot of the core too,
//! and could only replace a whole instance, never one slot inside a live one. Every key of a slot starts
//! with its 2-byte id (storage/keycodec.rs), so a slot is one key range `[slot, slot + 1)` in each of the
//! four column families it has data in (`default`, `sub`, `score`, `raft`), and node metadata (`FF FF …`) lies outside every slot's range — it is never
//! exported nor touched by an import.
//!
//! **Export** ([`Store::export_slot`]) iterates the slot's range of `default`, `sub`, `score` and `raft`
//! under one RocksDB snapshot, so the files show the slot at one instant: a record and its members, the key
//! counts and the expire index always agree, as they do in the live store (one write batch per command).
//! Each non-empty family becomes one SST file written by `SstFileWriter` with the family's own table
//! options (the same prefix extractor and filters, so ingested files serve reads like flushed ones). The
//! files are fsynced, then `manifest.toml` ([`SlotSnapshot`]) is written last through a rename and the
//! directory fsynced: a directory with a manifest holds a complete export. Each file's size and CRC-32C
//! are in the manifest, so a truncated or damaged transfer is refused before anything is deleted.
//!
//! **Import** ([`Store::import_slot`]) checks the manifest and files, then replaces the slot:
//!
//! 1. a durable marker `slot-import/<slot>` (node metadata, synced) records that the slot is being
//!    replaced and from which directory;
//! 2. one write batch range-deletes the slot in all three families. It goes through the WAL, synced
//!    (the store's own writes skip the WAL), so the delete is durable on its own — also for an empty
//!    snapshot, where no ingest follows to flush it;
//! 3. the files are ingested family by family: `default` first, then `sub` and `score`. Records go first
//!    because the member families' compaction filter drops members whose record it cannot find: members
//!    ingested before their records could be reclaimed by a compaction running in between;
//! 4. the value cache, the slot's cached key counts and its cached version counter are dropped, so reads
//!    see exactly the snapshot (counts, version counter and last applied log id live inside the slot's
//!    range and arrive with the `default` file);
//! 5. the marker is deleted (synced).
//!
//! RocksDB cannot ingest into several column families atomically through the C API the `rocksdb` crate
//! wraps, so a crash between steps 2 and 5 leaves the slot partly replaced — empty, or the snapshot's
//! records (with its applied log id) but not all of its members — never mixed with its old content, and
//! always flagged by the marker. [`Store::interrupted_imports`] lists such slots at start-up: before its
//! applied log id is trusted, such a slot must be imported again (the import is idempotent and the
//! snapshot directory is left intact) or wiped. Each ingested file gets a sequence number above the range
//! delete's, so the snapshot always wins over what it replaces. Ingestion takes over a staging hard link
//! of each file (`move_files`): no copy, and the snapshot's own files stay for a re-run; RocksDB copies
//! where linking fails.
//!
//! Cost: the range delete sits in the memtables and overlaps every ingested file, so the first ingest
//! flushes the memtables first (RocksDB's `allow_blocking_flush`, on by default; with the store's atomic
//! flush, all families at once — every slot's pending writes reach SST files, a normal flush) and the
//! files land in L0 above the flushed tombstones; compaction merges them down later. Export iterates the
//! data family in total order, which makes RocksDB sort its hash-bucketed memtable once per export, and
//! reads each file back once for its checksum.
//!
//! (Over 600 lines only because the tests, which need a real store on each side, live at the bottom.)

use std::fs::{self, File};
use std::io::{ErrorKind, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rocksdb::{IngestExternalFileOptions, ReadOptions, SstFileWriter, WriteBatch, WriteOptions};
use serde::{Deserialize, Serialize};

use super::collection::Family;
use super::keycodec::KeyCodec;
use super::{StorageError, Store};
use crate::slot::{SlotId, SLOT_COUNT};

/// The manifest format this build writes and reads: it follows the storage format of the files it holds
/// (2: data keys with a bucket byte, `storage::STORAGE_FORMAT`).
pub const FORMAT_VERSION: u32 = 2;
/// The manifest's file name inside a snapshot directory.
pub const MANIFEST_NAME: &str = "manifest.toml";
/// Node metadata name prefix of the in-progress marker of an import.
const IMPORT_MARKER: &str = "slot-import/";

const CRC32C: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

/// A bad snapshot, or a snapshot directory that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("slot {0} does not exist (slots are 0..{SLOT_COUNT})")]
    NoSuchSlot(u16),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: unreadable manifest: {reason}", path.display())]
    BadManifest { path: PathBuf, reason: String },
    #[error("manifest format version {found}; this build reads version {FORMAT_VERSION}")]
    UnknownVersion { found: u32 },
    #[error("snapshot of slot {found} cannot be imported into slot {expected}")]
    WrongSlot { expected: u16, found: u16 },
    #[error("{}: {reason}", path.display())]
    BadFile { path: PathBuf, reason: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The column families a slot lives in, in import order (records before members, the applied log id
/// last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotFamily {
    Default,
    Sub,
    Score,
    Raft,
}

impl SnapshotFamily {
    pub const ALL: [SnapshotFamily; 4] = [
        SnapshotFamily::Default,
        SnapshotFamily::Sub,
        SnapshotFamily::Score,
        SnapshotFamily::Raft,
    ];

    /// The family's file inside a snapshot directory (fixed, so a manifest cannot point elsewhere).
    pub const fn file_name(self) -> &'static str {
        match self {
            SnapshotFamily::Default => "default.sst",
            SnapshotFamily::Sub => "sub.sst",
            SnapshotFamily::Score => "score.sst",
            SnapshotFamily::Raft => "raft.sst",
        }
    }

    fn staging_name(self) -> &'static str {
        match self {
            SnapshotFamily::Default => "default.sst.ingest",
            SnapshotFamily::Sub => "sub.sst.ingest",
            SnapshotFamily::Score => "score.sst.ingest",
            SnapshotFamily::Raft => "raft.sst.ingest",
        }
    }
}

/// One family's SST file in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SnapshotFile {
    pub family: SnapshotFamily,
    /// Keys in the file (at least one: empty families get no file).
    pub keys: u64,
    /// The file's size in bytes.
    pub bytes: u64,
    /// CRC-32C of the whole file.
    pub crc32c: u32,
}

/// The manifest of a slot snapshot: what [`Store::export_slot`] wrote and [`Store::import_slot`] checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SlotSnapshot {
    pub format_version: u32,
    pub slot: u16,
    /// One entry per non-empty family; an empty slot has none.
    pub files: Vec<SnapshotFile>,
}

impl SlotSnapshot {
    /// Reads the manifest of the snapshot in `dir` (without checking the files: see [`Self::verify`]).
    pub fn read(dir: &Path) -> Result<SlotSnapshot, SnapshotError> {
        let path = dir.join(MANIFEST_NAME);
        let text = fs::read_to_string(&path).map_err(io_err(&path))?;
        toml::from_str(&text).map_err(|e| SnapshotError::BadManifest {
            path,
            reason: e.message().to_string(),
        })
    }

    /// Checks that this manifest describes a snapshot of `slot` this build can import, and that every
    /// file it lists is in `dir` with the recorded size and checksum.
    pub fn verify(&self, dir: &Path, slot: SlotId) -> Result<(), SnapshotError> {
        if self.format_version != FORMAT_VERSION {
            return Err(SnapshotError::UnknownVersion {
                found: self.format_version,
            });
        }
        if self.slot != slot.0 {
            return Err(SnapshotError::WrongSlot {
                expected: slot.0,
                found: self.slot,
            });
        }
        for (i, file) in self.files.iter().enumerate() {
            let path = dir.join(file.family.file_name());
            let bad = |reason: String| SnapshotError::BadFile {
                path: path.clone(),
                reason,
            };
            if self.files[..i].iter().any(|f| f.family == file.family) {
                return Err(bad("listed twice in the manifest".into()));
            }
            if file.keys == 0 {
                return Err(bad("listed with no keys".into()));
            }
            let len = match fs::metadata(&path) {
                Ok(m) => m.len(),
                Err(e) if e.kind() == ErrorKind::NotFound => return Err(bad("missing".into())),
                Err(e) => return Err(io_err(&path)(e)),
            };
            if len != file.bytes {
                return Err(bad(format!("{len} bytes, manifest says {}", file.bytes)));
            }
            let crc = crc32c_of(&path)?;
            if crc != file.crc32c {
                return Err(bad(format!(
                    "CRC-32C {crc:08x}, manifest says {:08x}",
                    file.crc32c
                )));
            }
        }
        Ok(())
    }

    /// The entry of `family`, if the snapshot has keys in it.
    pub fn file(&self, family: SnapshotFamily) -> Option<&SnapshotFile> {
        self.files.iter().find(|f| f.family == family)
    }

    /// Keys in all families.
    pub fn keys(&self) -> u64 {
        self.files.iter().map(|f| f.keys).sum()
    }

    /// Bytes of all files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

fn crc32c_of(path: &Path) -> Result<u32, SnapshotError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    let mut digest = CRC32C.digest();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(digest.finalize()),
            Ok(n) => digest.update(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(path)(e)),
        }
    }
}

fn fsync(path: &Path) -> Result<(), SnapshotError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io_err(path))
}

fn remove_if_present(path: &Path) -> Result<(), SnapshotError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(io_err(path)(e)),
        _ => Ok(()),
    }
}

fn check_slot(slot: SlotId) -> Result<(), SnapshotError> {
    if usize::from(slot.0) >= SLOT_COUNT {
        return Err(SnapshotError::NoSuchSlot(slot.0));
    }
    Ok(())
}

/// Options for writing a family's SST file: the family's own table options (comparator, prefix
/// extractor, filters, format) from the tuning crate. Only the comparator matters for correctness; the
/// rest makes ingested files read like flushed ones. Compression is the default configuration's, since
/// the store does not keep its configuration; compaction re-encodes the files in the live one.
fn sst_options(family: SnapshotFamily) -> rocksdb::Options {
    let cfg = tuning::RocksConfig::default();
    let cache = rocksdb::Cache::new_lru_cache(1 << 20);
    match family {
        SnapshotFamily::Default => cfg.data_cf_options(1, &cache),
        SnapshotFamily::Sub | SnapshotFamily::Score => cfg.member_cf_options(1, &cache),
        SnapshotFamily::Raft => cfg.raft_cf_options(1, &cache),
    }
}

fn marker_name(slot: SlotId) -> String {
    format!("{IMPORT_MARKER}{}", slot.0)
}

impl Store {
    fn family_cf(&self, family: SnapshotFamily) -> &rocksdb::ColumnFamily {
        match family {
            SnapshotFamily::Default => self
                .db
                .cf_handle(rocksdb::DEFAULT_COLUMN_FAMILY_NAME)
                .expect("the default column family always exists"),
            SnapshotFamily::Sub => self.cf(Family::Sub),
            SnapshotFamily::Score => self.cf(Family::Score),
            SnapshotFamily::Raft => self.raft_cf(),
        }
    }

    /// Writes every key of `slot`, as of one instant, into SST files in `dir` (created if needed) and
    /// returns the manifest it wrote there. An empty slot gives a manifest without files.
    pub fn export_slot(&self, slot: SlotId, dir: &Path) -> Result<SlotSnapshot, StorageError> {
        check_slot(slot)?;
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let manifest_path = dir.join(MANIFEST_NAME);
        // A directory with a manifest must hold a complete export, so an earlier one's goes first.
        remove_if_present(&manifest_path)?;
        let (lo, hi) = KeyCodec::slot_range(slot);
        // Values updated in place in a mutable memtable would change under the snapshot.
        self.switch_memtables()?;
        let snapshot = self.db.snapshot();
        let mut files = Vec::new();
        for family in SnapshotFamily::ALL {
            let path = dir.join(family.file_name());
            remove_if_present(&path)?;
            remove_if_present(&dir.join(family.staging_name()))?;
            let mut ro = ReadOptions::default();
            ro.set_snapshot(&snapshot);
            ro.set_iterate_lower_bound(lo.to_vec());
            ro.set_iterate_upper_bound(hi.to_vec());
            // The data family has a prefix extractor: without total order, iteration across its
            // `slot · db · bucket` prefixes is undefined.
            ro.set_total_order_seek(true);
            ro.fill_cache(false);
            let mut it = self.db.raw_iterator_cf_opt(self.family_cf(family), ro);
            it.seek_to_first();
            let opts = sst_options(family);
            let mut writer = SstFileWriter::create(&opts);
            let mut keys = 0u64;
            while let (Some(k), Some(v)) = (it.key(), it.value()) {
                if keys == 0 {
                    writer.open(&path)?;
                }
                writer.put(k, v)?;
                keys += 1;
                it.next();
            }
            it.status()?;
            if keys == 0 {
                continue;
            }
            writer.finish()?;
            fsync(&path)?;
            let bytes = fs::metadata(&path).map_err(io_err(&path))?.len();
            files.push(SnapshotFile {
                family,
                keys,
                bytes,
                crc32c: crc32c_of(&path)?,
            });
        }
        drop(snapshot);
        let manifest = SlotSnapshot {
            format_version: FORMAT_VERSION,
            slot: slot.0,
            files,
        };
        let text = toml::to_string_pretty(&manifest).map_err(|e| SnapshotError::BadManifest {
            path: manifest_path.clone(),
            reason: e.to_string(),
        })?;
        let tmp = dir.join(format!("{MANIFEST_NAME}.tmp"));
        fs::write(&tmp, text).map_err(io_err(&tmp))?;
        fsync(&tmp)?;
        fs::rename(&tmp, &manifest_path).map_err(io_err(&manifest_path))?;
        fsync(dir)?;
        Ok(manifest)
    }

    /// Replaces the whole content of `slot` with the snapshot in `dir`, after checking it (nothing is
    /// changed when the check fails). Returns the snapshot's manifest. See the module docs for what a
    /// crash part-way leaves and how [`Store::interrupted_imports`] reports it.
    pub fn import_slot(&self, slot: SlotId, dir: &Path) -> Result<SlotSnapshot, StorageError> {
        check_slot(slot)?;
        let manifest = SlotSnapshot::read(dir)?;
        manifest.verify(dir, slot)?;
        self.put_meta(&marker_name(slot), dir.as_os_str().as_bytes())?;
        let replaced = self.replace_slot(slot, dir, &manifest);
        // Whatever happened after the marker, the caches may describe content the slot no longer has.
        self.forget_slot_caches(slot);
        replaced?;
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        let mut batch = WriteBatch::default();
        batch.delete(KeyCodec::meta_key(&marker_name(slot)));
        self.db.write_opt(batch, &wo)?;
        Ok(manifest)
    }

    fn replace_slot(
        &self,
        slot: SlotId,
        dir: &Path,
        manifest: &SlotSnapshot,
    ) -> Result<(), StorageError> {
        let (lo, hi) = KeyCodec::slot_range(slot);
        let mut batch = WriteBatch::default();
        for family in SnapshotFamily::ALL {
            batch.delete_range_cf(self.family_cf(family), lo, hi);
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(batch, &wo)?;
        self.switch_memtables()?;
        for family in SnapshotFamily::ALL {
            if manifest.file(family).is_some() {
                self.ingest(family, dir)?;
            }
        }
        Ok(())
    }

    /// Ingests `family`'s file of the snapshot in `dir` through a staging hard link that RocksDB takes
    /// over (`move_files`), so the snapshot's own file stays; copies when no link can be made.
    fn ingest(&self, family: SnapshotFamily, dir: &Path) -> Result<(), StorageError> {
        let src = dir.join(family.file_name());
        let staged = dir.join(family.staging_name());
        remove_if_present(&staged)?;
        let mut opts = IngestExternalFileOptions::default();
        let linked = fs::hard_link(&src, &staged).is_ok();
        opts.set_move_files(linked);
        let path = if linked { &staged } else { &src };
        let result =
            self.db
                .ingest_external_file_cf_opts(self.family_cf(family), &opts, vec![path]);
        if result.is_err() && linked {
            let _ = fs::remove_file(&staged);
        }
        Ok(result?)
    }

    /// Drops everything cached about `slot`: its records in the value cache (the whole cache: dropping
    /// one slot's entries would mean finding them), its key counts and its next collection version.
    fn forget_slot_caches(&self, slot: SlotId) {
        self.clear_value_cache();
        self.counts.borrow_mut().retain(|&(s, _), _| s != slot.0);
        self.forget_versions(slot);
    }

    /// Slots whose import was interrupted (by a crash or an error after the old content was deleted), with
    /// the snapshot directory each was importing from. Such a slot holds partial content: import it again
    /// before serving it.
    pub fn interrupted_imports(&self) -> Result<Vec<(SlotId, PathBuf)>, StorageError> {
        let lo = KeyCodec::meta_key(IMPORT_MARKER);
        let mut hi = lo.clone();
        if let Some(last) = hi.last_mut() {
            *last += 1;
        }
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(lo.clone());
        ro.set_iterate_upper_bound(hi);
        ro.set_total_order_seek(true);
        let mut it = self.db.raw_iterator_opt(ro);
        it.seek(&lo);
        let mut out = Vec::new();
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            let slot = std::str::from_utf8(&k[lo.len()..])
                .ok()
                .and_then(|s| s.parse::<u16>().ok());
            if let Some(slot) = slot {
                let dir = PathBuf::from(std::ffi::OsStr::from_bytes(v));
                out.push((SlotId(slot), dir));
            }
            it.next();
        }
        it.status()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use rocksdb::IteratorMode;

    use super::*;
    use crate::shard::now_ms;
    use crate::statemachine::SlotWriter;
    use crate::storage::collection::CollectionMeta;
    use crate::storage::record::{Record, ValueType};

    const X: SlotId = SlotId(17);
    const Y: SlotId = SlotId(18);

    fn open_at(path: &Path) -> Store {
        Store::open(path, 1, &tuning::RocksConfig::default()).unwrap()
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = open_at(dir.path());
        (dir, store)
    }

    fn put_string(store: &Store, slot: SlotId, db: u8, key: &str, value: &str, expire_at: u64) {
        let mut w = SlotWriter::new(store, slot, db, now_ms());
        let rec = Record::string(Bytes::from(value.to_string()), expire_at, 0);
        w.put(&Bytes::from(key.to_string()), rec).unwrap();
        assert!(w.commit().unwrap());
    }

    /// Creates collection `key` with `n` members as the commands would (one batch with its record).
    fn put_collection(
        store: &Store,
        slot: SlotId,
        key: &str,
        vtype: ValueType,
        n: usize,
        tag: &str,
    ) {
        let key = Bytes::from(key.to_string());
        let mut w = SlotWriter::new(store, slot, 0, now_ms());
        let version = w.new_collection(vtype).unwrap().version;
        for i in 0..n {
            let member = format!("m{i:05}");
            match vtype {
                ValueType::ZSet => w.put_scored(
                    &key,
                    version,
                    member.as_bytes(),
                    i as f64 * 0.5 - 100.0,
                    None,
                ),
                ValueType::Hash => {
                    let value = format!("{tag}{i}");
                    w.put_member(
                        Family::Sub,
                        &key,
                        version,
                        member.as_bytes(),
                        value.as_bytes(),
                    )
                }
                _ => w.put_member(Family::Sub, &key, version, member.as_bytes(), b""),
            }
        }
        let expire_at = if vtype == ValueType::ZSet {
            now_ms() + 7_200_000
        } else {
            0
        };
        let meta = CollectionMeta {
            count: n as u64,
            head: 0,
        };
        w.put(&key, meta.record(vtype, expire_at, version)).unwrap();
        assert!(w.commit().unwrap());
    }

    /// Strings (a third with a deadline, one in database 3), a hash, a set and a sorted set with a
    /// deadline, thousands of members each.
    fn fill(store: &Store, slot: SlotId, tag: &str) {
        let now = now_ms();
        for i in 0..300u64 {
            let expire_at = if i % 3 == 0 { now + 3_600_000 + i } else { 0 };
            put_string(
                store,
                slot,
                0,
                &format!("s{i}"),
                &format!("{tag}-{i}"),
                expire_at,
            );
        }
        put_string(store, slot, 3, "other-db", tag, 0);
        put_collection(store, slot, "h", ValueType::Hash, 1000, tag);
        put_collection(store, slot, "set", ValueType::Set, 1500, tag);
        put_collection(store, slot, "z", ValueType::ZSet, 3000, tag);
        // The slot's applied log id (in its own family) travels with the slot.
        let mut w = SlotWriter::new(store, slot, 0, 1);
        w.set_applied(format!("applied-{tag}").as_bytes());
        w.commit().unwrap();
    }

    type Rows = Vec<(Box<[u8]>, Box<[u8]>)>;

    /// Every stored key and value of `slot`, per family, straight from RocksDB.
    fn raw(store: &Store, slot: SlotId) -> Vec<Rows> {
        let (lo, hi) = KeyCodec::slot_range(slot);
        SnapshotFamily::ALL
            .iter()
            .map(|&family| {
                let mut ro = ReadOptions::default();
                ro.set_iterate_lower_bound(lo.to_vec());
                ro.set_iterate_upper_bound(hi.to_vec());
                ro.set_total_order_seek(true);
                store
                    .db
                    .iterator_cf_opt(store.family_cf(family), ro, IteratorMode::Start)
                    .map(Result::unwrap)
                    .collect()
            })
            .collect()
    }

    fn payload(store: &Store, slot: SlotId, key: &str) -> Option<Bytes> {
        let rec = store.get_live(slot, 0, key.as_bytes(), now_ms()).unwrap();
        rec.map(|r| r.payload)
    }

    #[test]
    fn import_makes_the_slot_identical_to_the_export_and_leaves_the_rest_alone() {
        let (_a_dir, a) = open();
        fill(&a, X, "a");
        fill(&a, Y, "ay");
        let (b_dir, b) = open();
        b.set_cache_budget(16 << 20);
        b.put_meta("layout", b"keep me").unwrap();
        put_collection(&b, X, "only-b", ValueType::Hash, 10, "b"); // shifts B's versions
        fill(&b, X, "b");
        fill(&b, Y, "by");
        // Warm every cache of slot X in B.
        assert_eq!(payload(&b, X, "s1").as_deref(), Some(&b"b-1"[..]));
        assert_eq!(b.counts(X, 0).unwrap().keys, 304);
        assert_ne!(b.next_version(X).unwrap(), a.next_version(X).unwrap());

        let snap_dir = tempfile::tempdir().unwrap();
        let snap = a.export_slot(X, snap_dir.path()).unwrap();
        let a_rows = raw(&a, X);
        assert_eq!(snap.files.len(), 4);
        for (family, rows) in SnapshotFamily::ALL.iter().zip(&a_rows) {
            assert_eq!(snap.file(*family).unwrap().keys, rows.len() as u64);
        }
        assert!(a_rows[2].len() == 3000 && a_rows[1].len() == 5500);
        assert_eq!(SlotSnapshot::read(snap_dir.path()).unwrap(), snap);

        let b_y = raw(&b, Y);
        assert_eq!(b.import_slot(X, snap_dir.path()).unwrap(), snap);
        assert!(raw(&b, X) == a_rows, "slot X must be byte-identical");
        assert!(raw(&b, Y) == b_y, "slot Y must be untouched");
        assert_eq!(
            b.get_meta("layout").unwrap().as_deref(),
            Some(&b"keep me"[..])
        );
        for db in [0, 3] {
            assert_eq!(b.counts(X, db).unwrap(), a.counts(X, db).unwrap());
        }
        let c = b.counts(X, 0).unwrap();
        assert_eq!((c.keys, c.volatile), (303, 101));
        assert_eq!(payload(&b, X, "s1").as_deref(), Some(&b"a-1"[..]));
        assert_eq!(payload(&b, X, "only-b"), None);
        let now = now_ms();
        for key in ["h", "set", "z"] {
            let value = b.read_value(X, 0, key.as_bytes(), now).unwrap();
            assert_eq!(value, a.read_value(X, 0, key.as_bytes(), now).unwrap());
        }
        let z = b.get(X, 0, b"z").unwrap().unwrap();
        assert_eq!(b.members_of(X, 0, b"z", &z).unwrap().len(), 3000);
        {
            let mut by_score = b.member_cursor(Family::Score, X, 0, b"z", z.version);
            by_score.seek_to_first();
            assert!(by_score.valid() && by_score.member().ends_with(b"m00000"));
        }
        assert_eq!(
            b.next_deadline(X, 0).unwrap(),
            a.next_deadline(X, 0).unwrap()
        );
        // The version counter came with the slot, not from B's cache.
        assert_eq!(b.next_version(X).unwrap(), a.next_version(X).unwrap());
        assert!(b.interrupted_imports().unwrap().is_empty());

        // The snapshot stays importable, and the result survives a restart.
        b.import_slot(X, snap_dir.path()).unwrap();
        drop(b);
        let b = open_at(b_dir.path());
        assert!(raw(&b, X) == a_rows && raw(&b, Y) == b_y);
        assert_eq!(b.counts(X, 0).unwrap(), a.counts(X, 0).unwrap());
    }

    fn copy_dir(from: &Path) -> tempfile::TempDir {
        let to = tempfile::tempdir().unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), to.path().join(entry.file_name())).unwrap();
        }
        to
    }

    fn edit(path: &Path, from: &str, to: &str) {
        let text = fs::read_to_string(path).unwrap();
        assert!(text.contains(from), "{text}");
        fs::write(path, text.replacen(from, to, 1)).unwrap();
    }

    fn rewrite(dir: &Path, change: &dyn Fn(&mut SlotSnapshot)) {
        let mut manifest = SlotSnapshot::read(dir).unwrap();
        change(&mut manifest);
        fs::write(dir.join(MANIFEST_NAME), toml::to_string(&manifest).unwrap()).unwrap();
    }

    #[test]
    fn a_bad_snapshot_is_refused_before_anything_changes() {
        let (_a_dir, a) = open();
        fill(&a, X, "a");
        let (_b_dir, b) = open();
        fill(&b, X, "b");
        let before = raw(&b, X);
        let good = tempfile::tempdir().unwrap();
        a.export_slot(X, good.path()).unwrap();
        let refused = |change: &dyn Fn(&Path)| -> SnapshotError {
            let dir = copy_dir(good.path());
            change(dir.path());
            match b.import_slot(X, dir.path()) {
                Err(StorageError::Snapshot(e)) => e,
                other => panic!("expected a snapshot error, got {other:?}"),
            }
        };
        let manifest = |d: &Path| d.join(MANIFEST_NAME);
        let e = refused(&|d| edit(&manifest(d), "format-version = 2", "format-version = 7"));
        assert!(
            matches!(e, SnapshotError::UnknownVersion { found: 7 }),
            "{e}"
        );
        let e = refused(&|d| edit(&manifest(d), "slot = 17", "slot = 18"));
        assert!(matches!(
            e,
            SnapshotError::WrongSlot {
                expected: 17,
                found: 18
            }
        ));
        assert_eq!(
            StorageError::from(e).to_string(),
            "slot snapshot: snapshot of slot 18 cannot be imported into slot 17"
        );
        let e = refused(&|d| rewrite(d, &|m| m.files[1].keys = 0));
        assert!(
            e.to_string().ends_with("sub.sst: listed with no keys"),
            "{e}"
        );
        let e = refused(&|d| rewrite(d, &|m| m.files.push(m.files[0].clone())));
        assert!(
            e.to_string().ends_with("listed twice in the manifest"),
            "{e}"
        );
        let e = refused(&|d| fs::write(manifest(d), "format-version = [").unwrap());
        assert!(matches!(e, SnapshotError::BadManifest { .. }), "{e}");
        let e = refused(&|d| fs::remove_file(manifest(d)).unwrap());
        assert!(matches!(e, SnapshotError::Io { .. }), "{e}");
        let e = refused(&|d| fs::remove_file(d.join("score.sst")).unwrap());
        assert!(e.to_string().ends_with("score.sst: missing"), "{e}");
        let e = refused(&|d| {
            let mut bytes = fs::read(d.join("sub.sst")).unwrap();
            bytes.pop();
            fs::write(d.join("sub.sst"), bytes).unwrap();
        });
        assert!(e.to_string().contains("bytes, manifest says"), "{e}");
        let e = refused(&|d| {
            let mut bytes = fs::read(d.join("default.sst")).unwrap();
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0x55;
            fs::write(d.join("default.sst"), bytes).unwrap();
        });
        assert!(e.to_string().contains("CRC-32C"), "{e}");
        assert!(matches!(
            b.import_slot(Y, good.path()),
            Err(StorageError::Snapshot(SnapshotError::WrongSlot { .. }))
        ));
        assert!(matches!(
            b.export_slot(SlotId(2048), good.path()),
            Err(StorageError::Snapshot(SnapshotError::NoSuchSlot(2048)))
        ));
        assert!(raw(&b, X) == before, "a refused import must change nothing");
        assert!(b.interrupted_imports().unwrap().is_empty());
    }

    #[test]
    fn an_empty_slot_exports_and_imports_as_empty() {
        let (_a_dir, a) = open();
        fill(&a, Y, "ay");
        let (_b_dir, b) = open();
        fill(&b, X, "b");
        fill(&b, Y, "by");
        let b_y = raw(&b, Y);
        let dir = tempfile::tempdir().unwrap();
        let snap = a.export_slot(X, dir.path()).unwrap();
        assert!(snap.files.is_empty() && snap.keys() == 0);
        assert_eq!(SlotSnapshot::read(dir.path()).unwrap(), snap);
        b.import_slot(X, dir.path()).unwrap();
        assert!(raw(&b, X).iter().all(Vec::is_empty));
        assert!(raw(&b, Y) == b_y);
        assert_eq!(b.counts(X, 0).unwrap(), Default::default());
        assert_eq!(payload(&b, X, "s1"), None);
        assert_eq!(b.next_version(X).unwrap(), 1);
    }

    #[test]
    fn an_interrupted_import_is_reported_across_a_restart_until_a_rerun_completes() {
        let (_a_dir, a) = open();
        fill(&a, X, "a");
        let dir = tempfile::tempdir().unwrap();
        let snap = a.export_slot(X, dir.path()).unwrap();
        let (b_dir, b) = open();
        fill(&b, X, "b");
        // A crash after the records went in: marker, range delete, `default` ingested, nothing else.
        b.put_meta(&marker_name(X), dir.path().as_os_str().as_bytes())
            .unwrap();
        let partial = SlotSnapshot {
            files: vec![snap.file(SnapshotFamily::Default).unwrap().clone()],
            ..snap
        };
        b.replace_slot(X, dir.path(), &partial).unwrap();
        drop(b);
        let b = open_at(b_dir.path());
        assert_eq!(
            b.interrupted_imports().unwrap(),
            vec![(X, dir.path().to_path_buf())]
        );
        assert!(raw(&b, X)[1].is_empty(), "members were not ingested yet");
        b.import_slot(X, dir.path()).unwrap();
        assert!(b.interrupted_imports().unwrap().is_empty());
        assert!(raw(&b, X) == raw(&a, X));
    }
}

//! Shared helpers of the raftlog integration tests: running on a glommio executor, building
//! entries, and capturing an engine's whole visible state for before/after comparisons.

#![allow(dead_code)]

pub mod sum;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;

use bytes::Bytes;
use glommio::LocalExecutorBuilder;
use raftlog::{Engine, EngineOptions, Entry, GroupId, GroupState};

/// Runs `f` on a fresh glommio executor thread and returns its output.
pub fn run<F, Fut, T>(f: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T> + 'static,
    T: Send + 'static,
{
    LocalExecutorBuilder::default()
        .io_memory(2 << 20)
        .spawn(f)
        .expect("start executor")
        .join()
        .expect("executor thread")
}

/// The payload of entry `index` of `group`: deterministic, of varying length, so that a mix-up
/// between groups, indexes or terms is visible.
pub fn payload(group: GroupId, index: u64, term: u64) -> Bytes {
    let len = 8 + ((index * 7 + group as u64 * 13) % 200) as usize;
    let mut v = format!("g{group}-i{index}-t{term}-").into_bytes();
    v.resize(len.max(v.len()), b'a' + (index % 26) as u8);
    Bytes::from(v)
}

pub fn entry(group: GroupId, index: u64, term: u64) -> Entry {
    Entry {
        index,
        term,
        payload: payload(group, index, term),
    }
}

/// Small segments so tests rotate and reclaim quickly.
pub fn small_opts() -> EngineOptions {
    EngineOptions {
        segment_size: 64 << 10,
        cache_bytes: 16 << 10,
        ..EngineOptions::default()
    }
}

/// Everything an engine shows: per group, its state and all its entries.
pub type Snapshot = BTreeMap<GroupId, (GroupState, Vec<Entry>)>;

pub async fn snapshot(engine: &Engine) -> Snapshot {
    let mut out = BTreeMap::new();
    for g in engine.groups() {
        let st = engine.group_state(g);
        let entries = match (st.first_index, st.last) {
            (Some(first), Some((last, _))) => engine.read(g, first..last + 1).await.expect("read"),
            _ => Vec::new(),
        };
        out.insert(g, (st, entries));
    }
    out
}

pub async fn reopen(dir: &Path, opts: EngineOptions) -> Engine {
    Engine::open(dir, opts).await.expect("reopen")
}

/// A tiny deterministic PRNG (xorshift64*), so failures replay exactly.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Segment files in `dir`, sorted.
/// The file of segment `seq` in `dir`.
pub fn seg_path(dir: &Path, seq: u64) -> std::path::PathBuf {
    dir.join(format!("{seq:020}.seg"))
}

/// Bytes of every segment file in `dir`.
pub fn segment_bytes(dir: &Path) -> u64 {
    segment_files(dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

pub fn segment_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    v.sort();
    v
}

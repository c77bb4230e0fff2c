//! Why one RocksDB instance per core: two writer threads (two cores), each writing small records with
//! its own WAL appends, against (a) one instance with a column family per core and (b) one instance per
//! core. Each write is a one-put batch handed to the WAL like the server's writes (not fsynced), and every
//! 32 writes a thread hands its WAL buffer to the OS, as a reply batch does.
//!
//! Run: `cargo bench -p slotkv-server --bench storage_layout` (pin with taskset -c 0,1 for stable
//! numbers). Reported per write, both threads running at once.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use rocksdb::{ColumnFamilyDescriptor, Options, WriteBatch, WriteOptions, DB};

const THREADS: usize = 2;

fn options() -> Options {
    let mut o = Options::default();
    o.create_if_missing(true);
    o.create_missing_column_families(true);
    o.set_manual_wal_flush(true);
    o.set_write_buffer_size(64 << 20);
    o
}

fn writer(db: &DB, cf: Option<&str>, thread: usize, n: u64) {
    let mut wo = WriteOptions::default();
    wo.set_sync(false);
    let handle = cf.map(|name| db.cf_handle(name).unwrap());
    for i in 0..n {
        let mut b = WriteBatch::default();
        let key = format!("{thread:02}:{:016}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        match handle {
            Some(cf) => b.put_cf(cf, key.as_bytes(), b"value-of-sixteen"),
            None => b.put(key.as_bytes(), b"value-of-sixteen"),
        }
        db.write_opt(b, &wo).unwrap();
        if i % 32 == 31 {
            db.flush_wal(false).unwrap();
        }
    }
}

fn run(iters: u64, shared: bool) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let dbs: Vec<Arc<DB>> = if shared {
        let cfs = (0..THREADS).map(|t| ColumnFamilyDescriptor::new(format!("core-{t}"), options()));
        vec![Arc::new(
            DB::open_cf_descriptors(&options(), dir.path(), cfs).unwrap(),
        )]
    } else {
        (0..THREADS)
            .map(|t| Arc::new(DB::open(&options(), dir.path().join(format!("core-{t}"))).unwrap()))
            .collect()
    };
    let barrier = Arc::new(Barrier::new(THREADS + 1));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let db = dbs[if shared { 0 } else { t }].clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let cf = format!("core-{t}");
                writer(&db, shared.then_some(cf.as_str()), t, iters);
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    for h in handles {
        h.join().unwrap();
    }
    started.elapsed()
}

fn layout(c: &mut Criterion) {
    let mut g = c.benchmark_group("two-core writes");
    g.sample_size(10);
    g.bench_function("one instance, column family per core", |b| {
        b.iter_custom(|n| run(n, true))
    });
    g.bench_function("instance per core", |b| b.iter_custom(|n| run(n, false)));
    g.finish();
}

criterion_group!(benches, layout);
criterion_main!(benches);

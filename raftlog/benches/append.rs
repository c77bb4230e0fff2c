//! Append throughput of the log engine, and the group-commit batch it achieves.
//!
//! - `durable_appends/<appenders>x<groups>`: `appenders` concurrent tasks, spread over `groups`
//!   Raft groups, each appending one 128-byte entry at a time and waiting until it is durable
//!   (what a Raft leader does per client write). One element = one durable append. The average
//!   fsync batch (records per fdatasync) of each configuration is printed after it runs: it is
//!   the number that shows group commit working.
//! - `written_appends/<appenders>x<groups>`: the same with `sync_each_batch = false`: an append
//!   is acknowledged once its batch is written (O_DIRECT, no fdatasync), what a server's
//!   `fsync everysec` / `fsync no` costs per write. The printed line shows records per batch
//!   write instead.
//! - `bulk_append/64x1KiB`: one task appending 64 entries of 1 KiB per call (a follower catching
//!   up); measured in bytes.
//!
//! Every sample opens a fresh engine in a temporary directory (on the same file system as the
//! build) on its own glommio executor; opening (which zero-fills the first segment, see
//! `EngineOptions::prefill`) and the first segment's creation are not timed. Later segments,
//! when a configuration writes enough to rotate, are prepared in the background while it runs,
//! so that cost is in the numbers; the printed line counts rotations that found no spare ready.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use glommio::LocalExecutorBuilder;
use raftlog::{Engine, EngineOptions, EngineStats, Entry};

/// Runs one timed sample on a fresh executor and engine; returns the time and the counters.
fn sample<F, Fut>(opts: EngineOptions, work: F) -> (Duration, EngineStats)
where
    F: FnOnce(Engine) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    LocalExecutorBuilder::default()
        .spawn(move || async move {
            let dir = tempfile::tempdir().expect("temp dir");
            let e = Engine::open(dir.path(), opts).await.expect("open engine");
            // Create the first segment outside the timed part.
            e.append(u32::MAX, [entry(1, 16)])
                .await
                .expect("warm-up append");
            let before = e.stats();
            let start = Instant::now();
            work(e.clone()).await;
            let elapsed = start.elapsed();
            let after = e.stats();
            e.close().await.expect("close");
            let delta = after.since(&before);
            (elapsed, delta)
        })
        .expect("start executor")
        .join()
        .expect("executor thread")
}

fn entry(index: u64, len: usize) -> Entry {
    Entry {
        index,
        term: 1,
        payload: Bytes::from(vec![0x5a; len]),
    }
}

fn durable_appends(c: &mut Criterion) {
    appends(c, "durable_appends", true);
}

fn written_appends(c: &mut Criterion) {
    appends(c, "written_appends", false);
}

/// Concurrent single-entry appenders, each waiting for its ticket, in one sync mode.
fn appends(c: &mut Criterion, name: &str, sync_each_batch: bool) {
    let opts = EngineOptions {
        sync_each_batch,
        ..EngineOptions::default()
    };
    let mut g = c.benchmark_group(name);
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(1));
    for (appenders, groups) in [(1u64, 1u32), (16, 16), (128, 128), (512, 256)] {
        let totals = Rc::new(RefCell::new(EngineStats::default()));
        let t = totals.clone();
        g.bench_function(
            BenchmarkId::from_parameter(format!("{appenders}x{groups}")),
            |b| {
                b.iter_custom(|iters| {
                    let per_task = iters.div_ceil(appenders).max(1);
                    let (elapsed, stats) = sample(opts.clone(), move |e| async move {
                        let mut tasks = Vec::new();
                        let next: Rc<Vec<std::cell::Cell<u64>>> =
                            Rc::new((0..groups).map(|_| std::cell::Cell::new(0)).collect());
                        for a in 0..appenders {
                            let e = e.clone();
                            let next = next.clone();
                            let group = (a % groups as u64) as u32;
                            tasks.push(glommio::spawn_local(async move {
                                for _ in 0..per_task {
                                    // Appenders sharing a group take the next index and stage in
                                    // one synchronous step, so the group's log stays contiguous.
                                    let c = &next[group as usize];
                                    c.set(c.get() + 1);
                                    let durable = e
                                        .append_staged(group, [entry(c.get(), 128)])
                                        .expect("append");
                                    durable.await.expect("durable");
                                }
                            }));
                        }
                        for task in tasks {
                            task.await;
                        }
                    });
                    let mut tot = t.borrow_mut();
                    tot.fsyncs += stats.fsyncs;
                    tot.batches += stats.batches;
                    tot.records += stats.records;
                    tot.appends += stats.appends;
                    tot.segments_created += stats.segments_created;
                    tot.spare_misses += stats.spare_misses;
                    // Report the time per append actually made.
                    elapsed.mul_f64(iters as f64 / (per_task * appenders) as f64)
                })
            },
        );
        let tot = totals.borrow();
        if tot.batches == 0 {
            continue; // filtered out
        }
        eprintln!(
            "{name}/{appenders}x{groups}: {:.1} records per batch, {:.1} appends per batch \
             ({} batches, {} fsyncs, {} segments created, {} without a prefilled spare)",
            tot.records_per_batch(),
            tot.appends_per_batch(),
            tot.batches,
            tot.fsyncs,
            tot.segments_created,
            tot.spare_misses
        );
    }
    g.finish();
}

fn bulk_append(c: &mut Criterion) {
    let mut g = c.benchmark_group("bulk_append");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Bytes(64 * 1024));
    g.bench_function("64x1KiB", |b| {
        b.iter_custom(|iters| {
            let (elapsed, _) = sample(EngineOptions::default(), move |e| async move {
                for k in 0..iters {
                    let first = k * 64 + 1;
                    e.append(7, (first..first + 64).map(|i| entry(i, 1024)))
                        .await
                        .expect("append");
                }
            });
            elapsed
        })
    });
    g.finish();
}

criterion_group!(benches, durable_appends, written_appends, bulk_append);
criterion_main!(benches);

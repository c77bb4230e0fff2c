//! The router hashes every request's key (CRC16-XMODEM, as Redis Cluster does): `slot::redis_slot`
//! (slice-by-16 tables) against the byte-at-a-time table it replaced, over typical key lengths.
//!
//! `cargo bench -p slotkv-server --bench slot_hash`

use crc::{Crc, CRC_16_XMODEM};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

const BYTEWISE: Crc<u16> = Crc::<u16>::new(&CRC_16_XMODEM);

fn slot_hash(c: &mut Criterion) {
    let mut g = c.benchmark_group("slot_hash");
    for len in [8usize, 16, 24, 40] {
        let key: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        assert_eq!(
            slotkv::slot::redis_slot(&key),
            BYTEWISE.checksum(&key) & 16383
        );
        g.bench_with_input(BenchmarkId::new("redis_slot", len), &key, |b, k| {
            b.iter(|| slotkv::slot::redis_slot(std::hint::black_box(k)))
        });
        g.bench_with_input(BenchmarkId::new("bytewise", len), &key, |b, k| {
            b.iter(|| BYTEWISE.checksum(slotkv::slot::hash_tag(std::hint::black_box(k))) & 16383)
        });
    }
    g.finish();
}

criterion_group!(benches, slot_hash);
criterion_main!(benches);

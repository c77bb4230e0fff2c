//! Codec micro-benchmarks: request decoding and reply encoding for the shapes that dominate
//! real traffic. Decoding runs over a read buffer holding 100 pipelined copies of the request
//! (as a busy connection's buffer does); throughput is reported per request.

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use resp::{Limits, Protocol, Reply, RequestDecoder};
use std::hint::black_box;

const PIPELINE: usize = 100;

fn key(i: usize) -> String {
    format!("key:{i:012}")
}

/// The RESP encoding of a command, built with our own encoder.
fn command(args: &[Bytes]) -> Reply {
    Reply::Array(args.iter().cloned().map(Reply::Bulk).collect())
}

fn set_command(value_len: usize) -> Reply {
    command(&[
        Bytes::from_static(b"SET"),
        key(42).into(),
        vec![b'v'; value_len].into(),
    ])
}

fn mget_command(keys: usize) -> Reply {
    let mut args = vec![Bytes::from_static(b"MGET")];
    args.extend((0..keys).map(|i| Bytes::from(key(i))));
    command(&args)
}

fn encoded(reply: &Reply) -> Vec<u8> {
    let mut out = BytesMut::new();
    reply.encode(Protocol::Resp2, &mut out);
    out.to_vec()
}

fn decode_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(PIPELINE as u64));
    let cases = [
        ("set_3b", set_command(3)),
        ("set_1kb", set_command(1024)),
        ("set_64kb", set_command(64 * 1024)),
        ("mget_100_keys", mget_command(100)),
    ];
    for (name, request) in cases {
        let one = encoded(&request);
        let pipeline = one.repeat(PIPELINE);
        group.bench_function(name, |b| {
            let mut decoder = RequestDecoder::new(Limits::default());
            b.iter_batched(
                || BytesMut::from(&pipeline[..]),
                |mut buf| {
                    while let Some(request) = decoder.decode(&mut buf, true).unwrap() {
                        black_box(request);
                    }
                    buf
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn encode_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    let values: Vec<Reply> = (0..100)
        .map(|i| Reply::Bulk(Bytes::from(format!("value:{i:010}"))))
        .collect();
    let cases = [
        ("set_3b", set_command(3)),
        ("set_1kb", set_command(1024)),
        ("mget_100_keys", mget_command(100)),
        ("mget_reply_100", Reply::Array(values)),
        ("ok", Reply::Ok),
        ("integer", Reply::Integer(1_234_567)),
        ("null", Reply::Null),
        ("bulk_16b", Reply::Bulk(Bytes::from(key(7)))),
        ("double", Reply::Double(1234.5678)),
    ];
    for (name, reply) in cases {
        group.bench_function(name, |b| {
            let mut out = BytesMut::with_capacity(64 * 1024);
            b.iter(|| {
                out.clear();
                black_box(&reply).encode(Protocol::Resp2, &mut out);
                black_box(out.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode_benches, encode_benches);
criterion_main!(benches);

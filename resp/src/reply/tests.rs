//! Exact bytes of every reply variant in both protocols, and Redis's double formats.

use super::*;
use Protocol::{Resp2, Resp3};

fn enc(reply: &Reply, proto: Protocol) -> Vec<u8> {
    let mut out = BytesMut::new();
    reply.encode(proto, &mut out);
    out.to_vec()
}

/// Asserts the RESP2 and RESP3 encodings of `reply`.
#[track_caller]
fn check(reply: Reply, resp2: &str, resp3: &str) {
    assert_eq!(
        String::from_utf8_lossy(&enc(&reply, Resp2)),
        resp2,
        "RESP2 {reply:?}"
    );
    assert_eq!(
        String::from_utf8_lossy(&enc(&reply, Resp3)),
        resp3,
        "RESP3 {reply:?}"
    );
}

fn bulk(s: &'static str) -> Reply {
    Reply::Bulk(Bytes::from_static(s.as_bytes()))
}

#[test]
fn status_replies() {
    check(Reply::Ok, "+OK\r\n", "+OK\r\n");
    check(Reply::Simple("PONG"), "+PONG\r\n", "+PONG\r\n");
    check(
        Reply::SimpleOwned("QUEUED".into()),
        "+QUEUED\r\n",
        "+QUEUED\r\n",
    );
    check(Reply::Simple("a\r\nb"), "+a  b\r\n", "+a  b\r\n");
}

#[test]
fn errors() {
    check(
        Reply::error("ERR syntax error"),
        "-ERR syntax error\r\n",
        "-ERR syntax error\r\n",
    );
    let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
    check(
        Reply::StaticError(wrongtype),
        &format!("-{wrongtype}\r\n"),
        &format!("-{wrongtype}\r\n"),
    );
    // Line breaks cannot escape into the stream.
    check(
        Reply::error("ERR unknown command 'a\r\nb'"),
        "-ERR unknown command 'a  b'\r\n",
        "-ERR unknown command 'a  b'\r\n",
    );
    // Any byte is allowed.
    assert_eq!(
        enc(&Reply::error(&b"ERR \xff"[..]), Resp2),
        b"-ERR \xff\r\n"
    );
}

#[test]
fn integers_and_bulks() {
    check(Reply::Integer(0), ":0\r\n", ":0\r\n");
    check(Reply::Integer(-42), ":-42\r\n", ":-42\r\n");
    check(
        Reply::Integer(i64::MAX),
        ":9223372036854775807\r\n",
        ":9223372036854775807\r\n",
    );
    check(
        Reply::Integer(i64::MIN),
        ":-9223372036854775808\r\n",
        ":-9223372036854775808\r\n",
    );
    check(bulk("hello"), "$5\r\nhello\r\n", "$5\r\nhello\r\n");
    check(bulk(""), "$0\r\n\r\n", "$0\r\n\r\n");
    check(bulk("a\r\nb"), "$4\r\na\r\nb\r\n", "$4\r\na\r\nb\r\n");
    let big = "x".repeat(12345);
    check(
        Reply::Bulk(big.clone().into()),
        &format!("$12345\r\n{big}\r\n"),
        &format!("$12345\r\n{big}\r\n"),
    );
}

#[test]
fn nulls() {
    check(Reply::Null, "$-1\r\n", "_\r\n");
    check(Reply::NullArray, "*-1\r\n", "_\r\n");
}

#[test]
fn aggregates() {
    let array = Reply::Array(vec![
        Reply::Integer(1),
        bulk("a"),
        Reply::Null,
        Reply::Array(vec![]),
    ]);
    check(
        array,
        "*4\r\n:1\r\n$1\r\na\r\n$-1\r\n*0\r\n",
        "*4\r\n:1\r\n$1\r\na\r\n_\r\n*0\r\n",
    );
    let map = Reply::Map(vec![
        (bulk("k"), Reply::Integer(1)),
        (bulk("k2"), Reply::Double(1.5)),
    ]);
    check(
        map,
        "*4\r\n$1\r\nk\r\n:1\r\n$2\r\nk2\r\n$3\r\n1.5\r\n",
        "%2\r\n$1\r\nk\r\n:1\r\n$2\r\nk2\r\n,1.5\r\n",
    );
    check(Reply::Map(vec![]), "*0\r\n", "%0\r\n");
    check(
        Reply::Set(vec![bulk("a"), bulk("b")]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        "~2\r\n$1\r\na\r\n$1\r\nb\r\n",
    );
    let push = Reply::Push(vec![bulk("message"), bulk("ch"), bulk("hi")]);
    check(
        push,
        "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
    );
    // Frames have no header, in an array too (EXEC of one SUBSCRIBE of two channels).
    let frames = Reply::Frames(vec![
        Reply::Push(vec![bulk("subscribe"), bulk("a"), Reply::Integer(1)]),
        Reply::Push(vec![bulk("subscribe"), bulk("b"), Reply::Integer(2)]),
    ]);
    check(
        Reply::Array(vec![frames]),
        "*1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n",
        "*1\r\n>3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n>3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n",
    );
    let nested = Reply::Array(vec![
        Reply::Set(vec![Reply::Boolean(true)]),
        Reply::NullArray,
    ]);
    check(
        nested,
        "*2\r\n*1\r\n:1\r\n*-1\r\n",
        "*2\r\n~1\r\n#t\r\n_\r\n",
    );
    check(
        Reply::Pairs(vec![(bulk("m"), Reply::Double(1.5))]),
        "*2\r\n$1\r\nm\r\n$3\r\n1.5\r\n",
        "*1\r\n*2\r\n$1\r\nm\r\n,1.5\r\n",
    );
    check(Reply::Pairs(vec![]), "*0\r\n", "*0\r\n");
    let wide = Reply::Array((0..12).map(Reply::Integer).collect());
    assert!(enc(&wide, Resp2).starts_with(b"*12\r\n:0\r\n"));
}

#[test]
fn booleans_and_verbatim() {
    check(Reply::Boolean(true), ":1\r\n", "#t\r\n");
    check(Reply::Boolean(false), ":0\r\n", "#f\r\n");
    let text = |format: &[u8; 3]| Reply::Verbatim {
        format: *format,
        text: Bytes::from_static(b"hello"),
    };
    check(text(b"txt"), "$5\r\nhello\r\n", "=9\r\ntxt:hello\r\n");
    check(text(b"mkd"), "$5\r\nhello\r\n", "=9\r\nmkd:hello\r\n");
    check(text(b"abc"), "$5\r\nhello\r\n", "=9\r\nabc:hello\r\n");
}

/// RESP2 bulk and RESP3 double encodings of `d` in the Redis 7.2+ format.
#[track_caller]
fn check_double(d: f64, text: &str) {
    for (proto, want) in [
        (Protocol::Resp2, format!("${}\r\n{text}\r\n", text.len())),
        (Protocol::Resp3, format!(",{text}\r\n")),
    ] {
        let mut out = BytesMut::new();
        Reply::Double(d).encode_with(proto, DoubleFormat::Shortest, &mut out);
        assert_eq!(String::from_utf8_lossy(&out), want);
    }
}

#[test]
fn doubles_like_redis_7_2() {
    check_double(1.5, "1.5");
    check_double(3.0, "3");
    check_double(-3.0, "-3");
    check_double(1e300, "1e+300");
    check_double(0.1, "0.1");
    check_double(0.3, "0.3");
    check_double(1.0 / 3.0, "0.3333333333333333");
    check_double(-2.5, "-2.5");
    check_double(123.456, "123.456");
    check_double(0.0, "0");
    check_double(-0.0, "-0");
    check_double(f64::INFINITY, "inf");
    check_double(f64::NEG_INFINITY, "-inf");
    check_double(f64::NAN, "nan");
    check_double(1e17, "100000000000000000");
    check_double(4611686018427387904.0, "4611686018427387904");
    check_double(1e19, "1e+19");
    check_double(1.2345678901234568e21, "1234567890123456800000");
    check_double(1e-5, "0.00001");
    check_double(1.5e-6, "1.5e-6"); // fpconv: 15e-7, exponent form once k <= -7
    check_double(1e-7, "1e-7");
    check_double(1.5e-7, "1.5e-7");
    check_double(0.12345678, "0.12345678");
    check_double(1.2345678e-3, "0.0012345678");
    check_double(5e-324, "5e-324");
    check_double(f64::MAX, "1.7976931348623157e+308");
    check_double(-1e-300, "-1e-300");
}

#[track_caller]
fn check_printf(d: f64, text: &str) {
    for (proto, expected) in [
        (Resp2, format!("${}\r\n{text}\r\n", text.len())),
        (Resp3, format!(",{text}\r\n")),
    ] {
        let mut out = BytesMut::new();
        Reply::Double(d).encode_with(proto, DoubleFormat::Printf17g, &mut out);
        assert_eq!(String::from_utf8_lossy(&out), expected, "{d:?} {proto:?}");
    }
}

#[test]
fn doubles_like_redis_7_0() {
    // Expected texts are what redis-server 7.0.15 replies to ZSCORE.
    check_printf(0.1, "0.10000000000000001");
    check_printf(1.5, "1.5");
    check_printf(3.0, "3");
    check_printf(1e300, "1.0000000000000001e+300");
    check_printf(f64::INFINITY, "inf");
    check_printf(f64::NEG_INFINITY, "-inf");
    check_printf(f64::NAN, "nan");
    check_printf(-f64::NAN, "-nan");
    check_printf(1e15, "1000000000000000");
    check_printf(1e16, "10000000000000000");
    check_printf(1e17, "1e+17");
    check_printf(123456789012345678.0, "1.2345678901234568e+17");
    check_printf(0.0001, "0.0001");
    check_printf(0.00001, "1.0000000000000001e-05");
    check_printf(-0.0, "-0");
    check_printf(5e-324, "4.9406564584124654e-324");
    check_printf(f64::MAX, "1.7976931348623157e+308");
    check_printf(100.0, "100");
    check_printf(1e21, "1e+21");
    check_printf(-2.5, "-2.5");
}

#[test]
fn encoding_appends() {
    let mut out = BytesMut::from(&b"prefix"[..]);
    Reply::Ok.encode(Resp2, &mut out);
    bulk("v").encode(Resp3, &mut out);
    assert_eq!(&out[..], b"prefix+OK\r\n$1\r\nv\r\n");
}

#[test]
fn integers_near_powers_of_ten_have_no_stray_bytes() {
    // redis-protocol 6.0.0 sizes these one digit too long; the extra byte must not go out.
    let mut values = vec![i64::MIN, i64::MAX, i64::MIN + 1];
    let mut power: i64 = 1;
    for _ in 0..18 {
        power *= 10;
        values.extend([power - 1, power, power + 1, -(power - 1), -power]);
    }
    for n in values {
        check(
            Reply::Integer(n),
            &format!(":{n}\r\n"),
            &format!(":{n}\r\n"),
        );
    }
}

#[test]
fn fallback_writers_match_the_library_encoders() {
    let own = |write: &dyn Fn(&mut BytesMut)| {
        let mut out = BytesMut::new();
        write(&mut out);
        out.to_vec()
    };
    for n in [0, 7, -7, 1234567, i64::MIN, i64::MAX] {
        assert_eq!(
            own(&|o| put_integer(n, o)),
            enc(&Reply::Integer(n), Resp2),
            "{n}"
        );
    }
    for data in [&b""[..], b"x", &[b'y'; 10_000]] {
        let reply = Reply::Bulk(Bytes::copy_from_slice(data));
        assert_eq!(own(&|o| put_bulk(data, o)), enc(&reply, Resp2));
        assert_eq!(own(&|o| put_bulk(data, o)), enc(&reply, Resp3));
    }
    let reply = Reply::Verbatim {
        format: *b"txt",
        text: Bytes::from_static(b"hi"),
    };
    assert_eq!(own(&|o| put_verbatim(b"txt", b"hi", o)), enc(&reply, Resp3));
    assert_eq!(
        own(&|o| line(b'+', b"PONG", o)),
        enc(&Reply::Simple("PONG"), Resp3)
    );
}

#[test]
fn bulk_array_encodes_as_the_array_of_bulk_strings() {
    for n in [0usize, 1, 3, 12] {
        let items: Vec<Vec<u8>> = (0..n).map(|i| vec![b'x'; i * 7]).collect();
        let mut b = BulkArray::new(n, 0);
        for item in &items {
            b.push(item);
        }
        assert_eq!(b.left(), 0);
        let encoded = b.finish();
        let array = Reply::Array(
            items
                .iter()
                .map(|i| Reply::Bulk(Bytes::copy_from_slice(i)))
                .collect(),
        );
        for proto in [Resp2, Resp3] {
            assert_eq!(enc(&encoded, proto), enc(&array, proto), "{n} {proto:?}");
        }
    }
    let mut b = BulkArray::new(2, 4);
    b.push(b"ab");
    b.push(b"");
    check(
        b.finish(),
        "*2\r\n$2\r\nab\r\n$0\r\n\r\n",
        "*2\r\n$2\r\nab\r\n$0\r\n\r\n",
    );
}

#[test]
#[should_panic(expected = "fewer elements than announced")]
fn bulk_array_must_be_complete() {
    let mut b = BulkArray::new(2, 0);
    b.push(b"only one");
    let _ = b.finish();
}

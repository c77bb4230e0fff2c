//! Request decoding: error texts, partial input, pipelining, zero-copy, inline quoting, limits.

use super::*;

fn decoder() -> RequestDecoder {
    RequestDecoder::new(Limits::default())
}

/// Decodes every request in `input` (given whole), returning their args as byte vectors.
fn decode_all(input: &[u8], authenticated: bool) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
    let mut d = decoder();
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Some(req) = d.decode(&mut buf, authenticated)? {
        out.push(req.args.iter().map(|a| a.to_vec()).collect());
    }
    Ok(out)
}

fn decode_err(input: &[u8], authenticated: bool) -> ProtocolError {
    match decode_all(input, authenticated) {
        Err(e) => e,
        Ok(reqs) => panic!("{input:?} decoded to {reqs:?}, expected an error"),
    }
}

fn args(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|s| s.as_bytes().to_vec()).collect()
}

#[test]
fn error_texts_are_redis_texts() {
    let cases: [(ProtocolError, &str); 9] = [
        (
            ProtocolError::InvalidMultibulkLength,
            "Protocol error: invalid multibulk length",
        ),
        (
            ProtocolError::InvalidBulkLength,
            "Protocol error: invalid bulk length",
        ),
        (
            ProtocolError::expected_bulk(b':'),
            "Protocol error: expected '$', got ':'",
        ),
        (
            ProtocolError::TooBigMultibulkCountString,
            "Protocol error: too big mbulk count string",
        ),
        (
            ProtocolError::TooBigBulkCountString,
            "Protocol error: too big bulk count string",
        ),
        (
            ProtocolError::TooBigInlineRequest,
            "Protocol error: too big inline request",
        ),
        (
            ProtocolError::UnbalancedQuotes,
            "Protocol error: unbalanced quotes in request",
        ),
        (
            ProtocolError::UnauthenticatedMultibulkLength,
            "Protocol error: unauthenticated multibulk length",
        ),
        (
            ProtocolError::UnauthenticatedBulkLength,
            "Protocol error: unauthenticated bulk length",
        ),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
        assert_eq!(
            &error.reply_bytes()[..],
            format!("-ERR {text}\r\n").as_bytes()
        );
    }
}

#[test]
fn invalid_multibulk_length() {
    for input in [
        &b"*abc\r\n"[..],
        b"*\r\n",
        b"*+1\r\n$4\r\nPING\r\n",
        b"*01\r\n$4\r\nPING\r\n",
        b"*-0\r\n",
        b"*-01\r\n",
        b"*2147483648\r\n",
        b"*99999999999999999999\r\n",
        b"*1 \r\n$4\r\nPING\r\n",
    ] {
        assert_eq!(
            decode_err(input, true),
            ProtocolError::InvalidMultibulkLength,
            "{input:?}"
        );
    }
    // INT_MAX itself is accepted (and waits for its elements).
    assert_eq!(
        decoder().decode(&mut BytesMut::from(&b"*2147483647\r\n"[..]), true),
        Ok(None)
    );
}

#[test]
fn invalid_bulk_length() {
    for input in [
        &b"*1\r\n$abc\r\n"[..],
        b"*1\r\n$-1\r\n",
        b"*2\r\n$3\r\nGET\r\n$-1\r\n",
        b"*1\r\n$-5\r\nhello\r\n",
        b"*1\r\n$+4\r\nPING\r\n",
        b"*1\r\n$04\r\nPING\r\n",
        b"*1\r\n$-0\r\n\r\n",
        b"*1\r\n$\r\n",
        b"*1\r\n$536870913\r\n",
    ] {
        assert_eq!(
            decode_err(input, true),
            ProtocolError::InvalidBulkLength,
            "{input:?}"
        );
    }
    // proto-max-bulk-len itself is fine.
    assert_eq!(
        decoder().decode(&mut BytesMut::from(&b"*1\r\n$536870912\r\n"[..]), true),
        Ok(None)
    );
}

#[test]
fn expected_dollar() {
    let got = |input: &[u8]| decode_err(input, true).to_string();
    assert_eq!(
        got(b"*1\r\n:1\r\n"),
        "Protocol error: expected '$', got ':'"
    );
    assert_eq!(
        got(b"*1\r\n+OK\r\n"),
        "Protocol error: expected '$', got '+'"
    );
    assert_eq!(
        got(b"*1\r\n-ERR\r\n"),
        "Protocol error: expected '$', got '-'"
    );
    assert_eq!(
        got(b"*2\r\n$3\r\nGET\r\n*0\r\n"),
        "Protocol error: expected '$', got '*'"
    );
    assert_eq!(
        got(b"*1\r\n*-1\r\n"),
        "Protocol error: expected '$', got '*'"
    );
    assert_eq!(
        got(b"*1\r\nPING\r\n"),
        "Protocol error: expected '$', got 'P'"
    );
    // Line breaks become spaces, like addReplyErrorFormat.
    assert_eq!(got(b"*1\r\n\r\n"), "Protocol error: expected '$', got ' '");
    assert_eq!(
        got(b"*1\r\n\n\r\n"),
        "Protocol error: expected '$', got ' '"
    );
    // A non-ASCII byte is sent raw.
    let e = decode_err(b"*1\r\n\xff\r\n", true);
    assert_eq!(
        &e.reply_bytes()[..],
        b"-ERR Protocol error: expected '$', got '\xff'\r\n"
    );
    // Only once the whole line is there, as in Redis.
    assert_eq!(
        decoder().decode(&mut BytesMut::from(&b"*1\r\n:1"[..]), true),
        Ok(None)
    );
}

#[test]
fn the_first_error_in_the_stream_wins() {
    // redis-protocol parses these whole; the slow path must report what Redis reports first.
    assert_eq!(
        decode_err(b"*2\r\n$03\r\nGET\r\n:1\r\n", true),
        ProtocolError::InvalidBulkLength
    );
    assert_eq!(
        decode_err(b"*2\r\n:1\r\n$-1\r\n", true),
        ProtocolError::expected_bulk(b':')
    );
    assert_eq!(
        decode_err(b"*11\r\n:1\r\n", false),
        ProtocolError::UnauthenticatedMultibulkLength
    );
}

#[test]
fn too_big_count_strings() {
    let limit = Limits::default().inline_max_size;
    let mut header = b"*".to_vec();
    header.resize(limit, b'1');
    let mut d = decoder();
    let mut buf = BytesMut::from(&header[..]);
    assert_eq!(
        d.decode(&mut buf, true),
        Ok(None),
        "exactly 64 KB still waits"
    );
    buf.extend_from_slice(b"1");
    assert_eq!(
        d.decode(&mut buf, true),
        Err(ProtocolError::TooBigMultibulkCountString)
    );

    let mut input = b"*1\r\n$".to_vec();
    input.resize(4 + limit + 1, b'1');
    assert_eq!(
        decode_err(&input, true),
        ProtocolError::TooBigBulkCountString
    );
    input.pop();
    assert_eq!(
        decoder().decode(&mut BytesMut::from(&input[..]), true),
        Ok(None)
    );
}

#[test]
fn too_big_inline_request() {
    let limit = Limits::default().inline_max_size;
    let mut d = decoder();
    let mut buf = BytesMut::from(&vec![b'a'; limit][..]);
    assert_eq!(d.decode(&mut buf, true), Ok(None));
    buf.extend_from_slice(b"a");
    assert_eq!(
        d.decode(&mut buf, true),
        Err(ProtocolError::TooBigInlineRequest)
    );
    // A longer line is fine when its newline arrives together with it, as in Redis.
    let mut line = vec![b'a'; limit * 2];
    line.extend_from_slice(b"\r\n");
    assert_eq!(decode_all(&line, true).unwrap()[0][0].len(), limit * 2);
}

#[test]
fn unbalanced_quotes() {
    for input in [
        &b"SET \"a\r\n"[..],
        b"SET 'a\r\n",
        b"SET \"a\"b\r\n",
        b"SET 'a'b\r\n",
        b"SET \"a\\\"\r\n",
        b"a\"b c\"d\n",
    ] {
        assert_eq!(
            decode_err(input, true),
            ProtocolError::UnbalancedQuotes,
            "{input:?}"
        );
    }
}

#[test]
fn unauthenticated_limits() {
    assert_eq!(
        decode_err(b"*11\r\n", false),
        ProtocolError::UnauthenticatedMultibulkLength
    );
    assert_eq!(
        decoder().decode(&mut BytesMut::from(&b"*10\r\n"[..]), false),
        Ok(None)
    );
    assert_eq!(
        decoder().decode(&mut BytesMut::from(&b"*11\r\n"[..]), true),
        Ok(None)
    );
    let mut eleven = b"*11\r\n".to_vec();
    (0..11).for_each(|_| eleven.extend_from_slice(b"$1\r\na\r\n"));
    assert_eq!(
        decode_err(&eleven, false),
        ProtocolError::UnauthenticatedMultibulkLength
    );
    assert_eq!(decode_all(&eleven, true).unwrap()[0].len(), 11);

    assert_eq!(
        decode_err(b"*1\r\n$16385\r\n", false),
        ProtocolError::UnauthenticatedBulkLength
    );
    assert_eq!(
        decoder().decode(&mut BytesMut::from(&b"*1\r\n$16384\r\n"[..]), false),
        Ok(None)
    );
    // Invalid beats unauthenticated, as in Redis.
    assert_eq!(
        decode_err(b"*2147483648\r\n", false),
        ProtocolError::InvalidMultibulkLength
    );
    assert_eq!(
        decode_err(b"*1\r\n$536870913\r\n", false),
        ProtocolError::InvalidBulkLength
    );
}

#[test]
fn custom_limits() {
    let limits = Limits {
        proto_max_bulk_len: 5,
        max_multibulk_len: 2,
        inline_max_size: 8,
    };
    let mut d = RequestDecoder::new(limits);
    let mut ok = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$5\r\nabcde\r\n"[..]);
    assert_eq!(
        d.decode(&mut ok, true).unwrap().unwrap().args,
        ["GET", "abcde"]
    );
    let mut long_bulk = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$6\r\nabcdef\r\n"[..]);
    assert_eq!(
        d.decode(&mut long_bulk, true),
        Err(ProtocolError::InvalidBulkLength)
    );
    let mut many = BytesMut::from(&b"*3\r\n"[..]);
    assert_eq!(
        d.decode(&mut many, true),
        Err(ProtocolError::InvalidMultibulkLength)
    );
    let mut inline = BytesMut::from(&b"123456789"[..]);
    assert_eq!(
        d.decode(&mut inline, true),
        Err(ProtocolError::TooBigInlineRequest)
    );
    // set_limits applies to the next request.
    d.set_limits(Limits::default());
    let mut many = BytesMut::from(&b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"[..]);
    assert_eq!(d.decode(&mut many, true).unwrap().unwrap().args.len(), 3);
}

#[test]
fn oversized_bulk_is_refused_before_its_data_arrives() {
    let mut d = decoder();
    let mut buf = BytesMut::from(&b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$999999999999\r\n"[..]);
    assert_eq!(
        d.decode(&mut buf, true),
        Err(ProtocolError::InvalidBulkLength)
    );
}

/// A pipeline mixing every request shape, with the requests it decodes to.
fn mixed_pipeline() -> (Vec<u8>, Vec<Vec<Vec<u8>>>) {
    let mut input = Vec::new();
    let mut expected = Vec::new();
    input.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n");
    expected.push(args(&["SET", "key", "va\r\nl"]));
    input.extend_from_slice(b"*0\r\n*-1\r\n*-7\r\n\r\n  \t\n");
    input.extend_from_slice(b"PING\r\n");
    expected.push(args(&["PING"]));
    input.extend_from_slice(b"set k \"a b\\x41\"\n");
    expected.push(args(&["set", "k", "a bA"]));
    input.extend_from_slice(b"*1\r\n$0\r\n\r\n");
    expected.push(vec![Vec::new()]);
    input.extend_from_slice(b"*1\rX$4\rXECHOyy");
    expected.push(args(&["ECHO"]));
    let big = "x".repeat(3 * FAST_PATH_WINDOW);
    input.extend_from_slice(format!("*2\r\n$4\r\nECHO\r\n${}\r\n{big}\r\n", big.len()).as_bytes());
    expected.push(args(&["ECHO", &big]));
    input.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    expected.push(args(&["GET", "k"]));
    (input, expected)
}

#[test]
fn pipelined_requests() {
    let (input, expected) = mixed_pipeline();
    assert_eq!(decode_all(&input, true).unwrap(), expected);
}

#[test]
fn every_split_point_waits_then_decodes() {
    let (input, expected) = mixed_pipeline();
    for split in 0..=input.len() {
        let mut d = decoder();
        let mut buf = BytesMut::from(&input[..split]);
        let mut got = Vec::new();
        while let Some(req) = d.decode(&mut buf, true).unwrap() {
            got.push(req.args.iter().map(|a| a.to_vec()).collect::<Vec<_>>());
        }
        assert!(
            got.len() < expected.len() || split == input.len(),
            "split {split}"
        );
        assert_eq!(got[..], expected[..got.len()], "split {split}");
        buf.extend_from_slice(&input[split..]);
        while let Some(req) = d.decode(&mut buf, true).unwrap() {
            got.push(req.args.iter().map(|a| a.to_vec()).collect());
        }
        assert_eq!(got, expected, "split {split}");
        assert!(buf.is_empty(), "split {split}");
    }
}

#[test]
fn byte_by_byte() {
    let (input, expected) = mixed_pipeline();
    let mut d = decoder();
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for &b in &input {
        buf.extend_from_slice(&[b]);
        while let Some(req) = d.decode(&mut buf, true).unwrap() {
            got.push(req.args.iter().map(|a| a.to_vec()).collect::<Vec<_>>());
        }
    }
    assert_eq!(got, expected);
}

/// Asserts every arg of the next request lies inside `buf`'s current allocation.
fn assert_zero_copy(d: &mut RequestDecoder, buf: &mut BytesMut) -> Request {
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    let req = d.decode(buf, true).unwrap().unwrap();
    for arg in req.args.iter().filter(|a| !a.is_empty()) {
        assert!(
            range.contains(&(arg.as_ptr() as usize)),
            "{arg:?} was copied"
        );
    }
    req
}

#[test]
fn arguments_are_slices_of_the_read_buffer() {
    let mut d = decoder();
    let big = vec![b'v'; 100_000];
    let mut buf = BytesMut::with_capacity(200_000);
    buf.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nabc\r\n");
    buf.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n");
    buf.extend_from_slice(&big);
    buf.extend_from_slice(b"\r\nSET plain \"quoted\" 'single'\r\n");
    assert_eq!(assert_zero_copy(&mut d, &mut buf).args[2], "abc"); // fast path
    assert_eq!(assert_zero_copy(&mut d, &mut buf).args[2], big); // slow path
    let inline = assert_zero_copy(&mut d, &mut buf); // inline tokens without escapes
    assert_eq!(inline.args, ["SET", "plain", "quoted", "single"]);
}

#[test]
fn a_large_value_trickling_in_is_hinted_and_decoded() {
    let mut d = decoder();
    let value_len = 10 * 1024 * 1024;
    let mut buf =
        BytesMut::from(format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${value_len}\r\n").as_bytes());
    assert_eq!(d.decode(&mut buf, true), Ok(None));
    assert_eq!(d.bytes_needed_hint(&buf), Some(value_len + 2));
    buf.reserve(value_len + 2);
    let chunk = vec![b'z'; 64 * 1024];
    let mut sent = 0;
    while sent < value_len {
        let n = chunk.len().min(value_len - sent);
        buf.extend_from_slice(&chunk[..n]);
        sent += n;
        assert_eq!(d.decode(&mut buf, true), Ok(None));
        assert_eq!(d.bytes_needed_hint(&buf), Some(value_len - sent + 2));
    }
    buf.extend_from_slice(b"\r\n");
    let req = assert_zero_copy(&mut d, &mut buf);
    assert_eq!(req.args[2].len(), value_len);
    assert_eq!(d.bytes_needed_hint(&buf), None);
}

#[test]
fn hint_is_none_while_a_length_is_unknown() {
    let mut d = decoder();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1"[..]);
    assert_eq!(d.decode(&mut buf, true), Ok(None));
    assert_eq!(d.bytes_needed_hint(&buf), None);
    let mut d = decoder();
    let mut buf = BytesMut::from(&b"GET k"[..]);
    assert_eq!(d.decode(&mut buf, true), Ok(None));
    assert_eq!(d.bytes_needed_hint(&buf), None);
}

#[test]
fn inline_splitting_follows_sdssplitargs() {
    let split = |line: &str| decode_all(format!("{line}\r\n").as_bytes(), true);
    assert_eq!(split("SET k v").unwrap(), [args(&["SET", "k", "v"])]);
    assert_eq!(
        split("  SET\t k \x0b v  ").unwrap(),
        [args(&["SET", "k", "v"])]
    );
    assert_eq!(
        split(r#"SET "a b" c"#).unwrap(),
        [args(&["SET", "a b", "c"])]
    );
    assert_eq!(
        split(r#"ECHO "\x41\x4a\x7e""#).unwrap(),
        [args(&["ECHO", "AJ~"])]
    );
    assert_eq!(split(r#"ECHO "\x4""#).unwrap(), [args(&["ECHO", "x4"])]);
    assert_eq!(split(r#"ECHO "\xZZ""#).unwrap(), [args(&["ECHO", "xZZ"])]);
    let escapes = split(r#"ECHO "a\nb\rc\td\be\af\"g\\h\qi""#).unwrap();
    assert_eq!(escapes, [args(&["ECHO", "a\nb\rc\td\x08e\x07f\"g\\hqi"])]);
    assert_eq!(
        split(r#"ECHO 'it\'s' 'a\nb'"#).unwrap(),
        [args(&["ECHO", "it's", "a\\nb"])]
    );
    assert_eq!(split(r#"ECHO "" ''"#).unwrap(), [args(&["ECHO", "", ""])]);
    assert_eq!(
        split(r#"ECHO ab"c d"e"#).unwrap_err(),
        ProtocolError::UnbalancedQuotes
    );
    assert_eq!(
        split(r#"ECHO ab"c d" e"#).unwrap(),
        [args(&["ECHO", "abc d", "e"])]
    );
    assert_eq!(split(r#"ECHO a\x41"#).unwrap(), [args(&["ECHO", "a\\x41"])]);
    assert_eq!(split("ECHO \u{e9}").unwrap(), [args(&["ECHO", "\u{e9}"])]);
    // LF alone ends a line too; a bare CR inside a line separates tokens.
    assert_eq!(
        decode_all(b"GET a\rb\n", true).unwrap(),
        [args(&["GET", "a", "b"])]
    );
    // Blank lines are skipped.
    assert_eq!(
        decode_all(b"\r\n\n \t \r\nPING\n", true).unwrap(),
        [args(&["PING"])]
    );
    let inline = decoder()
        .decode(&mut BytesMut::from(&b"PING\r\n"[..]), true)
        .unwrap()
        .unwrap();
    assert!(inline.inline);
}

#[test]
fn nul_before_the_line_end_waits_like_strchr() {
    // Redis never sees the line end past a NUL; it errors only once 64 KB pile up.
    for input in [&b"PING\0\r\n"[..], b"*1\0\r\n", b"*1\r\n$4\0\r\nPING\r\n"] {
        let mut d = decoder();
        let mut buf = BytesMut::from(input);
        assert_eq!(d.decode(&mut buf, true), Ok(None), "{input:?}");
        buf.extend_from_slice(&vec![b'\n'; 70_000]);
        assert!(d.decode(&mut buf, true).is_err(), "{input:?}");
    }
    // NULs inside bulk data are just data.
    assert_eq!(
        decode_all(b"*1\r\n$3\r\na\0b\r\n", true).unwrap(),
        [vec![b"a\0b".to_vec()]]
    );
}

#[test]
fn deep_nesting_cannot_overflow_the_stack() {
    let mut input = Vec::new();
    (0..200_000).for_each(|_| input.extend_from_slice(b"*1\r\n"));
    let worker = std::thread::Builder::new().stack_size(2 << 20);
    let result = worker
        .spawn(move || decode_all(&input, true))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(result, Err(ProtocolError::expected_bulk(b'*')));
}

#[test]
fn decoder_recovers_if_the_buffer_is_cleared() {
    let mut d = decoder();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$10\r\nabc"[..]);
    assert_eq!(d.decode(&mut buf, true), Ok(None));
    buf.clear();
    buf.extend_from_slice(b"PING\r\n");
    assert_eq!(d.decode(&mut buf, true).unwrap().unwrap().args, ["PING"]);
}

#[test]
fn redis_int_parsing() {
    use super::multibulk::parse_redis_int as p;
    assert_eq!(p(b"0"), Some(0));
    assert_eq!(p(b"-1"), Some(-1));
    assert_eq!(p(b"9223372036854775807"), Some(i64::MAX));
    assert_eq!(p(b"-9223372036854775808"), Some(i64::MIN));
    for bad in [
        &b""[..],
        b"-",
        b"+1",
        b"01",
        b"-0",
        b"00",
        b"1a",
        b" 1",
        b"9223372036854775808",
    ] {
        assert_eq!(p(bad), None, "{bad:?}");
    }
}

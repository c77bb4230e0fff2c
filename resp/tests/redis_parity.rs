//! The same bytes, sent to the real redis-server (Debian's /usr/bin/redis-server, 7.0) and to
//! our codec, must give the same answer: protocol error replies, inline argument splitting,
//! and reply encodings.

use bytes::{Bytes, BytesMut};
use resp::{DoubleFormat, Limits, Protocol, ProtocolError, Reply, RequestDecoder};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A redis-server of our own requiring a password, killed when dropped.
struct RedisServer {
    child: Child,
    port: u16,
    password: String,
}

impl RedisServer {
    /// Starts a server and proves we reach it (and not whatever else grabbed the port) by
    /// authenticating with a password unique to it.
    fn start() -> RedisServer {
        for attempt in 0..5 {
            if let Some(server) = Self::try_start(attempt) {
                return server;
            }
        }
        panic!("could not start /usr/bin/redis-server");
    }

    fn try_start(attempt: u32) -> Option<RedisServer> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let password = format!("parity-{}-{port}-{attempt}", std::process::id());
        let child = Command::new("/usr/bin/redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--requirepass",
                &password,
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("/usr/bin/redis-server must be installed");
        let mut server = RedisServer {
            child,
            port,
            password,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if server.child.try_wait().ok()?.is_some() {
                return None; // exited, e.g. the port was taken meanwhile
            }
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
                stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
                stream.write_all(&server.auth_line()).ok()?;
                let mut reply = [0; 5];
                stream.read_exact(&mut reply).ok()?;
                return (&reply == b"+OK\r\n").then_some(server);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn auth_line(&self) -> Vec<u8> {
        format!("AUTH {}\r\n", self.password).into_bytes()
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
    }

    /// Sends `input` and returns everything until the server closes the connection.
    fn until_close(&self, input: &[u8]) -> Vec<u8> {
        let mut stream = self.connect();
        stream.write_all(input).unwrap();
        let mut out = Vec::new();
        stream
            .read_to_end(&mut out)
            .expect("redis-server should close the connection");
        out
    }

    /// Sends `input` and returns what arrives within `wait`.
    fn within(&self, input: &[u8], wait: Duration) -> Vec<u8> {
        let mut stream = self.connect();
        stream.set_read_timeout(Some(wait)).unwrap();
        stream.write_all(input).unwrap();
        let mut out = vec![0; 4096];
        match stream.read(&mut out) {
            Ok(n) => out.truncate(n),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                out.clear()
            }
            Err(e) => panic!("{e}"),
        }
        out
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads exactly `n` bytes.
fn read_n(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut out = vec![0; n];
    stream.read_exact(&mut out).unwrap();
    out
}

/// What our decoder makes of `input` on a fresh connection: the protocol error it reports,
/// counting an `AUTH` request at the front as successful.
fn our_error(input: &[u8]) -> Result<ProtocolError, String> {
    let mut decoder = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(input);
    let mut authenticated = false;
    loop {
        match decoder.decode(&mut buf, authenticated) {
            Err(e) => return Ok(e),
            Ok(None) => return Err(format!("no error for {input:?}")),
            Ok(Some(req)) if req.args[0].eq_ignore_ascii_case(b"AUTH") => authenticated = true,
            Ok(Some(req)) => return Err(format!("decoded {req:?}")),
        }
    }
}

#[test]
fn protocol_errors_match_redis() {
    let redis = RedisServer::start();
    let long_count = [&b"*"[..], &[b'1'; 70_000]].concat();
    let long_bulk_count = [&b"*1\r\n$"[..], &[b'1'; 70_000]].concat();
    let long_inline = vec![b'a'; 70_000];
    let cases: Vec<&[u8]> = vec![
        b"*abc\r\n",
        b"*+1\r\n$4\r\nPING\r\n",
        b"*03\r\n",
        b"*-0\r\n",
        b"*\r\n",
        b"*2147483648\r\n",
        b"*1\r\n$abc\r\n",
        b"*1\r\n$-1\r\n",
        b"*1\r\n$04\r\nPING\r\n",
        b"*1\r\n$536870913\r\n",
        b"*1\r\n:1\r\n",
        b"*1\r\n+OK\r\n",
        b"*1\r\n\r\n",
        b"*1\r\n\n\r\n",
        b"*1\r\n\xff\r\n",
        b"*2\r\n$4\r\nECHO\r\n*1\r\n$1\r\na\r\n",
        b"*2\r\n$03\r\nGET\r\n:1\r\n",
        b"SET \"a\r\n",
        b"ECHO \"a\"b\r\n",
        b"ECHO 'a'b\r\n",
        &long_count,
        &long_bulk_count,
        &long_inline,
    ];
    // These are errors only before AUTH.
    let unauthenticated_only: [&[u8]; 2] = [b"*11\r\n", b"*1\r\n$16385\r\n"];
    let runs = cases.iter().flat_map(|c| [(*c, false), (*c, true)]);
    for (case, authenticate) in runs.chain(unauthenticated_only.map(|c| (c, false))) {
        {
            let input = if authenticate {
                [redis.auth_line().as_slice(), case].concat()
            } else {
                case.to_vec()
            };
            let theirs = redis.until_close(&input);
            let ours = our_error(&input).unwrap_or_else(|e| panic!("{e}"));
            let mut expected = if authenticate {
                b"+OK\r\n".to_vec()
            } else {
                Vec::new()
            };
            expected.extend_from_slice(&ours.reply_bytes());
            assert_eq!(
                String::from_utf8_lossy(&theirs),
                String::from_utf8_lossy(&expected),
                "input {:?}",
                String::from_utf8_lossy(&input[..input.len().min(40)])
            );
        }
    }
}

#[test]
fn unauthenticated_limits_are_redis_limits() {
    let redis = RedisServer::start();
    // At the limit Redis waits for the rest; so do we.
    for case in [
        &b"*10\r\n"[..],
        b"*1\r\n$16384\r\n",
        b"*1\0\r\n",
        b"PING\0\r\n",
    ] {
        assert_eq!(
            redis.within(case, Duration::from_millis(300)),
            b"",
            "{case:?}"
        );
        let mut buf = BytesMut::from(case);
        assert_eq!(
            RequestDecoder::new(Limits::default()).decode(&mut buf, false),
            Ok(None)
        );
    }
}

/// Reads a RESP2 array of bulk strings.
fn read_bulk_array(stream: &mut TcpStream) -> Vec<Vec<u8>> {
    let line = |stream: &mut TcpStream| {
        let mut line = Vec::new();
        while !line.ends_with(b"\r\n") {
            line.extend(read_n(stream, 1));
        }
        String::from_utf8(line[1..line.len() - 2].to_vec()).unwrap()
    };
    let count: usize = line(stream).parse().unwrap();
    (0..count)
        .map(|_| {
            let len: usize = line(stream).parse().unwrap();
            let mut data = read_n(stream, len + 2);
            data.truncate(len);
            data
        })
        .collect()
}

#[test]
fn inline_arguments_split_like_redis() {
    let redis = RedisServer::start();
    let mut stream = redis.connect();
    stream.write_all(&redis.auth_line()).unwrap();
    assert_eq!(read_n(&mut stream, 5), b"+OK\r\n");
    let lines: [&[u8]; 14] = [
        b"a b c",
        b"\"a b\" c",
        b"\"\\x41\\x4a\\x7e\" \"\\x4\" \"\\xZZ\"",
        b"\"a\\nb\\rc\\td\\be\\af\\\"g\\\\h\\qi\"",
        b"'it\\'s' 'a\\nb'",
        b"\"\" '' x",
        b"ab\"c d\" e",
        b"a\\x41",
        b"\t a \x0b b\x0bc \x0c",
        b"x\"y\"",
        b"\xc3\xa9 \xff",
        b"a\rb",
        b"'a\"b' \"a'b\"",
        b"a'b c' d",
    ];
    for line in lines {
        let mut input = b"RPUSH l ".to_vec();
        input.extend_from_slice(line);
        input.extend_from_slice(b"\nLRANGE l 0 -1\r\nDEL l\r\n");
        stream.write_all(&input).unwrap();
        let mut count_reply = Vec::new();
        while !count_reply.ends_with(b"\r\n") {
            count_reply.extend(read_n(&mut stream, 1));
        }
        let theirs = read_bulk_array(&mut stream);
        assert_eq!(read_n(&mut stream, 4), b":1\r\n");

        let mut buf = BytesMut::from(&input[..]);
        let request = RequestDecoder::new(Limits::default())
            .decode(&mut buf, true)
            .unwrap()
            .unwrap();
        assert!(request.inline);
        let ours: Vec<Vec<u8>> = request.args[2..].iter().map(|a| a.to_vec()).collect();
        assert_eq!(ours, theirs, "line {:?}", String::from_utf8_lossy(line));
    }
}

/// Sends `commands` on an authenticated connection speaking `proto` and returns the reply to
/// the last one, which must be `expected_len` bytes long.
fn last_reply(
    stream: &mut TcpStream,
    commands: &[u8],
    replies_before: usize,
    expected_len: usize,
) -> Vec<u8> {
    stream.write_all(commands).unwrap();
    let mut skipped = 0;
    while skipped < replies_before {
        // Every reply before the last is one line (+OK, :n, -ERR).
        if read_n(stream, 1) == b"\n" {
            skipped += 1;
        }
    }
    read_n(stream, expected_len)
}

fn encoded(reply: &Reply, proto: Protocol, doubles: DoubleFormat) -> Vec<u8> {
    let mut out = BytesMut::new();
    reply.encode_with(proto, doubles, &mut out);
    out.to_vec()
}

#[test]
fn replies_match_redis_byte_for_byte() {
    let redis = RedisServer::start();
    for proto in [Protocol::Resp2, Protocol::Resp3] {
        let mut stream = redis.connect();
        let hello = if proto == Protocol::Resp3 { "3" } else { "2" };
        stream
            .write_all(
                format!("AUTH {}\r\nHELLO {hello}\r\nFLUSHALL\r\n", redis.password).as_bytes(),
            )
            .unwrap();
        // Skip +OK, the HELLO map, +OK: read until the final "+OK\r\n".
        let mut seen = Vec::new();
        while !(seen.ends_with(b"+OK\r\n") && seen.starts_with(b"+OK\r\n") && seen.len() > 5) {
            seen.extend(read_n(&mut stream, 1));
        }
        let mut check = |setup: &str, replies_before: usize, query: &str, reply: Reply| {
            let expected = encoded(&reply, proto, DoubleFormat::Printf17g);
            let input = format!("{setup}{query}\r\n");
            let theirs = last_reply(
                &mut stream,
                input.as_bytes(),
                replies_before,
                expected.len(),
            );
            assert_eq!(
                String::from_utf8_lossy(&theirs),
                String::from_utf8_lossy(&expected),
                "{proto:?} {query}"
            );
        };
        let bulk = |s: &'static str| Reply::Bulk(Bytes::from_static(s.as_bytes()));
        let scores = [
            0.1,
            1.5,
            3.0,
            -2.5,
            1e300,
            1e15,
            1e16,
            1e17,
            123456789012345678.0,
            0.0001,
            0.00001,
            5e-324,
            f64::MAX,
            100.0,
            1e21,
            1.0 / 3.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for score in scores {
            check(
                &format!("ZADD z {score:e} m\r\n"),
                1,
                "ZSCORE z m",
                Reply::Double(score),
            );
        }
        check("", 0, "GET missing", Reply::Null);
        check("", 0, "BLPOP missing 0.01", Reply::NullArray);
        check(
            "",
            0,
            "GET",
            Reply::error("ERR wrong number of arguments for 'get' command"),
        );
        check("", 0, "PING", Reply::Simple("PONG"));
        check("", 0, "INCRBY n -42", Reply::Integer(-42));
        check(
            "HSET h f v\r\n",
            1,
            "HGETALL h",
            Reply::Map(vec![(bulk("f"), bulk("v"))]),
        );
        check("SADD s a\r\n", 1, "SMEMBERS s", Reply::Set(vec![bulk("a")]));
        check(
            "RPUSH l a b\r\n",
            1,
            "LRANGE l 0 -1",
            Reply::Array(vec![bulk("a"), bulk("b")]),
        );
        check("SET k \"\"\r\n", 1, "GET k", bulk(""));
        let subscribed = Reply::Push(vec![bulk("subscribe"), bulk("ch"), Reply::Integer(1)]);
        check("", 0, "SUBSCRIBE ch", subscribed);
    }
}

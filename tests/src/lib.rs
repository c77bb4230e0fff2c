//! Test harness for black-box tests: start the real `slotkv-server` binary on a free port with a temporary
//! data folder, and talk to it over TCP — raw RESP bytes, the `redis` crate, or `redis-cli`.
//!
//! The binary is found next to the test executable's `deps/` folder (the same cargo target folder), so
//! `cargo build --release --workspace --bins` must run first; `scripts/test.sh` does.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

/// Path of the server binary under test.
pub fn server_binary() -> PathBuf {
    if let Ok(p) = std::env::var("SLOTKV_SERVER") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let bin = dir.join("slotkv-server");
    assert!(
        bin.exists(),
        "{} not found: run `cargo build --release --workspace --bins` first (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// How to start a server.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    pub cores: usize,
    pub fsync: &'static str,
    pub extra: Vec<String>,
    /// Pin each core's thread to a CPU, as a production server does. Off by default: tests run side
    /// by side, and pinned servers would all crowd the first CPUs.
    pub pin_cores: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            cores: 1,
            fsync: "everysec",
            extra: Vec::new(),
            pin_cores: false,
        }
    }
}

/// A running slotkv-server.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    opts: ServerOptions,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts a one-core server.
    pub fn start() -> Server {
        Server::with(ServerOptions::default())
    }

    /// Starts a server with `--cores n`.
    pub fn with_cores(cores: usize) -> Server {
        Server::with(ServerOptions {
            cores,
            ..Default::default()
        })
    }

    pub fn with(opts: ServerOptions) -> Server {
        Server::with_prepared(opts, |_| {})
    }

    /// Starts a server on a fresh data folder that `prepare` fills first (with a copied Raft log, say).
    pub fn with_prepared(opts: ServerOptions, prepare: impl FnOnce(&Path)) -> Server {
        let dir = tempfile::Builder::new()
            .prefix("slotkv-test-")
            .tempdir()
            .expect("temp dir");
        prepare(dir.path());
        let mut s = Server {
            child: None,
            port: 0,
            dir,
            opts,
            log: Arc::new(Mutex::new(String::new())),
        };
        s.spawn(0);
        s
    }

    /// The data folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn spawn(&mut self, port: u16) {
        let mut cmd = Command::new(server_binary());
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--cores")
            .arg(self.opts.cores.to_string())
            .arg("--fsync")
            .arg(self.opts.fsync)
            .args((!self.opts.pin_cores).then_some("--no-pin"))
            .args(&self.opts.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn slotkv-server");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        let log = self.log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(pos) = line.find("ready to accept connections tcp on ") {
                    let rest = &line[pos + "ready to accept connections tcp on ".len()..];
                    let addr = rest.split_whitespace().next().unwrap_or("");
                    if let Some(port) = addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok())
                    {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(port);
                        }
                    }
                }
                let mut l = log.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start; log:\n{}", self.log.lock().unwrap());
            }
        };
        self.child = Some(child);
        self.port = port;
        // The line comes once every core replayed its log and listens; check that a connection answers.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                if c.write_all(b"PING\r\n").is_ok() {
                    // "+PONG", or "-NOAUTH ..." when the server requires a password: both mean it is up.
                    let mut buf = [0u8; 5];
                    if c.read_exact(&mut buf).is_ok() && (&buf == b"+PONG" || &buf == b"-NOAU") {
                        return;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "server not answering; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// What the server wrote to stderr after the first `offset` bytes: take `log().len()` before a
    /// `restart` to read what that start alone printed.
    pub fn log_since(&self, offset: usize) -> String {
        self.log.lock().unwrap()[offset..].to_string()
    }

    /// Waits until what the server wrote after `offset` satisfies `done`, at most `timeout`, and returns
    /// it. A start's own lines (replays) are in before it returns, since they precede the "ready" line;
    /// this is for what may be printed later.
    pub fn wait_log(
        &self,
        offset: usize,
        timeout: Duration,
        done: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log_since(offset);
            if done(&log) || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A `redis` crate connection.
    pub fn conn(&self) -> redis::Connection {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).unwrap();
        client
            .get_connection()
            .expect("connect with the redis crate")
    }

    /// A raw RESP connection.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// Runs `redis-cli -p PORT args...` and returns its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .arg("-p")
            .arg(self.port.to_string())
            .args(args)
            .output()
            .expect("redis-cli must be installed (scripts/deps.sh test)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends SIGKILL and waits for the process to go.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        unsafe {
            libc::kill(c.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = c.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!(
                    "server did not stop within 30s after SIGTERM; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to exit by itself (after SHUTDOWN); returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let mut c = self.child.take()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = c.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("server did not exit; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server again on the same port and data folder (after `stop` or `kill9`).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill the server first");
        let port = self.port;
        // After kill -9 the kernel may release the old listening sockets a moment after the process is
        // gone (io_uring rings are torn down asynchronously): wait until the port can be bound again.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpListener::bind(("127.0.0.1", port)).is_err() && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.spawn(port);
    }

    /// Resident memory of the server process, from /proc.
    pub fn rss_bytes(&self) -> u64 {
        let pid = self.child.as_ref().expect("server running").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kb: u64 = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap();
        kb * 1024
    }

    /// Process id of the running server.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A raw RESP connection: send bytes, read exactly one reply's bytes.
pub struct Raw {
    pub stream: TcpStream,
    buf: BytesMut,
    resp3: bool,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Raw {
            stream,
            buf: BytesMut::new(),
            resp3: false,
        }
    }

    /// Decode replies as RESP3 from now on (after HELLO 3).
    pub fn set_resp3(&mut self, on: bool) {
        self.resp3 = on;
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends a command as a RESP array of bulk strings.
    pub fn send_cmd(&mut self, args: &[&[u8]]) {
        self.send(&encode_cmd(args));
    }

    /// Sends a command and returns its reply's raw bytes.
    pub fn cmd(&mut self, args: &[&str]) -> Bytes {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.send_cmd(&a);
        self.read_reply()
    }

    /// Same as `cmd`, reply as a lossy string (handy for assert_eq! with RESP text).
    pub fn cmd_str(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cmd(args)).into_owned()
    }

    /// Sends every command in one write, then reads one reply per command.
    pub fn pipeline<A: AsRef<[u8]>>(&mut self, cmds: &[Vec<A>]) -> Vec<Bytes> {
        let mut out = Vec::new();
        for c in cmds {
            let args: Vec<&[u8]> = c.iter().map(AsRef::as_ref).collect();
            out.extend_from_slice(&encode_cmd(&args));
        }
        self.send(&out);
        cmds.iter().map(|_| self.read_reply()).collect()
    }

    /// Reads exactly one reply; panics on timeout or a closed connection.
    pub fn read_reply(&mut self) -> Bytes {
        self.try_read_reply()
            .expect("connection closed before a reply")
    }

    /// Reads one reply, or `None` if the server closed the connection first.
    pub fn try_read_reply(&mut self) -> Option<Bytes> {
        loop {
            if let Some(n) = self.complete_len() {
                return Some(self.buf.split_to(n).freeze());
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    panic!(
                        "timed out waiting for a reply; have {:?}",
                        String::from_utf8_lossy(&self.buf)
                    )
                }
                Err(_) => return None,
            }
        }
    }

    fn complete_len(&self) -> Option<usize> {
        if self.buf.is_empty() {
            return None;
        }
        if self.resp3 {
            redis_protocol::resp3::decode::complete::decode(&self.buf)
                .ok()
                .flatten()
                .map(|(_, n)| n)
        } else {
            redis_protocol::resp2::decode::decode(&self.buf)
                .ok()
                .flatten()
                .map(|(_, n)| n)
        }
    }

    /// True if the server closes the connection (reads EOF) within the timeout, discarding data.
    pub fn closed_by_server(&mut self) -> bool {
        let mut chunk = [0u8; 65536];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    return false
                }
                Err(_) => return true,
            }
        }
    }
}

/// A TOML file for `--config`, deleted when the returned path is dropped (keep it for restarts).
pub fn config_file(text: &str) -> tempfile::TempPath {
    let mut f = tempfile::Builder::new()
        .prefix("slotkv-test-")
        .suffix(".toml")
        .tempfile()
        .expect("temp config file");
    f.write_all(text.as_bytes()).expect("write config file");
    f.into_temp_path()
}

/// Runs the server binary with `args` (and `--dir dir` when given) expecting it to refuse to start;
/// returns its standard error. Backtraces are off so the message is what an operator would see.
pub fn failed_start(args: &[&str], dir: Option<&Path>) -> String {
    let mut cmd = std::process::Command::new(server_binary());
    cmd.args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    if let Some(dir) = dir {
        cmd.arg("--dir").arg(dir);
    }
    let out = cmd.output().expect("run the server binary");
    assert!(!out.status.success(), "{args:?} should fail to start");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Total of `N` over the `core C: replayed N Raft log entries ...` lines of a server log, and how many
/// such lines there were.
pub fn replayed(log: &str) -> (u64, usize) {
    let mut total = 0;
    let mut lines = 0;
    for line in log.lines() {
        let Some(pos) = line.find(": replayed ") else {
            continue;
        };
        let rest = &line[pos + ": replayed ".len()..];
        assert!(
            rest.contains(" Raft log entries of "),
            "unexpected replay line: {line}"
        );
        let n: u64 = rest
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no entry count in: {line}"));
        total += n;
        lines += 1;
    }
    (total, lines)
}

/// A field of an INFO section, as text (panics if the section has no such field).
pub fn info_field(r: &mut Raw, section: &str, field: &str) -> String {
    let info = r.cmd_str(&["INFO", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO {section} has no {field}:\n{info}"))
        .trim()
        .to_string()
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode_cmd(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Path of Debian's redis-server, if installed (differential and benchmark tests compare against it).
pub fn redis_server_binary() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/redis-server");
    p.exists().then_some(p)
}

/// The slot of a key as a Redis Cluster client computes it — CRC16-XMODEM of the hash tag, mod 16384 —
/// folded to slotkv's 2048 slots. Written out here on purpose: tests must not trust the server's own code.
pub fn slot_of(key: impl AsRef<[u8]>) -> usize {
    let k = key.as_ref();
    let tagged = k.iter().position(|&b| b == b'{').and_then(|open| {
        let len = k[open + 1..].iter().position(|&b| b == b'}')?;
        (len > 0).then(|| &k[open + 1..open + 1 + len])
    });
    let mut crc: u16 = 0;
    for &b in tagged.unwrap_or(k) {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    ((crc & 16383) >> 3) as usize
}

/// The core that owns `key` on a node with `cores` cores.
pub fn core_of(key: impl AsRef<[u8]>, cores: usize) -> usize {
    slot_of(key) * cores / 2048
}

/// The first key named `{prefix}N` that a node with `cores` cores places on `core`.
pub fn key_on(core: usize, cores: usize, prefix: &str) -> String {
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|k| core_of(k, cores) == core)
        .unwrap()
}

/// Debian's redis-server on a free loopback port (no persistence), killed on drop; `None` when it is not
/// installed (the test command installs it).
pub struct RedisServer {
    child: Child,
    pub port: u16,
}

impl RedisServer {
    pub fn start() -> Option<RedisServer> {
        let bin = redis_server_binary()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let server = RedisServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    /// A raw RESP connection to it.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Test harness: real redis-server processes on free loopback ports, and the real slotkv-bench
//! binary, with deadlines on everything so a broken build fails instead of hanging CI.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const REDIS_SERVER: &str = "/usr/bin/redis-server";
pub const REDIS_CLI: &str = "/usr/bin/redis-cli";
pub const BENCH: &str = env!("CARGO_BIN_EXE_slotkv-bench");

/// True when the Debian redis tools are installed; otherwise says why the test does nothing.
pub fn have_redis() -> bool {
    let ok = Path::new(REDIS_SERVER).exists() && Path::new(REDIS_CLI).exists();
    if !ok {
        eprintln!(
            "SKIP: {REDIS_SERVER} or {REDIS_CLI} is not installed (apt-get install redis-server)"
        );
    }
    ok
}

/// A loopback port nobody listens on (and, for cluster nodes, whose bus port +10000 is free).
pub fn free_port(with_bus: bool) -> u16 {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
        let port = l.local_addr().unwrap().port();
        if !with_bus {
            return port;
        }
        if port < 55000 && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
}

/// A redis-server child process, killed on drop.
pub struct Redis {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Redis {
    pub fn start(extra: &[&str]) -> Redis {
        Self::start_on(free_port(false), extra)
    }

    pub fn start_on(port: u16, extra: &[&str]) -> Redis {
        let dir = tempfile::tempdir().expect("temp dir");
        let child = Command::new(REDIS_SERVER)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let r = Redis {
            port,
            child,
            _dir: dir,
        };
        r.wait_ready();
        r
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(reply) = raw_command(self.port, "PING") {
                if reply.starts_with('+') || reply.starts_with("-NOAUTH") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs redis-cli against this server and returns its trimmed stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        cli(self.port, args)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new(REDIS_CLI)
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Sends one inline command and returns the first reply line.
pub fn raw_command(port: u16, cmd: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.write_all(format!("{cmd}\r\n").as_bytes())?;
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// Result of one slotkv-bench run.
pub struct BenchRun {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub json: Option<Value>,
    pub elapsed: Duration,
}

/// Runs slotkv-bench with `args` (plus `--json FILE --quiet`), killing it after `limit`.
pub fn bench(args: &[&str], limit: Duration) -> BenchRun {
    let dir = tempfile::tempdir().expect("temp dir");
    let json_path: PathBuf = dir.path().join("out.json");
    let started = Instant::now();
    let mut child = Command::new(BENCH)
        .args(args)
        .arg("--json")
        .arg(&json_path)
        .arg("--quiet")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start slotkv-bench");
    let output = wait_with_deadline(&mut child, limit);
    let Some(output) = output else {
        panic!("slotkv-bench {args:?} did not finish within {limit:?}");
    };
    let json = std::fs::read_to_string(&json_path)
        .ok()
        .map(|t| serde_json::from_str(&t).expect("--json output is valid JSON"));
    BenchRun {
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        json,
        elapsed: started.elapsed(),
    }
}

fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<Output> {
    // Drain the pipes while waiting so a chatty child can never block on a full pipe.
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait().expect("wait for slotkv-bench") {
            Some(status) => break status,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    Some(Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    })
}

/// `json[path...]` as u64 (panics with the document when absent).
pub fn num(json: &Value, path: &[&str]) -> u64 {
    let mut v = json;
    for p in path {
        v = &v[*p];
    }
    v.as_u64()
        .unwrap_or_else(|| panic!("{path:?} missing or not an integer in {json:#}"))
}

/// `json[path...]` as f64.
pub fn float(json: &Value, path: &[&str]) -> f64 {
    let mut v = json;
    for p in path {
        v = &v[*p];
    }
    v.as_f64()
        .unwrap_or_else(|| panic!("{path:?} missing or not a number in {json:#}"))
}

//! slotkv-bench against the real slotkv-server, when it has been built.

mod common;

use common::*;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `$SLOTKV_SERVER`, or `slotkv-server` next to the slotkv-bench binary under test.
fn server_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SLOTKV_SERVER") {
        return Some(PathBuf::from(p));
    }
    let sibling = PathBuf::from(BENCH).with_file_name("slotkv-server");
    sibling.exists().then_some(sibling)
}

#[test]
fn counts_against_slotkv_server() {
    let Some(bin) = server_binary() else {
        eprintln!(
            "SKIP: slotkv-server is not built next to slotkv-bench (cargo build -p slotkv-server, \
             or set SLOTKV_SERVER)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port(false);
    let mut child = Command::new(&bin)
        .args([
            "--port",
            &port.to_string(),
            "--cores",
            "1",
            "--fsync",
            "everysec",
        ])
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start slotkv-server");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !raw_command(port, "PING").is_ok_and(|r| r.starts_with('+')) {
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!("{} did not start on port {port}", bin.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let run = bench(
        &[
            "--port",
            &port.to_string(),
            "--requests",
            "4000",
            "-c",
            "8",
            "--pipeline",
            "4",
            "--ratio",
            "1:1",
            "--keyspace",
            "1000",
        ],
        Duration::from_secs(60),
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let j = run.json.unwrap();
    assert_eq!(num(&j, &["total", "count"]), 4000);
    assert_eq!(num(&j, &["sent"]), 4000);
    assert_eq!(num(&j, &["total", "errors"]), 0);
    assert_eq!(
        num(&j, &["commands", "SET", "count"]) + num(&j, &["commands", "GET", "count"]),
        4000
    );
}

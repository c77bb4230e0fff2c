//! slotkv-bench against a real redis-server: counts, errors, modes and failure handling.

mod common;

use common::*;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

/// Every request sent is in exactly one histogram, whatever the connection/thread/pipeline split.
#[test]
fn histogram_counts_equal_requests_sent() {
    if !have_redis() {
        return;
    }
    let r = Redis::start(&[]);
    let port = r.port.to_string();
    for (clients, threads, pipeline) in [("7", "1", "3"), ("9", "2", "16"), ("1", "1", "1")] {
        let run = bench(
            &[
                "--port",
                &port,
                "--requests",
                "5003",
                "--clients",
                clients,
                "--threads",
                threads,
                "--pipeline",
                pipeline,
                "--ratio",
                "1:2",
                "--keyspace",
                "1000",
            ],
            LIMIT,
        );
        assert_eq!(run.status, Some(0), "stderr: {}", run.stderr);
        let j = run.json.expect("json written");
        assert_eq!(num(&j, &["total", "count"]), 5003, "{j:#}");
        assert_eq!(num(&j, &["sent"]), 5003);
        assert_eq!(num(&j, &["total", "errors"]), 0);
        let set = num(&j, &["commands", "SET", "count"]);
        let get = num(&j, &["commands", "GET", "count"]);
        assert_eq!(set + get, 5003);
        // 1:2 interleaved per connection: a third of the requests, up to one per connection.
        assert!((set as i64 - 5003 / 3).abs() <= 9, "SET count {set}");
        assert!(float(&j, &["total", "ops_per_sec"]) > 0.0);
        let (p50, p99, p999) = (
            float(&j, &["total", "p50"]),
            float(&j, &["total", "p99"]),
            float(&j, &["total", "p999"]),
        );
        assert!(0.0 < p50 && p50 <= p99 && p99 <= p999, "{p50} {p99} {p999}");
        assert_eq!(j["mode"], "closed-loop");
        assert_eq!(j["coordinated_omission_corrected"], false);
    }
    // The keys really went to the server.
    let keys: u64 = r.cli(&["DBSIZE"]).parse().unwrap();
    assert!(keys > 0 && keys <= 1000, "{keys}");
}

/// Duration mode with warm-up: warm-up replies are excluded, measured ones all counted.
#[test]
fn duration_and_warmup() {
    if !have_redis() {
        return;
    }
    let r = Redis::start(&[]);
    let run = bench(
        &[
            "--port",
            &r.port.to_string(),
            "--duration",
            "0.6",
            "--warmup",
            "0.3",
            "--clients",
            "4",
            "--pipeline",
            "4",
            "--ratio",
            "1:1",
        ],
        LIMIT,
    );
    assert_eq!(run.status, Some(0), "stderr: {}", run.stderr);
    let j = run.json.unwrap();
    assert_eq!(num(&j, &["total", "count"]), num(&j, &["sent"]));
    assert!(num(&j, &["warmup_replies"]) > 0, "{j:#}");
    let elapsed = float(&j, &["elapsed_secs"]);
    assert!((0.55..1.5).contains(&elapsed), "elapsed {elapsed}");
    assert!(run.elapsed < Duration::from_secs(5));
}

/// Open loop keeps to the schedule and says it corrects for coordinated omission.
#[test]
fn open_loop_rate() {
    if !have_redis() {
        return;
    }
    let r = Redis::start(&[]);
    let run = bench(
        &[
            "--port",
            &r.port.to_string(),
            "--rate",
            "2000",
            "--requests",
            "1000",
            "--clients",
            "4",
            "--ratio",
            "0:1",
        ],
        LIMIT,
    );
    assert_eq!(run.status, Some(0), "stderr: {}", run.stderr);
    let j = run.json.unwrap();
    assert_eq!(num(&j, &["total", "count"]), 1000);
    assert_eq!(j["mode"], "open-loop");
    assert_eq!(j["coordinated_omission_corrected"], true);
    assert_eq!(j["latency_measured_from"], "intended send time");
    // 1000 requests at 2000/s take half a second: the schedule, not the server, sets the pace.
    let elapsed = float(&j, &["elapsed_secs"]);
    assert!((0.45..1.0).contains(&elapsed), "elapsed {elapsed}");
    let ops = float(&j, &["total", "ops_per_sec"]);
    assert!((1000.0..2300.0).contains(&ops), "ops/s {ops}");
    assert!(j["send_lag"]["p50"].as_f64().is_some(), "{j:#}");
    assert!(
        run.stdout.contains("coordinated omission corrected"),
        "{}",
        run.stdout
    );
}

/// Error replies are counted per command, reported with their text, and fail the exit status.
#[test]
fn error_replies_are_counted() {
    if !have_redis() {
        return;
    }
    let r = Redis::start(&[]);
    let port = r.port.to_string();
    let run = bench(
        &[
            "--port",
            &port,
            "--requests",
            "600",
            "--clients",
            "3",
            "--command",
            "SET __key__ __value__",
            "--command",
            "INCRBY __key__ notanumber",
        ],
        LIMIT,
    );
    assert_eq!(run.status, Some(3), "stderr: {}", run.stderr);
    let j = run.json.unwrap();
    assert_eq!(num(&j, &["total", "count"]), 600);
    assert_eq!(num(&j, &["commands", "SET", "errors"]), 0);
    assert_eq!(num(&j, &["commands", "INCRBY", "count"]), 300);
    assert_eq!(num(&j, &["commands", "INCRBY", "errors"]), 300);
    assert_eq!(num(&j, &["total", "errors"]), 300);
    assert_eq!(
        j["first_error"],
        "ERR value is not an integer or out of range"
    );
    assert!(
        run.stderr
            .contains("300 of 600 requests got error replies; first: ERR value is not an integer or out of range"),
        "{}",
        run.stderr
    );
    let allowed = bench(
        &[
            "--port",
            &port,
            "--requests",
            "50",
            "--command",
            "INCRBY __key__ x",
            "--allow-errors",
        ],
        LIMIT,
    );
    assert_eq!(allowed.status, Some(0), "stderr: {}", allowed.stderr);
    assert_eq!(
        num(allowed.json.as_ref().unwrap(), &["total", "errors"]),
        50
    );
}

/// Nobody listening: a clear message and a non-zero exit, at once.
#[test]
fn unreachable_server_fails_fast() {
    let port = free_port(false).to_string();
    let run = bench(&["--port", &port, "--requests", "10"], LIMIT);
    assert_eq!(run.status, Some(1), "stdout: {}", run.stdout);
    assert!(
        run.stderr.contains(&format!(
            "error: cannot connect to 127.0.0.1:{port}: Connection refused"
        )),
        "{}",
        run.stderr
    );
    assert!(run.elapsed < Duration::from_secs(2), "{:?}", run.elapsed);
    assert!(run.json.is_none());
}

/// AUTH: missing and wrong passwords are clear errors; the right one works.
#[test]
fn auth_failures_are_clear() {
    if !have_redis() {
        return;
    }
    let r = Redis::start(&["--requirepass", "s3cret"]);
    let port = r.port.to_string();
    let none = bench(&["--port", &port, "--requests", "10"], LIMIT);
    assert_eq!(none.status, Some(1));
    assert!(
        none.stderr.contains(&format!(
            "error: 127.0.0.1:{port} requires authentication (NOAUTH Authentication required.); pass --password"
        )),
        "{}",
        none.stderr
    );
    let wrong = bench(
        &["--port", &port, "--requests", "10", "--password", "nope"],
        LIMIT,
    );
    assert_eq!(wrong.status, Some(1));
    assert!(
        wrong.stderr.contains(&format!(
            "error: AUTH failed on 127.0.0.1:{port}: WRONGPASS invalid username-password pair or user is disabled."
        )),
        "{}",
        wrong.stderr
    );
    let right = bench(
        &[
            "--port",
            &port,
            "--requests",
            "500",
            "--password",
            "s3cret",
            "-c",
            "5",
        ],
        LIMIT,
    );
    assert_eq!(right.status, Some(0), "{}", right.stderr);
    assert_eq!(num(right.json.as_ref().unwrap(), &["total", "count"]), 500);
}

/// A server that stops answering mid-run: the run fails after --timeout, it does not hang.
#[test]
fn stalled_server_times_out() {
    if !have_redis() {
        return;
    }
    let r = Redis::start(&[]);
    let port = r.port.to_string();
    let pid = r.pid().to_string();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        std::process::Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap();
    });
    let run = bench(
        &[
            "--port",
            &port,
            "--duration",
            "20",
            "--timeout",
            "1",
            "-c",
            "3",
        ],
        LIMIT,
    );
    stopper.join().unwrap();
    assert_eq!(run.status, Some(1), "stdout: {}", run.stdout);
    assert!(
        run.stderr.contains(&format!(
            "error: timed out: no reply from 127.0.0.1:{port} for 1.0s"
        )),
        "{}",
        run.stderr
    );
    assert!(run.elapsed < Duration::from_secs(4), "{:?}", run.elapsed);
}

/// Preload fills the whole key space before measuring.
#[test]
fn preload_fills_the_key_space() {
    if !have_redis() {
        return;
    }
    let r = Redis::start(&[]);
    let run = bench(
        &[
            "--port",
            &r.port.to_string(),
            "--preload",
            "--keyspace",
            "3000",
            "--requests",
            "100",
            "--ratio",
            "0:1",
            "--data-size",
            "10-20",
        ],
        LIMIT,
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_eq!(r.cli(&["DBSIZE"]), "3000");
    let len: usize = r.cli(&["STRLEN", "key:000000002999"]).parse().unwrap();
    assert!((10..=20).contains(&len), "{len}");
    assert_eq!(num(run.json.as_ref().unwrap(), &["total", "count"]), 100);
}

/// Compare mode alternates the servers and reports per-round ratios; files are written.
#[test]
fn compare_mode_reports_ratios() {
    if !have_redis() {
        return;
    }
    let a = Redis::start(&[]);
    let b = Redis::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("cmp.svg");
    let prefix = dir.path().join("h");
    let run = bench(
        &[
            "--port",
            &a.port.to_string(),
            "--compare",
            &format!("127.0.0.1:{}", b.port),
            "--label",
            "first",
            "--compare-label",
            "second",
            "--rounds",
            "2",
            "--requests",
            "2000",
            "-c",
            "4",
            "--ratio",
            "1:1",
            "--plot",
            plot.to_str().unwrap(),
            "--hdr-prefix",
            prefix.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let j = run.json.unwrap();
    assert_eq!(j["mode"], "compare");
    assert_eq!(j["a"]["label"], "first");
    assert_eq!(j["a"]["runs"].as_array().unwrap().len(), 2);
    assert_eq!(j["b"]["runs"].as_array().unwrap().len(), 2);
    for side in ["a", "b"] {
        for run in j[side]["runs"].as_array().unwrap() {
            assert_eq!(num(run, &["total", "count"]), 2000);
        }
    }
    let per_round = j["ratios"]["TOTAL"]["ops_per_sec"]["per_round"]
        .as_array()
        .unwrap();
    assert_eq!(per_round.len(), 2);
    let med = float(&j, &["ratios", "TOTAL", "p99", "median"]);
    assert!(med > 0.0 && med.is_finite());
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert_eq!(
        svg.matches("<polyline").count(),
        6,
        "SET, GET, total per server"
    );
    assert!(svg.contains(">first SET<") && svg.contains(">second total<"));
    let hgrm = std::fs::read_to_string(dir.path().join("h.first.total.hgrm")).unwrap();
    assert!(hgrm.contains("Total count    =         4000"), "{hgrm}");
    assert!(run.stdout.contains("B/A min"), "{}", run.stdout);
}

/// The point of open loop: a 300 ms server stall shows up in every request that fell due during
/// it, while closed loop records it once per connection and its p99 stays small.
#[test]
fn open_loop_counts_a_stall_closed_loop_hides_it() {
    if !have_redis() {
        return;
    }
    let r = Redis::start(&["--enable-debug-command", "yes"]);
    let port = r.port;
    let stall = || {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            assert_eq!(cli(port, &["DEBUG", "SLEEP", "0.3"]), "OK");
        })
    };
    let p = port.to_string();
    let s = stall();
    let open = bench(
        &[
            "--port",
            &p,
            "--rate",
            "2000",
            "--duration",
            "1",
            "-c",
            "2",
            "--ratio",
            "0:1",
        ],
        LIMIT,
    );
    s.join().unwrap();
    assert_eq!(open.status, Some(0), "{}", open.stderr);
    let j = open.json.unwrap();
    // ~600 of ~2000 requests were due during the stall: waits of up to 300 ms, ~150 ms on
    // average, so the 90th percentile is deep in the stall.
    let p90 = float(&j, &["total", "p90"]);
    assert!(p90 > 50_000.0, "open-loop p90 {p90} us");
    assert!(float(&j, &["total", "max"]) > 250_000.0);

    let s = stall();
    let closed = bench(
        &["--port", &p, "--duration", "1", "-c", "2", "--ratio", "0:1"],
        LIMIT,
    );
    s.join().unwrap();
    assert_eq!(closed.status, Some(0), "{}", closed.stderr);
    let j = closed.json.unwrap();
    assert!(
        float(&j, &["total", "max"]) > 250_000.0,
        "the stall was seen"
    );
    let p99 = float(&j, &["total", "p99"]);
    assert!(p99 < 50_000.0, "closed-loop p99 {p99} us hides the stall");
}

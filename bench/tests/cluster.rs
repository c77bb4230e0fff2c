//! slotkv-bench against a real 3-node redis-server cluster: slot routing, MOVED and ASK.

mod common;

use common::*;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(30);

struct Cluster {
    nodes: Vec<Redis>,
}

impl Cluster {
    fn start() -> Cluster {
        let mut nodes = Vec::new();
        for _ in 0..3 {
            let port = free_port(true);
            nodes.push(Redis::start_on(
                port,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "5000",
                ],
            ));
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = std::process::Command::new(REDIS_CLI)
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create");
        assert!(
            out.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let c = Cluster { nodes };
        let deadline = Instant::now() + Duration::from_secs(15);
        while !c.nodes.iter().all(|n| {
            n.cli(&["CLUSTER", "INFO"]).contains("cluster_state:ok")
                && n.cli(&["CLUSTER", "SLOTS"]).lines().count() >= 3 * 4
        }) {
            assert!(Instant::now() < deadline, "cluster did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        c
    }

    fn port(&self, i: usize) -> String {
        self.nodes[i].port.to_string()
    }

    fn total_keys(&self) -> u64 {
        self.nodes
            .iter()
            .map(|n| n.cli(&["DBSIZE"]).parse::<u64>().unwrap())
            .sum()
    }
}

/// Routing by CLUSTER SLOTS, MOVED learning, the error without --cluster, and ASK — one cluster,
/// several runs, to keep the test short.
#[test]
fn cluster_routing_and_redirects() {
    if !have_redis() {
        return;
    }
    let c = Cluster::start();
    let seed = c.port(1);

    // 1. Slots read up front: every key goes straight to its owner.
    let run = bench(
        &[
            "--port",
            &seed,
            "--cluster",
            "--requests",
            "3000",
            "-c",
            "6",
            "--pipeline",
            "4",
            "--ratio",
            "1:1",
            "--keyspace",
            "500",
        ],
        LIMIT,
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let j = run.json.unwrap();
    assert_eq!(num(&j, &["total", "count"]), 3000);
    assert_eq!(num(&j, &["total", "errors"]), 0);
    assert_eq!(num(&j, &["total", "moved"]), 0, "{j:#}");
    assert_eq!(num(&j, &["total", "ask"]), 0);
    assert!(
        c.nodes.iter().all(|n| n.cli(&["DBSIZE"]) != "0"),
        "keys on every node"
    );
    assert!(c.total_keys() <= 500);

    // 2. Owners learnt from MOVED replies: redirects counted, none of them an error.
    let run = bench(
        &[
            "--port",
            &seed,
            "--cluster",
            "--cluster-learn",
            "--requests",
            "2000",
            "-c",
            "4",
            "--threads",
            "2",
            "--ratio",
            "1:1",
            "--keyspace",
            "300",
        ],
        LIMIT,
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let j = run.json.unwrap();
    assert_eq!(num(&j, &["total", "count"]), 2000);
    assert_eq!(num(&j, &["total", "errors"]), 0);
    let moved = num(&j, &["total", "moved"]);
    // About two thirds of the slots are not on the seed; each is learnt once per thread.
    assert!((50..2000).contains(&moved), "moved {moved}");
    assert_eq!(num(&j, &["total", "redirects"]), moved);

    // 3. Without --cluster, MOVED is an error reply, with a hint.
    let run = bench(
        &[
            "--port",
            &seed,
            "--requests",
            "300",
            "-c",
            "2",
            "--keyspace",
            "300",
        ],
        LIMIT,
    );
    assert_eq!(run.status, Some(3), "{}", run.stderr);
    let j = run.json.unwrap();
    let errors = num(&j, &["total", "errors"]);
    assert!(errors > 50 && errors < 300, "errors {errors}");
    assert_eq!(num(&j, &["total", "moved"]), 0);
    assert!(
        j["first_error"].as_str().unwrap().starts_with("MOVED "),
        "{j:#}"
    );
    assert!(
        run.stderr
            .contains("(the server is a cluster node: add --cluster)"),
        "{}",
        run.stderr
    );

    // 4. ASK: the slot of hash tag {ask} is migrating from its owner to another node, and its
    //    keys do not exist on the owner yet, so every request is answered -ASK and must be
    //    re-sent to the importing node after ASKING.
    let slot: u16 = c.nodes[0]
        .cli(&["CLUSTER", "KEYSLOT", "{ask}"])
        .parse()
        .unwrap();
    let ids: Vec<String> = c
        .nodes
        .iter()
        .map(|n| n.cli(&["CLUSTER", "MYID"]))
        .collect();
    let owner = (0..3)
        .find(|&i| {
            c.nodes[i]
                .cli(&["CLUSTER", "NODES"])
                .lines()
                .any(|l| l.contains("myself") && slot_in_line(l, slot))
        })
        .expect("an owner of the slot");
    let target = (owner + 1) % 3;
    let s = slot.to_string();
    assert_eq!(
        c.nodes[target].cli(&["CLUSTER", "SETSLOT", &s, "IMPORTING", &ids[owner]]),
        "OK"
    );
    assert_eq!(
        c.nodes[owner].cli(&["CLUSTER", "SETSLOT", &s, "MIGRATING", &ids[target]]),
        "OK"
    );
    let run = bench(
        &[
            "--port",
            &seed,
            "--cluster",
            "--requests",
            "400",
            "-c",
            "2",
            "--pipeline",
            "2",
            "--key-prefix",
            "{ask}:",
            "--keyspace",
            "50",
            "--distribution",
            "sequential",
            "--ratio",
            "1:0",
        ],
        LIMIT,
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let j = run.json.unwrap();
    assert_eq!(num(&j, &["total", "count"]), 400);
    assert_eq!(num(&j, &["total", "errors"]), 0);
    assert_eq!(num(&j, &["total", "ask"]), 400, "{j:#}");
    assert_eq!(num(&j, &["total", "moved"]), 0);
    assert_eq!(
        c.nodes[target].cli(&["CLUSTER", "COUNTKEYSINSLOT", &s]),
        "50"
    );
}

/// Whether a CLUSTER NODES line lists `slot` among its ranges.
fn slot_in_line(line: &str, slot: u16) -> bool {
    line.split_whitespace().skip(8).any(|r| {
        let (a, b) = r.split_once('-').unwrap_or((r, r));
        match (a.parse::<u16>(), b.parse::<u16>()) {
            (Ok(a), Ok(b)) => (a..=b).contains(&slot),
            _ => false,
        }
    })
}

//! `slotkv-bench summarize`: one markdown table out of several compare-mode JSON files, so
//! bench/compare.sh can rewrite docs/benchmarks.md without depending on jq or Python.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::PathBuf;

/// One `NAME=FILE` (or `FILE`) argument.
fn split_input(input: &str) -> (String, PathBuf) {
    match input.split_once('=') {
        Some((name, file)) => (name.to_string(), PathBuf::from(file)),
        None => {
            let path = PathBuf::from(input);
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| input.to_string());
            (name, path)
        }
    }
}

fn f(v: &Value, path: &[&str]) -> f64 {
    let mut v = v;
    for p in path {
        v = &v[*p];
    }
    v.as_f64().unwrap_or(f64::NAN)
}

/// The markdown table for `inputs` (compare-mode JSON files).
pub fn markdown(inputs: &[String]) -> Result<String> {
    let mut docs = Vec::new();
    for input in inputs {
        let (name, path) = split_input(input);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let doc: Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if doc["mode"] != "compare" {
            bail!(
                "{} is not compare-mode output (run with --compare)",
                path.display()
            );
        }
        docs.push((name, doc));
    }
    let Some((_, first)) = docs.first() else {
        bail!("nothing to summarize");
    };
    let (a, b) = (
        first["a"]["label"].as_str().unwrap_or("A").to_string(),
        first["b"]["label"].as_str().unwrap_or("B").to_string(),
    );
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| workload | {a} ops/s | {b} ops/s | {b}/{a} ops/s: median (min–max) | p50 µs {a} / {b} | \
         p99 µs {a} / {b} | p99.9 µs {a} / {b} | {b}/{a} p99: median (min–max) | rounds |"
    );
    let _ = writeln!(s, "|---|---:|---:|---|---:|---:|---:|---|---:|");
    for (name, d) in &docs {
        let med = |side: &str, fig: &str| f(d, &["medians", side, "TOTAL", fig]);
        let ratio = |fig: &str| {
            let r = &d["ratios"]["TOTAL"][fig];
            format!(
                "{:.2} ({:.2}–{:.2})",
                f(r, &["median"]),
                f(r, &["min"]),
                f(r, &["max"])
            )
        };
        let _ = writeln!(
            s,
            "| {name} | {:.0} | {:.0} | {} | {:.0} / {:.0} | {:.0} / {:.0} | {:.0} / {:.0} | {} | {} |",
            med("a", "ops_per_sec"),
            med("b", "ops_per_sec"),
            ratio("ops_per_sec"),
            med("a", "p50"),
            med("b", "p50"),
            med("a", "p99"),
            med("b", "p99"),
            med("a", "p999"),
            med("b", "p999"),
            ratio("p99"),
            d["rounds"]
        );
    }
    Ok(s)
}

//! HdrHistogram percentile-distribution files (`.hgrm`), written and read back.
//!
//! The format is the one `HdrHistogram.outputPercentileDistribution` prints and the HdrHistogram
//! plotter (and our own `plot` subcommand) reads: value, percentile, cumulative count and
//! `1/(1-percentile)` per line, five steps per halving of the remaining tail, and a footer with
//! mean, max and count. Values are in milliseconds, as that plotter expects.

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use std::fmt::Write as _;
use std::path::Path;

const NS_PER_MS: f64 = 1_000_000.0;

/// Renders `h` (nanoseconds) as a percentile distribution in milliseconds.
pub fn render(h: &Histogram<u64>) -> String {
    let mut out = String::new();
    out.push_str("       Value     Percentile TotalCount 1/(1-Percentile)\n\n");
    let mut total = 0u64;
    if !h.is_empty() {
        for v in h.iter_quantiles(5) {
            total += v.count_since_last_iteration();
            let q = v.quantile_iterated_to();
            let value = h.highest_equivalent(v.value_iterated_to()) as f64 / NS_PER_MS;
            if q < 1.0 {
                let _ = writeln!(
                    out,
                    "{value:12.6} {q:2.12} {total:10} {:14.2}",
                    1.0 / (1.0 - q)
                );
            } else {
                let _ = writeln!(out, "{value:12.6} {q:2.12} {total:10}");
            }
        }
    }
    let (mean, stdev, max) = if h.is_empty() {
        (0.0, 0.0, 0.0)
    } else {
        (
            h.mean() / NS_PER_MS,
            h.stdev() / NS_PER_MS,
            h.max() as f64 / NS_PER_MS,
        )
    };
    let _ = writeln!(
        out,
        "#[Mean    = {mean:12.6}, StdDeviation   = {stdev:12.6}]"
    );
    let _ = writeln!(
        out,
        "#[Max     = {max:12.6}, Total count    = {:12}]",
        h.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        (2 * 10u64.pow(u32::from(h.sigfig()))).next_power_of_two()
    );
    out
}

pub fn write(path: &Path, h: &Histogram<u64>) -> Result<()> {
    std::fs::write(path, render(h)).with_context(|| format!("writing {}", path.display()))
}

/// One curve to plot: (quantile in `[0, 1]`, latency in µs) points, in increasing quantile.
pub type Series = Vec<(f64, f64)>;

/// The curve of a histogram (nanoseconds).
pub fn series(h: &Histogram<u64>) -> Series {
    if h.is_empty() {
        return Vec::new();
    }
    h.iter_quantiles(5)
        .map(|v| {
            (
                v.quantile_iterated_to(),
                h.highest_equivalent(v.value_iterated_to()) as f64 / 1000.0,
            )
        })
        .collect()
}

/// Reads the curve back from `.hgrm` text (values in ms).
pub fn parse(text: &str) -> Result<Series> {
    let mut points = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("Value") {
            continue;
        }
        let mut cols = line.split_whitespace();
        let (Some(v), Some(q)) = (cols.next(), cols.next()) else {
            continue;
        };
        let (Ok(v), Ok(q)) = (v.parse::<f64>(), q.parse::<f64>()) else {
            continue;
        };
        points.push((q, v * 1000.0));
    }
    if points.is_empty() {
        bail!("no percentile lines found (is this an .hgrm percentile distribution?)");
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::new_histogram;

    #[test]
    fn round_trips_through_text() {
        let mut h = new_histogram();
        for v in 1..=10_000u64 {
            h.record(v * 1000).unwrap(); // 1 µs .. 10 ms
        }
        let text = render(&h);
        assert!(text.contains("Total count    =        10000"), "{text}");
        assert!(text.contains("SubBuckets     =         2048"), "{text}");
        let s = parse(&text).unwrap();
        let last = s.last().unwrap();
        assert_eq!(last.0, 1.0);
        assert!((last.1 - 10_000.0).abs() < 10.0, "{last:?}");
        let mid = s.iter().find(|(q, _)| *q >= 0.5).unwrap();
        assert!((mid.1 - 5_000.0).abs() < 10.0, "{mid:?}");
        assert!(parse("garbage\n").is_err());
    }
}

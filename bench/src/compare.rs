//! Compare mode: the same workload against two servers, alternating A B A B ...
//!
//! Our machines are shared and noisy: a neighbour's compile can halve a run. Alternating the
//! servers spreads such noise over both, and pairing round *i* of A with round *i* of B gives
//! one ratio per round; we report the min, median and max of those ratios rather than a single
//! ratio of averages, so the reader sees how stable the comparison was.

use crate::output::{csv_row, mode_line, Report, CSV_HEADER};
use crate::stats::{new_histogram, Figures, FIGURE_NAMES};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;

/// All rounds of both servers.
pub struct Comparison<'a> {
    pub a: Vec<Report<'a>>,
    pub b: Vec<Report<'a>>,
}

/// Min, median and max of a list of numbers.
pub fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (v[0], median, v[n - 1])
}

fn ratio(b: f64, a: f64) -> f64 {
    if a == 0.0 {
        f64::NAN
    } else {
        b / a
    }
}

impl<'a> Comparison<'a> {
    /// Row names: each command, then TOTAL.
    fn rows(&self) -> Vec<String> {
        let first = &self.a[0];
        first
            .per
            .iter()
            .map(|f| f.name.clone())
            .chain(std::iter::once("TOTAL".to_string()))
            .collect()
    }

    fn figures_of<'r>(report: &'r Report, row: &str) -> &'r Figures {
        if row == "TOTAL" {
            &report.total
        } else {
            report
                .per
                .iter()
                .find(|f| f.name == row)
                .expect("every run has the same commands")
        }
    }

    fn values(runs: &[Report], row: &str, fig: &str) -> Vec<f64> {
        runs.iter()
            .map(|r| Self::figures_of(r, row).get(fig))
            .collect()
    }

    fn ratios(&self, row: &str, fig: &str) -> Vec<f64> {
        Self::values(&self.b, row, fig)
            .iter()
            .zip(Self::values(&self.a, row, fig))
            .map(|(b, a)| ratio(*b, a))
            .collect()
    }

    /// The human-readable comparison.
    pub fn table(&self) -> String {
        let (a, b) = (&self.a[0], &self.b[0]);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "compare: A = {} ({}{}), B = {} ({}{}); {} rounds, run A B A B ...",
            a.label,
            a.target,
            a.server
                .as_deref()
                .map(|v| format!(", {v}"))
                .unwrap_or_default(),
            b.label,
            b.target,
            b.server
                .as_deref()
                .map(|v| format!(", {v}"))
                .unwrap_or_default(),
            self.a.len()
        );
        let _ = writeln!(s, "mode: {}", mode_line(a.cfg));
        let _ = writeln!(s, "\nper round (total): ops/s and p99 in us");
        for (i, (ra, rb)) in self.a.iter().zip(&self.b).enumerate() {
            let _ = writeln!(
                s,
                "  round {}: A {:>10.0} ops/s p99 {:>8.1} | B {:>10.0} ops/s p99 {:>8.1} | B/A ops {:.3} p99 {:.3}",
                i + 1,
                ra.total.ops_per_sec,
                ra.total.p99,
                rb.total.ops_per_sec,
                rb.total.p99,
                ratio(rb.total.ops_per_sec, ra.total.ops_per_sec),
                ratio(rb.total.p99, ra.total.p99)
            );
        }
        for row in self.rows() {
            let _ = writeln!(
                s,
                "\n{:<14} {:>12} {:>12} {:>9} {:>9} {:>9}",
                row, "A median", "B median", "B/A min", "median", "max"
            );
            for fig in FIGURE_NAMES {
                let (_, am, _) = spread(&Self::values(&self.a, &row, fig));
                let (_, bm, _) = spread(&Self::values(&self.b, &row, fig));
                let (lo, med, hi) = spread(&self.ratios(&row, fig));
                let unit = if fig == "ops_per_sec" { "" } else { " (us)" };
                let _ = writeln!(
                    s,
                    "  {:<12} {:>12.1} {:>12.1} {:>9.3} {:>9.3} {:>9.3}",
                    format!("{fig}{unit}"),
                    am,
                    bm,
                    lo,
                    med,
                    hi
                );
            }
        }
        let errors: u64 = self.a.iter().chain(&self.b).map(|r| r.total.errors).sum();
        if errors > 0 {
            let _ = writeln!(s, "\nerror replies in all runs: {errors}");
        }
        s
    }

    /// The JSON document: every run in full, and the ratio spread per figure.
    pub fn json(&self) -> Value {
        let side = |runs: &[Report]| {
            json!({
                "label": runs[0].label,
                "target": runs[0].target,
                "server": runs[0].server,
                "runs": runs.iter().map(crate::output::json).collect::<Vec<_>>(),
            })
        };
        let mut ratios = Map::new();
        let mut medians_a = Map::new();
        let mut medians_b = Map::new();
        for row in self.rows() {
            let mut per_fig = Map::new();
            let mut ma = Map::new();
            let mut mb = Map::new();
            for fig in FIGURE_NAMES {
                let r = self.ratios(&row, fig);
                let (lo, med, hi) = spread(&r);
                per_fig.insert(
                    fig.to_string(),
                    json!({"per_round": r, "min": lo, "median": med, "max": hi}),
                );
                ma.insert(
                    fig.into(),
                    json!(spread(&Self::values(&self.a, &row, fig)).1),
                );
                mb.insert(
                    fig.into(),
                    json!(spread(&Self::values(&self.b, &row, fig)).1),
                );
            }
            ratios.insert(row.clone(), Value::Object(per_fig));
            medians_a.insert(row.clone(), Value::Object(ma));
            medians_b.insert(row, Value::Object(mb));
        }
        json!({
            "tool": "slotkv-bench",
            "version": env!("CARGO_PKG_VERSION"),
            "mode": "compare",
            "measurement": if self.a[0].cfg.rate.is_some() { "open-loop" } else { "closed-loop" },
            "coordinated_omission_corrected": self.a[0].cfg.rate.is_some(),
            "latency_unit": "us",
            "rounds": self.a.len(),
            "a": side(&self.a),
            "b": side(&self.b),
            "ratio": "b/a",
            "ratios": ratios,
            "medians": {"a": medians_a, "b": medians_b},
        })
    }

    /// CSV: one row per command and run, labelled `LABEL#roundN`.
    pub fn csv(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{CSV_HEADER}");
        for runs in [&self.a, &self.b] {
            for (i, r) in runs.iter().enumerate() {
                let label = format!("{}#round{}", r.label, i + 1);
                for f in r.per.iter().chain(std::iter::once(&r.total)) {
                    let _ = writeln!(s, "{}", csv_row(&label, f));
                }
            }
        }
        s
    }
}

/// Histograms of one side merged over its rounds: per command, then the total.
pub fn merged_histograms(runs: &[Report]) -> Vec<(String, Histogram<u64>)> {
    let mut out: Vec<(String, Histogram<u64>)> = runs[0]
        .per
        .iter()
        .map(|f| (f.name.clone(), new_histogram()))
        .collect();
    let mut total = new_histogram();
    for r in runs {
        for ((_, h), c) in out.iter_mut().zip(&r.outcome.stats.cmds) {
            h.add(&c.hist).expect("same bounds");
        }
        total
            .add(r.outcome.stats.total_histogram())
            .expect("same bounds");
    }
    out.push(("total".into(), total));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_takes_min_median_max() {
        assert_eq!(spread(&[3.0, 1.0, 2.0]), (1.0, 2.0, 3.0));
        assert_eq!(spread(&[4.0, 1.0, 2.0, 3.0]), (1.0, 2.5, 4.0));
        assert!(spread(&[f64::NAN]).1.is_nan());
    }
}

//! Latency-by-percentile plots as plain SVG (no plotting crate: a few polylines and text).
//!
//! The x axis is HdrHistogram's: distance `log10(1 / (1 - percentile))`, so 90%, 99%, 99.9%,
//! 99.99% ... are evenly spaced and the tail — where servers differ — gets most of the width.
//! The y axis is linear latency in microseconds, from zero, so curves can be compared by eye
//! without a log scale exaggerating small differences.

use crate::hgrm::Series;
use std::fmt::Write as _;

const W: f64 = 960.0;
const H: f64 = 540.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 230.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// Renders the curves as an SVG document.
pub fn render(title: &str, runs: &[(String, Series)]) -> String {
    // Horizontal extent: enough nines for the deepest finite percentile of any run.
    let mut nines: f64 = 2.0;
    let mut y_max: f64 = 0.0;
    for (_, s) in runs {
        for &(q, v) in s {
            if q < 1.0 {
                nines = nines.max((1.0 / (1.0 - q)).log10().ceil());
            }
            y_max = y_max.max(v);
        }
    }
    let nines = nines.min(7.0);
    let (y_top, y_step) = nice_axis(y_max);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x_of = |q: f64| {
        let d = if q >= 1.0 {
            nines
        } else {
            (1.0 / (1.0 - q)).log10().min(nines)
        };
        LEFT + d / nines * plot_w
    };
    let y_of = |v: f64| TOP + plot_h - (v / y_top).min(1.0) * plot_h;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="28" font-size="16" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        escape(title)
    );
    // Grid and axis labels.
    for i in 0..=nines as u32 {
        let x = LEFT + f64::from(i) / nines * plot_w;
        let label = percentile_label(i);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 18.0
        );
    }
    let ticks = (y_top / y_step).round() as u32;
    for i in 0..=ticks {
        let v = f64::from(i) * y_step;
        let y = y_of(v);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            format_value(v, y_step)
        );
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text>"#,
        LEFT + plot_w / 2.0,
        H - 16.0
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate(20 {:.1}) rotate(-90)" text-anchor="middle">latency (µs)</text>"#,
        TOP + plot_h / 2.0
    );
    // Curves and legend.
    for (i, (label, s)) in runs.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<String> = s
            .iter()
            .map(|&(q, v)| format!("{:.1},{:.1}", x_of(q), y_of(v)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        let ly = TOP + 10.0 + i as f64 * 20.0;
        let lx = W - RIGHT + 16.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            escape(label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// `0%`, `90%`, `99%`, `99.9%`, ...
fn percentile_label(nines: u32) -> String {
    match nines {
        0 => "0%".into(),
        1 => "90%".into(),
        2 => "99%".into(),
        n => format!("99.{}%", "9".repeat(n as usize - 2)),
    }
}

/// A round upper bound and tick step (1, 2 or 5 times a power of ten) for `max`.
fn nice_axis(max: f64) -> (f64, f64) {
    if max.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return (1.0, 0.2);
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    ((max / step).ceil() * step, step)
}

/// A tick label with as many decimals as the step needs.
fn format_value(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize + 1
    };
    format!("{v:.decimals$}")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_is_round() {
        assert_eq!(nice_axis(87.0), (100.0, 20.0));
        assert_eq!(nice_axis(430.0), (500.0, 100.0));
        assert_eq!(nice_axis(0.0), (1.0, 0.2));
        assert_eq!(nice_axis(10911.0), (12500.0, 2500.0));
        assert_eq!(percentile_label(2), "99%");
        assert_eq!(percentile_label(4), "99.99%");
    }

    #[test]
    fn draws_one_polyline_per_run_with_escaped_labels() {
        let a = vec![(0.0, 10.0), (0.5, 20.0), (0.999, 80.0), (1.0, 90.0)];
        let b = vec![(0.0, 5.0), (0.9999, 40.0), (1.0, 45.0)];
        let svg = render("A & B", &[("redis <7>".into(), a), ("slotkv".into(), b)]);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("A &amp; B") && svg.contains("redis &lt;7&gt;"));
        assert!(svg.contains(">99.99%<"), "four nines on the axis");
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}

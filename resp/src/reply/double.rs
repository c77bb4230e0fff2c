//! Printing doubles the way Redis does, without allocating.
//!
//! Redis changed its double output in 7.2. Up to 7.0/7.1, `addReplyDouble` printed
//! `printf("%.17g")` (`0.10000000000000001`, `1.0000000000000001e+300`); from 7.2 on it
//! prints the shortest text that reads back as the same double (`0.1`, `1e+300`), integers
//! without a fraction and `-0` for negative zero, laid out by `fpconv_dtoa`'s rules (plain
//! digits up to a handful of zeros, then `1e+21` style exponents without padding). Both are
//! here; [`DoubleFormat`] picks one.
//!
//! Digits come from Rust's float formatting (`{:e}` is exactly shortest round-trip, `{:.16e}`
//! rounds the exact binary value like glibc's printf), then are laid out per Redis's rules.
//! Redis 7.2's grisu2 is not always shortest; in those rare cases Redis prints one more digit.

use std::fmt::Write;

/// Which Redis's double output to reproduce. slotkv follows Redis 7.0 (the version it is tested against,
/// byte for byte), so `%.17g` is the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DoubleFormat {
    /// Redis 7.2 and later: shortest round-trip (`0.1`, `3`, `1e+300`).
    Shortest,
    /// Redis 7.0 and 7.1: `%.17g` (`0.10000000000000001`, `3`, `1.0000000000000001e+300`).
    #[default]
    Printf17g,
}

/// A formatted double on the stack. 40 bytes hold the longest output of either format
/// (about 25 bytes).
pub(crate) struct DoubleText {
    buf: [u8; 40],
    len: usize,
}

impl DoubleText {
    fn new() -> Self {
        DoubleText {
            buf: [0; 40],
            len: 0,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn push(&mut self, b: u8) {
        if self.len < self.buf.len() {
            self.buf[self.len] = b;
            self.len += 1;
        }
    }

    fn extend(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|&b| self.push(b));
    }

    fn zeros(&mut self, n: usize) {
        (0..n).for_each(|_| self.push(b'0'));
    }
}

impl Write for DoubleText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.len + s.len() > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.extend(s.as_bytes());
        Ok(())
    }
}

/// Formats `d` as the chosen Redis version prints it.
pub(crate) fn format_double(d: f64, format: DoubleFormat) -> DoubleText {
    let mut out = DoubleText::new();
    if d.is_nan() {
        // Redis 7.2 normalises; glibc's %g keeps the sign bit.
        let negative = format == DoubleFormat::Printf17g && d.is_sign_negative();
        out.extend(if negative { b"-nan" } else { b"nan" });
        return out;
    }
    if d.is_infinite() {
        out.extend(if d > 0.0 { b"inf" } else { b"-inf" });
        return out;
    }
    if d.is_sign_negative() {
        out.push(b'-');
    }
    match format {
        DoubleFormat::Shortest => shortest(d.abs(), &mut out),
        DoubleFormat::Printf17g => printf_17g(d.abs(), &mut out),
    }
    out
}

/// Splits Rust's `{:e}` output of a finite non-negative `d` into its significant digits and
/// decimal exponent (`1.25e-3` -> `125`, -3). Returns the digit count.
fn scientific(d: f64, precision: Option<usize>, digits: &mut [u8; 24]) -> (usize, i32) {
    let mut text = DoubleText::new();
    let written = match precision {
        Some(p) => write!(text, "{d:.p$e}"),
        None => write!(text, "{d:e}"),
    };
    debug_assert!(written.is_ok());
    let text = text.as_bytes();
    let e = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let mut n = 0;
    for &b in text[..e].iter().filter(|b| b.is_ascii_digit()) {
        if n < digits.len() {
            digits[n] = b;
            n += 1;
        }
    }
    let exponent = std::str::from_utf8(text.get(e + 1..).unwrap_or_default())
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (n, exponent)
}

/// Redis 7.2's `d2string` for finite non-negative `d`.
fn shortest(d: f64, out: &mut DoubleText) {
    if d == 0.0 {
        out.push(b'0');
        return;
    }
    // Integral values in +-2^62 print as integers (Redis's double2ll).
    if d <= (i64::MAX / 2) as f64 && d as i64 as f64 == d {
        let _ = write!(out, "{}", d as i64);
        return;
    }
    let mut digits = [0u8; 24];
    let (n, exponent) = scientific(d, None, &mut digits);
    let digits = &digits[..n];
    let n = n as i32;
    // The value is digits * 10^k; the layout follows fpconv_dtoa's emit_digits.
    let k = exponent - (n - 1);
    let magnitude = exponent.unsigned_abs() as i32;
    if k >= 0 && magnitude < n + 7 {
        out.extend(digits);
        out.zeros(k as usize);
    } else if k < 0 && (k > -7 || magnitude < 4) {
        let point = n + k;
        if point <= 0 {
            out.extend(b"0.");
            out.zeros((-point) as usize);
            out.extend(digits);
        } else {
            out.extend(&digits[..point as usize]);
            out.push(b'.');
            out.extend(&digits[point as usize..]);
        }
    } else {
        out.push(digits[0]);
        if n > 1 {
            out.push(b'.');
            out.extend(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exponent < 0 { b'-' } else { b'+' });
        let _ = write!(out, "{magnitude}");
    }
}

/// C's `printf("%.17g")` for finite non-negative `d`.
fn printf_17g(d: f64, out: &mut DoubleText) {
    const PRECISION: i32 = 17;
    let mut digits = [0u8; 24];
    let (n, exponent) = scientific(d, Some(PRECISION as usize - 1), &mut digits);
    // %g drops trailing zeros (keeping at least one digit).
    let significant = digits[..n]
        .iter()
        .rposition(|&b| b != b'0')
        .map_or(1, |i| i + 1);
    let digits = &digits[..significant];
    if !(-4..PRECISION).contains(&exponent) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend(&digits[1..]);
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.unsigned_abs());
    } else if exponent >= 0 {
        let int_len = exponent as usize + 1;
        if digits.len() <= int_len {
            out.extend(digits);
            out.zeros(int_len - digits.len());
        } else {
            out.extend(&digits[..int_len]);
            out.push(b'.');
            out.extend(&digits[int_len..]);
        }
    } else {
        out.extend(b"0.");
        out.zeros((-exponent - 1) as usize);
        out.extend(digits);
    }
}

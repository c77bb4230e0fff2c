//! Redis's `long double` arithmetic in software, so INCRBYFLOAT (and HINCRBYFLOAT) answers byte for byte
//! what Redis answers, and the blocking commands read their timeouts as Redis does.
//!
//! Redis parses both operands with `strtold`, adds them in `long double` and prints the sum with `%.17Lf`
//! before trimming trailing zeros (`ld2string`, human-friendly mode). A blocking command's timeout in
//! seconds is parsed the same way and becomes `(long long) ceill(seconds * 1000.0)` milliseconds. On x86-64 `long double` is the x87
//! 80-bit format (64-bit significand), which Rust has no type for; rounding through `f64` instead gives
//! different digits (10.5 + 0.1 would print 10.59999999999999964). So this module models the format
//! exactly: correctly rounded parsing (decimal, hex, `inf`), correctly rounded addition, and exact decimal
//! printing, all round-half-even as glibc does, with subnormals, overflow and underflow as `strtold`
//! reports them. The arithmetic is on small big integers; typical inputs ("10.5", "0.1") stay within one
//! or two 64-bit limbs.
//!
//! The format follows the platform Redis would run on: x87 extended on x86-64, IEEE quad on Linux
//! AArch64, plain `double` elsewhere.

mod big;

use std::cmp::Ordering;

use big::Big;

#[cfg(target_arch = "x86_64")]
const FORMAT: (u32, i32, i32) = (64, 16383, -16382);
#[cfg(all(target_arch = "aarch64", target_os = "linux"))]
const FORMAT: (u32, i32, i32) = (113, 16383, -16382);
#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_os = "linux")
)))]
const FORMAT: (u32, i32, i32) = (53, 1023, -1022);

/// Significand bits, largest and smallest exponent of a normal number's leading bit.
const PRECISION: u32 = FORMAT.0;
const EMAX: i32 = FORMAT.1;
const EMIN: i32 = FORMAT.2;

/// Redis's `MAX_LONG_DOUBLE_CHARS`: `string2ld` refuses inputs this long or longer.
pub const MAX_CHARS: usize = 5 * 1024;

/// A `long double` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongDouble {
    /// ±0.
    Zero(bool),
    /// `(-1)^neg · mant · 2^exp`, `mant` already rounded to the format (non-zero).
    Finite {
        neg: bool,
        mant: u128,
        exp: i32,
    },
    Inf(bool),
    NaN,
}

impl LongDouble {
    /// Redis's `string2ld`: the whole input must be one `strtold` number, without leading space; NaN,
    /// overflow and underflow to zero are refused.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_CHARS || is_c_space(s[0]) {
            return None;
        }
        match strtold(s)? {
            Parsed::Value(LongDouble::NaN) => None,
            Parsed::Value(v) => Some(v),
            Parsed::OutOfRange => None,
        }
    }

    /// `(long long) ceill(self * 1000.0)`, Redis's milliseconds from a timeout in seconds
    /// (`getTimeoutFromObjectOrReply`): the product rounded to the format, then up to an integer, then
    /// converted; on x86-64 a value outside `long long` (infinities included) converts to `LLONG_MIN`, so
    /// Redis calls it negative. Elsewhere the conversion saturates.
    pub fn seconds_to_millis(self) -> i64 {
        let out_of_range = |neg: bool| {
            if cfg!(target_arch = "x86_64") || neg {
                i64::MIN
            } else {
                i64::MAX
            }
        };
        let (neg, mant, exp) = match self {
            LongDouble::Zero(_) => return 0,
            LongDouble::Inf(neg) => return out_of_range(neg),
            LongDouble::NaN => return out_of_range(false),
            LongDouble::Finite { neg, mant, exp } => (neg, mant, exp),
        };
        let mut product = Big::from_u128(mant);
        product.mul_small_add(1000, 0);
        let (mant, exp) = match round(&product, &Big::one(), exp as i64, neg) {
            Parsed::Value(LongDouble::Finite { mant, exp, .. }) => (mant, exp),
            _ => return out_of_range(neg),
        };
        // |ceil| of mant · 2^exp, rounded towards +infinity.
        let magnitude = if exp >= 0 {
            if 128 - mant.leading_zeros() as i64 + exp as i64 > 64 {
                return out_of_range(neg);
            }
            mant << exp
        } else {
            let k = (-exp) as u32;
            let int = mant.checked_shr(k).unwrap_or(0);
            let frac = k >= 128 || mant & ((1u128 << k) - 1) != 0;
            int + (frac && !neg) as u128
        };
        if neg {
            match magnitude {
                m if m <= 1 << 63 => (m as i64).wrapping_neg(),
                _ => out_of_range(true),
            }
        } else {
            i64::try_from(magnitude).unwrap_or_else(|_| out_of_range(false))
        }
    }

    /// Whether the value is NaN or infinite (INCRBYFLOAT refuses to store those).
    pub fn is_nan_or_inf(&self) -> bool {
        matches!(self, LongDouble::NaN | LongDouble::Inf(_))
    }

    /// `a + b`, correctly rounded to nearest, ties to even (the `+` operator).
    fn plus(self, other: LongDouble) -> LongDouble {
        use LongDouble::*;
        match (self, other) {
            (NaN, _) | (_, NaN) => NaN,
            (Inf(a), Inf(b)) => {
                if a == b {
                    Inf(a)
                } else {
                    NaN
                }
            }
            (Inf(a), _) | (_, Inf(a)) => Inf(a),
            (Zero(a), Zero(b)) => Zero(a && b),
            (Zero(_), v) | (v, Zero(_)) => v,
            (
                Finite {
                    neg: na,
                    mant: ma,
                    exp: ea,
                },
                Finite {
                    neg: nb,
                    mant: mb,
                    exp: eb,
                },
            ) => {
                let e = ea.min(eb);
                let a = Big::from_u128(ma).shl((ea - e) as u64);
                let b = Big::from_u128(mb).shl((eb - e) as u64);
                let (sum, neg) = if na == nb {
                    (a.add(&b), na)
                } else {
                    match a.cmp(&b) {
                        Ordering::Equal => return Zero(false),
                        Ordering::Greater => (a.sub(&b), na),
                        Ordering::Less => (b.sub(&a), nb),
                    }
                };
                match round(&sum, &Big::one(), e as i64, neg) {
                    Parsed::Value(v) => v,
                    Parsed::OutOfRange => Inf(neg),
                }
            }
        }
    }

    /// Redis's human-friendly `ld2string`: `%.17Lf`, trailing zeros (and a bare '.') removed, "-0" as "0".
    pub fn to_human_string(&self) -> String {
        let (neg, mant, exp) = match *self {
            LongDouble::Inf(false) => return "inf".into(),
            LongDouble::Inf(true) => return "-inf".into(),
            LongDouble::NaN => return "nan".into(),
            LongDouble::Zero(_) => return "0".into(),
            LongDouble::Finite { neg, mant, exp } => (neg, mant, exp),
        };
        const FRAC_DIGITS: usize = 17;
        let digits = if exp >= 0 {
            let mut d = Big::from_u128(mant).shl(exp as u64).to_decimal();
            d.push_str(&"0".repeat(FRAC_DIGITS));
            d
        } else {
            // mant · 10^17 / 2^-exp, rounded half to even: the value in units of 1e-17.
            let mut scaled = Big::from_u128(mant);
            for _ in 0..FRAC_DIGITS {
                scaled.mul_small_add(10, 0);
            }
            let k = (-exp) as u64;
            let mut q = scaled.shr(k);
            let half = scaled.bit(k - 1);
            if half && (scaled.any_below(k - 1) || q.bit(0)) {
                q = q.add(&Big::one());
            }
            q.to_decimal()
        };
        let digits = format!("{digits:0>width$}", width = FRAC_DIGITS + 1);
        let (int, frac) = digits.split_at(digits.len() - FRAC_DIGITS);
        let frac = frac.trim_end_matches('0');
        let mut out = String::with_capacity(digits.len() + 2);
        if neg && !(int == "0" && frac.is_empty()) {
            out.push('-');
        }
        out.push_str(int);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        out
    }
}

impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    fn add(self, other: LongDouble) -> LongDouble {
        self.plus(other)
    }
}

/// `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What `strtold` makes of a complete input.
enum Parsed {
    Value(LongDouble),
    /// ERANGE with ±HUGE_VAL or zero as the result.
    OutOfRange,
}

/// `strtold` over the whole input: `None` when it would stop before the end.
fn strtold(s: &[u8]) -> Option<Parsed> {
    let (neg, rest) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = rest.to_ascii_lowercase();
    if lower == b"inf" || lower == b"infinity" {
        return Some(Parsed::Value(LongDouble::Inf(neg)));
    }
    if lower == b"nan"
        || (lower.starts_with(b"nan(")
            && lower.ends_with(b")")
            && nan_chars(&lower[4..lower.len() - 1]))
    {
        return Some(Parsed::Value(LongDouble::NaN));
    }
    if lower.len() > 2 && lower.starts_with(b"0x") {
        return parse_hex(neg, &rest[2..]);
    }
    parse_decimal(neg, rest)
}

fn nan_chars(s: &[u8]) -> bool {
    s.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// Splits `digits [. digits]` (at least one digit overall) off the front; returns the integer and
/// fraction digit runs and the rest.
fn mantissa(s: &[u8], is_digit: fn(&u8) -> bool) -> Option<(&[u8], &[u8], &[u8])> {
    let int_len = s.iter().take_while(|b| is_digit(b)).count();
    let (int, rest) = s.split_at(int_len);
    let (frac, rest) = match rest.first() {
        Some(b'.') => {
            let n = rest[1..].iter().take_while(|b| is_digit(b)).count();
            (&rest[1..1 + n], &rest[1 + n..])
        }
        _ => (&rest[..0], rest),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    Some((int, frac, rest))
}

/// An exponent suffix (`e`/`p` already stripped): optional sign and decimal digits, the whole rest.
/// Saturates far beyond any representable magnitude.
fn exponent(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for d in digits {
        v = (v * 10 + (d - b'0') as i64).min(1 << 40);
    }
    Some(if neg { -v } else { v })
}

fn parse_decimal(neg: bool, s: &[u8]) -> Option<Parsed> {
    let (int, frac, rest) = mantissa(s, u8::is_ascii_digit)?;
    let exp10 = match rest.first() {
        None => 0,
        Some(b'e' | b'E') => exponent(&rest[1..])?,
        Some(_) => return None,
    };
    let all = int.iter().chain(frac.iter()).skip_while(|&&d| d == b'0');
    let sig: Vec<u8> = all.copied().collect();
    let mut k = exp10 - frac.len() as i64;
    // Trailing zeros only scale.
    let sig_len = sig.iter().rposition(|&d| d != b'0').map_or(0, |p| p + 1);
    if sig_len == 0 {
        return Some(Parsed::Value(LongDouble::Zero(neg)));
    }
    k += (sig.len() - sig_len) as i64;
    let sig = &sig[..sig_len];
    // Decimal magnitude of the leading digit: far outside ±4951 no work is needed.
    let lead = sig_len as i64 - 1 + k;
    if lead > 5000 {
        return Some(Parsed::OutOfRange);
    }
    if lead < -5000 {
        return Some(Parsed::OutOfRange);
    }
    let mut n = Big::zero();
    for chunk in sig.chunks(19) {
        let mut v = 0u64;
        for d in chunk {
            v = v * 10 + (d - b'0') as u64;
        }
        n.mul_small_add(10u64.pow(chunk.len() as u32), v);
    }
    Some(if k >= 0 {
        round(&n.mul(&Big::pow10(k as u64)), &Big::one(), 0, neg)
    } else {
        round(&n, &Big::pow10((-k) as u64), 0, neg)
    })
}

fn parse_hex(neg: bool, s: &[u8]) -> Option<Parsed> {
    let (int, frac, rest) = mantissa(s, u8::is_ascii_hexdigit)?;
    let exp2 = match rest.first() {
        None => 0,
        Some(b'p' | b'P') => exponent(&rest[1..])?,
        Some(_) => return None,
    };
    let mut n = Big::zero();
    for d in int.iter().chain(frac.iter()) {
        n.mul_small_add(16, (*d as char).to_digit(16).unwrap_or(0) as u64);
    }
    if n.is_zero() {
        return Some(Parsed::Value(LongDouble::Zero(neg)));
    }
    let e2 = exp2 - 4 * frac.len() as i64;
    let lead = n.bits() as i64 - 1 + e2;
    if lead > EMAX as i64 + 1 || lead < EMIN as i64 - PRECISION as i64 - 2 {
        return Some(Parsed::OutOfRange);
    }
    Some(round(&n, &Big::one(), e2, neg))
}

/// Rounds `num / den · 2^e2` (num > 0) to the format, half to even, with subnormals; overflow and
/// underflow to zero are `OutOfRange`, as `strtold` reports them with ERANGE.
fn round(num: &Big, den: &Big, e2: i64, neg: bool) -> Parsed {
    let p = PRECISION as i64;
    // Scale so the quotient has P+2 or P+3 bits: enough for the rounding bit, the rest is sticky.
    let s = p + 2 - (num.bits() as i64 - den.bits() as i64);
    let (mut n, d) = if s >= 0 {
        (num.shl(s as u64), den.clone())
    } else {
        (num.clone(), den.shl((-s) as u64))
    };
    let top = (p + 3) as u64;
    let mut t = d.shl(top);
    let mut q: u128 = 0;
    for i in (0..=top).rev() {
        if n.cmp(&t) != Ordering::Less {
            n.sub_assign(&t);
            q |= 1u128 << i;
        }
        t.shr1();
    }
    let sticky = !n.is_zero();
    let qe = e2 - s;
    let qbits = 128 - q.leading_zeros() as i64;
    let lead = qbits - 1 + qe;
    if lead > EMAX as i64 {
        return Parsed::OutOfRange;
    }
    let mut unit = lead.max(EMIN as i64) - (p - 1);
    let drop = unit - qe;
    let mut m = if drop >= 128 { 0 } else { q >> drop };
    let half = (1..=128).contains(&drop) && (q >> (drop - 1)) & 1 == 1;
    let below = sticky || (drop >= 2 && q & ((1u128 << (drop - 1).min(127)) - 1) != 0);
    if half && (below || m & 1 == 1) {
        m += 1;
    }
    if m == 1u128 << p {
        m >>= 1;
        unit += 1;
        if unit + p - 1 > EMAX as i64 {
            return Parsed::OutOfRange;
        }
    }
    if m == 0 {
        return Parsed::OutOfRange;
    }
    Parsed::Value(LongDouble::Finite {
        neg,
        mant: m,
        exp: unit as i32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(a: &str, b: &str) -> String {
        let a = LongDouble::parse(a.as_bytes()).unwrap();
        let b = LongDouble::parse(b.as_bytes()).unwrap();
        (a + b).to_human_string()
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn matches_redis_on_x86_64() {
        // Replies of Redis 7.0.15 (x86-64) to INCRBYFLOAT.
        assert_eq!(incr("10.5", "0.1"), "10.6");
        assert_eq!(incr("0.1", "0.2"), "0.3");
        assert_eq!(incr("5.0e3", "2.0e2"), "5200");
        assert_eq!(incr("3.0", "0"), "3");
        assert_eq!(incr("1", "1e-17"), "1.00000000000000001");
        assert_eq!(incr("0", "1e20"), "100000000000000000000");
        assert_eq!(incr("0", "1e-20"), "0");
        assert_eq!(incr("0", "0x10"), "16");
        assert_eq!(incr("-0", "-0"), "0");
        assert_eq!(incr("0", "-1e-30"), "0");
        assert_eq!(incr("16", "1e-4940"), "16");
        assert_eq!(incr("0", "+1.5"), "1.5");
        assert!(incr("0", "1.5e4000")
            .starts_with("150000000000000000002790469720549138200441386004973"));
    }

    #[test]
    fn refuses_what_string2ld_refuses() {
        for bad in [
            "", " 1", "1 ", "abc", "nan", "-nan", "nan(1)", "1e", "1e+", ".", "-", "0x", "0xg",
            "1e5000", "1e-5000", "infin", "1.2.3", "1\0",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(LongDouble::parse("x".repeat(MAX_CHARS).as_bytes()), None);
        for good in [
            "inf",
            "-Infinity",
            "1.",
            ".5",
            "0e99999",
            "1E3",
            "0x1p-3",
            "0x.8",
            "00012",
        ] {
            assert!(LongDouble::parse(good.as_bytes()).is_some(), "{good:?}");
        }
        let inf = LongDouble::parse(b"inf").unwrap();
        assert!((inf + LongDouble::parse(b"1").unwrap()).is_nan_or_inf());
        assert!((inf + LongDouble::parse(b"-inf").unwrap()).is_nan_or_inf());
    }
}

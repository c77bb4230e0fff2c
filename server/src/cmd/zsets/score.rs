//! Scores as Redis reads and prints them, and the score and lexicographic range arguments.
//!
//! Redis reads a score with C's `strtod` under two different sets of rules, and replies differ when we do
//! not follow both:
//!
//! * ZADD / ZINCRBY scores and WEIGHTS (`string2d`): the whole argument must convert, no leading space,
//!   no NaN, and a value that overflows to infinity or underflows to zero is rejected ("inf" itself is
//!   fine).
//! * Range bounds (`zslParseRange`): an optional `(` for an exclusive bound, then `strtod` — leading spaces
//!   are skipped, overflow gives an infinity, and an empty bound is 0.
//!
//! [`strtod`] reimplements the C function's grammar (decimal, hexadecimal, `inf`/`infinity`, `nan(...)`),
//! converting decimal digits with Rust's correctly rounded parser, so a bound means the same double here.

use bytes::Bytes;
use resp::{DoubleFormat, Protocol, Reply};

use crate::cmd::CmdError;

/// `"ERR min or max is not a float"`.
pub const BAD_SCORE_RANGE: &str = "ERR min or max is not a float";
/// `"ERR min or max not valid string range item"`.
pub const BAD_LEX_RANGE: &str = "ERR min or max not valid string range item";

/// C's `isspace` in the "C" locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// C's `strtod` over `s`: the value, how many bytes it converted (0 when nothing converted, like `endptr ==
/// nptr`), and whether it set `ERANGE` (overflow to infinity, or underflow to zero).
pub fn strtod(s: &[u8]) -> (f64, usize, bool) {
    let mut i = s.iter().take_while(|&&b| is_space(b)).count();
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = |v: f64| if negative { -v } else { v };
    let rest = &s[i..];
    let starts = |word: &str| {
        rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word.as_bytes())
    };
    if starts("infinity") {
        return (sign(f64::INFINITY), i + 8, false);
    }
    if starts("inf") {
        return (sign(f64::INFINITY), i + 3, false);
    }
    if starts("nan") {
        let mut n = i + 3;
        // "nan(chars)": the parenthesised part counts only when closed.
        if s.get(n) == Some(&b'(') {
            let inner = s[n + 1..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            if s.get(n + 1 + inner) == Some(&b')') {
                n += inner + 2;
            }
        }
        return (f64::NAN, n, false);
    }
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        if let Some((v, n, erange)) = hex(&rest[2..]) {
            return (sign(v), i + 2 + n, erange);
        }
    }
    match decimal(rest) {
        Some((v, n, erange)) => (sign(v), i + n, erange),
        None => (0.0, 0, false),
    }
}

/// The decimal part of `strtod`: digits, an optional fraction and an optional exponent (taken only when it
/// has digits). `None` when no digit converts.
fn decimal(s: &[u8]) -> Option<(f64, usize, bool)> {
    let digits = |from: usize| s[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let int = digits(0);
    let mut n = int;
    let mut frac = 0;
    if s.get(n) == Some(&b'.') {
        frac = digits(n + 1);
        if int + frac > 0 {
            n += 1 + frac;
        }
    }
    if int + frac == 0 {
        return None;
    }
    let mantissa_end = n;
    if matches!(s.get(n), Some(b'e' | b'E')) {
        let mut e = n + 1;
        if matches!(s.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let exp = digits(e);
        if exp > 0 {
            n = e + exp;
        }
    }
    let text = std::str::from_utf8(&s[..n]).ok()?;
    let v: f64 = text.parse().ok()?;
    let nonzero = s[..mantissa_end].iter().any(|b| (b'1'..=b'9').contains(b));
    let erange = v.is_infinite() || (v == 0.0 && nonzero);
    Some((v, n, erange))
}

/// A hexadecimal float after its `0x`: hex digits, an optional fraction, an optional binary exponent `p`.
/// `None` when no hex digit follows (then `strtod` converts just the `0`).
fn hex(s: &[u8]) -> Option<(f64, usize, bool)> {
    let hexdigits = |from: usize| {
        s[from..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count()
    };
    let int = hexdigits(0);
    let mut n = int;
    let mut frac = 0;
    if s.get(n) == Some(&b'.') {
        frac = hexdigits(n + 1);
        if int + frac > 0 {
            n += 1 + frac;
        }
    }
    if int + frac == 0 {
        return None;
    }
    // Up to 30 significant hex digits (120 bits) are kept exactly; the rest only shift the exponent and
    // mark the value inexact, which matters only for rounding at the last bit.
    let mut mant: u128 = 0;
    let mut exp2: i64 = 0;
    let mut kept = 0;
    let mut sticky = false;
    let mut seen_point = false;
    for &b in &s[..n] {
        if b == b'.' {
            seen_point = true;
            continue;
        }
        let d = (b as char).to_digit(16).unwrap_or(0) as u128;
        if mant == 0 && d == 0 {
            if seen_point {
                exp2 -= 4;
            }
            continue;
        }
        if kept < 30 {
            mant = mant * 16 + d;
            kept += 1;
            if seen_point {
                exp2 -= 4;
            }
        } else {
            sticky |= d != 0;
            if !seen_point {
                exp2 += 4;
            }
        }
    }
    if matches!(s.get(n), Some(b'p' | b'P')) {
        let mut e = n + 1;
        let neg = match s.get(e) {
            Some(b'-') => {
                e += 1;
                true
            }
            Some(b'+') => {
                e += 1;
                false
            }
            _ => false,
        };
        let digits = s[e..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 {
            let mut p: i64 = 0;
            for &b in &s[e..e + digits] {
                p = (p * 10 + (b - b'0') as i64).min(1 << 20);
            }
            exp2 += if neg { -p } else { p };
            n = e + digits;
        }
    }
    if mant == 0 {
        return Some((0.0, n, false));
    }
    if sticky {
        mant |= 1;
    }
    let v = scale2(mant as f64, exp2);
    let erange = v.is_infinite() || v == 0.0;
    Some((v, n, erange))
}

/// `v * 2^e` without overflowing or underflowing on the way.
fn scale2(mut v: f64, mut e: i64) -> f64 {
    while e > 1000 {
        v *= 2f64.powi(1000);
        e -= 1000;
        if v.is_infinite() {
            return v;
        }
    }
    while e < -1000 {
        v *= 2f64.powi(-1000);
        e += 1000;
        if v == 0.0 {
            return v;
        }
    }
    v * 2f64.powi(e as i32)
}

/// A score argument as `string2d` reads it (ZADD, ZINCRBY, WEIGHTS).
pub fn parse_score_opt(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || is_space(arg[0]) {
        return None;
    }
    let (v, n, erange) = strtod(arg);
    if n != arg.len() || v.is_nan() || (erange && (v.is_infinite() || v == 0.0)) {
        return None;
    }
    Some(v)
}

/// [`parse_score_opt`] with Redis's error.
pub fn parse_score(arg: &[u8]) -> Result<f64, CmdError> {
    parse_score_opt(arg).ok_or(CmdError::NotFloat)
}

/// A score interval of ZRANGEBYSCORE, ZCOUNT, ZREMRANGEBYSCORE.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub minex: bool,
    pub maxex: bool,
}

impl ScoreRange {
    /// `zslParseRange`: `min` and `max` with optional `(`.
    pub fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
        let (min, minex) = bound(min).ok_or(CmdError::msg(BAD_SCORE_RANGE))?;
        let (max, maxex) = bound(max).ok_or(CmdError::msg(BAD_SCORE_RANGE))?;
        Ok(ScoreRange {
            min,
            max,
            minex,
            maxex,
        })
    }

    #[inline]
    pub fn gte_min(&self, s: f64) -> bool {
        if self.minex {
            s > self.min
        } else {
            s >= self.min
        }
    }

    #[inline]
    pub fn lte_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }
}

/// One bound: `(` marks it exclusive; the rest is a C string (up to its first NUL) that `strtod` must
/// convert to the end; not NaN.
fn bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (text, ex) = match arg.first() {
        Some(b'(') => (&arg[1..], true),
        _ => (arg, false),
    };
    let text = &text[..text.iter().position(|&b| b == 0).unwrap_or(text.len())];
    let (v, n, _) = strtod(text);
    (n == text.len() && !v.is_nan()).then_some((v, ex))
}

/// One end of a lexicographic range.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LexBound {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    /// `[member`
    Incl(Bytes),
    /// `(member`
    Excl(Bytes),
}

impl LexBound {
    fn parse(arg: &Bytes) -> Option<LexBound> {
        let alone = arg.len() == 1 || arg.get(1) == Some(&0);
        match arg.first() {
            Some(b'+') if alone => Some(LexBound::Max),
            Some(b'-') if alone => Some(LexBound::Min),
            Some(b'(') => Some(LexBound::Excl(arg.slice(1..))),
            Some(b'[') => Some(LexBound::Incl(arg.slice(1..))),
            _ => None,
        }
    }

    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Incl(_))
    }

    /// Redis's `sdscmplex`: `-` below everything, `+` above, members by bytes.
    fn cmp(&self, other: &LexBound) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        let rank = |b: &LexBound| match b {
            LexBound::Min => 0,
            LexBound::Incl(_) | LexBound::Excl(_) => 1,
            LexBound::Max => 2,
        };
        match (self, other) {
            (LexBound::Incl(a) | LexBound::Excl(a), LexBound::Incl(b) | LexBound::Excl(b)) => {
                a.cmp(b)
            }
            _ => match rank(self).cmp(&rank(other)) {
                Equal => Equal,
                o => o,
            },
        }
    }
}

/// A member interval of ZRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    /// `zslParseLexRange`.
    pub fn parse(min: &Bytes, max: &Bytes) -> Result<LexRange, CmdError> {
        match (LexBound::parse(min), LexBound::parse(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => Err(CmdError::msg(BAD_LEX_RANGE)),
        }
    }

    /// Ranges that can never hold a member (`zzlIsInLexRange`'s first test).
    pub fn is_empty(&self) -> bool {
        match self.min.cmp(&self.max) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => self.min.exclusive() || self.max.exclusive(),
            std::cmp::Ordering::Less => false,
        }
    }

    #[inline]
    pub fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Incl(b) => m >= &b[..],
            LexBound::Excl(b) => m > &b[..],
        }
    }

    #[inline]
    pub fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Incl(b) => m <= &b[..],
            LexBound::Excl(b) => m < &b[..],
        }
    }
}

/// `%.17g`, as Redis 7.0 prints a double (the text of a RESP2 double reply).
pub fn printf17g(d: f64) -> Bytes {
    let mut out = bytes::BytesMut::with_capacity(32);
    Reply::Double(d).encode_with(Protocol::Resp2, DoubleFormat::Printf17g, &mut out);
    // `$<len>\r\n<text>\r\n`
    let start = out.iter().position(|&b| b == b'\n').map_or(0, |p| p + 1);
    let end = out.len().saturating_sub(2).max(start);
    out.freeze().slice(start..end)
}

/// Redis's `d2string`, the text a small sorted set keeps for a score (what ZSCAN shows): integers in
/// ±2^62 without a fraction, anything else `%.17g`.
pub fn d2string(d: f64) -> Bytes {
    const LIMIT: f64 = (i64::MAX / 2) as f64;
    if d.is_finite() && (-LIMIT..=LIMIT).contains(&d) && d as i64 as f64 == d {
        return Bytes::from((d as i64).to_string());
    }
    printf17g(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_grammar() {
        assert_eq!(strtod(b"1.5"), (1.5, 3, false));
        assert_eq!(strtod(b"  -2e3x"), (-2000.0, 6, false));
        assert_eq!(strtod(b"1e"), (1.0, 1, false));
        assert_eq!(strtod(b"1.e2"), (100.0, 4, false));
        assert_eq!(strtod(b".5"), (0.5, 2, false));
        assert_eq!(strtod(b"."), (0.0, 0, false));
        assert_eq!(strtod(b"+inf"), (f64::INFINITY, 4, false));
        assert_eq!(strtod(b"-Infinity"), (f64::NEG_INFINITY, 9, false));
        assert_eq!(strtod(b"0x10"), (16.0, 4, false));
        assert_eq!(strtod(b"0x1p-2"), (0.25, 6, false));
        assert_eq!(strtod(b"0x"), (0.0, 1, false));
        assert_eq!(strtod(b"0xg"), (0.0, 1, false));
        assert!(strtod(b"nan").0.is_nan());
        assert_eq!(strtod(b"nan(12)").1, 7);
        assert_eq!(strtod(b"1e400"), (f64::INFINITY, 5, true));
        assert_eq!(strtod(b"1e-400"), (0.0, 6, true));
        assert_eq!(strtod(b"0e-400"), (0.0, 6, false));
        assert_eq!(strtod(b""), (0.0, 0, false));
    }

    #[test]
    fn scores_like_string2d() {
        assert_eq!(parse_score_opt(b"1"), Some(1.0));
        assert_eq!(parse_score_opt(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score_opt(b"0x1p3"), Some(8.0));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"1e400",
            b"1e-400",
            b"abc",
            b"1\x002",
        ] {
            assert_eq!(parse_score_opt(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn bounds_like_zslparserange() {
        let r = ScoreRange::parse(b"(1", b" 5").unwrap();
        assert_eq!((r.min, r.minex, r.max, r.maxex), (1.0, true, 5.0, false));
        let r = ScoreRange::parse(b"", b"(").unwrap();
        assert_eq!((r.min, r.max, r.maxex), (0.0, 0.0, true));
        assert_eq!(
            ScoreRange::parse(b"1e999", b"-inf").unwrap().min,
            f64::INFINITY
        );
        assert!(ScoreRange::parse(b"nan", b"1").is_err());
        assert!(ScoreRange::parse(b"1 ", b"1").is_err());
        assert!(ScoreRange::parse(b" ", b"1").is_err());
        assert!(ScoreRange::parse(b"((1", b"1").is_err());
    }

    #[test]
    fn lex_ranges() {
        let b = |s: &'static str| Bytes::from_static(s.as_bytes());
        assert!(LexRange::parse(&b("a"), &b("+")).is_err());
        assert!(LexRange::parse(&b(""), &b("+")).is_err());
        assert!(LexRange::parse(&b("+x"), &b("+")).is_err());
        let r = LexRange::parse(&b("[a"), &b("(c")).unwrap();
        assert!(r.gte_min(b"a") && r.lte_max(b"bz") && !r.lte_max(b"c"));
        assert!(!r.is_empty());
        assert!(LexRange::parse(&b("-"), &b("-")).unwrap().is_empty());
        assert!(LexRange::parse(&b("+"), &b("[a")).unwrap().is_empty());
        assert!(LexRange::parse(&b("(a"), &b("[a")).unwrap().is_empty());
        assert!(!LexRange::parse(&b("[a"), &b("[a")).unwrap().is_empty());
        assert!(!LexRange::parse(&b("-"), &b("+")).unwrap().is_empty());
    }

    #[test]
    fn score_texts() {
        assert_eq!(&printf17g(0.1)[..], b"0.10000000000000001");
        assert_eq!(&printf17g(f64::NEG_INFINITY)[..], b"-inf");
        assert_eq!(&d2string(3.0)[..], b"3");
        assert_eq!(&d2string(1.5)[..], b"1.5");
        assert_eq!(&d2string(1e20)[..], b"1e+20");
        assert_eq!(&d2string(123456789012345678.0)[..], b"123456789012345680");
    }
}

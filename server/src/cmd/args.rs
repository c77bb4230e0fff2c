//! Argument parsing shared by commands, with Redis's exact rules: integers are strict base-10 `long long`
//! (no spaces, no `+`, no leading zeros beyond "0"), floats accept what `strtold` accepts but not NaN.

use bytes::Bytes;

use super::CmdError;

/// Parses a strict Redis integer (`string2ll`).
pub fn parse_i64(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64_opt(arg).ok_or(CmdError::NotInteger)
}

/// A database index argument (SELECT, COPY ... DB) as Redis checks it: an integer, within `int`'s range
/// (else Redis's range error), then below `databases`.
pub fn parse_db_index(arg: &[u8], databases: u32) -> Result<u8, CmdError> {
    let n = parse_i64(arg)?;
    if n < i32::MIN as i64 || n > i32::MAX as i64 {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    if n < 0 || n >= databases as i64 {
        return Err(CmdError::DbIndexOutOfRange);
    }
    Ok(n as u8)
}

/// `string2ll`: optional '-', digits, no leading zeros (except "0"), fits in i64.
pub fn parse_i64_opt(arg: &[u8]) -> Option<i64> {
    if arg.is_empty() || arg.len() > 20 {
        return None;
    }
    let (neg, digits) = match arg[0] {
        b'-' => (true, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = (b - b'0') as i64;
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

/// Parses a float as Redis's `string2ld`/`getDoubleFromObject` do: no spaces, not NaN; "inf" allowed.
pub fn parse_f64(arg: &[u8]) -> Result<f64, CmdError> {
    parse_f64_opt(arg).ok_or(CmdError::NotFloat)
}

pub fn parse_f64_opt(arg: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(arg).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            // Rust accepts "nan"/"inf" spellings and "1e5"; strtold also accepts hex floats, which no
            // client sends; reject words other than the infinities above.
            if lower.contains("nan") || lower.contains("inf") {
                return None;
            }
            s.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// Case-insensitive comparison of an argument with an ASCII keyword.
#[inline]
pub fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// Formats a long double result as Redis's INCRBYFLOAT does (`%.17Lg`, trailing zeros trimmed), then makes
/// sure the text parses back to the same value.
pub fn format_incr_float(v: f64) -> String {
    // Shortest representation that round-trips, in plain (non-exponent) notation like Redis's humanfriendly
    // mode for values it produces via INCRBYFLOAT.
    let s = format!("{v}");
    if s.contains('e') {
        format!("{v:.17}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        s
    }
}

/// Lossy UTF-8 view for error messages.
pub fn lossy(arg: &Bytes) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_strict() {
        assert_eq!(parse_i64_opt(b"0"), Some(0));
        assert_eq!(parse_i64_opt(b"-12"), Some(-12));
        assert_eq!(parse_i64_opt(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64_opt(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"01",
            b"-0",
            b"+1",
            b" 1",
            b"1 ",
            b"1.0",
            b"9223372036854775808",
            b"-",
        ] {
            assert_eq!(parse_i64_opt(bad), None, "{:?}", std::str::from_utf8(bad));
        }
    }

    #[test]
    fn floats_like_redis() {
        assert_eq!(parse_f64_opt(b"1.5"), Some(1.5));
        assert_eq!(parse_f64_opt(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64_opt(b"5e3"), Some(5000.0));
        assert_eq!(parse_f64_opt(b"nan"), None);
        assert_eq!(parse_f64_opt(b" 1"), None);
        assert_eq!(parse_f64_opt(b"abc"), None);
        assert_eq!(format_incr_float(10.5), "10.5");
        assert_eq!(format_incr_float(3.0), "3");
        assert_eq!(format_incr_float(5.0e3), "5000");
    }
}

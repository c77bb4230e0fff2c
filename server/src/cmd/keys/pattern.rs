//! Redis's glob matcher (`stringmatchlen` in util.c), as KEYS and SCAN MATCH use it.
//!
//! Written to give the same answer as Redis for every input, quirks included, because clients notice the
//! quirks: `*` and `?`, classes `[abc]` `[^a]` `[a-z]` (reversed ranges like `[z-a]` work; bytes are compared
//! as C `char`, i.e. signed, so ranges across 0x80 behave as in Redis), `\x` escapes inside and outside
//! classes, an unterminated `[` that matches up to the end of the pattern, and a trailing lone `\` that
//! matches a literal backslash, `[a-]` being the range `a`..`]` (which leaves the class open), `[^]`
//! matching any byte, and no pattern matching the empty string (KEYS `*` and SCAN MATCH `*` short-cut
//! before matching, so they do list an empty key). Redis reads one byte past the pattern (its NUL
//! terminator); [`Pat::at`] returns 0 there.
//!
//! Two protections are kept (the first is in Redis 7.0, the second came with 7.2): once the rest of a pattern after a `*` failed at
//! every position of the string, no earlier `*` can help, so the search stops (this keeps `*a*a*a*b`
//! against a long run of `a` linear instead of exponential); and a pattern nested deeper than 1000 stars
//! never matches, so a hostile pattern cannot overflow the stack.

/// Stars deeper than this never match (Redis 7.2+).
const MAX_NESTING: u32 = 1000;

/// Whether `string` matches the glob `pattern`, case-sensitively (KEYS, SCAN MATCH).
pub fn matches(pattern: &[u8], string: &[u8]) -> bool {
    matches_case(pattern, string, false)
}

/// Whether `string` matches `pattern`, ignoring ASCII case when `nocase`.
pub fn matches_case(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_impl(Pat(pattern), 0, string, 0, nocase, &mut skip_longer, 0)
}

/// The pattern with C's view of it: reading at its length yields the NUL terminator.
#[derive(Clone, Copy)]
struct Pat<'a>(&'a [u8]);

impl Pat<'_> {
    #[inline]
    fn at(&self, i: usize) -> u8 {
        self.0.get(i).copied().unwrap_or(0)
    }
}

#[inline]
fn fold(b: u8, nocase: bool) -> u8 {
    if nocase {
        b.to_ascii_lowercase()
    } else {
        b
    }
}

/// `p`/`s` are positions in the pattern and the string; the remaining lengths are `len - pos`.
fn match_impl(
    pat: Pat<'_>,
    mut p: usize,
    string: &[u8],
    mut s: usize,
    nocase: bool,
    skip_longer: &mut bool,
    nesting: u32,
) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    let plen = pat.0.len();
    let slen = string.len();
    while p < plen && s < slen {
        match pat.at(p) {
            b'*' => {
                while p < plen && pat.at(p + 1) == b'*' {
                    p += 1;
                }
                if plen - p == 1 {
                    return true;
                }
                while s < slen {
                    if match_impl(pat, p + 1, string, s, nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s += 1;
                }
                *skip_longer = true;
                return false;
            }
            b'?' => s += 1,
            b'[' => {
                p += 1;
                let not = pat.at(p) == b'^';
                if not {
                    p += 1;
                }
                let c = string[s];
                let mut matched = false;
                loop {
                    let remaining = plen - p;
                    if pat.at(p) == b'\\' && remaining >= 2 {
                        p += 1;
                        if pat.at(p) == c {
                            matched = true;
                        }
                    } else if pat.at(p) == b']' {
                        break;
                    } else if remaining == 0 {
                        // Unterminated class: step back so the shared `p += 1` below lands on the end.
                        p -= 1;
                        break;
                    } else if remaining >= 3 && pat.at(p + 1) == b'-' {
                        // C `char` is signed: compare as i8, like Redis on x86 and ARM64 Linux builds
                        // with signed char.
                        let (mut lo, mut hi) = (pat.at(p) as i8 as i32, pat.at(p + 2) as i8 as i32);
                        let mut ch = c as i8 as i32;
                        if lo > hi {
                            std::mem::swap(&mut lo, &mut hi);
                        }
                        if nocase {
                            lo = fold(lo as u8, true) as i8 as i32;
                            hi = fold(hi as u8, true) as i8 as i32;
                            ch = fold(ch as u8, true) as i8 as i32;
                        }
                        p += 2;
                        if ch >= lo && ch <= hi {
                            matched = true;
                        }
                    } else if fold(pat.at(p), nocase) == fold(c, nocase) {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s += 1;
            }
            other => {
                let lit = if other == b'\\' && plen - p >= 2 {
                    p += 1;
                    pat.at(p)
                } else {
                    other
                };
                if fold(lit, nocase) != fold(string[s], nocase) {
                    return false;
                }
                s += 1;
            }
        }
        p += 1;
        if s == slen {
            while pat.at(p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= plen && s == slen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        matches(p.as_bytes(), s.as_bytes())
    }

    #[test]
    fn stars_and_questions() {
        // As in Redis, a pattern never matches the empty string (KEYS * and SCAN MATCH * short-cut).
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(m("*", "anything"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("**a**", "xxaxx"));
        assert!(m("a*", "a"));
        assert!(m("a**", "a"));
        assert!(!m("a*b", "a"));
        assert!(!m("", "a"));
        assert!(m("", ""));
        assert!(!m("?", ""));
        assert!(m("*a*b*c", "xaxbxc"));
        assert!(!m("*a*b*c", "xaxcxb"));
    }

    #[test]
    fn classes() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(!m("h[a-b]llo", "hcllo"));
        // Reversed ranges work.
        assert!(m("[z-a]", "m"));
        // Escapes inside a class.
        assert!(m("[\\]]", "]"));
        assert!(m("[\\-]", "-"));
        assert!(!m("[\\-]", "\\"));
        // `-` first in a class is literal; `[a-]` is the range a..']' and leaves the class open.
        assert!(m("[-a]", "-"));
        assert!(!m("[a-]", "-"));
        assert!(!m("x[a-]y", "x^y"));
        assert!(m("[a-]", "^"));
        // An unterminated class runs to the end of the pattern.
        assert!(m("[abc", "b"));
        assert!(!m("[abc", "d"));
        assert!(m("x[ab", "xa"));
        // `[]` never matches; `[^]` matches any one byte (Redis reads to the closing `]`).
        assert!(!m("[]", "a"));
        assert!(m("[^]", "a"));
        assert!(!m("[^]", ""));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("a\\?b", "a?b"));
        assert!(!m("a\\?b", "axb"));
        // A lone trailing backslash matches a backslash.
        assert!(m("a\\", "a\\"));
        assert!(m("\\[x]", "[x]"));
    }

    #[test]
    fn signed_char_ranges_like_redis() {
        // 0x80..0xFF are negative as C chars, so they fall below 'a'.
        assert!(!matches(b"[a-z]", &[0xE9]));
        assert!(matches(&[b'[', 0x80, b'-', b'a', b']'], b"0"));
        assert!(matches(&[b'[', 0x80, b'-', 0xFF, b']'], &[0xC0]));
    }

    #[test]
    fn nocase_and_binary() {
        assert!(matches_case(b"HELLO*", b"hello world", true));
        assert!(!matches_case(b"HELLO*", b"hello world", false));
        assert!(matches_case(b"[A-C]x", b"bX", true));
        assert!(matches(b"a\0*", b"a\0bc"));
        assert!(!matches(b"a\0*", b"abc"));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let s = "a".repeat(5000);
        let p = "*a".repeat(30) + "b";
        let t = std::time::Instant::now();
        assert!(!m(&p, &s));
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        // Deep nesting is refused rather than overflowing the stack.
        let deep = "*x".repeat(5000);
        assert!(!m(&deep, &"x".repeat(5000)));
    }
}

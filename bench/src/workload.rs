//! What to send: command templates, pre-encoded once, and the schedule that mixes them.
//!
//! A template such as `HSET user:__key__ name __value__` is split into RESP arguments when the
//! program starts. Arguments without a placeholder are stored fully encoded (`$4\r\nHSET\r\n`);
//! only arguments that contain `__key__` or `__value__` are assembled per request. The hot loop
//! therefore does little more than a few `memcpy`s per request: header, fixed parts, key digits
//! and a slice of a pre-generated value buffer.
//!
//! Keys are `prefix + zero-padded number` with a fixed width (like redis-benchmark), so every key
//! has the same length and a key's number is all that has to be kept to re-send a request after a
//! cluster redirect.

use anyhow::{bail, Result};
use std::sync::Arc;

/// Placeholder replaced by the key.
pub const KEY_PLACEHOLDER: &str = "__key__";
/// Placeholder replaced by the value.
pub const VALUE_PLACEHOLDER: &str = "__value__";

#[derive(Clone, Debug)]
enum Piece {
    Lit(Vec<u8>),
    Key,
    Value,
}

#[derive(Clone, Debug)]
enum Arg {
    /// Fully encoded bulk string, `$len\r\nbytes\r\n`.
    Fixed(Vec<u8>),
    /// Assembled per request.
    Dynamic(Vec<Piece>),
}

/// The whole request pre-encoded for a known key and value length: per request, one copy of
/// `bytes` and the key and value written over their slots.
#[derive(Clone, Debug)]
struct FixedLayout {
    bytes: Vec<u8>,
    key_len: usize,
    value_len: usize,
    key_at: Vec<usize>,
    value_at: Vec<usize>,
}

/// One command template, e.g. `SET __key__ __value__`.
#[derive(Clone, Debug)]
pub struct Template {
    /// Name used in reports (the command word, upper case; made unique by the workload).
    pub name: String,
    /// The template as the user wrote it.
    pub text: String,
    header: Vec<u8>,
    args: Vec<Arg>,
    fixed: Option<FixedLayout>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template> {
        let words = split_words(text)?;
        if words.is_empty() {
            bail!("empty command template");
        }
        let mut args = Vec::with_capacity(words.len());
        for w in &words {
            let pieces = split_placeholders(w);
            if let [Piece::Lit(b)] = pieces.as_slice() {
                let mut enc = Vec::with_capacity(b.len() + 16);
                push_bulk(&mut enc, b);
                args.push(Arg::Fixed(enc));
            } else {
                args.push(Arg::Dynamic(pieces));
            }
        }
        let mut header = Vec::new();
        header.push(b'*');
        push_usize(&mut header, words.len());
        header.extend_from_slice(b"\r\n");
        Ok(Template {
            name: words[0].to_ascii_uppercase(),
            text: text.to_string(),
            header,
            args,
            fixed: None,
        })
    }

    /// Pre-encodes the whole request for keys of `key_len` and values of `value_len` bytes.
    fn fix_layout(&mut self, key_len: usize, value_len: usize) {
        let key = vec![b'k'; key_len];
        let value = vec![b'v'; value_len];
        let mut bytes = Vec::new();
        let (mut key_at, mut value_at) = (Vec::new(), Vec::new());
        self.encode_general(&mut bytes, &key, &value, &mut |piece, pos| match piece {
            Piece::Key => key_at.push(pos),
            Piece::Value => value_at.push(pos),
            Piece::Lit(_) => {}
        });
        self.fixed = Some(FixedLayout {
            bytes,
            key_len,
            value_len,
            key_at,
            value_at,
        });
    }

    /// Appends the RESP encoding of this command for `key` and `value` to `out`.
    #[inline]
    pub fn encode(&self, out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
        if let Some(f) = &self.fixed {
            if f.key_len == key.len() && f.value_len == value.len() {
                let start = out.len();
                out.extend_from_slice(&f.bytes);
                let req = &mut out[start..];
                for &at in &f.key_at {
                    req[at..at + key.len()].copy_from_slice(key);
                }
                for &at in &f.value_at {
                    req[at..at + value.len()].copy_from_slice(value);
                }
                return;
            }
        }
        self.encode_general(out, key, value, &mut |_, _| {});
    }

    /// Encodes argument by argument; `mark` learns where each key and value was written.
    fn encode_general<F: FnMut(&Piece, usize)>(
        &self,
        out: &mut Vec<u8>,
        key: &[u8],
        value: &[u8],
        mark: &mut F,
    ) {
        out.extend_from_slice(&self.header);
        for arg in &self.args {
            match arg {
                Arg::Fixed(b) => out.extend_from_slice(b),
                Arg::Dynamic(pieces) => {
                    let len: usize = pieces
                        .iter()
                        .map(|p| match p {
                            Piece::Lit(b) => b.len(),
                            Piece::Key => key.len(),
                            Piece::Value => value.len(),
                        })
                        .sum();
                    out.push(b'$');
                    push_usize(out, len);
                    out.extend_from_slice(b"\r\n");
                    for p in pieces {
                        mark(p, out.len());
                        match p {
                            Piece::Lit(b) => out.extend_from_slice(b),
                            Piece::Key => out.extend_from_slice(key),
                            Piece::Value => out.extend_from_slice(value),
                        }
                    }
                    out.extend_from_slice(b"\r\n");
                }
            }
        }
    }
}

/// Splits on whitespace; single or double quotes group words (no escapes inside).
fn split_words(text: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for ch in text.chars() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => cur.push(ch),
            None if ch == '"' || ch == '\'' => {
                quote = Some(ch);
                in_word = true;
            }
            None if ch.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(ch);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        bail!("unbalanced quote in command template {text:?}");
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

fn split_placeholders(word: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = word;
    loop {
        let k = rest.find(KEY_PLACEHOLDER);
        let v = rest.find(VALUE_PLACEHOLDER);
        let (pos, piece, len) = match (k, v) {
            (Some(k), Some(v)) if v < k => (v, Piece::Value, VALUE_PLACEHOLDER.len()),
            (Some(k), _) => (k, Piece::Key, KEY_PLACEHOLDER.len()),
            (None, Some(v)) => (v, Piece::Value, VALUE_PLACEHOLDER.len()),
            (None, None) => break,
        };
        if pos > 0 {
            pieces.push(Piece::Lit(rest.as_bytes()[..pos].to_vec()));
        }
        pieces.push(piece);
        rest = &rest[pos + len..];
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Lit(rest.as_bytes().to_vec()));
    }
    pieces
}

/// Appends `n` in decimal.
#[inline]
pub fn push_usize(out: &mut Vec<u8>, mut n: usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn push_bulk(out: &mut Vec<u8>, b: &[u8]) {
    out.push(b'$');
    push_usize(out, b.len());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

/// Encodes a whole command from its arguments (used for set-up commands, not in the hot loop).
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![b'*'];
    push_usize(&mut out, args.len());
    out.extend_from_slice(b"\r\n");
    for a in args {
        push_bulk(&mut out, a);
    }
    out
}

/// The complete description of what every connection sends.
#[derive(Clone, Debug)]
pub struct Workload {
    pub templates: Vec<Template>,
    /// Order in which templates are used; each connection cycles through it.
    pub pattern: Vec<u16>,
    pub key_prefix: Vec<u8>,
    pub key_digits: usize,
    pub keyspace: u64,
    pub value_min: usize,
    pub value_max: usize,
    /// Random printable bytes; values are slices of it (incompressible enough to be honest
    /// against stores that compress, such as RocksDB with LZ4).
    pub value_pool: Arc<Vec<u8>>,
}

const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// How far value slices may start into the pool; keeps consecutive values different.
pub const VALUE_POOL_SLACK: usize = 4096;

impl Workload {
    /// Builds a workload from templates with integer weights (weights are reduced and spread
    /// evenly so a ratio 1:3 sends SET GET GET GET, not SET then three thousand GETs).
    pub fn new(
        weighted: Vec<(Template, u64)>,
        key_prefix: &str,
        keyspace: u64,
        value_min: usize,
        value_max: usize,
        seed: u64,
    ) -> Result<Workload> {
        let weighted: Vec<_> = weighted.into_iter().filter(|(_, w)| *w > 0).collect();
        if weighted.is_empty() {
            bail!("the workload has no commands (all weights are zero)");
        }
        let g = weighted.iter().fold(0, |g, (_, w)| gcd(g, *w));
        let weights: Vec<u64> = weighted.iter().map(|(_, w)| w / g).collect();
        let total: u64 = weights.iter().sum();
        if total > 1_000_000 {
            bail!("ratio too fine-grained ({total} slots after reduction); use smaller numbers");
        }
        let mut pattern = Vec::with_capacity(total as usize);
        let mut credit = vec![0i64; weights.len()];
        for _ in 0..total {
            // Smooth weighted round robin: deterministic and evenly interleaved.
            for (c, w) in credit.iter_mut().zip(&weights) {
                *c += *w as i64;
            }
            let (best, _) = credit
                .iter()
                .enumerate()
                .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
                .expect("non-empty");
            credit[best] -= total as i64;
            pattern.push(best as u16);
        }
        let mut templates: Vec<Template> = weighted.into_iter().map(|(t, _)| t).collect();
        uniquify_names(&mut templates);

        let key_digits = digits(keyspace.saturating_sub(1)).max(12);
        if value_min == value_max {
            for t in &mut templates {
                t.fix_layout(key_prefix.len() + key_digits, value_min);
            }
        }
        let mut rng = crate::keygen::FastRng::new(seed ^ 0x5EED);
        const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let value_pool: Vec<u8> = (0..value_max + VALUE_POOL_SLACK)
            .map(|_| ALNUM[rng.below(ALNUM.len() as u64) as usize])
            .collect();
        Ok(Workload {
            templates,
            pattern,
            key_prefix: key_prefix.as_bytes().to_vec(),
            key_digits,
            keyspace,
            value_min,
            value_max,
            value_pool: Arc::new(value_pool),
        })
    }

    /// Writes the key for number `n` into `buf` (which must hold prefix + digits), two digits
    /// per division.
    #[inline]
    pub fn write_key(&self, buf: &mut [u8], mut n: u64) {
        let digits = &mut buf[self.key_prefix.len()..];
        let mut i = digits.len();
        while i >= 2 {
            let pair = (n % 100) as usize * 2;
            n /= 100;
            digits[i - 2..i].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
            i -= 2;
        }
        if i == 1 {
            digits[0] = b'0' + (n % 10) as u8;
        }
    }

    /// A key buffer with the prefix filled in.
    pub fn key_buffer(&self) -> Vec<u8> {
        let mut b = self.key_prefix.clone();
        b.resize(self.key_prefix.len() + self.key_digits, b'0');
        b
    }

    /// The value for a request: `size` bytes starting `offset` into the pool.
    #[inline]
    pub fn value(&self, offset: usize, size: usize) -> &[u8] {
        &self.value_pool[offset..offset + size]
    }
}

fn uniquify_names(templates: &mut [Template]) {
    for i in 1..templates.len() {
        let base = templates[i].name.clone();
        let mut n = 1;
        while templates[..i].iter().any(|t| t.name == templates[i].name) {
            n += 1;
            templates[i].name = format!("{base}#{n}");
        }
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(t: &str, key: &[u8], value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        Template::parse(t).unwrap().encode(&mut out, key, value);
        out
    }

    #[test]
    fn encodes_fixed_and_dynamic_arguments() {
        assert_eq!(
            enc("SET __key__ __value__", b"k1", b"xyz"),
            b"*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$3\r\nxyz\r\n"
        );
        assert_eq!(
            enc("HSET 'my hash' f:__key__:__value__ v", b"7", b"ab"),
            b"*4\r\n$4\r\nHSET\r\n$7\r\nmy hash\r\n$6\r\nf:7:ab\r\n$1\r\nv\r\n"
        );
        assert_eq!(enc("PING", b"k", b"v"), b"*1\r\n$4\r\nPING\r\n");
        assert!(Template::parse("SET 'x").is_err());
        assert!(Template::parse("   ").is_err());
    }

    /// The pre-encoded fast path produces exactly what argument-by-argument encoding does.
    #[test]
    fn fixed_layout_matches_general_encoding() {
        for text in [
            "SET __key__ __value__",
            "HSET h:__key__ f __value__:__key__",
            "PING",
        ] {
            let general = Template::parse(text).unwrap();
            let mut fixed = general.clone();
            fixed.fix_layout(6, 4);
            assert!(fixed.fixed.is_some());
            for (k, v) in [(&b"key:01"[..], &b"abcd"[..]), (b"key:99", b"wxyz")] {
                let (mut a, mut b) = (b"prefix".to_vec(), b"prefix".to_vec());
                general.encode(&mut a, k, v);
                fixed.encode(&mut b, k, v);
                assert_eq!(a, b, "{text}");
            }
            // A different length falls back to the general path.
            let (mut a, mut b) = (Vec::new(), Vec::new());
            general.encode(&mut a, b"k", b"value!");
            fixed.encode(&mut b, b"k", b"value!");
            assert_eq!(a, b);
        }
    }

    #[test]
    fn pattern_interleaves_by_ratio() {
        let w = Workload::new(
            vec![
                (Template::parse("SET __key__ __value__").unwrap(), 2),
                (Template::parse("GET __key__").unwrap(), 6),
            ],
            "key:",
            100,
            3,
            3,
            1,
        )
        .unwrap();
        assert_eq!(w.pattern, vec![1, 0, 1, 1]);
        let mut key = w.key_buffer();
        w.write_key(&mut key, 42);
        assert_eq!(key, b"key:000000000042");
        w.write_key(&mut key, 987_654_321_098);
        assert_eq!(key, b"key:987654321098");
        // An odd number of digits (keyspace above 10^12).
        let big = Workload::new(
            vec![(Template::parse("GET __key__").unwrap(), 1)],
            "k",
            10_000_000_000_000,
            1,
            1,
            1,
        )
        .unwrap();
        let mut key = big.key_buffer();
        big.write_key(&mut key, 1_234_567_890_123);
        assert_eq!(key, b"k1234567890123");
    }

    #[test]
    fn duplicate_names_are_made_unique() {
        let w = Workload::new(
            vec![
                (Template::parse("set a __value__").unwrap(), 1),
                (Template::parse("SET b __value__").unwrap(), 1),
            ],
            "k",
            10,
            1,
            1,
            1,
        )
        .unwrap();
        let names: Vec<_> = w.templates.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["SET", "SET#2"]);
    }
}

//! The small unsigned big integers [`super`] computes with: just the operations exact `long double`
//! parsing, addition and printing need (shifts, add, subtract, multiply, divide by a word, decimal digits).

use std::cmp::Ordering;

/// A small unsigned big integer: little-endian 64-bit limbs, no high zero limbs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Big(Vec<u64>);

impl Big {
    pub(super) fn zero() -> Big {
        Big(Vec::new())
    }

    pub(super) fn one() -> Big {
        Big(vec![1])
    }

    pub(super) fn from_u128(v: u128) -> Big {
        let mut b = Big(vec![v as u64, (v >> 64) as u64]);
        b.trim();
        b
    }

    pub(super) fn pow10(k: u64) -> Big {
        let mut b = Big::one();
        let mut left = k;
        while left > 0 {
            let step = left.min(19);
            b.mul_small_add(10u64.pow(step as u32), 0);
            left -= step;
        }
        b
    }

    pub(super) fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    pub(super) fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn bits(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(top) => self.0.len() as u64 * 64 - top.leading_zeros() as u64,
        }
    }

    pub(super) fn bit(&self, i: u64) -> bool {
        let limb = (i / 64) as usize;
        limb < self.0.len() && (self.0[limb] >> (i % 64)) & 1 == 1
    }

    /// Whether any bit below bit `n` is set.
    pub(super) fn any_below(&self, n: u64) -> bool {
        let full = ((n / 64) as usize).min(self.0.len());
        if self.0[..full].iter().any(|&l| l != 0) {
            return true;
        }
        let rem = n % 64;
        rem != 0 && full < self.0.len() && self.0[full] & ((1u64 << rem) - 1) != 0
    }

    /// `self = self · m + a`.
    pub(super) fn mul_small_add(&mut self, m: u64, a: u64) {
        let mut carry = a as u128;
        for l in self.0.iter_mut() {
            let v = *l as u128 * m as u128 + carry;
            *l = v as u64;
            carry = v >> 64;
        }
        if carry != 0 {
            self.0.push(carry as u64);
        }
        self.trim();
    }

    pub(super) fn mul(&self, other: &Big) -> Big {
        let mut out = vec![0u64; self.0.len() + other.0.len()];
        for (i, &a) in self.0.iter().enumerate() {
            let mut carry = 0u128;
            for (j, &b) in other.0.iter().enumerate() {
                let v = a as u128 * b as u128 + out[i + j] as u128 + carry;
                out[i + j] = v as u64;
                carry = v >> 64;
            }
            out[i + other.0.len()] = carry as u64;
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    pub(super) fn shl(&self, n: u64) -> Big {
        if self.is_zero() {
            return Big::zero();
        }
        let (limbs, bits) = ((n / 64) as usize, (n % 64) as u32);
        let mut out = vec![0u64; limbs];
        out.reserve(self.0.len() + 1);
        let mut carry = 0u64;
        for &l in &self.0 {
            if bits == 0 {
                out.push(l);
            } else {
                out.push((l << bits) | carry);
                carry = l >> (64 - bits);
            }
        }
        out.push(carry);
        let mut b = Big(out);
        b.trim();
        b
    }

    pub(super) fn shr(&self, n: u64) -> Big {
        let (limbs, bits) = ((n / 64) as usize, (n % 64) as u32);
        if limbs >= self.0.len() {
            return Big::zero();
        }
        let src = &self.0[limbs..];
        let mut out = Vec::with_capacity(src.len());
        for i in 0..src.len() {
            let hi = src.get(i + 1).copied().unwrap_or(0);
            out.push(if bits == 0 {
                src[i]
            } else {
                (src[i] >> bits) | (hi << (64 - bits))
            });
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    pub(super) fn shr1(&mut self) {
        let mut carry = 0u64;
        for l in self.0.iter_mut().rev() {
            let next = *l & 1;
            *l = (*l >> 1) | (carry << 63);
            carry = next;
        }
        self.trim();
    }

    pub(super) fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    pub(super) fn add(&self, other: &Big) -> Big {
        let (long, short) = if self.0.len() >= other.0.len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut out = Vec::with_capacity(long.0.len() + 1);
        let mut carry = false;
        for (i, &a) in long.0.iter().enumerate() {
            let b = short.0.get(i).copied().unwrap_or(0);
            let (s1, c1) = a.overflowing_add(b);
            let (s2, c2) = s1.overflowing_add(carry as u64);
            out.push(s2);
            carry = c1 || c2;
        }
        if carry {
            out.push(1);
        }
        Big(out)
    }

    /// `self - other`, `self >= other`.
    pub(super) fn sub(&self, other: &Big) -> Big {
        let mut out = self.clone();
        out.sub_assign(other);
        out
    }

    /// `self -= other`, `self >= other`.
    pub(super) fn sub_assign(&mut self, other: &Big) {
        let mut borrow = false;
        for (i, a) in self.0.iter_mut().enumerate() {
            let b = other.0.get(i).copied().unwrap_or(0);
            if b == 0 && !borrow && i >= other.0.len() {
                break;
            }
            let (d1, b1) = a.overflowing_sub(b);
            let (d2, b2) = d1.overflowing_sub(borrow as u64);
            *a = d2;
            borrow = b1 || b2;
        }
        debug_assert!(!borrow, "Big::sub underflow");
        self.trim();
    }

    /// Divides in place by `d`, returning the remainder.
    pub(super) fn div_small(&mut self, d: u64) -> u64 {
        let mut rem = 0u128;
        for l in self.0.iter_mut().rev() {
            let cur = (rem << 64) | *l as u128;
            *l = (cur / d as u128) as u64;
            rem = cur % d as u128;
        }
        self.trim();
        rem as u64
    }

    pub(super) fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        const CHUNK: u64 = 10_000_000_000_000_000_000;
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_small(CHUNK));
        }
        let mut out = chunks.pop().map_or_else(String::new, |c| c.to_string());
        for c in chunks.iter().rev() {
            out.push_str(&format!("{c:019}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_integer_basics() {
        let a = Big::pow10(40);
        assert_eq!(a.to_decimal(), format!("1{}", "0".repeat(40)));
        assert_eq!(a.shl(3).shr(3), a);
        assert_eq!(Big::from_u128(u128::MAX).add(&Big::one()).bits(), 129);
        assert_eq!(
            Big::from_u128(12345)
                .mul(&Big::from_u128(1000))
                .to_decimal(),
            "12345000"
        );
        assert!(!Big::from_u128(0b1000).any_below(3) && Big::from_u128(0b1001).any_below(1));
    }
}

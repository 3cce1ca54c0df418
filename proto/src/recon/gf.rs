//! Arithmetic in GF(2²⁴) = GF(2)[x] / (x²⁴ + x⁴ + x³ + x + 1), elements held in the low
//! 24 bits of a `u32`.
//!
//! 24 bits, not 32: every power sum on air costs 3 bytes instead of 4 (a sketch answer of
//! six power sums is 28 bytes, not 34), and the collisions it adds are rare and caught (see
//! the [module doc](super)).
//!
//! Written by hand: no maintained pure-Rust `no_std` crate offers a binary field of this size
//! (minisketch-rs wraps the C++ library, which cannot run on the boards), and the whole field
//! is three small functions. Multiplication uses a 4-bit window (a 16-entry table of the
//! multiples of `a`, then 6 shift-and-add steps): 109 branch-free instructions on thumbv7em
//! (see the README), and no 64-bit carry-less multiply instruction. No table is kept in RAM
//! or flash beyond the 16-entry reduction table below.

/// Bits of a field element.
pub const BITS: u32 = 24;
/// The elements' bits.
pub const MASK: u32 = (1 << BITS) - 1;
/// The low 24 bits of the field's modulus x²⁴ + x⁴ + x³ + x + 1 (irreducible, checked by
/// the tests with Rabin's test; minisketch's choice for 24-bit elements).
pub const MODULUS: u32 = 0x1b;

/// `RED[t]` = t(x)·x²⁴ mod the modulus, for a 4-bit `t` (the carry-less product t × 0x1b;
/// it has at most 8 bits so it needs no further reduction).
const RED: [u32; 16] = {
    let mut t = [0u32; 16];
    let mut i = 0;
    while i < 16 {
        let mut r = 0u32;
        let mut bit = 0;
        while bit < 4 {
            if i >> bit & 1 == 1 {
                r ^= MODULUS << bit;
            }
            bit += 1;
        }
        t[i] = r;
        i += 1;
    }
    t
};

/// a·x mod the modulus.
#[inline]
const fn xtime(a: u32) -> u32 {
    ((a << 1) & MASK) ^ (MODULUS & ((a >> (BITS - 1)) & 1).wrapping_neg())
}

/// Field multiplication of two elements (only their low 24 bits count).
#[inline]
pub fn mul(a: u32, b: u32) -> u32 {
    let a = a & MASK;
    let mut t = [0u32; 16];
    let mut j = 1;
    while j < 16 {
        // t[j] = t[j / 2]·x, plus a when j is odd.
        t[j] = xtime(t[j >> 1]) ^ (a & (j as u32 & 1).wrapping_neg());
        j += 1;
    }
    let mut r = 0u32;
    let mut k = BITS / 4;
    while k > 0 {
        k -= 1;
        r = ((r << 4) & MASK) ^ RED[((r >> (BITS - 4)) & 15) as usize];
        r ^= t[((b >> (4 * k)) & 15) as usize];
    }
    r
}

/// a².
#[inline]
pub fn sqr(a: u32) -> u32 {
    mul(a, a)
}

/// Multiplications [`inv`] costs.
pub const INV_MULTS: u64 = 2 * (BITS as u64 - 2) + 1;

/// Multiplicative inverse (a^(2²⁴ − 2)); `inv(0)` is 0. [`INV_MULTS`] multiplications.
pub fn inv(a: u32) -> u32 {
    // r = a^(2^k − 1), k = 1..=23, then one squaring gives a^(2^24 − 2).
    let mut r = a;
    for _ in 1..BITS - 1 {
        r = mul(sqr(r), a);
    }
    sqr(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-by-bit reference multiplication.
    fn mul_ref(mut a: u32, mut b: u32) -> u32 {
        let mut r = 0;
        while b != 0 {
            if b & 1 == 1 {
                r ^= a;
            }
            b >>= 1;
            a = xtime(a);
        }
        r
    }

    #[test]
    fn mul_matches_reference() {
        let mut x = 0x9e37_79b9u32;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let y = (x.rotate_left(11) ^ 0x5bd1_e995) & MASK;
            let x = x & MASK;
            assert_eq!(mul(x, y), mul_ref(x, y));
            assert!(mul(x, y) <= MASK);
            assert_eq!(mul(x, y), mul(y, x));
        }
        assert_eq!(mul(0, 0x1234), 0);
        assert_eq!(mul(1, 0x1234), 0x1234);
    }

    #[test]
    fn inverse() {
        for a in [1u32, 2, 3, 0x1b, MASK, 0x12_3456, 0x80_0000] {
            assert_eq!(mul(a, inv(a)), 1, "{a:#x}");
        }
        assert_eq!(inv(0), 0);
    }

    /// Remainder of GF(2)[x] polynomials held as bit masks.
    fn poly_mod(mut a: u64, b: u64) -> u64 {
        let db = 63 - b.leading_zeros();
        while a != 0 && 63 - a.leading_zeros() >= db {
            a ^= b << (63 - a.leading_zeros() - db);
        }
        a
    }

    #[test]
    fn modulus_is_irreducible() {
        // Rabin's test for degree 24 (prime divisors 2 and 3): x^(2^24) = x mod p, and
        // gcd(x^(2^12) − x, p) = gcd(x^(2^8) − x, p) = 1.
        let mut x = 2u32;
        let mut partial = [0u32; 2];
        for k in 1..=BITS {
            x = sqr(x);
            if k == BITS / 2 {
                partial[0] = x;
            }
            if k == BITS / 3 {
                partial[1] = x;
            }
        }
        assert_eq!(x, 2);
        for xk in partial {
            let (mut a, mut b) = ((1u64 << BITS) | u64::from(MODULUS), u64::from(xk ^ 2));
            while b != 0 {
                (a, b) = (b, poly_mod(a, b));
            }
            assert_eq!(a, 1);
        }
    }
}

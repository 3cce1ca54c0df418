//! Arithmetic in GF(2³²) = GF(2)[x] / (x³² + x⁷ + x³ + x² + 1).
//!
//! Written by hand: no maintained pure-Rust `no_std` crate offers a binary field of this size
//! (minisketch-rs wraps the C++ library, which cannot run on the boards), and the whole field
//! is three small functions. Multiplication uses a 4-bit window (a 16-entry table of the
//! multiples of `a`, then 8 shift-and-add steps), which on a 32-bit MCU costs about 60
//! instructions and needs no 64-bit carry-less multiply instruction. No table is kept in RAM
//! or flash beyond the 16-entry reduction table below.

/// The low 32 bits of the field's modulus x³² + x⁷ + x³ + x² + 1 (irreducible, checked by
/// the tests with Rabin's test).
pub const MODULUS: u32 = 0x8d;

/// `RED[t]` = t(x)·x³² mod the modulus, for a 4-bit `t` (the carry-less product t × 0x8d;
/// it has at most 11 bits so it needs no further reduction).
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
    (a << 1) ^ (MODULUS & (a >> 31).wrapping_neg())
}

/// Field multiplication.
#[inline]
pub fn mul(a: u32, b: u32) -> u32 {
    let mut t = [0u32; 16];
    let mut j = 1;
    while j < 16 {
        // t[j] = t[j / 2]·x, plus a when j is odd.
        t[j] = xtime(t[j >> 1]) ^ (a & (j as u32 & 1).wrapping_neg());
        j += 1;
    }
    let mut r = 0u32;
    let mut k = 8;
    while k > 0 {
        k -= 1;
        r = (r << 4) ^ RED[(r >> 28) as usize];
        r ^= t[((b >> (4 * k)) & 15) as usize];
    }
    r
}

/// a².
#[inline]
pub fn sqr(a: u32) -> u32 {
    mul(a, a)
}

/// Multiplicative inverse (a^(2³² − 2)); `inv(0)` is 0. 61 multiplications.
pub fn inv(a: u32) -> u32 {
    // r = a^(2^k − 1), k = 1..=31, then one squaring gives a^(2^32 − 2).
    let mut r = a;
    for _ in 1..31 {
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
            let y = x.rotate_left(11) ^ 0x5bd1_e995;
            assert_eq!(mul(x, y), mul_ref(x, y));
            assert_eq!(mul(x, y), mul(y, x));
        }
        assert_eq!(mul(0, 0x1234), 0);
        assert_eq!(mul(1, 0x1234), 0x1234);
    }

    #[test]
    fn inverse() {
        for a in [1u32, 2, 3, 0x8d, 0xffff_ffff, 0x1234_5678, 0x8000_0000] {
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
        // Rabin's test for degree 32 (only prime divisor 2): x^(2^32) = x mod p and
        // gcd(x^(2^16) − x, p) = 1.
        let mut x = 2u32;
        let mut x16 = 0;
        for k in 1..=32 {
            x = sqr(x);
            if k == 16 {
                x16 = x;
            }
        }
        assert_eq!(x, 2);
        let (mut a, mut b) = ((1u64 << 32) | u64::from(MODULUS), u64::from(x16 ^ 2));
        while b != 0 {
            (a, b) = (b, poly_mod(a, b));
        }
        assert_eq!(a, 1);
    }
}

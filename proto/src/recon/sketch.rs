//! PinSketch over GF(2²⁴): odd power sums of a set of nonzero 24-bit elements, and the decoder
//! that recovers a set of at most `c` elements from `c` of its power sums (Berlekamp–Massey
//! for the error locator, then the Berlekamp trace algorithm for its roots, as in
//! minisketch). Written by hand for the reasons given in [`super::gf`]; every step works in
//! caller-provided buffers ([`Workspace`]) and never allocates.
//!
//! A sketch of capacity `c` is `s₁, s₃, …, s₂c₋₁` with `sₖ = Σ xᵏ`; the sketch of a
//! capacity `c' < c` is its prefix, and adding (XOR) two sketches gives the sketch of the
//! symmetric difference. Even power sums follow from `s₂ₖ = sₖ²`.

use heapless::Vec;

use super::gf::{BITS, INV_MULTS, MASK, inv, mul, sqr};

/// Why a sketch did not decode. Both mean "more differences than the sketch's capacity" (or
/// an inconsistent sketch); the caller asks for more power sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeFailure {
    /// The shortest linear recurrence is longer than the capacity.
    TooManyDifferences,
    /// The error locator does not split into distinct nonzero roots, or its roots do not
    /// reproduce the sketch.
    Inconsistent,
}

/// Scratch space for [`decode`]: six buffers of `2 × CAP` field elements (`48 × CAP` bytes),
/// reused by every step. Kept separate from the sketch so that a caller can place it on the
/// stack only while decoding.
#[derive(Debug, Clone)]
pub struct Workspace<const CAP: usize> {
    bufs: [[[u32; CAP]; 2]; 6],
}

impl<const CAP: usize> Default for Workspace<CAP> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const CAP: usize> Workspace<CAP> {
    pub const fn new() -> Self {
        Self {
            bufs: [[[0; CAP]; 2]; 6],
        }
    }
}

/// Counts field multiplications (the cost model used to estimate MCU time).
#[derive(Debug, Default, Clone, Copy)]
struct Field {
    mults: u64,
}

impl Field {
    #[inline]
    fn mul(&mut self, a: u32, b: u32) -> u32 {
        self.mults += 1;
        mul(a, b)
    }
    #[inline]
    fn sqr(&mut self, a: u32) -> u32 {
        self.mults += 1;
        sqr(a)
    }
    fn inv(&mut self, a: u32) -> u32 {
        self.mults += INV_MULTS;
        inv(a)
    }
}

/// Toggle `x` in the sketch `syn` (`syn[i] ^= x^(2i+1)`): adding and removing are the same
/// operation. Costs `syn.len()` multiplications. Only the low 24 bits of `x` count; `x = 0`
/// changes nothing (0 is not representable in a sketch).
pub fn toggle(syn: &mut [u32], x: u32) {
    let x = x & MASK;
    let x2 = sqr(x);
    let mut p = x;
    for s in syn.iter_mut() {
        *s ^= p;
        p = mul(p, x2);
    }
}

/// Recover the set whose sketch is `syn` (its capacity is `syn.len()`) into `out`; returns
/// the number of field multiplications spent. `syn.len()` must be at most `CAP` (longer
/// sketches are refused as [`DecodeFailure::TooManyDifferences`]). An all-zero sketch
/// decodes to the empty set.
pub fn decode<const CAP: usize>(
    syn: &[u32],
    ws: &mut Workspace<CAP>,
    out: &mut Vec<u32, CAP>,
) -> Result<u64, DecodeFailure> {
    out.clear();
    let mut f = Field::default();
    let c = syn.len();
    if c > CAP {
        return Err(DecodeFailure::TooManyDifferences);
    }
    let [seq, bc, bb, bt, b4, b5] = &mut ws.bufs;
    let seq = seq.as_flattened_mut();
    // s₁ … s₂c (index i holds s_{i+1}).
    for (i, s) in syn.iter().enumerate() {
        if let Some(dst) = seq.get_mut(2 * i) {
            *dst = *s;
        }
    }
    for i in 0..c {
        // s_{2(i+1)} = s_{i+1}²
        let v = seq.get(i).copied().unwrap_or(0);
        if let Some(dst) = seq.get_mut(2 * i + 1) {
            *dst = f.sqr(v);
        }
    }
    let seq = seq.get(..2 * c).unwrap_or(&[]);
    let conn = bc.as_flattened_mut();
    let len = berlekamp_massey(
        &mut f,
        seq,
        c,
        conn,
        bb.as_flattened_mut(),
        bt.as_flattened_mut(),
    )?;
    if len == 0 {
        return Ok(f.mults);
    }
    // Locator with the elements as roots: x^L C(1/x), monic; stored without its leading 1.
    let arena = bb.as_flattened_mut();
    for i in 0..len {
        let v = conn.get(len - i).copied().unwrap_or(0);
        if let Some(dst) = arena.get_mut(i) {
            *dst = v;
        }
    }
    if arena.first().copied().unwrap_or(0) == 0 {
        // Zero is a root: not a set of nonzero elements.
        return Err(DecodeFailure::Inconsistent);
    }
    let scratch = Scratch {
        t: bt.as_flattened_mut(),
        g: conn,
        sq: b4.as_flattened_mut(),
        a: b5.as_flattened_mut(),
    };
    find_roots(&mut f, arena, len, scratch, out)?;
    // The roots must reproduce every power sum received (weights all 1).
    let check = bt.as_flattened_mut();
    check.iter_mut().for_each(|v| *v = 0);
    let check = check.get_mut(..c).unwrap_or(&mut []);
    for &r in out.iter() {
        let r2 = f.sqr(r);
        let mut p = r;
        for s in check.iter_mut() {
            *s ^= p;
            p = f.mul(p, r2);
        }
    }
    if check != syn {
        return Err(DecodeFailure::Inconsistent);
    }
    Ok(f.mults)
}

/// Shortest LFSR generating `s`; its connection polynomial (with `conn[0] = 1`) is left in
/// `conn`, and its length returned. Fails as soon as the length passes `cap`.
fn berlekamp_massey(
    f: &mut Field,
    s: &[u32],
    cap: usize,
    conn: &mut [u32],
    b: &mut [u32],
    t: &mut [u32],
) -> Result<usize, DecodeFailure> {
    conn.iter_mut().for_each(|v| *v = 0);
    b.iter_mut().for_each(|v| *v = 0);
    let too_many = DecodeFailure::TooManyDifferences;
    *conn.first_mut().ok_or(too_many)? = 1;
    *b.first_mut().ok_or(too_many)? = 1;
    let (mut l, mut lb, mut m, mut bd) = (0usize, 0usize, 1usize, 1u32);
    for (n, &sn) in s.iter().enumerate() {
        let mut d = sn;
        for i in 1..=l {
            let ci = conn.get(i).copied().unwrap_or(0);
            let si = s.get(n - i).copied().unwrap_or(0);
            d ^= f.mul(ci, si);
        }
        if d == 0 {
            m += 1;
            continue;
        }
        let coef = {
            let ib = f.inv(bd);
            f.mul(d, ib)
        };
        let grow = 2 * l <= n;
        if grow {
            t.get_mut(..=l)
                .ok_or(too_many)?
                .copy_from_slice(conn.get(..=l).ok_or(too_many)?);
        }
        for i in 0..=lb {
            let bi = b.get(i).copied().unwrap_or(0);
            let v = f.mul(coef, bi);
            *conn.get_mut(i + m).ok_or(too_many)? ^= v;
        }
        if grow {
            let old = l;
            l = n + 1 - l;
            if l > cap {
                return Err(too_many);
            }
            b.iter_mut().for_each(|v| *v = 0);
            b.get_mut(..=old)
                .ok_or(too_many)?
                .copy_from_slice(t.get(..=old).ok_or(too_many)?);
            lb = old;
            bd = d;
            m = 1;
        } else {
            m += 1;
        }
    }
    if conn.get(l).copied().unwrap_or(0) == 0 && l > 0 {
        return Err(DecodeFailure::Inconsistent);
    }
    Ok(l)
}

/// Buffers of at least `2 × deg` elements for the root finder.
struct Scratch<'a> {
    /// The trace polynomial.
    t: &'a mut [u32],
    /// Repeated squares of βx.
    g: &'a mut [u32],
    /// Square before reduction, then the long-division remainder.
    sq: &'a mut [u32],
    /// The gcd's other operand, then the quotient.
    a: &'a mut [u32],
}

/// Attempts at splitting one factor with a fresh β before giving up (each attempt splits a
/// factor of degree ≥ 2 with probability ≥ 1/2).
const SPLIT_TRIES: u32 = 40;

/// Berlekamp trace algorithm on the monic polynomial whose low coefficients are
/// `arena[..deg]`: factors are split in place (a factor of degree k occupies k slots), so the
/// arena never grows; a stack of (start, degree) replaces recursion.
fn find_roots<const CAP: usize>(
    f: &mut Field,
    arena: &mut [u32],
    deg: usize,
    sc: Scratch<'_>,
    out: &mut Vec<u32, CAP>,
) -> Result<(), DecodeFailure> {
    let bad = DecodeFailure::Inconsistent;
    let Scratch { t, g, sq, a } = sc;
    let mut stack: Vec<(usize, usize), CAP> = Vec::new();
    stack.push((0, deg)).map_err(|_| bad)?;
    let mut beta_state = 0x2545_f491u32;
    let mut first = true;
    while let Some((start, k)) = stack.pop() {
        if k == 1 {
            // x + a₀ has the root a₀ (characteristic 2).
            let r = arena.get(start).copied().ok_or(bad)?;
            if r == 0 {
                return Err(bad);
            }
            out.push(r).map_err(|_| bad)?;
            continue;
        }
        let mut split = false;
        for _ in 0..SPLIT_TRIES {
            // Next nonzero β from a fixed xorshift sequence: deterministic decoding.
            beta_state ^= beta_state << 13;
            beta_state ^= beta_state >> 17;
            beta_state ^= beta_state << 5;
            let beta = beta_state & MASK;
            if beta == 0 {
                continue;
            }
            let fl = arena.get(start..start + k).ok_or(bad)?;
            // t = Tr(βx) mod f = Σ_{i<24} (βx)^(2^i) mod f.
            let gk = g.get_mut(..k).ok_or(bad)?;
            gk.iter_mut().for_each(|v| *v = 0);
            *gk.get_mut(1).ok_or(bad)? = beta;
            let tk = t.get_mut(..k).ok_or(bad)?;
            tk.copy_from_slice(gk);
            for _ in 1..BITS {
                sqr_mod(f, gk, fl, sq)?;
                for (ti, gi) in tk.iter_mut().zip(gk.iter()) {
                    *ti ^= *gi;
                }
            }
            if first {
                // (βx)^(2^24) = βx mod f iff f divides x^(2^24) − x, i.e. f splits into
                // distinct linear factors: otherwise it is no set of elements.
                first = false;
                sqr_mod(f, gk, fl, sq)?;
                let splits = gk
                    .iter()
                    .enumerate()
                    .all(|(i, &v)| v == if i == 1 { beta } else { 0 });
                if !splits {
                    return Err(bad);
                }
            }
            // h = gcd(f, t), monic.
            let h_deg = gcd(f, fl, tk, a, sq)?;
            if h_deg == 0 || h_deg >= k {
                continue;
            }
            // The gcd ended in `a` (full, monic, h_deg + 1 coefficients); move it to `g`.
            g.get_mut(..=h_deg)
                .ok_or(bad)?
                .copy_from_slice(a.get(..=h_deg).ok_or(bad)?);
            let h = g.get(..=h_deg).ok_or(bad)?;
            // q = f / h into `a` (monic, k − h_deg + 1 coefficients).
            let fl = arena.get(start..start + k).ok_or(bad)?;
            div_exact(f, fl, h, sq, a)?;
            // Write both factors back without their leading 1.
            let dst = arena.get_mut(start..start + k).ok_or(bad)?;
            let (dh, dq) = dst.split_at_mut(h_deg);
            dh.copy_from_slice(h.get(..h_deg).ok_or(bad)?);
            dq.copy_from_slice(a.get(..k - h_deg).ok_or(bad)?);
            stack.push((start, h_deg)).map_err(|_| bad)?;
            stack.push((start + h_deg, k - h_deg)).map_err(|_| bad)?;
            split = true;
            break;
        }
        if !split {
            return Err(bad);
        }
    }
    Ok(())
}

/// g ← g² mod f, where f is monic of degree k = `fl.len()` given without its leading 1 and
/// `g` has k coefficients. `sq` needs 2k − 1 slots.
fn sqr_mod(f: &mut Field, g: &mut [u32], fl: &[u32], sq: &mut [u32]) -> Result<(), DecodeFailure> {
    let bad = DecodeFailure::Inconsistent;
    let k = fl.len();
    let sq = sq.get_mut(..2 * k - 1).ok_or(bad)?;
    sq.iter_mut().for_each(|v| *v = 0);
    for (i, &gi) in g.iter().enumerate() {
        *sq.get_mut(2 * i).ok_or(bad)? = f.sqr(gi);
    }
    reduce(f, sq, fl);
    g.copy_from_slice(sq.get(..k).ok_or(bad)?);
    Ok(())
}

/// Reduce `r` (any length) modulo the monic f (low coefficients `fl`): afterwards only
/// `r[..fl.len()]` may be nonzero.
fn reduce(f: &mut Field, r: &mut [u32], fl: &[u32]) {
    let k = fl.len();
    let mut j = r.len();
    while j > k {
        j -= 1;
        let c = r.get(j).copied().unwrap_or(0);
        if c == 0 {
            continue;
        }
        if let Some(v) = r.get_mut(j) {
            *v = 0;
        }
        if let Some(dst) = r.get_mut(j - k..j) {
            for (d, &fi) in dst.iter_mut().zip(fl) {
                *d ^= f.mul(c, fi);
            }
        }
    }
}

/// Degree of a polynomial held in `p` (trailing zeros ignored); `None` for zero.
fn degree(p: &[u32]) -> Option<usize> {
    p.iter().rposition(|&v| v != 0)
}

/// gcd(f, t) where f is monic of degree k (low coefficients `fl`) and `t` has degree < k.
/// The monic gcd ends in `a` (degree + 1 coefficients); returns its degree. `t` is
/// destroyed; `a` and `b` need k + 1 slots.
fn gcd(
    f: &mut Field,
    fl: &[u32],
    t: &mut [u32],
    a: &mut [u32],
    b: &mut [u32],
) -> Result<usize, DecodeFailure> {
    let bad = DecodeFailure::Inconsistent;
    let k = fl.len();
    let a_k = a.get_mut(..=k).ok_or(bad)?;
    a_k.get_mut(..k).ok_or(bad)?.copy_from_slice(fl);
    *a_k.last_mut().ok_or(bad)? = 1;
    let b_k = b.get_mut(..=k).ok_or(bad)?;
    b_k.iter_mut().for_each(|v| *v = 0);
    b_k.get_mut(..k).ok_or(bad)?.copy_from_slice(t);
    // (x, y) are the current pair, held in the two buffers; swap by swapping references.
    let (mut x, mut y): (&mut [u32], &mut [u32]) = (a_k, b_k);
    let mut x_is_a = true;
    while let Some(dy) = degree(y) {
        // Make y monic, then x ← x mod y.
        let lead = y.get(dy).copied().ok_or(bad)?;
        let il = f.inv(lead);
        for v in y.get_mut(..=dy).ok_or(bad)? {
            *v = f.mul(*v, il);
        }
        let yl = y.get(..dy).ok_or(bad)?;
        if let Some(dx) = degree(x) {
            reduce(f, x.get_mut(..=dx).ok_or(bad)?, yl);
        }
        core::mem::swap(&mut x, &mut y);
        x_is_a = !x_is_a;
    }
    let dx = degree(x).ok_or(bad)?;
    let lead = x.get(dx).copied().ok_or(bad)?;
    let il = f.inv(lead);
    for v in x.get_mut(..=dx).ok_or(bad)? {
        *v = f.mul(*v, il);
    }
    if !x_is_a {
        // The result sits in `b`'s buffer: copy it to `a`.
        y.get_mut(..=dx)
            .ok_or(bad)?
            .copy_from_slice(x.get(..=dx).ok_or(bad)?);
    }
    Ok(dx)
}

/// q = f / h for monic f (degree k, low coefficients `fl`) and monic h dividing it; q (k −
/// deg h + 1 coefficients, monic) goes to `q`. `r` needs k + 1 slots.
fn div_exact(
    f: &mut Field,
    fl: &[u32],
    h: &[u32],
    r: &mut [u32],
    q: &mut [u32],
) -> Result<(), DecodeFailure> {
    let bad = DecodeFailure::Inconsistent;
    let k = fl.len();
    let dh = h.len().checked_sub(1).ok_or(bad)?;
    let r = r.get_mut(..=k).ok_or(bad)?;
    r.get_mut(..k).ok_or(bad)?.copy_from_slice(fl);
    *r.last_mut().ok_or(bad)? = 1;
    let q = q.get_mut(..=k - dh).ok_or(bad)?;
    let mut j = k + 1;
    while j > dh {
        j -= 1;
        let c = r.get(j).copied().unwrap_or(0);
        *q.get_mut(j - dh).ok_or(bad)? = c;
        if c == 0 {
            continue;
        }
        for (d, &hi) in r.get_mut(j - dh..=j).ok_or(bad)?.iter_mut().zip(h) {
            *d ^= f.mul(c, hi);
        }
    }
    Ok(())
}

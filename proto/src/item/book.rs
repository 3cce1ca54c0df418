//! Key book: the community's account ids, so an item carries each known 32-byte key on air as
//! a 2-byte index instead.
//!
//! A neighbourhood mostly pays and certifies its own members. Every node of a mesh is
//! configured with the same sorted list of their account ids (the key book, in flash: 32
//! bytes a key, nothing in RAM), and a custody forward carries an item whose signer and
//! destination are in the book as a **booked entry** ([`BOOKED`]) instead of the item's bytes:
//!
//! | field | bytes | meaning |
//! |---|---|---|
//! | fingerprint | 2 | first bytes of blake2-256 over the book's keys: which book |
//! | count | 1 | keys left out, at most [`MAX_BOOKED_KEYS`] |
//! | per key | 3 | where it goes in the item (1 byte, ascending), its index in the book (u16 LE) |
//! | rest | … | the item's other bytes, in order |
//!
//! Expanding puts each key back at its offset: the item is byte for byte the one that was
//! signed, so its content id, its signature check and the store are those of the plain item.
//! A Ğ1 v2s transfer (144 bytes) goes on air in 89, so two fit one 255-byte forward where one
//! did before. Nothing is written by hand that a crate does: this is a substitution of known
//! 32-byte strings, which no general compressor does as well on 144 bytes.
//!
//! A node with another book (or none) cannot expand the entry: [`KeyBook::expand`] answers
//! [`BookError::OtherBook`] and the item is not taken (its sender keeps custody and, without
//! an ack, moves to another neighbour). A wrong index or offset is [`BookError::Malformed`].
//! The fingerprint is a check against misconfiguration, not a security boundary: an item
//! expanded with the wrong keys fails its signature check like any forgery.

use super::ItemKind;
use super::v2s::{Call, Extrinsic};
use crate::crypto::{Blake2b256, Sink};

/// Entry kind of a booked item in forwards (an [`ItemKind::Extrinsic`] once expanded).
pub const BOOKED: ItemKind = ItemKind::Unknown(3);
/// Keys one booked entry may leave out (signer and destination of a transfer).
pub const MAX_BOOKED_KEYS: usize = 2;
/// Fixed bytes of a booked entry (fingerprint and count).
pub const BOOKED_FIXED_LEN: usize = 3;
/// Bytes per key left out (offset and index).
pub const BOOKED_KEY_LEN: usize = 3;
/// Largest item a booked entry expands to: offsets are one byte.
pub const MAX_BOOKED_ITEM_LEN: usize = 255;

/// Why a booked entry could not be expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookError {
    /// Its fingerprint names another book (or this node has none).
    OtherBook,
    /// Cut short, an index past the book, offsets out of order or past the item, or an item
    /// longer than the buffer.
    Malformed,
}

/// The sorted account ids of a community, with their fingerprint.
#[derive(Debug, Clone, Copy)]
pub struct KeyBook {
    keys: &'static [[u8; 32]],
    fingerprint: [u8; 2],
}

impl KeyBook {
    /// A book over `keys`, which must be strictly ascending and at most 65 536 long.
    pub fn new(keys: &'static [[u8; 32]]) -> Option<Self> {
        if keys.len() > usize::from(u16::MAX) + 1 || keys.windows(2).any(|w| w[0] >= w[1]) {
            return None;
        }
        let mut h = Blake2b256::new();
        for k in keys {
            h.put(k);
        }
        let d = h.finish();
        Some(Self {
            keys,
            fingerprint: [d[0], d[1]],
        })
    }

    /// Which book this is on air.
    pub const fn fingerprint(&self) -> [u8; 2] {
        self.fingerprint
    }

    pub const fn len(&self) -> usize {
        self.keys.len()
    }

    pub const fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn index(&self, key: &[u8; 32]) -> Option<u16> {
        self.keys
            .binary_search(key)
            .ok()
            .and_then(|i| u16::try_from(i).ok())
    }

    /// Write the booked entry of an item of `kind` into `out`: its length, or `None` when
    /// none of its keys is in the book, the item is no v2s extrinsic or longer than
    /// [`MAX_BOOKED_ITEM_LEN`], or `out` is too short (then send the plain item).
    pub fn compress(&self, kind: ItemKind, item: &[u8], out: &mut [u8]) -> Option<usize> {
        if kind != ItemKind::Extrinsic || item.len() > MAX_BOOKED_ITEM_LEN {
            return None;
        }
        let x = Extrinsic::parse(item).ok()?;
        let dest = match x.call() {
            Call::TransferKeepAlive { dest, .. }
            | Call::TransferUd { dest, .. }
            | Call::TransferUdKeepAlive { dest, .. } => Some(dest),
            _ => None,
        };
        // (offset in the item, index in the book), ascending: the signer comes first.
        let mut found = [(0usize, 0u16); MAX_BOOKED_KEYS];
        let mut n = 0;
        for key in core::iter::once(x.signer()).chain(dest) {
            let at = offset_in(item, key)?;
            if let (Some(i), Some(slot)) = (self.index(key), found.get_mut(n)) {
                *slot = (at, i);
                n += 1;
            }
        }
        let found = found.get(..n).filter(|f| !f.is_empty())?;
        let len = item.len() - 32 * n + BOOKED_FIXED_LEN + BOOKED_KEY_LEN * n;
        let out = out.get_mut(..len)?;
        out.get_mut(..2)?.copy_from_slice(&self.fingerprint);
        *out.get_mut(2)? = n as u8;
        let mut w = BOOKED_FIXED_LEN;
        for &(at, i) in found {
            let [lo, hi] = i.to_le_bytes();
            out.get_mut(w..w + BOOKED_KEY_LEN)?
                .copy_from_slice(&[u8::try_from(at).ok()?, lo, hi]);
            w += BOOKED_KEY_LEN;
        }
        let mut from = 0;
        for &(at, _) in found {
            let part = item.get(from..at)?;
            out.get_mut(w..w + part.len())?.copy_from_slice(part);
            w += part.len();
            from = at + 32;
        }
        let part = item.get(from..)?;
        out.get_mut(w..w + part.len())?.copy_from_slice(part);
        Some(len)
    }

    /// Expand a booked entry into `out`: the item's length.
    pub fn expand(&self, booked: &[u8], out: &mut [u8]) -> Result<usize, BookError> {
        let malformed = BookError::Malformed;
        if booked.get(..2).ok_or(malformed)? != self.fingerprint {
            return Err(BookError::OtherBook);
        }
        let n = usize::from(*booked.get(2).ok_or(malformed)?);
        if n == 0 || n > MAX_BOOKED_KEYS {
            return Err(malformed);
        }
        let table = booked
            .get(BOOKED_FIXED_LEN..BOOKED_FIXED_LEN + BOOKED_KEY_LEN * n)
            .ok_or(malformed)?;
        let mut rest = booked
            .get(BOOKED_FIXED_LEN + BOOKED_KEY_LEN * n..)
            .ok_or(malformed)?;
        let total = rest.len() + 32 * n;
        if total > MAX_BOOKED_ITEM_LEN {
            return Err(malformed);
        }
        let out = out.get_mut(..total).ok_or(malformed)?;
        let mut w = 0;
        for e in table.chunks_exact(BOOKED_KEY_LEN) {
            let (at, i) = (
                usize::from(e[0]),
                usize::from(u16::from_le_bytes([e[1], e[2]])),
            );
            // Offsets ascend and keys do not overlap: `at` is at or past what is written.
            let gap = at.checked_sub(w).ok_or(malformed)?;
            let key = self.keys.get(i).ok_or(malformed)?;
            let (part, tail) = (rest.get(..gap).ok_or(malformed)?, rest.get(gap..));
            out.get_mut(w..at).ok_or(malformed)?.copy_from_slice(part);
            out.get_mut(at..at + 32)
                .ok_or(malformed)?
                .copy_from_slice(key);
            rest = tail.ok_or(malformed)?;
            w = at + 32;
        }
        out.get_mut(w..).ok_or(malformed)?.copy_from_slice(rest);
        Ok(total)
    }
}

/// Where `key` (a reference into `item`) starts in `item`.
fn offset_in(item: &[u8], key: &[u8; 32]) -> Option<usize> {
    let at = (key.as_ptr() as usize).checked_sub(item.as_ptr() as usize)?;
    (item.get(at..at + 32)? == key).then_some(at)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::boxed::Box;
    use std::vec::Vec;

    use super::*;
    use crate::item::v2s::{Call, ChainProfile, Signer, build_signed};

    fn signers() -> Vec<Signer> {
        (1..=4u8).map(|i| Signer::ed25519(&[i; 32])).collect()
    }

    fn book_of(signers: &[Signer]) -> KeyBook {
        let mut keys: Vec<[u8; 32]> = signers.iter().map(Signer::public).collect();
        keys.sort();
        KeyBook::new(Box::leak(keys.into_boxed_slice())).unwrap()
    }

    fn transfer(from: &Signer, to: &[u8; 32]) -> Vec<u8> {
        let profile = ChainProfile {
            genesis_hash: [7; 32],
            spec_version: 1,
            tx_version: 1,
        };
        build_signed(
            &Call::TransferKeepAlive {
                dest: to,
                value: 1234,
            },
            from,
            0,
            0,
            &profile,
        )
    }

    #[test]
    fn a_transfer_between_members_goes_in_89_bytes_and_comes_back_whole() {
        let s = signers();
        let book = book_of(&s);
        let item = transfer(&s[0], &s[1].public());
        let mut c = [0u8; 255];
        let n = book.compress(ItemKind::Extrinsic, &item, &mut c).unwrap();
        assert_eq!(n, item.len() - 64 + 3 + 6);
        assert!(n <= 89, "{n}");
        let mut back = [0u8; 255];
        let m = book.expand(&c[..n], &mut back).unwrap();
        assert_eq!(&back[..m], &item[..]);
    }

    #[test]
    fn a_stranger_keeps_the_keys_the_book_lacks() {
        let s = signers();
        let book = book_of(&s[..2]);
        // Signer in the book, destination not: one key left out.
        let item = transfer(&s[0], &s[3].public());
        let mut c = [0u8; 255];
        let n = book.compress(ItemKind::Extrinsic, &item, &mut c).unwrap();
        assert_eq!(n, item.len() - 32 + 3 + 3);
        let mut back = [0u8; 255];
        let m = book.expand(&c[..n], &mut back).unwrap();
        assert_eq!(&back[..m], &item[..]);
        // Neither key in the book: nothing to gain, the plain item goes.
        let item = transfer(&s[2], &s[3].public());
        assert_eq!(book.compress(ItemKind::Extrinsic, &item, &mut c), None);
        // Not an extrinsic, or not one: plain.
        assert_eq!(book.compress(ItemKind::Dubp, &item, &mut c), None);
        assert_eq!(book.compress(ItemKind::Extrinsic, &item[1..], &mut c), None);
    }

    #[test]
    fn another_book_or_a_damaged_entry_is_refused_without_panic() {
        let s = signers();
        let book = book_of(&s);
        let other = book_of(&s[..3]);
        assert_ne!(book.fingerprint(), other.fingerprint());
        let item = transfer(&s[0], &s[1].public());
        let mut c = [0u8; 255];
        let n = book.compress(ItemKind::Extrinsic, &item, &mut c).unwrap();
        let mut out = [0u8; 255];
        assert_eq!(other.expand(&c[..n], &mut out), Err(BookError::OtherBook));
        // Every prefix, and every single-byte change, expands to an error or to bytes that
        // are not the item (which its parse or signature check then refuses): no panic.
        for cut in 0..n {
            match book.expand(&c[..cut], &mut out) {
                Ok(m) => assert!(cut >= 9 && out[..m] != item[..]),
                Err(e) => assert_eq!(e, BookError::Malformed, "{cut}"),
            }
        }
        for i in 2..n {
            for v in [0u8, 1, 2, 3, 0x7f, 0xff] {
                let mut d = c;
                d[i] = v;
                if let Ok(m) = book.expand(&d[..n], &mut out) {
                    assert!(m <= 255);
                }
            }
        }
        // An index past the book.
        let mut d = c;
        d[4] = 0xff;
        d[5] = 0xff;
        assert_eq!(book.expand(&d[..n], &mut out), Err(BookError::Malformed));
        // Offsets out of order.
        let mut d = c;
        d.swap(3, 6);
        assert_eq!(book.expand(&d[..n], &mut out), Err(BookError::Malformed));
        // An output buffer too short.
        assert_eq!(
            book.expand(&c[..n], &mut out[..100]),
            Err(BookError::Malformed)
        );
    }

    #[test]
    fn a_book_must_be_sorted() {
        let k: &'static [[u8; 32]] = Box::leak(Box::new([[2u8; 32], [1u8; 32]]));
        assert!(KeyBook::new(k).is_none());
        let k: &'static [[u8; 32]] = Box::leak(Box::new([[1u8; 32], [1u8; 32]]));
        assert!(KeyBook::new(k).is_none());
    }
}

//! Streaming the DUBP v10 text of a checked document (no buffer beyond a few stack bytes).

use base64::Engine;

use super::{Blockstamp, Body, Condition, Document, MembershipKind, Source, UnlockParam, VERSION};
use crate::crypto::Sink;

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Everything the signatures cover.
pub(super) fn unsigned<S: Sink + ?Sized>(doc: &Document<'_>, s: &mut S) {
    s.put(b"Version: ");
    number(s, VERSION);
    s.put(b"\nType: ");
    s.put(doc.doc_type().name().as_bytes());
    s.put(b"\nCurrency: ");
    s.put(doc.currency().as_str().as_bytes());
    s.put(b"\n");
    match &doc.body() {
        Body::Identity(d) => {
            field_key(s, b"Issuer: ", d.issuer);
            field_str(s, b"UniqueID: ", d.uid);
            field_blockstamp(s, b"Timestamp: ", &d.timestamp);
        }
        Body::Certification(d) => {
            field_key(s, b"Issuer: ", d.issuer);
            field_key(s, b"IdtyIssuer: ", d.idty_issuer);
            field_str(s, b"IdtyUniqueID: ", d.idty_uid);
            field_blockstamp(s, b"IdtyTimestamp: ", &d.idty_timestamp);
            s.put(b"IdtySignature: ");
            signature_line(s, d.idty_signature);
            field_blockstamp(s, b"CertTimestamp: ", &d.cert_timestamp);
        }
        Body::Membership(d) => {
            field_key(s, b"Issuer: ", d.issuer);
            field_blockstamp(s, b"Block: ", &d.block);
            field_str(
                s,
                b"Membership: ",
                match d.kind {
                    MembershipKind::In => "IN",
                    MembershipKind::Out => "OUT",
                },
            );
            field_str(s, b"UserID: ", d.uid);
            field_blockstamp(s, b"CertTS: ", &d.cert_ts);
        }
        Body::Revocation(d) => {
            field_key(s, b"Issuer: ", d.issuer);
            field_str(s, b"IdtyUniqueID: ", d.idty_uid);
            field_blockstamp(s, b"IdtyTimestamp: ", &d.idty_timestamp);
            s.put(b"IdtySignature: ");
            signature_line(s, d.idty_signature);
        }
        Body::Transaction(t) => {
            field_blockstamp(s, b"Blockstamp: ", &t.blockstamp);
            s.put(b"Locktime: ");
            number(s, t.locktime);
            s.put(b"\nIssuers:\n");
            for key in t.issuers() {
                pubkey(s, key);
                s.put(b"\n");
            }
            s.put(b"Inputs:\n");
            for i in t.inputs() {
                amount(s, i.amount, i.base);
                match i.source {
                    Source::Dividend { pubkey: k, block } => {
                        s.put(b"D:");
                        pubkey(s, k);
                        s.put(b":");
                        number(s, block);
                    }
                    Source::Transaction { hash: h, index } => {
                        s.put(b"T:");
                        hash(s, h);
                        s.put(b":");
                        number(s, index);
                    }
                }
                s.put(b"\n");
            }
            s.put(b"Unlocks:\n");
            for u in t.unlocks() {
                number(s, u.index);
                s.put(b":");
                for (n, p) in u.params.enumerate() {
                    if n > 0 {
                        s.put(b" ");
                    }
                    let (name, v): (&[u8], u64) = match p {
                        UnlockParam::Sig(v) => (b"SIG(", v),
                        UnlockParam::Xhx(v) => (b"XHX(", v),
                    };
                    s.put(name);
                    number(s, v);
                    s.put(b")");
                }
                s.put(b"\n");
            }
            s.put(b"Outputs:\n");
            for o in t.outputs() {
                amount(s, o.amount, o.base);
                match o.condition {
                    Condition::Sig(k) => {
                        s.put(b"SIG(");
                        pubkey(s, k);
                        s.put(b")");
                    }
                    Condition::Raw(c) => s.put(c.as_bytes()),
                }
                s.put(b"\n");
            }
            field_str(s, b"Comment: ", t.comment);
        }
    }
}

/// A base64 signature and LF.
pub(super) fn signature_line<S: Sink + ?Sized>(s: &mut S, sig: &[u8; 64]) {
    let mut buf = [0u8; 88];
    let n = base64::engine::general_purpose::STANDARD
        .encode_slice(sig, &mut buf)
        .unwrap_or(0);
    s.put(buf.get(..n).unwrap_or(&[]));
    s.put(b"\n");
}

fn field_key<S: Sink + ?Sized>(s: &mut S, name: &[u8], key: &[u8; 32]) {
    s.put(name);
    pubkey(s, key);
    s.put(b"\n");
}

fn field_str<S: Sink + ?Sized>(s: &mut S, name: &[u8], value: &str) {
    s.put(name);
    s.put(value.as_bytes());
    s.put(b"\n");
}

fn field_blockstamp<S: Sink + ?Sized>(s: &mut S, name: &[u8], b: &Blockstamp<'_>) {
    s.put(name);
    number(s, b.number);
    s.put(b"-");
    hash(s, b.hash);
    s.put(b"\n");
}

/// `AMOUNT:BASE:`.
fn amount<S: Sink + ?Sized>(s: &mut S, amount: u64, base: u8) {
    number(s, amount);
    s.put(b":");
    number(s, u64::from(base));
    s.put(b":");
}

/// Canonical base58 of a 32-byte key.
pub(super) fn pubkey<S: Sink + ?Sized>(s: &mut S, key: &[u8; 32]) {
    let mut buf = [0u8; 48];
    let n = bs58::encode(key).onto(&mut buf[..]).unwrap_or(0);
    s.put(buf.get(..n).unwrap_or(&[]));
}

/// Uppercase hex.
fn hash<S: Sink + ?Sized>(s: &mut S, h: &[u8; 32]) {
    let mut buf = [0u8; 64];
    for (pair, b) in buf.chunks_exact_mut(2).zip(h) {
        for (out, nibble) in pair.iter_mut().zip([b >> 4, b & 0x0F]) {
            *out = HEX_UPPER.get(usize::from(nibble)).copied().unwrap_or(b'0');
        }
    }
    s.put(&buf);
}

/// Decimal, no leading zeros.
fn number<S: Sink + ?Sized>(s: &mut S, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(d) = buf.get_mut(i) {
            *d = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    s.put(buf.get(i..).unwrap_or(&[]));
}

//! Host side: the compact form from a signed DUBP v10 text, and signing.

use std::string::String;
use std::vec::Vec;

use base64::Engine;

use super::compact::{
    FLAG_MEMBERSHIP_OUT, FLAG_TX_COMMENT, FLAG_TX_STANDARD_UNLOCKS, INPUT_D_ISSUER, INPUT_D_KEY,
    INPUT_T, KIND_SHIFT, MAX_BASE, OUTPUT_RAW, OUTPUT_SIG_ISSUER, OUTPUT_SIG_KEY, PARAM_SIG,
    PARAM_XHX, dubp_err, plain_sig, valid_comment, valid_condition, valid_currency, valid_uid,
    well_known_currency,
};
use super::{DocType, Document, DubpError, MAX_TX_ENTRIES};
use crate::scale::{put_compact, put_compact_bytes};
use crate::{DecodeError, ErrorKind};

/// The compact form of a signed DUBP v10 text (LF line endings, final LF). Error offsets are
/// byte offsets into `text`. The result always renders back to exactly `text`.
pub fn from_text(text: &str) -> Result<Vec<u8>, DecodeError> {
    let mut p = Lines { text, pos: 0 };
    let mut out = Vec::with_capacity(text.len() / 2);
    let (pos, version) = p.field("Version")?;
    if version != "10" {
        return Err(dubp_err(pos, DubpError::BadVersion));
    }
    let (pos, ty) = p.field("Type")?;
    let doc_type = match ty {
        "Identity" => DocType::Identity,
        "Certification" => DocType::Certification,
        "Membership" => DocType::Membership,
        "Revocation" => DocType::Revocation,
        "Transaction" => DocType::Transaction,
        _ => return Err(dubp_err(pos, DubpError::BadDocType)),
    };
    out.push(doc_type.tag());
    let (pos, currency) = p.field("Currency")?;
    match well_known_currency(currency) {
        Some(code) => out.push(code),
        None if valid_currency(currency.as_bytes()) => {
            out.push(super::compact::CURRENCY_EXPLICIT);
            put_compact_bytes(&mut out, currency.as_bytes());
        }
        None => return Err(dubp_err(pos, DubpError::BadCurrency)),
    }
    match doc_type {
        DocType::Identity => {
            p.key_field("Issuer", &mut out)?;
            p.uid_field("UniqueID", &mut out)?;
            p.blockstamp_field("Timestamp", &mut out)?;
            p.signature_line(&mut out)?;
        }
        DocType::Certification => {
            p.key_field("Issuer", &mut out)?;
            p.key_field("IdtyIssuer", &mut out)?;
            p.uid_field("IdtyUniqueID", &mut out)?;
            p.blockstamp_field("IdtyTimestamp", &mut out)?;
            p.signature_field("IdtySignature", &mut out)?;
            p.blockstamp_field("CertTimestamp", &mut out)?;
            p.signature_line(&mut out)?;
        }
        DocType::Membership => {
            p.key_field("Issuer", &mut out)?;
            p.blockstamp_field("Block", &mut out)?;
            match p.field("Membership")? {
                (_, "IN") => {}
                (_, "OUT") => {
                    if let Some(tag) = out.first_mut() {
                        *tag |= FLAG_MEMBERSHIP_OUT;
                    }
                }
                (pos, _) => return Err(dubp_err(pos, DubpError::ExpectedField("Membership"))),
            }
            p.uid_field("UserID", &mut out)?;
            p.blockstamp_field("CertTS", &mut out)?;
            p.signature_line(&mut out)?;
        }
        DocType::Revocation => {
            p.key_field("Issuer", &mut out)?;
            p.uid_field("IdtyUniqueID", &mut out)?;
            p.blockstamp_field("IdtyTimestamp", &mut out)?;
            p.signature_field("IdtySignature", &mut out)?;
            p.signature_line(&mut out)?;
        }
        DocType::Transaction => transaction(&mut p, &mut out)?,
    }
    if p.pos != text.len() {
        return Err(DecodeError::new(p.pos, ErrorKind::TrailingBytes));
    }
    // The compact form must be valid and render back to exactly this text.
    let doc = Document::parse(&out).map_err(|e| DecodeError::new(0, e.kind))?;
    let mut rendered = Vec::with_capacity(text.len());
    doc.render(&mut rendered);
    if rendered != text.as_bytes() {
        let at = rendered
            .iter()
            .zip(text.as_bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(rendered.len().min(text.len()));
        return Err(dubp_err(at, DubpError::TextMismatch));
    }
    Ok(out)
}

/// Sign an unsigned DUBP text (everything before the signature lines) with one Ed25519 seed per
/// issuer, in issuer order, and return the compact form of the signed document.
pub fn sign(unsigned: &str, seeds: &[[u8; 32]]) -> Result<Vec<u8>, DecodeError> {
    let mut text = String::from(unsigned);
    for seed in seeds {
        let sig = crate::crypto::ed25519_sign(seed, unsigned.as_bytes());
        text.push_str(&base64::engine::general_purpose::STANDARD.encode(sig));
        text.push('\n');
    }
    from_text(&text)
}

fn transaction(p: &mut Lines<'_>, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    p.blockstamp_field("Blockstamp", out)?;
    let (pos, locktime) = p.field("Locktime")?;
    put_compact(out, number(pos, locktime)?);

    p.exact("Issuers:")?;
    let mut issuers: Vec<[u8; 32]> = Vec::new();
    let list_pos = p.pos;
    while let Some((pos, line)) = p.line_until("Inputs:")? {
        let key = pubkey(pos, line)?;
        if issuers.contains(&key) {
            return Err(dubp_err(pos, DubpError::DuplicateIssuer));
        }
        issuers.push(key);
    }
    check_count(list_pos, issuers.len(), "issuer")?;
    put_compact(out, issuers.len() as u64);
    for k in &issuers {
        out.extend_from_slice(k);
    }

    let mut body = Vec::new();
    let list_pos = p.pos;
    let mut n_inputs = 0;
    while let Some((pos, line)) = p.line_until("Unlocks:")? {
        input(pos, line, &issuers, &mut body)?;
        n_inputs += 1;
    }
    check_count(list_pos, n_inputs, "input")?;
    put_compact(out, n_inputs as u64);
    out.extend_from_slice(&body);

    body.clear();
    let list_pos = p.pos;
    let mut n_unlocks = 0usize;
    let mut standard = true;
    while let Some((pos, line)) = p.line_until("Outputs:")? {
        standard &= unlock(pos, line, &mut body)? == Some(n_unlocks as u64);
        n_unlocks += 1;
    }
    check_count(list_pos, n_unlocks, "unlock")?;
    if standard && n_unlocks == n_inputs {
        if let Some(tag) = out.first_mut() {
            *tag |= FLAG_TX_STANDARD_UNLOCKS;
        }
    } else {
        put_compact(out, n_unlocks as u64);
        out.extend_from_slice(&body);
    }

    body.clear();
    let list_pos = p.pos;
    let mut n_outputs = 0;
    while !p.rest().starts_with("Comment: ") {
        let (pos, line) = p.line()?;
        output(pos, line, &issuers, &mut body)?;
        n_outputs += 1;
    }
    check_count(list_pos, n_outputs, "output")?;
    put_compact(out, n_outputs as u64);
    out.extend_from_slice(&body);

    let (pos, comment) = p.field("Comment")?;
    if !comment.is_empty() {
        if !valid_comment(comment.as_bytes()) {
            return Err(dubp_err(pos, DubpError::BadComment));
        }
        if let Some(tag) = out.first_mut() {
            *tag |= FLAG_TX_COMMENT;
        }
        put_compact_bytes(out, comment.as_bytes());
    }

    let sig_pos = p.pos;
    let mut n_sigs = 0;
    while !p.rest().is_empty() {
        p.signature_line(out)?;
        n_sigs += 1;
    }
    if n_sigs != issuers.len() {
        return Err(dubp_err(sig_pos, DubpError::SignatureCount));
    }
    Ok(())
}

fn check_count(pos: usize, n: usize, what: &'static str) -> Result<(), DecodeError> {
    match n {
        0 => Err(dubp_err(pos, DubpError::EmptyList(what))),
        n if n > MAX_TX_ENTRIES => Err(dubp_err(pos, DubpError::TooMany(what))),
        _ => Ok(()),
    }
}

/// `AMOUNT:BASE:` → (amount, base, rest, offset of rest).
fn amount_base(
    pos: usize,
    line: &str,
    e: DubpError,
) -> Result<(u64, u8, usize, &str), DecodeError> {
    let mut parts = line.splitn(3, ':');
    let (Some(a), Some(b), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(dubp_err(pos, e));
    };
    let amount = number(pos, a)?;
    let base_pos = pos + a.len() + 1;
    let base = match b.as_bytes() {
        [d @ b'0'..=b'9'] if d - b'0' <= MAX_BASE => d - b'0',
        _ => return Err(dubp_err(base_pos, DubpError::BadBase)),
    };
    Ok((amount, base, base_pos + b.len() + 1, rest))
}

fn key_or_ref(
    issuers: &[[u8; 32]],
    key: &[u8; 32],
    explicit_kind: u8,
    ref_kind: u8,
) -> (u8, Vec<u8>) {
    match issuers.iter().position(|k| k == key) {
        Some(i) => {
            let mut v = Vec::new();
            put_compact(&mut v, i as u64);
            (ref_kind, v)
        }
        None => (explicit_kind, key.to_vec()),
    }
}

fn input(
    pos: usize,
    line: &str,
    issuers: &[[u8; 32]],
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    let (amount, base, rest_pos, rest) = amount_base(pos, line, DubpError::BadInput)?;
    let mut parts = rest.splitn(3, ':');
    let (Some(kind), Some(id), Some(n)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(dubp_err(rest_pos, DubpError::BadInput));
    };
    let id_pos = rest_pos + kind.len() + 1;
    let n_pos = id_pos + id.len() + 1;
    let n = number(n_pos, n)?;
    let (kind, id) = match kind {
        "D" => key_or_ref(issuers, &pubkey(id_pos, id)?, INPUT_D_KEY, INPUT_D_ISSUER),
        "T" => (INPUT_T, hash(id_pos, id)?.to_vec()),
        _ => return Err(dubp_err(rest_pos, DubpError::BadInput)),
    };
    out.push(base | (kind << KIND_SHIFT));
    put_compact(out, amount);
    out.extend_from_slice(&id);
    put_compact(out, n);
    Ok(())
}

/// Returns `Some(index)` when the unlock is `index:SIG(0)`.
fn unlock(pos: usize, line: &str, out: &mut Vec<u8>) -> Result<Option<u64>, DecodeError> {
    let Some((index, params)) = line.split_once(':') else {
        return Err(dubp_err(pos, DubpError::BadUnlock));
    };
    let index = number(pos, index)?;
    put_compact(out, index);
    let mut pos = pos + line.len() - params.len();
    let n = params.split(' ').count();
    put_compact(out, n as u64);
    let mut standard = n == 1;
    for p in params.split(' ') {
        let (kind, inner) = if let Some(i) = p.strip_prefix("SIG(") {
            (PARAM_SIG, i)
        } else if let Some(i) = p.strip_prefix("XHX(") {
            (PARAM_XHX, i)
        } else {
            return Err(dubp_err(pos, DubpError::BadUnlock));
        };
        let Some(inner) = inner.strip_suffix(')') else {
            return Err(dubp_err(pos, DubpError::BadUnlock));
        };
        let v = number(pos + 4, inner)?;
        standard &= kind == PARAM_SIG && v == 0;
        out.push(kind);
        put_compact(out, v);
        pos += p.len() + 1;
    }
    Ok(standard.then_some(index))
}

fn output(
    pos: usize,
    line: &str,
    issuers: &[[u8; 32]],
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    let (amount, base, cond_pos, cond) = amount_base(pos, line, DubpError::BadOutput)?;
    let (kind, tail) = match plain_sig(cond.as_bytes()) {
        Some(key) => key_or_ref(issuers, &key, OUTPUT_SIG_KEY, OUTPUT_SIG_ISSUER),
        None => {
            if let Some(inner) = cond
                .strip_prefix("SIG(")
                .and_then(|c| c.strip_suffix(')'))
                .filter(|c| c.bytes().all(|b| b.is_ascii_alphanumeric()))
            {
                // Looks like a plain key but is not canonical: say so precisely.
                pubkey(cond_pos + 4, inner)?;
            }
            if cond.is_empty() || !valid_condition(cond.as_bytes()) {
                return Err(dubp_err(cond_pos, DubpError::BadCondition));
            }
            let mut v = Vec::new();
            put_compact_bytes(&mut v, cond.as_bytes());
            (OUTPUT_RAW, v)
        }
    };
    out.push(base | (kind << KIND_SHIFT));
    put_compact(out, amount);
    out.extend_from_slice(&tail);
    Ok(())
}

fn number(pos: usize, s: &str) -> Result<u64, DecodeError> {
    let ok =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    ok.then(|| s.parse::<u64>().ok())
        .flatten()
        .ok_or(dubp_err(pos, DubpError::BadNumber))
}

fn pubkey(pos: usize, s: &str) -> Result<[u8; 32], DecodeError> {
    super::compact::decode_pubkey(s.as_bytes()).map_err(|e| dubp_err(pos, e))
}

fn hash(pos: usize, s: &str) -> Result<[u8; 32], DecodeError> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return Err(dubp_err(pos, DubpError::BadHash));
    }
    for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        match pair {
            [h, l] => match (digit(*h), digit(*l)) {
                (Some(h), Some(l)) => *o = h << 4 | l,
                _ => return Err(dubp_err(pos, DubpError::BadHash)),
            },
            _ => return Err(dubp_err(pos, DubpError::BadHash)),
        }
    }
    Ok(out)
}

/// Line cursor over the text; offsets are byte offsets into it.
struct Lines<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> Lines<'t> {
    fn rest(&self) -> &'t str {
        self.text.get(self.pos..).unwrap_or("")
    }

    /// The next line without its LF.
    fn line(&mut self) -> Result<(usize, &'t str), DecodeError> {
        let rest = self.rest();
        if rest.is_empty() {
            return Err(DecodeError::new(self.pos, ErrorKind::Truncated));
        }
        let Some(end) = rest.find('\n') else {
            return Err(dubp_err(self.text.len(), DubpError::MissingFinalNewline));
        };
        let start = self.pos;
        self.pos += end + 1;
        Ok((start, rest.get(..end).unwrap_or("")))
    }

    /// `Name: value` → (offset of value, value).
    fn field(&mut self, name: &'static str) -> Result<(usize, &'t str), DecodeError> {
        let (pos, line) = self.line()?;
        line.strip_prefix(name)
            .and_then(|l| l.strip_prefix(": "))
            .map(|v| (pos + name.len() + 2, v))
            .ok_or(dubp_err(pos, DubpError::ExpectedField(name)))
    }

    fn exact(&mut self, expected: &'static str) -> Result<(), DecodeError> {
        let (pos, line) = self.line()?;
        if line == expected {
            Ok(())
        } else {
            Err(dubp_err(pos, DubpError::ExpectedField(expected)))
        }
    }

    /// The next line, or `None` (consuming it) when it is `end`.
    fn line_until(&mut self, end: &'static str) -> Result<Option<(usize, &'t str)>, DecodeError> {
        let (pos, line) = self.line()?;
        Ok((line != end).then_some((pos, line)))
    }

    fn key_field(&mut self, name: &'static str, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let (pos, v) = self.field(name)?;
        out.extend_from_slice(&pubkey(pos, v)?);
        Ok(())
    }

    fn uid_field(&mut self, name: &'static str, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let (pos, v) = self.field(name)?;
        if !valid_uid(v.as_bytes()) {
            return Err(dubp_err(pos, DubpError::BadUid));
        }
        put_compact_bytes(out, v.as_bytes());
        Ok(())
    }

    fn blockstamp_field(
        &mut self,
        name: &'static str,
        out: &mut Vec<u8>,
    ) -> Result<(), DecodeError> {
        let (pos, v) = self.field(name)?;
        let Some((n, h)) = v.split_once('-') else {
            return Err(dubp_err(pos, DubpError::BadBlockstamp));
        };
        put_compact(out, number(pos, n)?);
        out.extend_from_slice(&hash(pos + n.len() + 1, h)?);
        Ok(())
    }

    fn signature_field(
        &mut self,
        name: &'static str,
        out: &mut Vec<u8>,
    ) -> Result<(), DecodeError> {
        let (pos, v) = self.field(name)?;
        out.extend_from_slice(&signature(pos, v)?);
        Ok(())
    }

    fn signature_line(&mut self, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let (pos, v) = self.line()?;
        out.extend_from_slice(&signature(pos, v)?);
        Ok(())
    }
}

/// Canonical base64 of exactly 64 bytes.
fn signature(pos: usize, s: &str) -> Result<[u8; 64], DecodeError> {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut buf = [0u8; 66];
    let n = engine
        .decode_slice(s.as_bytes(), &mut buf)
        .map_err(|_| dubp_err(pos, DubpError::BadSignature))?;
    let sig: [u8; 64] = buf
        .get(..n)
        .and_then(|b| b.try_into().ok())
        .ok_or(dubp_err(pos, DubpError::BadSignature))?;
    if engine.encode(sig) != s {
        return Err(dubp_err(pos, DubpError::BadSignature));
    }
    Ok(sig)
}

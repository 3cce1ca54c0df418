//! `toile decode`: print any radio frame, item or host-link capture readably.
//!
//! Input: hex on the command line, `-` for stdin, or `--file` (binary, or text with one hex
//! blob per line; `#` starts a comment; a file starting with `Version: 10` is a DUBP signed
//! text). `--as` picks the format; `auto` tries the strict formats first (extrinsic, DUBP
//! compact, link stream) and falls back to a radio frame, reporting every failure with its
//! byte offset when nothing fits.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use toile_proto::DecodeError;
use toile_proto::address::{G1_SS58_PREFIX, SS58_MAX_LEN, base58_key_encode, ss58_encode};
use toile_proto::item::Item;
use toile_proto::item::dubp::{self, Document};
use toile_proto::item::v2s::{Call, ChainProfile, Extrinsic, MultiSignature};
use toile_proto::link::{Envelope, LinkDecoder, Packet};
use toile_proto::radio::{Body, FrameRepr};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Auto,
    /// A radio frame (one LoRa packet).
    Frame,
    /// A Ğ1 v2s signed extrinsic.
    Extrinsic,
    /// A DUBP document in compact binary form.
    Dubp,
    /// A DUBP signed text document (converted to compact form).
    DubpText,
    /// A host-link byte stream (COBS + CRC frames).
    Link,
    /// A plaintext link message envelope (postcard), as found inside a Noise transport message.
    Message,
}

#[derive(clap::Args)]
pub struct DecodeArgs {
    /// Hex bytes (spaces and `0x` allowed), or `-` to read hex from stdin.
    hex: Option<String>,
    /// A capture file: binary, or hex text with one frame per line.
    #[arg(long, conflicts_with = "hex")]
    file: Option<PathBuf>,
    /// What the bytes are.
    #[arg(long = "as", value_enum, default_value = "auto")]
    format: Format,
    /// Check v2s signatures against this genesis hash (hex); spec/tx versions below.
    #[arg(long)]
    genesis: Option<String>,
    #[arg(long, default_value_t = 1100)]
    spec_version: u32,
    #[arg(long, default_value_t = 1)]
    tx_version: u32,
    /// In hex text input, every line is a separate blob (default: blank or comment lines
    /// separate blobs, so one blob may span lines).
    #[arg(long)]
    per_line: bool,
    /// Print JSON (one object per input blob, one per line).
    #[arg(long)]
    json: bool,
}

/// One decoded input blob.
struct Decoded {
    ok: bool,
    value: Value,
}

pub fn run(a: DecodeArgs) -> anyhow::Result<ExitCode> {
    let profile = match &a.genesis {
        Some(h) => {
            let g: [u8; 32] = hex::decode(h.trim_start_matches("0x"))
                .ok()
                .and_then(|v| v.try_into().ok())
                .context("--genesis must be 32 bytes of hex")?;
            Some(ChainProfile {
                genesis_hash: g,
                spec_version: a.spec_version,
                tx_version: a.tx_version,
            })
        }
        None => None,
    };
    let ctx = Ctx { profile };
    let blobs = inputs(&a)?;
    let mut all_ok = true;
    for (label, bytes, format) in blobs {
        let d = ctx.decode(&bytes, format);
        all_ok &= d.ok;
        if a.json {
            println!("{}", d.value);
        } else {
            if let Some(l) = label {
                println!("# {l}");
            }
            print_tree(&d.value, 0);
        }
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

type Blob = (Option<String>, Vec<u8>, Format);

fn parse_hex(text: &str) -> anyhow::Result<Vec<u8>> {
    let clean: String = text
        .split_whitespace()
        .map(|w| w.trim_start_matches("0x"))
        .collect::<String>()
        .replace([':', ','], "");
    hex::decode(&clean).map_err(|e| anyhow::anyhow!("not hex: {e}"))
}

fn inputs(a: &DecodeArgs) -> anyhow::Result<Vec<Blob>> {
    match (&a.hex, &a.file) {
        (Some(h), None) if h == "-" => {
            let text = std::io::read_to_string(std::io::stdin()).context("reading stdin")?;
            text_blobs(&text, a.format, a.per_line)
        }
        (Some(h), None) => Ok(vec![(None, parse_hex(h)?, a.format)]),
        (None, Some(path)) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            match std::str::from_utf8(&bytes) {
                Ok(text) if text.starts_with("Version: 10\n") => {
                    Ok(vec![(None, bytes, Format::DubpText)])
                }
                Ok(text)
                    if a.format != Format::Link
                        && text_blobs(text, a.format, a.per_line).is_ok() =>
                {
                    text_blobs(text, a.format, a.per_line)
                }
                _ => Ok(vec![(None, bytes, a.format)]),
            }
        }
        _ => bail!("give hex bytes, `-` for stdin, or --file CAPTURE"),
    }
}

fn text_blobs(text: &str, format: Format, per_line: bool) -> anyhow::Result<Vec<Blob>> {
    if text.starts_with("Version: 10\n") {
        return Ok(vec![(None, text.as_bytes().to_vec(), Format::DubpText)]);
    }
    // A blob is a run of hex lines; blank and comment lines separate blobs (with `per_line`,
    // every line is a blob).
    let mut out: Vec<Blob> = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let flush = |cur: &mut Option<(usize, String)>, out: &mut Vec<Blob>| -> anyhow::Result<()> {
        if let Some((line, hex)) = cur.take() {
            let bytes = parse_hex(&hex).with_context(|| format!("line {line}"))?;
            out.push((Some(format!("line {line}")), bytes, format));
        }
        Ok(())
    };
    for (n, raw) in text.lines().enumerate() {
        let data = raw.split('#').next().unwrap_or("").trim();
        if data.is_empty() || per_line {
            flush(&mut current, &mut out)?;
        }
        if !data.is_empty() {
            let cur = current.get_or_insert_with(|| (n + 1, String::new()));
            cur.1.push_str(data);
            cur.1.push(' ');
        }
        if raw.trim_start().starts_with('#') {
            flush(&mut current, &mut out)?;
        }
    }
    flush(&mut current, &mut out)?;
    if out.is_empty() {
        bail!("no hex data in input");
    }
    Ok(out)
}

struct Ctx {
    profile: Option<ChainProfile>,
}

fn err_json(what: &str, e: DecodeError) -> Value {
    json!({ "format": what, "error": { "offset": e.offset, "reason": e.kind.to_string() } })
}

fn key_json(k: &[u8; 32]) -> Value {
    let mut a = [0u8; SS58_MAX_LEN];
    let mut b = [0u8; 44];
    json!({
        "hex": hex::encode(k),
        "v2_address": ss58_encode(k, G1_SS58_PREFIX, &mut a),
        "v1_pubkey": base58_key_encode(k, &mut b),
    })
}

impl Ctx {
    fn decode(&self, bytes: &[u8], format: Format) -> Decoded {
        let ok = |value| Decoded { ok: true, value };
        let fail = |value| Decoded { ok: false, value };
        match format {
            Format::Extrinsic => match Extrinsic::parse(bytes) {
                Ok(x) => ok(self.extrinsic(&x)),
                Err(e) => fail(err_json("extrinsic", e)),
            },
            Format::Dubp => match Document::parse(bytes) {
                Ok(d) => ok(dubp_json(&d)),
                Err(e) => fail(err_json("dubp", e)),
            },
            Format::DubpText => match std::str::from_utf8(bytes) {
                Ok(text) => match dubp::from_text(text) {
                    Ok(compact) => match Document::parse(&compact) {
                        Ok(d) => ok(dubp_json(&d)),
                        Err(e) => fail(err_json("dubp", e)),
                    },
                    Err(e) => fail(err_json("dubp-text", e)),
                },
                Err(e) => fail(
                    json!({"format": "dubp-text", "error": {"offset": e.valid_up_to(), "reason": "not UTF-8"}}),
                ),
            },
            Format::Frame => match FrameRepr::parse(bytes) {
                Ok(f) => ok(self.frame(&f, bytes.len())),
                Err(e) => fail(err_json("frame", e)),
            },
            Format::Link => self.link(bytes),
            Format::Message => match Envelope::decode(bytes) {
                Ok(env) => ok(
                    json!({"format": "message", "seq": env.seq, "message": format!("{:?}", env.message)}),
                ),
                Err(e) => fail(err_json("message", e)),
            },
            Format::Auto => {
                let mut errors = Vec::new();
                for f in [
                    Format::Extrinsic,
                    Format::Dubp,
                    Format::Link,
                    Format::Frame,
                    Format::Message,
                ] {
                    if f == Format::Link && bytes.last() != Some(&0) {
                        continue;
                    }
                    let d = self.decode(bytes, f);
                    if d.ok {
                        return d;
                    }
                    errors.push(d.value);
                }
                fail(
                    json!({"format": "unknown", "error": "no format fits these bytes", "attempts": errors}),
                )
            }
        }
    }

    fn extrinsic(&self, x: &Extrinsic<'_>) -> Value {
        let call = x.call();
        let mut v = json!({
            "format": "extrinsic",
            "len": x.len(),
            "id": hex::encode(Item::Extrinsic(*x).id().0),
            "signer": key_json(x.signer()),
            "key_type": x.key_type().as_str(),
            "nonce": x.nonce(),
            "tip": x.tip(),
            "era": "immortal",
            "call": { "name": call.name(), "pallet": call.pallet_index(), "index": call.call_index(),
                      "kind": format!("{:?}", call.kind()).to_lowercase(), "args": call_args(&call) },
        });
        v["signature"] = match &self.profile {
            Some(p) => match x.verify(p) {
                Ok(()) => json!("valid for the given chain profile"),
                Err(e) => json!(format!("INVALID: {e}")),
            },
            None => json!("not checked (give --genesis HEX to check it)"),
        };
        v
    }

    fn frame(&self, f: &FrameRepr<'_>, len: usize) -> Value {
        let h = &f.header;
        let mut v = json!({
            "format": "frame",
            "len": len,
            "header": { "kind": format!("{:?}", f.body.kind()), "flags": h.flags.bits(), "hop_limit": h.hop_limit, "sender": h.sender.0 },
        });
        match &f.body {
            Body::Items(entries) => {
                let items: Vec<Value> = entries
                    .iter()
                    .map(|(kind, bytes)| match Item::parse(kind, bytes) {
                        Ok(Item::Extrinsic(x)) => self.extrinsic(&x),
                        Ok(Item::Dubp(d)) => dubp_json(&d),
                        Err(e) => json!({"kind": kind.to_u8(), "len": bytes.len(), "error": e.to_string()}),
                    })
                    .collect();
                let item_bytes: usize = entries.iter().map(|(_, b)| b.len()).sum();
                v["framing_bytes"] = json!(len - item_bytes);
                v["items"] = json!(items);
            }
            Body::Fragment(fr) => {
                v["fragment"] = json!({
                    "tag": fr.tag, "index": fr.index, "count": usize::from(fr.last_index) + 1,
                    "item_kind": fr.first.map(|x| x.kind.to_u8()), "item_len": fr.first.map(|x| x.total_len),
                    "data_len": fr.data.len(),
                });
            }
            Body::Other { bytes, .. } => v["body_hex"] = json!(hex::encode(bytes)),
        }
        v
    }

    fn link(&self, stream: &[u8]) -> Decoded {
        let mut dec = Box::<LinkDecoder>::default();
        let mut frames = Vec::new();
        let mut ok = true;
        dec.feed(stream, |r| match r {
            Ok(payload) => frames.push(match Packet::parse(payload) {
                Ok(p) => json!({"packet": format!("{:?}", p.ty), "len": p.body.len(),
                                "note": "Noise payload: encrypted, cannot be shown without the session keys"}),
                Err(e) => {
                    ok = false;
                    err_json("packet", e)
                }
            }),
            Err(e) => {
                ok = false;
                frames.push(json!({"error": e.to_string()}));
            }
        });
        ok &= !frames.is_empty();
        Decoded {
            ok,
            value: json!({"format": "link", "len": stream.len(), "frames": frames}),
        }
    }
}

fn call_args(call: &Call<'_>) -> Value {
    match call {
        Call::TransferKeepAlive { dest, value }
        | Call::TransferUd { dest, value }
        | Call::TransferUdKeepAlive { dest, value } => {
            json!({"dest": key_json(dest), "value": value})
        }
        Call::ClaimUds | Call::RequestDistanceEvaluation => json!({}),
        Call::CreateIdentity { owner_key } => json!({"owner_key": key_json(owner_key)}),
        Call::ConfirmIdentity { idty_name } => {
            json!({"idty_name": String::from_utf8_lossy(idty_name)})
        }
        Call::RevokeIdentity {
            idty_index,
            revocation_key,
            revocation_sig,
        } => json!({
            "idty_index": idty_index, "revocation_key": key_json(revocation_key),
            "revocation_sig": match revocation_sig {
                MultiSignature::Ed25519(s) | MultiSignature::Sr25519(s) => hex::encode(s),
                MultiSignature::Ecdsa(s) => hex::encode(s),
            },
        }),
        Call::RevokeIdentityLegacy {
            revocation_document,
        } => {
            json!({"revocation_document": String::from_utf8_lossy(revocation_document)})
        }
        Call::AddCert { receiver } | Call::RenewCert { receiver } => json!({"receiver": receiver}),
    }
}

fn dubp_json(d: &Document<'_>) -> Value {
    let text = d.render_to_string();
    json!({
        "format": "dubp",
        "type": format!("{:?}", d.doc_type()),
        "currency": d.currency().as_str(),
        "len": d.bytes().len(),
        "text_len": text.len(),
        "id": hex::encode(Item::Dubp(*d).id().0),
        "issuers": d.issuers().map(key_json).collect::<Vec<_>>(),
        "signature": match d.verify() { Ok(()) => "valid".to_owned(), Err(e) => format!("INVALID: {e}") },
        "text": text,
    })
}

/// Human output: the JSON tree, indented, without quotes and braces.
fn print_tree(v: &Value, depth: usize) {
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                match val {
                    Value::Object(_) | Value::Array(_) => {
                        println!("{pad}{k}:");
                        print_tree(val, depth + 1);
                    }
                    Value::String(s) if s.contains('\n') => {
                        println!("{pad}{k}: |");
                        for line in s.lines() {
                            println!("{pad}  {line}");
                        }
                    }
                    _ => println!("{pad}{k}: {}", scalar(val)),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                println!("{pad}[{i}]");
                print_tree(item, depth + 1);
            }
        }
        other => println!("{pad}{}", scalar(other)),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

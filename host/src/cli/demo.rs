//! `toile demo`: the protocol end to end on one machine, no hardware, no network.
//!
//! 1. Keys: a Cesium-style ed25519 account (Alice) and a Ğecko-style sr25519 one (Bob).
//! 2. Items: a Ğ1 v2s payment and certification (signed, immortal extrinsics) and a DUBP v10
//!    transaction for a v1 currency (signed text, carried in compact form).
//! 3. Radio: items batched into LoRa frames (≤ 255 B), large ones fragmented; time on air for
//!    the chosen preset.
//! 4. Receive side: frames checked, fragments reassembled, items parsed and verified.
//! 5. Host link: the items in one `PushItems` message, framed with COBS + CRC-32.

use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::json;
use toile_host::sim::phy::Preset;
use toile_host::wallet::{Keypair, Scheme};
use toile_proto::crypto::blake2_256;
use toile_proto::item::v2s::{Call, ChainProfile, build_signed};
use toile_proto::item::{Item, ItemKind};
use toile_proto::link::{Batch, Envelope, Message, encode_frame, encoded_len};
use toile_proto::radio::{
    Body, Flags, FragmentRepr, Fragmenter, FrameBuilder, FrameRepr, HEADER_LEN, Header,
    MAX_FRAME_LEN, NodeAddr, Reassembler, Reassembly,
};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Radio preset for time on air.
    #[arg(long, value_enum, default_value = "long-fast")]
    preset: super::sim::PresetArg,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

const DEV_PHRASE: &str = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

pub fn run(a: DemoArgs) -> anyhow::Result<ExitCode> {
    let preset = Preset::from(a.preset);
    let say = |s: String| {
        if !a.json {
            println!("{s}");
        }
    };

    // 1. Keys.
    let alice = Keypair::from_credentials("toile-demo-alice", "market stall 12");
    let bob = Keypair::from_suri(&format!("{DEV_PHRASE}//Bob"), Scheme::Sr25519)?;
    say(format!(
        "alice  {} (ed25519, Cesium salt+password)",
        alice.v2_address()
    ));
    say(format!(
        "bob    {} (sr25519, mnemonic //Bob)",
        bob.v2_address()
    ));

    // 2. Items. A test profile: the demo never talks to a chain.
    let profile = ChainProfile {
        genesis_hash: blake2_256(b"toile demo chain"),
        spec_version: 1100,
        tx_version: 1,
    };
    let bob_key = bob.public();
    let pay = build_signed(
        &Call::TransferKeepAlive {
            dest: &bob_key,
            value: 1_250,
        },
        &alice.v2s_signer(),
        7,
        0,
        &profile,
    );
    let cert = build_signed(
        &Call::AddCert { receiver: 4_242 },
        &bob.v2s_signer(),
        3,
        0,
        &profile,
    );
    let unsigned = format!(
        "Version: 10\nType: Transaction\nCurrency: g1\n\
         Blockstamp: 744400-D5C40EC5C2240342D193CF399096D47F96D00F1E1452226EDA4AE852DC510C57\n\
         Locktime: 0\nIssuers:\n{a}\nInputs:\n1000:0:D:{a}:744000\nUnlocks:\n0:SIG(0)\n\
         Outputs:\n300:0:SIG({b})\n700:0:SIG({a})\nComment: market stall 12\n",
        a = alice.v1_pubkey(),
        b = Keypair::from_credentials("toile-demo-bob", "bakery").v1_pubkey(),
    );
    let dubp = alice.sign_dubp(&unsigned)?;
    let text_len = Item::parse(ItemKind::Dubp, &dubp).map(|i| match i {
        Item::Dubp(d) => d.text_len(),
        Item::Extrinsic(_) => 0,
    })?;
    let items: Vec<(&str, ItemKind, &[u8])> = vec![
        (
            "v2s transfer_keep_alive 12.50 Ğ1 alice->bob",
            ItemKind::Extrinsic,
            &pay,
        ),
        (
            "v2s add_cert bob->identity 4242",
            ItemKind::Extrinsic,
            &cert,
        ),
        ("DUBP v10 transaction (compact)", ItemKind::Dubp, &dubp),
    ];
    for (name, _, bytes) in &items {
        say(format!("item   {name}: {} B", bytes.len()));
    }
    say(format!(
        "       the DUBP text is {text_len} B; its compact form is {} B ({:.1} %)",
        dubp.len(),
        100.0 * dubp.len() as f64 / text_len as f64
    ));

    // 3. Radio: batch what fits, fragment what does not.
    let header = Header {
        flags: Flags::EMPTY,
        hop_limit: 3,
        sender: NodeAddr(0x0a11),
    };
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let mut buf = [0u8; MAX_FRAME_LEN];
    let mut builder = FrameBuilder::new(&mut buf, header)?;
    let mut pending = false;
    for (_, kind, bytes) in &items {
        // A single item costs the header plus one entry kind byte.
        if bytes.len() + HEADER_LEN + 1 > MAX_FRAME_LEN {
            for frag in Fragmenter::new(header, 1, *kind, bytes, MAX_FRAME_LEN)? {
                frames.push(frag.to_vec());
            }
            continue;
        }
        if !builder.try_push(*kind, bytes) {
            let n = builder.finish().context("a frame with items")?;
            frames.push(buf[..n].to_vec());
            builder = FrameBuilder::new(&mut buf, header)?;
            if !builder.try_push(*kind, bytes) {
                bail!("item does not fit an empty frame");
            }
        }
        pending = true;
    }
    if pending {
        let n = builder.finish().context("a frame with items")?;
        frames.push(buf[..n].to_vec());
    }
    let item_bytes: usize = items.iter().map(|(_, _, b)| b.len()).sum();
    let air_bytes: usize = frames.iter().map(Vec::len).sum();
    let airtime_ms: f64 = frames
        .iter()
        .map(|f| preset.time_on_air(f.len()).as_secs_f64() * 1e3)
        .sum();
    for (i, f) in frames.iter().enumerate() {
        say(format!(
            "frame  #{i}: {} B, {:.0} ms on air at {preset:?}  {}…",
            f.len(),
            preset.time_on_air(f.len()).as_secs_f64() * 1e3,
            hex::encode(&f[..f.len().min(12)])
        ));
    }
    say(format!(
        "       {} items, {item_bytes} B of items in {air_bytes} B on air: {} B of framing per item",
        items.len(),
        (air_bytes - item_bytes) as f64 / items.len() as f64
    ));

    // 4. Receive side: check, reassemble, parse, verify.
    let mut reasm: Reassembler<4, 1024> = Reassembler::new(60_000_000);
    let mut received: Vec<Vec<u8>> = Vec::new();
    for f in &frames {
        let frame = FrameRepr::parse(f)?;
        match frame.body {
            Body::Items(entries) => received.extend(entries.iter().map(|(_, b)| b.to_vec())),
            Body::Fragment(fr) => {
                let fr: FragmentRepr<'_> = fr;
                if let Reassembly::Complete(done) = reasm.handle(0, frame.header.sender, &fr)? {
                    received.push(done.bytes.to_vec());
                }
            }
            Body::Other { .. } => bail!("unexpected frame kind"),
        }
    }
    let mut verified = 0;
    for ((name, kind, sent), got) in items.iter().zip(&received) {
        anyhow::ensure!(sent == got, "{name}: received bytes differ");
        let item = Item::parse(*kind, got)?;
        item.verify(&profile)
            .with_context(|| format!("{name}: signature"))?;
        verified += 1;
        say(format!(
            "rx     {name}: verified, id {}…",
            &hex::encode(item.id().0)[..16]
        ));
    }
    anyhow::ensure!(
        verified == items.len(),
        "only {verified} of {} items came through",
        items.len()
    );

    // 5. Host link: one PushItems message in one COBS + CRC frame (Noise adds a 16 B tag).
    let mut batch_buf = vec![0u8; 4_096];
    let mut b = Batch::builder(&mut batch_buf);
    for (_, kind, bytes) in &items {
        anyhow::ensure!(b.try_push(*kind, bytes), "batch full");
    }
    let entries = b.finish().context("non-empty batch")?;
    let env = Envelope {
        seq: 1,
        message: Message::PushItems {
            batch: Batch::from_entries(entries),
        },
    };
    let mut msg = vec![0u8; env.encoded_len()];
    let msg_len = env.encode(&mut msg)?;
    let mut payload = vec![1u8 + 1]; // packet type Transport (plaintext here: the demo has no peer)
    payload.extend_from_slice(&msg[..msg_len]);
    payload.extend_from_slice(&[0u8; 16]); // room of the Noise tag
    let mut wire = vec![0u8; encoded_len(payload.len())];
    let wire_len = encode_frame(&payload, &mut wire)?;
    say(format!(
        "link   PushItems with {} items: {msg_len} B message, {wire_len} B on the wire ({:.2} % overhead)",
        items.len(),
        100.0 * (wire_len - item_bytes) as f64 / wire_len as f64
    ));

    if a.json {
        println!(
            "{}",
            json!({
                "items": items.iter().map(|(n, k, b)| json!({"name": n, "kind": k.to_u8(), "len": b.len()})).collect::<Vec<_>>(),
                "dubp_text_len": text_len,
                "frames": frames.iter().map(hex::encode).collect::<Vec<_>>(),
                "air_bytes": air_bytes,
                "item_bytes": item_bytes,
                "airtime_ms": airtime_ms,
                "preset": format!("{preset:?}"),
                "verified": verified,
                "link_frame_len": wire_len,
            })
        );
    } else {
        say(format!(
            "ok     {verified}/{} items crossed the radio and verified; {airtime_ms:.0} ms of airtime",
            items.len()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

//! `toile id`: show (and optionally save) the identity a set of credentials gives.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use toile_host::wallet::{Keypair, Scheme, keys::generate_mnemonic, keystore};

use super::keys::{KeyArgs, passphrase};

#[derive(clap::Args)]
pub struct IdArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// Create a new random 12-word mnemonic and show it once: write it down.
    #[arg(long, conflicts_with_all = ["salt", "mnemonic_stdin", "keystore"])]
    generate: bool,
    /// Save the key to an encrypted keystore file (passphrase from $TOILE_PASSPHRASE or a prompt).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(a: IdArgs) -> anyhow::Result<ExitCode> {
    let mut mnemonic = None;
    let key = if a.generate {
        let phrase = generate_mnemonic();
        let key = Keypair::from_suri(&phrase, a.key.scheme)?;
        mnemonic = Some(phrase);
        key
    } else if a.key.given() {
        a.key.load()?
    } else {
        bail!(
            "say where the key comes from: --salt, --mnemonic-stdin, --keystore FILE or --generate"
        );
    };
    if let Some(path) = &a.save {
        keystore::save(path, &key, &passphrase(true)?)?;
    }
    if a.json {
        let mut v = serde_json::json!({
            "scheme": key.scheme().to_string(),
            "public_hex": hex::encode(key.public()),
            "v1_pubkey": key.v1_pubkey(),
            "v2_address": key.v2_address(),
        });
        if let Some(m) = &mnemonic {
            v["mnemonic"] = m.clone().into();
        }
        println!("{v}");
    } else {
        if let Some(m) = &mnemonic {
            println!("mnemonic    {m}\n            (write these words down: they are the key)");
        }
        println!("scheme      {}", key.scheme());
        if key.scheme() == Scheme::Ed25519 {
            println!("v1 pubkey   {}", key.v1_pubkey());
        }
        println!("v2 address  {}", key.v2_address());
        if let Some(path) = &a.save {
            println!("saved       {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

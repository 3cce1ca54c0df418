//! `toile id`: show (and optionally save) the identity a set of credentials gives.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use toile_host::wallet::{Keypair, Scheme, keys::generate_mnemonic, keystore};

#[derive(clap::Args)]
pub struct IdArgs {
    /// Cesium-style salt (secret identifier); the password is read from stdin or a prompt.
    #[arg(long, conflicts_with_all = ["mnemonic_stdin", "keystore", "generate"])]
    salt: Option<String>,
    /// Read the password (first line of stdin) instead of prompting: for scripts.
    #[arg(long)]
    password_stdin: bool,
    /// Read a mnemonic, optionally with a derivation path (`words… //0`), from stdin.
    #[arg(long, conflicts_with_all = ["keystore", "generate"])]
    mnemonic_stdin: bool,
    /// Key scheme for mnemonics (Ğecko and polkadot.js use sr25519).
    #[arg(long, default_value = "sr25519")]
    scheme: Scheme,
    /// Open an encrypted keystore file (passphrase from $TOILE_PASSPHRASE or a prompt).
    #[arg(long, conflicts_with = "generate")]
    keystore: Option<PathBuf>,
    /// Create a new random 12-word mnemonic and show it once: write it down.
    #[arg(long)]
    generate: bool,
    /// Save the key to an encrypted keystore file (passphrase from $TOILE_PASSPHRASE or a prompt).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn stdin_line(what: &str) -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("reading the {what} from stdin"))?;
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    if line.is_empty() {
        bail!("no {what} on stdin");
    }
    Ok(line)
}

fn secret(prompt: &str, from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        return stdin_line(prompt);
    }
    Ok(rpassword::prompt_password(format!("{prompt}: "))?)
}

fn passphrase(confirm: bool) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("TOILE_PASSPHRASE") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the keystore passphrase: set TOILE_PASSPHRASE");
    }
    let p = rpassword::prompt_password("keystore passphrase: ")?;
    if confirm && rpassword::prompt_password("again: ")? != p {
        bail!("the two passphrases differ");
    }
    Ok(p)
}

pub fn run(a: IdArgs) -> anyhow::Result<ExitCode> {
    let mut mnemonic = None;
    let key = if let Some(salt) = &a.salt {
        Keypair::from_credentials(salt, &secret("password", a.password_stdin)?)
    } else if a.mnemonic_stdin {
        Keypair::from_suri(&stdin_line("mnemonic")?, a.scheme)?
    } else if let Some(path) = &a.keystore {
        keystore::load(path, &passphrase(false)?)?
    } else if a.generate {
        let phrase = generate_mnemonic();
        let key = Keypair::from_suri(&phrase, a.scheme)?;
        mnemonic = Some(phrase);
        key
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

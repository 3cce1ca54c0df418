//! Options shared by every command that needs a key (`toile id`, `pay`, `certify`) or the
//! store (`--data DIR`).

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use anyhow::{Context, bail};
use toile_host::store::Store;
use toile_host::wallet::{Keypair, Scheme, keystore};

/// Where the signing key comes from.
#[derive(clap::Args)]
pub struct KeyArgs {
    /// Cesium-style salt (secret identifier); the password is read from stdin or a prompt.
    #[arg(long, conflicts_with_all = ["mnemonic_stdin", "keystore"])]
    pub salt: Option<String>,
    /// Read the password (first line of stdin) instead of prompting: for scripts.
    #[arg(long)]
    pub password_stdin: bool,
    /// Read a mnemonic, optionally with a derivation path (`words… //0`), from stdin.
    #[arg(long, conflicts_with = "keystore")]
    pub mnemonic_stdin: bool,
    /// Key scheme for mnemonics (Ğecko and polkadot.js use sr25519).
    #[arg(long, default_value = "sr25519")]
    pub scheme: Scheme,
    /// Open an encrypted keystore file (passphrase from $TOILE_PASSPHRASE or a prompt).
    #[arg(long)]
    pub keystore: Option<PathBuf>,
}

impl KeyArgs {
    /// Whether any key source was given.
    pub fn given(&self) -> bool {
        self.salt.is_some() || self.mnemonic_stdin || self.keystore.is_some()
    }

    /// The key, from the one source given.
    pub fn load(&self) -> anyhow::Result<Keypair> {
        if let Some(salt) = &self.salt {
            Ok(Keypair::from_credentials(
                salt,
                &secret("password", self.password_stdin)?,
            ))
        } else if self.mnemonic_stdin {
            Ok(Keypair::from_suri(&stdin_line("mnemonic")?, self.scheme)?)
        } else if let Some(path) = &self.keystore {
            Ok(keystore::load(path, &passphrase(false)?)?)
        } else {
            bail!("say where the key comes from: --salt, --mnemonic-stdin or --keystore FILE")
        }
    }
}

/// Where the bridge keeps its store.
#[derive(clap::Args)]
pub struct DataArgs {
    /// Data directory holding toile.db [default: $XDG_DATA_HOME/toile, ~/.local/share/toile].
    #[arg(long, value_name = "DIR", global = true)]
    pub data: Option<PathBuf>,
}

impl DataArgs {
    pub fn open(&self) -> anyhow::Result<Store> {
        let dir = match &self.data {
            Some(d) => d.clone(),
            None => Store::default_dir()?,
        };
        Ok(Store::open_dir(&dir)?)
    }
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

/// The keystore passphrase: `$TOILE_PASSPHRASE`, else a prompt (twice when `confirm`).
pub fn passphrase(confirm: bool) -> anyhow::Result<String> {
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

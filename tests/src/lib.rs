//! Shared helpers for Toile's end-to-end tests (`tests/tests/` and other crates' integration
//! tests).
//!
//! - [`duniterpy_python`]: a Python interpreter with duniterpy, the independent implementation
//!   of Duniter v1 documents and keys that tests use as an oracle.
//! - [`toile_bin`]: the `toile` binary built for this test run.

pub mod offline;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The duniterpy version the oracle tests are written against.
pub const DUNITERPY_VERSION: &str = "1.2.1";

/// Workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// Path to a Python interpreter that can `import duniterpy`.
///
/// Uses `$TOILE_VENV` when set, else `<target>/duniterpy-venv`, creating the
/// venv and installing duniterpy from PyPI when it is missing. Panics with a clear message
/// when that is impossible: an oracle test that silently skips proves nothing.
pub fn duniterpy_python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let venv = std::env::var_os("TOILE_VENV").map(PathBuf::from).unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace_root().join("target"));
            target.join("duniterpy-venv")
        });
        let py = venv.join("bin/python");
        let has = |py: &Path| {
            Command::new(py).args(["-c", "import duniterpy"]).status().map(|s| s.success()).unwrap_or(false)
        };
        if !has(&py) {
            let lock = venv.with_extension("lock");
            let _ = std::fs::create_dir_all(venv.parent().unwrap_or(Path::new(".")));
            // Several test binaries may race to create the venv: serialize through a lock file.
            let _guard = FileLock::acquire(&lock);
            if !has(&py) {
                let ok = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().map(|s| s.success());
                assert!(
                    matches!(ok, Ok(true)),
                    "cannot create a Python venv at {} (install python3-venv, or run tests/run-all.sh)",
                    venv.display()
                );
                let ok = Command::new(venv.join("bin/pip"))
                    .args(["install", "-q", "--disable-pip-version-check"])
                    .arg(format!("duniterpy=={DUNITERPY_VERSION}"))
                    .status()
                    .map(|s| s.success());
                assert!(matches!(ok, Ok(true)), "pip install duniterpy=={DUNITERPY_VERSION} failed");
            }
        }
        py
    })
    .clone()
}

struct FileLock(PathBuf);

impl FileLock {
    fn acquire(path: &Path) -> Self {
        for _ in 0..6000 {
            if std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .is_ok()
            {
                return Self(path.to_path_buf());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("timed out waiting for {}", path.display());
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Run a Python snippet with the duniterpy interpreter; returns stdout. Panics on failure,
/// showing stderr.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let out = Command::new(duniterpy_python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The `toile` binary of this build (`target/<profile>/toile`). Test binaries live in
/// `target/<profile>/deps/`; cargo test and nextest build workspace binaries before tests.
///
/// `$TOILE_BIN` overrides this (for worktrees sharing one `CARGO_TARGET_DIR`, whose
/// `target/debug/toile` another branch's build may replace mid-run).
pub fn toile_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("TOILE_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>");
    let bin = dir.join("toile");
    assert!(
        bin.exists(),
        "{} not built: run `cargo build -p toile-host` first",
        bin.display()
    );
    bin
}

#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: installs what the tests need first.
#   - the pinned toolchain's no_std targets (rust-toolchain.toml),
#   - a Python venv with duniterpy, the independent DUBP oracle (target/duniterpy-venv),
#   - then the whole test suite (cargo-nextest when present, cargo test otherwise) and doctests.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

echo "== provisioning"
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install 1.95.0 --profile minimal
rustup target add riscv32imc-unknown-none-elf thumbv7em-none-eabihf >/dev/null

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export TOILE_VENV="${TOILE_VENV:-$CARGO_TARGET_DIR/duniterpy-venv}"
if [ ! -x "$TOILE_VENV/bin/python" ] || ! "$TOILE_VENV/bin/python" -c 'import duniterpy' 2>/dev/null; then
    if ! python3 -m venv "$TOILE_VENV" 2>/dev/null; then
        # Debian's system python needs the venv module from apt.
        if command -v apt-get >/dev/null; then
            apt-get update -qq && apt-get install -y -qq python3-venv python3-pip >/dev/null
        fi
        python3 -m venv "$TOILE_VENV"
    fi
    "$TOILE_VENV/bin/pip" install -q --disable-pip-version-check duniterpy==1.2.1
fi
"$TOILE_VENV/bin/python" -c 'import duniterpy; print("duniterpy", duniterpy.__version__ if hasattr(duniterpy, "__version__") else "ok")'

echo "== tests"
# Cross-crate tests run the real `toile` binary: build it first.
cargo build -p toile-host --bins
if command -v cargo-nextest >/dev/null; then
    cargo nextest run --workspace --all-features --no-fail-fast
else
    cargo test --workspace --all-features --no-fail-fast
fi
cargo test --workspace --all-features --doc

#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: installs what the tests need first.
#   - the pinned toolchain's no_std targets (rust-toolchain.toml),
#   - Python's venv module (the tests create target/duniterpy-venv with duniterpy, the
#     independent DUBP and key oracle, on first use),
#   - libdbus-1-dev and pkg-config (btleplug, behind toile-host's `ble` feature, which
#     --all-features builds),
#   - then the whole test suite (cargo-nextest when present, cargo test otherwise) and doctests.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

echo "== provisioning"
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install 1.95.0 --profile minimal
rustup target add riscv32imc-unknown-none-elf thumbv7em-none-eabihf >/dev/null

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
# The duniterpy venv itself is created on demand by the tests (`toile_tests::duniterpy_python`,
# the one place that pins duniterpy); here we only make sure Python can create venvs.
if ! python3 -c 'import venv, ensurepip' 2>/dev/null && command -v apt-get >/dev/null; then
    # Debian's system python needs the venv module from apt.
    apt-get update -qq && apt-get install -y -qq python3-venv python3-pip >/dev/null
fi
python3 -c 'import venv, ensurepip' || { echo "python3 with venv is required (apt-get install python3-venv)"; exit 1; }
# The BLE link (btleplug) links against libdbus through pkg-config.
if ! pkg-config --exists dbus-1 2>/dev/null && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq libdbus-1-dev pkg-config >/dev/null
fi
pkg-config --exists dbus-1 || { echo "libdbus-1-dev and pkg-config are required (apt-get install libdbus-1-dev pkg-config)"; exit 1; }
# `--provision`: stop here (CI provisions before clippy, which builds every feature too).
if [ "${1:-}" = "--provision" ]; then exit 0; fi

echo "== tests"
# Cross-crate tests run the real `toile` binary: build it first.
cargo build -p toile-host --bins
if command -v cargo-nextest >/dev/null; then
    cargo nextest run --workspace --all-features --no-fail-fast
else
    cargo test --workspace --all-features --no-fail-fast
fi
cargo test --workspace --all-features --doc

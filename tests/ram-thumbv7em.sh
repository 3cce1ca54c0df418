#!/bin/bash
# Print the engine's RAM (state + 2000-item store index) as compiled for thumbv7em (nRF52840):
# the value of the `#[used]` static BOARD_ENGINE_RAM_BYTES in the no_std rlib.
set -euo pipefail
cd "$(dirname "$0")/.."
target=thumbv7em-none-eabihf
cargo build -q -p toile-proto --release --no-default-features --target "$target"
rlib=$(ls -t "${CARGO_TARGET_DIR:-target}/$target/release/deps/"libtoile_proto-*.rlib | head -1)
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
rlib=$(realpath "$rlib")
(cd "$dir" && ar x "$rlib")
for o in "$dir"/*.o; do
    line=$(llvm-nm --print-size "$o" 2>/dev/null | grep BOARD_ENGINE_RAM_BYTES || true)
    [ -n "$line" ] || continue
    sect=$(llvm-objdump -t "$o" | grep BOARD_ENGINE_RAM_BYTES | awk '{print $(NF-2)}')
    hex=$(llvm-objdump -s -j "$sect" "$o" | awk '$1 == "0000" {print $2}' | head -1)
    # little-endian u32
    val=$((16#${hex:6:2}${hex:4:2}${hex:2:2}${hex:0:2}))
    echo "thumbv7em: engine + 2000-item index = $val bytes of 49152 ($((val * 1000 / 49152 / 10)).$((val * 1000 / 49152 % 10)) %)"
    exit 0
done
echo "BOARD_ENGINE_RAM_BYTES not found in $rlib" >&2
exit 1

#!/usr/bin/env bash
# Fuzzes the BGPWire codec with libFuzzer: compiles NetCore + BGPWire + Fuzz/BGPWireFuzz with
# `swiftc -sanitize=fuzzer,address`, seeds a corpus from the test vectors and the bad-input
# corpus, and runs for N seconds (default 30). Exits non-zero on a crash (the crashing input is
# left in .build/fuzz/crash-*; replay with `.build/fuzz/bgpwire-fuzz FILE`).
# Usage: scripts/fuzz.sh [--seconds N] [extra libFuzzer flags]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=30
if [ "${1:-}" = "--seconds" ]; then seconds="$2"; shift 2; fi
out=.build/fuzz
mkdir -p "$out/obj" "$out/corpus" "$out/seeds"
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6)

# Rebuild only when a source is newer than the binary.
bin="$out/bgpwire-fuzz"
if [ ! -x "$bin" ] || [ -n "$(find Sources/NetCore Sources/BGPWire Fuzz/BGPWireFuzz -name '*.swift' -newer "$bin")" ]; then
  echo "fuzz: building $bin"
  swiftc "${flags[@]}" -module-name NetCore -emit-module -emit-module-path "$out/obj/NetCore.swiftmodule" \
    -wmo -c Sources/NetCore/*.swift -o "$out/obj/NetCore.o"
  swiftc "${flags[@]}" -module-name BGPWire -I "$out/obj" -emit-module -emit-module-path "$out/obj/BGPWire.swiftmodule" \
    -wmo -c Sources/BGPWire/*.swift -o "$out/obj/BGPWire.o"
  swiftc "${flags[@]}" -module-name BGPWireFuzz -I "$out/obj" Fuzz/BGPWireFuzz/*.swift \
    "$out/obj/NetCore.o" "$out/obj/BGPWire.o" -o "$bin"
fi

# Seeds: every hex message in the bad-input corpus and the byte vectors, plus Fuzz/regressions
# (inputs that once crashed; replayed as seeds every run).
python3 - "$out/seeds" <<'PY'
import re, sys, pathlib
out = pathlib.Path(sys.argv[1])
texts = []
for line in open("Tests/BGPWireTests/Corpus/bad-inputs.txt"):
    if not line.startswith("#") and line.count(";") == 3:
        texts.append(line.split(";")[2].strip())
src = open("Tests/BGPWireTests/VectorTests.swift").read()
texts += re.findall(r'hex\("([0-9A-Fa-f]+)"\)', src)
for i, t in enumerate(texts):
    (out / f"seed-{i:03d}").write_bytes(bytes.fromhex(t))
print(f"fuzz: {len(texts)} seeds")
PY

echo "fuzz: running for ${seconds}s"
# Swift's backtracer trips ASan after a fatalError; libFuzzer's own report is enough.
export SWIFT_BACKTRACE=enable=no
"$bin" -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$out/" "$@" "$out/corpus" "$out/seeds" Fuzz/regressions

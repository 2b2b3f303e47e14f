#!/usr/bin/env bash
# Builds Fuzz/BGPWireBench with -O (no sanitizers) and prints codec timings.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build/bench
mkdir -p "$out"
flags=(-O -wmo -parse-as-library -swift-version 6)
swiftc "${flags[@]}" -module-name NetCore -emit-module -emit-module-path "$out/NetCore.swiftmodule" -c Sources/NetCore/*.swift -o "$out/NetCore.o"
swiftc "${flags[@]}" -module-name BGPWire -I "$out" -emit-module -emit-module-path "$out/BGPWire.swiftmodule" -c Sources/BGPWire/*.swift -o "$out/BGPWire.o"
swiftc "${flags[@]}" -module-name BGPWireBench -I "$out" Fuzz/BGPWireBench/main.swift "$out/NetCore.o" "$out/BGPWire.o" -lm -o "$out/bgpwire-bench"
"$out/bgpwire-bench"

#!/usr/bin/env bash
# The test command: installs what the tests need, builds everything, runs every test.
# Privileged tests skip when not root unless TWILL_REQUIRE_PRIVILEGED=1 (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build
swift test
bash scripts/fuzz.sh --seconds 20

#!/usr/bin/env bash
# The IPIP kernel tests, with IPIP required: run inside the VM that has Debian's kernel
#   examples/vm/run -- scripts/vm-test.sh [FILTER]
# (build first on the host: swift build --build-tests). FILTER defaults to IPIPKernelTests.
# Outside a kernel with IPIP the tests fail (TWILL_REQUIRE_IPIP=1) instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export TWILL_REQUIRE_IPIP=1 TWILL_REQUIRE_PRIVILEGED=1
filter=${1:-IPIPKernelTests}
bin=${TWILL_BIN_DIR:-.build/debug}
tests=$(ls -d "$bin"/*PackageTests.xctest 2>/dev/null | head -1)
[ -n "$tests" ] || { echo "vm-test: no test bundle in $bin (run swift build --build-tests on the host first)" >&2; exit 2; }
# The test bundle directly (what `swift test --skip-build` runs, without SwiftPM's own start-up,
# which is slow under TCG); it finds twill-dp-apply beside itself.
exec "$tests" --testing-library swift-testing --filter "$filter"

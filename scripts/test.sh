#!/usr/bin/env bash
# The test command: installs what the tests need, builds everything, runs every test, fuzzes the
# BGP decoder briefly, and runs the 3-node lab end to end.
# Privileged tests skip when not root unless TWILL_REQUIRE_PRIVILEGED=1 (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build
# A hang must fail fast and name itself (stacks of the stuck test threads), not run into CI's limit.
bash scripts/watchdog.sh "${TWILL_TEST_TIME_LIMIT:-1500}" swift test
bash scripts/fuzz.sh --seconds 20
if [ "$(id -u)" = 0 ]; then
  examples/lab/lab run --nodes 3 --mode none
  examples/lab/lab run --nodes 3 --mode vxlan --datastore etcd
  examples/lab/lab run --nodes 3 --backend bird
  # IPIP on real kernel code: this kernel has none, so Debian's 6.1 kernel in a qemu (TCG) VM runs
  # the IPIP dataplane tests and the IPIP and CrossSubnet-IPIP labs with captures (docs/vm.md).
  swift build --build-tests
  examples/vm/run --timeout 1500 -- bash -c 'scripts/vm-test.sh && examples/vm/lab-capture --nodes 3 --mode ipip && examples/vm/lab-capture --nodes 4 --mode crosssubnet --encap ipip'
elif [ "${TWILL_REQUIRE_PRIVILEGED:-}" = 1 ]; then
  echo "lab: TWILL_REQUIRE_PRIVILEGED=1 but not root" >&2; exit 1
else
  echo "SKIP lab: not running as root"
fi

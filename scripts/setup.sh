#!/usr/bin/env bash
# Installs what Twill's build, tests and lab need on Debian 12 (idempotent; run as root).
set -euo pipefail
PKGS=(
  # build: C libraries behind the system-library targets
  libsqlite3-dev libnl-3-dev libnl-route-3-dev libnftnl-dev libmnl-dev pkg-config
  # tests and lab: kernel tools to look with, real BGP peers, captures, etcd
  iproute2 iputils-ping nftables bird2 frr gobgpd tcpdump sqlite3 etcd-server etcd-client
  yamllint procps psmisc
  gdb   # scripts/watchdog.sh: stacks of a hung test process
  libssl-dev openssl
  containernetworking-plugins   # optional: CNI chaining test (bandwidth, portmap after twill-cni)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's frr and bird2 packages start system daemons; the tests run their own instances.
for svc in frr bird etcd; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then systemctl stop "$svc" || true; fi
done
command -v swift >/dev/null || { echo "setup: swift (6.3) is not on PATH" >&2; exit 1; }

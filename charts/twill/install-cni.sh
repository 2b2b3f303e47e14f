#!/bin/sh
# Init container of the twill DaemonSet: installs twill-cni into the host's CNI
# bin dir and writes its network configuration, both atomically (write to a
# temporary name, then rename), so the kubelet never sees half a file.
# Environment: TWILL_DATASTORE, CNI_CONF_NAME, CNI_MTU, TWILL_LOG_LEVEL, and
# for tests CNI_SOURCE, CNI_BIN_DIR, CNI_NET_DIR.
set -eu
src=${CNI_SOURCE:-/usr/local/bin/twill-cni}
bin_dir=${CNI_BIN_DIR:-/host/opt/cni/bin}
net_dir=${CNI_NET_DIR:-/host/etc/cni/net.d}
conf=${CNI_CONF_NAME:-10-twill.conflist}
mtu=${CNI_MTU:-0}
datastore=${TWILL_DATASTORE:?TWILL_DATASTORE is not set (ConfigMap datastore.url)}
log_level=${TWILL_LOG_LEVEL:-info}

[ -x "$src" ] || { echo "install-cni: $src is missing or not executable" >&2; exit 1; }
case "$mtu" in *[!0-9]*|'') echo "install-cni: CNI_MTU \"$mtu\" is not a number" >&2; exit 1;; esac
case "$conf" in */*|'') echo "install-cni: CNI_CONF_NAME \"$conf\" must be a file name" >&2; exit 1;; esac
# JSON string escaping of the values we embed.
json_escape() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }

mkdir -p "$bin_dir" "$net_dir"
cp "$src" "$bin_dir/.twill-cni.tmp"
chmod 0755 "$bin_dir/.twill-cni.tmp"
mv -f "$bin_dir/.twill-cni.tmp" "$bin_dir/twill-cni"

cat > "$net_dir/.$conf.tmp" <<CONF
{
  "name": "k8s-pod-network",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "twill-cni",
      "datastore": "$(json_escape "$datastore")",
      "log_level": "$(json_escape "$log_level")",
      "mtu": $mtu,
      "ipam": { "type": "twill-cni" }
    },
    { "type": "portmap", "snat": true, "capabilities": { "portMappings": true } }
  ]
}
CONF
mv -f "$net_dir/.$conf.tmp" "$net_dir/$conf"
echo "install-cni: installed $bin_dir/twill-cni and $net_dir/$conf"

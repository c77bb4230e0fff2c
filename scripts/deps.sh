#!/usr/bin/env bash
# Installs the Debian packages slotkv needs, only those missing. Usage: scripts/deps.sh build|test
set -euo pipefail
want=(libclang-dev protobuf-compiler)
if [ "${1:-build}" = test ]; then
  want+=(redis-tools redis-server etcd-server)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

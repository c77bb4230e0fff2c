#!/usr/bin/env bash
# Builds slotkv-server (release) and starts a single node on 127.0.0.1:6379 with data in ./data.
# Extra arguments go to the server, e.g. scripts/run.sh --cores 2 --fsync always
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh build
. scripts/env.sh
cargo build --release -p slotkv-server
exec "$CARGO_TARGET_DIR/release/slotkv-server" --port 6379 --dir ./data "$@"

#!/usr/bin/env bash
# Runs the whole test suite: unit tests, then the black-box tests against the real server binary, all in
# release so RocksDB is built once for the server and the tests alike.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh test
. scripts/env.sh
cargo build --release --workspace --bins
cargo test --release --workspace --no-fail-fast

# Sourced by the scripts: one target folder outside the clone, so every clone and every run reuses the
# RocksDB build (about 11 minutes on two cores) and later builds are incremental.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/slotkv-target}"

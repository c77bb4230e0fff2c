#!/usr/bin/env bash
# Server CPU per request, alternating builds: the steadier A/B measure on a shared machine, where ops/s swing
# with the host's load. Each round starts every build afresh (server on CPU $SERVER_CPU with --cores 1,
# redis-benchmark on CPU $CLIENT_CPU), runs redis-benchmark with the given arguments, and prints ops/s, p99 and
# the server's user+system CPU (its io-wq workers included) divided by the requests sent.
#
#   scripts/cpu-per-request.sh "/tmp/old-server /tmp/new-server" 4 -n 300000 -t set -P 16
#   FSYNC=always scripts/cpu-per-request.sh "$CARGO_TARGET_DIR/release/slotkv-server" 2 -n 100000 -t set
#
# -n is required (the divisor); -c 50 -r 100000 are added. A binary named redis-server is started as the
# reference (AOF everysec, or always with FSYNC=always):
#
#   scripts/cpu-per-request.sh "/usr/bin/redis-server $CARGO_TARGET_DIR/release/slotkv-server" 2 -n 300000 -t zadd
set -euo pipefail
BINS=$1
ROUNDS=$2
shift 2
ARGS=("$@")
PORT=${PORT:-7301}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
n=$(printf '%s\n' "${ARGS[@]}" | grep -A1 -x -- -n | tail -1)
[[ $n =~ ^[0-9]+$ ]] || { echo "pass -n <requests>" >&2; exit 2; }
work=$(mktemp -d)
pid=
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=; }
trap 'stop; rm -rf "$work"' EXIT
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
for r in $(seq "$ROUNDS"); do
  for b in $BINS; do
    rm -rf "$work/data"
    if [ "$(basename "$b")" = redis-server ]; then
      # The reference: AOF with fsync everysec (always when FSYNC=always), no RDB snapshots.
      mkdir -p "$work/data"
      taskset -c "$SERVER_CPU" "$b" --port "$PORT" --dir "$work/data" --save "" --appendonly yes \
        --appendfsync "$([ "${FSYNC:-}" = always ] && echo always || echo everysec)" --loglevel warning \
        >"$work/server.log" 2>&1 &
    else
      taskset -c "$SERVER_CPU" "$b" --port "$PORT" --dir "$work/data" --cores 1 --loglevel warn \
        ${FSYNC:+--fsync "$FSYNC"} >"$work/server.log" 2>&1 &
    fi
    pid=$!
    for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null || { echo "$b did not start:" >&2; tail -3 "$work/server.log" >&2; exit 1; }
    t0=$(ticks "$pid")
    out=$(taskset -c "$CLIENT_CPU" redis-benchmark -p "$PORT" -c 50 -r 100000 "${ARGS[@]}" --csv 2>/dev/null \
      | tail -n +2 | awk -F, '{gsub(/"/,""); printf "%s %s p99=%s ", $1, $2, $7}')
    t1=$(ticks "$pid")
    stop
    echo "$(basename "$b") r$r: $out cpu/request=$(echo "scale=2; ($t1-$t0)*1000000/$hz/$n" | bc) us"
  done
done

#!/usr/bin/env bash
# Measures slotkv-server against redis-server 7 in the same run, each pinned to its own core, with
# redis-benchmark pinned to the other core. Prints a markdown table (also written to $OUT).
#
#   scripts/bench-vs-redis.sh                # SET/GET, -c 50 -r 100000, then -P 16; fsync everysec
#   FSYNC=always REDIS_AOF=always scripts/bench-vs-redis.sh
#   TESTS=lpush,lpop,sadd,hset,zadd,lrange_100,spop PIPELINES=1 scripts/bench-vs-redis.sh   # data types
#
# Rounds alternate slotkv and Redis (A B A B ...) and the median of each figure is reported, because
# these machines are shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
ROUNDS=${ROUNDS:-3}
N=${N:-300000}
TESTS=${TESTS:-set,get}
FSYNC=${FSYNC:-everysec}
REDIS_AOF=${REDIS_AOF:-no}          # no | everysec | always
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
OUT=${OUT:-/dev/null}
BIN=${SLOTKV_SERVER:-$CARGO_TARGET_DIR/release/slotkv-server}
[ -x "$BIN" ] || cargo build --release -p slotkv-server
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

start_slotkv() {
  rm -rf "$work/slotkv"
  taskset -c "$SERVER_CPU" "$BIN" --port 7101 --dir "$work/slotkv" --cores 1 --fsync "$FSYNC" \
    --loglevel warn >"$work/slotkv.log" 2>&1 &
  echo $! >"$work/slotkv.pid"
  for _ in $(seq 100); do redis-cli -p 7101 ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "slotkv did not start" >&2; cat "$work/slotkv.log" >&2; exit 1
}
start_redis() {
  rm -rf "$work/redis"; mkdir -p "$work/redis"
  local aof=(--appendonly no)
  [ "$REDIS_AOF" != no ] && aof=(--appendonly yes --appendfsync "$REDIS_AOF")
  taskset -c "$SERVER_CPU" redis-server --port 7102 --save '' --dir "$work/redis" "${aof[@]}" \
    --daemonize no >"$work/redis.log" 2>&1 &
  echo $! >"$work/redis.pid"
  for _ in $(seq 100); do redis-cli -p 7102 ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "redis did not start" >&2; exit 1
}
stop() { kill "$(cat "$work/$1.pid")" 2>/dev/null || true; wait "$(cat "$work/$1.pid")" 2>/dev/null || true; }

# One redis-benchmark run; prints "test rps p50 p99" lines.
measure() {
  local port=$1 pipeline=$2
  taskset -c "$CLIENT_CPU" redis-benchmark -p "$port" -c 50 -r 100000 -n "$N" -P "$pipeline" -t "$TESTS" \
    --csv 2>/dev/null | python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin))[1:]
for r in rows:
    print(r[0].split(" ")[0], r[1], r[4], r[6])'
}

results="$work/results"
: >"$results"
for pipeline in ${PIPELINES:-1 16}; do
  for round in $(seq "$ROUNDS"); do
    for server in slotkv redis; do
      if [ $server = slotkv ]; then start_slotkv; port=7101; else start_redis; port=7102; fi
      measure $port $pipeline | while read -r test rps p50 p99; do
        echo "$pipeline $server $test $rps $p50 $p99" >>"$results"
      done
      stop $server
    done
  done
done

python3 - "$results" "$FSYNC" "$REDIS_AOF" "$ROUNDS" <<'PY' | tee "$OUT"
import sys, statistics, collections
path, fsync, aof, rounds = sys.argv[1:]
rows = collections.defaultdict(list)
for line in open(path):
    p, server, test, rps, p50, p99 = line.split()
    rows[(int(p), test, server)].append((float(rps), float(p50), float(p99)))
print(f"slotkv fsync={fsync} vs redis-server appendonly={'no' if aof=='no' else 'yes, appendfsync='+aof}; "
      f"median of {rounds} alternating rounds; -c 50 -r 100000\n")
print("| pipeline | test | slotkv ops/s | redis ops/s | ratio | slotkv p50 ms | redis p50 ms | slotkv p99 ms | redis p99 ms |")
print("|---|---|---|---|---|---|---|---|---|")
for (p, test) in sorted({(k[0], k[1]) for k in rows}):
    s = rows[(p, test, "slotkv")]; r = rows[(p, test, "redis")]
    med = lambda v, i: statistics.median(x[i] for x in v)
    print(f"| {p} | {test} | {med(s,0):,.0f} | {med(r,0):,.0f} | {med(s,0)/med(r,0):.2f}x | "
          f"{med(s,1):.3f} | {med(r,1):.3f} | {med(s,2):.3f} | {med(r,2):.3f} |")
PY

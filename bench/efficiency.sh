#!/usr/bin/env bash
# Client efficiency: requests completed per CPU-second of the client process, slotkv-bench vs
# redis-benchmark, same workload against the same redis-server 7, measured with the OS's own
# accounting (/usr/bin/time: user + system time of the whole client process).
#
# Server pinned to CPU 1, clients to CPU 0; the two tools alternate, ROUNDS times per workload,
# so machine noise hits both. Prints one line per run and a median summary (markdown table).
#
# Usage: bench/efficiency.sh            (env: ROUNDS=5 N1=400000 N16=4000000 PORT=16390
#                                             BENCH=path/to/slotkv-bench)
set -euo pipefail

ROUNDS=${ROUNDS:-5}
N1=${N1:-400000}
N16=${N16:-4000000}
PORT=${PORT:-16390}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/env.sh"
BENCH=${BENCH:-$CARGO_TARGET_DIR/release/slotkv-bench}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}

for tool in /usr/bin/redis-server /usr/bin/redis-benchmark /usr/bin/time "$BENCH"; do
    [[ -x $tool ]] || { echo "missing $tool" >&2; exit 1; }
done

DIR=$(mktemp -d)
cleanup() {
    if [[ -f $DIR/redis.pid ]]; then kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true; fi
    rm -rf "$DIR"
}
trap cleanup EXIT

taskset -c "$SERVER_CPU" /usr/bin/redis-server --port "$PORT" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$DIR" --pidfile "$DIR/redis.pid" --daemonize yes --logfile "$DIR/redis.log"
for _ in $(seq 50); do
    redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
done

# cpu_of CMD...: runs CMD pinned, prints "user+sys" seconds of the process.
cpu_of() {
    taskset -c "$CLIENT_CPU" /usr/bin/time -f "%U %S" -o "$DIR/time" "$@" >/dev/null 2>&1
    awk '{printf "%.3f", $1 + $2}' "$DIR/time"
}

declare -A results
for pipeline in 1 16; do
    n=$N1
    [[ $pipeline == 16 ]] && n=$N16
    for cmd in set get; do
        ratio="1:0"
        [[ $cmd == get ]] && ratio="0:1"
        for round in $(seq "$ROUNDS"); do
            rb=$(cpu_of /usr/bin/redis-benchmark -p "$PORT" -c 50 -n "$n" -P "$pipeline" -t "$cmd" \
                -r 100000 -d 3 -q)
            sb=$(cpu_of "$BENCH" --port "$PORT" --clients 50 --requests "$n" --pipeline "$pipeline" \
                --ratio "$ratio" --keyspace 100000 --data-size 3 --quiet)
            rb_rate=$(awk -v n="$n" -v c="$rb" 'BEGIN{printf "%.0f", n / c}')
            sb_rate=$(awk -v n="$n" -v c="$sb" 'BEGIN{printf "%.0f", n / c}')
            echo "P$pipeline $cmd round $round: redis-benchmark ${rb}s CPU ($rb_rate req/CPU-s)," \
                "slotkv-bench ${sb}s CPU ($sb_rate req/CPU-s), ratio" \
                "$(awk -v a="$sb_rate" -v b="$rb_rate" 'BEGIN{printf "%.2f", a / b}')" >&2
            results["$pipeline $cmd rb"]+="$rb_rate "
            results["$pipeline $cmd sb"]+="$sb_rate "
        done
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "| workload | requests | redis-benchmark req/CPU-s (median) | slotkv-bench req/CPU-s (median) | ratio |"
echo "|---|---|---|---|---|"
for pipeline in 1 16; do
    n=$N1
    [[ $pipeline == 16 ]] && n=$N16
    for cmd in set get; do
        rb=$(echo "${results["$pipeline $cmd rb"]}" | median)
        sb=$(echo "${results["$pipeline $cmd sb"]}" | median)
        ratio=$(awk -v a="$sb" -v b="$rb" 'BEGIN{printf "%.2f", a / b}')
        echo "| ${cmd^^} -c 50 -P $pipeline | $n | $rb | $sb | ${ratio}x |"
    done
done

#!/usr/bin/env bash
# Range reads on large collections cost what they return, not the collection's size.
#
# Loads a hash, list, set and sorted set of SMALL (10,000) and LARGE (1,000,000) members into one
# slotkv-server (pinned to SERVER_CPU, --cores 1) and into redis-server 7 for reference, then measures with
# slotkv-bench (pinned to CLIENT_CPU, one connection, closed loop) the latency of:
#
#   ZRANGEBYSCORE z <random score> +inf LIMIT 0 10      ZRANGE z 0 9
#   LRANGE l <middle> <middle+9>                         HSCAN h 0 COUNT 10        SSCAN s 0 COUNT 10
#
# and prints a markdown table of p50/p99 (µs) per size, plus the LARGE/SMALL ratio (≈1 means the cost does
# not grow with the collection). Environment: SLOTKV_SERVER, BENCH, DURATION (3 s), SERVER_CPU (1),
# CLIENT_CPU (0), SMALL, LARGE.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/env.sh"
BENCH=${BENCH:-$CARGO_TARGET_DIR/release/slotkv-bench}
SLOTKV=${SLOTKV_SERVER:-$CARGO_TARGET_DIR/release/slotkv-server}
DURATION=${DURATION:-3}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
SMALL=${SMALL:-10000}
LARGE=${LARGE:-1000000}
[[ -x $BENCH ]] || (cd "$ROOT" && cargo build --release -p slotkv-bench)
[[ -x $SLOTKV ]] || (cd "$ROOT" && cargo build --release -p slotkv-server)

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() {
    for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return; sleep 0.1; done
    echo "server on $1 did not start" >&2
    exit 1
}
taskset -c "$SERVER_CPU" "$SLOTKV" --port 16501 --dir "$WORK/slotkv" --cores 1 --loglevel warn \
    >"$WORK/slotkv.log" 2>&1 &
PIDS+=($!)
taskset -c "$SERVER_CPU" redis-server --port 16502 --save '' --appendonly no --daemonize no \
    >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
wait_port 16501
wait_port 16502

# RESP for the four collections of n members, 1000 members per command.
gen() {
    python3 - "$1" <<'PY'
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
def cmd(*args):
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.write(b"$%d\r\n%s\r\n" % (len(a), a))
for lo in range(0, n, 1000):
    r = range(lo, min(n, lo + 1000))
    z = [f"z:{n}"]; h = [f"h:{n}"]; l = [f"l:{n}"]; s = [f"s:{n}"]
    for i in r:
        z += [i, f"m{i:09d}"]; h += [f"f{i:09d}", "v"]; l.append(f"e{i}"); s.append(f"m{i:09d}")
    cmd("ZADD", *z); cmd("HSET", *h); cmd("RPUSH", *l); cmd("SADD", *s)
PY
}
for n in "$SMALL" "$LARGE"; do
    gen "$n" >"$WORK/load-$n.resp"
    for port in 16501 16502; do
        redis-cli -p $port --pipe <"$WORK/load-$n.resp" >/dev/null
    done
done

measure() { # port name template keyspace -> "p50 p99"
    taskset -c "$CLIENT_CPU" "$BENCH" -p "$1" -c 1 --duration "$DURATION" --warmup 1 --key-prefix "" \
        --keyspace "$4" --command "$3" --json "$WORK/r.json" -q >/dev/null
    python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["total"]; print(t["p50"], t["p99"])' \
        "$WORK/r.json"
}

printf '| command | server | p50 µs (%s) | p50 µs (%s) | p99 µs (%s) | p99 µs (%s) | p50 large/small |\n' \
    "$SMALL" "$LARGE" "$SMALL" "$LARGE"
echo "|---|---|---|---|---|---|---|"
for c in "ZRANGEBYSCORE z:N __key__ +inf LIMIT 0 10" "ZRANGE z:N 0 9" "LRANGE l:N MID MID9" \
    "HSCAN h:N 0 COUNT 10" "SSCAN s:N 0 COUNT 10"; do
    for port in 16501 16502; do
        name=$([[ $port == 16501 ]] && echo slotkv || echo redis)
        row=()
        for n in "$SMALL" "$LARGE"; do
            t=${c//:N/:$n}
            t=${t//MID9/$((n / 2 + 9))}
            t=${t//MID/$((n / 2))}
            row+=("$(measure $port "$name" "$t" "$n")")
        done
        read -r s50 s99 <<<"${row[0]}"
        read -r l50 l99 <<<"${row[1]}"
        printf '| `%s` | %s | %.1f | %.1f | %.1f | %.1f | %.2f |\n' "${c//:N/}" "$name" \
            "$s50" "$l50" "$s99" "$l99" "$(python3 -c "print($l50/$s50)")"
    done
done

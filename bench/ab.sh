#!/usr/bin/env bash
# bench/ab.sh: two gateway configurations side by side, for costs smaller than the host's run-to-run noise.
# Both gateways run at once behind one nginx mock upstream (../shared/bench), and wrk alternates between
# them (a b, b a, ...), ROUNDS rounds of DUR each; it prints the median req/s, CPU us/request and p99 latency of each
# and the median of the per-round ratios b/a. Loopback only; bounded by ROUNDS x DUR.
#   bench/ab.sh "A_ENV" A_CONFIG "B_ENV" B_CONFIG [json|stream]
#   e.g. bench/ab.sh "" gateway.observability-off.bench.json \
#          "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:18790 OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf" gateway.bench.json
# Env: GATEWAY_BIN (default: the published binary in /tmp/gateway-publish/gateway), GATEWAY_BIN_A and
# GATEWAY_BIN_B (two binaries, one config: "" gateway.bench.json "" gateway.bench.json), ROUNDS (8), DUR (5s),
# KEY_JSON (a key made through each gateway's admin API, e.g. '{"name":"b","limits":{"rpm":100000000}}': the
# load then runs under its limits and budget instead of the master key's none).
set -u
AENV=$1; ACONF=$2; BENV=$3; BCONF=$4; MODE=${5:-json}; ROUNDS=${ROUNDS:-8}; DUR=${DUR:-5s}
source "$(dirname "$0")/lib.sh"
bench_init ab
start_mock
BIN_A=${GATEWAY_BIN_A:-$BIN}; BIN_B=${GATEWAY_BIN_B:-$BIN}
# $AENV and $BENV are lists of NAME=value words.
BIN=$BIN_A start_gateway a 18701 "$ACONF" $AENV; P_a=$GW_PID
BIN=$BIN_B start_gateway b 18702 "$BCONF" $BENV; P_b=$GW_PID
sleep 2
AUTH_a="Bearer k"; AUTH_b="Bearer k"
if [ -n "${KEY_JSON:-}" ]; then
  for side in a b; do
    port=$([ $side = a ] && echo 18701 || echo 18702)
    secret=$(curl -s -H "Authorization: Bearer k" -H 'content-type: application/json' -d "$KEY_JSON" "http://127.0.0.1:$port/admin/v1/keys" | jq -r '.key // empty')
    [ -n "$secret" ] || { echo "ab: no key made on $side (KEY_JSON $KEY_JSON): see $W/$side.log"; exit 1; }
    printf -v "AUTH_$side" 'Bearer %s' "$secret"
  done
fi
if [ "$MODE" = stream ]; then MODEL=benchstream/gpt-4o-mini; STREAM=1; else MODEL=benchjson/gpt-4o-mini; STREAM=0; fi
load() { local auth; [ "$1" = 18701 ] && auth=$AUTH_a || auth=$AUTH_b
  (cd "$SHARED" && BENCH_BODY_FILE=chat-request.json BENCH_MODEL=$MODEL BENCH_STREAM=$STREAM BENCH_AUTH="$auth" \
  taskset -c 0 wrk -t2 -c32 -d"$2" -s chat.lua "http://127.0.0.1:$1/v1/chat/completions" 2>&1) | grep -oE 'rps=[0-9.]+|p99_us=[0-9]+' | cut -d= -f2 | tr '\n' ' '; }
load 18701 3s >/dev/null; load 18702 3s >/dev/null
tick=$(getconf CLK_TCK); secs=${DUR%s}
for r in $(seq "$ROUNDS"); do
  for t in $( ((r % 2)) && echo "a b" || echo "b a"); do
    if [ "$t" = a ]; then P=$P_a; PORT=18701; else P=$P_b; PORT=18702; fi
    c0=$(cpu_ticks "$P"); read -r rps p99 < <(load $PORT "$DUR"); c1=$(cpu_ticks "$P")
    echo "$r $t $rps $(awk -v c=$((c1 - c0)) -v t="$tick" -v r="${rps:-0}" -v s="$secs" 'BEGIN{printf "%.1f", (r > 0 ? c/t*1e6/(r*s) : 0)}') ${p99:-0}"
  done
done > "$W/rounds.txt"
python3 - "$W/rounds.txt" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
side = {t: [r for r in rows if r[1] == t] for t in 'ab'}
for t in 'ab':
    print(f"{t}: req/s median {statistics.median(float(r[2]) for r in side[t]):.0f}, CPU us/req median {statistics.median(float(r[3]) for r in side[t]):.1f}, "
          f"p99 median {statistics.median(float(r[4]) for r in side[t]) / 1000:.2f} ms, req/s {[round(float(r[2])) for r in side[t]]}")
ratios = [float(b[2]) / float(a[2]) for a, b in zip(side['a'], side['b'])]
print(f"b/a: median of per-round ratios {statistics.median(ratios):.3f} {[round(x, 3) for x in ratios]}")
PY

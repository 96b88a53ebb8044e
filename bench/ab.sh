#!/usr/bin/env bash
# bench/ab.sh: two gateway configurations side by side, for costs smaller than the host's run-to-run noise.
# Both gateways run at once behind one nginx mock upstream (../shared/bench), and wrk alternates between
# them (a b, b a, ...), ROUNDS rounds of DUR each; it prints the median req/s and CPU us/request of each
# and the median of the per-round ratios b/a. Loopback only; bounded by ROUNDS x DUR.
#   bench/ab.sh "A_ENV" A_CONFIG "B_ENV" B_CONFIG [json|stream]
#   e.g. bench/ab.sh "" gateway.observability-off.bench.json \
#          "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:18790 OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf" gateway.bench.json
# Env: GATEWAY_BIN (default: the published binary in /tmp/gateway-publish/gateway), ROUNDS (8), DUR (5s).
set -u
AENV=$1; ACONF=$2; BENV=$3; BCONF=$4; MODE=${5:-json}; ROUNDS=${ROUNDS:-8}; DUR=${DUR:-5s}
HERE=$(cd "$(dirname "$0")" && pwd); SHARED=$HERE/../../shared/bench
BIN=${GATEWAY_BIN:-/tmp/gateway-publish/gateway}
[ -x "$BIN" ] || { echo "no gateway binary at $BIN (dotnet publish src/Gateway.Server -c Release -o /tmp/gateway-publish)"; exit 1; }
W=$(mktemp -d /tmp/gateway-ab.XXXXXX); chmod 755 "$W"; mkdir -p "$W/nginx/logs" "$W/nginx/tmp" "$W/bodies"
cp "$SHARED/mock/chat.completion.json" "$SHARED/mock/chat.completion.stream.sse" "$W/bodies/"; chmod 644 "$W"/bodies/*; chmod 755 "$W/bodies"
sed -e "s#@MOCK_PORT@#18081#g" -e "s#@MOCK_STREAM_PORT@#18082#g" -e "s#@MOCK_DOCROOT@#$W/bodies#g" "$SHARED/nginx-mock.conf" > "$W/nginx/nginx.conf"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
taskset -c 1 nginx -p "$W/nginx" -e "$W/nginx/logs/error.log" -c "$W/nginx/nginx.conf" & PIDS+=($!)
start() { # NAME PORT ENV CONFIG
  env GATEWAY_MASTER_KEY=k GATEWAY_DATA_DIR="$W/data-$1" $3 taskset -c 1 "$BIN" serve --config "$HERE/$4" --urls "http://127.0.0.1:$2" >"$W/$1.log" 2>&1 & PIDS+=($!)
  eval "P_$1=$!"
}
start a 18701 "$AENV" "$ACONF"; start b 18702 "$BENV" "$BCONF"
sleep 2
if [ "$MODE" = stream ]; then MODEL=benchstream/gpt-4o-mini; STREAM=1; else MODEL=benchjson/gpt-4o-mini; STREAM=0; fi
load() { (cd "$SHARED" && BENCH_BODY_FILE=chat-request.json BENCH_MODEL=$MODEL BENCH_STREAM=$STREAM BENCH_AUTH="Bearer k" \
  taskset -c 0 wrk -t2 -c32 -d"$2" -s chat.lua "http://127.0.0.1:$1/v1/chat/completions" 2>&1) | grep -oE 'rps=[0-9.]+' | cut -d= -f2; }
load 18701 3s >/dev/null; load 18702 3s >/dev/null
tick=$(getconf CLK_TCK); secs=${DUR%s}
for r in $(seq "$ROUNDS"); do
  for t in $( ((r % 2)) && echo "a b" || echo "b a"); do
    if [ "$t" = a ]; then P=$P_a; PORT=18701; else P=$P_b; PORT=18702; fi
    c0=$(awk '{print $14+$15}' /proc/$P/stat); rps=$(load $PORT "$DUR"); c1=$(awk '{print $14+$15}' /proc/$P/stat)
    echo "$r $t $rps $(awk -v c=$((c1 - c0)) -v t="$tick" -v r="${rps:-0}" -v s="$secs" 'BEGIN{printf "%.1f", (r > 0 ? c/t*1e6/(r*s) : 0)}')"
  done
done > "$W/rounds.txt"
python3 - "$W/rounds.txt" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
side = {t: [r for r in rows if r[1] == t] for t in 'ab'}
for t in 'ab':
    print(f"{t}: req/s median {statistics.median(float(r[2]) for r in side[t]):.0f}, CPU us/req median {statistics.median(float(r[3]) for r in side[t]):.1f}, req/s {[round(float(r[2])) for r in side[t]]}")
ratios = [float(b[2]) / float(a[2]) for a, b in zip(side['a'], side['b'])]
print(f"b/a: median of per-round ratios {statistics.median(ratios):.3f} {[round(x, 3) for x in ratios]}")
PY

#!/usr/bin/env bash
# bench/profile.sh: a perf profile of the published gateway under wrk load, and the stage-by-stage table
# (bench/stages.py) of where its CPU per request goes. Behind the harness's nginx mock (../shared/bench),
# gateway and mock on core 1, wrk (32 connections) on core 0; 8 s of samples at 2999 Hz with call graphs
# (frame pointers). Loopback only; bounded in time.
#   bench/profile.sh [CONFIG (gateway.bench.json)] [json|stream|antjson|antstream] [OUT (/tmp/gateway-profile.data)]
# antjson and antstream: OpenAI in, Anthropic out, with gateway.bench-translated.json (see bench/translated.sh).
# Env: GATEWAY_BIN (default /tmp/gateway-publish/gateway), GATEWAY_ENV (NAME=value words for the gateway, e.g.
# its GATEWAY_DATABASE_URL and GATEWAY_REDIS_URL), KEY_JSON (the load runs under a key made from it, as in ab.sh).
# Needs perf (Debian: linux-perf).
set -u
CONF=${1:-gateway.bench.json}; MODE=${2:-json}; OUT=${3:-/tmp/gateway-profile.data}
source "$(dirname "$0")/lib.sh"
command -v perf >/dev/null || { echo "profile.sh needs perf"; exit 1; }
bench_init profile
start_mock
case $MODE in ant*) start_anthropic_mock ;; esac
start_gateway gw 18703 "$CONF" ${GATEWAY_ENV:-}; GW=$GW_PID
sleep 2
AUTH="Bearer k"
if [ -n "${KEY_JSON:-}" ]; then
  secret=$(curl -s -H "Authorization: Bearer k" -H 'content-type: application/json' -d "$KEY_JSON" http://127.0.0.1:18703/admin/v1/keys | jq -r '.key // empty')
  [ -n "$secret" ] || { echo "profile: no key made (KEY_JSON $KEY_JSON): see $W/gw.log"; exit 1; }
  AUTH="Bearer $secret"
fi
case $MODE in
  stream) MODEL=benchstream/gpt-4o-mini; STREAM=1 ;;
  antjson) MODEL=antjson/x; STREAM=0 ;;
  antstream) MODEL=antstream/x; STREAM=1 ;;
  *) MODEL=benchjson/gpt-4o-mini; STREAM=0 ;;
esac
load() { (cd "$SHARED" && BENCH_BODY_FILE=chat-request.json BENCH_MODEL=$MODEL BENCH_STREAM=$STREAM BENCH_AUTH="$AUTH" \
  taskset -c 0 wrk -t2 -c32 -d"$1" -s chat.lua http://127.0.0.1:18703/v1/chat/completions 2>&1) | grep -oE 'rps=[0-9.]+' | cut -d= -f2; }
load 3s >/dev/null
c0=$(cpu_ticks "$GW")
load 12s > "$W/rps" & LOAD=$!
sleep 1; perf record -F 2999 -g -p "$GW" -o "$OUT" -- sleep 8 >/dev/null 2>&1
wait "$LOAD"
c1=$(cpu_ticks "$GW"); rps=$(cat "$W/rps")
cpu=$(awk -v c=$((c1 - c0)) -v t="$(getconf CLK_TCK)" -v r="$rps" 'BEGIN{printf "%.1f", c/t*1e6/(r*12)}')
echo "req/s $rps, CPU us/request $cpu (with perf recording for 8 of the 12 s)"
perf script -i "$OUT" 2>/dev/null | python3 "$HERE/stages.py" - "$cpu"

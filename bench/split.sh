#!/usr/bin/env bash
# bench/split.sh: where a proxied request's CPU goes, for the gateway and for nginx as a reverse proxy, in the
# same run: user and kernel microseconds per request (from /proc/PID/stat), system calls per request (perf
# stat), and for the gateway the bytes it allocates and the collections it makes per request (its /metrics).
# Each server alone behind the harness's nginx mock, both on core 1, wrk (32 connections, DUR) on core 0;
# the figures cover the middle of each run. Loopback only; bounded by 2 x (DUR + 4 s).
#   bench/split.sh [CONFIG (gateway.bench.json)] [json|stream]
# Env: GATEWAY_BIN (default /tmp/gateway-publish/gateway), DUR (12s). Needs perf for the system-call counts.
set -u
CONF=${1:-gateway.bench.json}; MODE=${2:-json}; DUR=${DUR:-12s}
source "$(dirname "$0")/lib.sh"
bench_init split
start_mock
if [ "$MODE" = stream ]; then MODEL=benchstream/gpt-4o-mini; STREAM=1; PROXY=18092; else MODEL=benchjson/gpt-4o-mini; STREAM=0; PROXY=18091; fi
sed -e "s#@MOCK_PORT@#18081#g" -e "s#@MOCK_STREAM_PORT@#18082#g" -e "s#@PROXY_PORT@#18091#g" -e "s#@PROXY_STREAM_PORT@#18092#g" \
  -e "s#@PROXY_KEEPALIVE@#256#g" "$SHARED/nginx-proxy.conf" > "$W/proxy.conf"
start_nginx proxy "$W/proxy.conf"
start_gateway gw 18707 "$CONF"; GW=$GW_PID
sleep 2
# nginx's worker is the child of the master started above.
NGX=$(pgrep -P "$NGINX_PID" | head -1)

ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
scrape() { curl -s http://127.0.0.1:18707/metrics; }
metric() { awk -v k="$1" '$1 == k {print $2}' <<<"$2"; }

# measure NAME PID URL: wrk for DUR; user and kernel CPU, system calls and requests over 5 s in its middle.
measure() {
  local name=$1 pid=$2 url=$3 u0 s0 u1 s1 out calls reqs rps m0="" m1=""
  (cd "$SHARED" && BENCH_BODY_FILE=chat-request.json BENCH_MODEL=$MODEL BENCH_STREAM=$STREAM BENCH_AUTH="Bearer k" \
    taskset -c 0 wrk -t2 -c32 -d"$DUR" -s chat.lua "$url" >"$W/$name.wrk" 2>&1) & local load=$!
  sleep 4
  [ "$name" = gateway ] && m0=$(scrape)
  read -r u0 s0 < <(ticks "$pid")
  calls=$(perf stat -x, -e raw_syscalls:sys_enter -p "$pid" -- sleep 5 2>&1 >/dev/null | awk -F, '/raw_syscalls/ {print $1}')
  read -r u1 s1 < <(ticks "$pid")
  [ "$name" = gateway ] && m1=$(scrape)
  wait "$load"
  rps=$(grep -oE 'rps=[0-9.]+' "$W/$name.wrk" | cut -d= -f2)
  reqs=$(awk -v r="$rps" 'BEGIN {printf "%d", r * 5}')
  awk -v n="$name" -v r="$rps" -v q="$reqs" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v c="${calls:-0}" -v t="$(getconf CLK_TCK)" \
    'BEGIN {printf "%-8s %9.0f req/s   user %5.1f us   kernel %5.1f us   total %5.1f us   %4.1f system calls per request\n", n, r, u/t*1e6/q, s/t*1e6/q, (u+s)/t*1e6/q, c/q}'
  if [ "$name" = gateway ]; then
    local gc=0 g
    for g in gen0 gen1 gen2; do
      gc=$(awk -v a="$gc" -v x="$(metric "dotnet_gc_collections_total{gc_heap_generation=\"$g\"}" "$m1")" -v y="$(metric "dotnet_gc_collections_total{gc_heap_generation=\"$g\"}" "$m0")" 'BEGIN {print a + x - y}')
    done
    awk -v q="$reqs" -v a="$(metric dotnet_gc_heap_total_allocated_bytes_total "$m0")" -v b="$(metric dotnet_gc_heap_total_allocated_bytes_total "$m1")" \
      -v p="$(metric dotnet_gc_pause_time_seconds_total "$m0")" -v p1="$(metric dotnet_gc_pause_time_seconds_total "$m1")" -v g="$gc" \
      'BEGIN {printf "         allocated %.0f bytes, %.2f us of GC pause and one collection every %.0f requests, per request\n", (b-a)/q, (p1-p)*1e6/q, (g > 0 ? q/g : 0)}'
  fi
}
measure gateway "$GW" "http://127.0.0.1:18707/v1/chat/completions"
measure nginx "$NGX" "http://127.0.0.1:$PROXY/v1/chat/completions"

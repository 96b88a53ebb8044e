#!/usr/bin/env bash
# bench/translated.sh: passthrough against translated (OpenAI in, Anthropic wire out) under the same load,
# one gateway serving both (bench/gateway.bench-translated.json). Passthrough goes to the harness's nginx
# mock (../shared/bench); translated to a second nginx serving bench/mock/anthropic.message.json (:18083)
# and bench/mock/anthropic.stream.sse (:18084, the same 18 text deltas as the OpenAI mock's stream) at
# /v1/messages. wrk chat.lua, 2 threads, 32 connections, DUR (5s) per case, ROUNDS (4) rounds in turns, on
# core 0; the gateway and the mocks on core 1. Prints each case's median req/s and the gateway's CPU us per
# request (utime+stime from /proc), and translated/passthrough for JSON and streams. Loopback only.
set -u
ROUNDS=${ROUNDS:-4}; DUR=${DUR:-5s}
HERE=$(cd "$(dirname "$0")" && pwd); SHARED=$HERE/../../shared/bench
BIN=${GATEWAY_BIN:-/tmp/gateway-publish/gateway}
[ -x "$BIN" ] || { echo "no gateway binary at $BIN (dotnet publish src/Gateway.Server -c Release -o /tmp/gateway-publish)"; exit 1; }
W=$(mktemp -d /tmp/gateway-translated.XXXXXX); chmod 755 "$W"; mkdir -p "$W/mock/logs" "$W/mock/tmp" "$W/ant/logs" "$W/ant/tmp" "$W/bodies"
cp "$SHARED/mock/chat.completion.json" "$SHARED/mock/chat.completion.stream.sse" "$HERE/mock/anthropic.message.json" "$HERE/mock/anthropic.stream.sse" "$W/bodies/"
chmod 644 "$W"/bodies/*; chmod 755 "$W/bodies"
sed -e "s#@MOCK_PORT@#18081#g" -e "s#@MOCK_STREAM_PORT@#18082#g" -e "s#@MOCK_DOCROOT@#$W/bodies#g" "$SHARED/nginx-mock.conf" > "$W/mock/nginx.conf"
cat > "$W/ant/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid logs/nginx.pid;
error_log logs/error.log warn;
events { worker_connections 8192; multi_accept on; }
http {
    access_log off; server_tokens off; sendfile on; tcp_nopush on; tcp_nodelay on; etag off;
    keepalive_timeout 75s; keepalive_requests 10000000;
    client_body_temp_path tmp/client_body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi; uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
    # The static module answers POST with 405; error_page re-runs it as GET and the file is sent with 200.
    server { listen 127.0.0.1:18083 backlog=4096;
        location = /v1/messages { alias $W/bodies/anthropic.message.json; types { } default_type application/json; error_page 405 =200 \$uri; } }
    server { listen 127.0.0.1:18084 backlog=4096;
        location = /v1/messages { alias $W/bodies/anthropic.stream.sse; types { } default_type text/event-stream; error_page 405 =200 \$uri; } }
}
CONF
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
taskset -c 1 nginx -p "$W/mock" -e "$W/mock/logs/error.log" -c "$W/mock/nginx.conf" & PIDS+=($!)
taskset -c 1 nginx -p "$W/ant" -e "$W/ant/logs/error.log" -c "$W/ant/nginx.conf" & PIDS+=($!)
env GATEWAY_MASTER_KEY=k GATEWAY_DATA_DIR="$W/data" taskset -c 1 "$BIN" serve --config "$HERE/gateway.bench-translated.json" --urls http://127.0.0.1:18701 >"$W/gateway.log" 2>&1 & PIDS+=($!); GW=$!
sleep 2
load() { # MODEL STREAM DURATION
  (cd "$SHARED" && BENCH_BODY_FILE=chat-request.json BENCH_MODEL=$1 BENCH_STREAM=$2 BENCH_AUTH="Bearer k" \
    taskset -c 0 wrk -t2 -c32 -d"$3" -s chat.lua http://127.0.0.1:18701/v1/chat/completions 2>&1) | grep BENCH_RESULT; }
CASES=("benchjson/x 0" "antjson/x 0" "benchstream/x 1" "antstream/x 1")
for c in "${CASES[@]}"; do load $c 2s >/dev/null; done
tick=$(getconf CLK_TCK); secs=${DUR%s}
for r in $(seq "$ROUNDS"); do
  for c in "${CASES[@]}"; do
    c0=$(awk '{print $14+$15}' "/proc/$GW/stat"); line=$(load $c "$DUR"); c1=$(awk '{print $14+$15}' "/proc/$GW/stat")
    echo "${c%% *} $((c1 - c0)) $line"
  done
done > "$W/rounds.txt"
python3 - "$W/rounds.txt" "$tick" "$secs" <<'PY'
import sys, statistics, re
tick, secs = float(sys.argv[2]), float(sys.argv[3])
res = {}
for l in open(sys.argv[1]):
    if not l.strip(): continue
    model, ticks, line = l.split(' ', 2)
    rps = float(re.search(r'rps=([0-9.]+)', line).group(1)); bad = int(re.search(r'err_status=(\d+)', line).group(1))
    res.setdefault(model, []).append((rps, float(ticks) / tick * 1e6 / (rps * secs), bad))
med = {m: (statistics.median(v[0] for v in vals), statistics.median(v[1] for v in vals), sum(v[2] for v in vals)) for m, vals in res.items()}
for m, (rps, cpu, bad) in med.items(): print(f"{m:14} req/s {rps:8.0f}  CPU us/req {cpu:6.1f}  non-2xx {bad}")
print(f"translated/passthrough CPU per request: JSON {med['antjson/x'][1] / med['benchjson/x'][1]:.2f}x, streams {med['antstream/x'][1] / med['benchstream/x'][1]:.2f}x")
PY

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
source "$(dirname "$0")/lib.sh"
bench_init translated
start_mock
start_anthropic_mock
start_gateway gw 18701 gateway.bench-translated.json; GW=$GW_PID
sleep 2
load() { # MODEL STREAM DURATION
  (cd "$SHARED" && BENCH_BODY_FILE=chat-request.json BENCH_MODEL=$1 BENCH_STREAM=$2 BENCH_AUTH="Bearer k" \
    taskset -c 0 wrk -t2 -c32 -d"$3" -s chat.lua http://127.0.0.1:18701/v1/chat/completions 2>&1) | grep BENCH_RESULT; }
CASES=("benchjson/x 0" "antjson/x 0" "benchstream/x 1" "antstream/x 1")
for c in "${CASES[@]}"; do load $c 2s >/dev/null; done
tick=$(getconf CLK_TCK); secs=${DUR%s}
for r in $(seq "$ROUNDS"); do
  for c in "${CASES[@]}"; do
    c0=$(cpu_ticks "$GW"); line=$(load $c "$DUR"); c1=$(cpu_ticks "$GW")
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

#!/usr/bin/env bash
# bench/mixed.sh: the mixed load (bench/mixed.lua: 60% streams, bodies of 0.5 to 64 KB) against the mock
# upstream directly, through nginx as a plain reverse proxy, and through the gateway, in the same run.
# The three take turns (rotating order), ROUNDS rounds of DUR each; it prints each one's median req/s,
# p50 and p99, the CPU us per request of the proxy process (nginx's worker, the gateway), and the gateway's
# ratios to both. Loopback only; the upstream, nginx and the gateway share CPU 1, wrk runs on CPU 0.
#   bench/mixed.sh                 (GATEWAY_BIN, ROUNDS (5), DUR (5s), CONNS (32), MIXED_STREAMS (60), GATEWAY_CONFIG)
set -u
ROUNDS=${ROUNDS:-5}; DUR=${DUR:-5s}; CONNS=${CONNS:-32}; CONF=${GATEWAY_CONFIG:-gateway.bench.json}
source "$(dirname "$0")/lib.sh"
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "mixed.sh needs wrk and nginx"; exit 1; }
bench_init mixed
start_mock
# One proxy for both kinds (the mock answers SSE on /stream/...), unbuffered so frames pass as they come.
cat > "$W/proxy.conf" <<'CONF'
worker_processes 1;
daemon off;
pid logs/nginx.pid;
error_log logs/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; multi_accept on; }
http {
    access_log off; server_tokens off; tcp_nodelay on;
    keepalive_timeout 75s; keepalive_requests 10000000;
    client_body_temp_path tmp/client_body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi; uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
    client_body_buffer_size 128k;
    upstream mock { server 127.0.0.1:18081; keepalive 256; keepalive_requests 10000000; keepalive_timeout 75s; }
    server {
        listen 127.0.0.1:18090 backlog=4096;
        location / { proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; proxy_read_timeout 300s; }
    }
}
CONF
start_nginx proxy "$W/proxy.conf"; NGINX=$NGINX_PID
start_gateway gw 18701 "$CONF"; GW=$GW_PID
sleep 2
NGINX_WORKER=$(ps -o pid= --ppid "$NGINX" | head -1 | tr -d ' ')
url_of() { case $1 in direct) echo http://127.0.0.1:18081 ;; nginx) echo http://127.0.0.1:18090 ;; gateway) echo http://127.0.0.1:18701 ;; esac; }
pid_of() { case $1 in direct) echo "" ;; nginx) echo "$NGINX_WORKER" ;; gateway) echo "$GW" ;; esac; }
load() { # TARGET DURATION -> the BENCH_RESULT line
  (cd "$HERE" && MIXED_TARGET=$1 taskset -c 0 wrk -t2 -c"$CONNS" -d"$2" -s mixed.lua "$(url_of "$1")/v1/chat/completions" 2>&1) | grep BENCH_RESULT; }
for t in direct nginx gateway; do load $t 3s >/dev/null; done
tick=$(getconf CLK_TCK); secs=${DUR%s}; order=(direct nginx gateway)
for r in $(seq "$ROUNDS"); do
  for i in 0 1 2; do
    t=${order[$(( (i + r) % 3 ))]}; p=$(pid_of "$t")
    c0=0; [ -n "$p" ] && c0=$(cpu_ticks "$p")
    line=$(load "$t" "$DUR")
    c1=0; [ -n "$p" ] && c1=$(cpu_ticks "$p")
    echo "$t $((c1 - c0)) $line"
  done
done > "$W/rounds.txt"
python3 - "$W/rounds.txt" "$tick" "$secs" <<'PY'
import sys, statistics, re
rows = [l.split(' ', 2) for l in open(sys.argv[1]) if l.strip()]
tick, secs = float(sys.argv[2]), float(sys.argv[3])
def field(line, name): return float(re.search(name + r'=([0-9.]+)', line).group(1))
res = {}
for t, ticks, line in rows:
    rps = field(line, 'rps')
    errs = sum(field(line, k) for k in ('err_connect', 'err_read', 'err_write', 'err_timeout', 'err_status'))
    res.setdefault(t, []).append((rps, field(line, 'p50_us'), field(line, 'p99_us'), float(ticks) / tick * 1e6 / (rps * secs) if rps else 0, errs))
med = {t: [statistics.median(v[i] for v in vals) for i in range(5)] for t, vals in res.items()}
print(f"{'target':8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU us/req':>10} {'errors':>6}")
for t in ('direct', 'nginx', 'gateway'):
    if t in med:
        rps, p50, p99, cpu, errs = med[t]
        print(f"{t:8} {rps:8.0f} {p50/1000:7.2f} {p99/1000:7.2f} {cpu if t != 'direct' else float('nan'):10.1f} {errs:6.0f}")
g, n, d = med.get('gateway'), med.get('nginx'), med.get('direct')
if g and n and d:
    print(f"gateway/nginx req/s {g[0]/n[0]:.2f}, gateway/direct {g[0]/d[0]:.2f}, CPU per request gateway/nginx {g[3]/n[3]:.2f}")
PY

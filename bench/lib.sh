# bench/lib.sh: what the load scripts in bench/ share (sourced, not run). A throwaway work folder removed
# on exit (KEEP=1 keeps it), every process started through it stopped by PID on exit, and the harness's
# nginx mock upstream (../shared/bench: JSON on 18081, SSE on 18082 and on 18081 at /stream/...), pinned
# to core 1 like the servers measured; wrk runs on core 0. Loopback only.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd); SHARED=$HERE/../../shared/bench
BIN=${GATEWAY_BIN:-/tmp/gateway-publish/gateway}
PIDS=()

# bench_init NAME: the work folder ($W) with the mock's bodies, and the cleanup trap.
bench_init() {
  [ -x "$BIN" ] || { echo "no gateway binary at $BIN (dotnet publish src/Gateway.Server -c Release -o /tmp/gateway-publish)"; exit 1; }
  W=$(mktemp -d "/tmp/gateway-$1.XXXXXX"); chmod 755 "$W"; mkdir -p "$W/bodies"
  cp "$SHARED/mock/chat.completion.json" "$SHARED/mock/chat.completion.stream.sse" "$W/bodies/"; chmod 644 "$W"/bodies/*; chmod 755 "$W/bodies"
  trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
}

# start_nginx NAME CONF: nginx with that rendered configuration, prefix $W/NAME, on core 1; sets NGINX_PID.
start_nginx() {
  mkdir -p "$W/$1/logs" "$W/$1/tmp"; cp "$2" "$W/$1/nginx.conf"
  taskset -c 1 nginx -p "$W/$1" -e "$W/$1/logs/error.log" -c "$W/$1/nginx.conf" & NGINX_PID=$!; PIDS+=("$NGINX_PID")
}

# start_mock: the harness's mock upstream.
start_mock() {
  sed -e "s#@MOCK_PORT@#18081#g" -e "s#@MOCK_STREAM_PORT@#18082#g" -e "s#@MOCK_DOCROOT@#$W/bodies#g" "$SHARED/nginx-mock.conf" > "$W/mock.conf"
  start_nginx mock "$W/mock.conf"
}

# start_gateway NAME PORT CONFIG [ENV...]: the gateway (config relative to bench/) on core 1; sets GW_PID.
start_gateway() {
  local name=$1 port=$2 conf=$3; shift 3
  env GATEWAY_MASTER_KEY=k GATEWAY_DATA_DIR="$W/data-$name" "$@" taskset -c 1 "$BIN" serve --config "$HERE/$conf" \
    --urls "http://127.0.0.1:$port" >"$W/$name.log" 2>&1 & GW_PID=$!; PIDS+=("$GW_PID")
}

# start_anthropic_mock: nginx answering /v1/messages with bench/mock/anthropic.message.json on 18083 and
# bench/mock/anthropic.stream.sse (the OpenAI mock's 18 text deltas as Anthropic events) on 18084.
start_anthropic_mock() {
  cp "$HERE/mock/anthropic.message.json" "$HERE/mock/anthropic.stream.sse" "$W/bodies/"; chmod 644 "$W"/bodies/*
  cat > "$W/ant.conf" <<CONF
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
  start_nginx ant "$W/ant.conf"
}

# cpu_ticks PID: utime + stime of a process so far, in clock ticks.
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

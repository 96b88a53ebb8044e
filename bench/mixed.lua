-- wrk script: a mix of streamed and JSON chat requests with a spread of body sizes, as a chat product
-- sends them, instead of one request over and over (bench/mixed.sh runs it; see its header).
--
-- Environment variables:
--   MIXED_TARGET   gateway | direct | nginx: how a request says stream or JSON. The gateway routes by model
--                  (benchstream/... or benchjson/..., both in bench/gateway.bench.json); the mock upstream
--                  and an nginx in front of it by path (/stream/v1/... answers SSE, /v1/... JSON).
--   MIXED_STREAMS  percent of requests that stream (default 60)
--   MIXED_AUTH     Authorization header value (default "Bearer k")
--
-- Body sizes (the user message's length; the rest of the request is about 200 bytes):
--   50% 0.5 KB (a question), 30% 4 KB (a few turns), 15% 16 KB (a retrieved document),
--   5% 64 KB (a long file). The 100 requests of one cycle are built once at start in a fixed,
--   interleaved order, so every run sends the same mix and the per-request Lua cost is an index.

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local target = env("MIXED_TARGET", "gateway")
local stream_percent = tonumber(env("MIXED_STREAMS", "60"))
local auth = env("MIXED_AUTH", "Bearer k")

local prose = "Our team evaluated several gateways that sit between internal services and hosted language "
  .. "model APIs, measuring latency per request, behaviour under bursts, streamed answers and CPU. "

local function text(bytes)
  local parts = {}
  local n = 0
  while n < bytes do
    parts[#parts + 1] = prose
    n = n + #prose
  end
  return table.concat(parts):sub(1, bytes)
end

local sizes = {}
for _ = 1, 50 do sizes[#sizes + 1] = 512 end
for _ = 1, 30 do sizes[#sizes + 1] = 4096 end
for _ = 1, 15 do sizes[#sizes + 1] = 16384 end
for _ = 1, 5 do sizes[#sizes + 1] = 65536 end

local requests = {}
local count = #sizes

-- Built per thread once wrk knows the target's host (wrk.format sets Host from it).
function init(_)
  for i = 1, count do
    -- Spread both draws over the cycle: size by a stride coprime with 100, stream by an even spacing.
    local size = sizes[((i - 1) * 37) % count + 1]
    local stream = ((i - 1) * stream_percent) % 100 < stream_percent
    local path, model
    if target == "gateway" then
      path = "/v1/chat/completions"
      model = stream and "benchstream/gpt-4o-mini" or "benchjson/gpt-4o-mini"
    else
      path = stream and "/stream/v1/chat/completions" or "/v1/chat/completions"
      model = "gpt-4o-mini"
    end
    local body = string.format(
      '{"model":"%s","messages":[{"role":"system","content":"You are a helpful assistant."},'
      .. '{"role":"user","content":"%s"}],"temperature":0.2,"max_tokens":256,"stream":%s}',
      model, text(size), stream and "true" or "false")
    requests[i] = wrk.format("POST", path, {
      ["Content-Type"] = "application/json",
      ["Accept"] = stream and "text/event-stream" or "application/json",
      ["Authorization"] = auth,
    }, body)
  end
end

local next_index = 0
function request()
  next_index = next_index % count + 1
  return requests[next_index]
end

-- The same machine-readable line as ../shared/bench/chat.lua (latencies in microseconds).
function done(summary, latency, _)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d secs=%.3f rps=%.2f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_timeout=%d err_status=%d bytes=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status, summary.bytes))
end

"""Where a request's CPU goes, stage by stage, from `perf script` output of the gateway (bench/profile.sh).

Each sample goes to the innermost gateway stage on its stack (the stage regexes below, checked from the
leaf up); samples with none go to Kestrel, the socket loop or the thread pool when those are on the stack,
and kernel samples whose user stack perf could not walk (libc's send/recv have no frame pointers) go by
their system call. Shares of samples are turned into microseconds with the CPU per request given.
    perf script -i FILE | python3 bench/stages.py - CPU_US_PER_REQUEST
"""
import re, sys, collections
stages = [  # (name, regex) checked leaf -> root; the first of ours that matches owns the sample
 ("auth (key lookup, limits)", r"Authenticator|Governor|RateLimit|Budget"),
 ("read the body", r"RequestIntake|RequestBodyReader|PooledBody"),
 ("inspect", r"RequestInspector"),
 ("policies", r"Gateway_Policies|PolicyRunner|RequestPolicies|Jint_"),
 ("route", r"ModelRouter|AttemptPlan"),
 ("rewrite", r"RequestRewriter"),
 ("record: request log (SQLite)", r"StoreRequestSink|RequestLogStore|Sqlite|sqlite"),
 ("record: metrics, log line, usage", r"MetricsSink|RequestLogSink|GatewayMetrics|RequestRecord|BatchedStdout"),
 ("relay: answer to the client", r"CopyAnswerAsync|WriteAnswerAsync|SseRelay|RelayStreamAsync|UpstreamAnswer"),
 ("upstream client: send, answer head", r"OpenAIProvider|UpstreamHttp|System_Net_Http_"),
 ("pipeline: dispatch, attempts, deadlines, headers", r"ModelPipeline|UpstreamAttempts|GatewayRouter|gateway_Gateway"),
]
tot = 0; c = collections.Counter()
for s in (sys.stdin if sys.argv[1] == '-' else open(sys.argv[1])).read().split('\n\n'):
    lines = s.strip().split('\n')
    if len(lines) < 2: continue
    frames = [l.split(None, 2)[1] if len(l.split(None, 2)) > 1 else '' for l in lines[1:]]
    tot += 1
    if any(f.startswith('WKS::') for f in frames): c["GC"] += 1; continue
    owner = None
    for f in frames:
        for name, rx in stages:
            if re.search(rx, f): owner = name; break
        if owner: break
    if owner is None:
        if any('Kestrel' in f for f in frames): owner = "Kestrel: connection, parse, response"
        elif any(re.search(r'SocketAsyncEngine|SocketAsyncContext|epoll', f) for f in frames): owner = "socket event loop (no request frame)"
        elif any('ThreadPool' in f or 'PortableThreadPool' in f for f in frames): owner = "thread pool (no request frame)"
        elif any(re.search(r'sendto|__send', f) for f in frames): owner = "kernel: send (request out, answer back; loopback delivery included)"
        elif any(re.search(r'recvfrom|libc_recv', f) for f in frames): owner = "kernel: receive"
        elif any(re.search(r'pwrite|fdatasync', f) for f in frames): owner = "record: request log (SQLite)"
        else: owner = "other (runtime, timers, unknown frames)"
    c[owner] += 1
cpu = float(sys.argv[2])
for name, n in c.most_common(): print(f"{n*100/tot:5.1f}%  {n*cpu/tot:5.1f} us  {name}")
print(tot, "samples")

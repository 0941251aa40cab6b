#!/usr/bin/env python3
"""Splits a CPU profile of `hookd serve` into the parts of a delivery.

    scripts/profparts.py PROFILE DELIVERIES [--unmatched]

PROFILE is what `hookd bench --pprof DIR` wrote (or `hookd serve
--cpu-profile`); DELIVERIES the deliveries of that run. Each sample is
charged to the first part in the list below whose pattern matches a frame
of its stack, so a store statement run for an ingest counts as the store's,
not the API's. Prints µs of CPU per delivery and the share of each part;
--unmatched lists what fell through to the last part. Needs `go tool pprof`.
BENCHMARKS.md ("Where the CPU goes") was made with it.
"""
import re, subprocess, sys, collections

if len(sys.argv) < 3:
    sys.exit(__doc__)
prof, n = sys.argv[1], float(sys.argv[2])
out = subprocess.run(["go", "tool", "pprof", "-traces", prof], capture_output=True, text=True, check=True).stdout
samples = []
cur = None
for line in out.splitlines():
    if line.startswith("-----------+"):
        if cur: samples.append(cur)
        cur = None
        continue
    m = re.match(r"\s*([0-9.]+)(ms|s|us|µs)?\s+(\S.*)$", line)
    if m and (cur is None):
        v, u = float(m.group(1)), m.group(2) or "s"
        v *= {"ms": 1e3, "s": 1e6, "us": 1, "µs": 1}[u]
        cur = [v, [m.group(3).strip()]]
    elif cur is not None and line.strip():
        cur[1].append(line.strip())
if cur: samples.append(cur)
# A stack is joined leaf first: a pattern that spans frames names the
# callee before the caller.
S = r"internal/store/(sqlite|postgres)\."
rules = [
    ("GC", r"runtime\.(gcBgMarkWorker|gcAssistAlloc|bgsweep|bgscavenge|gcDrain|markroot)"),
    ("store: ingest statements", S + r".*([Ii]ngest|ingester|insertPending)"),
    ("store: lease", S + r".*([Ll]ease|admitDue|nextInQueue|NextDue|candidates|dueCandidates)"),
    ("store: outcomes", S + r".*([Oo]utcome|Transition)"),
    ("store: commit", r"database/sql\.\(\*(Tx|DB|Conn)\)\.(Commit|Begin|BeginTx)|jackc/pgx/v5\..*\.(Commit|Begin|BeginTx)\b|pgx\.BeginTxFunc|sqlite\.\(\*Store\)\.setSynchronous"),
    ("store: other", r"internal/store/|modernc\.org/sqlite|jackc/pgx|database/sql"),
    ("ingest decoder (parse, validate, render)", r"internal/ingest\.(Parse|parse|scan|Validate|validate|prepare|decode|\(\*source\))|internal/payload\.(.|\n)*internal/ingest\.\(\*Service\)\.Ingest"),
    ("signing and headers", r"webhooksig\.|delivery\.setHeaders|internal/payload\."),
    ("HTTPS client (TLS, HTTP)", r"net/http\.\(\*(Transport|persistConn|Client|http2clientStream|http2ClientConn|http2clientConnReadLoop|http2Transport)\)|net/http\.send\b|internal/delivery\.\(\*sender\)"),
    ("engine (lanes, dispatcher, completer)", r"internal/delivery\."),
    ("API server (HTTP, handlers)", r"net/http\.\(\*conn\)\.serve|internal/api\.|net/http\.\(\*Server\)|internal/ingest\."),
    ("runtime, syscalls, other", r"."),
]
tot = collections.Counter(); unmatched = collections.Counter()
for v, st in samples:
    joined = "\n".join(st)
    for name, rx in rules:
        if re.search(rx, joined):
            tot[name] += v
            if name.startswith("runtime") and "--unmatched" in sys.argv:
                unmatched[st[-1] + " <- " + st[0]] += v
            break
total = sum(tot.values())
for name, _ in rules:
    print(f"{name:42s} {tot[name]/n:7.1f} µs/del  {100*tot[name]/total:5.1f} %")
print(f"{'total in profile':42s} {total/n:7.1f} µs/del  ({total/1e6:.2f} s of samples)")
for k, v in unmatched.most_common(15):
    print(f"  {v/1e3:8.0f} ms  {k}")

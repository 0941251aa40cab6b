#!/usr/bin/env bash
# Runs every native Go fuzz target in turn for the given duration each:
#
#   scripts/fuzz.sh 10m               # each target 10 minutes
#   scripts/fuzz.sh 30s -parallel 1   # extra flags go to `go test`
#
# A crashing input is written by `go test` to the package's
# testdata/fuzz/<FuzzName>/ (commit it with the fix: `go test` replays it
# from then on). Logs go to $FUZZ_LOG_DIR (default: a new temporary folder).
# Exits non-zero when any target fails; prints a summary either way.
set -uo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local

if [ $# -lt 1 ]; then
  echo "usage: $0 DURATION [go test flags...]   (e.g. $0 10m -parallel 1)" >&2
  exit 2
fi
duration=$1
shift

# package and target, one per line
targets="
./internal/ingest FuzzParse
./internal/ingest FuzzParseBatch
./internal/ingest FuzzParseFastEqualsSlow
./internal/ingest FuzzParseBatchFastEqualsSlow
./internal/api FuzzDecodeWebhookInput
./internal/netguard FuzzCheckURL
./internal/auth FuzzVerify
./webhooksig FuzzSignVerify
"

logs=${FUZZ_LOG_DIR:-$(mktemp -d -t hookd-fuzz.XXXXXX)}
mkdir -p "$logs"
summary=()
failed=0
while read -r pkg name; do
  [ -z "$pkg" ] && continue
  log="$logs/$name.log"
  echo "== $name ($pkg) for $duration; log: $log"
  start=$(date +%s)
  if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$duration" "$@" "$pkg" >"$log" 2>&1; then
    status=ok
  else
    status=FAIL
    failed=1
  fi
  secs=$(( $(date +%s) - start ))
  # The last progress line holds the totals, e.g.
  # "fuzz: elapsed: 10m0s, execs: 1234567 (2057/sec), new interesting: 12 (total: 80)"
  last=$(grep -E '^fuzz: elapsed:' "$log" | tail -1)
  execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
  interesting=$(sed -nE 's/.*new interesting: ([0-9]+) \(total: ([0-9]+)\).*/\1 (corpus \2)/p' <<<"$last")
  crash=$(grep -Eo 'Failing input written to [^ ]+' "$log" | sed 's/Failing input written to //' || true)
  line=$(printf '%-24s %-5s %6ss  execs %-12s new interesting %s' "$name" "$status" "$secs" "${execs:-?}" "${interesting:-?}")
  [ -n "$crash" ] && line="$line  crasher: $crash"
  summary+=("$line")
  echo "$line"
  if [ "$status" = FAIL ]; then
    tail -30 "$log"
  fi
done <<<"$targets"

echo
echo "fuzz summary ($duration per target; logs in $logs):"
printf '  %s\n' "${summary[@]}"
exit $failed

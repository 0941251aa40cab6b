#!/bin/sh
# The project's test command: README "Set-up" shows it, and .ci/run runs
# exactly it. It is `go test` over every package plus what `go test` cannot
# say: in package-list mode go test prints a passing package's output only
# with -v, so the message of a skipped PostgreSQL variant (or browser test)
# never reaches the screen, and a run without them looks like a full pass.
cd "$(dirname "$0")" || exit 1
go test -count=1 -timeout 20m ./...
status=$?
if [ -z "${HOOKD_TEST_DATABASE_URL:-}" ]; then
  echo "NOTE: the PostgreSQL tests were SKIPPED (HOOKD_TEST_DATABASE_URL is not set); to run them too: HOOKD_TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' ./test.sh"
fi
chromium_found() {
  for b in "${HOOKD_CHROMIUM:-}" chromium /usr/bin/chromium; do
    [ -n "$b" ] && command -v "$b" >/dev/null 2>&1 && return 0
  done
  return 1
}
if [ -z "${HOOKD_REQUIRE_CHROMIUM:-}" ] && ! chromium_found; then
  echo "NOTE: the console's browser tests were SKIPPED (no Chromium found); to run them too: apt-get install chromium"
fi
exit "$status"

#!/usr/bin/env bash
# test.sh — `make test`: build, C unit tests (plain + sanitizers), then HTTP and browser tests
# against a throw-away stack (own cluster, free port), torn down even on failure.
# usage: scripts/test.sh [unit|http|e2e ...]   (default: all)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(unit http e2e)
has() { [[ " ${suites[*]} " == *" $1 "* ]]; }

scripts/deps.sh test
make -s build dbtests

passed=0 failed=0
summary=()
record() { # name rc
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); summary+=("ok   $1"); else failed=$((failed + 1)); summary+=("FAIL $1"); fi
}

if has unit; then
  set +e; make -s unit; rc=$?; set -e
  record "C unit tests (plain + ASan/UBSan)" $rc
fi

if has http || has e2e; then
  if [ ! -d tests/node_modules/playwright-core ]; then
    (cd tests && npm ci --no-audit --no-fund --loglevel=error)
  fi
  VAR=$(mktemp -d /tmp/kexin-test.XXXXXX)
  chmod 755 "$VAR"
  PORT=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  export KEXIN_VAR=$VAR PORT KEXIN_PG_FAST=1 KEXIN_DEMO=${KEXIN_DEMO:-1} KEXIN_WORKERS=${KEXIN_WORKERS:-4}
  cleanup() {
    scripts/stack.sh stop >/dev/null 2>&1 || true
    if [ "${KEXIN_TEST_KEEP:-0}" = 1 ]; then echo "kept $VAR"; else rm -rf "$VAR"; fi
  }
  trap cleanup EXIT
  scripts/stack.sh start >/dev/null
  export KEXIN_URL="http://127.0.0.1:$PORT" KEXIN_ROOT=$ROOT
  if has http; then
    set +e; node --test --test-concurrency=1 tests/http/; rc=$?; set -e
    record "HTTP tests (node:test)" $rc
  fi
  if has e2e; then
    set +e; node --test --test-concurrency=1 tests/e2e/; rc=$?; set -e
    record "browser tests (Playwright + Chromium)" $rc
  fi
fi

echo
printf '%s\n' "${summary[@]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

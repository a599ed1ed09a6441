#!/usr/bin/env bash
# `npm test`: sets up what the suite needs on this machine, then runs every stage.
# Every stage runs even after an earlier one failed, so one run shows every failure;
# the exit code is non-zero when any stage failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export VIVARIUM_REPO="$root"

bash scripts/setup-system.sh || { echo "npm test: system set-up failed" >&2; exit 2; }
bash scripts/ensure-npm.sh || { echo "npm test: npm ci failed" >&2; exit 2; }

results=()
failed=0
stage() {
  local name=$1; shift
  local t0=$SECONDS
  echo
  echo "━━━ stage: $name"
  if "$@"; then
    results+=("ok    $name ($((SECONDS - t0)) s)")
  else
    results+=("FAIL  $name ($((SECONDS - t0)) s)")
    failed=$((failed + 1))
  fi
}
have() { [[ -e "$1" ]]; }

stage lint npx eslint --max-warnings 0 .
stage typecheck npx tsc -b tsconfig.json
stage unit npx vitest run --project unit
have native/build.sh && stage "native build" bash native/build.sh
have native/test.sh && stage "native tests" bash native/test.sh
have guest-image/build.sh && stage "guest image" bash guest-image/build.sh
have guest-image/vrelay/test.sh && stage "egress relay (ASan + fuzz)" bash guest-image/vrelay/test.sh
stage conformance npx vitest run --project conformance
have test/e2e/run.sh && stage e2e bash test/e2e/run.sh
have native/hcs-helper/test.sh && stage "hcs-helper (mingw + wine)" bash native/hcs-helper/test.sh
have native/vz-helper/test.sh && stage "vz-helper (swift)" bash native/vz-helper/test.sh

echo
echo "━━━ summary"
printf '%s\n' "${results[@]}"
echo "stages: $(( ${#results[@]} - failed )) passed, $failed failed"
[[ $failed -eq 0 ]]
